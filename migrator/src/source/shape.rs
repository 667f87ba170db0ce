//! Column types and table shapes: what a source knows about a table before reading its rows.

use std::fmt;

/// The type of one column, as far as extraction needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// `smallint`, `integer`, `bigint` and the serial types.
    Int,
    /// `numeric`, `decimal`, `real`, `double precision`: kept as exact decimal text.
    Numeric,
    /// `text`, `varchar`, `char` and any type read as its text form (uuid, citext).
    Text,
    /// `boolean`.
    Bool,
    /// `timestamp` without time zone.
    Timestamp,
    /// `timestamp with time zone`, normalised to UTC.
    TimestampTz,
    /// `date`.
    Date,
    /// `json` and `jsonb`.
    Json,
    /// `bytea`.
    Bytes,
    /// A native enum type with its labels in declaration order.
    Enum { name: String, labels: Vec<String> },
    /// An array of the element type (any number of dimensions).
    Array(Box<ColumnType>),
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Int => f.write_str("integer"),
            ColumnType::Numeric => f.write_str("numeric"),
            ColumnType::Text => f.write_str("text"),
            ColumnType::Bool => f.write_str("boolean"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::TimestampTz => f.write_str("timestamptz"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Json => f.write_str("json"),
            ColumnType::Bytes => f.write_str("bytea"),
            ColumnType::Enum { name, .. } => write!(f, "enum {name}"),
            ColumnType::Array(elem) => write!(f, "{elem}[]"),
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub not_null: bool,
}

/// Column names and types of one table, in the order its rows carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableShape {
    /// What specs and reports call it: `orders`, or `sales.orders` where the short name is
    /// another table's (as Postgres shows a table its search path does not reach first).
    pub name: String,
    /// The Postgres schema that holds it, when known (read from Postgres, or qualified in a
    /// schema.sql); unknown, the search path finds it.
    pub namespace: Option<String>,
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the primary key, in key order (empty when the table has none).
    pub primary_key: Vec<usize>,
}

impl TableShape {
    /// The columns that tell the table's rows apart: its primary key, else every column.
    pub fn key_columns(&self) -> std::borrow::Cow<'_, [usize]> {
        if self.primary_key.is_empty() {
            std::borrow::Cow::Owned((0..self.columns.len()).collect())
        } else {
            std::borrow::Cow::Borrowed(&self.primary_key)
        }
    }

    /// Returns the index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The table's own name, without its schema.
    pub fn relation(&self) -> &str {
        match &self.namespace {
            Some(ns) => self
                .name
                .strip_prefix(ns.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// `schema.table` when the schema is known, else the name: how to find it in Postgres.
    pub fn qualified(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}.{}", self.relation()),
            None => self.name.clone(),
        }
    }

    /// The table in SQL: `"sales"."orders"` when its schema is known, else its name quoted
    /// (found through the search path).
    pub fn sql_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}.{}", quote_ident(ns), quote_ident(self.relation())),
            None => quote_table(&self.name),
        }
    }

    /// Whether `name` names this table: its name, or its schema and its own name.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name
            || name.split_once('.').is_some_and(|(ns, rel)| {
                self.namespace.as_deref() == Some(ns) && self.relation() == rel
            })
    }
}

/// `name` as a quoted SQL identifier: `"my ""table"""`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table name as SQL: `sales.orders` becomes `"sales"."orders"`, `orders` becomes `"orders"`.
pub fn quote_table(name: &str) -> String {
    match name.split_once('.') {
        Some((ns, rel)) => format!("{}.{}", quote_ident(ns), quote_ident(rel)),
        None => quote_ident(name),
    }
}

/// The tables of one relational dataset, in dependency order (parents before children).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    pub tables: Vec<TableShape>,
}

impl Schema {
    /// Returns the table called `name` (or `schema.table`).
    pub fn table(&self, name: &str) -> Option<&TableShape> {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .or_else(|| self.tables.iter().find(|t| t.is_named(name)))
    }

    /// The Postgres schemas its tables name, each once.
    pub fn namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = Vec::new();
        for ns in self.tables.iter().filter_map(|t| t.namespace.as_ref()) {
            if !namespaces.contains(ns) {
                namespaces.push(ns.clone());
            }
        }
        namespaces
    }

    /// Lists the table names, comma-separated, for error messages.
    pub fn table_names(&self) -> String {
        let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        names.join(", ")
    }
}
