//! One access pattern: its operation, index, key condition and example.

use toml::Value as Toml;

use super::{Lines, Located, RawPattern};
use crate::spec::template::Template;
use crate::spec::{AccessPattern, Direction, KeyCondition, Operation, TableSpec, WriteCondition};

pub(super) fn pattern(
    raw: &RawPattern,
    table: &TableSpec,
    lines: &Lines,
) -> Located<AccessPattern> {
    let line = lines.of(&raw.name);
    let name = raw.name.get_ref().clone();
    let operation = match raw.operation.get_ref().as_str() {
        "GetItem" => Operation::GetItem,
        "Query" => Operation::Query,
        "BatchGetItem" => Operation::BatchGetItem,
        "PutItem" => Operation::PutItem,
        "UpdateItem" => Operation::UpdateItem,
        "DeleteItem" => Operation::DeleteItem,
        other => {
            return Err((
                lines.of(&raw.operation),
                format!(
                "access pattern {name}: operation {other} is not GetItem, Query, BatchGetItem, PutItem, UpdateItem or DeleteItem"
            ),
            ))
        }
    };
    // Settings only some operations take.
    let query_only = [
        ("order", raw.order.as_ref().map(|o| lines.of(o))),
        ("limit", raw.limit.as_ref().map(|l| lines.of(l))),
        ("filter", raw.filter.as_ref().map(|f| lines.of(f))),
    ];
    for (setting, at) in query_only {
        if let (Some(at), false) = (at, operation == Operation::Query) {
            return Err((
                at,
                format!("access pattern {name}: {setting} applies to a Query only"),
            ));
        }
    }
    if let (Some(projection), true) = (&raw.projection, operation.writes()) {
        return Err((
            lines.of(projection),
            format!("access pattern {name}: projection applies to reads; a write returns nothing"),
        ));
    }
    if let (Some(condition), false) = (&raw.condition, operation.writes()) {
        return Err((
            lines.of(condition),
            format!(
                "access pattern {name}: condition applies to PutItem, UpdateItem and DeleteItem"
            ),
        ));
    }
    let order = match raw.order.as_ref().map(|o| (o.get_ref().as_str(), o)) {
        None | Some(("asc", _)) => Direction::Ascending,
        Some(("desc", _)) => Direction::Descending,
        Some((other, o)) => {
            return Err((
                lines.of(o),
                format!("access pattern {name}: order \"{other}\" is \"asc\" or \"desc\" (ScanIndexForward)"),
            ))
        }
    };
    let filter = match &raw.filter {
        None => None,
        Some(f) => {
            let at = lines.of(f);
            let template = Template::parse(f.get_ref()).map_err(|m| (at, m))?;
            for field in template.fields() {
                if !raw.example.contains_key(field) {
                    return Err((
                        at,
                        format!("access pattern {name}: filter's {{{field}}} has no value in example; add it"),
                    ));
                }
            }
            Some(template)
        }
    };
    let condition = raw
        .condition
        .as_ref()
        .map(|c| {
            write_condition(c.get_ref())
                .map_err(|m| (lines.of(c), format!("access pattern {name}: {m}")))
        })
        .transpose()?;
    let (partition, sort) = match &raw.index {
        None => (&table.partition_key, table.sort_key.as_ref()),
        Some(index_name) => {
            let index = table
                .indexes
                .iter()
                .find(|i| &i.name == index_name.get_ref())
                .ok_or_else(|| {
                    let known: Vec<&str> = table.indexes.iter().map(|i| i.name.as_str()).collect();
                    (
                        lines.of(index_name),
                        format!(
                            "access pattern {name} uses index {}, which the table lacks (it has: {}); declare it under [[table.indexes]]",
                            index_name.get_ref(),
                            known.join(", ")
                        ),
                    )
                })?;
            if operation != Operation::Query {
                return Err((
                    lines.of(index_name),
                    format!("access pattern {name}: only Query reads an index"),
                ));
            }
            (&index.partition_key, index.sort_key.as_ref())
        }
    };
    let mut key = Vec::new();
    for (attr, condition) in &raw.key {
        let at = lines.of(condition);
        if attr != &partition.name && Some(attr) != sort.map(|s| &s.name) {
            return Err((
                at,
                format!(
                    "access pattern {name}: key names {attr}, which is not a key of {}",
                    raw.index.as_ref().map_or("the table", |i| i.get_ref())
                ),
            ));
        }
        let condition = match condition.get_ref() {
            Toml::String(t) => KeyCondition::Equals(Template::parse(t).map_err(|m| (at, m))?),
            Toml::Table(t) if t.len() == 1 && t.get("begins_with").is_some_and(Toml::is_str) => {
                let text = t["begins_with"].as_str().expect("checked");
                KeyCondition::BeginsWith(Template::parse(text).map_err(|m| (at, m))?)
            }
            _ => {
                return Err((
                    at,
                    format!("access pattern {name}: a key condition is a template or {{ begins_with = \"…\" }}"),
                ))
            }
        };
        let placeholders = match &condition {
            KeyCondition::Equals(t) | KeyCondition::BeginsWith(t) => t,
        };
        for field in placeholders.fields() {
            if !raw.example.contains_key(field) {
                return Err((
                    at,
                    format!("access pattern {name}: {{{field}}} has no value in example; add it"),
                ));
            }
        }
        key.push((attr.clone(), condition));
    }
    // GetItem, BatchGetItem and writes address one item: its whole key, each part equal.
    let whole_key = operation != Operation::Query;
    let partial = key
        .iter()
        .any(|(_, condition)| matches!(condition, KeyCondition::BeginsWith(_)))
        || sort.is_some_and(|s| !raw.key.contains_key(&s.name));
    if whole_key && partial {
        return Err((
            line,
            format!(
                "access pattern {name}: {:?} addresses one item, so key gives the whole key ({}), each part equal to a value",
                operation,
                std::iter::once(partition.name.as_str())
                    .chain(sort.map(|s| s.name.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !raw.key.contains_key(&partition.name) {
        return Err((
            line,
            format!(
                "access pattern {name}: key needs the partition key {}",
                partition.name
            ),
        ));
    }
    let example = raw
        .example
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Toml::String(s) => s.clone(),
                Toml::Integer(i) => i.to_string(),
                Toml::Boolean(b) => b.to_string(),
                other => format!("{other:?}"),
            };
            (k.clone(), text)
        })
        .collect();
    Ok(AccessPattern {
        name,
        operation,
        index: raw.index.as_ref().map(|i| i.get_ref().clone()),
        key,
        order,
        limit: raw.limit.as_ref().map(|l| *l.get_ref()),
        projection: raw
            .projection
            .as_ref()
            .map(|p| p.get_ref().clone())
            .unwrap_or_default(),
        filter,
        condition,
        example,
        example_numbers: raw
            .example
            .iter()
            .filter(|(_, v)| matches!(v, Toml::Integer(_) | Toml::Float(_)))
            .map(|(k, _)| k.clone())
            .collect(),
        sql: raw.sql.clone(),
    })
}

/// Reads a write's condition: `attribute_exists(a)` or `attribute_not_exists(a)`, joined by
/// `AND`, the guards single-table designs put on their writes.
fn write_condition(text: &str) -> Result<WriteCondition, String> {
    let mut terms = Vec::new();
    for term in text.split(" AND ") {
        let term = term.trim();
        let (exists, inner) = if let Some(rest) = term.strip_prefix("attribute_exists(") {
            (true, rest)
        } else if let Some(rest) = term.strip_prefix("attribute_not_exists(") {
            (false, rest)
        } else {
            return Err(format!("condition \"{text}\": only attribute_exists(name) and attribute_not_exists(name), joined by AND, can be checked without writing"));
        };
        let name = inner
            .strip_suffix(')')
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.contains([' ', '(', ')']))
            .ok_or(format!("condition \"{text}\": {term} names no attribute"))?;
        terms.push((name.trim_start_matches('#').to_string(), exists));
    }
    Ok(WriteCondition {
        text: text.to_string(),
        terms,
    })
}
