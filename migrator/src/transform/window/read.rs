//! A window's rows: every path query of an item type read in step (`source::InStep`), cut
//! after at least N root groups at a group boundary, each table's rows kept once (by primary
//! key).

use foldhash::{HashMap, HashSet};

use super::super::{convert, paths};
use crate::source::{
    Column, InStep, PostgresSource, Row, SourceError, StepQuery, TableShape, Value,
};
use crate::spec::{ItemSpec, Spec, TimeFormat};

/// The root columns an item type's windows are cut on: its grouping columns when they are all
/// the root's own (a group never spans two windows), else the root's primary key.
pub(super) fn window_key(spec: &Spec, item: &ItemSpec) -> Vec<usize> {
    let root = spec
        .schema
        .table(&item.root)
        .expect("the spec checked its tables");
    if !item.group_by.is_empty() && item.group_by.iter().all(|f| f.level == 0 && f.slot == 0) {
        item.group_by.iter().map(|f| f.column).collect()
    } else {
        root.key_columns().into_owned()
    }
}

/// A row's identity within its table: its id when its primary key is one whole number, else
/// its primary key's text (every column's, without a primary key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowId {
    Int(i64),
    Text(Box<str>),
}

/// The identity of `row` of `shape`.
pub fn identity(shape: &TableShape, row: &Row, format: &TimeFormat) -> RowId {
    if let [c] = shape.primary_key[..] {
        if let Value::Int(id) = row.values[c] {
            return RowId::Int(id);
        }
    }
    let texts: Vec<String> = shape
        .key_columns()
        .iter()
        .map(|&c| convert::text(&row.values[c], format))
        .collect();
    RowId::Text(texts.join("\u{1f}").into())
}

/// One window's rows: the root table's first `roots` rows are its roots; every other row of
/// every table is there to be looked up.
pub struct WindowRows {
    pub roots: usize,
    pub rows: HashMap<String, Vec<Row>>,
}

/// Every path query of one item type, read in step a window at a time.
pub struct Streams<'s> {
    spec: &'s Spec,
    root: &'s TableShape,
    /// The root's own query first.
    queries: InStep,
    /// Tables read whole instead of by path (see [`Streams::open`]).
    held: Vec<String>,
    /// The windows come in the key order of the type's lines (see `order.rs`).
    in_key_order: bool,
}

/// What an item type's windows read: its path queries, the root's own first, and the tables
/// every window holds whole.
pub struct Reads {
    key_len: usize,
    queries: Vec<StepQuery>,
    held: Vec<String>,
    in_key_order: bool,
}

impl Reads {
    /// Every path query of `item` (`rows` gives a table's row count); but a table other than
    /// the root of at most `window` rows is not read by path: every window gets all its rows
    /// (read once by the caller, see [`Streams::held`]).
    pub fn of(spec: &Spec, item: &ItemSpec, rows: &dyn Fn(&str) -> u64, window: usize) -> Self {
        let root = spec
            .schema
            .table(&item.root)
            .expect("the spec checked its tables");
        let key = window_key(spec, item);
        let in_key_order = super::order::in_key_order(spec, item, &key);
        let key_columns: Vec<Column> = key
            .iter()
            .map(|&c| Column {
                name: root.columns[c].name.clone(),
                ty: paths::window_key_type(&root.columns[c].ty, in_key_order),
                not_null: false,
            })
            .collect();
        let mut seen = HashSet::default();
        let mut queries = Vec::new();
        let mut held = Vec::new();
        for query in paths::path_queries(spec, item, &key, in_key_order, rows) {
            if !seen.insert(query.sql.clone()) {
                continue;
            }
            if query.table != item.root && rows(&query.table) <= window as u64 {
                if !held.contains(&query.table) {
                    held.push(query.table);
                }
                continue;
            }
            let table = spec.schema.table(&query.table).expect("checked");
            let shape = TableShape {
                name: query.table.clone(),
                namespace: None,
                columns: key_columns.iter().chain(&table.columns).cloned().collect(),
                primary_key: Vec::new(),
            };
            queries.push(StepQuery {
                table: query.table,
                sql: query.sql,
                shape,
            });
        }
        Reads {
            key_len: key.len(),
            queries,
            held,
            in_key_order,
        }
    }

    /// The connections reading them takes: one a query.
    pub fn connections(&self) -> usize {
        self.queries.len()
    }
}

impl<'s> Streams<'s> {
    /// Starts every query of `reads`, item type `item`'s, each on a connection of its own
    /// reading `source`'s snapshot.
    pub async fn open(
        spec: &'s Spec,
        source: &PostgresSource,
        item: &ItemSpec,
        reads: Reads,
    ) -> Result<Self, SourceError> {
        for query in &reads.queries {
            tracing::debug!(item_type = %item.name, table = %query.table, sql = %query.sql, "path query");
        }
        Ok(Streams {
            spec,
            root: spec
                .schema
                .table(&item.root)
                .expect("the spec checked its tables"),
            queries: InStep::open(source, reads.queries, reads.key_len).await?,
            held: reads.held,
            in_key_order: reads.in_key_order,
        })
    }

    /// Whether the windows come in the key order of the type's lines, each window's lines
    /// after the last window's.
    pub fn in_key_order(&self) -> bool {
        self.in_key_order
    }

    /// The tables every window holds whole.
    pub fn held(&self) -> &[String] {
        &self.held
    }

    /// The next window of at least `size` root rows (more only to finish a group), with every
    /// row of the tables held whole (from `held`, by table); `None` once every root has been
    /// read.
    pub async fn next(
        &mut self,
        size: usize,
        held: &HashMap<String, Vec<Row>>,
    ) -> Result<Option<WindowRows>, SourceError> {
        let format = &self.spec.timestamps;
        let Some(step) = self.queries.next(size).await? else {
            return Ok(None);
        };
        let roots = step.first;
        let root_count = roots.len();
        let mut kept: HashMap<String, (Vec<Row>, HashSet<RowId>)> = HashMap::default();
        let ids = roots
            .iter()
            .map(|r| identity(self.root, r, format))
            .collect();
        kept.insert(self.root.name.clone(), (roots, ids));
        for (table, rows) in step.others {
            let shape = self.spec.schema.table(&table).expect("checked");
            let (kept, ids) = kept.entry(table).or_default();
            for row in rows {
                if ids.insert(identity(shape, &row, format)) {
                    kept.push(row);
                }
            }
        }
        let mut rows: HashMap<String, Vec<Row>> =
            kept.into_iter().map(|(t, (rows, _))| (t, rows)).collect();
        for table in &self.held {
            rows.insert(table.clone(), held.get(table).cloned().unwrap_or_default());
        }
        Ok(Some(WindowRows {
            roots: root_count,
            rows,
        }))
    }
}
