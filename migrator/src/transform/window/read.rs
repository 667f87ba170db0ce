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
/// its primary key's values (every column's, without a primary key) as [`push_key`] writes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowId {
    Int(i64),
    Key(Box<[u8]>),
}

/// The identity of `row` of `shape`.
pub fn identity(shape: &TableShape, row: &Row, format: &TimeFormat) -> RowId {
    if let [c] = shape.primary_key[..] {
        if let Value::Int(id) = row.values[c] {
            return RowId::Int(id);
        }
    }
    let mut key = Vec::new();
    push_key(shape, row, format, &mut key);
    RowId::Key(key.into())
}

/// Appends the values of `row`'s primary key (every column's, without a primary key) to
/// `out`, each tagged and whole numbers and texts without formatting: rows of one table have
/// equal keys exactly when they append equal bytes.
pub fn push_key(shape: &TableShape, row: &Row, format: &TimeFormat, out: &mut Vec<u8>) {
    let mut push_bytes = |tag: u8, bytes: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    for &c in shape.key_columns().iter() {
        match &row.values[c] {
            Value::Null => push_bytes(0, &[]),
            Value::Int(i) => push_bytes(1, &i.to_le_bytes()),
            Value::Text(t) => push_bytes(2, t.as_bytes()),
            Value::Enum(t) | Value::Numeric(t) => push_bytes(2, t.as_bytes()),
            other => push_bytes(3, convert::text(other, format).as_bytes()),
        }
    }
}

/// The rows of the tables after the first of `parts` that `rows` carry, taken off their ends:
/// per such table, the rows found (a NULL primary key is a lookup that found none). Every row,
/// `rows` too, is left with its table's columns in place, NULL where the query did not select
/// them.
fn carried_rows(rows: &mut [Row], parts: &[Part]) -> Vec<Vec<Row>> {
    let mut carried: Vec<Vec<Row>> = parts[1..].iter().map(|_| Vec::new()).collect();
    for row in rows {
        for (part, carried) in parts[1..].iter().zip(&mut carried).rev() {
            let selected = row.values.split_off(row.values.len() - part.columns.len());
            let values = part.widen(selected);
            if part.key.iter().all(|&k| values[k] != Value::Null) {
                carried.push(Row { values });
            }
        }
        row.values = parts[0].widen(std::mem::take(&mut row.values));
    }
    carried
}

impl Part {
    /// A row of the table from the values of its selected columns: NULL in the others.
    fn widen(&self, selected: Vec<Value>) -> Vec<Value> {
        if selected.len() == self.width {
            return selected;
        }
        let mut values = vec![Value::Null; self.width];
        for (&c, value) in self.columns.iter().zip(selected) {
            values[c] = value;
        }
        values
    }
}

/// One window's rows: the root table's first `roots` rows are its roots; every other row of
/// every table is there to be looked up.
pub struct WindowRows {
    pub roots: usize,
    pub rows: HashMap<String, Vec<Row>>,
}

/// A table a path query's rows carry: these columns of each row, in turn.
struct Part {
    table: String,
    /// The columns selected, in the table's order, of its `width`.
    columns: Vec<usize>,
    width: usize,
    /// Its primary key's columns, NULL where no row was found (none for the query's own
    /// table, whose row is always there).
    key: Vec<usize>,
}

