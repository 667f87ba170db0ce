//! The generator file (`sql/<design>/generate.toml`): how many rows each table gets at scale 1
//! and how each column's values are made. Parsed once and checked against the schema, so a
//! mistake is reported with the table and column before any row is made.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::text::TextKind;
use crate::source::{parse_text, ColumnType, Schema, TableShape, Value};
use crate::spec::ConditionText;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    table: Vec<TableConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableConfig {
    name: String,
    rows: Option<f64>,
    per: Option<String>,
    filter: Option<String>,
    total: Option<f64>,
    share: Option<f64>,
    #[serde(default)]
    min: u32,
    max: Option<u32>,
    #[serde(default)]
    skew: f64,
    columns: BTreeMap<String, ColumnConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnConfig {
    serial: Option<i64>,
    parent: Option<String>,
    position: Option<bool>,
    pick: Option<String>,
    distinct: Option<bool>,
    next: Option<String>,
    filter: Option<String>,
    same: Option<String>,
    from: Option<String>,
    choice: Option<BTreeMap<String, f64>>,
    chance: Option<f64>,
    int: Option<[i64; 2]>,
    time: Option<[String; 2]>,
    value: Option<toml::Value>,
    text: Option<TextKind>,
    words: Option<[u32; 2]>,
    stress: Option<String>,
    inflect: Option<String>,
    endings: Option<Vec<String>>,
    format: Option<String>,
    is_null: Option<String>,
    null: Option<f64>,
    when: Option<String>,
}

/// A condition on a row of an already generated table.
pub type Filter = ConditionText;

/// How one column's values are made.
#[derive(Debug, Clone)]
pub enum Kind {
    Serial(i64),
    Parent(String),
    Position,
    Pick {
        table: String,
        column: String,
        filter: Option<Filter>,
        distinct: bool,
    },
    Next {
        table: String,
        column: String,
        filter: Option<Filter>,
    },
    Same(usize),
    From {
        via: usize,
        /// The table `via` picks from; resolved once the table's columns are known.
        table: String,
        column: String,
        fallback: Option<(TextKind, [u32; 2])>,
    },
    Choice(Vec<(String, f64)>),
    Chance(f64),
    Int(i64, i64),
    Time(NaiveDateTime, NaiveDateTime),
    Const(Value),
    Text(TextKind, [u32; 2]),
    Stress(usize),
    Inflect(usize, Vec<String>),
    Format(String),
    IsNull(usize),
}

impl Kind {
    /// The table whose rows this column's values come from (pick, next, parent).
    pub fn source_table<'a>(&'a self, count: &'a Count) -> Option<&'a str> {
        match (self, count) {
            (Kind::Pick { table, .. } | Kind::Next { table, .. }, _) => Some(table),
            (Kind::Parent(_), Count::Per { parent, .. }) => Some(parent),
            _ => None,
        }
    }
}

/// One column's generator with its NULL policy.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub index: usize,
    pub kind: Kind,
    /// Chance of NULL.
    pub null: f64,
    /// NULL unless this column of the same row is true (or, for non-booleans, not NULL).
    pub when: Option<usize>,
}

/// How many rows a table gets.
#[derive(Debug, Clone)]
pub enum Count {
    /// This many rows at scale 1.
    Rows(f64),
    /// Children of the rows of `parent` that pass `filter`.
    Per {
        parent: String,
        filter: Option<Filter>,
        total: Total,
        min: u32,
        max: u32,
        skew: f64,
    },
}

/// The number of child rows: fixed at scale 1, or a share of the parent rows.
#[derive(Debug, Clone, Copy)]
pub enum Total {
    AtScaleOne(f64),
    ShareOfParents(f64),
}

/// One table's plan: its shape, its count and its columns in the order they must be made.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub shape: TableShape,
    pub count: Count,
    pub columns: Vec<ColumnPlan>,
}

/// Parses the generator file and checks it against the schema.
///
/// # Errors
/// A message naming the table and column at fault.
pub fn parse(text: &str, schema: &Schema) -> Result<Vec<TablePlan>, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
        format!("line {line}: {}", e.message().trim())
    })?;
    let mut plans: Vec<TablePlan> = Vec::new();
    for table in file.table {
        let shape = schema
            .table(&table.name)
            .ok_or_else(|| {
                format!(
                    "table {} is not in the schema (it has: {})",
                    table.name,
                    schema.table_names()
                )
            })?
            .clone();
        let plan = table_plan(table, shape, &plans).map_err(|e| e.to_string())?;
        plans.push(plan);
    }
    for shape in &schema.tables {
        if !plans.iter().any(|p| p.shape.name == shape.name) {
            return Err(format!(
                "table {} of the schema has no [[table]] entry; add one",
                shape.name
            ));
        }
    }
    Ok(plans)
}

