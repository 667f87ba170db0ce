//! What each command does, from a request to a report, stage after stage: `extract.rs` reads a
//! source; `plan.rs` plans to a file (or hands the lines to another writer); `export.rs` writes
//! a spec and its plan as a NoSQL Workbench model; `s3_export.rs` plans into S3 objects for
//! ImportTable and `s3_import.rs` imports them into a new table and compares it with their
//! manifests; `snapshot.rs` holds one moment of a database for other processes; `combine.rs`
//! adds shards' reports and compares them with the table (`verify --combine`); `table.rs`
//! creates a table, migrates into it (planning, then loading with `load.rs`) and compares it
//! with the plan (`check.rs`) for `verify` and `diff`. `target.rs` names the table and where it
//! is; `input.rs` reads what a plan is made from the way its spec needs it, with the memory
//! check of `memory.rs`. The CLI builds the requests and renders what comes back.

mod check;
mod combine;
mod export;
mod extract;
mod input;
mod load;
mod memory;
mod plan;
mod s3_export;
mod s3_import;
mod snapshot;
mod table;
mod target;

pub use check::ScanOptions;
pub use combine::{combine, CombineRequest, Combined};
pub use export::{export_workbench, WorkbenchExport, WorkbenchRequest};
pub use extract::{extract, ExtractRequest};
pub use input::Input;
pub use plan::{plan, PlanRequest};
pub use s3_export::{export_s3, S3Export, S3ExportRequest};
pub use s3_import::{import_s3, ImportRequest, ImportRun};
pub use snapshot::hold_snapshot;
pub use table::{
    compare, create_table, migrate, CompareRequest, Created, MigrateRequest, TableRun,
};
pub use target::Target;
