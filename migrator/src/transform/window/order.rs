//! Item types whose windows come in key order. When every item's partition key is a constant
//! followed by the one root column its windows are cut on (`WORD#{id}`), or the partition key
//! is a constant and the sort key is (`WORD` and `{word}`), windows read in that column's text
//! order hold keys that follow one another: their lines go straight to the plan, with no
//! sorted runs to write and merge.

use crate::source::ColumnType;
use crate::spec::{Expr, FieldRef, ItemSpec, KeyClashPolicy, Piece, Spec, Template};

/// Whether item type `item`'s windows, cut on the root columns `key` and read in their text
/// order, give its lines in key order. Never when items move off shared keys
/// (`on_key_clash`): a moved sort key need not follow its window's order.
pub fn in_key_order(spec: &Spec, item: &ItemSpec, key: &[usize]) -> bool {
    let [column] = key else {
        return false;
    };
    let root = spec
        .schema
        .table(&item.root)
        .expect("the spec checked its tables");
    // Whole numbers and text are rendered in a key as Postgres renders them as text.
    if !matches!(root.columns[*column].ty, ColumnType::Int | ColumnType::Text)
        || spec.table.on_key_clash != KeyClashPolicy::Error
    {
        return false;
    }
    let template = |name: &str| {
        item.keys.iter().find_map(|(n, expr)| match expr {
            Expr::Template { template, .. } if n == name => Some(template),
            _ => None,
        })
    };
    let the_column = FieldRef {
        level: 0,
        slot: 0,
        column: *column,
    };
    let ends_in_column = |t: &Template<FieldRef>| {
        let field = match &t.pieces[..] {
            [Piece::Field {
                field,
                default,
                ulid,
            }]
            | [Piece::Literal(_), Piece::Field {
                field,
                default,
                ulid,
            }] => (default.is_none() && !ulid).then_some(field),
            _ => None,
        };
        field == Some(&the_column)
    };
    let constant = |t: &Template<FieldRef>| t.pieces.iter().all(|p| matches!(p, Piece::Literal(_)));
    let Some(pk) = template(&spec.table.partition_key.name) else {
        return false;
    };
    let sk = spec.table.sort_key.as_ref().and_then(|k| template(&k.name));
    ends_in_column(pk) || (constant(pk) && sk.is_some_and(ends_in_column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::paths::tests::rootski;

    fn in_order(spec: &Spec) -> Vec<&str> {
        let ordered = |item: &&ItemSpec| {
            in_key_order(spec, item, &super::super::read::window_key(spec, item))
        };
        spec.items
            .iter()
            .filter(ordered)
            .map(|i| i.name.as_str())
            .collect()
    }

    #[test]
    fn keys_that_end_in_the_window_column_after_a_constant() {
        let mut spec = rootski();
        // BREAKDOWN_ITEM's partition key is a joined table's column, MORPHEME's a column other
        // than its primary key; UNOFFICIAL_USER_BREAKDOWN's windows are cut on two columns.
        // WORD_FOR_SEARCH has one partition key, "WORD", and its sort key is the word.
        assert_eq!(
            in_order(&spec),
            [
                "USER",
                "WORD",
                "WORD_FOR_SEARCH",
                "BREAKDOWN",
                "MORPHEME_FAMILY"
            ]
        );
        // A NULL's text would not sort where Postgres puts NULL.
        let word = spec.items.iter_mut().find(|i| i.name == "WORD").unwrap();
        let Expr::Template { template, .. } = &mut word.keys[0].1 else {
            panic!("WORD's partition key is a template");
        };
        let Piece::Field { default, .. } = &mut template.pieces[1] else {
            panic!("WORD#{{id}}");
        };
        *default = Some("none".into());
        assert!(!in_order(&spec).contains(&"WORD"));
        spec.table.on_key_clash = KeyClashPolicy::NextSortKey;
        assert!(in_order(&spec).is_empty());
    }
}