fn table_plan(
    config: TableConfig,
    shape: TableShape,
    before: &[TablePlan],
) -> Result<TablePlan, String> {
    let name = shape.name.clone();
    let err = |m: String| format!("table {name}: {m}");
    let count = match (config.rows, &config.per) {
        (Some(rows), None) => Count::Rows(rows),
        (None, Some(parent)) => {
            if !before.iter().any(|p| &p.shape.name == parent) {
                return Err(err(format!(
                    "per = \"{parent}\" names a table not generated before this one"
                )));
            }
            let total = match (config.total, config.share) {
                (Some(t), None) => Total::AtScaleOne(t),
                (None, Some(s)) => Total::ShareOfParents(s),
                _ => return Err(err("give either total or share with per".into())),
            };
            Count::Per {
                parent: parent.clone(),
                filter: config
                    .filter
                    .as_deref()
                    .map(ConditionText::parse)
                    .transpose()
                    .map_err(err)?,
                total,
                min: config.min,
                max: config.max.unwrap_or(u32::MAX),
                skew: config.skew,
            }
        }
        _ => return Err(err("give either rows or per".into())),
    };
    for column in config.columns.keys() {
        if shape.column_index(column).is_none() {
            return Err(err(format!("column {column} is not in the schema")));
        }
    }
    let mut columns = Vec::new();
    for (index, column) in shape.columns.iter().enumerate() {
        let config = config
            .columns
            .get(&column.name)
            .ok_or_else(|| err(format!("column {} has no generator; add one", column.name)))?;
        let plan = column_plan(index, config, &shape, before)
            .map_err(|m| err(format!("column {}: {m}", column.name)))?;
        columns.push(plan);
    }
    let sources: Vec<(usize, Option<String>)> = columns
        .iter()
        .map(|c| (c.index, c.kind.source_table(&count).map(str::to_string)))
        .collect();
    for plan in &mut columns {
        if let Kind::From { via, table, .. } = &mut plan.kind {
            let source = sources
                .iter()
                .find(|(i, _)| i == via)
                .and_then(|(_, t)| t.clone());
            *table = source.unwrap_or_default();
        }
    }
    for plan in &columns {
        let column = &shape.columns[plan.index].name;
        match (&plan.kind, &count) {
            (Kind::Parent(_) | Kind::Position, Count::Rows(_)) => {
                return Err(err(format!(
                    "column {column}: parent and position need a table made with per"
                )))
            }
            (Kind::Parent(parent_column), Count::Per { parent, .. }) => {
                let parent_plan = before
                    .iter()
                    .find(|p| &p.shape.name == parent)
                    .expect("checked above");
                if parent_plan.shape.column_index(parent_column).is_none() {
                    return Err(err(format!(
                        "column {column}: parent table {parent} has no column {parent_column}"
                    )));
                }
            }
            (
                Kind::From {
                    table,
                    column: wanted,
                    ..
                },
                _,
            ) => {
                if table.is_empty() {
                    return Err(err(format!(
                        "column {column}: from must name a column made with pick, next or parent"
                    )));
                }
                let known = before
                    .iter()
                    .find(|p| &p.shape.name == table)
                    .is_some_and(|p| p.shape.column_index(wanted).is_some());
                if !known {
                    return Err(err(format!(
                        "column {column}: table {table} has no column {wanted}"
                    )));
                }
            }
            _ => {}
        }
    }
    let columns = dependency_order(columns).map_err(err)?;
    Ok(TablePlan {
        shape,
        count,
        columns,
    })
}

fn split_ref(text: &str) -> Result<(String, String), String> {
    text.split_once('.')
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .ok_or_else(|| format!("\"{text}\" is not of the form table.column"))
}

