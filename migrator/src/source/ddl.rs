//! Reads a design's `schema.sql` (CREATE TYPE … AS ENUM, CREATE TABLE) into a [`Schema`],
//! so a CSV folder has the same column types as the Postgres database made from it.

use std::path::Path;

use sqlparser::ast::{
    ArrayElemTypeDef, ColumnOption, CreateTable, DataType, Expr, Statement, TableConstraint,
    TimezoneInfo, UserDefinedTypeRepresentation,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::shape::{Column, ColumnType, Schema, TableShape};
use super::SourceError;

/// Parses the DDL in `sql` (read from `path`, named in errors) into the tables it creates.
pub fn parse_schema(path: &Path, sql: &str) -> Result<Schema, SourceError> {
    let err = |message: String| SourceError::Schema {
        path: path.to_path_buf(),
        message,
    };
    let statements =
        Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| err(e.to_string()))?;
    let mut enums: Vec<(String, Vec<String>)> = Vec::new();
    let mut schema = Schema::default();
    for statement in statements {
        match statement {
            Statement::CreateType {
                name,
                representation: Some(UserDefinedTypeRepresentation::Enum { labels }),
            } => enums.push((
                last_part(&name.to_string()),
                labels.into_iter().map(|l| l.value).collect(),
            )),
            Statement::CreateTable(table) => {
                let mut shape = table_shape(&table, &enums).map_err(&err)?;
                if schema.table(&shape.name).is_some() {
                    // Another schema's table has the short name: this one goes by its full name.
                    shape.name = shape.qualified();
                }
                schema.tables.push(shape);
            }
            _ => {}
        }
    }
    if schema.tables.is_empty() {
        return Err(err(
            "no CREATE TABLE statement found; point at the design's schema.sql".into(),
        ));
    }
    Ok(schema)
}

fn last_part(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.trim_matches('"').to_string()
}

/// A name as `CREATE TABLE` wrote it, split into its schema (if given) and its own name.
fn schema_and_name(name: &str) -> (Option<String>, String) {
    let unquote = |part: &str| part.trim_matches('"').to_string();
    match name.rsplit_once('.') {
        Some((ns, rel)) => (Some(unquote(ns)), unquote(rel)),
        None => (None, unquote(name)),
    }
}

fn table_shape(table: &CreateTable, enums: &[(String, Vec<String>)]) -> Result<TableShape, String> {
    let (namespace, name) = schema_and_name(&table.name.to_string());
    let mut columns = Vec::new();
    let mut primary_key = Vec::new();
    for (i, def) in table.columns.iter().enumerate() {
        let ty = column_type(&def.data_type, enums)
            .map_err(|t| {
            format!(
                "table {name}, column {}: unsupported type {t}; declare it (CREATE TYPE … AS ENUM) or use a supported type",
                def.name.value
            )
        })?;
        let mut not_null = false;
        for option in &def.options {
            match &option.option {
                ColumnOption::NotNull => not_null = true,
                ColumnOption::PrimaryKey(_) => {
                    not_null = true;
                    primary_key.push(i);
                }
                _ => {}
            }
        }
        columns.push(Column {
            name: def.name.value.clone(),
            ty,
            not_null,
        });
    }
    for constraint in &table.constraints {
        if let TableConstraint::PrimaryKey(pk) = constraint {
            for index_column in &pk.columns {
                let Expr::Identifier(ident) = &index_column.column.expr else {
                    return Err(format!("table {name}: primary key must list plain columns"));
                };
                let i = columns
                    .iter()
                    .position(|c| c.name == ident.value)
                    .ok_or_else(|| {
                        format!(
                            "table {name}: primary key names unknown column {}",
                            ident.value
                        )
                    })?;
                columns[i].not_null = true;
                primary_key.push(i);
            }
        }
    }
    Ok(TableShape {
        name,
        namespace,
        columns,
        primary_key,
    })
}

