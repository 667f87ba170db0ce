//! Planning in bounded memory (`plan --window N`): each item type is planned N root groups at a
//! time from its path queries (`paths.rs`), read in step from Postgres on the source's
//! snapshot, so no table of more than N rows is held whole (one of at most N rows is read once,
//! whole, and given to every window). Each window goes through the same builder and checks
//! as the in-memory plan; its lines spill to disk as a sorted run and each type's runs merge
//! back in key order, so the output is the in-memory plan's, byte for byte (a type whose
//! windows come in key order, `order.rs`, hands its lines straight on). A row met in several
//! windows is accounted for once, by its primary key; keys two items share are found by merging
//! every type's keys on disk.

mod lines;
mod moves;
mod order;
mod read;
mod spilled;

pub use spilled::Spilled;

use std::hash::BuildHasher;
use std::path::PathBuf;

use foldhash::fast::FixedState;
use foldhash::{HashMap, HashSet};

use super::accounting::{Identity, Merged};
use super::spill::{text, Merge};
use super::{
    Hashes, Origin, PlanErrors, PlanLine, Summary, TableData, Tables, TransformError, Usage, Window,
};
use crate::source::{quote_ident, ColumnType, PostgresSource, Rows, SourceError, Value};
use crate::spec::{ItemSpec, ItemTypeId, KeyClashPolicy, Spec};
use lines::Lines;
use moves::{Keys, Moves};
use read::{identity, push_key, Reads, RowId, Streams, WindowRows};

/// Why a windowed plan stopped.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Items that cannot be built or share a key, every one of them.
    #[error(transparent)]
    Plan(#[from] PlanErrors),
    /// The temporary folder the plan spills to cannot be written or read.
    #[error("{0}")]
    Disk(String),
    /// Lines of a type planned straight to the file came out of key order (a bug).
    #[error("{0}")]
    Order(String),
}

/// What the windows of earlier item types leave to later ones.
struct State {
    merged: Merged,
    chosen: Chosen,
    /// Where items move off keys others have (`on_key_clash`), settled before the plan.
    moves: Moves,
    errors: Vec<TransformError>,
    events: Vec<(String, u64)>,
    rules: Vec<String>,
    /// Write units per key of the table and its indexes, over every window.
    tally: super::capacity::Tally,
}

