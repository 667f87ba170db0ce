//! Sinks: where finished items go. DynamoDB-JSON files (`files.rs`), the format DynamoDB's
//! ImportTable reads; and a DynamoDB table through BatchWriteItem (`dynamodb/`), whose loads
//! record their progress in a checkpoint (`checkpoint.rs`); and S3 objects in the layout
//! ImportTable reads, with their manifests (`s3/`).

pub mod checkpoint;
pub mod dynamodb;
mod files;
pub mod s3;

pub use files::write_items;
