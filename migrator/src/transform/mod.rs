//! Transformation: source rows into the spec's single-table items, checked and accounted for.
//!
//! [`read_tables`] gathers the rows the spec reads; [`plan`] builds and checks every item type
//! in parallel (rayon), one item per root group, following `build.rs`, and keeps only each
//! item's key, hash and size; `rules.rs` checks each item against DynamoDB's limits and the plan
//! for duplicate keys; `accounting.rs` records, for every source row, whether it landed in an
//! item or which rule dropped it. Lines are then built again a chunk at a time for whoever
//! consumes them (a file, a table), so the whole plan is never held in memory. Items come out
//! sorted by type (spec order) and key, so the same source gives the same bytes in any row order.
//! [`window`] plans the same items from Postgres without holding any table whole: a window of
//! root rows at a time, read by the queries `paths.rs` writes.

mod accounting;
mod build;
pub mod capacity;
mod convert;
mod entry;
mod errors;
mod paths;
pub mod rules;
mod spill;
mod spill_map;
mod tables;
mod tiebreak;
pub mod window;

use foldhash::{HashSet, HashSetExt};

use rayon::prelude::*;

use accounting::TypeTally;
pub use accounting::{TableAccount, TypeSummary, Usage};
pub use entry::Entry;
pub use errors::{KeyClash, Origin, PlanErrors, ReadBack, TransformError};
pub use tables::{read_tables, TableData, Tables, Window};

use crate::item::PlanLine;
use crate::spec::{ItemSpec, ItemTypeId, KeyClashPolicy, Spec};

/// Every item of a spec, checked, without holding their bodies: each item type's entries in
/// key order, and the account of every source row. Lines are built again on demand
/// ([`Plan::lines`], [`Plan::line`], [`Plan::rounds`]), the same bytes every time.
pub struct Plan<'a> {
    builder: build::Builder<'a>,
    /// Per item type (spec order), the root groups its items are built from.
    groups: Vec<Vec<build::Group<'a>>>,
    /// Per item type (spec order), its items in key order.
    pub types: Vec<Vec<Entry>>,
    pub accounts: Vec<TableAccount>,
    /// Events counted while building, such as `WORD.conjugations missing: 3`.
    pub events: Vec<(String, u64)>,
    /// Per item type, how many of its items moved off a key another item has (`on_key_clash`).
    moved: Vec<u64>,
    /// The plan's size as a file of DynamoDB-JSON lines (ImportTable bills its source so).
    pub json_bytes: u64,
    /// What the items ask of the table's write capacity (once the plan is whole).
    pub capacity: Option<capacity::CapacityReport>,
}

/// Items built per chunk when a plan's lines are made again: enough to keep both cores busy,
/// few enough to keep memory small.
pub const CHUNK_ITEMS: usize = 16_384;

/// Builds and checks every item the spec describes, keeping each item's key, hash and size.
///
/// # Errors
/// Every item that cannot be built or breaks a rule, each naming its type, key, source table
/// and row, in the plan's order; then every key two items share.
pub fn plan<'a>(spec: &'a Spec, tables: &'a Tables) -> Result<Plan<'a>, PlanErrors> {
    plan_into(spec, tables, Hashes::Kept, |_| {})
}

/// Whether a plan keeps each item's line hash, which verification compares with the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashes {
    Kept,
    /// Left at 0: the plan is only written out.
    Skipped,
}