fn column_plan(
    index: usize,
    c: &ColumnConfig,
    shape: &TableShape,
    before: &[TablePlan],
) -> Result<ColumnPlan, String> {
    let same = |name: &str| {
        shape
            .column_index(name)
            .ok_or_else(|| format!("names column {name}, which this table lacks"))
    };
    let earlier = |table: &str, column: &str| {
        let plan = before
            .iter()
            .find(|p| p.shape.name == table)
            .ok_or_else(|| {
                format!("names table {table}, which is not generated before this one")
            })?;
        plan.shape
            .column_index(column)
            .map(|_| ())
            .ok_or_else(|| format!("names column {table}.{column}, which does not exist"))
    };
    let filter = c.filter.as_deref().map(ConditionText::parse).transpose()?;
    let words = c.words.unwrap_or([1, 1]);
    let mut kinds = Vec::new();
    if let Some(start) = c.serial {
        kinds.push(Kind::Serial(start));
    }
    if let Some(column) = &c.parent {
        kinds.push(Kind::Parent(column.clone()));
    }
    if c.position == Some(true) {
        kinds.push(Kind::Position);
    }
    if let Some(target) = &c.pick {
        let (table, column) = split_ref(target)?;
        earlier(&table, &column)?;
        kinds.push(Kind::Pick {
            table,
            column,
            filter: filter.clone(),
            distinct: c.distinct == Some(true),
        });
    }
    if let Some(target) = &c.next {
        let (table, column) = split_ref(target)?;
        earlier(&table, &column)?;
        kinds.push(Kind::Next {
            table,
            column,
            filter: filter.clone(),
        });
    }
    if let Some(column) = &c.same {
        kinds.push(Kind::Same(same(column)?));
    }
    if let Some(target) = &c.from {
        let (via, column) = split_ref(target)?;
        kinds.push(Kind::From {
            via: same(&via)?,
            table: String::new(),
            column,
            fallback: c.text.map(|t| (t, words)),
        });
    } else if let Some(kind) = c.text {
        kinds.push(Kind::Text(kind, words));
    }
    if let Some(choices) = &c.choice {
        if choices.is_empty() || choices.values().any(|w| *w < 0.0) {
            return Err("choice needs at least one label with a weight of 0 or more".into());
        }
        kinds.push(Kind::Choice(
            choices.iter().map(|(k, w)| (k.clone(), *w)).collect(),
        ));
    }
    if let Some(p) = c.chance {
        kinds.push(Kind::Chance(p));
    }
    if let Some([lo, hi]) = c.int {
        kinds.push(Kind::Int(lo, hi));
    }
    if let Some([from, to]) = &c.time {
        let parse = |t: &str| match parse_text(&ColumnType::Timestamp, t) {
            Ok(Value::Timestamp(t)) => Ok(t),
            _ => Err(format!(
                "time \"{t}\" is not a timestamp like 2022-02-15 05:45:18"
            )),
        };
        kinds.push(Kind::Time(parse(from)?, parse(to)?));
    }
    if let Some(value) = &c.value {
        kinds.push(Kind::Const(match value {
            toml::Value::String(s) => Value::Text(s.as_str().into()),
            toml::Value::Integer(i) => Value::Int(*i),
            toml::Value::Boolean(b) => Value::Bool(*b),
            other => {
                return Err(format!(
                    "value {other:?} must be a string, integer or boolean"
                ))
            }
        }));
    }
    if let Some(column) = &c.stress {
        kinds.push(Kind::Stress(same(column)?));
    }
    if let Some(column) = &c.inflect {
        kinds.push(Kind::Inflect(
            same(column)?,
            c.endings.clone().unwrap_or_default(),
        ));
    }
    if let Some(format) = &c.format {
        kinds.push(Kind::Format(format.clone()));
    }
    if let Some(column) = &c.is_null {
        kinds.push(Kind::IsNull(same(column)?));
    }
    if kinds.len() != 1 {
        return Err(format!(
            "give exactly one way to make the value (serial, parent, position, pick, next, same, from, text, choice, chance, int, time, value, stress, inflect, format, is_null); found {}",
            kinds.len()
        ));
    }
    let kind = kinds.pop().expect("exactly one");
    Ok(ColumnPlan {
        index,
        kind,
        null: c.null.unwrap_or(0.0),
        when: c.when.as_deref().map(same).transpose()?,
    })
}

/// Orders columns so that each comes after the same-row columns it reads.
fn dependency_order(mut pending: Vec<ColumnPlan>) -> Result<Vec<ColumnPlan>, String> {
    let reads = |c: &ColumnPlan| -> Vec<usize> {
        let mut r: Vec<usize> = c.when.into_iter().collect();
        match c.kind {
            Kind::Same(i) | Kind::Stress(i) | Kind::Inflect(i, _) | Kind::IsNull(i) => r.push(i),
            Kind::From { via, .. } => r.push(via),
            _ => {}
        }
        r
    };
    let mut done: Vec<ColumnPlan> = Vec::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|c| reads(c).iter().all(|i| done.iter().any(|d| d.index == *i)))
            .ok_or("columns read each other in a cycle; break the cycle")?;
        done.push(pending.remove(ready));
    }
    Ok(done)
}
