//! Extraction: relational rows from Postgres or from a folder of CSV files, in one row model.
//!
//! A [`Source`] knows its [`Schema`] (tables, typed columns, primary keys) as soon as it is
//! open, and streams each table as batches of [`Rows`] through a bounded channel, so a table is
//! never held whole. Postgres reads go through COPY on several connections that all share one
//! exported snapshot (`postgres.rs`, `snapshot.rs`), each opened as the URL says, TLS included
//! (`connect.rs`); CSV folders go through the csv crate
//! (`csv.rs`). Both hand their text to [`value::parse_text`], so the same data gives the same
//! values. Queries led by one key can be read in step, a window of keys at a time
//! (`in_step.rs`). Start with [`Source::open`].

mod connect;
mod copy_text;
mod csv;
mod ddl;
mod in_step;
mod postgres;
mod rows;
mod shape;
mod snapshot;
mod value;
pub mod value_bytes;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures::stream::BoxStream;
use tokio::sync::mpsc;

pub use self::csv::{header_positions, CsvSource, SCHEMA_FILE};
pub use connect::{connect_one, postgres_says};
pub use ddl::parse_schema;
pub use in_step::{InStep, Step, StepQuery};
pub use postgres::{HeldSnapshot, PostgresSource};
pub use rows::Rows;
pub use shape::{quote_ident, quote_table, Column, ColumnType, Schema, TableShape};
pub use value::{parse_text, ParseError, Value};

use crate::redact::Redacted;

/// Rows handed over per batch (every batch of a table but its last holds exactly this many):
/// large enough to amortise channel costs, small enough to bound memory, and one buffer of
/// [`Rows`], so a table held whole takes its batches over without a copy.
pub const BATCH_ROWS: usize = rows::CHUNK_ROWS;
/// Batches buffered per table stream before the reader waits for the consumer.
const BATCHES_IN_FLIGHT: usize = 4;

/// One batch of rows (each its values in the order of the table's [`TableShape`] columns), or
/// the error that ended the table's stream.
pub type RowBatch = Result<Rows, SourceError>;

/// The rows of one table, streamed in batches; an error ends the stream.
pub type RowBatches = BoxStream<'static, RowBatch>;

/// Where the relational data comes from, as the user named it.
#[derive(Debug, Clone)]
pub enum SourceLocation {
    /// A `postgres://` URL.
    Postgres(Redacted),
    /// A folder with one `<table>.csv` per table, typed by a `schema.sql`.
    Csv {
        dir: PathBuf,
        schema: Option<PathBuf>,
    },
}

impl FromStr for SourceLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(SourceLocation::Postgres(Redacted::new(s)))
        } else if s.contains("://") {
            Err(format!(
                "{} is neither a postgres:// URL nor a folder of CSV files",
                Redacted::new(s)
            ))
        } else {
            Ok(SourceLocation::Csv {
                dir: PathBuf::from(s),
                schema: None,
            })
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceLocation::Postgres(url) => url.fmt(f),
            SourceLocation::Csv { dir, .. } => write!(f, "{}", dir.display()),
        }
    }
}

/// How a source reads.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// Postgres connections reading in parallel, all on one snapshot.
    pub connections: usize,
    /// The Postgres schemas to read.
    pub schemas: Schemas,
    /// A snapshot another transaction exported and holds (`migrator snapshot`): read on it
    /// instead of exporting one, so processes on many machines see one moment.
    pub snapshot: Option<String>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            connections: 4,
            schemas: Schemas::default(),
            snapshot: None,
        }
    }
}

/// The Postgres schemas a command reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schemas {
    /// Every session's search path, in order: where unqualified table names are found (and
    /// what access patterns' SQL sees). Empty keeps the server's (usually `public`).
    pub search: Vec<String>,
    /// Schemas read besides, whose tables go by their qualified names (`audit.events`).
    pub also: Vec<String>,
}

impl Schemas {
    /// `search` as the search path, and the schemas `expected` names that it leaves out.
    pub fn for_tables(search: Vec<String>, expected: &Schema) -> Self {
        let also = expected
            .namespaces()
            .into_iter()
            .filter(|ns| !search.contains(ns))
            .collect();
        Schemas { search, also }
    }
}

/// An open relational source: its schema is known and its tables can be streamed.
pub enum Source {
    Postgres(PostgresSource),
    Csv(CsvSource),
}

impl Source {
    /// Connects to (or opens) the source and reads its schema.
    pub async fn open(
        location: &SourceLocation,
        options: SourceOptions,
    ) -> Result<Source, SourceError> {
        match location {
            SourceLocation::Postgres(url) => Ok(Source::Postgres(
                PostgresSource::connect(
                    url,
                    options.connections,
                    &options.schemas,
                    options.snapshot.as_deref(),
                )
                .await?,
            )),
            SourceLocation::Csv { dir, schema } => {
                Ok(Source::Csv(CsvSource::open(dir, schema.as_deref())?))
            }
        }
    }

