//! The checks every item passes before it is written: keys present, typed and within
//! DynamoDB's limits, the item within 400 KB, and no two items of the plan with one key.

use super::{AttrValue, Entry, Item, KeyClash, Origin, Planned, TransformError};
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

/// The item's primary key as text: what orders the plan and names the item in messages.
pub fn key_of(spec: &Spec, item: &Item) -> (String, String) {
    let table = &spec.table;
    (
        key_text(item.attributes.get(&table.partition_key.name)),
        table
            .sort_key
            .as_ref()
            .map(|k| key_text(item.attributes.get(&k.name)))
            .unwrap_or_default(),
    )
}

fn describe_key(spec: &Spec, item: &Item) -> String {
    describe(spec, &key_of(spec, item))
}

/// Names a key for messages: `pk=WORD#7, sk=BREAKDOWN`.
pub fn describe(spec: &Spec, (pk, sk): &(String, String)) -> String {
    match &spec.table.sort_key {
        Some(sort) => format!("{}={pk}, {}={sk}", spec.table.partition_key.name, sort.name),
        None => format!("{}={pk}", spec.table.partition_key.name),
    }
}

/// Checks one item against DynamoDB's rules for keys and size; returns its size.
pub fn check_item(spec: &Spec, planned: &Planned) -> Result<usize, TransformError> {
    let item = &planned.item;
    let fail = |rule: String| TransformError::Rule {
        item_type: item.item_type.clone(),
        key: describe_key(spec, item),
        table: planned.table.clone(),
        row: planned.row.clone(),
        rule,
    };
    let table = &spec.table;
    let sort_keys: Vec<&KeyAttr> = table
        .sort_key
        .iter()
        .chain(table.indexes.iter().filter_map(|i| i.sort_key.as_ref()))
        .collect();
    for required in std::iter::once(&table.partition_key).chain(&table.sort_key) {
        if !item.attributes.contains_key(&required.name) {
            return Err(fail(format!(
                "key attribute {} is missing; every item needs the table's keys",
                required.name
            )));
        }
    }
    for key in table.key_attributes() {
        let Some(value) = item.attributes.get(&key.name) else {
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
    let size = item.size();
    if size > MAX_ITEM_BYTES {
        return Err(fail(format!(
            "the item is {size} bytes; DynamoDB allows at most {MAX_ITEM_BYTES} (400 KB); cap its lists with a limit in the spec"
        )));
    }
    Ok(size)
}

/// Every primary key two items of the plan share, as errors naming both items' origins.
/// `types` holds each item type's entries in key order; `origin` says where one came from.
pub fn check_unique(
    spec: &Spec,
    types: &[Vec<Entry>],
    origin: impl Fn(usize, &Entry) -> Origin,
) -> Vec<TransformError> {
    let mut clashes = Vec::new();
    let mut keys: Vec<(&(String, String), usize, usize)> = types
        .iter()
        .enumerate()
        .flat_map(|(t, entries)| entries.iter().enumerate().map(move |(i, e)| (&e.key, t, i)))
        .collect();
    keys.sort_unstable();
    for pair in keys.windows(2) {
        if pair[0].0 == pair[1].0 {
            let (first, second) = (&types[pair[0].1][pair[0].2], &types[pair[1].1][pair[1].2]);
            clashes.push(TransformError::DuplicateKey(Box::new(KeyClash {
                key: describe(spec, &first.key),
                first: origin(pair[0].1, first),
                second: origin(pair[1].1, second),
            })));
        }
    }
    clashes
}
