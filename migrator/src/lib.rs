//! migrator: moves a normalised Postgres database into one DynamoDB table built with
//! single-table design, and proves that nothing was lost.
//!
//! Map of the crate:
//! - `cli`: clap types, one file per subcommand; arguments become validated requests.
//! - `source`: extraction from Postgres (one snapshot, COPY) or a CSV folder, in one row model.
//! - `dataset`: the bundled datasets: loading a CSV folder into Postgres, generating synthetic ones.
//! - `redact`: connection strings that never print their password.
//! - `error`: the top error and its exit code.

pub mod cli;
pub mod dataset;
pub mod error;
pub mod redact;
pub mod source;