/// Plans every item type of `spec` from `source`, `window` root groups at a time, handing the
/// lines to `take` in the plan's order (types in spec order, each in key order).
///
/// # Errors
/// A source that cannot be read, a temporary folder that cannot be written, or items that
/// cannot be built or share a key ([`WindowError::Plan`], every one of them).
pub async fn plan_windows(
    spec: &Spec,
    source: &PostgresSource,
    window: usize,
    mut take: impl FnMut(Vec<PlanLine>),
) -> Result<Summary, WindowError> {
    let dir = tempfile::tempdir().map_err(|e| {
        WindowError::Disk(format!(
            "cannot create a temporary folder for the plan's runs: {e}"
        ))
    })?;
    crate::exit::remove_on_stop(dir.path().to_path_buf());
    let spilled = |e: std::io::Error| {
        let dir = dir.path().display();
        WindowError::Disk(format!("cannot write or read the plan's sorted runs in {dir}: {e} (set TMPDIR to a folder with room for about the uncompressed plan)"))
    };
    let sizes = table_sizes(spec, source).await?;
    let rows_of = |table: &str| {
        let mut tables = spec.schema.tables.iter().zip(&sizes);
        tables
            .find(|(shape, _)| shape.name == table)
            .map_or(0, |(_, size)| size.rows)
    };
    // Tables of at most `window` rows are read once, whole, and given to every window that
    // needs them, rather than by a path query per item type: fewer queries, no repeated rows.
    let mut reader = Reader::new(spec, source, window, &rows_of);
    let moves = match spec.table.on_key_clash {
        KeyClashPolicy::Error => Moves::none(spec.items.len()),
        KeyClashPolicy::NextSortKey => settle_moves(&mut reader, dir.path(), spilled).await?,
    };
    let mut state = State {
        merged: Merged::new(dir.path()),
        chosen: Chosen::new(spec),
        moves,
        errors: Vec::new(),
        events: Vec::new(),
        rules: Vec::new(),
        tally: super::capacity::Tally::spilling(spec, dir.path()),
    };
    for (shape, size) in spec.schema.tables.iter().zip(&sizes) {
        if let Some(max) = size.max_id {
            // Ids from 0 to not much more than the row count are kept by id, two bytes each.
            if max < size.rows.saturating_mul(4).saturating_add(1024) {
                state.merged.dense_below(&shape.name, max + 1);
            }
        }
    }
    let mut types = Vec::new();
    let mut key_files = Vec::new();
    let mut ahead = None;
    let mut json_bytes = 0;
    let mut take = |chunk: Vec<PlanLine>| {
        json_bytes += chunk.iter().map(|l| l.json.len() as u64 + 1).sum::<u64>();
        take(chunk);
    };
    for (t, item) in spec.items.iter().enumerate() {
        let t = ItemTypeId(t);
        let started = std::time::Instant::now();
        let label = format!("planning {} in windows", item.name);
        let streams = reader.streams(t, &mut ahead).await?;
        let keys = dir.path().join(format!("keys-{}", t.0));
        let mut lines =
            Lines::new(dir.path(), t, &keys, streams.in_key_order()).map_err(spilled)?;
        reader
            .each(t, streams, &label, |rows| {
                plan_window(spec, t, rows, &mut state, &mut lines, &mut take, spilled)
            })
            .await?;
        let summary = tokio::task::block_in_place(|| lines.finish(spec, t, &keys, &mut take));
        types.push(summary.map_err(spilled)?);
        tracing::info!(
            item_type = %item.name,
            seconds = started.elapsed().as_secs_f64(),
            "planned in windows"
        );
        key_files.push(keys);
    }
    // Shared keys, each table's account and the capacity tally are each merged from disk, one
    // beside the other.
    let settled = state.moves.errors.is_empty();
    let (merged, rules, tally) = (&mut state.merged, &state.rules, state.tally);
    let account = |(shape, size): (&crate::source::TableShape, &TableSize)| {
        merged.account(&shape.name, size.rows, rules)
    };
    let ((shared, accounts), capacity) = tokio::task::block_in_place(|| {
        rayon::join(
            || {
                rayon::join(
                    || settled.then(|| clashes(spec, &key_files)),
                    || {
                        let tables = spec.schema.tables.iter().zip(&sizes);
                        tables.map(account).collect::<std::io::Result<Vec<_>>>()
                    },
                )
            },
            || tally.report(spec),
        )
    });
    match shared {
        Some(shared) => state.errors.extend(shared.map_err(&spilled)?),
        // Clashes that could not be settled, in place of every clash (as in memory).
        None => state.errors.append(&mut state.moves.errors),
    }
    if !state.errors.is_empty() {
        return Err(PlanErrors(state.errors).into());
    }
    Ok(Summary {
        types,
        accounts: accounts.map_err(&spilled)?,
        capacity: Some(capacity.map_err(&spilled)?),
        events: [
            state.events,
            super::moved_events(spec, &state.moves.counts()),
        ]
        .concat(),
        json_bytes,
    })
}

