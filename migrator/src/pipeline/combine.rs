//! `verify --combine`: the reports of N shards (`--shard I/N`) added up and compared with one
//! Scan of the whole table. The digests are sums, so the shards' planned digests add up to the
//! whole plan's; no source is read again. The Scan may itself run on many machines: each reads
//! one segment (`--scan-segment I/M`) into a report of its part, and a last `--combine` of the
//! shards' and the parts' reports compares the sums without scanning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::check::{each_item, ScanOptions};
use super::target::Target;
use crate::error::Error;
use crate::report::{to_json, write_pair};
use crate::verify::TypeCheck;

/// What `verify --combine` is asked to do.
#[derive(Debug, Clone)]
pub struct CombineRequest {
    /// The spec's folder: how the table's items name their type.
    pub spec: PathBuf,
    /// One report per shard, from `migrate` or `verify` run with `--shard I/N`.
    pub reports: Vec<PathBuf>,
    pub target: Target,
    pub scan: ScanOptions,
    /// Scan only this segment of a Scan in as many segments (one machine's part).
    pub scan_segment: Option<crate::item::Shard>,
    pub report: Option<PathBuf>,
}

/// The shards' plans against the table, per item type.
#[derive(Debug, Serialize)]
pub struct Combined {
    pub table: String,
    pub target: String,
    pub shards: u32,
    /// The segment of the Scan this report read, when it read only one (`I/M`): its table side
    /// is a part, compared once every part is combined.
    pub scan_segment: Option<String>,
    /// Per item type (or `(every item)` when the table's items carry no type).
    pub types: Vec<TypeCheck>,
    pub scanned: u64,
    pub matches: bool,
    pub seconds: f64,
}

/// What one report adds: its part (`I/N` of the shards, or of the Scan's segments), and per
/// item type a count and digest (planned for a shard, in the table for a Scan segment).
struct Sums {
    index: u32,
    count: u32,
    types: Vec<(String, u64, u128)>,
}

/// A report of either kind.
enum Report {
    /// A shard's (`migrate` or `verify` with `--shard I/N`): its planned side.
    Shard(Sums),
    /// One segment of the Scan's (`verify --combine … --scan-segment I/M`): the table's side.
    Segment(Sums),
}

/// Per item type of `types`, its name, the count under `count` and the digest under `digest`.
fn per_type(
    types: &serde_json::Value,
    count: &str,
    digest: &str,
) -> Option<Vec<(String, u64, u128)>> {
    types
        .as_array()?
        .iter()
        .map(|t| {
            let name = t["item_type"].as_str()?.to_string();
            let items = t[count].as_u64()?;
            let sum = u128::from_str_radix(t[digest].as_str()?, 16).ok()?;
            Some((name, items, sum))
        })
        .collect()
}

/// Reads one report: a shard's, or a Scan segment's.
fn read_any(path: &Path) -> Result<Report, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        Error::Usage(format!(
            "{}: not a JSON report; combine the JSON reports of migrate or verify run with --shard I/N",
            path.display()
        ))
    })?;
    let Some(segment) = report["scan_segment"].as_str() else {
        return read_report(path, &report).map(Report::Shard);
    };
    let part = (|| {
        let segment: crate::item::Shard = segment.parse().ok()?;
        let types = per_type(&report["types"], "in_table", "table_digest")?;
        Some(Sums {
            index: segment.index,
            count: segment.count,
            types,
        })
    })();
    part.map(Report::Segment).ok_or_else(|| {
        Error::Usage(format!(
            "{}: a Scan segment's report without its counts and digests per item type",
            path.display()
        ))
    })
}

