//! The spec's access patterns run for real against the table as the application issues them
//! (order, projection, a limit met page after page, a filter; writes checked by reading the
//! item their key addresses and evaluating their condition on it), each answer compared with
//! the answer the pattern's SQL gives from the source: in order when the SQL orders its rows,
//! as sets otherwise, attribute by attribute for the columns the SQL names beyond the keys.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use serde::Serialize;
use sqlx::{Column as _, PgConnection, Row as _};

use crate::sink::dynamodb::{service_error, SinkError};
use crate::spec::{
    AccessPattern, Direction, KeyCondition, Operation, Piece, Spec, Template, WriteCondition,
};

/// One access pattern's two answers, and how they compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternCheck {
    pub name: String,
    /// The example the pattern ran with: `email=admin@example.com`.
    pub example: String,
    /// Keys of the items DynamoDB returned, in its order (partition and sort key text; sort key
    /// empty when the SQL gives partition keys only).
    pub dynamo: Vec<(String, String)>,
    /// Keys the SQL gives, in its order.
    pub sql: Vec<(String, String)>,
    /// Whether the answers were compared in order (the SQL has an ORDER BY of its own).
    pub ordered: bool,
    /// For a write with a condition: whether it holds on the item read, so the write would be
    /// made.
    pub would_write: Option<bool>,
    pub matches: bool,
    /// The first difference, in words.
    pub difference: Option<String>,
}

/// Why an access pattern could not be run.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("access pattern {name}: {source}")]
    Dynamo { name: String, source: SinkError },
    #[error("access pattern {name}: its SQL failed: {message}; fix the sql in the spec")]
    Sql { name: String, message: String },
}

/// The example's values by name, with whether each was written as a number.
struct Example<'p> {
    values: HashMap<&'p str, &'p str>,
    numbers: &'p [String],
    /// The plan's moment, which `{as_of}` in the SQL stands for (RFC 3339).
    as_of: String,
}

impl Example<'_> {
    fn render(&self, template: &Template<String>) -> String {
        template
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.clone(),
                Piece::Field { field, default, .. } => self
                    .values
                    .get(field.as_str())
                    .map(|v| v.to_string())
                    .or_else(|| default.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The value of `field` as DynamoDB compares it: a number when the example wrote one.
    fn value(&self, field: &str) -> AttributeValue {
        let text = self
            .values
            .get(field)
            .copied()
            .unwrap_or_default()
            .to_string();
        if self.numbers.iter().any(|n| n == field) {
            AttributeValue::N(text)
        } else {
            AttributeValue::S(text)
        }
    }

    /// The SQL with each `{name}` replaced by the example value as a quoted literal, and
    /// `{as_of}` by the plan's moment as a `timestamptz`.
    fn sql(&self, sql: &str) -> String {
        let mut sql = sql.replace("{as_of}", &format!("'{}'::timestamptz", self.as_of));
        for (name, value) in &self.values {
            sql = sql.replace(
                &format!("{{{name}}}"),
                &format!("'{}'", value.replace('\'', "''")),
            );
        }
        sql
    }
}

/// An item or a row as the comparison sees it: its key, and the attributes the SQL names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    key: (String, String),
    attributes: Vec<(String, Option<String>)>,
}

/// A value as text, for comparing with the SQL's: strings and numbers as they are, booleans
/// as `true`/`false`, anything else as its DynamoDB JSON; NULL is none.
fn text(value: Option<&AttributeValue>) -> Option<String> {
    match value? {
        AttributeValue::S(s) | AttributeValue::N(s) => Some(s.clone()),
        AttributeValue::Bool(b) => Some(b.to_string()),
        AttributeValue::Null(_) => None,
        other => {
            let item: HashMap<String, AttributeValue> =
                [(String::new(), other.clone())].into_iter().collect();
            let line = crate::item::item_to_line(&item);
            let inner = line
                .strip_prefix("{\"Item\":{\"\":")
                .and_then(|rest| rest.strip_suffix("}}"));
            Some(inner.unwrap_or(&line).to_string())
        }
    }
}

