//! The checks every item passes before it is written: keys present, typed and within
//! DynamoDB's limits, the item within 400 KB, and no two items of the plan with one key.

use std::borrow::Borrow;
use std::convert::Infallible;
use std::hash::BuildHasher;

use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};
use rayon::slice::ParallelSliceMut;

use super::build::{Built, Keys};
use super::entry::Entry;
use super::errors::{KeyClash, Origin, TransformError};
use crate::item::AttrValue;
use crate::progress::clipped;
use base64::Engine as _;

use crate::spec::{KeyAttr, KeyType, Spec};

/// DynamoDB's item size limit, attribute names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's limit on a partition key value.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's limit on a sort key value.
pub const MAX_SORT_KEY_BYTES: usize = 1024;

fn key_text(value: Option<&AttrValue>) -> String {
    match value {
        Some(AttrValue::S(s)) => s.clone(),
        Some(AttrValue::N(n)) => n.to_string(),
        Some(AttrValue::B(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn get<'k>(keys: &'k Keys, name: &str) -> Option<&'k AttrValue> {
    keys.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// The item's primary key as text: what orders the plan and names the item in messages. The
/// texts are taken out of `keys` rather than copied.
pub fn into_key(spec: &Spec, mut keys: Keys) -> (String, String) {
    let table = &spec.table;
    let mut take = |name: &str| match keys.iter_mut().find(|(n, _)| *n == name) {
        Some((_, AttrValue::S(s))) => std::mem::take(s),
        found => key_text(found.map(|(_, v)| &*v)),
    };
    let pk = take(&table.partition_key.name);
    let sk = (table.sort_key.as_ref())
        .map(|k| take(&k.name))
        .unwrap_or_default();
    (pk, sk)
}

/// Names a key for messages: `pk=WORD#7, sk=BREAKDOWN`.
pub fn describe(spec: &Spec, (pk, sk): &(String, String)) -> String {
    let (pk, sk) = (clipped(pk), clipped(sk));
    match &spec.table.sort_key {
        Some(sort) => format!("{}={pk}, {}={sk}", spec.table.partition_key.name, sort.name),
        None => format!("{}={pk}", spec.table.partition_key.name),
    }
}

/// Checks one item of type `item_type` against DynamoDB's rules for keys and size; `origin`
/// names the source table and row it was built from, for the error.
pub fn check_item(
    spec: &Spec,
    item_type: &str,
    item: &Built,
    origin: impl Fn() -> (String, String),
) -> Result<(), TransformError> {
    let fail = |rule: String| {
        let (table, row) = origin();
        TransformError::Rule {
            item_type: item_type.to_string(),
            key: describe(spec, &into_key(spec, item.keys.clone())),
            table,
            row,
            rule,
        }
    };
    let table = &spec.table;
    let sort_keys: Vec<&KeyAttr> = table
        .sort_key
        .iter()
        .chain(table.indexes.iter().filter_map(|i| i.sort_key.as_ref()))
        .collect();
    for required in std::iter::once(&table.partition_key).chain(&table.sort_key) {
        if get(&item.keys, &required.name).is_none() {
            return Err(fail(format!(
                "key attribute {} is missing; every item needs the table's keys",
                required.name
            )));
        }
    }
    for key in table.key_attributes() {
        let Some(value) = get(&item.keys, &key.name) else {
            continue;
        };
        let (ok, len) = match (key.ty, value) {
            (KeyType::S, AttrValue::S(s)) => (true, s.len()),
            (KeyType::N, AttrValue::N(n)) => (true, n.as_str().len()),
            (KeyType::B, AttrValue::B(b)) => (true, b.len()),
            _ => (false, 0),
        };
        if !ok {
            return Err(fail(format!(
                "key attribute {} must be of type {} but is {value:?}; cast it in the spec",
                key.name,
                key.ty.letter()
            )));
        }
        if len == 0 {
            return Err(fail(format!(
                "key attribute {} is empty; DynamoDB refuses empty key values",
                key.name
            )));
        }
        let limit = if sort_keys.iter().any(|s| s.name == key.name) {
            MAX_SORT_KEY_BYTES
        } else {
            MAX_PARTITION_KEY_BYTES
        };
        if len > limit {
            return Err(fail(format!(
                "key attribute {} is {len} bytes; DynamoDB allows at most {limit}",
                key.name
            )));
        }
    }
    if item.size > MAX_ITEM_BYTES {
        return Err(fail(format!(
            "the item is {} bytes; DynamoDB allows at most {MAX_ITEM_BYTES} (400 KB); cap its lists with a limit in the spec",
            item.size
        )));
    }
    Ok(())
}

/// Every item's key with its item type and place, in key order: equal keys side by side.
pub(super) fn sorted_keys(types: &[Vec<Entry>]) -> Vec<(&(String, String), usize, usize)> {
    let mut keys: Vec<(&(String, String), usize, usize)> = types
        .iter()
        .enumerate()
        .flat_map(|(t, entries)| entries.iter().enumerate().map(move |(i, e)| (&e.key, t, i)))
        .collect();
    // Each type's keys are in order already: the stable sort finds those runs and merges them,
    // on every core (every element differs, so the order is the one any sort gives).
    keys.par_sort();
    keys
}

/// Every primary key two items of `types` share (see [`shared_keys`]), as errors naming both
/// items' origins by `origin`. `types` holds each item type's entries in key order.
///
/// The keys are hashed on every core and only those whose hash another key has too are
/// sorted: what [`sorted_keys`] gives, less the keys no other item has, which clash with none.
pub fn check_unique(
    spec: &Spec,
    types: &[Vec<Entry>],
    origin: impl Fn(usize, &Entry) -> Origin,
) -> Vec<TransformError> {
    let state = foldhash::fast::FixedState::with_seed(0);
    let mut hashes: Vec<(u64, u32, u32)> = types
        .par_iter()
        .enumerate()
        .flat_map_iter(|(t, entries)| {
            (entries.iter().enumerate())
                .map(move |(i, e)| (state.hash_one(&e.key), t as u32, i as u32))
        })
        .collect();
    hashes.par_sort_unstable();
    let mut shared: Vec<(&(String, String), usize, usize)> = hashes
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|same| same.len() > 1)
        .flatten()
        .map(|&(_, t, i)| (&types[t as usize][i as usize].key, t as usize, i as usize))
        .collect();
    shared.sort_unstable();
    let sorted = (shared.into_iter()).map(|(key, t, i)| Ok::<_, Infallible>((key, (t, i))));
    shared_keys(spec, sorted, |&(t, i)| origin(t, &types[t][i])).unwrap_or_else(|e| match e {})
}

/// Every key two items share, from every item's key in key order (`sorted`, which may fail
/// as it is read), each error naming two items by `origin`: of several items with one key,
/// each is named with the one before it. The in-memory plan and the windowed one (which
/// merges keys from disk) both find clashes here, so they report them alike.
///
/// # Errors
/// The first error `sorted` gives.
pub(super) fn shared_keys<K: Borrow<(String, String)>, P, E>(
    spec: &Spec,
    sorted: impl IntoIterator<Item = Result<(K, P), E>>,
    origin: impl Fn(&P) -> Origin,
) -> Result<Vec<TransformError>, E> {
    let mut clashes = Vec::new();
    let mut previous: Option<(K, P)> = None;
    for item in sorted {
        let (key, this) = item?;
        if let Some((before, first)) = &previous {
            if before.borrow() == key.borrow() {
                clashes.push(TransformError::DuplicateKey(Box::new(KeyClash {
                    key: describe(spec, key.borrow()),
                    first: origin(first),
                    second: origin(&this),
                })));
            }
        }
        previous = Some((key, this));
    }
    Ok(clashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pk: &str, sk: &str) -> Entry {
        Entry {
            key: (pk.to_string(), sk.to_string()),
            hash: 0,
            bytes: 0,
            group: 0,
            moved: false,
        }
    }

    #[test]
    fn shared_keys_are_found_in_key_order_as_the_sort_of_every_key_finds_them() {
        let spec = super::super::paths::tests::rootski();
        // Three types, each in key order, sharing keys within and across types: one key held
        // by three items (two of one type), one by two types, and many held by one alone.
        let mut types: Vec<Vec<Entry>> = vec![
            (0..2000)
                .map(|n| entry(&format!("P#{n:05}"), "A"))
                .chain([entry("P#01000", "A"), entry("Q", "0007")])
                .collect(),
            vec![entry("P#01000", "A"), entry("P#01500", "B")],
            (0..500).map(|n| entry("Q", &format!("{n:04}"))).collect(),
        ];
        for entries in &mut types {
            entries.sort_by(|a, b| a.key.cmp(&b.key));
        }
        let origin = |t: usize, e: &Entry| Origin {
            item_type: format!("T{t}"),
            table: "t".into(),
            row: e.key.1.clone(),
        };
        let everything = sorted_keys(&types)
            .into_iter()
            .map(|(key, t, i)| Ok::<_, Infallible>((key, (t, i))));
        let expected = shared_keys(&spec, everything, |&(t, i)| origin(t, &types[t][i])).unwrap();
        let found = check_unique(&spec, &types, origin);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            expected.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        assert_eq!(
            found[0].to_string(),
            "two items have the key pk=P#01000, sk=A: T0 from table t, row A, and T0 from table t, row A; make the key templates unique"
        );
    }
}
