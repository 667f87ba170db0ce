//! A window's rows: every path query of an item type read in step (`source::InStep`), cut
//! after at least N root groups at a group boundary, each table's rows kept once (by primary
//! key).

use foldhash::{HashMap, HashSet};

use super::super::{convert, paths};
use crate::source::{
    Column, InStep, PostgresSource, Rows, Schema, SourceError, StepQuery, TableShape, Value,
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
pub fn identity(shape: &TableShape, row: &[Value], format: &TimeFormat) -> RowId {
    if let [c] = shape.primary_key[..] {
        if let Value::Int(id) = row[c] {
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
pub fn push_key(shape: &TableShape, row: &[Value], format: &TimeFormat, out: &mut Vec<u8>) {
    let mut push_bytes = |tag: u8, bytes: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    };
    for &c in shape.key_columns().iter() {
        match &row[c] {
            Value::Null => push_bytes(0, &[]),
            Value::Int(i) => push_bytes(1, &i.to_le_bytes()),
            Value::Text(t) => push_bytes(2, t.as_bytes()),
            Value::Enum(t) | Value::Numeric(t) => push_bytes(2, t.as_bytes()),
            other => push_bytes(3, convert::text(other, format).as_bytes()),
        }
    }
}

/// One window's rows as they are read, by table: each row once (by its identity), in the
/// order they came.
#[derive(Default)]
struct Kept {
    tables: Vec<(String, Rows, HashSet<RowId>)>,
}

impl Kept {
    /// Moves the rows of each table of `parts` that `rows` (a path query's, each led by `key`
    /// values of its window key) carry in, each row not kept yet: the query's own table's
    /// rows, then per later table the rows found (a NULL primary key is a lookup that found
    /// none). Each row has its table's columns in place, NULL where the query did not select
    /// them. With `roots`, the query's own rows are the window's roots: every one kept, first.
    fn take(
        &mut self,
        schema: &Schema,
        format: &TimeFormat,
        (rows, key): (&mut Rows, usize),
        parts: &[Part],
        roots: bool,
    ) {
        let at: Vec<(usize, &TableShape)> = parts
            .iter()
            .map(|part| {
                let shape = schema
                    .table(&part.table)
                    .expect("the spec checked its tables");
                let at = match self.tables.iter().position(|(t, ..)| *t == part.table) {
                    Some(at) => at,
                    None => {
                        let table = (
                            part.table.clone(),
                            Rows::new(part.width),
                            HashSet::default(),
                        );
                        self.tables.push(table);
                        self.tables.len() - 1
                    }
                };
                (at, shape)
            })
            .collect();
        let mut row = Vec::new();
        for r in 0..rows.len() {
            let mut values = &mut rows.row_mut(r)[key..];
            for (i, (part, &(at, shape))) in parts.iter().zip(&at).enumerate() {
                let (selected, rest) = values.split_at_mut(part.columns.len());
                values = rest;
                row.clear();
                row.extend(part.widen(selected));
                if i > 0 && part.key.iter().any(|&k| row[k] == Value::Null) {
                    continue;
                }
                let (_, kept, ids) = &mut self.tables[at];
                if ids.insert(identity(shape, &row, format)) || (roots && i == 0) {
                    kept.push(row.drain(..));
                }
            }
        }
    }
}

impl Part {
    /// The values of the selected columns moved into a whole row of the table: NULL in the
    /// others.
    fn widen<'v>(&'v self, selected: &'v mut [Value]) -> impl Iterator<Item = Value> + 'v {
        let mut selected = self.columns.iter().zip(selected).peekable();
        (0..self.width).map(move |c| match selected.next_if(|(&at, _)| at == c) {
            Some((_, value)) => std::mem::take(value),
            None => Value::Null,
        })
    }
}

/// One window's rows: the root table's first `roots` rows are its roots; every other row of
/// every table is there to be looked up.
pub struct WindowRows {
    pub roots: usize,
    pub rows: HashMap<String, Rows>,
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
    /// The root's own query first.
    queries: InStep,
    /// The key values leading each row the queries return.
    key_len: usize,
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
            queries: InStep::open(source, reads.queries, reads.key_len).await?,
            key_len: reads.key_len,
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
        held: &HashMap<String, Rows>,
    ) -> Result<Option<WindowRows>, SourceError> {
        let format = &self.spec.timestamps;
        let Some(step) = self.queries.next(size).await? else {
            return Ok(None);
        };
        let (schema, key, mut kept) = (&self.spec.schema, self.key_len, Kept::default());
        let root_count = step.first.iter().map(Rows::len).sum();
        for mut rows in step.first {
            kept.take(schema, format, (&mut rows, key), &self.parts[0], true);
        }
        for (batches, parts) in step.others.into_iter().zip(&self.parts[1..]) {
            for mut rows in batches {
                kept.take(schema, format, (&mut rows, key), parts, false);
            }
        }
        let mut rows: HashMap<String, Rows> = (kept.tables.into_iter())
            .map(|(table, rows, _)| (table, rows))
            .collect();
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

    fn row(values: Vec<Value>) -> Vec<Value> {
        values
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

    #[test]
    fn a_windows_rows_are_each_tables_rows_once_with_unselected_columns_null() {
        let (mut a, mut b) = (
            shape(
                &[ColumnType::Int, ColumnType::Int, ColumnType::Int],
                vec![0],
            ),
            shape(&[ColumnType::Int, ColumnType::Text], vec![0]),
        );
        (a.name, b.name) = ("a".into(), "b".into());
        let schema = Schema { tables: vec![a, b] };
        // The roots' query of `a` (columns 0 and 2 of 3 selected, each row led by its window
        // key) carrying `b` (its key, column 0, and column 1 of 2): the second root's lookup
        // of `b` found nothing.
        let part = |table: &str, columns: Vec<usize>, width, key| Part {
            table: table.into(),
            columns,
            width,
            key,
        };
        let roots = [
            part("a", vec![0, 2], 3, vec![]),
            part("b", vec![0, 1], 2, vec![0]),
        ];
        let mut rows = Rows::new(5);
        rows.push([
            text("k1"),
            Value::Int(1),
            Value::Int(10),
            Value::Int(7),
            text("seven"),
        ]);
        rows.push([
            text("k2"),
            Value::Int(2),
            Value::Null,
            Value::Null,
            Value::Null,
        ]);
        rows.push([
            text("k3"),
            Value::Int(3),
            Value::Int(30),
            Value::Int(7),
            text("seven"),
        ]);
        let mut kept = Kept::default();
        kept.take(&schema, &TimeFormat::Iso8601, (&mut rows, 1), &roots, true);
        // Another query of `b` carrying `a`: both rows were kept already but `a`'s 4.
        let others = [
            part("b", vec![0, 1], 2, vec![]),
            part("a", vec![0, 2], 3, vec![0]),
        ];
        let mut rows = Rows::new(4);
        rows.push([Value::Int(7), text("seven"), Value::Int(1), Value::Int(10)]);
        rows.push([Value::Int(7), text("seven"), Value::Int(4), Value::Int(40)]);
        kept.take(
            &schema,
            &TimeFormat::Iso8601,
            (&mut rows, 0),
            &others,
            false,
        );
        let kept: Vec<(&str, Vec<&[Value]>)> = (kept.tables.iter())
            .map(|(table, rows, _)| (table.as_str(), rows.iter().collect()))
            .collect();
        let (a, b) = (&kept[0], &kept[1]);
        assert_eq!(a.0, "a");
        assert_eq!(
            a.1,
            [
                &[Value::Int(1), Value::Null, Value::Int(10)][..],
                &[Value::Int(2), Value::Null, Value::Null],
                &[Value::Int(3), Value::Null, Value::Int(30)],
                &[Value::Int(4), Value::Null, Value::Int(40)],
            ]
        );
        assert_eq!(b.0, "b");
        assert_eq!(b.1, [&[Value::Int(7), text("seven")][..]]);
    }
}
