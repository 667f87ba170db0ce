//! What a plan asks of a table's write capacity: write units per partition key value of the
//! table and of each index, and the least time a load can take under a capacity model.
//!
//! DynamoDB serves about 1,000 WCU/s per partition, and one partition key value lives in one
//! partition, for the table and for each global secondary index; an index that cannot keep up
//! throttles the table's writes. So a load can take no less than the largest of: the table's
//! write units over its capacity, each index's over its capacity, and each key value's over
//! 1,000 WCU/s (../shared/reference/scale-out.md). Every write to an index costs units of its
//! own, by the size of what the index projects.
//!
//! Keys are counted by a 64-bit hash, so memory follows the number of distinct keys at about
//! 40 bytes each; a key's text is kept once it has carried [`NAMED_ABOVE`] write units, enough
//! for every key that could set a bound (64 units take 0.064 s at 1,000 WCU/s). A plan in
//! windows spills the counts to disk beyond a few MB (`spill_map.rs`), so its memory does not
//! grow with the keys. The counts do not depend on the order items come in, so a plan in
//! windows reports what one in memory does.

use serde::Serialize;

use super::spill_map::{u64_at, Count, SpillMap};

use crate::item::AttrValue;
use crate::spec::{ItemTypeId, Projection, Spec};

/// The write units one partition key value takes per second, for the table and each index.
pub const KEY_LIMIT_WCU: f64 = 1000.0;
/// A new on-demand table's capacity, WCU/s, and the default table quota.
pub const MODEL_CAPACITIES: [u64; 2] = [4_000, 40_000];
/// Write units a key carries before its text is kept for the report.
const NAMED_ABOVE: u64 = 64;
/// The share of a table's (or an index's) writes above which one key is a hot spot.
const HOT_SHARE: f64 = 0.10;
/// An item collection this large is worth a word (10 GB is the limit with local indexes).
const LARGE_COLLECTION_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Keys each table or index lists in the report.
const KEYS_SHOWN: usize = 5;

/// Write units an item (or an index's copy of it) of `bytes` takes: one per started KB.
pub fn wcu(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}

/// The writes of the table (target 0) or of one index (target 1 + its place in the spec).
struct Target {
    writes: u64,
    wcu: u64,
    /// Per key hash, what its items wrote.
    keys: SpillMap<KeyCount>,
}

/// What the items of one key value wrote.
#[derive(Default)]
struct KeyCount {
    wcu: u64,
    /// The size of its item collection (the table's keys).
    bytes: u64,
    /// The item types writing it: bit `t % 64` for type `t`.
    types: u64,
    /// The key's text: once it carried [`NAMED_ABOVE`] units, or always when the counts spill
    /// (a key's units are summed only when the runs are read back).
    text: Option<Box<str>>,
}

impl Count for KeyCount {
    fn combine(&mut self, other: Self) {
        self.wcu += other.wcu;
        self.bytes += other.bytes;
        self.types |= other.types;
        if self.text.is_none() {
            self.text = other.text;
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for n in [self.wcu, self.bytes, self.types] {
            out.extend(n.to_le_bytes());
        }
        out.extend(self.text.as_deref().unwrap_or_default().as_bytes());
    }

    fn decode(bytes: &[u8]) -> std::io::Result<Self> {
        let text = std::str::from_utf8(bytes.get(24..).unwrap_or_default())
            .map_err(std::io::Error::other)?;
        Ok(KeyCount {
            wcu: u64_at(bytes, 0)?,
            bytes: u64_at(bytes, 8)?,
            types: u64_at(bytes, 16)?,
            text: Some(text.into()),
        })
    }
}

/// Write units per key value of the table and its indexes, counted an item at a time.
pub struct Tally {
    targets: Vec<Target>,
    /// The first run that could not be written, reported by [`Tally::report`].
    failed: Option<std::io::Error>,
}

/// One item's writes: the table's key and the index keys it has, with their write units.
pub struct ItemWrites {
    /// Per target (0 the table), the partition key, when the item is in it.
    pub keys: Vec<Option<KeyWrites>>,
    pub bytes: u64,
}

/// An item's partition key in one target: its text, the text's hash (made where the item is
/// built, off the thread that counts) and the write units the item takes there.
pub struct KeyWrites {
    text: String,
    hash: u64,
    wcu: u64,
}

impl Tally {
    /// An empty tally for `spec`'s table and indexes, held in memory.
    pub fn new(spec: &Spec) -> Self {
        Self::with(spec, |_| SpillMap::in_memory())
    }

