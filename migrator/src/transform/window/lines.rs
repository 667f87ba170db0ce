//! Where an item type's lines go as its windows are planned: each window's as a sorted run,
//! the runs merged in key order once every window is planned; or, when the type's windows come
//! in key order (`order.rs`), straight to the plan. Either way each item's key and origin go to
//! the type's key file, in key order, for the clashes found across types.

use std::io::{BufWriter, Write};
use std::path::Path;

use super::super::spill::{text, write_record, Runs};
use super::super::{Origin, PlanLine, TypeSummary, TypeTally, CHUNK_ITEMS};
use super::WindowError;
use crate::spec::{ItemTypeId, Spec};

/// Where an item type's lines go.
pub(super) enum Lines {
    /// Each window's as a sorted run, merged once every window is planned.
    Runs(Runs),
    /// Straight to the plan, the windows coming in key order (`order.rs`).
    InOrder(InOrder),
}

/// An item type's key file, each item's key and origin in key order, and its tally.
struct KeyFile {
    keys: BufWriter<std::fs::File>,
    tally: TypeTally,
}

impl KeyFile {
    fn create(path: &Path) -> std::io::Result<Self> {
        Ok(KeyFile {
            keys: BufWriter::new(std::fs::File::create(path)?),
            tally: TypeTally::default(),
        })
    }

    /// Takes in the item of `key`, `size` bytes, built from row `row` of `table`.
    fn add(
        &mut self,
        key: &(String, String),
        table: &[u8],
        row: &[u8],
        size: u64,
    ) -> std::io::Result<()> {
        let (pk, sk) = (key.0.as_bytes(), key.1.as_bytes());
        write_record(&mut self.keys, &[pk, sk, table, row])?;
        self.tally.add(key, size);
        Ok(())
    }

    /// The type's summary, once every item is taken in.
    fn finish(mut self, item_type: &str) -> std::io::Result<TypeSummary> {
        self.keys.flush()?;
        Ok(self.tally.summary(item_type))
    }
}

/// An item type's lines handed on as its windows are planned, each item's key and origin
/// taken into the type's key file.
pub(super) struct InOrder {
    keys: KeyFile,
    last: Option<(String, String)>,
}

impl InOrder {
    /// Hands one window's `lines` (in key order, each from its origin) to `take`, after
    /// checking they follow the last window's.
    fn take(
        &mut self,
        spec: &Spec,
        t: ItemTypeId,
        lines: Vec<PlanLine>,
        origins: &[Origin],
        take: &mut impl FnMut(Vec<PlanLine>),
        spilled: impl Fn(std::io::Error) -> WindowError,
    ) -> Result<(), WindowError> {
        let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
            return Ok(());
        };
        if let Some(before) = self.last.as_ref().filter(|before| **before > first.key) {
            let item = &spec.items[t];
            return Err(WindowError::Order(format!(
                "the windows of item type {} came out of key order ({:?} came after {:?}): \
                 they were read in the order Postgres gives the text of the {} column its keys \
                 end in; plan without --window, and report this",
                item.name, first.key, before, item.root
            )));
        }
        self.last = Some(last.key.clone());
        for (line, origin) in lines.iter().zip(origins) {
            let (table, row) = (origin.table.as_bytes(), origin.row.as_bytes());
            self.keys
                .add(&line.key, table, row, line.bytes as u64)
                .map_err(&spilled)?;
        }
        take(lines);
        Ok(())
    }
}

impl Lines {
    /// Item type `t`'s lines: straight on when its windows come `in_key_order` (its keys to
    /// `keys`), else as runs in `dir`.
    pub(super) fn new(
        dir: &Path,
        t: ItemTypeId,
        keys: &Path,
        in_key_order: bool,
    ) -> std::io::Result<Self> {
        Ok(if in_key_order {
            Lines::InOrder(InOrder {
                keys: KeyFile::create(keys)?,
                last: None,
            })
        } else {
            Lines::Runs(Runs::new(dir, &format!("lines-{}", t.0), 6))
        })
    }

    /// Takes one window's `lines`, in key order, each from its origin.
    pub(super) fn window(
        &mut self,
        spec: &Spec,
        t: ItemTypeId,
        lines: Vec<PlanLine>,
        origins: &[Origin],
        take: &mut impl FnMut(Vec<PlanLine>),
        spilled: impl Fn(std::io::Error) -> WindowError,
    ) -> Result<(), WindowError> {
        match self {
            Lines::Runs(runs) => {
                let sizes: Vec<[u8; 8]> = lines
                    .iter()
                    .map(|l| (l.bytes as u64).to_le_bytes())
                    .collect();
                let records = lines.iter().zip(origins).zip(&sizes);
                runs.write(records.map(|((line, origin), size)| {
                    vec![
                        line.key.0.as_bytes(),
                        line.key.1.as_bytes(),
                        line.json.as_bytes(),
                        origin.table.as_bytes(),
                        origin.row.as_bytes(),
                        size.as_slice(),
                    ]
                }))
                .map_err(spilled)
            }
            Lines::InOrder(in_order) => in_order.take(spec, t, lines, origins, take, spilled),
        }
    }

    /// Once every window is planned: the runs merged to `take` (and their keys to `keys`);
    /// the type's summary.
    pub(super) fn finish(
        self,
        spec: &Spec,
        t: ItemTypeId,
        keys: &Path,
        take: &mut impl FnMut(Vec<PlanLine>),
    ) -> std::io::Result<TypeSummary> {
        match self {
            Lines::Runs(runs) => merge_runs(spec, t, runs, keys, take),
            Lines::InOrder(in_order) => in_order.keys.finish(&spec.items[t].name),
        }
    }
}

/// Merges item type `t`'s runs in key order, handing the lines to `take` a chunk at a time and
/// writing each item's key and origin, in the same order, to `keys`; returns the type's summary.
fn merge_runs(
    spec: &Spec,
    t: ItemTypeId,
    runs: Runs,
    keys: &Path,
    take: &mut impl FnMut(Vec<PlanLine>),
) -> std::io::Result<TypeSummary> {
    let item_type = &spec.items[t].name;
    let mut keys = KeyFile::create(keys)?;
    let mut chunk = Vec::with_capacity(CHUNK_ITEMS);
    for record in runs.merge()? {
        let (_, fields) = record?;
        let [pk, sk, json, table, row, size]: [Vec<u8>; 6] = fields
            .try_into()
            .map_err(|_| std::io::Error::other("a short record"))?;
        let size = u64::from_le_bytes(size.try_into().unwrap_or_default());
        let key = (text(pk)?, text(sk)?);
        keys.add(&key, &table, &row, size)?;
        chunk.push(PlanLine {
            item_type: item_type.clone(),
            key,
            json: text(json)?,
            bytes: size as usize,
            hash: 0,
        });
        if chunk.len() == CHUNK_ITEMS {
            take(std::mem::take(&mut chunk));
        }
    }
    if !chunk.is_empty() {
        take(chunk);
    }
    keys.finish(item_type)
}