/// Like [`plan`], and hands every item's line to `take` too, in the plan's order (types in
/// spec order, each in key order), a chunk of up to [`CHUNK_ITEMS`] at a time, as they are
/// built: the plan is built once and never held whole. Lines of bad items are left out; when
/// this returns errors, the lines taken are not a whole plan.
///
/// # Errors
/// As [`plan`].
pub fn plan_into<'a>(
    spec: &'a Spec,
    tables: &'a Tables,
    hashes: Hashes,
    take: impl FnMut(Vec<PlanLine>) + Send,
) -> Result<Plan<'a>, PlanErrors> {
    let mut tally = capacity::Tally::new(spec);
    let (mut plan, mut errors, clashes) = plan_lines(spec, tables, hashes, &mut tally, take);
    if !errors.is_empty() || !clashes.is_empty() {
        errors.sort_by_key(|(t, group, _)| (*t, *group));
        let mut all: Vec<TransformError> = errors.into_iter().map(|(_, _, e)| e).collect();
        all.extend(clashes);
        return Err(PlanErrors(all));
    }
    plan.accounts = spec
        .schema
        .tables
        .iter()
        .filter_map(|shape| tables.tables.get(&shape.name))
        .map(|data| accounting::table_account(&data.shape.name, &data.usage, plan.builder.rules()))
        .collect();
    plan.events = plan.builder.events();
    plan.events.extend(moved_events(spec, &plan.moved));
    // Held in memory, the tally has no disk to fail on.
    plan.capacity = tally.report(spec).ok();
    Ok(plan)
}

/// [`plan_into`]'s work: the plan (without its account), the items that failed, and every key
/// two items share.
fn plan_lines<'a>(
    spec: &'a Spec,
    tables: &'a Tables,
    hashes: Hashes,
    tally: &mut capacity::Tally,
    mut take: impl FnMut(Vec<PlanLine>) + Send,
) -> (Plan<'a>, Vec<Failed>, Vec<TransformError>) {
    let (mut plan, mut errors, clashes) = keyed(spec, tables);
    for t in (0..plan.types.len()).map(ItemTypeId) {
        if !tables.plans(t) {
            continue;
        }
        let started = std::time::Instant::now();
        let progress = match tables.window {
            // A window's work is shown by the windows' own bar.
            Some(_) => crate::progress::Progress::hidden(),
            None => crate::progress::Progress::new(
                &format!("planning {}", spec.items[t].name),
                plan.types[t].len() as u64,
                "items",
            ),
        };
        let (builder, groups) = (&plan.builder, &plan.groups[t]);
        let build = |entries: &[Entry]| -> Vec<Built> {
            entries
                .par_iter()
                .map(|entry| {
                    let group = &groups[entry.group as usize];
                    let (mut line, writes) = build_counted(spec, builder, t, group, entry)?;
                    if hashes == Hashes::Kept {
                        line.hash = crate::item::line_hash(&line.json);
                    }
                    Ok((line, writes))
                })
                .collect()
        };
        let mut json_bytes = 0;
        let mut finish = |entries: &mut [Entry], built: Vec<Built>| {
            progress.advance(built.len() as u64);
            let mut lines = Vec::with_capacity(built.len());
            for (entry, built) in entries.iter_mut().zip(built) {
                match built {
                    Ok((line, writes)) => {
                        json_bytes += line.json.len() as u64 + 1;
                        entry.hash = line.hash;
                        entry.bytes = line.bytes as u32;
                        tally.add(t, &writes);
                        lines.push(line);
                    }
                    Err(error) => errors.push((t, entry.group, error)),
                }
            }
            take(lines);
        };
        // Each chunk is counted and handed on while the next one is built, so the cores do
        // not wait for the one thread that hands lines on in order.
        let mut done: Option<(&mut [Entry], Vec<Built>)> = None;
        for entries in plan.types[t].chunks_mut(CHUNK_ITEMS) {
            let ((), built) = rayon::join(
                || {
                    if let Some((entries, built)) = done.take() {
                        finish(entries, built);
                    }
                },
                || build(entries),
            );
            done = Some((entries, built));
        }
        if let Some((entries, built)) = done {
            finish(entries, built);
        }
        plan.json_bytes += json_bytes;
        progress.finish();
        if tables.window.is_none() {
            tracing::info!(
                item_type = %spec.items[t].name,
                items = plan.types[t].len(),
                seconds = started.elapsed().as_secs_f64(),
                "built"
            );
        }
    }
    (plan, errors, clashes)
}

