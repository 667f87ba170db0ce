//! The report of `plan`: items and bytes per type, the largest items, the events counted while
//! building, and what became of every source row.

use std::path::Path;

use serde::Serialize;

use super::paths::{load_paths, LoadPaths, Prices};
use super::write_pair;
use crate::output::OutputError;
use crate::spec::Spec;
use crate::transform::capacity::{CapacityReport, KEY_LIMIT_WCU};
use crate::transform::{Summary, TableAccount, TypeSummary};

/// What `plan` made, and what became of every source row.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub spec: String,
    pub source: String,
    /// The part of the items planned (`--shard I/N`), when only a part.
    pub shard: Option<String>,
    pub items: u64,
    pub types: Vec<TypeSummary>,
    pub tables: Vec<TableAccount>,
    /// Events counted while building, such as `WORD.conjugations missing` (verbs without forms).
    pub events: Vec<(String, u64)>,
    /// What the items ask of the table's write capacity, and the least load time.
    pub capacity: Option<CapacityReport>,
    /// The two ways to load the plan, priced.
    pub paths: Option<LoadPaths>,
    pub seconds: f64,
}

impl PlanReport {
    /// The report of `summary`, planned from `source` with the spec at `spec_path`.
    pub fn new(
        spec: &Spec,
        spec_path: &Path,
        source: String,
        summary: Summary,
        prices: Prices,
        seconds: f64,
    ) -> Self {
        PlanReport {
            spec: spec_path.display().to_string(),
            source,
            shard: spec.shard.map(|s| s.to_string()),
            items: summary.types.iter().map(|t| t.items).sum(),
            types: summary.types,
            tables: summary.accounts,
            events: summary.events,
            paths: summary
                .capacity
                .as_ref()
                .map(|c| load_paths(c, summary.json_bytes, prices)),
            capacity: summary.capacity,
            seconds,
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let shard = self
            .shard
            .as_ref()
            .map(|s| format!(" (shard {s})"))
            .unwrap_or_default();
        let mut md = format!(
            "# Plan\n\nSpec `{}`, source `{}`: {} items{shard} in {:.2} s.\n\n| item type | items | bytes | largest |\n|---|---:|---:|---|\n",
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
        if let Some(capacity) = &self.capacity {
            md += &capacity_markdown(capacity);
        }
        if let Some(paths) = &self.paths {
            md += "\n## Load paths\n\n";
            for line in paths.lines() {
                md += &format!("- {line}\n");
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

    /// One line per model capacity: the least load time and what sets it.
    pub fn bound_lines(&self) -> Vec<String> {
        self.capacity
            .iter()
            .flat_map(|c| &c.bounds)
            .map(|b| {
                format!(
                    "at {} WCU/s the load takes at least {:.2} s, set by {}",
                    b.capacity_wcu, b.seconds, b.set_by
                )
            })
            .collect()
    }

    /// Writes the JSON report to `path` and the Markdown one beside it (see [`write_pair`]).
    pub fn write(&self, path: &Path) -> Result<(), OutputError> {
        write_pair(path, &super::to_json(self), || self.markdown())
    }
}

/// The capacity section: per table and index, its writes and hottest keys; the bounds; the hot
/// spots.
fn capacity_markdown(capacity: &CapacityReport) -> String {
    let mut md = format!(
        "\n## Write capacity\n\nEach write costs one WCU per started KB, in the table and again in each index the item is in; one partition key value takes at most {KEY_LIMIT_WCU:.0} WCU/s.\n\n| table or index | writes | WCU | distinct keys | hottest keys (WCU, share) |\n|---|---:|---:|---:|---|\n"
    );
    for target in &capacity.targets {
        let hottest: Vec<String> = target
            .hottest
            .iter()
            .map(|k| format!("`{}` ({}, {:.1}%)", k.key, k.wcu, k.share * 100.0))
            .collect();
        md += &format!(
            "| {} | {} | {} | {} | {} |\n",
            target.name,
            target.writes,
            target.wcu,
            target.distinct_keys,
            hottest.join(", ")
        );
    }
    md += "\n| capacity of the table and of each index | least load time | set by |\n|---:|---:|---|\n";
    for bound in &capacity.bounds {
        md += &format!(
            "| {} WCU/s | {:.2} s | {} |\n",
            bound.capacity_wcu, bound.seconds, bound.set_by
        );
    }
    for warning in &capacity.warnings {
        md += &format!("\n- warning: {warning}");
    }
    if !capacity.warnings.is_empty() {
        md.push('\n');
    }
    md
}
