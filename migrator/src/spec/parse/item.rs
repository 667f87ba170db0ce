//! One item type: its root, joins, conditions, grouping, keys and attributes.

use toml::Spanned;

use super::expr::expr;
use super::scope::{joins, Scope};
use super::{Defaults, Lines, Located, RawItem};
use crate::source::{ColumnType, Schema};
use crate::spec::workbench::value_alias;
use crate::spec::{Expr, ItemSpec, ItemTypeId, KeyAttr, TableSpec, TimeFormat};

pub(super) fn item_spec(
    raw: &RawItem,
    table: &TableSpec,
    schema: &Schema,
    defaults: &Defaults,
    earlier: &[ItemSpec],
    lines: &Lines,
    joins_numbered: &mut usize,
) -> Located<ItemSpec> {
    let line = lines.of(&raw.name);
    let name = raw.name.get_ref().clone();
    let root = schema.table(raw.from.get_ref()).ok_or_else(|| {
        (
            lines.of(&raw.from),
            format!(
                "item type {name} reads table {}, which the source lacks (it has: {}); check the table name",
                raw.from.get_ref(),
                schema.table_names()
            ),
        )
    })?;
    let mut scope = Scope::default();
    scope.joins.set(*joins_numbered);
    scope.push(&root.name, root);
    let joins = joins(raw.join.as_ref(), &mut scope, schema, &name).map_err(|m| (line, m))?;
    let conditions = raw
        .conditions
        .iter()
        .map(|c| scope.condition(c.get_ref()).map_err(|m| (lines.of(c), m)))
        .collect::<Located<Vec<_>>>()?;
    let item_ref = |value: &Option<Spanned<String>>,
                    needs_root: bool|
     -> Located<Option<ItemTypeId>> {
        let Some(value) = value else { return Ok(None) };
        let at = lines.of(value);
        let index = earlier
            .iter()
            .position(|i| &i.name == value.get_ref())
            .ok_or((
                at,
                format!(
                    "item type {name} refers to item type {}, which is not defined before it",
                    value.get_ref()
                ),
            ))?;
        let other_root = &earlier[index].root;
        let in_scope = scope.levels[0]
            .slots
            .iter()
            .any(|(_, s)| &s.name == other_root);
        if (needs_root && other_root != &root.name) || !in_scope {
            return Err((at, format!("item type {name} can only refer to {} through a row of its root table {other_root}; join it", value.get_ref())));
        }
        Ok(Some(ItemTypeId(index)))
    };
    let with_item = item_ref(&raw.with_item, false)?;
    let without_item = item_ref(&raw.without_item, true)?;
    let group_by = scope.fields(&raw.group_by).map_err(|m| (line, m))?;
    let order = scope.order(&raw.order).map_err(|m| (line, m))?;
    scope.levels[0].grouped = !group_by.is_empty();
    let key_names: Vec<&KeyAttr> = table.key_attributes().collect();
    for required in std::iter::once(&table.partition_key).chain(&table.sort_key) {
        if !raw.keys.contains_key(&required.name) {
            return Err((
                line,
                format!(
                    "item type {name} has no template for key attribute {}; add it under keys",
                    required.name
                ),
            ));
        }
    }
    let mut keys = Vec::new();
    for (attr, value) in &raw.keys {
        if !key_names.iter().any(|k| &k.name == attr) {
            let known: Vec<&str> = key_names.iter().map(|k| k.name.as_str()).collect();
            return Err((
                lines.of(value),
                format!(
                    "keys names {attr}, which is no key attribute of the table or its indexes ({}); check the name or declare the index",
                    known.join(", ")
                ),
            ));
        }
        let rule = format!("{name}.{attr}");
        scope.watch = Some(Default::default());
        let parsed = expr(value.get_ref(), &mut scope, schema, defaults, &rule, 0);
        let read = scope
            .watch
            .take()
            .map(|w| w.into_inner())
            .unwrap_or_default();
        let expr = parsed.map_err(|m| (lines.of(value), m))?;
        if !single_value(&expr) {
            return Err((
                lines.of(value),
                format!("key {attr} of item type {name} is a map or a list; a key is one value: a template, a column or a constant"),
            ));
        }
        let times = read
            .iter()
            .any(|t| matches!(t, ColumnType::Timestamp | ColumnType::TimestampTz));
        if times && table.sort_keys().any(|k| &k.name == attr) {
            for format in time_formats(&expr, &defaults.timestamps) {
                format.check_sorts_as_time().map_err(|why| {
                    (
                        lines.of(value),
                        format!("sort key {attr} of item type {name} is written from a timestamp, but {why}; use \"iso8601\" (fixed width) or an epoch format for it"),
                    )
                })?;
            }
        }
        keys.push((attr.clone(), expr));
    }
    let mut attributes = Vec::new();
    for (attr, value) in &raw.attributes {
        if key_names.iter().any(|k| &k.name == attr) || table.type_attribute.as_ref() == Some(attr)
        {
            return Err((
                lines.of(value),
                format!("attribute {attr} is a key or the type attribute; set it under keys or not at all"),
            ));
        }
        let rule = format!("{name}.{attr}");
        let expr = expr(value.get_ref(), &mut scope, schema, defaults, &rule, 0)
            .map_err(|m| (lines.of(value), m))?;
        attributes.push((attr.clone(), expr));
    }
    let key_aliases = raw
        .keys
        .iter()
        .map(|(name, value)| (name.clone(), value_alias(value.get_ref())))
        .collect();
    *joins_numbered = scope.joins.get();
    Ok(ItemSpec {
        name,
        root: root.name.clone(),
        joins,
        conditions,
        with_item,
        without_item,
        group_by,
        order,
        keys,
        key_aliases,
        attributes,
        line,
    })
}

/// The time formats a single-value expression writes its timestamps with: a column's own, or
/// `default` (a template's fields, a column without one).
fn time_formats<'e>(expr: &'e Expr, default: &'e TimeFormat) -> Vec<&'e TimeFormat> {
    match expr {
        Expr::Template { .. } => vec![default],
        Expr::Column { format, .. } => vec![format.as_ref().unwrap_or(default)],
        Expr::One { item, .. } => time_formats(item, default),
        Expr::When { expr, .. } => time_formats(expr, default),
        Expr::Const(_) | Expr::Map(_) | Expr::List { .. } => Vec::new(),
    }
}

/// A map's entries in name order, each name once (of two, the later wins): the order items
/// are written in.
pub(super) fn by_name(mut entries: Vec<(String, Expr)>) -> Vec<(String, Expr)> {
    entries.reverse();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, first| later.0 == first.0);
    entries
}

/// Whether `expr` gives one value (a template, a column or a constant, maybe inside `one` or
/// `when`), as a key must; maps and lists do not.
pub(super) fn single_value(expr: &Expr) -> bool {
    match expr {
        Expr::Template { .. } | Expr::Column { .. } | Expr::Const(_) => true,
        Expr::One { item, .. } => single_value(item),
        Expr::When { expr, .. } => single_value(expr),
        Expr::Map(_) | Expr::List { .. } => false,
    }
}