/// The report's events for items moved off a shared key: `MESSAGE key moved (on_key_clash)`.
fn moved_events(spec: &Spec, moved: &[u64]) -> Vec<(String, u64)> {
    moved
        .iter()
        .zip(&spec.items)
        .filter(|(n, _)| **n > 0)
        .map(|(n, item)| (format!("{} key moved (on_key_clash)", item.name), *n))
        .collect()
}

/// An item that failed, by item type and root group, for ordering errors as the source is.
type Failed = (ItemTypeId, u32, TransformError);

/// One item built: its line and the writes it takes, or why it could not be made.
type Built = Result<(PlanLine, capacity::ItemWrites), TransformError>;

/// The first step of a plan: [`keys_only`], then the items moved off keys others have
/// (`on_key_clash`), only this shard's kept, and every key two items share.
fn keyed<'a>(spec: &'a Spec, tables: &'a Tables) -> (Plan<'a>, Vec<Failed>, Vec<TransformError>) {
    let (mut plan, errors) = keys_only(spec, tables);
    if spec.table.on_key_clash == KeyClashPolicy::NextSortKey {
        let (builder, groups) = (&plan.builder, &plan.groups);
        let moved = match &tables.window {
            // Settled over every window before the first was planned (`window::moves`).
            Some(window) => Ok(tiebreak::move_in_window(
                &mut plan.types,
                |t, entry| groups[t][entry.group as usize][0][0].1,
                window,
            )),
            None => tiebreak::next_sort_keys(
                spec,
                &mut plan.types,
                |(ta, a), (tb, b)| {
                    ta.cmp(&tb).then_with(|| {
                        builder.root_order(
                            &groups[ta][a.group as usize],
                            &groups[tb][b.group as usize],
                        )
                    })
                },
                |t, entry| origin(builder, groups, ItemTypeId(t), entry),
            ),
        };
        match moved {
            Ok(moved) => plan.moved = moved,
            Err(failed) => return (plan, errors, failed),
        }
    }
    if let Some(shard) = spec.shard {
        // Every item was keyed (and moved off a shared key) as in the whole plan, so the
        // shards' parts add up to it; only this shard's are built.
        for entries in &mut plan.types {
            entries.retain(|entry| shard.holds(&entry.key));
        }
    }
    let clashes = rules::check_unique(spec, &plan.types, |t, entry| {
        plan.origin(ItemTypeId(t), entry)
    });
    (plan, errors, clashes)
}

/// Every item type's root groups, and each item's key alone (its hash and size still unknown),
/// in key order, as its sources give it (no item moved, every shard's); and the items whose
/// keys could not be made.
fn keys_only<'a>(spec: &'a Spec, tables: &'a Tables) -> (Plan<'a>, Vec<Failed>) {
    let builder = build::Builder::new(spec, tables);
    let count = spec.items.len();
    let referenced: HashSet<ItemTypeId> =
        spec.items.iter().flat_map(ItemSpec::names_types).collect();
    let mut keyed: Vec<Option<Keyed<'a>>> = (0..count).map(|_| None).collect();
    let mut chosen_here: Vec<HashSet<usize>> = vec![HashSet::new(); count];
    // Item types whose roots depend on others' (`with_item`, `without_item`: always earlier
    // ones) wait for them, unless a window brings the rows they chose; the others are keyed
    // side by side, so one type's work on one core fills what another's leaves idle. Each
    // round keys every type whose dependencies are keyed: the first type not keyed yet depends
    // on none or on earlier ones, so every round keys at least one.
    let ready = |keyed: &[Option<Keyed<'a>>], t: ItemTypeId| {
        tables.window.is_some() || spec.items[t].names_types().all(|d| keyed[d.0].is_some())
    };
    while keyed.iter().any(Option::is_none) {
        let round: Vec<ItemTypeId> = (0..count)
            .map(ItemTypeId)
            .filter(|&t| keyed[t.0].is_none() && ready(&keyed, t))
            .collect();
        let chosen = match &tables.window {
            Some(window) => &window.chosen,
            None => &chosen_here,
        };
        let done: Vec<(ItemTypeId, Keyed<'a>)> = round
            .into_par_iter()
            .map(|t| (t, key_type(spec, tables, &builder, t, chosen)))
            .collect();
        for (t, done) in done {
            if tables.window.is_none() && referenced.contains(&t) {
                chosen_here[t.0] = done.roots.iter().map(|g| g[0][0].1).collect();
            }
            keyed[t.0] = Some(done);
        }
    }
    let mut groups = Vec::with_capacity(count);
    let mut types = Vec::with_capacity(count);
    let mut errors = Vec::new();
    for done in keyed.into_iter().flatten() {
        groups.push(done.roots);
        types.push(done.entries);
        errors.extend(done.errors);
    }
    let plan = Plan {
        builder,
        groups,
        types,
        accounts: Vec::new(),
        events: Vec::new(),
        moved: Vec::new(),
        json_bytes: 0,
        capacity: None,
    };
    (plan, errors)
}

/// One item type's root groups, its items' keys in key order, and the items whose keys could
/// not be made.
struct Keyed<'a> {
    roots: Vec<build::Group<'a>>,
    entries: Vec<Entry>,
    errors: Vec<Failed>,
}

