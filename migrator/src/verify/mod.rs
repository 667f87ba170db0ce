//! Verification: the planned items against the items a table holds, per item type: counts, an
//! order-independent content digest, and every difference by key (missing, extra, or changed
//! with the attributes that differ).
//!
//! Both sides are canonical `{"Item": …}` lines (attributes in name order, numbers canonical),
//! so equal items are equal lines; `digest.rs` sums their hashes.

mod digest;
mod patterns;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value as Json;

pub use digest::Digest;
pub use patterns::{check_patterns, PatternCheck, PatternError};

use crate::spec::Spec;
use crate::transform::PlanLine;

/// Differences listed per kind in reports; the counts cover them all.
pub const DIFFERENCES_SHOWN: usize = 20;

/// One item type on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeCheck {
    pub item_type: String,
    pub planned: u64,
    pub in_table: u64,
    pub planned_digest: String,
    pub table_digest: String,
    pub matches: bool,
}

/// An item that differs, by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub item_type: String,
    pub key: String,
    /// For a changed item, the attributes whose values differ (or exist on one side only).
    pub attributes: Vec<String>,
}

/// Everything verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub types: Vec<TypeCheck>,
    pub missing: Vec<Difference>,
    pub extra: Vec<Difference>,
    pub changed: Vec<Difference>,
    /// The spec's access patterns, when they were run (`verify --patterns`).
    pub patterns: Vec<PatternCheck>,
    pub matches: bool,
}

/// What one line says about itself: its type and its key text. Lines are compared whole (both
/// sides are canonical); attributes are only looked at for lines that differ.
struct Seen {
    item_type: String,
    key: String,
}

/// A line's attributes as raw JSON text, without building a value tree for each.
fn attributes(line: &str) -> BTreeMap<String, &serde_json::value::RawValue> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(rename = "Item", borrow)]
        item: BTreeMap<String, &'a serde_json::value::RawValue>,
    }
    serde_json::from_str::<Line>(line)
        .map(|l| l.item)
        .unwrap_or_default()
}

fn read_line(spec: &Spec, line: &str) -> Seen {
    let attributes = attributes(line);
    let text = |name: &str| {
        attributes
            .get(name)
            .and_then(|raw| serde_json::from_str::<BTreeMap<String, Json>>(raw.get()).ok())
            .and_then(|tagged| tagged.into_values().next())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_default()
    };
    let table = &spec.table;
    let key = match &table.sort_key {
        Some(sort) => format!(
            "{}={}, {}={}",
            table.partition_key.name,
            text(&table.partition_key.name),
            sort.name,
            text(&sort.name)
        ),
        None => format!(
            "{}={}",
            table.partition_key.name,
            text(&table.partition_key.name)
        ),
    };
    let item_type = table
        .type_attribute
        .as_deref()
        .map(text)
        .unwrap_or_default();
    Seen { item_type, key }
}

/// The names of the attributes whose values differ between two lines (or exist in one only).
fn differing(ours: &str, theirs: &str) -> Vec<String> {
    let (a, b) = (attributes(ours), attributes(theirs));
    let mut names: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|n| a.get(*n).map(|v| v.get()) != b.get(*n).map(|v| v.get()))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Compares the plan with the lines read from the table.
pub fn compare(spec: &Spec, planned: &[PlanLine], table: &[String]) -> VerifyReport {
    let typed = spec.table.type_attribute.is_some();
    let planned_seen: Vec<Seen> = planned.iter().map(|p| read_line(spec, &p.json)).collect();
    let table_seen: Vec<Seen> = table.iter().map(|l| read_line(spec, l)).collect();
    let planned_type: HashMap<&str, &str> = planned
        .iter()
        .zip(&planned_seen)
        .map(|(line, seen)| (seen.key.as_str(), line.item_type.as_str()))
        .collect();
    // Without a type attribute, a table item's type is that of the planned item with its key.
    let type_of = |seen: &Seen| {
        if typed {
            seen.item_type.clone()
        } else {
            planned_type
                .get(seen.key.as_str())
                .copied()
                .unwrap_or_default()
                .to_string()
        }
    };
    let mut digests: BTreeMap<String, (u64, Digest, u64, Digest)> = BTreeMap::new();
    for (line, seen) in planned.iter().zip(&planned_seen) {
        let entry = digests.entry(type_of(seen)).or_default();
        entry.0 += 1;
        entry.1.add(&line.json);
    }
    for (line, seen) in table.iter().zip(&table_seen) {
        let entry = digests.entry(type_of(seen)).or_default();
        entry.2 += 1;
        entry.3.add(line);
    }
    let order: Vec<String> = spec.items.iter().map(|i| i.name.clone()).collect();
    let mut types: Vec<TypeCheck> = digests
        .into_iter()
        .map(|(item_type, (p, pd, t, td))| TypeCheck {
            matches: p == t && pd == td,
            item_type,
            planned: p,
            in_table: t,
            planned_digest: pd.hex(),
            table_digest: td.hex(),
        })
        .collect();
    types.sort_by_key(|t| {
        order
            .iter()
            .position(|o| *o == t.item_type)
            .unwrap_or(usize::MAX)
    });

    let by_key: HashMap<&str, usize> = table_seen
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key.as_str(), i))
        .collect();
    let planned_keys: HashMap<&str, &Seen> =
        planned_seen.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for (line, seen) in planned.iter().zip(&planned_seen) {
        match by_key.get(seen.key.as_str()) {
            None => missing.push(Difference {
                item_type: line.item_type.clone(),
                key: seen.key.clone(),
                attributes: Vec::new(),
            }),
            Some(&i) if table[i] != line.json => changed.push(Difference {
                item_type: line.item_type.clone(),
                key: seen.key.clone(),
                attributes: differing(&line.json, &table[i]),
            }),
            Some(_) => {}
        }
    }
    let mut extra: Vec<Difference> = table_seen
        .iter()
        .filter(|s| !planned_keys.contains_key(s.key.as_str()))
        .map(|s| Difference {
            item_type: type_of(s),
            key: s.key.clone(),
            attributes: Vec::new(),
        })
        .collect();
    for list in [&mut missing, &mut extra, &mut changed] {
        list.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let matches = missing.is_empty()
        && extra.is_empty()
        && changed.is_empty()
        && types.iter().all(|t| t.matches);
    VerifyReport {
        types,
        missing,
        extra,
        changed,
        patterns: Vec::new(),
        matches,
    }
}