/// Reads one shard's report.
fn read_report(path: &Path, report: &serde_json::Value) -> Result<Sums, Error> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "{}: {why}; combine the JSON reports of migrate or verify run with --shard I/N",
            path.display()
        ))
    };
    let shard: crate::item::Shard = report["shard"]
        .as_str()
        .ok_or_else(|| bad("not a shard's report (it names no shard)"))?
        .parse()
        .map_err(|_| bad("its shard is not I/N"))?;
    let types = &report["verify"]["types"];
    if !types.is_array() {
        return Err(bad("it has no verification per item type"));
    }
    let types = per_type(types, "planned", "planned_digest")
        .ok_or_else(|| bad("an item type without its planned count and digest"))?;
    Ok(Sums {
        index: shard.index,
        count: shard.count,
        types,
    })
}

/// Adds the shards' reports and compares them with a Scan of the table.
///
/// # Errors
/// A report that cannot be read or is not a shard's, shards missing or given twice, a table
/// that cannot be read.
pub async fn combine(request: &CombineRequest) -> Result<Combined, Error> {
    let started = Instant::now();
    let spec = crate::spec::load(&request.spec)?;
    let (mut reports, mut parts) = (Vec::new(), Vec::new());
    for path in &request.reports {
        match read_any(path)? {
            Report::Shard(shard) => reports.push(shard),
            Report::Segment(part) => parts.push(part),
        }
    }
    if reports.is_empty() {
        return Err(Error::Usage(
            "no shard's report among them; combine the reports of migrate or verify run with --shard I/N".into(),
        ));
    }
    let count = reports[0].count;
    covers(
        reports.iter().map(|r| (r.index, r.count)),
        "shard",
        "report",
    )?;
    let mut sides = Sides::new(&spec);
    for report in &reports {
        for (name, planned, digest) in &report.types {
            sides.planned(name, *planned, *digest);
        }
    }
    let scanned = if parts.is_empty() {
        let sink = request.target.connect().await?;
        let mut take = |item: crate::item::ScannedItem| {
            sides.scanned(&item);
            Ok(())
        };
        match request.scan_segment {
            Some(part) => {
                let names = crate::sink::dynamodb::ItemNames::of(&spec.table);
                let mut pages = sink.scan_segment(
                    names,
                    part.index as i32,
                    part.count as i32,
                    request.scan.page_size,
                );
                let mut items = 0;
                while let Some(page) = pages.recv().await {
                    for item in page.map_err(|e| request.target.error(e))? {
                        items += 1;
                        take(item).map_err(|e| request.target.error(e))?;
                    }
                }
                items
            }
            None => each_item(&sink, &spec, &request.scan, take)
                .await
                .map_err(|e| request.target.error(e))?,
        }
    } else {
        if request.scan_segment.is_some() {
            return Err(Error::Usage(
                "--scan-segment reads a part of the table, but these reports already hold its parts; combine without it".into(),
            ));
        }
        covers(
            parts.iter().map(|p| (p.index, p.count)),
            "Scan segment",
            "report",
        )?;
        let mut scanned = 0;
        for part in &parts {
            for (name, in_table, digest) in &part.types {
                sides.in_table(name, *in_table, *digest);
                scanned += in_table;
            }
        }
        scanned
    };
    let types = sides.checks();
    let combined = Combined {
        table: request.target.table.clone(),
        target: request.target.describe(),
        shards: count,
        scan_segment: request.scan_segment.map(|s| s.to_string()),
        matches: types.iter().all(|t| t.matches),
        types,
        scanned,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &request.report {
        write_pair(path, &to_json(&combined), || combined.markdown())?;
    }
    Ok(combined)
}

/// Per item type, a plan's count and digest against the table's, each side added up from parts.
pub(super) struct Sides {
    /// Without a type attribute a table item's type is unknown: every item is compared at once.
    typed: bool,
    /// Planned count and digest, then the table's.
    sides: BTreeMap<String, (u64, u128, u64, u128)>,
}

impl Sides {
    pub(super) fn new(spec: &crate::spec::Spec) -> Self {
        Sides {
            typed: spec.table.type_attribute.is_some(),
            sides: BTreeMap::new(),
        }
    }

    fn name(&self, item_type: &str) -> String {
        if self.typed {
            item_type.to_string()
        } else {
            "(every item)".to_string()
        }
    }

    /// Adds a part of the plan: `items` of `item_type` whose hashes add up to `digest`.
    pub(super) fn planned(&mut self, item_type: &str, items: u64, digest: u128) {
        let side = self.sides.entry(self.name(item_type)).or_default();
        side.0 += items;
        side.1 = side.1.wrapping_add(digest);
    }

    /// Adds a part of the table (a Scan segment's report).
    pub(super) fn in_table(&mut self, item_type: &str, items: u64, digest: u128) {
        let side = self.sides.entry(self.name(item_type)).or_default();
        side.2 += items;
        side.3 = side.3.wrapping_add(digest);
    }

    /// Adds one item read from the table.
    pub(super) fn scanned(&mut self, item: &crate::item::ScannedItem) {
        let hash = crate::item::line_hash(&item.line);
        self.in_table(item.item_type.as_deref().unwrap_or_default(), 1, hash);
    }

    /// Per item type, the two sides compared.
    pub(super) fn checks(self) -> Vec<TypeCheck> {
        self.sides
            .into_iter()
            .map(
                |(item_type, (planned, plan_digest, in_table, table_digest))| TypeCheck {
                    item_type,
                    planned,
                    in_table,
                    planned_digest: format!("{plan_digest:032x}"),
                    table_digest: format!("{table_digest:032x}"),
                    matches: planned == in_table && plan_digest == table_digest,
                },
            )
            .collect()
    }
}

/// Checks `parts` (index, count) are each of one count, once: `what` names a part (shard, Scan
/// segment) and `given` what was given for it (report, manifest).
pub(super) fn covers(
    parts: impl Iterator<Item = (u32, u32)>,
    what: &str,
    given: &str,
) -> Result<(), Error> {
    let parts: Vec<(u32, u32)> = parts.collect();
    let count = parts.first().map_or(0, |p| p.1);
    if let Some((_, other)) = parts.iter().find(|p| p.1 != count) {
        return Err(Error::Usage(format!(
            "the {given}s are of {count} and of {other} {what}s; give the {given}s of one run"
        )));
    }
    let mut seen = vec![0; count as usize];
    for (index, _) in &parts {
        seen[*index as usize] += 1;
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| seen[i as usize] != 1)
        .map(|i| format!("{i}/{count} ({} {given}s)", seen[i as usize]))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "give one {given} per {what}: {}",
            missing.join(", ")
        )))
    }
}

