//! `verify --combine`: the reports of N shards (`--shard I/N`) added up and compared with one
//! Scan of the whole table. The digests are sums, so the shards' planned digests add up to the
//! whole plan's; no source is read again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::check::{each_item, ScanOptions};
use super::target::Target;
use crate::error::Error;
use crate::report::{to_json, write_pair};

/// What `verify --combine` is asked to do.
#[derive(Debug, Clone)]
pub struct CombineRequest {
    /// The spec's folder: how the table's items name their type.
    pub spec: PathBuf,
    /// One report per shard, from `migrate` or `verify` run with `--shard I/N`.
    pub reports: Vec<PathBuf>,
    pub target: Target,
    pub scan: ScanOptions,
    pub report: Option<PathBuf>,
}

/// The shards' plans against the table, per item type.
#[derive(Debug, Serialize)]
pub struct Combined {
    pub table: String,
    pub target: String,
    pub shards: u32,
    pub types: Vec<CombinedType>,
    pub scanned: u64,
    pub matches: bool,
    pub seconds: f64,
}

/// One item type (or every item, when the table's items carry no type).
#[derive(Debug, Serialize)]
pub struct CombinedType {
    pub item_type: String,
    pub planned: u64,
    pub in_table: u64,
    pub planned_digest: String,
    pub table_digest: String,
    pub matches: bool,
}

/// A shard report's planned side: its shard, and per item type its count and digest.
struct ShardReport {
    index: u32,
    count: u32,
    types: Vec<(String, u64, u128)>,
}

/// Reads one shard's report.
fn read_report(path: &Path) -> Result<ShardReport, Error> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "{}: {why}; combine the JSON reports of migrate or verify run with --shard I/N",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| bad("not a JSON report"))?;
    let shard: crate::item::Shard = report["shard"]
        .as_str()
        .ok_or_else(|| bad("not a shard's report (it names no shard)"))?
        .parse()
        .map_err(|_| bad("its shard is not I/N"))?;
    let types = report["verify"]["types"]
        .as_array()
        .ok_or_else(|| bad("it has no verification per item type"))?
        .iter()
        .map(|t| {
            let name = t["item_type"].as_str()?.to_string();
            let planned = t["planned"].as_u64()?;
            let digest = u128::from_str_radix(t["planned_digest"].as_str()?, 16).ok()?;
            Some((name, planned, digest))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("an item type without its planned count and digest"))?;
    Ok(ShardReport {
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
    let reports = request
        .reports
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<_>, _>>()?;
    let count = reports[0].count;
    let mut seen = vec![0; count as usize];
    for report in &reports {
        if report.count != count {
            return Err(Error::Usage(format!(
                "the reports are of {count} shards and of {} shards; combine the reports of one sharded run",
                report.count
            )));
        }
        seen[report.index as usize] += 1;
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| seen[i as usize] != 1)
        .map(|i| format!("{i}/{count} ({} reports)", seen[i as usize]))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "give one report per shard: {}",
            missing.join(", ")
        )));
    }
    // Without a type attribute a table item's type is unknown: compare every item at once.
    let typed = spec.table.type_attribute.is_some();
    let name_of = |item_type: &str| {
        if typed {
            item_type.to_string()
        } else {
            "(every item)".to_string()
        }
    };
    let mut sides: BTreeMap<String, (u64, u128, u64, u128)> = BTreeMap::new();
    for report in &reports {
        for (name, planned, digest) in &report.types {
            let side = sides.entry(name_of(name)).or_default();
            side.0 += planned;
            side.1 = side.1.wrapping_add(*digest);
        }
    }
    let sink = request.target.connect().await?;
    let scanned = each_item(&sink, &spec, &request.scan, |item| {
        let side = sides
            .entry(name_of(item.item_type.as_deref().unwrap_or_default()))
            .or_default();
        side.2 += 1;
        side.3 = side.3.wrapping_add(crate::item::line_hash(&item.line));
        Ok(())
    })
    .await
    .map_err(|e| request.target.error(e))?;
    let types: Vec<CombinedType> = sides
        .into_iter()
        .map(
            |(item_type, (planned, plan_digest, in_table, table_digest))| CombinedType {
                item_type,
                planned,
                in_table,
                planned_digest: format!("{plan_digest:032x}"),
                table_digest: format!("{table_digest:032x}"),
                matches: planned == in_table && plan_digest == table_digest,
            },
        )
        .collect();
    let combined = Combined {
        table: request.target.table.clone(),
        target: request.target.describe(),
        shards: count,
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

impl Combined {
    /// The comparison as Markdown.
    pub fn markdown(&self) -> String {
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
            md += &format!(
                "| {} | {} | {} | `{}` | `{}` | {} |\n",
                t.item_type,
                t.planned,
                t.in_table,
                &t.planned_digest[..12],
                &t.table_digest[..12],
                if t.matches { "ok" } else { "**differs**" }
            );
        }
        md
    }
}
