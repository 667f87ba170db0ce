//! A folder of CSV files, one `<table>.csv` per table with a header line, typed by a
//! `schema.sql` (in the folder, its parent, or named explicitly).
//!
//! Conventions, the same as Postgres's `COPY … (FORMAT csv, HEADER)`: fields in any column
//! order named by the header; an empty field is NULL; values in their Postgres text form.

use std::fs;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use super::ddl::parse_schema;
use super::shape::{Schema, TableShape};
use super::value::{parse_text, Value};
use super::{batch_channel, channel_stream, RowBatch, RowBatches, Rows, SourceError, BATCH_ROWS};

/// The file name a folder's (or its parent's) schema is looked up under.
pub const SCHEMA_FILE: &str = "schema.sql";

/// A folder of CSV files read with the column types of a schema file.
pub struct CsvSource {
    dir: PathBuf,
    schema: Schema,
}

impl CsvSource {
    /// Opens `dir`, reading its schema from `schema` or else from `schema.sql` in `dir` or its
    /// parent, and checks that every table has its file and every file its table.
    pub fn open(dir: &Path, schema: Option<&Path>) -> Result<Self, SourceError> {
        let schema_path = match schema {
            Some(path) => path.to_path_buf(),
            None => find_schema(dir)?,
        };
        let sql = fs::read_to_string(&schema_path).map_err(SourceError::io(&schema_path))?;
        let schema = parse_schema(&schema_path, &sql)?;
        for table in &schema.tables {
            if !table_path(dir, &table.name).is_file() {
                return Err(SourceError::CsvMissing {
                    dir: dir.to_path_buf(),
                    table: table.name.clone(),
                });
            }
        }
        for entry in fs::read_dir(dir).map_err(SourceError::io(dir))? {
            let path = entry.map_err(SourceError::io(dir))?.path();
            if path.extension().is_some_and(|e| e == "csv") {
                let table = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if schema.table(&table).is_none() {
                    return Err(SourceError::CsvUnexpected { path, table });
                }
            }
        }
        Ok(CsvSource {
            dir: dir.to_path_buf(),
            schema,
        })
    }

    /// The tables of the schema file, in its order.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The file that holds `table`'s rows.
    pub fn path(&self, table: &str) -> PathBuf {
        table_path(&self.dir, table)
    }

    /// Streams the rows of `shape`'s file, parsed on a blocking thread.
    pub fn rows(&self, shape: TableShape) -> RowBatches {
        let (tx, rx) = batch_channel();
        let path = self.path(&shape.name);
        tokio::task::spawn_blocking(move || {
            if let Err(error) = read_file(&path, &shape, &tx) {
                let _ = tx.blocking_send(Err(error));
            }
        });
        channel_stream(rx)
    }
}

fn table_path(dir: &Path, table: &str) -> PathBuf {
    dir.join(format!("{table}.csv"))
}

fn find_schema(dir: &Path) -> Result<PathBuf, SourceError> {
    if !dir.is_dir() {
        return Err(SourceError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such folder; name a folder of CSV files or a postgres:// URL",
            ),
        });
    }
    let here = dir.join(SCHEMA_FILE);
    let parent = dir.parent().map(|p| p.join(SCHEMA_FILE));
    [Some(here), parent]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .ok_or_else(|| SourceError::Schema {
            path: dir.to_path_buf(),
            message: format!(
                "no {SCHEMA_FILE} in this folder or its parent; put the design's schema beside the CSV files or pass --schema FILE"
            ),
        })
}

/// Maps each schema column to its position in the file's header.
pub fn header_positions(
    path: &Path,
    shape: &TableShape,
    header: &csv::StringRecord,
) -> Result<Vec<usize>, SourceError> {
    let error = |message: String| SourceError::CsvHeader {
        path: path.to_path_buf(),
        message,
    };
    for name in header {
        if shape.column_index(name).is_none() {
            return Err(error(format!(
                "header names column {name}, which table {} lacks; rename or remove it",
                shape.name
            )));
        }
    }
    shape
        .columns
        .iter()
        .map(|column| {
            header.iter().position(|h| h == column.name).ok_or_else(|| {
                error(format!(
                    "header lacks column {} of table {}; add the column",
                    column.name, shape.name
                ))
            })
        })
        .collect()
}

fn read_file(
    path: &Path,
    shape: &TableShape,
    tx: &mpsc::Sender<RowBatch>,
) -> Result<(), SourceError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| csv_error(path, 1, e))?;
    let header = reader.headers().map_err(|e| csv_error(path, 1, e))?.clone();
    let positions = header_positions(path, shape, &header)?;
    let mut record = csv::ByteRecord::new();
    let width = shape.columns.len();
    let mut batch = Rows::with_capacity(width, BATCH_ROWS);
    let mut values = Vec::with_capacity(width);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(csv_error(path, line, e));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        read_row(path, line, shape, &positions, &record, &mut values)?;
        batch.push(values.drain(..));
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Rows::with_capacity(width, BATCH_ROWS));
            if tx.blocking_send(Ok(full)).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}

/// Reads `record` (at `line` of `path`) into `values`, one per column of `shape`.
fn read_row(
    path: &Path,
    line: u64,
    shape: &TableShape,
    positions: &[usize],
    record: &csv::ByteRecord,
    values: &mut Vec<Value>,
) -> Result<(), SourceError> {
    values.clear();
    for (column, &at) in shape.columns.iter().zip(positions) {
        let raw = record.get(at).unwrap_or_default();
        let text = std::str::from_utf8(raw).map_err(|e| SourceError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!(
                "column {}: invalid UTF-8 at byte {} of the field; save the file as UTF-8",
                column.name,
                e.valid_up_to()
            ),
        })?;
        if text.is_empty() {
            if column.not_null {
                return Err(SourceError::CsvNull {
                    path: path.to_path_buf(),
                    line,
                    column: column.name.clone(),
                });
            }
            values.push(Value::Null);
            continue;
        }
        values.push(
            parse_text(&column.ty, text).map_err(|e| SourceError::CsvValue {
                path: path.to_path_buf(),
                line,
                column: column.name.clone(),
                expected: e.expected,
                found: e.found,
            })?,
        );
    }
    Ok(())
}

fn csv_error(path: &Path, line: u64, error: csv::Error) -> SourceError {
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields but the header has {expected_len}; fix the row"),
        csv::ErrorKind::Io(e) => e.to_string(),
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "invalid UTF-8 in field {}; save the file as UTF-8",
            err.field() + 1
        ),
        _ => error.to_string(),
    };
    SourceError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}
