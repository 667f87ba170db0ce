//! What became of every source row: in an item, dropped by a named rule, or never referenced.
//! Rows in and rows accounted for are equal per table by construction, and the report shows it.

use std::sync::atomic::{AtomicU16, Ordering};

use serde::Serialize;

use super::Tables;
use crate::spec::Spec;

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

/// Accounts for every row of every table.
pub fn accounts(spec: &Spec, tables: &Tables, rules: &[String]) -> Vec<TableAccount> {
    spec.schema
        .tables
        .iter()
        .filter_map(|shape| tables.tables.get(&shape.name))
        .map(|data| {
            let mut by_code = vec![0u64; rules.len() + 2];
            for state in &data.usage.states {
                by_code[usize::from(state.load(Ordering::Relaxed))] += 1;
            }
            TableAccount {
                table: data.shape.name.clone(),
                rows: data.rows.len() as u64,
                in_items: by_code[usize::from(USED)],
                dropped: rules
                    .iter()
                    .zip(&by_code[2..])
                    .filter(|(_, n)| **n > 0)
                    .map(|(rule, n)| (rule.clone(), *n))
                    .collect(),
                unreferenced: by_code[usize::from(UNTOUCHED)],
            }
        })
        .collect()
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
