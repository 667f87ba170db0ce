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
    pub name: String,
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the primary key, in key order (empty when the table has none).
    pub primary_key: Vec<usize>,
}

impl TableShape {
    /// Returns the index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// The tables of one relational dataset, in dependency order (parents before children).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    pub tables: Vec<TableShape>,
}

impl Schema {
    /// Returns the table called `name`.
    pub fn table(&self, name: &str) -> Option<&TableShape> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Lists the table names, comma-separated, for error messages.
    pub fn table_names(&self) -> String {
        let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        names.join(", ")
    }
}