/// What a migration would do to one item type of a live table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeChanges {
    pub item_type: String,
    pub add: u64,
    pub change: u64,
    pub remove: u64,
}

impl VerifyReport {
    /// The differences read as changes a migration would make, per item type.
    pub fn changes(&self) -> Vec<TypeChanges> {
        let mut by_type: BTreeMap<String, TypeChanges> = BTreeMap::new();
        let mut count = |list: &[Difference], pick: fn(&mut TypeChanges) -> &mut u64| {
            for d in list {
                let entry = by_type
                    .entry(d.item_type.clone())
                    .or_insert_with(|| TypeChanges {
                        item_type: d.item_type.clone(),
                        ..Default::default()
                    });
                *pick(entry) += 1;
            }
        };
        count(&self.missing, |c| &mut c.add);
        count(&self.changed, |c| &mut c.change);
        count(&self.extra, |c| &mut c.remove);
        by_type.into_values().collect()
    }

    /// The report as Markdown, read as what a migration would change.
    pub fn diff_markdown(&self) -> String {
        let changes = self.changes();
        if changes.is_empty() {
            return "A migration would change nothing: the table already holds exactly the planned items.\n".into();
        }
        let mut md = String::from(
            "| item type | would add | would change | would remove |\n|---|---:|---:|---:|\n",
        );
        for c in &changes {
            md += &format!(
                "| {} | {} | {} | {} |\n",
                c.item_type, c.add, c.change, c.remove
            );
        }
        md + &self.differences_markdown(["Would add", "Would change", "Would remove"])
    }

    fn differences_markdown(&self, titles: [&str; 3]) -> String {
        let mut md = String::new();
        for (title, list) in titles
            .iter()
            .zip([&self.missing, &self.changed, &self.extra])
        {
            if list.is_empty() {
                continue;
            }
            md += &format!("\n{title} ({}):\n", list.len());
            for d in list.iter().take(DIFFERENCES_SHOWN) {
                let attrs = if d.attributes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", d.attributes.join(", "))
                };
                md += &format!("- {} `{}`{attrs}\n", d.item_type, d.key);
            }
        }
        md
    }

    /// Adds the access patterns' outcomes; any mismatch fails the verification.
    pub fn with_patterns(mut self, patterns: Vec<PatternCheck>) -> Self {
        self.matches &= patterns.iter().all(|p| p.matches);
        self.patterns = patterns;
        self
    }

    /// The report as Markdown: a line per item type, then the differences.
    pub fn markdown(&self) -> String {
        let mut md = String::from(
            "| item type | planned | in table | digest (plan) | digest (table) | |\n|---|---:|---:|---|---|---|\n",
        );
        for t in &self.types {
            md += &format!(
                "| {} | {} | {} | `{}` | `{}` | {} |\n",
                if t.item_type.is_empty() {
                    "(no type)"
                } else {
                    &t.item_type
                },
                t.planned,
                t.in_table,
                &t.planned_digest[..12],
                &t.table_digest[..12],
                if t.matches { "ok" } else { "**differs**" }
            );
        }
        md += &self.differences_markdown([
            "Missing from the table",
            "Changed",
            "In the table but not planned",
        ]);
        if !self.patterns.is_empty() {
            md += "\n| access pattern | items from DynamoDB | rows from SQL | |\n|---|---:|---:|---|\n";
            for p in &self.patterns {
                md += &format!(
                    "| {} | {} | {} | {} |\n",
                    p.name,
                    p.dynamo.len(),
                    p.sql.len(),
                    if p.matches { "ok" } else { "**differs**" }
                );
            }
        }
        md
    }
}