/// Plans item type `t` over one window's rows, hands its lines on (each with where its item
/// came from) and takes in what became of the window's rows.
fn plan_window(
    spec: &Spec,
    t: ItemTypeId,
    rows: WindowRows,
    state: &mut State,
    out: &mut Lines,
    take: &mut impl FnMut(Vec<PlanLine>),
    spilled: impl Fn(std::io::Error) -> WindowError,
) -> Result<(), WindowError> {
    let tables = window_tables(spec, t, rows, &state.chosen, &state.moves);
    let mut lines = Vec::new();
    let (plan, mut failed, _) = tokio::task::block_in_place(|| {
        super::plan_lines(spec, &tables, Hashes::Skipped, &mut state.tally, |chunk| {
            lines.extend(chunk)
        })
    });
    // Keys two items share are found across every window at the end.
    failed.sort_by_key(|(_, group, _)| *group);
    let bad: HashSet<u32> = failed.iter().map(|(_, group, _)| *group).collect();
    state
        .errors
        .extend(failed.into_iter().map(|(_, _, error)| error));
    let origins: Vec<Origin> = plan.types[t]
        .iter()
        .filter(|entry| !bad.contains(&entry.group))
        .map(|entry| plan.origin(t, entry))
        .collect();
    out.window(spec, t, lines, &origins, take, &spilled)?;
    let events = plan.builder.events();
    if state.events.is_empty() {
        state.events = events;
    } else {
        for ((_, total), (_, n)) in state.events.iter_mut().zip(events) {
            *total += n;
        }
    }
    if state.rules.is_empty() {
        state.rules = plan.builder.rules().to_vec();
    }
    state.chosen.record(spec, t, &plan);
    for (name, data) in &tables.tables {
        account_window(&mut state.merged, spec, name, data).map_err(&spilled)?;
    }
    // Millions of values are freed on a core of rayon's while this thread reads the next
    // window.
    drop(plan);
    rayon::spawn(move || drop(tables));
    Ok(())
}

/// A window's rows as the tables one item type is planned from: its roots first in the root
/// table, of each earlier type it names the rows of the window that type chose, and the roots
/// whose items move.
fn window_tables(
    spec: &Spec,
    t: ItemTypeId,
    mut rows: WindowRows,
    chosen: &Chosen,
    moves: &Moves,
) -> Tables {
    let root = &spec.items[t].root;
    let roots = rows.roots;
    let mut tables = HashMap::default();
    for shape in &spec.schema.tables {
        let kept = rows.rows.remove(&shape.name).unwrap_or_default();
        let data = TableData {
            shape: shape.clone(),
            usage: Usage::new(kept.len()),
            roots: (shape.name == *root).then_some(roots),
            rows: kept,
        };
        tables.insert(shape.name.clone(), data);
    }
    let window = Window {
        item: t,
        chosen: chosen.in_window(spec, t, &tables),
        moved: moves.in_window(t, &tables[root], roots),
    };
    Tables {
        tables,
        window: Some(window),
    }
}

/// What item types that a later one names (`with_item`, `without_item`) chose: the roots
/// their items were built over, by identity, over every window so far.
struct Chosen {
    referenced: HashSet<ItemTypeId>,
    roots: Vec<HashSet<RowId>>,
}

impl Chosen {
    fn new(spec: &Spec) -> Self {
        Chosen {
            referenced: spec.items.iter().flat_map(ItemSpec::names_types).collect(),
            roots: vec![HashSet::default(); spec.items.len()],
        }
    }

    /// Takes in the roots of item type `t`'s items in one window's `plan`.
    fn record(&mut self, spec: &Spec, t: ItemTypeId, plan: &super::Plan) {
        if self.referenced.contains(&t) {
            for group in &plan.groups[t] {
                let (data, row) = group[0][0];
                let id = identity(&data.shape, &data.rows[row], &spec.timestamps);
                self.roots[t.0].insert(id);
            }
        }
    }

    /// Per item type before `t` that a later one names, the rows of its root table in
    /// `tables` (one window's) that it chose.
    fn in_window(
        &self,
        spec: &Spec,
        t: ItemTypeId,
        tables: &HashMap<String, TableData>,
    ) -> Vec<HashSet<usize>> {
        let chosen = |(other, other_item): (usize, &crate::spec::ItemSpec)| {
            let other = ItemTypeId(other);
            if other >= t || !self.referenced.contains(&other) {
                return HashSet::default();
            }
            let data: &TableData = &tables[&other_item.root];
            (0..data.rows.len())
                .filter(|&r| {
                    let id = identity(&data.shape, &data.rows[r], &spec.timestamps);
                    self.roots[other.0].contains(&id)
                })
                .collect()
        };
        spec.items.iter().enumerate().map(chosen).collect()
    }
}