/// Whether `sql` orders its rows itself: an ORDER BY outside any parentheses and quotes.
fn orders_rows(sql: &str) -> bool {
    let (mut depth, mut quoted) = (0i32, false);
    let upper = sql.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b'O' if !quoted && depth == 0 && upper[i..].starts_with("ORDER") => {
                let after = upper[i + 5..].trim_start();
                let before_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
                if before_ok && after.starts_with("BY") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// `{name}` and `#name` of an expression: DynamoDB's placeholders for the example's values
/// and for attribute names.
fn placeholders(expression: &str, request_names: &mut Vec<(String, String)>) -> String {
    for word in expression.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '#')) {
        if let Some(name) = word.strip_prefix('#') {
            if !name.is_empty() && !request_names.iter().any(|(p, _)| p == word) {
                request_names.push((word.to_string(), name.to_string()));
            }
        }
    }
    expression.to_string()
}

/// Runs every access pattern of `spec` against `table` and its SQL against `conn`.
pub async fn check_patterns(
    spec: &Spec,
    client: &Client,
    table: &str,
    conn: &mut PgConnection,
) -> Result<Vec<PatternCheck>, PatternError> {
    let pk = &spec.table.partition_key.name;
    let sk = spec.table.sort_key.as_ref().map(|k| k.name.as_str());
    let mut checks = Vec::new();
    for pattern in &spec.access_patterns {
        let example = Example {
            values: pattern
                .example
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            numbers: &pattern.example_numbers,
            as_of: spec.as_of.to_rfc3339(),
        };
        let dynamo_error = |source| PatternError::Dynamo {
            name: pattern.name.clone(),
            source,
        };
        let keys = [Some(pk.as_str()), sk].into_iter().flatten().collect();
        let items = run(pattern, client, table, &example, keys)
            .await
            .map_err(dynamo_error)?;
        let sql_error = |e: sqlx::Error| PatternError::Sql {
            name: pattern.name.clone(),
            message: crate::source::postgres_says(&e),
        };
        // The spec's own SQL, as its author would run it; the example values are quoted.
        let rows = sqlx::query(sqlx::AssertSqlSafe(example.sql(&pattern.sql)))
            .fetch_all(&mut *conn)
            .await
            .map_err(sql_error)?;
        let names: Vec<String> = rows
            .first()
            .map(|r| r.columns().iter().map(|c| c.name().to_string()).collect())
            .unwrap_or_default();
        let pk_only = names.len() == 1;
        let attribute_names: Vec<&String> = names.iter().skip(2).collect();
        let mut sql = Vec::new();
        for row in &rows {
            let cell = |i: usize| -> Result<Option<String>, PatternError> {
                row.try_get::<Option<String>, _>(i)
                    .map_err(|_| PatternError::Sql {
                        name: pattern.name.clone(),
                        message: format!(
                            "column {} is not text; cast it (… ::text AS {})",
                            names[i], names[i]
                        ),
                    })
            };
            let key = (
                cell(0)?.unwrap_or_default(),
                if pk_only {
                    String::new()
                } else {
                    cell(1)?.unwrap_or_default()
                },
            );
            let attributes = (2..names.len())
                .map(|i| Ok((names[i].clone(), cell(i)?)))
                .collect::<Result<_, PatternError>>()?;
            sql.push(Answer { key, attributes });
        }
        // A sort key the SQL cannot make (a ULID the migration generates) is NULL in every
        // row: the items are told apart by their attributes instead.
        let by_attributes = !pk_only
            && !attribute_names.is_empty()
            && !sql.is_empty()
            && rows
                .iter()
                .all(|r| matches!(r.try_get::<Option<String>, _>(1), Ok(None)));
        let mut dynamo: Vec<Answer> = items
            .iter()
            .map(|item| Answer {
                key: (
                    text(item.get(pk)).unwrap_or_default(),
                    if pk_only {
                        String::new()
                    } else {
                        text(sk.and_then(|s| item.get(s))).unwrap_or_default()
                    },
                ),
                attributes: attribute_names
                    .iter()
                    .map(|n| (n.to_string(), text(item.get(n.as_str()))))
                    .collect(),
            })
            .collect();
        if by_attributes {
            for answer in sql.iter_mut().chain(dynamo.iter_mut()) {
                let shown: Vec<String> = answer
                    .attributes
                    .iter()
                    .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("nothing")))
                    .collect();
                answer.key.1 = format!("{{{}}}", shown.join(", "));
            }
        }
        let would_write = match (&pattern.condition, pattern.operation.writes()) {
            (Some(condition), true) => Some(holds(condition, items.first())),
            _ => None,
        };
        checks.push(compare(pattern, &example, sql, dynamo, would_write));
    }
    Ok(checks)
}

