//! What became of every source row: in an item, dropped by a named rule, or never referenced.
//! Rows in and rows accounted for are equal per table by construction, and the report shows it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};

use foldhash::HashMap;
use serde::Serialize;

use super::spill_map::{Count, SpillMap};

const UNTOUCHED: u16 = 0;
const USED: u16 = 1;

/// The state of each row of one table, written from many threads.
pub struct Usage {
    states: Vec<AtomicU16>,
}

impl Usage {
    /// Every row untouched.
    pub fn new(rows: usize) -> Self {
        Usage {
            states: (0..rows).map(|_| AtomicU16::new(UNTOUCHED)).collect(),
        }
    }

    /// The row is part of an item; that outranks any rule that dropped it elsewhere.
    pub fn used(&self, row: usize) {
        self.states[row].store(USED, Ordering::Relaxed);
    }

    /// The rule `code` dropped the row. Being in an item outranks every rule, and of several
    /// rules the first in the spec (the lowest code) is the one reported, so the account does
    /// not depend on which thread got there first.
    pub fn dropped(&self, row: usize, code: u16) {
        let _ =
            self.states[row].fetch_update(
                Ordering::Relaxed,
                Ordering::Relaxed,
                |state| match state {
                    USED => None,
                    UNTOUCHED => Some(code),
                    earlier => (code < earlier).then_some(code),
                },
            );
    }
}

/// What became of rows met in several windows: each row's state by its identity, merged as
/// [`Usage`] merges them within one window.
pub struct Merged {
    /// Per table: each row's state by its identity.
    states: HashMap<String, States>,
    /// Where rows kept by hash spill.
    dir: PathBuf,
}

/// Row states by identity: by the id itself (two bytes a row) for ids below `limit`, else by a
/// hash of the id or of the key's text, spilled to disk beyond a few MB.
struct States {
    dense: Vec<u16>,
    limit: u64,
    hashed: SpillMap<State>,
}

/// A row's state as a count that spills: of two, the one [`merge`] keeps.
#[derive(Default, Clone, Copy)]
struct State(u16);

impl Count for State {
    fn combine(&mut self, other: Self) {
        self.0 = merge(self.0, other.0);
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.0.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> std::io::Result<Self> {
        let bytes: [u8; 2] = bytes
            .try_into()
            .map_err(|_| std::io::Error::other("a spilled row state is not 2 bytes"))?;
        Ok(State(u16::from_le_bytes(bytes)))
    }
}

/// A row's identity: its whole-number id, or the hash of its primary key's text.
#[derive(Clone, Copy)]
pub enum Identity {
    Id(u64),
    Hash(u64),
}

/// The state that wins of two: in an item, else the first rule, else untouched.
fn merge(a: u16, b: u16) -> u16 {
    match (a, b) {
        (USED, _) | (_, USED) => USED,
        (UNTOUCHED, x) | (x, UNTOUCHED) => x,
        (x, y) => x.min(y),
    }
}

impl Merged {
    /// No rows yet; rows kept by hash spill to `dir`.
    pub fn new(dir: &Path) -> Self {
        Merged {
            states: HashMap::default(),
            dir: dir.to_path_buf(),
        }
    }

    fn table(&mut self, table: &str) -> &mut States {
        let n = self.states.len();
        let dir = &self.dir;
        self.states
            .entry(table.to_string())
            .or_insert_with(|| States {
                dense: Vec::new(),
                limit: 0,
                hashed: SpillMap::spilling(dir, &format!("rows-{n}")),
            })
    }

    /// Keeps the states of `table`'s rows whose ids are below `limit` by id: for a table whose
    /// ids are dense, such as 1 to its row count.
    pub fn dense_below(&mut self, table: &str, limit: u64) {
        self.table(table).limit = limit;
    }

    /// Takes in the states of one window's rows of `table`, each row named by `identity`.
    ///
    /// # Errors
    /// Spilled states that cannot be written.
    pub fn add(
        &mut self,
        table: &str,
        usage: &Usage,
        mut identity: impl FnMut(usize) -> Identity,
    ) -> std::io::Result<()> {
        let states = self.table(table);
        for (row, state) in usage.states.iter().enumerate() {
            let state = state.load(Ordering::Relaxed);
            if state == UNTOUCHED {
                continue;
            }
            let at = match identity(row) {
                Identity::Id(id) if id < states.limit => {
                    let id = id as usize;
                    if states.dense.len() <= id {
                        states.dense.resize(id + 1, UNTOUCHED);
                    }
                    &mut states.dense[id]
                }
                Identity::Id(hash) | Identity::Hash(hash) => &mut states.hashed.entry(hash)?.0,
            };
            *at = merge(*at, state);
        }
        Ok(())
    }

