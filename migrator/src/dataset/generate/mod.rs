//! `dataset generate`: a synthetic dataset of any scale from a design's `generate.toml`.
//!
//! Tables are made in the file's order, each with its own random stream seeded from the seed
//! and the table's position, so the same seed and scale give the same bytes. A table's rows are
//! written to `<table>.csv` as they are made; only the columns later tables refer to are kept.
//! `config.rs` is the file format, `spread.rs` shares child rows among parents, `text.rs` makes
//! text.

mod config;
mod spread;
mod text;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use self::config::{ColumnPlan, Count, Filter, Kind, TablePlan, Total};
use self::spread::{child_counts, Spread};
use super::DatasetError;
use crate::source::{parse_schema, Value, SCHEMA_FILE};

/// The generator file a design keeps beside its schema.
pub const GENERATOR_FILE: &str = "generate.toml";

/// Rows written per table, in the order they were made.
#[derive(Debug)]
pub struct GenerateReport {
    pub tables: Vec<(String, u64)>,
}

/// Writes a dataset of `scale` (1 = the volumes in the generator file) made from `seed`
/// into `out`: one CSV per table and a copy of the schema.
pub fn generate(
    design_dir: &Path,
    scale: f64,
    seed: u64,
    out: &Path,
) -> Result<GenerateReport, DatasetError> {
    let read = |path: PathBuf| {
        fs::read_to_string(&path).map_err(|source| DatasetError::Io { path, source })
    };
    let schema_path = design_dir.join(SCHEMA_FILE);
    let schema_sql = read(schema_path.clone())?;
    let schema = parse_schema(&schema_path, &schema_sql)?;
    let generator_path = design_dir.join(GENERATOR_FILE);
    let plans = config::parse(&read(generator_path.clone())?, &schema).map_err(|message| {
        DatasetError::Generator {
            path: generator_path.clone(),
            message,
        }
    })?;
    fs::create_dir_all(out).map_err(|source| DatasetError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    fs::write(out.join(SCHEMA_FILE), schema_sql).map_err(|source| DatasetError::Io {
        path: out.join(SCHEMA_FILE),
        source,
    })?;
    let kept_columns = kept_columns(&plans);
    let mut made: HashMap<String, Kept> = HashMap::new();
    let mut report = GenerateReport { tables: Vec::new() };
    for (position, plan) in plans.iter().enumerate() {
        let stream = (position as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ stream);
        let keep = kept_columns
            .get(&plan.shape.name)
            .cloned()
            .unwrap_or_default();
        let path = out.join(format!("{}.csv", plan.shape.name));
        let kept = make_table(plan, scale, &mut rng, &made, &keep, &path).map_err(|e| match e {
            MakeError::Io(source) => DatasetError::Io { path, source },
            MakeError::Plan(message) => DatasetError::Generator {
                path: generator_path.clone(),
                message: format!("table {}: {message}", plan.shape.name),
            },
        })?;
        tracing::info!(table = %plan.shape.name, rows = kept.rows, "generated");
        report
            .tables
            .push((plan.shape.name.clone(), kept.rows as u64));
        made.insert(plan.shape.name.clone(), kept);
    }
    Ok(report)
}

/// The text form of a value in a CSV file: empty for NULL, Postgres's text form otherwise.
pub(crate) fn csv_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::Int(i) => Cow::Owned(i.to_string()),
        Value::Text(s) => Cow::Borrowed(s),
        Value::Numeric(s) | Value::Enum(s) => Cow::Borrowed(s),
        Value::Timestamp(t) => Cow::Owned(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
        other => Cow::Owned(format!("{other:?}")),
    }
}

/// The columns of a made table that later tables read.
#[derive(Debug, Default)]
struct Kept {
    rows: usize,
    columns: HashMap<String, Vec<Value>>,
}

impl Kept {
    fn column(&self, name: &str) -> &[Value] {
        self.columns
            .get(name)
            .map(Vec::as_slice)
            .expect("kept_columns keeps every column a later table reads")
    }

    fn matching(&self, filter: Option<&Filter>) -> Vec<usize> {
        match filter {
            None => (0..self.rows).collect(),
            Some(f) => {
                let column = self.column(&f.column);
                (0..self.rows)
                    .filter(|&i| match &column[i] {
                        Value::Null => f.accepts(None),
                        value => f.accepts(Some(&csv_text(value))),
                    })
                    .collect()
            }
        }
    }
}

