//! Reads `spec.toml` and checks it whole against the source schema: tables, columns, template
//! fields, key attributes and indexes. Each mistake becomes a [`SpecError`] with the line.
//!
//! Here: the file's raw form and the order of the checks; `table.rs` the table and its keys,
//! `scope.rs` the rows in scope and the names that resolve in it, `item.rs` an item type,
//! `expr.rs` a value (template, column, list, map, …), `pattern.rs` an access pattern.

mod expr;
mod item;
mod onetable;
mod pattern;
mod scope;
mod table;
mod workbench;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Value as Toml};

use self::item::item_spec;
use self::pattern::pattern;
use self::table::table_spec;
use super::model::*;
use super::SpecError;
use crate::source::Schema;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpec {
    #[allow(dead_code)]
    pub(super) description: Option<String>,
    pub(super) source: Spanned<String>,
    #[serde(default)]
    pub(super) postgres_schemas: Vec<String>,
    /// A NoSQL Workbench model the table and the item types' table keys come from.
    pub(super) workbench: Option<Spanned<String>>,
    /// A OneTable schema the table's keys and the item types' fields come from.
    pub(super) onetable: Option<Spanned<String>>,
    pub(super) table: Option<Spanned<RawTable>>,
    #[serde(default)]
    pub(super) items: Vec<RawItem>,
    #[serde(default)]
    pub(super) access_patterns: Vec<RawPattern>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    pub(super) name: Option<Spanned<String>>,
    pub(super) partition_key: Option<Spanned<Toml>>,
    pub(super) sort_key: Option<Spanned<Toml>>,
    #[serde(default)]
    pub(super) indexes: Vec<RawIndex>,
    pub(super) billing: Option<Spanned<String>>,
    pub(super) read_capacity: Option<Spanned<u64>>,
    pub(super) write_capacity: Option<Spanned<u64>>,
    pub(super) type_attribute: Option<String>,
    pub(super) ttl_attribute: Option<String>,
    pub(super) on_key_clash: Option<Spanned<String>>,
    pub(super) nulls: Option<Spanned<String>>,
    pub(super) timestamp_format: Option<Spanned<String>>,
    pub(super) max_write_request_units: Option<Spanned<u64>>,
    pub(super) warm_write_units_per_second: Option<Spanned<u64>>,
    pub(super) warm_read_units_per_second: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIndex {
    pub(super) name: String,
    pub(super) partition_key: Spanned<Toml>,
    pub(super) sort_key: Option<Spanned<Toml>>,
    pub(super) projection: Option<Spanned<Toml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawItem {
    #[serde(rename = "type")]
    pub(super) name: Spanned<String>,
    pub(super) from: Spanned<String>,
    pub(super) join: Option<Toml>,
    #[serde(rename = "where", default)]
    pub(super) conditions: Vec<Spanned<String>>,
    pub(super) with_item: Option<Spanned<String>>,
    pub(super) without_item: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) group_by: Vec<String>,
    #[serde(default)]
    pub(super) order: Vec<String>,
    #[serde(default)]
    pub(super) keys: BTreeMap<String, Spanned<Toml>>,
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, Spanned<Toml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPattern {
    pub(super) name: Spanned<String>,
    pub(super) operation: Spanned<String>,
    pub(super) index: Option<Spanned<String>>,
    pub(super) key: BTreeMap<String, Spanned<Toml>>,
    pub(super) order: Option<Spanned<String>>,
    pub(super) limit: Option<Spanned<u32>>,
    pub(super) projection: Option<Spanned<Vec<String>>>,
    pub(super) filter: Option<Spanned<String>>,
    pub(super) condition: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) example: BTreeMap<String, Toml>,
    pub(super) sql: String,
}

/// Settings that apply wherever an attribute does not say otherwise.
pub(super) struct Defaults {
    pub(super) nulls: NullPolicy,
    pub(super) timestamps: TimeFormat,
}

/// Turns byte offsets into line numbers of the spec text.
pub(super) struct Lines<'a>(&'a str);

impl Lines<'_> {
    pub(super) fn of<T>(&self, spanned: &Spanned<T>) -> usize {
        self.at(spanned.span().start)
    }

    pub(super) fn at(&self, offset: usize) -> usize {
        self.0[..offset.min(self.0.len())].matches('\n').count() + 1
    }
}

/// Parses and checks the spec at `path`, whose text is `text`; `schema` types its source.
pub fn parse_spec(
    path: &Path,
    text: &str,
    load_schema: impl FnOnce(&Path) -> Result<Schema, String>,
) -> Result<Spec, SpecError> {
    let lines = Lines(text);
    let error = |line: usize, message: String| SpecError::At {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut raw: RawSpec = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| lines.at(s.start));
        error(line, e.message().trim().to_string())
    })?;
    let schema_path = path
        .parent()
        .unwrap_or(Path::new("."))
        .join(raw.source.get_ref());
    let schema = load_schema(&schema_path).map_err(|m| error(lines.of(&raw.source), m))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    if let (Some(_), Some(onetable)) = (&raw.workbench, &raw.onetable) {
        return Err(error(
            lines.of(onetable),
            "the spec names both a Workbench model and a OneTable schema; keep one".into(),
        ));
    }
    workbench::apply(&mut raw, dir, &lines).map_err(|(l, m)| error(l, m))?;
    onetable::apply(&mut raw, dir, &lines).map_err(|(l, m)| error(l, m))?;
    let Some(raw_table) = &raw.table else {
        return Err(error(
            1,
            "the spec has no [table]; describe the table there, or name a NoSQL Workbench model: workbench = \"model.json\"".into(),
        ));
    };
    let (table, defaults) = table_spec(raw_table, &lines).map_err(|(l, m)| error(l, m))?;
    let mut items: Vec<ItemSpec> = Vec::new();
    let mut joins_numbered = 0;
    for raw_item in &raw.items {
        let item = item_spec(
            raw_item,
            &table,
            &schema,
            &defaults,
            &items,
            &lines,
            &mut joins_numbered,
        )
        .map_err(|(l, m)| error(l, m))?;
        if let Some(first) = items.iter().find(|i| i.name == item.name) {
            return Err(error(
                item.line,
                format!(
                    "item type {} is already defined on line {}; give each type one [[items]] entry",
                    item.name, first.line
                ),
            ));
        }
        items.push(item);
    }
    let access_patterns = raw
        .access_patterns
        .iter()
        .map(|p| pattern(p, &table, &lines))
        .collect::<Result<_, _>>()
        .map_err(|(l, m)| error(l, m))?;
    Ok(Spec {
        table,
        timestamps: defaults.timestamps,
        items,
        access_patterns,
        schema,
        schema_path,
        postgres_schemas: raw.postgres_schemas,
        as_of: std::time::SystemTime::now().into(),
        shard: None,
    })
}

pub(super) type Located<T> = Result<T, (usize, String)>;

/// `value` as if the spec said it at `span` (where the setting that brings it in is).
pub(super) fn at<T>(span: &std::ops::Range<usize>, value: T) -> Spanned<T> {
    Spanned::new(span.clone(), value)
}

/// Refuses a `[table]` that says again what `from` (a model or schema file) holds: `said`
/// lists each such setting with the line it is said on, when it is.
pub(super) fn said_elsewhere(said: &[(&str, Option<usize>)], from: &str) -> Located<()> {
    match said.iter().find_map(|(name, line)| Some((name, (*line)?))) {
        Some((name, line)) => Err((
            line,
            format!("[table] says {name}, which comes from the {from}; remove it from [table]"),
        )),
        None => Ok(()),
    }
}
