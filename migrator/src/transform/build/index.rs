//! The hash indexes relations and joins look rows up in.

use foldhash::{HashMap, HashMapExt};

use super::{Builder, Scope};
use crate::source::Value;
use crate::spec::{On, TimeFormat};
use crate::transform::convert::{push_sized_text, push_text, text};
use crate::transform::tables::TableData;

/// Rows of a table by the values of some of their columns: by the whole number itself when
/// the index is on one column of whole numbers (most joins are on ids), else by the columns'
/// text. Both find the same rows: a whole number's text is its decimal form.
pub(super) enum Index {
    /// Whole numbers close together (ids counted up): the rows of number `first + i` at `i`.
    Dense {
        first: i64,
        rows: Vec<Rows>,
    },
    Ints(HashMap<i64, Rows>),
    Texts(HashMap<Box<str>, Rows>),
}

/// Whole numbers are indexed densely when their range holds fewer than this many slots per row
/// indexed: the vector is never much larger than the rows.
const DENSE_SLOTS_PER_ROW: u64 = 2;

impl Index {
    /// The rows of whole number `i` in an index of whole numbers (none in an index of texts).
    fn number(&self, i: i64) -> Option<&Rows> {
        match self {
            Index::Dense { first, rows } => i
                .checked_sub(*first)
                .and_then(|at| usize::try_from(at).ok())
                .and_then(|at| rows.get(at)),
            Index::Ints(index) => index.get(&i),
            Index::Texts(_) => None,
        }
    }
}

/// The rows one index key names: most keys (ids) name one, which then needs no vector.
pub(super) enum Rows {
    One(usize),
    Many(Box<[usize]>),
}

impl Rows {
    pub(super) fn as_slice(&self) -> &[usize] {
        match self {
            Rows::One(row) => std::slice::from_ref(row),
            Rows::Many(rows) => rows,
        }
    }
}

/// Appends the text rows of an index are found by: one value's text; of several, each sized
/// ([`push_sized_text`]), so that no two keys read alike. False when a value is NULL, which
/// joins nothing.
pub(super) fn push_index_key<'v>(
    values: impl Iterator<Item = &'v Value>,
    format: &TimeFormat,
    out: &mut String,
) -> bool {
    let mut values = values.peekable();
    let mut several = false;
    while let Some(v) = values.next() {
        if matches!(v, Value::Null) {
            return false;
        }
        several = several || values.peek().is_some();
        if several {
            push_sized_text(v, format, out);
        } else {
            push_text(v, format, out);
        }
    }
    true
}

/// The index of `data`'s rows on `columns` (rows with a NULL among them are in no index).
pub(super) fn index(data: &TableData, columns: &[usize], format: &TimeFormat) -> Index {
    if let [column] = columns {
        let values = || data.rows.iter().map(|row| &row[*column]);
        if values().all(|v| matches!(v, Value::Int(_) | Value::Null)) {
            return ints(values().enumerate().filter_map(|(i, value)| match value {
                Value::Int(n) => Some((i, *n)),
                _ => None,
            }));
        }
    }
    let mut index: HashMap<Box<str>, Vec<usize>> = HashMap::new();
    let mut key = String::new();
    for (i, row) in data.rows.iter().enumerate() {
        key.clear();
        let values = columns.iter().map(|&c| &row[c]);
        if push_index_key(values, format, &mut key) {
            match index.get_mut(key.as_str()) {
                Some(rows) => rows.push(i),
                None => {
                    index.insert(key.as_str().into(), vec![i]);
                }
            }
        }
    }
    Index::Texts(compact(index))
}

