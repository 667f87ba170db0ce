//! The manifest of one export (one shard's, or the whole plan's): what each data object holds,
//! and per item type the count and digest verification compares the imported table with.

use serde::{Deserialize, Serialize};

/// The `format` every manifest carries, so a reader knows it is one of ours.
pub const MANIFEST_FORMAT: &str = "migrator-s3-export/1";

/// One export's manifest, written once all of its objects are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    /// The spec's folder as given.
    pub spec: String,
    /// The table's keys and indexes as the spec gave them: an import with another spec is
    /// refused.
    pub layout: String,
    /// Where the rows came from (passwords hidden).
    pub source: String,
    /// The moment NOW stood for.
    pub as_of: String,
    /// The shard (`I/N`) this export is of; `0/1` for the whole plan.
    pub shard: String,
    /// Always `DYNAMODB_JSON` and `GZIP`: what ImportTable is told.
    pub input_format: String,
    pub compression: String,
    pub items: u64,
    /// Uncompressed bytes of the lines, what ImportTable bills.
    pub bytes: u64,
    pub types: Vec<ManifestType>,
    pub objects: Vec<ManifestObject>,
}

/// An item type's part of an export.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestType {
    pub item_type: String,
    pub items: u64,
    /// The sum of its lines' hashes, as verify computes it (hex).
    pub digest: String,
}

/// One data object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestObject {
    pub key: String,
    pub items: u64,
    /// Uncompressed.
    pub bytes: u64,
    pub gzip_bytes: u64,
    /// SHA-256 of the uncompressed lines (hex).
    pub sha256: String,
}

impl Manifest {
    /// The manifest's name for `shard` (`shard-I-of-N.json`).
    pub fn name(shard: crate::item::Shard) -> String {
        format!("shard-{}-of-{}.json", shard.index, shard.count)
    }
}