impl Combined {
    /// Whether this report compares the whole table (not one segment of its Scan).
    pub fn is_whole(&self) -> bool {
        self.scan_segment.is_none()
    }

    /// The comparison as Markdown.
    pub fn markdown(&self) -> String {
        if let Some(segment) = &self.scan_segment {
            let mut md = format!(
                "# Scan segment {segment} of table {}\n\n{} items read in {:.2} s: this part's counts and digests per item type, to combine with the other segments' reports and the shards' (`verify --combine`).\n\n| item type | in this segment | digest |\n|---|---:|---|\n",
                self.table, self.scanned, self.seconds
            );
            for t in self.types.iter().filter(|t| t.in_table > 0) {
                md += &format!(
                    "| {} | {} | `{}` |\n",
                    t.item_type,
                    t.in_table,
                    &t.table_digest[..12]
                );
            }
            return md;
        }
        let verdict = if self.matches {
            "the table holds exactly the shards' planned items (counts and digests per type)"
        } else {
            "**the table differs from the shards' plans**"
        };
        let mut md = format!(
            "# Verification of {} shards\n\nTable {} in {}: {verdict}; {} items scanned in {:.2} s.\n\n| item type | planned (all shards) | in table | digest (plans) | digest (table) | |\n|---|---:|---:|---|---|---|\n",
            self.shards, self.table, self.target, self.scanned, self.seconds
        );
        for t in &self.types {
            md += &t.markdown_row();
        }
        md
    }
}
