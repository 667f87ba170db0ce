//! Sinks: where finished items go. Today: DynamoDB-JSON files (`files.rs`), the format
//! DynamoDB's ImportTable reads.

mod files;

pub use files::write_items;
