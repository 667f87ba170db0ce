//! A window's rows: every path query of an item type read in step, cut after at least N root
//! groups at a group boundary, each table's rows kept once (by primary key).

use std::cmp::Ordering;
use std::collections::VecDeque;

use foldhash::{HashMap, HashSet};
use futures::StreamExt;

use super::super::{convert, paths};
use crate::source::{Column, PostgresSource, Row, RowBatches, SourceError, TableShape, Value};
use crate::spec::{ItemSpec, Spec, TimeFormat};

/// One path query's rows, each led by its root's window key.
struct Stream {
    table: String,
    batches: RowBatches,
    buffer: VecDeque<Row>,
    done: bool,
}

impl Stream {
    async fn peek(&mut self) -> Result<Option<&Row>, SourceError> {
        while self.buffer.is_empty() && !self.done {
            match self.batches.next().await {
                Some(batch) => self.buffer.extend(batch?),
                None => self.done = true,
            }
        }
        Ok(self.buffer.front())
    }

    /// The next row, without its window key.
    fn take(&mut self, key_len: usize) -> Row {
        let mut row = self.buffer.pop_front().expect("a row was peeked");
        row.values.drain(..key_len);
        row
    }
}

/// Postgres's order of window keys (see [`paths::window_key_type`]): whole numbers by value,
/// text byte by byte (`COLLATE "C"`), NULL last.
fn pg_cmp(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            (Value::Int(x), Value::Int(y)) => x.cmp(y),
            (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => unreachable!("window keys are whole numbers or text"),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// The root columns an item type's windows are cut on: its grouping columns when they are all
/// the root's own (a group never spans two windows), else the root's primary key.
fn window_key(spec: &Spec, item: &ItemSpec) -> Vec<usize> {
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
    key_len: usize,
    /// The root's own query first.
    streams: Vec<Stream>,
    /// Tables read whole instead of by path (see [`Streams::open`]).
    held: Vec<String>,
}

impl<'s> Streams<'s> {
    /// Starts every path query of `item` (`rows` gives a table's row count), each on a
    /// connection of its own reading `source`'s snapshot; but a table other than the root for
    /// which `whole` holds is not read by path: every window gets all its rows (read once by
    /// the caller, see [`Streams::held`]).
    pub async fn open(
        spec: &'s Spec,
        source: &PostgresSource,
        item: &ItemSpec,
        rows: &dyn Fn(&str) -> u64,
        whole: impl Fn(&str) -> bool,
    ) -> Result<Self, SourceError> {
        let root = spec
            .schema
            .table(&item.root)
            .expect("the spec checked its tables");
        let key = window_key(spec, item);
        let key_columns: Vec<Column> = key
            .iter()
            .map(|&c| Column {
                name: root.columns[c].name.clone(),
                ty: paths::window_key_type(&root.columns[c].ty),
                not_null: false,
            })
            .collect();
        let mut seen = HashSet::default();
        let mut streams = Vec::new();
        let mut held = Vec::new();
        for query in paths::path_queries(spec, item, &key, rows) {
            if !seen.insert(query.sql.clone()) {
                continue;
            }
            if query.table != item.root && whole(&query.table) {
                if !held.contains(&query.table) {
                    held.push(query.table);
                }
                continue;
            }
            tracing::debug!(item_type = %item.name, table = %query.table, sql = %query.sql, "path query");
            let table = spec.schema.table(&query.table).expect("checked");
            let shape = TableShape {
                name: query.table.clone(),
                namespace: None,
                columns: key_columns.iter().chain(&table.columns).cloned().collect(),
                primary_key: Vec::new(),
            };
            streams.push(Stream {
                table: query.table,
                batches: source.query_rows(query.sql, shape).await?,
                buffer: VecDeque::new(),
                done: false,
            });
        }
        Ok(Streams {
            spec,
            root,
            key_len: key.len(),
            streams,
            held,
        })
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
        let (n, format) = (self.key_len, &self.spec.timestamps);
        let mut roots = Vec::new();
        let mut last: Option<Vec<Value>> = None;
        let root_stream = &mut self.streams[0];
        while let Some(row) = root_stream.peek().await? {
            let at = &row.values[..n];
            let boundary = last
                .as_deref()
                .is_some_and(|l| pg_cmp(l, at) != Ordering::Equal);
            if roots.len() >= size && boundary {
                break;
            }
            last = Some(at.to_vec());
            roots.push(root_stream.take(n));
        }
        let Some(high) = last else {
            return Ok(None);
        };
        // Every other stream's rows up to the window's last key, each decoded on a task of its own.
        let high = &high;
        let taken =
            futures::future::try_join_all(self.streams[1..].iter_mut().map(|stream| async move {
                let mut taken = Vec::new();
                while let Some(row) = stream.peek().await? {
                    if pg_cmp(&row.values[..n], high) == Ordering::Greater {
                        break;
                    }
                    taken.push(stream.take(n));
                }
                Ok::<_, SourceError>((stream.table.as_str(), taken))
            }))
            .await?;
        let root_count = roots.len();
        let mut kept: HashMap<String, (Vec<Row>, HashSet<RowId>)> = HashMap::default();
        let ids = roots
            .iter()
            .map(|r| identity(self.root, r, format))
            .collect();
        kept.insert(self.root.name.clone(), (roots, ids));
        for (table, rows) in taken {
            let shape = self.spec.schema.table(table).expect("checked");
            let (kept, ids) = kept.entry(table.to_string()).or_default();
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
