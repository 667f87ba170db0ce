//! The report `migrate`, `verify` and `diff` share: what was written to a table, how it was read
//! back, and how it compares with the plan.

use std::path::Path;

use serde::Serialize;

use super::{to_json, write_pair};
use crate::output::OutputError;
use crate::sink::dynamodb::WriteReport;
use crate::source::SourceLocation;
use crate::verify::VerifyReport;

/// What `migrate` and `verify` report.
#[derive(Debug, Serialize)]
pub struct TableReport {
    pub table: String,
    pub target: String,
    pub source: String,
    /// The part of the items the run was for (`--shard I/N`), when only a part.
    pub shard: Option<String>,
    pub dry_run: bool,
    pub table_created: bool,
    /// The throughput settings a table created here was given.
    pub created_with: Option<String>,
    /// The write budget, WCU per second, when one was given.
    pub max_wcu: Option<u32>,
    /// What the load wrote (absent for `verify`, `diff` and dry runs).
    pub load: Option<WriteReport>,
    /// Items deleted because the plan does not produce them (`--prune`).
    pub pruned: u64,
    /// Why the load stopped early, when it did (nothing was verified then).
    pub error: Option<String>,
    /// How the table was read back.
    pub scan: ScanFigures,
    pub verify: VerifyReport,
    pub seconds: f64,
}

/// The Scan that read the table back.
#[derive(Debug, Default, Serialize)]
pub struct ScanFigures {
    pub segments: i32,
    pub items: u64,
    pub seconds: f64,
}

/// What a command reports: a migration or a verification fails when the table differs; a diff
/// only says what a migration would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Migration,
    Verification,
    Diff,
}

impl Mode {
    /// The report's title.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Migration => "Migration",
            Mode::Verification => "Verification",
            Mode::Diff => "Diff (dry run: nothing written)",
        }
    }
}

impl TableReport {
    /// A report of nothing written yet, for `table` in `target` from `source`.
    pub fn new(table: &str, target: String, source: &SourceLocation) -> Self {
        TableReport {
            table: table.to_string(),
            target,
            source: source.to_string(),
            shard: None,
            dry_run: false,
            table_created: false,
            created_with: None,
            max_wcu: None,
            load: None,
            pruned: 0,
            error: None,
            scan: ScanFigures::default(),
            verify: VerifyReport::default(),
            seconds: 0.0,
        }
    }

    /// The report as Markdown, titled and shaped for `mode`.
    pub fn markdown(&self, mode: Mode) -> String {
        let shard = self
            .shard
            .as_ref()
            .map(|s| format!(", shard {s} (its part of the items only)"))
            .unwrap_or_default();
        let head = format!(
            "# {}\n\nTable {} in {} from `{}`{shard}",
            mode.title(),
            self.table,
            self.target,
            self.source
        );
        if let (Some(error), Mode::Migration) = (&self.error, mode) {
            let load = self.load.as_ref();
            return format!(
                "{head}: **the load stopped after {:.2} s**: {error}\n\n{}",
                self.seconds,
                load.map_or(String::new(), |l| load_markdown(l, self.max_wcu))
            );
        }
        let mut md = format!(
            "{head} in {:.2} s{}: {}.\n\n",
            self.seconds,
            if self.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
            if self.verify.matches {
                "the table holds exactly the planned items (counts and digests per type)"
            } else {
                "**the table differs from the plan**"
            }
        );
        if mode == Mode::Diff {
            return md + &self.verify.diff_markdown();
        }
        if let Some(settings) = &self.created_with {
            md += &format!("Created the table with {settings}.\n\n");
        }
        if self.pruned > 0 {
            md += &format!(
                "Pruned {} items the plan does not produce.\n\n",
                self.pruned
            );
        }
        if let Some(load) = &self.load {
            md += &load_markdown(load, self.max_wcu);
        }
        md += &format!(
            "Read back {} items with a {}-segment Scan in {:.2} s ({:.0} items/s).\n\n",
            self.scan.items,
            self.scan.segments,
            self.scan.seconds,
            self.scan.items as f64 / self.scan.seconds.max(0.001)
        );
        md + &self.verify.markdown()
    }

    /// Writes the JSON report to `path` and the Markdown one beside it (see [`write_pair`]).
    pub fn write(&self, path: &Path, mode: Mode) -> Result<(), OutputError> {
        write_pair(path, &to_json(self), || self.markdown(mode))
    }
}

/// The load's table in Markdown: per type planned, written, skipped, resent; then the totals.
fn load_markdown(load: &WriteReport, max_wcu: Option<u32>) -> String {
    let mut md = String::from(
        "| item type | planned | written | already written (checkpoint) | resent (unprocessed) | failed |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (item_type, w) in &load.types {
        md += &format!(
            "| {item_type} | {} | {} | {} | {} | {} |\n",
            w.planned, w.written, w.skipped, w.resent, w.failed
        );
    }
    let budget = max_wcu.map_or("no budget".to_string(), |m| format!("budget {m} WCU/s"));
    let written: u64 = load.types.values().map(|t| t.written).sum();
    let seconds = load.seconds.max(0.001);
    let cpu = load
        .cpu_seconds
        .map_or(String::new(), |c| format!(", {c:.2} s of client CPU"));
    md += &format!(
        "\nWrote {written} items in {:.2} s ({:.0} items/s{cpu}): {} batches ({} already written by an earlier run), {:.0} WCU ({:.0} WCU/s, {budget}), {} calls retried, {} throttles.\n\n",
        load.seconds,
        written as f64 / seconds,
        load.batches,
        load.batches_skipped,
        load.wcu,
        load.wcu / seconds,
        load.calls_retried,
        load.throttles
    );
    if !load.throttling_reasons.is_empty() {
        let reasons: Vec<String> = load
            .throttling_reasons
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        md += &format!("Throttled by DynamoDB: {}.\n\n", reasons.join("; "));
    }
    if !load.unprocessed_keys.is_empty() {
        let keys: Vec<String> = load
            .unprocessed_keys
            .iter()
            .map(|(key, n)| format!("`{key}` ({n})"))
            .collect();
        md += &format!(
            "Partition keys whose items came back unprocessed most: {}.\n\n",
            keys.join(", ")
        );
    }
    if !load.paced_keys.is_empty() {
        md += &format!(
            "Hot keys paced on their own, from the start: {}.\n\n",
            load.paced_keys.join(", ")
        );
    }
    md
}