    /// The account of `table`, which holds `rows` rows in all.
    ///
    /// # Errors
    /// Spilled states that cannot be read back.
    pub fn account(
        &mut self,
        table: &str,
        rows: u64,
        rules: &[String],
    ) -> std::io::Result<TableAccount> {
        let mut by_code = vec![0u64; rules.len() + 2];
        if let Some(states) = self.states.remove(table) {
            for state in &states.dense {
                by_code[usize::from(*state)] += 1;
            }
            states
                .hashed
                .finish(|_, state| by_code[usize::from(state.0)] += 1)?;
        }
        Ok(account(table, rows, &by_code, rules))
    }
}

/// The account of `table`, of `rows` rows, from how many rows are in each state.
fn account(table: &str, rows: u64, by_code: &[u64], rules: &[String]) -> TableAccount {
    let touched: u64 = by_code[1..].iter().sum();
    TableAccount {
        table: table.to_string(),
        rows,
        in_items: by_code[usize::from(USED)],
        dropped: rules
            .iter()
            .zip(&by_code[2..])
            .filter(|(_, n)| **n > 0)
            .map(|(rule, n)| (rule.clone(), *n))
            .collect(),
        unreferenced: rows.saturating_sub(touched),
    }
}

/// Rows of one source table and where each went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableAccount {
    pub table: String,
    pub rows: u64,
    pub in_items: u64,
    /// Rows dropped per rule (`ITEM where`, `ITEM.attribute limit`, …), rules in spec order.
    pub dropped: Vec<(String, u64)>,
    /// Rows no item type reads: neither a root nor related to one.
    pub unreferenced: u64,
}

/// The account of table `table`, each of whose rows has its state in `usage`.
pub fn table_account(table: &str, usage: &Usage, rules: &[String]) -> TableAccount {
    let mut by_code = vec![0u64; rules.len() + 2];
    for state in &usage.states {
        by_code[usize::from(state.load(Ordering::Relaxed))] += 1;
    }
    account(table, usage.states.len() as u64, &by_code, rules)
}

/// How many of the largest items each type lists.
const LARGEST_SHOWN: usize = 3;

/// One item type's share of a plan.
#[derive(Debug, Serialize)]
pub struct TypeSummary {
    pub item_type: String,
    pub items: u64,
    pub bytes: u64,
    /// The largest items: key and size in bytes, largest first.
    pub largest: Vec<(String, u64)>,
}

/// One item type's items, bytes and largest items, counted an item at a time.
#[derive(Debug, Default)]
pub struct TypeTally {
    items: u64,
    bytes: u64,
    /// Up to [`LARGEST_SHOWN`] items, largest first, then by key.
    largest: Vec<(u64, (String, String))>,
}

impl TypeTally {
    /// Counts one item of key `key` and `bytes` bytes.
    pub fn add(&mut self, key: &(String, String), bytes: u64) {
        self.items += 1;
        self.bytes += bytes;
        let before = |(b, k): &(u64, (String, String))| *b > bytes || (*b == bytes && k < key);
        if self.largest.len() == LARGEST_SHOWN && self.largest.iter().all(before) {
            return;
        }
        let at = self.largest.iter().take_while(|e| before(e)).count();
        self.largest.insert(at, (bytes, key.clone()));
        self.largest.truncate(LARGEST_SHOWN);
    }

    /// The summary of item type `item_type`.
    pub fn summary(self, item_type: &str) -> TypeSummary {
        TypeSummary {
            item_type: item_type.to_string(),
            items: self.items,
            bytes: self.bytes,
            largest: self
                .largest
                .into_iter()
                .map(|(bytes, (pk, sk))| (format!("{pk} {sk}").trim().to_string(), bytes))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(usage: &Usage, row: usize) -> u16 {
        usage.states[row].load(Ordering::Relaxed)
    }

    #[test]
    fn the_first_rule_in_the_spec_is_reported_whatever_order_rows_were_dropped_in() {
        let usage = Usage::new(3);
        usage.dropped(0, 5);
        usage.dropped(0, 3);
        usage.dropped(1, 3);
        usage.dropped(1, 5);
        assert_eq!((state(&usage, 0), state(&usage, 1)), (3, 3));
        usage.used(2);
        usage.dropped(2, 2);
        assert_eq!(
            state(&usage, 2),
            USED,
            "being in an item outranks every rule"
        );
    }
}