/// Finds item type `t`'s root groups (none when these tables do not plan it), `chosen` holding
/// the root rows of the types it depends on, and makes each one's key.
fn key_type<'a>(
    spec: &Spec,
    tables: &Tables,
    builder: &build::Builder<'a>,
    t: ItemTypeId,
    chosen: &[HashSet<usize>],
) -> Keyed<'a> {
    let started = std::time::Instant::now();
    let roots = if tables.plans(t) {
        builder.roots(t, chosen)
    } else {
        Vec::new()
    };
    let keys: Vec<Result<Entry, TransformError>> = roots
        .par_iter()
        .enumerate()
        .map(|(at, group)| {
            Ok(Entry {
                key: rules::into_key(spec, builder.key(t, group)?),
                hash: 0,
                bytes: 0,
                group: at as u32,
                moved: false,
            })
        })
        .collect();
    let mut entries = Vec::with_capacity(keys.len());
    let mut errors = Vec::new();
    for (at, key) in keys.into_iter().enumerate() {
        match key {
            Ok(entry) => entries.push(entry),
            Err(error) => errors.push((t, at as u32, error)),
        }
    }
    entries.par_sort_unstable_by(|a, b| a.key.cmp(&b.key));
    if tables.window.is_none() {
        tracing::info!(
            item_type = %spec.items[t].name,
            items = entries.len(),
            seconds = started.elapsed().as_secs_f64(),
            "keyed"
        );
    }
    Keyed {
        roots,
        entries,
        errors,
    }
}

/// Builds the item of `entry` (its key already made, its group in `group`), checks it, and
/// writes its line; with the writes it takes in the table and its indexes.
fn build_counted<'a>(
    spec: &Spec,
    builder: &build::Builder<'a>,
    index: ItemTypeId,
    group: &build::Group<'a>,
    entry: &Entry,
) -> Result<(PlanLine, capacity::ItemWrites), TransformError> {
    let item_type = &spec.items[index].name;
    let moved = entry.moved.then_some(entry.key.1.as_str());
    let built = builder.item(index, group, moved)?;
    rules::check_item(spec, item_type, &built, || builder.origin(group))?;
    let writes = capacity::item_writes(spec, &built.keys, built.size);
    let line = PlanLine {
        key: rules::into_key(spec, built.keys),
        json: built.json,
        bytes: built.size,
        item_type: item_type.clone(),
        hash: 0,
    };
    // The same key the entry was given from the same rows (or the sort key it was moved to).
    debug_assert_eq!(entry.key, line.key);
    Ok((line, writes))
}

/// Where item `entry` of item type `t` came from.
fn origin<'a>(
    builder: &build::Builder<'a>,
    groups: &[Vec<build::Group<'a>>],
    t: ItemTypeId,
    entry: &Entry,
) -> Origin {
    let (table, row) = builder.origin(&groups[t.0][entry.group as usize]);
    Origin {
        item_type: builder.spec().items[t].name.clone(),
        table,
        row,
    }
}

