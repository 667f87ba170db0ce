//! Reports for people and programs: JSON, and Markdown beside it.

use std::path::Path;

use serde::Serialize;

use crate::output::{write_whole, Destination, OutputError};

use crate::spec::Spec;
use crate::transform::{Plan, TableAccount, TypeSummary, TypeTally};

/// What `plan` made, and what became of every source row.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub spec: String,
    pub source: String,
    pub items: u64,
    pub types: Vec<TypeSummary>,
    pub tables: Vec<TableAccount>,
    /// Events counted while building, such as `WORD.conjugations missing` (verbs without forms).
    pub events: Vec<(String, u64)>,
    pub seconds: f64,
}

impl PlanReport {
    /// Summarises `plan` per item type, in the spec's order.
    pub fn new(spec: &Spec, spec_path: &Path, source: String, plan: &Plan, seconds: f64) -> Self {
        let types = spec
            .items
            .iter()
            .zip(&plan.types)
            .map(|(item_spec, entries)| {
                let mut tally = TypeTally::default();
                for entry in entries {
                    tally.add(&entry.key, u64::from(entry.bytes));
                }
                tally.summary(&item_spec.name)
            })
            .collect();
        PlanReport {
            spec: spec_path.display().to_string(),
            source,
            items: plan.len() as u64,
            types,
            tables: plan.accounts.clone(),
            events: plan.events.clone(),
            seconds,
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# Plan\n\nSpec `{}`, source `{}`: {} items in {:.2} s.\n\n| item type | items | bytes | largest |\n|---|---:|---:|---|\n",
            self.spec, self.source, self.items, self.seconds
        );
        for t in &self.types {
            let largest: Vec<String> = t
                .largest
                .iter()
                .map(|(k, b)| format!("`{k}` ({b} B)"))
                .collect();
            md += &format!(
                "| {} | {} | {} | {} |\n",
                t.item_type,
                t.items,
                t.bytes,
                largest.join(", ")
            );
        }
        if !self.events.is_empty() {
            md += "\n## Events\n\n| event | count |\n|---|---:|\n";
            for (event, n) in &self.events {
                md += &format!("| {event} | {n} |\n");
            }
        }
        md += "\n## Source rows\n\nEvery row is in an item, dropped by a named rule, or read by no item type.\n\n| table | rows | in items | dropped (rule: rows) | read by no item type |\n|---|---:|---:|---|---:|\n";
        for t in &self.tables {
            let dropped: Vec<String> = t.dropped.iter().map(|(r, n)| format!("{r}: {n}")).collect();
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                t.table,
                t.rows,
                t.in_items,
                dropped.join("; "),
                t.unreferenced
            );
        }
        md
    }

    /// Writes the JSON report to `path` and the Markdown one beside it (see [`write_pair`]).
    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        write_pair(path, &to_json(self), || self.markdown())
    }
}

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