/// The index of whole numbers given as (row, number): dense when the numbers are close
/// together (a slot is found without hashing, in one memory read), else hashed.
fn ints(numbers: impl Iterator<Item = (usize, i64)> + Clone) -> Index {
    let (mut first, mut last, mut count) = (i64::MAX, i64::MIN, 0u64);
    for (_, n) in numbers.clone() {
        (first, last, count) = (first.min(n), last.max(n), count + 1);
    }
    if count > 0 && last.abs_diff(first) < count * DENSE_SLOTS_PER_ROW {
        let mut rows = vec![Vec::new(); last.abs_diff(first) as usize + 1];
        for (row, n) in numbers {
            rows[n.abs_diff(first) as usize].push(row);
        }
        let rows = rows.into_iter().map(Rows::from).collect();
        return Index::Dense { first, rows };
    }
    let mut index: HashMap<i64, Vec<usize>> = HashMap::new();
    for (row, n) in numbers {
        index.entry(n).or_default().push(row);
    }
    Index::Ints(compact(index))
}

/// An index as it is kept: no vector for a key that names one row.
fn compact<K: Eq + std::hash::Hash>(index: HashMap<K, Vec<usize>>) -> HashMap<K, Rows> {
    index
        .into_iter()
        .map(|(key, rows)| (key, Rows::from(rows)))
        .collect()
}

impl From<Vec<usize>> for Rows {
    fn from(rows: Vec<usize>) -> Self {
        match rows[..] {
            [row] => Rows::One(row),
            _ => Rows::Many(rows.into_boxed_slice()),
        }
    }
}

impl<'a> Builder<'a> {
    /// The rows `on` finds for the rows in `scope` (none when a field it reads is NULL).
    pub(super) fn lookup(&self, on: &On, scope: &Scope) -> &[usize] {
        thread_local! {
            /// The key being looked up: one buffer per thread, not one string per lookup.
            static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let at = (self.index_of.get(on.id.0).copied().flatten())
            .expect("every on list a plan reads is indexed");
        let number = || match self.value(&on.pairs[0].1, scope) {
            Value::Null => None,
            Value::Int(i) => Some(*i),
            v => {
                let text = text(v, &self.spec.timestamps);
                text.parse::<i64>()
                    .ok()
                    .filter(|i| itoa::Buffer::new().format(*i) == text)
            }
        };
        let found = match &self.indexes[at] {
            Index::Texts(index) => KEY.with_borrow_mut(|key| {
                key.clear();
                let values = on.pairs.iter().map(|(_, f)| self.value(f, scope));
                if push_index_key(values, &self.spec.timestamps, key) {
                    index.get(key.as_str())
                } else {
                    None
                }
            }),
            ints => number().and_then(|i| ints.number(i)),
        };
        found.map_or(&[][..], Rows::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(index: &Index, i: i64) -> Vec<usize> {
        index
            .number(i)
            .map_or(Vec::new(), |r| r.as_slice().to_vec())
    }

    fn of(numbers: &[i64]) -> Index {
        ints(numbers.iter().copied().enumerate())
    }

    #[test]
    fn close_numbers_are_indexed_densely_and_find_the_same_rows() {
        let index = of(&[-2, 0, 0, 3]);
        assert!(matches!(index, Index::Dense { first: -2, .. }));
        assert_eq!(found(&index, -2), [0]);
        assert_eq!(found(&index, 0), [1, 2]);
        assert_eq!(found(&index, 3), [3]);
        for absent in [-3, -1, 1, 4, i64::MIN, i64::MAX] {
            assert_eq!(found(&index, absent), Vec::<usize>::new(), "{absent}");
        }
    }

    #[test]
    fn far_apart_numbers_are_hashed() {
        let index = of(&[i64::MIN, 5, i64::MAX]);
        assert!(matches!(index, Index::Ints(_)));
        assert_eq!(found(&index, i64::MIN), [0]);
        assert_eq!(found(&index, i64::MAX), [2]);
        assert_eq!(found(&index, 6), Vec::<usize>::new());
        assert!(matches!(of(&[1, 8]), Index::Ints(_)));
        assert!(matches!(of(&[1, 4]), Index::Dense { .. }));
    }
}
