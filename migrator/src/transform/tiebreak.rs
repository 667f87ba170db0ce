//! `on_key_clash = "next-sort-key"`: items that share a key are told apart by moving all but
//! the first to the next whole-number sort key no item of the plan has, in an order that does
//! not depend on how the rows arrived.

use std::cmp::Ordering;

use foldhash::{HashSet, HashSetExt};

use super::entry::Entry;
use super::errors::{Origin, TransformError};
use super::tables::Window;
use crate::spec::Spec;

/// Moves every item whose key an earlier one has (earlier by `before`, over item type and
/// entry) to the next free sort key: its key's number plus 1, plus 2, … until no item of the
/// plan has the key. Clashing keys are settled in key order, so the moves are the same on
/// every run. Returns how many items of each type moved, or the items whose sort key is not a
/// whole number (nothing is moved then).
pub(super) fn next_sort_keys(
    spec: &Spec,
    types: &mut [Vec<Entry>],
    before: impl Fn((usize, &Entry), (usize, &Entry)) -> Ordering,
    origin: impl Fn(usize, &Entry) -> Origin,
) -> Result<Vec<u64>, Vec<TransformError>> {
    let keys = super::rules::sorted_keys(types);
    let mut taken: HashSet<(&str, i128)> = HashSet::new();
    let mut moves: Vec<(usize, usize, i128)> = Vec::new();
    let mut errors = Vec::new();
    let mut at = 0;
    while at < keys.len() {
        let end = at + keys[at..].iter().take_while(|k| k.0 == keys[at].0).count();
        if end - at > 1 {
            let mut clash: Vec<(usize, usize)> = keys[at..end].iter().map(|k| (k.1, k.2)).collect();
            clash.sort_by(|a, b| before((a.0, &types[a.0][a.1]), (b.0, &types[b.0][b.1])));
            let (pk, sk) = keys[at].0;
            let Ok(number) = sk.parse::<i128>() else {
                let (t, i) = clash[1];
                errors.push(not_whole(spec, keys[at].0, origin(t, &types[t][i])));
                at = end;
                continue;
            };
            let mut next = number;
            for &(t, i) in &clash[1..] {
                next += 1;
                while taken.contains(&(pk.as_str(), next)) || exists(&keys, pk, next) {
                    next += 1;
                }
                taken.insert((pk.as_str(), next));
                moves.push((t, i, next));
            }
        }
        at = end;
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut moved = vec![0; types.len()];
    for (t, i, number) in moves {
        let entry = &mut types[t][i];
        entry.key.1 = number.to_string();
        entry.moved = true;
        moved[t] += 1;
    }
    for (t, entries) in types.iter_mut().enumerate() {
        if moved[t] > 0 {
            entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        }
    }
    Ok(moved)
}

/// The error for an item that shares `key` with an earlier one (`origin` says where it came
/// from) when the key's sort key is not a whole number.
pub(super) fn not_whole(spec: &Spec, key: &(String, String), origin: Origin) -> TransformError {
    TransformError::Rule {
        item_type: origin.item_type,
        key: super::rules::describe(spec, key),
        table: origin.table,
        row: origin.row,
        rule: format!("another item has this key, and on_key_clash = \"next-sort-key\" moves only whole-number sort keys ({} is not one); make the sort key a whole number (an epoch time) or the keys unique", key.1),
    }
}

/// Moves the items of one window's item type whose root row (`root_row` of the type and entry)
/// the windows' first pass settled a move for (`window.moved`); returns how many of each type
/// moved.
pub(super) fn move_in_window(
    types: &mut [Vec<Entry>],
    root_row: impl Fn(usize, &Entry) -> usize,
    window: &Window,
) -> Vec<u64> {
    let mut moved = vec![0; types.len()];
    if window.moved.is_empty() {
        return moved;
    }
    let t = window.item.0;
    for entry in &mut types[t] {
        if let Some(number) = window.moved.get(&root_row(t, entry)) {
            entry.key.1.clone_from(number);
            entry.moved = true;
            moved[t] += 1;
        }
    }
    types[t].sort_unstable_by(|a, b| a.key.cmp(&b.key));
    moved
}

/// Whether an item of the plan (before any move) has the key `pk`, `number`.
fn exists(keys: &[(&(String, String), usize, usize)], pk: &str, number: i128) -> bool {
    let key = (pk.to_string(), number.to_string());
    keys.binary_search_by(|k| k.0.cmp(&key)).is_ok()
}
