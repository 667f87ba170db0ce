//! migrator: moves a normalised Postgres database into one DynamoDB table built with
//! single-table design, and proves that nothing was lost.
//!
//! Map of the crate:
//! - `cli`: clap types, one file per subcommand; arguments become validated requests.
//! - `spec`: the spec language: a design's table, item types and access patterns, checked.
//! - `source`: extraction from Postgres (one snapshot, COPY) or a CSV folder, in one row model.
//! - `transform`: rows into checked single-table items, every row accounted for.
//! - `dataset`: the bundled datasets: loading a CSV folder into Postgres, generating synthetic ones.
//! - `verify`: the plan against a table: counts, digests and differences per item type.
//! - `sink`: where items go: DynamoDB-JSON files.
//! - `report`: JSON and Markdown reports.
//! - `redact`: connection strings that never print their password.
//! - `exit`: exit codes; Ctrl-C or a closed stdout/stderr removes the temporary files a command made.
//! - `error`: the top error, and a command's outcome.

pub mod cli;
pub mod cpu;
pub mod dataset;
pub mod error;
pub mod exit;
pub mod item;
pub mod output;
pub mod progress;
pub mod redact;
pub mod report;
pub mod sink;
pub mod source;
pub mod spec;
pub mod transform;
pub mod verify;
