//! Reports for people and programs: JSON, and Markdown beside it. `plan.rs` is the plan's,
//! `table.rs` the one `migrate`, `verify` and `diff` share; `paths.rs` prices the two load paths; `workbench.rs` makes a spec and its
//! plan a NoSQL Workbench model.

mod extract;
mod paths;
mod plan;
mod table;
mod workbench;

use std::path::Path;

use serde::Serialize;

pub use extract::{ExtractReport, TableCount};
pub use paths::{load_paths, LoadPaths, Prices};
pub use plan::PlanReport;
pub use table::{Mode, ScanFigures, TableReport};
pub use workbench::workbench_model;

use crate::output::{write_whole, Destination, OutputError};

/// The report of a plan that could not be made: every error, as JSON and Markdown.
pub fn write_errors(
    path: &Path,
    errors: &[crate::transform::TransformError],
) -> Result<(), OutputError> {
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let json = serde_json::json!({ "errors": messages, "error_count": messages.len() });
    write_pair(path, &to_json(&json), || {
        let mut md = format!(
        "# Plan: {} errors\n\nNothing was written. Fix each row (or the spec) and plan again.\n\n",
            messages.len()
        );
        for message in &messages {
            md += &format!("- {message}\n");
        }
        md
    })
}

/// `value` as pretty JSON with a final line end.
pub fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise to JSON") + "\n"
}

/// Writes a report: `json` to `path` (see [`crate::output`]) and, when `path` names a regular
/// file, the Markdown `markdown` makes beside it with `.md`; a device, a pipe or stdout takes
/// the JSON alone.
///
/// # Errors
/// Either file cannot be written.
pub fn write_pair(
    path: &Path,
    json: &str,
    markdown: impl FnOnce() -> String,
) -> Result<(), OutputError> {
    let destination = Destination::of(path)?;
    write_whole(path, json.as_bytes())?;
    if let Some(file) = destination.file() {
        let beside = file.with_extension("md");
        if beside != file {
            write_whole(&beside, markdown().as_bytes())?;
        }
    }
    Ok(())
}