    /// An empty tally that spills its keys to sorted runs in `dir` beyond a few MB.
    pub fn spilling(spec: &Spec, dir: &std::path::Path) -> Self {
        Self::with(spec, |t| SpillMap::spilling(dir, &format!("tally-{t}")))
    }

    fn with(spec: &Spec, keys: impl Fn(usize) -> SpillMap<KeyCount>) -> Self {
        Tally {
            targets: (0..=spec.table.indexes.len())
                .map(|t| Target {
                    writes: 0,
                    wcu: 0,
                    keys: keys(t),
                })
                .collect(),
            failed: None,
        }
    }

    /// Counts one item of item type `item_type` (its place in the spec).
    pub fn add(&mut self, item_type: ItemTypeId, writes: &ItemWrites) {
        for (t, key) in writes.keys.iter().enumerate() {
            let Some(KeyWrites { text, hash, wcu }) = key else {
                continue;
            };
            let (hash, wcu) = (*hash, *wcu);
            let target = &mut self.targets[t];
            target.writes += 1;
            target.wcu += wcu;
            let spills = target.keys.spills();
            let entry = match target.keys.entry(hash) {
                Ok(entry) => entry,
                Err(e) => {
                    self.failed.get_or_insert(e);
                    continue;
                }
            };
            entry.wcu += wcu;
            entry.types |= 1 << (item_type.0 % 64);
            if t == 0 {
                entry.bytes += writes.bytes;
            }
            if entry.text.is_none() && (spills || entry.wcu >= NAMED_ABOVE) {
                entry.text = Some(text.as_str().into());
            }
        }
    }

    /// What the counts come to: the load on each target, its hottest keys, the bounds under
    /// the model capacities, and the hot spots.
    ///
    /// # Errors
    /// Spilled counts that could not be written or read back.
    pub fn report(self, spec: &Spec) -> std::io::Result<CapacityReport> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let type_names = |mask: u64| -> Vec<String> {
            spec.items
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << (i % 64)) != 0)
                .map(|(_, item)| item.name.clone())
                .collect()
        };
        let mut loads: Vec<TargetLoad> = Vec::new();
        for (t, target) in self.targets.into_iter().enumerate() {
            let name = match t {
                0 => "table".to_string(),
                i => format!("index {}", spec.table.indexes[i - 1].name),
            };
            let mut distinct_keys = 0;
            let mut hottest: Vec<KeyLoad> = Vec::new();
            target.keys.finish(|_, count| {
                distinct_keys += 1;
                let Some(key) = count.text.filter(|_| count.wcu >= NAMED_ABOVE) else {
                    return;
                };
                hottest.push(KeyLoad {
                    key: key.into(),
                    wcu: count.wcu,
                    share: count.wcu as f64 / target.wcu.max(1) as f64,
                    bytes: (t == 0).then_some(count.bytes),
                    item_types: type_names(count.types),
                });
                if hottest.len() > 4 * KEYS_SHOWN {
                    keep_hottest(&mut hottest);
                }
            })?;
            keep_hottest(&mut hottest);
            loads.push(TargetLoad {
                name,
                writes: target.writes,
                wcu: target.wcu,
                distinct_keys,
                hottest,
            });
        }
        let bounds = MODEL_CAPACITIES
            .iter()
            .map(|&capacity| bound(&loads, capacity))
            .collect();
        let mut warnings = Vec::new();
        let quota = MODEL_CAPACITIES[MODEL_CAPACITIES.len() - 1];
        for load in &loads {
            if load.writes > 0 && (load.distinct_keys as f64) * KEY_LIMIT_WCU < quota as f64 {
                warnings.push(format!(
                    "the {} has only {} distinct partition key value{} for {} writes: at {KEY_LIMIT_WCU:.0} WCU/s per key value it takes at most {:.0} WCU/s, less than the table quota of {quota}",
                    load.name,
                    load.distinct_keys,
                    if load.distinct_keys == 1 { "" } else { "s" },
                    load.writes,
                    load.distinct_keys as f64 * KEY_LIMIT_WCU
                ));
            }
            for key in load.hottest.iter().filter(|k| k.share > HOT_SHARE) {
                warnings.push(format!(
                    "key {} of the {} takes {:.0}% of its writes ({} of {} WCU, item types {}): at {KEY_LIMIT_WCU:.0} WCU/s per key value it alone takes {:.1} s, however much capacity the table has; spread it (a suffix on the key) if that matters",
                    key.key,
                    load.name,
                    key.share * 100.0,
                    key.wcu,
                    load.wcu,
                    key.item_types.join(", "),
                    key.wcu as f64 / KEY_LIMIT_WCU
                ));
            }
            if let Some(large) = load
                .hottest
                .iter()
                .find(|k| k.bytes.is_some_and(|b| b > LARGE_COLLECTION_BYTES))
            {
                warnings.push(format!(
                    "key {} of the table holds {:.1} GB of items, near the 10 GB a key may hold with local secondary indexes",
                    large.key,
                    large.bytes.unwrap_or(0) as f64 / 1e9
                ));
            }
        }
        Ok(CapacityReport {
            targets: loads,
            bounds,
            warnings,
        })
    }
}