/// Which columns of which tables later tables read (as parents, picks, filters).
fn kept_columns(plans: &[TablePlan]) -> HashMap<String, HashSet<String>> {
    let mut keep: HashMap<String, HashSet<String>> = HashMap::new();
    let mut add = |table: &str, column: &str| {
        keep.entry(table.to_string())
            .or_default()
            .insert(column.to_string());
    };
    for plan in plans {
        if let Count::Per {
            parent,
            filter: Some(f),
            ..
        } = &plan.count
        {
            add(parent, &f.column);
        }
        for column in &plan.columns {
            match &column.kind {
                Kind::Parent(c) => {
                    if let Some(parent) = column.kind.source_table(&plan.count) {
                        add(parent, c);
                    }
                }
                Kind::Pick {
                    table,
                    column: c,
                    filter,
                    ..
                }
                | Kind::Next {
                    table,
                    column: c,
                    filter,
                } => {
                    add(table, c);
                    if let Some(f) = filter {
                        add(table, &f.column);
                    }
                }
                Kind::From {
                    table, column: c, ..
                } => add(table, c),
                _ => {}
            }
        }
    }
    keep
}

enum MakeError {
    Io(std::io::Error),
    Plan(String),
}

impl From<std::io::Error> for MakeError {
    fn from(e: std::io::Error) -> Self {
        MakeError::Io(e)
    }
}

impl From<csv::Error> for MakeError {
    fn from(e: csv::Error) -> Self {
        MakeError::Io(std::io::Error::other(e))
    }
}

/// Per-column state that lives across the rows of one table.
#[derive(Default)]
struct ColumnState {
    candidates: Vec<usize>,
    cursor: usize,
    used: HashSet<usize>,
    choices: Vec<(String, f64)>,
}

fn make_table(
    plan: &TablePlan,
    scale: f64,
    rng: &mut ChaCha8Rng,
    made: &HashMap<String, Kept>,
    keep: &HashSet<String>,
    path: &Path,
) -> Result<Kept, MakeError> {
    let groups: Vec<(Option<usize>, u32)> = match &plan.count {
        Count::Rows(rows) => vec![(None, (rows * scale).round() as u32)],
        Count::Per {
            parent,
            filter,
            total,
            min,
            max,
            skew,
        } => {
            let parents = made[parent].matching(filter.as_ref());
            let total = match total {
                Total::AtScaleOne(t) => (t * scale).round() as u64,
                Total::ShareOfParents(s) => (s * parents.len() as f64).round() as u64,
            };
            let spread = Spread {
                total,
                min: *min,
                max: *max,
                skew: *skew,
            };
            let counts = child_counts(rng, parents.len(), spread).map_err(MakeError::Plan)?;
            parents.into_iter().map(Some).zip(counts).collect()
        }
    };
    let mut states: Vec<ColumnState> = Vec::new();
    for column in &plan.columns {
        let mut state = ColumnState::default();
        match &column.kind {
            Kind::Pick { table, filter, .. } | Kind::Next { table, filter, .. } => {
                state.candidates = made[table].matching(filter.as_ref());
                if state.candidates.is_empty() {
                    return Err(MakeError::Plan(format!(
                        "column {}: no row of {table} to pick from",
                        plan.shape.columns[column.index].name
                    )));
                }
            }
            Kind::Choice(choices) => state.choices = choices.clone(),
            _ => {}
        }
        states.push(state);
    }
    let width = plan.shape.columns.len();
    let mut kept = Kept::default();
    let kept_indexes: Vec<(usize, String)> = plan
        .shape
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| keep.contains(&c.name))
        .map(|(i, c)| (i, c.name.clone()))
        .collect();
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(plan.shape.columns.iter().map(|c| c.name.as_str()))?;
    let mut row = Row {
        values: vec![Value::Null; width],
        picked: vec![None; width],
    };
    let mut n = 0u64;
    for (parent, children) in groups {
        for state in &mut states {
            state.used.clear();
        }
        for position in 0..children {
            let at = At {
                n,
                parent,
                position,
            };
            for (column, state) in plan.columns.iter().zip(&mut states) {
                let (value, picked) = make_value(column, state, &row, at, rng, made, &plan.count)?;
                row.values[column.index] = value;
                row.picked[column.index] = picked;
            }
            writer.write_record(row.values.iter().map(|v| csv_text(v).into_owned()))?;
            for (i, name) in &kept_indexes {
                kept.columns
                    .entry(name.clone())
                    .or_default()
                    .push(row.values[*i].clone());
            }
            n += 1;
        }
    }
    writer.flush()?;
    kept.rows = n as usize;
    Ok(kept)
}

