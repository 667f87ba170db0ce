//! Verification: the planned items against the items a table holds, per item type: counts, an
//! order-independent content digest, and every difference by key (missing, extra, or changed
//! with the attributes that differ).
//!
//! Both sides are canonical `{"Item": …}` lines (attributes in name order, numbers canonical),
//! so equal items are equal lines and compare by hash; `digest.rs` sums the hashes. The table
//! streams through a [`Comparison`] against the plan's keys and hashes, so neither side is held
//! whole; only lines that differ are kept, to name the attributes that differ.

mod digest;
mod patterns;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

pub use digest::Digest;
pub use patterns::{check_patterns, PatternCheck, PatternError};

use rayon::prelude::*;

use crate::item::{attributes, line_hash, ScannedItem};
use crate::spec::{ItemTypeId, Spec};
use crate::transform::{rules, Planned, ReadBack};

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

impl TypeCheck {
    /// The type's line of a report's Markdown table: type, both counts, both digests (their
    /// first 12 digits) and whether they match.
    pub fn markdown_row(&self) -> String {
        let name = if self.item_type.is_empty() {
            "(no type)"
        } else {
            &self.item_type
        };
        format!(
            "| {name} | {} | {} | `{}` | `{}` | {} |\n",
            self.planned,
            self.in_table,
            &self.planned_digest[..12],
            &self.table_digest[..12],
            if self.matches { "ok" } else { "**differs**" }
        )
    }
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

/// A comparison of a plan with a table, fed the table's items one at a time (in any order), so
/// neither side is held whole: planned items are known by key and hash, and only the lines of
/// items that differ are kept.
pub struct Comparison<'p> {
    spec: &'p Spec,
    plan: &'p dyn Planned,
    /// Planned items by key: item type and place among that type's entries.
    planned: HashMap<&'p (String, String), (usize, usize)>,
    /// Per item type, which of its planned items the table holds.
    found: Vec<Vec<bool>>,
    /// Per item type seen in the table: items and their digest.
    in_table: BTreeMap<String, (u64, Digest)>,
    extra: Vec<Difference>,
    /// Planned items the table holds otherwise: item type, place, and the table's line.
    changed: Vec<(usize, usize, String)>,
}

impl<'p> Comparison<'p> {
    /// Starts comparing `plan` with a table no item of which has been seen yet.
    pub fn new(spec: &'p Spec, plan: &'p dyn Planned) -> Self {
        let mut planned = HashMap::with_capacity(plan.item_count());
        for (t, entries) in plan.types().iter().enumerate() {
            for (i, entry) in entries.iter().enumerate() {
                planned.insert(&entry.key, (t, i));
            }
        }
        Comparison {
            spec,
            plan,
            planned,
            found: plan.types().iter().map(|e| vec![false; e.len()]).collect(),
            in_table: BTreeMap::new(),
            extra: Vec::new(),
            changed: Vec::new(),
        }
    }

    /// Takes one item read from the table.
    pub fn add(&mut self, item: ScannedItem) {
        if self.spec.shard.is_some_and(|shard| !shard.holds(&item.key)) {
            // Another shard's item: that shard compares it.
            return;
        }
        let hash = line_hash(&item.line);
        let planned = self.planned.get(&item.key).copied();
        // Without a type attribute, a table item's type is that of the planned item with its key.
        let item_type = match (&self.spec.table.type_attribute, planned) {
            (Some(_), _) => item.item_type.unwrap_or_default(),
            (None, Some((t, _))) => self.spec.items[t].name.clone(),
            (None, None) => String::new(),
        };
        let entry = self.in_table.entry(item_type.clone()).or_default();
        entry.0 += 1;
        entry.1.add_hash(hash);
        match planned {
            None => self.extra.push(Difference {
                item_type,
                key: rules::describe(self.spec, &item.key),
                attributes: Vec::new(),
            }),
            Some((t, i)) => {
                self.found[t][i] = true;
                if self.plan.types()[t][i].hash != hash {
                    self.changed.push((t, i, item.line));
                }
            }
        }
    }