/// Reads an item type's windows: its path queries in step, with the small tables held whole.
struct Reader<'s> {
    spec: &'s Spec,
    source: &'s PostgresSource,
    window: usize,
    rows_of: &'s dyn Fn(&str) -> u64,
    /// Tables of at most `window` rows, read once, whole, for every window that needs them.
    held: HashMap<String, Rows>,
    /// The columns the spec reads of each table it reaches (all a held table is read with).
    read: std::collections::BTreeMap<String, Vec<usize>>,
    /// The connections each item type's queries take.
    connections: Vec<usize>,
}

impl<'s> Reader<'s> {
    fn new(
        spec: &'s Spec,
        source: &'s PostgresSource,
        window: usize,
        rows_of: &'s dyn Fn(&str) -> u64,
    ) -> Self {
        let connections = spec
            .items
            .iter()
            .map(|item| Reads::of(spec, item, rows_of, window).connections())
            .collect();
        Reader {
            spec,
            source,
            window,
            rows_of,
            held: HashMap::default(),
            read: super::paths::columns_read(spec),
            connections,
        }
    }

    /// Starts item type `t`'s path queries and reads the tables its windows hold whole.
    async fn open(&mut self, t: ItemTypeId) -> Result<Streams<'s>, WindowError> {
        let (spec, source) = (self.spec, self.source);
        let item = &spec.items[t];
        let reads = Reads::of(spec, item, self.rows_of, self.window);
        let streams = Streams::open(spec, source, item, reads).await?;
        for table in streams.held() {
            if !self.held.contains_key(table) {
                let columns = self.read.get(table).cloned();
                let rows = read_whole(spec, source, table, columns).await?;
                self.held.insert(table.clone(), rows);
            }
        }
        Ok(streams)
    }

    /// Hands item type `t`'s windows, read from `streams`, to `each` in turn, showing `label`
    /// with a bar of roots.
    async fn each(
        &self,
        t: ItemTypeId,
        mut streams: Streams<'s>,
        label: &str,
        mut each: impl FnMut(WindowRows) -> Result<(), WindowError>,
    ) -> Result<(), WindowError> {
        let item = &self.spec.items[t];
        let progress = crate::progress::Progress::new(label, (self.rows_of)(&item.root), "roots");
        while let Some(rows) = streams.next(self.window, &self.held).await? {
            let roots = rows.roots as u64;
            each(rows)?;
            progress.advance(roots);
        }
        progress.finish();
        Ok(())
    }

    /// Item type `t`'s streams, opened ahead (else now), with the next type's queries
    /// started in `ahead` when both types' connections together are no more than the type
    /// with the most queries takes: Postgres sorts them while this type is planned, and the
    /// plan never holds more connections than one type needs. Types go in order.
    async fn streams(
        &mut self,
        t: ItemTypeId,
        ahead: &mut Option<Streams<'s>>,
    ) -> Result<Streams<'s>, WindowError> {
        let streams = match ahead.take() {
            Some(streams) => streams,
            None => self.open(t).await?,
        };
        let most = self.connections.iter().copied().max().unwrap_or(0);
        let next = self.connections.get(t.0 + 1);
        if next.is_some_and(|next| self.connections[t.0] + next <= most) {
            *ahead = Some(self.open(ItemTypeId(t.0 + 1)).await?);
        }
        Ok(streams)
    }
}

/// The first pass of a spec whose clashing keys move (`on_key_clash`): every item type's
/// windows keyed, no item built, and the clashes settled over all of them (`moves.rs`).
async fn settle_moves(
    reader: &mut Reader<'_>,
    dir: &std::path::Path,
    spilled: impl Fn(std::io::Error) -> WindowError,
) -> Result<Moves, WindowError> {
    let spec = reader.spec;
    let mut keys = Keys::new(dir);
    let mut chosen = Chosen::new(spec);
    let none = Moves::none(spec.items.len());
    let mut ahead = None;
    for (t, item) in spec.items.iter().enumerate() {
        let t = ItemTypeId(t);
        let label = format!("keying {} in windows", item.name);
        let streams = reader.streams(t, &mut ahead).await?;
        reader
            .each(t, streams, &label, |rows| {
                let tables = window_tables(spec, t, rows, &chosen, &none);
                let (plan, _) = super::keys_only(spec, &tables);
                chosen.record(spec, t, &plan);
                keys.write(t, &plan).map_err(&spilled)
            })
            .await?;
    }
    tokio::task::block_in_place(|| keys.settle(spec)).map_err(spilled)
}

