//! One access pattern: its operation, index, key condition and example.

use toml::Value as Toml;

use super::{Lines, Located, RawPattern};
use crate::spec::template::Template;
use crate::spec::{AccessPattern, KeyCondition, Operation, TableSpec};

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
        other => {
            return Err((
                lines.of(&raw.operation),
                format!(
                "access pattern {name}: operation {other} is not GetItem, Query or BatchGetItem"
            ),
            ))
        }
    };
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
        limit: raw.limit,
        example,
        sql: raw.sql.clone(),
    })
}