/// Whether a write's condition holds on the item its key addresses (or on none).
fn holds(condition: &WriteCondition, item: Option<&Item>) -> bool {
    condition
        .terms
        .iter()
        .all(|(name, exists)| item.is_some_and(|i| i.contains_key(name)) == *exists)
}

/// The pattern's two answers compared: in order when the SQL orders its rows, else as sets.
fn compare(
    pattern: &AccessPattern,
    example: &Example,
    mut sql: Vec<Answer>,
    mut dynamo: Vec<Answer>,
    would_write: Option<bool>,
) -> PatternCheck {
    let ordered = orders_rows(&pattern.sql);
    if !ordered {
        for answers in [&mut sql, &mut dynamo] {
            answers.sort_by(|a, b| a.key.cmp(&b.key));
            answers.dedup_by(|a, b| a.key == b.key);
        }
    }
    let show = |key: &(String, String)| format!("{} {}", key.0, key.1).trim().to_string();
    let difference = if ordered {
        (0..sql.len().max(dynamo.len())).find_map(|i| match (dynamo.get(i), sql.get(i)) {
            (Some(d), Some(s)) if d.key != s.key => Some(format!(
                "position {}: DynamoDB returned {}, the SQL {}",
                i + 1,
                show(&d.key),
                show(&s.key)
            )),
            (Some(d), Some(s)) => attribute_difference(d, s),
            (Some(d), None) => Some(format!(
                "position {}: DynamoDB returned {}, the SQL nothing more",
                i + 1,
                show(&d.key)
            )),
            (None, Some(s)) => Some(format!(
                "position {}: DynamoDB returned nothing more, the SQL {}",
                i + 1,
                show(&s.key)
            )),
            (None, None) => None,
        })
    } else {
        let missing = sql
            .iter()
            .find(|s| !dynamo.iter().any(|d| d.key == s.key))
            .map(|s| {
                format!(
                    "DynamoDB did not return {}, which the SQL gives",
                    show(&s.key)
                )
            });
        let extra = || {
            dynamo
                .iter()
                .find(|d| !sql.iter().any(|s| s.key == d.key))
                .map(|d| {
                    format!(
                        "DynamoDB returned {}, which the SQL does not give",
                        show(&d.key)
                    )
                })
        };
        let changed = || {
            sql.iter().find_map(|s| {
                dynamo
                    .iter()
                    .find(|d| d.key == s.key)
                    .and_then(|d| attribute_difference(d, s))
            })
        };
        missing.or_else(extra).or_else(changed)
    };
    let mut shown: Vec<String> = example
        .values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    shown.sort();
    PatternCheck {
        name: pattern.name.clone(),
        example: shown.join(", "),
        dynamo: dynamo.into_iter().map(|a| a.key).collect(),
        sql: sql.into_iter().map(|a| a.key).collect(),
        ordered,
        would_write,
        matches: difference.is_none(),
        difference,
    }
}

/// The first attribute the SQL names whose value the item does not carry as the SQL says.
fn attribute_difference(dynamo: &Answer, sql: &Answer) -> Option<String> {
    let show = |v: &Option<String>| {
        v.as_ref()
            .map_or("nothing".to_string(), |v| format!("\"{v}\""))
    };
    sql.attributes
        .iter()
        .zip(&dynamo.attributes)
        .find(|((_, s), (_, d))| s != d)
        .map(|((name, s), (_, d))| {
            format!(
                "{} {}: attribute {name} is {} in DynamoDB, {} in the SQL",
                sql.key.0,
                sql.key.1,
                show(d),
                show(s)
            )
        })
}

type Item = HashMap<String, AttributeValue>;