/// What a plan made, whether in memory or in windows: per item type (spec order) its items,
/// bytes and largest items, the account of every source row, the events counted while
/// building, what the items ask of the table's capacity, and their size as DynamoDB JSON.
pub struct Summary {
    pub types: Vec<TypeSummary>,
    pub accounts: Vec<TableAccount>,
    pub events: Vec<(String, u64)>,
    pub capacity: Option<capacity::CapacityReport>,
    pub json_bytes: u64,
}

impl Plan<'_> {
    /// The plan's [`Summary`].
    pub fn summary(&self, spec: &Spec) -> Summary {
        let types = spec
            .items
            .iter()
            .zip(&self.types)
            .map(|(item, entries)| {
                let mut tally = TypeTally::default();
                for entry in entries {
                    tally.add(&entry.key, u64::from(entry.bytes));
                }
                tally.summary(&item.name)
            })
            .collect();
        Summary {
            types,
            accounts: self.accounts.clone(),
            events: self.events.clone(),
            capacity: self.capacity.clone(),
            json_bytes: self.json_bytes,
        }
    }

    /// Where item `entry` of item type `t` came from.
    fn origin(&self, t: ItemTypeId, entry: &Entry) -> Origin {
        origin(&self.builder, &self.groups, t, entry)
    }

    /// How many items the plan holds.
    pub fn len(&self) -> usize {
        self.types.iter().map(Vec::len).sum()
    }

    /// Whether the plan holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds the line of item type `t`'s `i`-th item in key order.
    pub fn line(&self, t: ItemTypeId, i: usize) -> PlanLine {
        let entry = &self.types[t][i];
        let built = self
            .builder
            .item(
                t,
                &self.groups[t][entry.group as usize],
                entry.moved.then_some(entry.key.1.as_str()),
            )
            // The same rows gave a valid item when the plan was checked.
            .expect("a checked item builds again");
        PlanLine {
            item_type: self.builder.spec().items[t].name.clone(),
            key: entry.key.clone(),
            json: built.json,
            bytes: entry.bytes as usize,
            hash: entry.hash,
        }
    }
}

/// A checked plan as loading and verification use it: each item type's entries (key, hash and
/// size) in key order, and the lines themselves built or read again on demand. The in-memory
/// [`Plan`] builds them from the rows; a windowed plan ([`window::Spilled`]) reads them from disk.
pub trait Planned: Sync {
    /// Per item type (spec order), its items in key order.
    fn types(&self) -> &[Vec<Entry>];

    /// The lines of item type `t`'s items at `range` of its key order.
    ///
    /// # Errors
    /// A plan kept on disk that cannot be read back.
    fn lines(
        &self,
        t: ItemTypeId,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<PlanLine>, ReadBack>;

    /// Every line, in rounds of about [`CHUNK_ITEMS`]: round `r` of `R` holds the `r`-th `R`-th
    /// of every item type, so each round mixes the types as the whole plan does.
    fn rounds(&self) -> Box<dyn Iterator<Item = Result<Vec<PlanLine>, ReadBack>> + '_> {
        let count = self.item_count().div_ceil(CHUNK_ITEMS).max(1);
        Box::new((0..count).map(move |r| {
            let mut round = Vec::new();
            for (t, entries) in self.types().iter().enumerate() {
                let n = entries.len();
                let range = n * r / count..n * (r + 1) / count;
                round.extend(self.lines(ItemTypeId(t), range)?);
            }
            Ok(round)
        }))
    }

    /// How many items the plan holds.
    fn item_count(&self) -> usize {
        self.types().iter().map(Vec::len).sum()
    }
}

impl Planned for Plan<'_> {
    fn types(&self) -> &[Vec<Entry>] {
        &self.types
    }

    fn lines(
        &self,
        t: ItemTypeId,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<PlanLine>, ReadBack> {
        Ok(range.into_par_iter().map(|i| self.line(t, i)).collect())
    }
}