/// Keeps the [`KEYS_SHOWN`] keys carrying the most units, most first, then by key.
fn keep_hottest(keys: &mut Vec<KeyLoad>) {
    keys.sort_by(|a, b| b.wcu.cmp(&a.wcu).then_with(|| a.key.cmp(&b.key)));
    keys.truncate(KEYS_SHOWN);
}

/// The least time a load of `loads` takes at `capacity` WCU/s for the table and each index.
fn bound(loads: &[TargetLoad], capacity: u64) -> Bound {
    let mut candidates: Vec<(f64, String)> = Vec::new();
    for load in loads {
        candidates.push((
            load.wcu as f64 / capacity as f64,
            format!("the {}'s {} WCU at {capacity} WCU/s", load.name, load.wcu),
        ));
        if let Some(key) = load.hottest.first() {
            candidates.push((
                key.wcu as f64 / KEY_LIMIT_WCU,
                format!(
                    "key {} of the {} ({} WCU at {KEY_LIMIT_WCU:.0} WCU/s)",
                    key.key, load.name, key.wcu
                ),
            ));
        }
    }
    let (seconds, set_by) = candidates
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, "nothing to write".into()));
    Bound {
        capacity_wcu: capacity,
        seconds,
        set_by,
    }
}

/// The writes an item of `bytes`, with `keys` (the table's and its indexes' key attributes as
/// built), takes in the table and in each index it is in.
pub fn item_writes(spec: &Spec, keys: &[(&str, AttrValue)], bytes: usize) -> ItemWrites {
    let get = |name: &str| keys.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let key = |value: &AttrValue, wcu: u64| {
        let text = match value {
            AttrValue::S(s) => s.clone(),
            AttrValue::N(n) => n.to_string(),
            other => format!("{other:?}"),
        };
        let hash = std::hash::BuildHasher::hash_one(
            &foldhash::fast::FixedState::with_seed(7),
            text.as_str(),
        );
        KeyWrites { text, hash, wcu }
    };
    let table = &spec.table;
    let key_bytes: usize = keys.iter().map(|(n, v)| n.len() + v.size()).sum();
    let mut targets = Vec::with_capacity(1 + table.indexes.len());
    targets.push(get(&table.partition_key.name).map(|pk| key(pk, wcu(bytes))));
    for index in &table.indexes {
        let present = get(&index.partition_key.name).filter(|_| {
            index
                .sort_key
                .as_ref()
                .is_none_or(|s| get(&s.name).is_some())
        });
        let size = match index.projection {
            Projection::KeysOnly => key_bytes,
            // Included attributes are not told apart: the whole item is counted (at most).
            Projection::All | Projection::Include(_) => bytes,
        };
        targets.push(present.map(|pk| key(pk, wcu(size))));
    }
    ItemWrites {
        keys: targets,
        bytes: bytes as u64,
    }
}

/// What a plan asks of the table's capacity.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// The table, then each index.
    pub targets: Vec<TargetLoad>,
    /// The least load time at each model capacity.
    pub bounds: Vec<Bound>,
    /// Design hot spots, each naming its key and the item types writing it.
    pub warnings: Vec<String>,
}

/// The writes of the table or of one index.
#[derive(Debug, Clone, Serialize)]
pub struct TargetLoad {
    pub name: String,
    pub writes: u64,
    pub wcu: u64,
    pub distinct_keys: u64,
    /// Its keys carrying the most write units, most first.
    pub hottest: Vec<KeyLoad>,
}

/// One partition key value's writes.
#[derive(Debug, Clone, Serialize)]
pub struct KeyLoad {
    pub key: String,
    pub wcu: u64,
    /// Its share of its table's (or index's) write units.
    pub share: f64,
    /// The size of its item collection (the table's keys only).
    pub bytes: Option<u64>,
    pub item_types: Vec<String>,
}

/// The least time a load takes at one capacity, and what sets it.
#[derive(Debug, Clone, Serialize)]
pub struct Bound {
    pub capacity_wcu: u64,
    pub seconds: f64,
    pub set_by: String,
}
