//! Reading a table back: a parallel Scan whose pages arrive through a channel as canonical
//! lines with their keys, so a caller can compare or prune without holding the table.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use base64::Engine as _;
use tokio::sync::mpsc;

use super::{service_error, SinkError};
use crate::item::{item_to_line, Number, ScannedItem, SdkItem};
use crate::spec::TableSpec;

/// One page of a segment, or the error that ended the Scan.
pub type ScanPage = Result<Vec<ScannedItem>, SinkError>;

/// The attribute names an item is read by: its keys and its type.
#[derive(Debug, Clone)]
pub struct ItemNames {
    pub partition: String,
    pub sort: Option<String>,
    pub type_attribute: Option<String>,
}

impl ItemNames {
    /// The names `spec` gives its table's keys and type attribute.
    pub fn of(spec: &TableSpec) -> Self {
        ItemNames {
            partition: spec.partition_key.name.clone(),
            sort: spec.sort_key.as_ref().map(|k| k.name.clone()),
            type_attribute: spec.type_attribute.clone(),
        }
    }

    /// Just the key attributes of `item`.
    pub fn key(&self, item: &SdkItem) -> SdkItem {
        std::iter::once(&self.partition)
            .chain(&self.sort)
            .filter_map(|n| item.get(n).map(|v| (n.clone(), v.clone())))
            .collect()
    }

    /// The item's key as text, its type and its line.
    pub fn read(&self, item: &SdkItem) -> ScannedItem {
        let text = |name: Option<&String>| {
            name.and_then(|n| item.get(n))
                .map(|v| match v {
                    AttributeValue::S(s) => s.clone(),
                    AttributeValue::N(n) => {
                        Number::parse(n).map_or_else(|_| n.clone(), |n| n.to_string())
                    }
                    AttributeValue::B(b) => {
                        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
                    }
                    other => format!("{other:?}"),
                })
                .unwrap_or_default()
        };
        let item_type = match self.type_attribute.as_ref().and_then(|n| item.get(n)) {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        ScannedItem {
            key: (text(Some(&self.partition)), text(self.sort.as_ref())),
            item_type,
            line: item_to_line(item),
        }
    }
}

/// Starts a Scan of `table` in `segments` parallel segments (each its own task), pages of up to
/// `page_size` items (the service's 1 MB page when `None`); pages arrive through the channel in
/// any order, and an error ends the Scan.
pub fn scan(
    client: &Client,
    table: &str,
    names: ItemNames,
    segments: i32,
    page_size: Option<i32>,
) -> mpsc::Receiver<ScanPage> {
    scan_segments(
        client,
        table,
        names,
        (0..segments).collect(),
        segments,
        page_size,
    )
}

/// Like [`scan`], but only `parts` of a Scan in `total` segments: one machine's share of a
/// Scan that many run.
pub fn scan_segments(
    client: &Client,
    table: &str,
    names: ItemNames,
    parts: Vec<i32>,
    total: i32,
    page_size: Option<i32>,
) -> mpsc::Receiver<ScanPage> {
    let (tx, rx) = mpsc::channel(parts.len().max(1) * 2);
    let names = Arc::new(names);
    for segment in parts {
        let request = client
            .scan()
            .table_name(table)
            .segment(segment)
            .total_segments(total)
            .set_limit(page_size);
        let (tx, names) = (tx.clone(), names.clone());
        tokio::spawn(async move {
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map(|p| p.items().iter().map(|i| names.read(i)).collect())
                    .map_err(service_error);
                let failed = page.is_err();
                if tx.send(page).await.is_err() || failed {
                    break;
                }
            }
        });
    }
    rx
}
