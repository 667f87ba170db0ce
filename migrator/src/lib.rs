//! migrator: moves a normalised Postgres database into one DynamoDB table built with
//! single-table design, and proves that nothing was lost.
//!
//! Map of the crate, lowest module first (docs/architecture.md; each names only modules below):
//! - `exit`, `redact`, `cpu`: exit codes and stopping early; connection strings that never
//!   print their password; CPU time.
//! - `progress`, `output`: lines and progress bars on stderr; files written safely.
//! - `source`: extraction from Postgres (TLS, one snapshot, COPY) or a CSV folder, in one row model.
//! - `item`: values, the one JSON writer, an item as a line with its key and hash, the SDK conversion.
//! - `spec`: the spec language: a design's table, item types and access patterns, checked.
//! - `transform`: rows into checked single-table items, every row accounted for.
//! - `sink`: where items go: DynamoDB-JSON files, a DynamoDB table, the load's checkpoint.
//! - `verify`: the plan against a table: counts, digests and differences per item type.
//! - `report`, `dataset`: JSON and Markdown reports; the bundled datasets.
//! - `error`: the top error, and a command's outcome.
//! - `pipeline`: what each command does, from a request to a report.
//! - `cli`: clap types, one file per subcommand; arguments become requests, results are rendered.

pub mod cli;
pub mod cpu;
pub mod dataset;
pub mod error;
pub mod exit;
pub mod item;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod report;
pub mod sink;
pub mod source;
pub mod spec;
pub mod transform;
pub mod verify;