/// Every path query of one item type, read in step a window at a time.
pub struct Streams<'s> {
    spec: &'s Spec,
    root: &'s TableShape,
    /// The root's own query first.
    queries: InStep,
    /// Per query, the tables its rows carry.
    parts: Vec<Vec<Part>>,
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
    parts: Vec<Vec<Part>>,
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
        let mut parts = Vec::new();
        let mut held = Vec::new();
        let held_whole = |table: &str| table != item.root && rows(table) <= window as u64;
        for query in paths::path_queries(spec, item, &key, in_key_order, rows, &held_whole) {
            if !seen.insert(query.sql.clone()) {
                continue;
            }
            let first = &query.tables[0];
            if held_whole(first) {
                if !held.contains(first) {
                    held.push(first.clone());
                }
                continue;
            }
            let shapes: Vec<&TableShape> = query
                .tables
                .iter()
                .map(|table| spec.schema.table(table).expect("checked"))
                .collect();
            let selected = shapes.iter().zip(&query.columns);
            let columns =
                selected.flat_map(|(shape, columns)| columns.iter().map(|&c| &shape.columns[c]));
            let shape = TableShape {
                name: first.clone(),
                namespace: None,
                columns: key_columns.iter().chain(columns).cloned().collect(),
                primary_key: Vec::new(),
            };
            let part = |(i, (shape, columns)): (usize, (&&TableShape, &Vec<usize>))| Part {
                table: shape.name.clone(),
                columns: columns.clone(),
                width: shape.columns.len(),
                key: if i == 0 {
                    Vec::new()
                } else {
                    shape.primary_key.clone()
                },
            };
            let tables = shapes.iter().zip(&query.columns);
            parts.push(tables.enumerate().map(part).collect());
            queries.push(StepQuery {
                sql: query.sql,
                shape,
            });
        }
        Reads {
            key_len: key.len(),
            queries,
            parts,
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
        for (query, parts) in reads.queries.iter().zip(&reads.parts) {
            let tables: Vec<&str> = parts.iter().map(|p| p.table.as_str()).collect();
            tracing::debug!(item_type = %item.name, tables = ?tables, sql = %query.sql, "path query");
        }
        Ok(Streams {
            spec,
            root: spec
                .schema
                .table(&item.root)
                .expect("the spec checked its tables"),
            queries: InStep::open(source, reads.queries, reads.key_len).await?,
            parts: reads.parts,
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
        let mut kept: HashMap<String, (Vec<Row>, HashSet<RowId>)> = HashMap::default();
        let mut roots = step.first;
        let root_count = roots.len();
        let carried = carried_rows(&mut roots, &self.parts[0]);
        let ids = roots
            .iter()
            .map(|r| identity(self.root, r, format))
            .collect();
        kept.insert(self.root.name.clone(), (roots, ids));
        let mut keep = |table: &str, rows: Vec<Row>| {
            let shape = self.spec.schema.table(table).expect("checked");
            let (kept, ids) = kept.entry(table.to_string()).or_default();
            for row in rows {
                if ids.insert(identity(shape, &row, format)) {
                    kept.push(row);
                }
            }
        };
        for (part, rows) in self.parts[0][1..].iter().zip(carried) {
            keep(&part.table, rows);
        }
        for (mut rows, parts) in step.others.into_iter().zip(&self.parts[1..]) {
            let carried = carried_rows(&mut rows, parts);
            keep(&parts[0].table, rows);
            for (part, rows) in parts[1..].iter().zip(carried) {
                keep(&part.table, rows);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ColumnType;

    fn shape(types: &[ColumnType], primary_key: Vec<usize>) -> TableShape {
        TableShape {
            name: "t".into(),
            namespace: None,
            columns: (types.iter().enumerate())
                .map(|(i, ty)| Column {
                    name: format!("c{i}"),
                    ty: ty.clone(),
                    not_null: false,
                })
                .collect(),
            primary_key,
        }
    }

    fn row(values: Vec<Value>) -> Row {
        Row { values }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn rows_have_one_identity_exactly_when_their_primary_keys_are_equal() {
        let format = &TimeFormat::Iso8601;
        let texts = shape(&[ColumnType::Text, ColumnType::Text], vec![0, 1]);
        let id = |values| identity(&texts, &row(values), format);
        assert_eq!(
            id(vec![text("a"), text("b")]),
            id(vec![text("a"), text("b")])
        );
        // Texts that contain what once joined them stay apart.
        assert_ne!(
            id(vec![text("a\u{1f}b"), text("c")]),
            id(vec![text("a"), text("b\u{1f}c")])
        );
        assert_ne!(
            id(vec![text(""), Value::Null]),
            id(vec![Value::Null, text("")])
        );
        let mixed = shape(&[ColumnType::Int, ColumnType::Text], vec![0, 1]);
        let id = |values| identity(&mixed, &row(values), format);
        assert_eq!(
            id(vec![Value::Int(7), text("x")]),
            id(vec![Value::Int(7), text("x")])
        );
        assert_ne!(
            id(vec![Value::Int(7), text("x")]),
            id(vec![Value::Int(8), text("x")])
        );
        let ids = shape(&[ColumnType::Int, ColumnType::Text], vec![0]);
        assert_eq!(
            identity(&ids, &row(vec![Value::Int(7), text("x")]), format),
            RowId::Int(7)
        );
        // Without a primary key, every column is the key.
        let none = shape(&[ColumnType::Int, ColumnType::Text], Vec::new());
        let id = |values| identity(&none, &row(values), format);
        assert_ne!(
            id(vec![Value::Int(7), text("x")]),
            id(vec![Value::Int(7), text("y")])
        );
    }
}
