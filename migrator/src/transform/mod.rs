//! Transformation: source rows into the spec's single-table items, checked and accounted for.
//!
//! [`read_tables`] gathers the rows the spec reads; [`plan`] builds every item type in
//! parallel (rayon), one item per root row, following `build.rs`; `rules.rs` checks each item
//! against DynamoDB's limits and the plan for duplicate keys; `accounting.rs` records, for every
//! source row, whether it landed in an item or which rule dropped it. Items come out sorted by
//! type (spec order) and key, so the same source gives the same bytes in any row order.

mod accounting;
mod build;
mod convert;
mod item;
mod rules;

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use rayon::prelude::*;

pub use accounting::{TableAccount, Usage};
pub use item::{write_json_map, write_json_string, AttrValue, Item, Number, NumberError};

use crate::source::{Row, Source, SourceError, TableShape};
use crate::spec::Spec;

/// The rows of one source table, held for lookups, with what became of each.
pub struct TableData {
    pub shape: TableShape,
    pub rows: Vec<Row>,
    pub usage: Usage,
}

/// Every table a spec reads, by name.
pub struct Tables {
    pub tables: HashMap<String, TableData>,
}

/// Reads every table `spec` names from `source`, all tables at once.
pub async fn read_tables(spec: &Spec, source: &Source) -> Result<Tables, SourceError> {
    // Every table of the schema, so the report accounts for each of them.
    let names: Vec<String> = spec.schema.tables.iter().map(|t| t.name.clone()).collect();
    let mut streams = Vec::new();
    for name in &names {
        streams.push((name.clone(), source.rows(name)?));
    }
    let read =
        futures::future::try_join_all(streams.into_iter().map(|(name, mut stream)| async move {
            let mut rows = Vec::new();
            while let Some(batch) = stream.next().await {
                rows.extend(batch?);
            }
            Ok::<_, SourceError>((name, rows))
        }))
        .await?;
    let mut tables = HashMap::new();
    for (name, rows) in read {
        let shape = source
            .schema()
            .table(&name)
            .expect("rows() checked the table")
            .clone();
        let usage = Usage::new(rows.len());
        tables.insert(name, TableData { shape, rows, usage });
    }
    Ok(Tables { tables })
}

/// One planned item with the source row it was built from, for messages.
#[derive(Debug, Clone)]
pub struct Planned {
    pub item: Item,
    pub table: String,
    pub row: String,
}

/// A checked item as it is kept in a plan: its key, its DynamoDB JSON line and its size.
#[derive(Debug, Clone)]
pub struct PlanLine {
    pub item_type: String,
    /// Partition and sort key as text: the plan's order.
    pub key: (String, String),
    /// `{"Item": {…}}`, the line ImportTable reads.
    pub json: String,
    /// The size DynamoDB counts for the item.
    pub bytes: usize,
    pub table: String,
    pub row: String,
}

/// Every item of a spec, in output order, and the account of every source row.
pub struct Plan {
    pub items: Vec<PlanLine>,
    pub accounts: Vec<TableAccount>,
    /// Events counted while building, such as `WORD.conjugations missing: 3`.
    pub events: Vec<(String, u64)>,
}

/// Builds, checks and orders every item the spec describes.
///
/// # Errors
/// Every item that cannot be built or breaks a rule, each naming its type, key, source table
/// and row, in the plan's order; then every key two items share.
pub fn plan(spec: &Spec, tables: &Tables) -> Result<Plan, PlanErrors> {
    let builder = build::Builder::new(spec, tables);
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut chosen: Vec<HashSet<usize>> = Vec::new();
    for index in 0..spec.items.len() {
        let started = std::time::Instant::now();
        let groups = builder.roots(index, &chosen);
        let rooted = started.elapsed().as_secs_f64();
        chosen.push(groups.iter().map(|g| g[0][0].1).collect());
        let progress = crate::progress::Progress::new(
            &format!("planning {}", spec.items[index].name),
            groups.len() as u64,
            "items",
        );
        let results: Vec<Result<PlanLine, TransformError>> = groups
            .into_par_iter()
            .map(|group| {
                progress.advance(1);
                let planned = builder.item(index, group)?;
                rules::check_item(spec, &planned)?;
                Ok(PlanLine {
                    key: rules::key_of(spec, &planned.item),
                    json: planned.item.to_json_line(),
                    bytes: planned.item.size(),
                    item_type: planned.item.item_type,
                    table: planned.table,
                    row: planned.row,
                })
            })
            .collect();
        progress.finish();
        let mut built = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(line) => built.push(line),
                Err(error) => errors.push(error),
            }
        }
        built.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        tracing::info!(
            item_type = %spec.items[index].name,
            items = built.len(),
            roots_s = rooted,
            total_s = started.elapsed().as_secs_f64(),
            "built"
        );
        items.extend(built);
    }
    errors.extend(rules::check_unique(spec, &items));
    if !errors.is_empty() {
        return Err(PlanErrors(errors));
    }
    let accounts = accounting::accounts(spec, tables, builder.rules());
    let events = builder.events();
    Ok(Plan {
        items,
        accounts,
        events,
    })
}

/// Where an item came from: its type and its root row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub item_type: String,
    pub table: String,
    pub row: String,
}

/// Two items of one plan with the same primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClash {
    pub key: String,
    pub first: Origin,
    pub second: Origin,
}

/// Every item of a plan that cannot be built or would break a rule (at least one).
#[derive(Debug)]
pub struct PlanErrors(pub Vec<TransformError>);

/// How many errors a message lists before it says how many more there are.
const ERRORS_SHOWN: usize = 20;

impl std::fmt::Display for PlanErrors {
    /// One error per line, each after the `error: ` the first one gets from the caller.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().take(ERRORS_SHOWN).enumerate() {
            if i > 0 {
                f.write_str("\nerror: ")?;
            }
            write!(f, "{error}")?;
        }
        if self.0.len() > ERRORS_SHOWN {
            write!(
                f,
                "\nerror: … and {} more ({} errors in all; `migrator plan --report FILE` lists every one)",
                self.0.len() - ERRORS_SHOWN,
                self.0.len()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// An item that cannot be built or would break a DynamoDB rule.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("table {table}, row {row}: {field} is NULL but {item_type}'s {attribute} needs it; fill it, give the template a default ({{{field}|…}}) or filter such rows out in the spec")]
    NullKey {
        item_type: String,
        table: String,
        row: String,
        field: String,
        attribute: String,
    },
    #[error("table {table}, row {row}: {item_type}'s attribute {attribute}: {message}")]
    Value {
        item_type: String,
        table: String,
        row: String,
        attribute: String,
        message: String,
    },
    #[error("{item_type} {key} (table {table}, row {row}): {rule}")]
    Rule {
        item_type: String,
        key: String,
        table: String,
        row: String,
        rule: String,
    },
    #[error("two items have the key {}: {} from table {}, row {}, and {} from table {}, row {}; make the key templates unique", .0.key, .0.first.item_type, .0.first.table, .0.first.row, .0.second.item_type, .0.second.table, .0.second.row)]
    DuplicateKey(Box<KeyClash>),
}
