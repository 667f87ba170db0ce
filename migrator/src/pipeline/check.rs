//! Comparing a table with its plan: a parallel Scan streamed through the comparison, then,
//! when asked, the spec's access patterns run against the table and their SQL.

use std::time::Instant;

use crate::error::Error;
use crate::item::ScannedItem;
use crate::redact::Redacted;
use crate::report::{ScanFigures, TableReport};
use crate::sink::dynamodb::{DynamoSink, ItemNames, SinkError};
use crate::spec::Spec;
use crate::transform::Planned;
use crate::verify;

/// How the whole table is read back: a parallel Scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Parallel Scan segments.
    pub segments: i32,
    /// Items per page (default: as many as fit in DynamoDB's 1 MB page).
    pub page_size: Option<i32>,
}

/// Where the access patterns' SQL runs, when they are to be run.
pub struct PatternSource<'a> {
    pub url: &'a Redacted,
    /// The search path the SQL runs with.
    pub search_path: &'a [String],
}

/// Reads the whole table, handing each item to `take`; returns how many there were.
pub async fn each_item(
    sink: &DynamoSink,
    spec: &Spec,
    scan: &ScanOptions,
    mut take: impl FnMut(ScannedItem) -> Result<(), SinkError>,
) -> Result<u64, SinkError> {
    let mut pages = sink.scan(ItemNames::of(&spec.table), scan.segments, scan.page_size);
    let mut items = 0;
    while let Some(page) = pages.recv().await {
        for item in page? {
            items += 1;
            take(item)?;
        }
    }
    Ok(items)
}

/// Reads the table back and compares it with `plan` into `report` (its scan and verification),
/// then runs the access patterns when `patterns` names where.
pub async fn check(
    sink: &DynamoSink,
    spec: &Spec,
    plan: &dyn Planned,
    scan: &ScanOptions,
    patterns: Option<PatternSource<'_>>,
    report: &mut TableReport,
) -> Result<(), Error> {
    let scanning = Instant::now();
    let mut comparison = verify::Comparison::new(spec, plan);
    let items = each_item(sink, spec, scan, |item| {
        comparison.add(item);
        Ok(())
    })
    .await
    .map_err(|source| Error::Dynamo {
        target: report.target.clone(),
        source,
    })?;
    report.scan = ScanFigures {
        segments: scan.segments,
        items,
        seconds: scanning.elapsed().as_secs_f64(),
    };
    report.verify = tokio::task::block_in_place(|| comparison.finish())?;
    if let Some(PatternSource { url, search_path }) = patterns {
        let mut conn = crate::source::connect_one(url, search_path).await?;
        let checks = verify::check_patterns(spec, sink.client(), &report.table, &mut conn).await?;
        report.verify = std::mem::take(&mut report.verify).with_patterns(checks);
    }
    Ok(())
}