fn column_type(ty: &DataType, enums: &[(String, Vec<String>)]) -> Result<ColumnType, String> {
    Ok(match ty {
        DataType::SmallInt(_)
        | DataType::Int(_)
        | DataType::Integer(_)
        | DataType::BigInt(_)
        | DataType::Int2(_)
        | DataType::Int4(_)
        | DataType::Int8(_) => ColumnType::Int,
        DataType::Numeric(_)
        | DataType::Decimal(_)
        | DataType::Real
        | DataType::Float(_)
        | DataType::Float4
        | DataType::Float8
        | DataType::Double(_)
        | DataType::DoublePrecision => ColumnType::Numeric,
        DataType::Varchar(_)
        | DataType::CharacterVarying(_)
        | DataType::Char(_)
        | DataType::Character(_)
        | DataType::Text
        | DataType::Uuid => ColumnType::Text,
        DataType::Bool | DataType::Boolean => ColumnType::Bool,
        DataType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
            ColumnType::TimestampTz
        }
        DataType::Timestamp(_, _) => ColumnType::Timestamp,
        DataType::Date => ColumnType::Date,
        DataType::JSON | DataType::JSONB => ColumnType::Json,
        DataType::Bytea => ColumnType::Bytes,
        DataType::Array(
            ArrayElemTypeDef::SquareBracket(elem, _)
            | ArrayElemTypeDef::AngleBracket(elem)
            | ArrayElemTypeDef::Qualified(elem, _),
        ) => ColumnType::Array(Box::new(column_type(elem, enums)?)),
        DataType::Custom(name, _) => {
            let name = last_part(&name.to_string());
            match name.to_ascii_lowercase().as_str() {
                "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" => ColumnType::Int,
                "timestamptz" => ColumnType::TimestampTz,
                "citext" => ColumnType::Text,
                _ => match enums.iter().find(|(n, _)| *n == name) {
                    Some((name, labels)) => ColumnType::Enum {
                        name: name.clone(),
                        labels: labels.clone(),
                    },
                    None => return Err(name),
                },
            }
        }
        other => return Err(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = r#"
        CREATE TYPE noun_genders AS ENUM ('m', 'f', 'n');
        CREATE TABLE words (id SERIAL PRIMARY KEY, word VARCHAR(256) NOT NULL, sizes text[]);
        CREATE TABLE nouns (
            word_id INTEGER REFERENCES words(id),
            gender noun_genders,
            seen timestamp,
            PRIMARY KEY (word_id)
        );
    "#;

    #[test]
    fn reads_tables_types_keys_and_enums() {
        let schema = parse_schema(Path::new("schema.sql"), SQL).unwrap();
        assert_eq!(schema.table_names(), "words, nouns");
        let words = schema.table("words").unwrap();
        assert_eq!(words.primary_key, vec![0]);
        assert_eq!(words.columns[1].ty, ColumnType::Text);
        assert!(words.columns[1].not_null);
        assert_eq!(
            words.columns[2].ty,
            ColumnType::Array(Box::new(ColumnType::Text))
        );
        let nouns = schema.table("nouns").unwrap();
        assert_eq!(nouns.primary_key, vec![0]);
        assert!(nouns.columns[0].not_null);
        assert_eq!(nouns.columns[1].ty.to_string(), "enum noun_genders");
        assert!(!nouns.columns[1].not_null);
        assert_eq!(nouns.columns[2].ty, ColumnType::Timestamp);
    }

    #[test]
    fn unknown_types_are_named() {
        let err = parse_schema(Path::new("s.sql"), "CREATE TABLE t (a mood);").unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.sql: table t, column a: unsupported type mood; declare it (CREATE TYPE … AS ENUM) or use a supported type"
        );
    }

    #[test]
    fn qualified_tables_keep_their_schema_and_a_second_of_one_name_its_full_name() {
        let sql = "CREATE TABLE sales.orders (id INT PRIMARY KEY);\n\
                   CREATE TABLE \"Archive\".orders (id INT PRIMARY KEY);\n\
                   CREATE TABLE notes (id INT);";
        let schema = parse_schema(Path::new("s.sql"), sql).unwrap();
        assert_eq!(schema.table_names(), "orders, Archive.orders, notes");
        let sales = schema.table("sales.orders").unwrap();
        assert_eq!(
            (sales.name.as_str(), sales.namespace.as_deref()),
            ("orders", Some("sales"))
        );
        assert_eq!(sales.sql_name(), "\"sales\".\"orders\"");
        assert_eq!(schema.table("orders").unwrap(), sales);
        let archive = schema.table("Archive.orders").unwrap();
        assert_eq!(archive.relation(), "orders");
        assert_eq!(archive.sql_name(), "\"Archive\".\"orders\"");
        let notes = schema.table("notes").unwrap();
        assert_eq!(
            (notes.namespace.as_deref(), notes.sql_name().as_str()),
            (None, "\"notes\"")
        );
        assert_eq!(schema.namespaces(), ["sales", "Archive"]);
    }
}
