//! The spec's access patterns run for real against the table, each answer compared with the
//! answer the pattern's SQL gives from the source (the keys of the items it must return).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use serde::Serialize;
use sqlx::{PgConnection, Row as _};

use crate::sink::dynamodb::{service_error, SinkError};
use crate::spec::{AccessPattern, KeyCondition, Operation, Piece, Spec, Template};

/// One access pattern's two answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternCheck {
    pub name: String,
    /// Keys of the items DynamoDB returned (partition and sort key text; sort key empty when
    /// the SQL gives partition keys only).
    pub dynamo: Vec<(String, String)>,
    /// Keys the SQL gives.
    pub sql: Vec<(String, String)>,
    pub matches: bool,
}

/// Why an access pattern could not be run.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("access pattern {name}: {source}")]
    Dynamo { name: String, source: SinkError },
    #[error("access pattern {name}: its SQL failed: {message}; fix the sql in the spec")]
    Sql { name: String, message: String },
}

fn render(template: &Template<String>, values: &HashMap<&str, &str>) -> String {
    template
        .pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(s) => s.clone(),
            Piece::Field { field, default } => values
                .get(field.as_str())
                .map(|v| v.to_string())
                .or_else(|| default.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// The SQL with each `{name}` replaced by the example value as a quoted literal.
fn sql_with(pattern: &AccessPattern, values: &HashMap<&str, &str>) -> String {
    let mut sql = pattern.sql.clone();
    for (name, value) in values {
        sql = sql.replace(
            &format!("{{{name}}}"),
            &format!("'{}'", value.replace('\'', "''")),
        );
    }
    sql
}

fn text(value: Option<&AttributeValue>) -> String {
    match value {
        Some(AttributeValue::S(s) | AttributeValue::N(s)) => s.clone(),
        _ => String::new(),
    }
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
        let values: HashMap<&str, &str> = pattern
            .example
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let dynamo_error = |source| PatternError::Dynamo {
            name: pattern.name.clone(),
            source,
        };
        let items = run(pattern, client, table, &values)
            .await
            .map_err(dynamo_error)?;
        // The spec's own SQL, as its author would run it; sql_with quotes the example values.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql_with(pattern, &values)))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| PatternError::Sql {
                name: pattern.name.clone(),
                message: crate::source::postgres_says(&e),
            })?;
        let mut sql: Vec<(String, String)> = Vec::new();
        let mut pk_only = false;
        for row in rows {
            let first: String = row.try_get(0).unwrap_or_default();
            let second: Option<String> = if row.len() > 1 {
                row.try_get(1).ok()
            } else {
                pk_only = true;
                None
            };
            sql.push((first, second.unwrap_or_default()));
        }
        let mut dynamo: Vec<(String, String)> = items
            .iter()
            .map(|item| {
                let sort = if pk_only {
                    String::new()
                } else {
                    text(sk.and_then(|s| item.get(s)))
                };
                (text(item.get(pk)), sort)
            })
            .collect();
        for list in [&mut sql, &mut dynamo] {
            list.sort();
            list.dedup();
        }
        checks.push(PatternCheck {
            name: pattern.name.clone(),
            matches: sql == dynamo,
            dynamo,
            sql,
        });
    }
    Ok(checks)
}

type Item = HashMap<String, AttributeValue>;

async fn run(
    pattern: &AccessPattern,
    client: &Client,
    table: &str,
    values: &HashMap<&str, &str>,
) -> Result<Vec<Item>, SinkError> {
    let key: Vec<(String, KeyCondition, String)> = pattern
        .key
        .iter()
        .map(|(attr, condition)| {
            let rendered = match condition {
                KeyCondition::Equals(t) | KeyCondition::BeginsWith(t) => render(t, values),
            };
            (attr.clone(), condition.clone(), rendered)
        })
        .collect();
    let exact: Item = key
        .iter()
        .map(|(attr, _, v)| (attr.clone(), AttributeValue::S(v.clone())))
        .collect();
    match pattern.operation {
        Operation::GetItem => {
            let out = client
                .get_item()
                .table_name(table)
                .set_key(Some(exact))
                .send()
                .await
                .map_err(service_error)?;
            Ok(out.item().cloned().into_iter().collect())
        }
        Operation::BatchGetItem => {
            let keys = KeysAndAttributes::builder()
                .keys(exact)
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
            let mut request = client.query().table_name(table);
            for (i, (attr, condition, value)) in key.iter().enumerate() {
                let (name, placeholder) = (format!("#k{i}"), format!(":k{i}"));
                expression.push(match condition {
                    KeyCondition::Equals(_) => format!("{name} = {placeholder}"),
                    KeyCondition::BeginsWith(_) => format!("begins_with({name}, {placeholder})"),
                });
                request = request
                    .expression_attribute_names(name, attr)
                    .expression_attribute_values(placeholder, AttributeValue::S(value.clone()));
            }
            // The partition key condition comes first, as DynamoDB requires.
            expression.sort_by_key(|e| e.starts_with("begins_with"));
            request = request
                .key_condition_expression(expression.join(" AND "))
                .set_index_name(pattern.index.clone());
            if let Some(limit) = pattern.limit {
                let out = request
                    .limit(limit as i32)
                    .send()
                    .await
                    .map_err(service_error)?;
                return Ok(out.items().to_vec());
            }
            let mut items = Vec::new();
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                items.extend(page.map_err(service_error)?.items().iter().cloned());
            }
            Ok(items)
        }
    }
}
