//! The rows a plan is built from: every table the spec reads, held whole (read from a source
//! at once) or one window's rows, each row with what became of it.

use foldhash::{HashMap, HashSet};
use futures::StreamExt;

use super::accounting::Usage;
use crate::source::{Rows, Source, SourceError, TableShape};
use crate::spec::{ItemTypeId, Spec};

/// The rows of one source table, held for lookups, with what became of each.
pub struct TableData {
    pub shape: TableShape,
    pub rows: Rows,
    pub usage: Usage,
    /// How many of the first rows are roots of the item types this table is the root of
    /// (a window's other rows of the table are there for lookups only); all when `None`.
    pub roots: Option<usize>,
}

/// Every table a spec reads, by name.
pub struct Tables {
    pub tables: HashMap<String, TableData>,
    /// Set when these are one window's rows (see [`window`]): only that item type is planned.
    pub window: Option<Window>,
}

/// What a window of rows plans: one item type, knowing which rows earlier types chose.
pub struct Window {
    /// The item type planned.
    pub item: ItemTypeId,
    /// Per earlier item type that a `with_item` or `without_item` names, the rows of its root
    /// table (in this window) its items were built over.
    pub chosen: Vec<HashSet<usize>>,
    /// The root rows (of this window) whose items move off a key another item has
    /// (`on_key_clash`), each with the sort key it moves to; settled over every window first.
    pub moved: HashMap<usize, String>,
}

impl Tables {
    /// Whether item type `t` is planned from these rows.
    pub(super) fn plans(&self, t: ItemTypeId) -> bool {
        self.window.as_ref().is_none_or(|w| w.item == t)
    }
}

/// Reads every table `spec` names from `source`, all tables at once.
pub async fn read_tables(spec: &Spec, source: &Source) -> Result<Tables, SourceError> {
    // Every table of the schema, so the report accounts for each of them (of one no item type
    // reads, its primary key), each with only the columns the spec reads; a table whose
    // Postgres schema the spec names is read from there.
    let mut read = super::paths::columns_read(spec);
    let mut streams = Vec::new();
    for table in &spec.schema.tables {
        let columns = (read.remove(&table.name)).unwrap_or_else(|| table.key_columns().into());
        let rows = source.rows_reading(&table.qualified(), columns)?;
        streams.push((table.name.clone(), rows));
    }
    let read =
        futures::future::try_join_all(streams.into_iter().map(|(name, mut stream)| async move {
            let mut rows = Rows::default();
            while let Some(batch) = stream.next().await {
                rows.append(&mut batch?);
            }
            Ok::<_, SourceError>((name, rows))
        }))
        .await?;
    let mut tables = HashMap::default();
    for (name, rows) in read {
        let expected = spec.schema.table(&name).expect("read above");
        let shape = TableShape {
            name: name.clone(),
            ..source
                .schema()
                .table(&expected.qualified())
                .expect("rows() checked the table")
                .clone()
        };
        let usage = Usage::new(rows.len());
        tables.insert(
            name,
            TableData {
                shape,
                rows,
                usage,
                roots: None,
            },
        );
    }
    Ok(Tables {
        tables,
        window: None,
    })
}