/// Runs `pattern` as the application does and returns the items in DynamoDB's order; `keys`
/// (the table's key attributes) are always asked for, so every item can be named.
async fn run(
    pattern: &AccessPattern,
    client: &Client,
    table: &str,
    example: &Example<'_>,
    keys: Vec<&str>,
) -> Result<Vec<Item>, SinkError> {
    let key: Vec<(String, KeyCondition, String)> = pattern
        .key
        .iter()
        .map(|(attr, condition)| {
            let rendered = match condition {
                KeyCondition::Equals(t) | KeyCondition::BeginsWith(t) => example.render(t),
            };
            (attr.clone(), condition.clone(), rendered)
        })
        .collect();
    let exact: Item = key
        .iter()
        .map(|(attr, _, v)| (attr.clone(), AttributeValue::S(v.clone())))
        .collect();
    let mut names: Vec<(String, String)> = Vec::new();
    let projection = (!pattern.projection.is_empty()).then(|| {
        let mut wanted: Vec<&str> = pattern.projection.iter().map(String::as_str).collect();
        for key in keys {
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        let expression: Vec<String> = wanted
            .iter()
            .enumerate()
            .map(|(i, name)| {
                names.push((format!("#p{i}"), name.to_string()));
                format!("#p{i}")
            })
            .collect();
        expression.join(", ")
    });
    let name_map = |names: &[(String, String)]| -> Option<HashMap<String, String>> {
        (!names.is_empty()).then(|| names.iter().cloned().collect())
    };
    match pattern.operation {
        Operation::GetItem | Operation::PutItem | Operation::UpdateItem | Operation::DeleteItem => {
            let out = client
                .get_item()
                .table_name(table)
                .set_key(Some(exact))
                .consistent_read(pattern.operation.writes())
                .set_projection_expression(projection)
                .set_expression_attribute_names(name_map(&names))
                .send()
                .await
                .map_err(service_error)?;
            Ok(out.item().cloned().into_iter().collect())
        }
        Operation::BatchGetItem => {
            let keys = KeysAndAttributes::builder()
                .keys(exact)
                .set_projection_expression(projection)
                .set_expression_attribute_names(name_map(&names))
                .build()
                .expect("keys are set");
            let out = client
                .batch_get_item()
                .request_items(table, keys)
                .send()
                .await
                .map_err(service_error)?;
            Ok(out
                .responses()
                .and_then(|r| r.get(table))
                .cloned()
                .unwrap_or_default())
        }
        Operation::Query => {
            let mut expression = Vec::new();
            let mut request = client
                .query()
                .table_name(table)
                .scan_index_forward(pattern.order == Direction::Ascending)
                .set_projection_expression(projection);
            for (i, (attr, condition, value)) in key.iter().enumerate() {
                let (name, placeholder) = (format!("#k{i}"), format!(":k{i}"));
                expression.push(match condition {
                    KeyCondition::Equals(_) => format!("{name} = {placeholder}"),
                    KeyCondition::BeginsWith(_) => format!("begins_with({name}, {placeholder})"),
                });
                names.push((name, attr.clone()));
                request = request
                    .expression_attribute_values(placeholder, AttributeValue::S(value.clone()));
            }
            if let Some(filter) = &pattern.filter {
                let mut text = String::new();
                for piece in &filter.pieces {
                    match piece {
                        Piece::Literal(s) => text.push_str(s),
                        Piece::Field { field, .. } => {
                            let placeholder = format!(":f_{field}");
                            text.push_str(&placeholder);
                            request = request
                                .expression_attribute_values(&placeholder, example.value(field));
                        }
                    }
                }
                request = request.filter_expression(placeholders(&text, &mut names));
            }
            // The partition key condition comes first, as DynamoDB requires.
            expression.sort_by_key(|e| e.starts_with("begins_with"));
            request = request
                .key_condition_expression(expression.join(" AND "))
                .set_expression_attribute_names(name_map(&names))
                .set_index_name(pattern.index.clone());
            let wanted = pattern.limit.map(|l| l as usize);
            if let Some(limit) = pattern.limit {
                request = request.limit(limit as i32);
            }
            // Page after page, as the application does, until the limit is met or no page is
            // left (a filter may leave a page short of it).
            let mut items = Vec::new();
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                items.extend(page.map_err(service_error)?.items().iter().cloned());
                if wanted.is_some_and(|n| items.len() >= n) {
                    break;
                }
            }
            if let Some(n) = wanted {
                items.truncate(n);
            }
            Ok(items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::orders_rows;

    #[test]
    fn only_an_order_by_of_the_whole_query_orders_the_answer() {
        assert!(orders_rows("SELECT a FROM t ORDER BY a"));
        assert!(orders_rows("select a from t order\n  by a desc"));
        assert!(!orders_rows(
            "SELECT x FROM (SELECT DISTINCT ON (w) w AS x FROM t ORDER BY w, v DESC) o"
        ));
        assert!(!orders_rows("SELECT 'ORDER BY' AS pk FROM t"));
        assert!(!orders_rows("SELECT reorder_by FROM t"));
    }
}