/// The row being made: its values so far and, per column, the row it was picked from.
struct Row {
    values: Vec<Value>,
    picked: Vec<Option<usize>>,
}

/// Where a row sits: its number in the table, its parent row, its place among its siblings.
#[derive(Clone, Copy)]
struct At {
    n: u64,
    parent: Option<usize>,
    position: u32,
}

fn make_value(
    column: &ColumnPlan,
    state: &mut ColumnState,
    row: &Row,
    at: At,
    rng: &mut ChaCha8Rng,
    made: &HashMap<String, Kept>,
    count: &Count,
) -> Result<(Value, Option<usize>), MakeError> {
    if let Some(gate) = column.when {
        if matches!(row.values[gate], Value::Null | Value::Bool(false)) {
            return Ok((Value::Null, None));
        }
    }
    if column.null > 0.0 && rng.random::<f64>() < column.null {
        return Ok((Value::Null, None));
    }
    let text_of = |i: usize| csv_text(&row.values[i]).into_owned();
    Ok(match &column.kind {
        Kind::Serial(start) => (Value::Int(start + at.n as i64), None),
        Kind::Parent(name) => {
            let parent = at.parent.expect("per tables always have a parent");
            let table = column.kind.source_table(count).expect("per count");
            (made[table].column(name)[parent].clone(), Some(parent))
        }
        Kind::Position => (Value::Int(i64::from(at.position)), None),
        Kind::Pick {
            table,
            column: name,
            distinct,
            ..
        } => {
            let mut pick = state.candidates[rng.random_range(0..state.candidates.len())];
            if *distinct {
                let mut tries = 0;
                while state.used.contains(&pick) {
                    tries += 1;
                    if tries > 1000 {
                        return Err(MakeError::Plan(format!(
                            "cannot pick {} distinct rows of {table}; lower max or drop distinct",
                            state.used.len() + 1
                        )));
                    }
                    pick = state.candidates[rng.random_range(0..state.candidates.len())];
                }
                state.used.insert(pick);
            }
            (made[table].column(name)[pick].clone(), Some(pick))
        }
        Kind::Next {
            table,
            column: name,
            ..
        } => {
            let pick = state.candidates[state.cursor % state.candidates.len()];
            state.cursor += 1;
            (made[table].column(name)[pick].clone(), Some(pick))
        }
        Kind::Same(i) => (row.values[*i].clone(), None),
        Kind::From {
            via,
            table,
            column: name,
            fallback,
        } => match (row.picked[*via], fallback) {
            (Some(picked), _) => (made[table].column(name)[picked].clone(), None),
            (None, Some((kind, words))) => {
                (Value::Text(text::text(rng, *kind, *words).into()), None)
            }
            (None, None) => (Value::Null, None),
        },
        Kind::Choice(_) => {
            let total: f64 = state.choices.iter().map(|(_, w)| w).sum();
            let mut x = rng.random::<f64>() * total;
            let mut label = &state.choices[0].0;
            for (l, w) in &state.choices {
                label = l;
                if x < *w {
                    break;
                }
                x -= w;
            }
            (Value::Text(label.clone().into()), None)
        }
        Kind::Chance(p) => (Value::Bool(rng.random::<f64>() < *p), None),
        Kind::Int(lo, hi) => (Value::Int(rng.random_range(*lo..=*hi)), None),
        Kind::Time(from, to) => {
            let span = (*to - *from).num_microseconds().unwrap_or(0).max(1);
            let offset = TimeDelta::microseconds(rng.random_range(0..span));
            (Value::Timestamp(*from + offset), None)
        }
        Kind::Const(value) => (value.clone(), None),
        Kind::Text(kind, words) => (Value::Text(text::text(rng, *kind, *words).into()), None),
        Kind::Stress(i) => (Value::Text(text::stress(rng, &text_of(*i)).into()), None),
        Kind::Inflect(i, endings) => (
            Value::Text(text::inflect(rng, &text_of(*i), endings).into()),
            None,
        ),
        Kind::Format(format) => (
            Value::Text(format.replace("{n}", &(at.n + 1).to_string()).into()),
            None,
        ),
        Kind::IsNull(i) => (Value::Bool(matches!(row.values[*i], Value::Null)), None),
    })
}
