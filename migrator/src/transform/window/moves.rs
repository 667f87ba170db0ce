//! `on_key_clash = "next-sort-key"` in windows. An item moves off a key another item has to
//! the next sort key no item of the whole plan has, so no window can settle it alone: a first
//! pass keys every item of every window without building any ([`Keys`]), the keys merge on
//! disk in key order, and each clash is settled there as the in-memory plan settles it
//! (`tiebreak.rs`: the earlier item type first, then the root that sorts first by primary key).
//! The plan itself is the second pass, each window told which of its roots move where.

use std::io;

use foldhash::{HashMap, HashSet, HashSetExt};

use super::super::convert::compare;
use super::super::spill::{text, Runs};
use super::super::tiebreak::not_whole;
use super::super::{Origin, Plan, TableData, TransformError};
use crate::source::value_bytes;
use crate::spec::{ItemTypeId, Spec};

/// Where items move: per item type, each moving root (its primary key's values, encoded) and
/// the sort key it moves to; or the clashes that cannot be settled.
pub struct Moves {
    by_type: Vec<HashMap<Vec<u8>, String>>,
    /// Items that share a key whose sort key is not a whole number; nothing moves then.
    pub errors: Vec<TransformError>,
}

impl Moves {
    /// No item of `types` item types moves.
    pub fn none(types: usize) -> Self {
        Moves {
            by_type: vec![HashMap::default(); types],
            errors: Vec::new(),
        }
    }

    /// How many items of each item type move.
    pub fn counts(&self) -> Vec<u64> {
        self.by_type.iter().map(|m| m.len() as u64).collect()
    }

    /// Which of the first `roots` rows of `data` (item type `t`'s root table in one window)
    /// move, by row, and to which sort key.
    pub fn in_window(
        &self,
        t: ItemTypeId,
        data: &TableData,
        roots: usize,
    ) -> HashMap<usize, String> {
        let moves = &self.by_type[t.0];
        if moves.is_empty() {
            return HashMap::default();
        }
        let mut key = Vec::new();
        (0..roots.min(data.rows.len()))
            .filter_map(|row| {
                key.clear();
                root_key(data, row, &mut key);
                moves.get(&key).map(|to| (row, to.clone()))
            })
            .collect()
    }
}

/// Row `row` of `data`, by its primary key's values (every column's without one), encoded.
fn root_key(data: &TableData, row: usize, out: &mut Vec<u8>) {
    let values = &data.rows[row];
    value_bytes::encode(data.shape.key_columns().iter().map(|&c| &values[c]), out);
}

/// Every item's key, written a window at a time as sorted runs of records: partition key, sort
/// key, item type, root (as [`Moves`] holds it), and the root row as errors name it.
pub struct Keys {
    runs: Runs,
}

/// One record of [`Keys`], read back.
struct Record {
    pk: String,
    sk: String,
    t: ItemTypeId,
    root: Vec<u8>,
    row: String,
}

impl Keys {
    /// Keys spilled to `dir`.
    pub fn new(dir: &std::path::Path) -> Self {
        Keys {
            runs: Runs::new(dir, "clash-keys", 5),
        }
    }

    /// Writes the keys of item type `t`'s items in `plan`, one window's, as a run.
    pub fn write(&mut self, t: ItemTypeId, plan: &Plan) -> io::Result<()> {
        let type_bytes = (t.0 as u32).to_le_bytes();
        let records: Vec<(&(String, String), Vec<u8>, String)> = plan.types[t]
            .iter()
            .map(|entry| {
                let group = &plan.groups[t][entry.group as usize];
                let (data, row) = group[0][0];
                let mut root = Vec::new();
                root_key(data, row, &mut root);
                (&entry.key, root, plan.builder.origin(group).1)
            })
            .collect();
        self.runs.write(records.iter().map(|(key, root, row)| {
            vec![
                key.0.as_bytes(),
                key.1.as_bytes(),
                type_bytes.as_slice(),
                root.as_slice(),
                row.as_bytes(),
            ]
        }))
    }

    /// Settles every key several items share: the first keeps it, each other moves to the next
    /// whole-number sort key that no item has and no earlier move took. Holds one partition
    /// key's sort keys at a time, and the items that clash.
    pub fn settle(self, spec: &Spec) -> io::Result<Moves> {
        let mut moves = Moves::none(spec.items.len());
        let mut partition = Partition::default();
        for record in self.runs.merge()? {
            let (_, fields) = record?;
            let [pk, sk, t, root, row]: [Vec<u8>; 5] = fields
                .try_into()
                .map_err(|_| io::Error::other("a short key record"))?;
            let t = u32::from_le_bytes(
                t.try_into()
                    .map_err(|_| io::Error::other("a bad key record"))?,
            );
            let record = Record {
                pk: text(pk)?,
                sk: text(sk)?,
                t: ItemTypeId(t as usize),
                root,
                row: text(row)?,
            };
            if record.pk != partition.pk {
                partition.settle(spec, &mut moves)?;
                partition = Partition {
                    pk: record.pk.clone(),
                    ..Partition::default()
                };
            }
            partition.add(record);
        }
        partition.settle(spec, &mut moves)?;
        if !moves.errors.is_empty() {
            // As in memory: when one clash cannot be settled, no item moves.
            moves.by_type.iter_mut().for_each(HashMap::clear);
        }
        Ok(moves)
    }
}

/// One partition key's items as they merge in key order.
#[derive(Default)]
struct Partition {
    pk: String,
    /// Every sort key of the partition, once each, in order.
    sks: Vec<String>,
    /// The items of each sort key several items share, in key order.
    clashes: Vec<Vec<Record>>,
    /// The item of the last sort key, until another shares the key.
    last: Option<Record>,
}

impl Partition {
    fn add(&mut self, record: Record) {
        if self.sks.last() == Some(&record.sk) {
            if let Some(first) = self.last.take() {
                self.clashes.push(vec![first]);
            }
            if let Some(clash) = self.clashes.last_mut() {
                clash.push(record);
            }
        } else {
            self.sks.push(record.sk.clone());
            self.last = Some(record);
        }
    }

    /// Settles the partition's clashes in key order, as `tiebreak::next_sort_keys` does.
    fn settle(&mut self, spec: &Spec, moves: &mut Moves) -> io::Result<()> {
        let mut taken: HashSet<i128> = HashSet::new();
        for clash in &mut self.clashes {
            let mut members = Vec::with_capacity(clash.len());
            for record in clash.drain(..) {
                let values = value_bytes::decode(&record.root)
                    .ok_or_else(|| io::Error::other("a damaged key record"))?;
                members.push((record, values));
            }
            members.sort_by(|(a, va), (b, vb)| {
                a.t.cmp(&b.t).then_with(|| {
                    va.iter()
                        .zip(vb)
                        .map(|(x, y)| compare(x, y))
                        .find(|o| o.is_ne())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
            });
            let key = (self.pk.clone(), members[0].0.sk.clone());
            let Ok(number) = key.1.parse::<i128>() else {
                let second = &members[1].0;
                let item = &spec.items[second.t];
                let origin = Origin {
                    item_type: item.name.clone(),
                    table: item.root.clone(),
                    row: second.row.clone(),
                };
                moves.errors.push(not_whole(spec, &key, origin));
                continue;
            };
            let mut next = number;
            for (record, _) in members.drain(1..) {
                next += 1;
                while taken.contains(&next) || self.sks.binary_search(&next.to_string()).is_ok() {
                    next += 1;
                }
                taken.insert(next);
                moves.by_type[record.t.0].insert(record.root, next.to_string());
            }
        }
        Ok(())
    }
}
