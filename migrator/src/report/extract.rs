//! The report of `extract`: rows per table.

use serde::Serialize;

/// Rows read from one table.
#[derive(Debug, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// What `extract` read.
#[derive(Debug, Serialize)]
pub struct ExtractReport {
    pub source: String,
    pub tables: Vec<TableCount>,
    pub rows: u64,
    pub seconds: f64,
}
