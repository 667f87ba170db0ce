//! An item as a line: `{"Item": {…}}` with attributes in name order and numbers canonical,
//! the form plans are written in, tables are read back in and items are compared in. Equal
//! items are equal lines, so a line's hash stands for its item.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};

/// An item's partition and sort key as text (numbers canonical, binary in base64; an empty
/// sort key where the table has none): the order plans are written in.
pub type ItemKey = (String, String);

/// A built item as it is written: its key, its DynamoDB JSON line and its size.
#[derive(Debug, Clone)]
pub struct PlanLine {
    pub item_type: String,
    /// Partition and sort key as text: the plan's order.
    pub key: ItemKey,
    /// `{"Item": {…}}`, the line ImportTable reads.
    pub json: String,
    /// The size DynamoDB counts for the item.
    pub bytes: usize,
    /// The line's hash, as verification computes it (0 where a plan skips hashes).
    pub hash: u128,
}

/// One item read from the table.
#[derive(Debug, Clone)]
pub struct ScannedItem {
    /// Partition and sort key as text, as the plan writes them.
    pub key: ItemKey,
    /// The value of the spec's type attribute, when the spec has one and the item carries it.
    pub item_type: Option<String>,
    /// The item as the canonical `{"Item": …}` line.
    pub line: String,
}

/// The hash that stands for a line: the first 16 bytes of its SHA-256.
pub fn line_hash(line: &str) -> u128 {
    let hash = Sha256::digest(line.as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash[..16]);
    u128::from_be_bytes(first)
}

/// A line's attributes as raw JSON text, without building a value tree for each.
pub fn attributes(line: &str) -> BTreeMap<String, &serde_json::value::RawValue> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(rename = "Item", borrow)]
        item: BTreeMap<String, &'a serde_json::value::RawValue>,
    }
    serde_json::from_str::<Line>(line)
        .map(|l| l.item)
        .unwrap_or_default()
}