/// Takes in what became of one window's rows of table `name`, each row by its primary key.
fn account_window(
    merged: &mut Merged,
    spec: &Spec,
    name: &str,
    data: &TableData,
) -> std::io::Result<()> {
    let id_column = match data.shape.primary_key[..] {
        [c] if data.shape.columns[c].ty == ColumnType::Int => Some(c),
        _ => None,
    };
    let mut key = Vec::new();
    merged.add(name, &data.usage, |row| {
        let values = &data.rows[row];
        match id_column.map(|c| &values[c]) {
            Some(Value::Int(id)) if *id >= 0 => Identity::Id(*id as u64),
            _ => {
                key.clear();
                push_key(&data.shape, &data.rows[row], &spec.timestamps, &mut key);
                Identity::Hash(FixedState::default().hash_one(&key[..]))
            }
        }
    })
}

/// Every key two items share, across item types and windows, each error naming both items:
/// the files hold each type's keys in key order, so equal keys meet as they are merged.
fn clashes(spec: &Spec, key_files: &[PathBuf]) -> std::io::Result<Vec<TransformError>> {
    let sorted = Merge::open(key_files, 4)?.map(|record| {
        let (t, fields) = record?;
        let [pk, sk, table, row]: [Vec<u8>; 4] = fields
            .try_into()
            .map_err(|_| std::io::Error::other("a short key record"))?;
        Ok(((text(pk)?, text(sk)?), (t, table, row)))
    });
    super::rules::shared_keys(spec, sorted, |(t, table, row)| Origin {
        item_type: spec.items[*t].name.clone(),
        table: String::from_utf8_lossy(table).into_owned(),
        row: String::from_utf8_lossy(row).into_owned(),
    })
}

/// Every row of `table` (of `spec`'s schema), read on the source's snapshot: the columns
/// `read` names, in the table's order (every column when `None`), the others NULL.
async fn read_whole(
    spec: &Spec,
    source: &PostgresSource,
    table: &str,
    read: Option<Vec<usize>>,
) -> Result<Rows, SourceError> {
    let shape = spec
        .schema
        .table(table)
        .expect("the spec checked its tables");
    let mut batches = source.rows(shape.clone(), read);
    let mut rows = Rows::new(shape.columns.len());
    while let Some(batch) = futures::StreamExt::next(&mut batches).await {
        rows.append(&mut batch?);
    }
    Ok(rows)
}

/// A table's size: its rows, and its largest id when its primary key is one whole-number column.
struct TableSize {
    rows: u64,
    max_id: Option<u64>,
}

/// Every table's size, read on the source's snapshot: a query a table, on the source's own
/// connections side by side (a connection made for each would cost more than the counts).
async fn table_sizes(spec: &Spec, source: &PostgresSource) -> Result<Vec<TableSize>, SourceError> {
    let sizes = spec
        .schema
        .tables
        .iter()
        .map(|shape| table_size(source, shape));
    futures::future::try_join_all(sizes).await
}

/// The size of `shape`'s table.
async fn table_size(
    source: &PostgresSource,
    shape: &crate::source::TableShape,
) -> Result<TableSize, SourceError> {
    let id = match shape.primary_key[..] {
        [c] if shape.columns[c].ty == ColumnType::Int => Some(&shape.columns[c].name),
        _ => None,
    };
    let max = id.map_or("NULL".to_string(), |name| {
        format!("max({})", quote_ident(name))
    });
    let sql = format!("SELECT count(*), {max} FROM {}", shape.sql_name());
    let numbers = source.pooled_numbers(&shape.name, sql, 2).await?;
    Ok(TableSize {
        rows: numbers[0].and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        max_id: numbers[1].and_then(|n| u64::try_from(n).ok()),
    })
}