    /// Counts, digests and every difference, in key order.
    ///
    /// # Errors
    /// A plan kept on disk whose changed items cannot be read back.
    pub fn finish(self) -> Result<VerifyReport, ReadBack> {
        let spec = self.spec;
        let name = |t: usize| spec.items[t].name.clone();
        let mut in_table = self.in_table;
        let mut types: Vec<TypeCheck> = Vec::new();
        for (t, entries) in self.plan.types().iter().enumerate() {
            let mut digest = Digest::default();
            entries.iter().for_each(|e| digest.add_hash(e.hash));
            let (count, table_digest) = in_table.remove(&name(t)).unwrap_or_default();
            types.push(TypeCheck {
                item_type: name(t),
                planned: entries.len() as u64,
                in_table: count,
                planned_digest: digest.hex(),
                table_digest: table_digest.hex(),
                matches: entries.len() as u64 == count && digest == table_digest,
            });
        }
        types.extend(
            in_table
                .into_iter()
                .map(|(item_type, (count, digest))| TypeCheck {
                    item_type,
                    planned: 0,
                    in_table: count,
                    planned_digest: Digest::default().hex(),
                    table_digest: digest.hex(),
                    matches: count == 0,
                }),
        );
        let mut missing = Vec::new();
        for (t, found) in self.found.iter().enumerate() {
            for (i, _) in found.iter().enumerate().filter(|(_, f)| !**f) {
                missing.push(Difference {
                    item_type: name(t),
                    key: rules::describe(spec, &self.plan.types()[t][i].key),
                    attributes: Vec::new(),
                });
            }
        }
        let plan = self.plan;
        let mut changed: Vec<Difference> = self
            .changed
            .par_iter()
            .map(|(t, i, line)| {
                let planned = plan.lines(ItemTypeId(*t), *i..*i + 1)?.pop();
                Ok(Difference {
                    item_type: name(*t),
                    key: rules::describe(spec, &plan.types()[*t][*i].key),
                    attributes: differing(&planned.map_or_else(String::new, |l| l.json), line),
                })
            })
            .collect::<Result<_, ReadBack>>()?;
        let mut extra = self.extra;
        for list in [&mut missing, &mut extra, &mut changed] {
            list.sort_by(|a, b| a.key.cmp(&b.key));
        }
        let matches = missing.is_empty()
            && extra.is_empty()
            && changed.is_empty()
            && types.iter().all(|t| t.matches);
        Ok(VerifyReport {
            types,
            missing,
            extra,
            changed,
            patterns: Vec::new(),
            matches,
        })
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
            md += &t.markdown_row();
        }
        md += &self.differences_markdown([
            "Missing from the table",
            "Changed",
            "In the table but not planned",
        ]);
        if !self.patterns.is_empty() {
            md += "\n| access pattern | items from DynamoDB | rows from SQL | |\n|---|---:|---:|---|\n";
            for p in &self.patterns {
                let write = match p.would_write {
                    Some(true) => " (the write would be made)",
                    Some(false) => " (its condition fails: the write would be refused)",
                    None => "",
                };
                md += &format!(
                    "| {} | {} | {} | {}{write} |\n",
                    p.name,
                    p.dynamo.len(),
                    p.sql.len(),
                    if p.matches {
                        if p.ordered {
                            "ok, in order"
                        } else {
                            "ok"
                        }
                    } else {
                        "**differs**"
                    }
                );
            }
            for p in self.patterns.iter().filter(|p| !p.matches) {
                md += &format!(
                    "\nAccess pattern **{}** ({}): {}.\n",
                    p.name,
                    p.example,
                    p.difference.as_deref().unwrap_or("differs")
                );
            }
        }
        md
    }
}