    /// The tables this source holds, parents before children.
    pub fn schema(&self) -> &Schema {
        match self {
            Source::Postgres(s) => s.schema(),
            Source::Csv(s) => s.schema(),
        }
    }

    /// Streams every row of `table`, in the order the source stores them.
    pub fn rows(&self, table: &str) -> Result<RowBatches, SourceError> {
        self.rows_with(table, None)
    }

    /// Streams every row of `table` as [`Source::rows`] does, but of each row only the columns
    /// `read` names (in the table's order), the others NULL: Postgres sends only those (a CSV
    /// file is parsed whole).
    pub fn rows_reading(&self, table: &str, read: Vec<usize>) -> Result<RowBatches, SourceError> {
        self.rows_with(table, Some(read))
    }

    fn rows_with(&self, table: &str, read: Option<Vec<usize>>) -> Result<RowBatches, SourceError> {
        let shape = self
            .schema()
            .table(table)
            .ok_or_else(|| SourceError::UnknownTable {
                table: table.to_string(),
                available: self.schema().table_names(),
            })?
            .clone();
        Ok(match self {
            Source::Postgres(s) => s.rows(shape, read),
            Source::Csv(s) => s.rows(shape),
        })
    }
}

/// Turns the receiving end of a reader task's channel into a row stream.
fn channel_stream(rx: mpsc::Receiver<RowBatch>) -> RowBatches {
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn batch_channel() -> (mpsc::Sender<RowBatch>, mpsc::Receiver<RowBatch>) {
    mpsc::channel(BATCHES_IN_FLIGHT)
}

/// Everything that can go wrong while opening a source or reading its rows.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    #[error("cannot connect to Postgres at {url}: {reason}; check that the server is running and that host and port are right")]
    Unreachable { url: Redacted, reason: String },
    #[error("Postgres at {url} rejected the password of user {user}; check the password in the URL (or DATABASE_URL)")]
    Auth { url: Redacted, user: String },
    #[error("Postgres at {url}: {message}")]
    Postgres { url: Redacted, message: String },
    #[error("table {table}: reading from Postgres failed: {message}")]
    Read { table: String, message: String },
    #[error("table {table}, row {row}: column {column}: expected {expected}, found \"{found}\"")]
    Value {
        table: String,
        row: u64,
        column: String,
        expected: String,
        found: String,
    },
    #[error("table {table} is not in the source (it has: {available}); check the table name, or the schemas read (--schema)")]
    UnknownTable { table: String, available: String },
    #[error("Postgres at {url} has no schema {missing} (it has: {available}); check --schema or the spec's postgres_schemas")]
    NoSuchSchema {
        url: Redacted,
        missing: String,
        available: String,
    },
    #[error("{}: no {table}.csv for table {table} of the schema; add the file (a header line, then one row per line) or drop the table from the schema", dir.display())]
    CsvMissing { dir: PathBuf, table: String },
    #[error("{}: the schema has no table {table}; rename the file or add the table to the schema", path.display())]
    CsvUnexpected { path: PathBuf, table: String },
    #[error("{}:1: {message}", path.display())]
    CsvHeader { path: PathBuf, message: String },
    #[error("{}:{line}: column {column}: expected {expected}, found \"{found}\"; fix the value", path.display())]
    CsvValue {
        path: PathBuf,
        line: u64,
        column: String,
        expected: String,
        found: String,
    },
    #[error("{}:{line}: column {column} is empty but the schema says NOT NULL; fill it in", path.display())]
    CsvNull {
        path: PathBuf,
        line: u64,
        column: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("source {source_name}: table {table} {problem}, but {} says otherwise; make the source match that schema", schema.display())]
    SchemaMismatch {
        source_name: String,
        table: String,
        problem: String,
        schema: PathBuf,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Source {
    /// Checks that the source holds every table of `expected` (read from `schema_path`) with
    /// the same columns, in the same order, of the same types: specs refer to columns by place.
    pub fn check_schema(
        &self,
        expected: &Schema,
        schema_path: &Path,
        location: &SourceLocation,
    ) -> Result<(), SourceError> {
        for table in &expected.tables {
            let mismatch = |problem: String| SourceError::SchemaMismatch {
                source_name: location.to_string(),
                table: table.name.clone(),
                problem,
                schema: schema_path.to_path_buf(),
            };
            let Some(actual) = self.schema().table(&table.qualified()) else {
                return Err(mismatch("is missing".into()));
            };
            let same = actual.columns.len() == table.columns.len()
                && actual
                    .columns
                    .iter()
                    .zip(&table.columns)
                    .all(|(a, e)| a.name == e.name && a.ty == e.ty);
            if !same {
                let columns: Vec<String> = actual
                    .columns
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.ty))
                    .collect();
                return Err(mismatch(format!("has columns ({})", columns.join(", "))));
            }
        }
        Ok(())
    }
}

impl SourceError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SourceError + '_ {
        move |source| SourceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
