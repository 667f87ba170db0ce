//! Postgres through sqlx: the schema from the catalog, rows through `COPY … TO STDOUT` on
//! a small set of connections that all read one exported snapshot.

use std::sync::Arc;

use futures::StreamExt;
use sqlx::postgres::PgConnection;
use sqlx::{Executor as _, Row as _};
use tokio::sync::{mpsc, Mutex, Semaphore};

use super::connect::{connect_one, postgres_says};
use super::copy_text::{decode_field, split_fields};
use super::shape::{quote_ident, Column, ColumnType, Schema, TableShape};
use super::value::{parse_owned, parse_text, Value};
use super::{
    batch_channel, channel_stream, snapshot, RowBatch, RowBatches, Rows, Schemas, SourceError,
    BATCH_ROWS,
};
use crate::redact::Redacted;

/// A Postgres database read through connections that share one snapshot.
pub struct PostgresSource {
    inner: Arc<Inner>,
}

struct Inner {
    schema: Schema,
    url: Redacted,
    search_path: Vec<String>,
    snapshot_id: String,
    /// Holds the exporting transaction open for as long as the source lives.
    _coordinator: Mutex<PgConnection>,
    idle: Mutex<Vec<PgConnection>>,
    permits: Semaphore,
}

/// The error of a snapshot that cannot be adopted: gone (its holder stopped) or never exported.
fn snapshot_gone(url: &Redacted, id: &str, error: &sqlx::Error) -> SourceError {
    SourceError::Postgres {
        url: url.clone(),
        message: format!(
            "cannot read on snapshot {id}: {}; it is held only while `migrator snapshot` runs, so start one and pass the id it prints (--snapshot ID)",
            postgres_says(error)
        ),
    }
}

/// A snapshot exported by a transaction this process keeps open: other processes read on it
/// (`--snapshot ID`) for as long as it is held.
pub struct HeldSnapshot {
    conn: PgConnection,
    id: String,
}

impl HeldSnapshot {
    /// Opens a REPEATABLE READ transaction on `url` and exports its snapshot.
    pub async fn export(url: &Redacted) -> Result<Self, SourceError> {
        let mut conn = connect_one(url, &[]).await?;
        let id = snapshot::export(&mut conn)
            .await
            .map_err(|e| SourceError::Postgres {
                url: url.clone(),
                message: postgres_says(&e),
            })?;
        Ok(HeldSnapshot { conn, id })
    }

    /// The snapshot's id, as `SET TRANSACTION SNAPSHOT` takes it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the transaction holding the snapshot is still open: a query on it answers.
    pub async fn alive(&mut self) -> Result<(), sqlx::Error> {
        self.conn.execute("SELECT 1").await.map(|_| ())
    }
}

impl PostgresSource {
    /// Connects `connections` workers (at least one) on one snapshot and reads the tables of
    /// `schemas`: the snapshot `held` names (exported by another transaction that keeps it),
    /// else one exported here.
    pub async fn connect(
        url: &Redacted,
        connections: usize,
        schemas: &Schemas,
        held: Option<&str>,
    ) -> Result<Self, SourceError> {
        let failed = |e: sqlx::Error| SourceError::Postgres {
            url: url.clone(),
            message: postgres_says(&e),
        };
        let coordinate = async {
            let mut coordinator = connect_one(url, &schemas.search).await?;
            check_schemas(&mut coordinator, url, schemas).await?;
            let snapshot_id = match held {
                Some(id) => {
                    snapshot::adopt(&mut coordinator, id)
                        .await
                        .map_err(|e| snapshot_gone(url, id, &e))?;
                    id.to_string()
                }
                None => snapshot::export(&mut coordinator).await.map_err(failed)?,
            };
            let schema = read_schema(&mut coordinator, &schemas.also)
                .await
                .map_err(failed)?;
            Ok((coordinator, snapshot_id, schema))
        };
        // The workers connect while the coordinator checks the schemas and takes the snapshot
        // (each connection is a round of authentication), then all adopt it at once.
        let workers = futures::future::try_join_all(
            (0..connections.max(1)).map(|_| connect_one(url, &schemas.search)),
        );
        let ((coordinator, snapshot_id, schema), mut idle) = tokio::try_join!(coordinate, workers)?;
        futures::future::try_join_all(
            (idle.iter_mut()).map(|conn| snapshot::adopt(conn, &snapshot_id)),
        )
        .await
        .map_err(failed)?;
        tracing::debug!(snapshot = %snapshot_id, connections = idle.len(), "postgres source open");
        let permits = Semaphore::new(idle.len());
        Ok(PostgresSource {
            inner: Arc::new(Inner {
                schema,
                url: url.clone(),
                search_path: schemas.search.clone(),
                snapshot_id,
                _coordinator: Mutex::new(coordinator),
                idle: Mutex::new(idle),
                permits,
            }),
        })
    }

    /// The tables of the schemas read, in creation order.
    pub fn schema(&self) -> &Schema {
        &self.inner.schema
    }

    /// Streams the rows of `shape`'s table from the next free connection: of each row only
    /// the columns `read` names, in the table's order (every column when `None`), the others
    /// NULL.
    pub fn rows(&self, shape: TableShape, read: Option<Vec<usize>>) -> RowBatches {
        let query = select_columns(&shape, read.as_deref());
        self.pooled_rows(query, shape, read)
    }

    /// Streams the rows `query` returns as rows of `shape` (see [`copy_query`]) from the next
    /// free connection of the source's own.
    fn pooled_rows(
        &self,
        query: String,
        shape: TableShape,
        read: Option<Vec<usize>>,
    ) -> RowBatches {
        let (tx, rx) = batch_channel();
        let inner = self.inner.clone();
        tokio::spawn(async move {
            if let Err(error) = inner
                .copy_pooled(&query, &shape, read.as_deref(), &tx)
                .await
            {
                let _ = tx.send(Err(error)).await;
            }
        });
        channel_stream(rx)
    }

    /// Streams the rows `sql` returns, typed by `shape`, on a connection of its own that reads
    /// the source's snapshot, so that many queries can be read at once.
    pub async fn query_rows(
        &self,
        sql: String,
        shape: TableShape,
    ) -> Result<RowBatches, SourceError> {
        let mut conn = connect_one(&self.inner.url, &self.inner.search_path).await?;
        snapshot::adopt(&mut conn, &self.inner.snapshot_id)
            .await
            .map_err(|e| SourceError::Postgres {
                url: self.inner.url.clone(),
                message: postgres_says(&e),
            })?;
        let (tx, rx) = batch_channel();
        tokio::spawn(async move {
            if let Err(error) = copy_query(&mut conn, &sql, &shape, None, &tx).await {
                let _ = tx.send(Err(error)).await;
            }
        });
        Ok(channel_stream(rx))
    }

    /// The first row of `columns` whole numbers `sql` returns (`None` for NULL), read on the
    /// source's snapshot on a connection of its own: for counts and sizes of `table` (named in
    /// errors).
    pub async fn query_numbers(
        &self,
        table: &str,
        sql: String,
        columns: usize,
    ) -> Result<Vec<Option<i64>>, SourceError> {
        let batches = self.query_rows(sql, numbers_shape(table, columns)).await?;
        first_numbers(batches, columns).await
    }

    /// As [`PostgresSource::query_numbers`], on the next free connection of the source's own
    /// (none is made): an error leaves that connection unusable, so it must end the read.
    pub async fn pooled_numbers(
        &self,
        table: &str,
        sql: String,
        columns: usize,
    ) -> Result<Vec<Option<i64>>, SourceError> {
        let batches = self.pooled_rows(sql, numbers_shape(table, columns), None);
        first_numbers(batches, columns).await
    }
}

/// A row of `columns` whole numbers, of `table`.
fn numbers_shape(table: &str, columns: usize) -> TableShape {
    TableShape {
        name: table.into(),
        namespace: None,
        columns: (0..columns)
            .map(|c| Column {
                name: format!("column {}", c + 1),
                ty: ColumnType::Int,
                not_null: false,
            })
            .collect(),
        primary_key: Vec::new(),
    }
}

/// The first row's `columns` whole numbers of `batches` (`None` for NULL), every batch read.
async fn first_numbers(
    mut batches: RowBatches,
    columns: usize,
) -> Result<Vec<Option<i64>>, SourceError> {
    let mut first = None;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        if first.is_none() && !batch.is_empty() {
            first = Some(batch[0].to_vec());
        }
    }
    let values = first.unwrap_or_default();
    Ok((0..columns)
        .map(|c| match values.get(c) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        })
        .collect())
}

impl Inner {
    async fn copy_pooled(
        &self,
        query: &str,
        shape: &TableShape,
        read: Option<&[usize]>,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<(), SourceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let mut conn = self
            .idle
            .lock()
            .await
            .pop()
            .expect("a permit guarantees an idle connection");
        let result = copy_query(&mut conn, query, shape, read, tx).await;
        self.idle.lock().await.push(conn);
        result
    }
}

/// The query of the columns `read` names of `shape`'s table, in its order (every column when
/// `None`).
fn select_columns(shape: &TableShape, read: Option<&[usize]>) -> String {
    let columns: Vec<String> = match read {
        Some(read) => (read.iter())
            .map(|&c| quote_ident(&shape.columns[c].name))
            .collect(),
        None => shape.columns.iter().map(|c| quote_ident(&c.name)).collect(),
    };
    format!("SELECT {} FROM {}", columns.join(", "), shape.sql_name())
}

/// Streams the rows `query` returns as rows of `shape`: its fields are the columns `read`
/// names, in the table's order (every column when `None`), and the others are NULL.
async fn copy_query(
    conn: &mut PgConnection,
    query: &str,
    shape: &TableShape,
    read: Option<&[usize]>,
    tx: &mpsc::Sender<RowBatch>,
) -> Result<(), SourceError> {
    let read_error = |e: sqlx::Error| SourceError::Read {
        table: shape.name.clone(),
        message: postgres_says(&e),
    };
    let statement = format!("COPY ({query}) TO STDOUT");
    let mut stream = conn.copy_out_raw(&statement).await.map_err(read_error)?;
    let width = shape.columns.len();
    let mut decoder = LineDecoder {
        shape,
        read: read.filter(|read| !read.iter().copied().eq(0..width)),
        rows_seen: 0,
        row: Vec::with_capacity(width),
        batch: Rows::with_capacity(width, BATCH_ROWS),
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut consumer_gone = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(read_error)?;
        // Once the consumer has gone, the COPY is still drained so the connection stays usable.
        if consumer_gone {
            continue;
        }
        // Lines left over from the chunk before lead this one.
        let from_pending = !pending.is_empty();
        if from_pending {
            pending.extend_from_slice(&chunk);
        }
        let data: &[u8] = if from_pending { &pending } else { &chunk };
        let mut used = 0;
        // Each batch but the last holds exactly BATCH_ROWS rows (see `Rows::append`).
        loop {
            used += decoder.lines(&data[used..])?;
            if decoder.batch.len() < BATCH_ROWS {
                break;
            }
            let next = Rows::with_capacity(width, BATCH_ROWS);
            let batch = std::mem::replace(&mut decoder.batch, next);
            if tx.send(Ok(batch)).await.is_err() {
                consumer_gone = true;
                break;
            }
        }
        if from_pending {
            pending.drain(..used);
        } else {
            pending.extend_from_slice(&chunk[used..]);
        }
    }
    if !pending.is_empty() {
        return Err(SourceError::Read {
            table: shape.name.clone(),
            message: "COPY ended in the middle of a row".into(),
        });
    }
    if !decoder.batch.is_empty() && !consumer_gone {
        let _ = tx.send(Ok(decoder.batch)).await;
    }
    Ok(())
}

/// Turns complete COPY text lines into typed rows.
struct LineDecoder<'a> {
    shape: &'a TableShape,
    /// The columns a line's fields give, in the table's order, when not every column.
    read: Option<&'a [usize]>,
    rows_seen: u64,
    /// The row being decoded, its values moved to `batch` once it is whole.
    row: Vec<Value>,
    batch: Rows,
}

impl LineDecoder<'_> {
    /// Decodes the complete lines of `buf` until the batch holds [`BATCH_ROWS`] rows, and
    /// returns how many bytes they took.
    fn lines(&mut self, buf: &[u8]) -> Result<usize, SourceError> {
        let mut used = 0;
        while self.batch.len() < BATCH_ROWS {
            let Some(end) = memchr::memchr(b'\n', &buf[used..]) else {
                break;
            };
            let line = &buf[used..used + end];
            used += end + 1;
            self.rows_seen += 1;
            self.row(line)?;
        }
        Ok(used)
    }

    /// Decodes `line` and appends it to the batch.
    fn row(&mut self, line: &[u8]) -> Result<(), SourceError> {
        let columns = &self.shape.columns;
        let mut values = std::mem::take(&mut self.row);
        values.clear();
        let (fields, expected) = match self.read {
            None => {
                for (field, column) in split_fields(line).zip(columns) {
                    values.push(self.value(column, field)?);
                }
                (values.len(), columns.len())
            }
            Some(read) => {
                let (mut fields, mut read_next) = (split_fields(line), read.iter().peekable());
                let mut found = 0;
                for (c, column) in columns.iter().enumerate() {
                    let field = read_next.next_if(|&&r| r == c).and_then(|_| fields.next());
                    values.push(match field {
                        Some(field) => {
                            found += 1;
                            self.value(column, field)?
                        }
                        None => Value::Null,
                    });
                }
                (found, read.len())
            }
        };
        if fields != expected {
            return Err(SourceError::Read {
                table: self.shape.name.clone(),
                message: format!(
                    "row {} has {fields} fields, expected {expected}",
                    self.rows_seen,
                ),
            });
        }
        self.batch.push(values.drain(..));
        self.row = values;
        Ok(())
    }

    fn value(&self, column: &Column, field: &[u8]) -> Result<Value, SourceError> {
        let error = |expected: String, found: String| SourceError::Value {
            table: self.shape.name.clone(),
            row: self.rows_seen,
            column: column.name.clone(),
            expected,
            found,
        };
        let not_utf8 = |bytes: &[u8]| {
            error(
                "UTF-8 text".into(),
                String::from_utf8_lossy(bytes).into_owned(),
            )
        };
        if field == b"\\N" {
            return Ok(Value::Null);
        }
        let parsed = if field.contains(&b'\\') {
            match decode_field(field) {
                Ok(Some(text)) => parse_owned(&column.ty, text),
                Ok(None) => return Ok(Value::Null),
                Err(bytes) => return Err(not_utf8(&bytes)),
            }
        } else {
            // No escapes: the field is its own text, so only text values need a copy.
            match std::str::from_utf8(field) {
                Ok(text) => parse_text(&column.ty, text),
                Err(_) => return Err(not_utf8(field)),
            }
        };
        parsed.map_err(|e| error(e.expected, e.found))
    }
}

/// The tables of the search path's schemas and of the schemas `$1` names: a table the search
/// path finds by its own name goes by it, any other by `schema.table`.
const CATALOG_QUERY: &str = r#"
SELECT CASE WHEN pg_table_is_visible(c.oid) THEN c.relname::text
            ELSE n.nspname::text || '.' || c.relname::text END AS table_name,
       n.nspname::text AS namespace,
       a.attname::text AS column_name,
       a.attnotnull AS not_null,
       t.typname::text AS type_name,
       t.typtype::text AS type_kind,
       (t.typcategory = 'A') AS is_array,
       et.typname::text AS elem_name,
       et.typtype::text AS elem_kind,
       COALESCE((SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                 FROM pg_enum e
                 WHERE e.enumtypid = COALESCE(et.oid, t.oid)), '{}') AS labels,
       COALESCE(array_position(pk.conkey, a.attnum), 0) AS pk_position
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
     AND (n.nspname = ANY(current_schemas(false)) OR n.nspname = ANY($1))
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE c.relkind IN ('r', 'p')
ORDER BY c.oid, a.attnum
"#;

/// Fails when a schema `schemas` names is not in the database.
async fn check_schemas(
    conn: &mut PgConnection,
    url: &Redacted,
    schemas: &Schemas,
) -> Result<(), SourceError> {
    let named: Vec<&String> = schemas.search.iter().chain(&schemas.also).collect();
    if named.is_empty() {
        return Ok(());
    }
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace \
         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY nspname",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| SourceError::Postgres {
        url: url.clone(),
        message: postgres_says(&e),
    })?;
    match named.into_iter().find(|s| !existing.contains(s)) {
        Some(missing) => Err(SourceError::NoSuchSchema {
            url: url.clone(),
            missing: missing.clone(),
            available: existing.join(", "),
        }),
        None => Ok(()),
    }
}

async fn read_schema(conn: &mut PgConnection, also: &[String]) -> Result<Schema, sqlx::Error> {
    let rows = sqlx::query(CATALOG_QUERY)
        .bind(also)
        .fetch_all(&mut *conn)
        .await?;
    let mut schema = Schema::default();
    let mut keys: Vec<Vec<(i32, usize)>> = Vec::new();
    for row in rows {
        let table: String = row.try_get("table_name")?;
        if schema.tables.last().map(|t| &t.name) != Some(&table) {
            schema.tables.push(TableShape {
                name: table,
                namespace: Some(row.try_get("namespace")?),
                columns: Vec::new(),
                primary_key: Vec::new(),
            });
            keys.push(Vec::new());
        }
        let labels: Vec<String> = row.try_get("labels")?;
        let scalar = |name: String, kind: String| match kind.as_str() {
            "e" => ColumnType::Enum {
                name,
                labels: labels.clone(),
            },
            _ => scalar_type(&name),
        };
        let ty = if row.try_get::<bool, _>("is_array")? {
            let elem = scalar(row.try_get("elem_name")?, row.try_get("elem_kind")?);
            ColumnType::Array(Box::new(elem))
        } else {
            scalar(row.try_get("type_name")?, row.try_get("type_kind")?)
        };
        let shape = schema.tables.last_mut().expect("pushed above");
        let pk_position: i32 = row.try_get("pk_position")?;
        if pk_position > 0 {
            keys.last_mut()
                .expect("pushed with the table")
                .push((pk_position, shape.columns.len()));
        }
        shape.columns.push(Column {
            name: row.try_get("column_name")?,
            ty,
            not_null: row.try_get("not_null")?,
        });
    }
    for (shape, mut key) in schema.tables.iter_mut().zip(keys) {
        key.sort_unstable();
        shape.primary_key = key.into_iter().map(|(_, i)| i).collect();
    }
    Ok(schema)
}

fn scalar_type(name: &str) -> ColumnType {
    match name {
        "int2" | "int4" | "int8" | "oid" => ColumnType::Int,
        "numeric" | "float4" | "float8" => ColumnType::Numeric,
        "bool" => ColumnType::Bool,
        "timestamp" => ColumnType::Timestamp,
        "timestamptz" => ColumnType::TimestampTz,
        "date" => ColumnType::Date,
        "json" | "jsonb" => ColumnType::Json,
        "bytea" => ColumnType::Bytes,
        _ => ColumnType::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> TableShape {
        let column = |name: &str, ty| Column {
            name: name.into(),
            ty,
            not_null: false,
        };
        TableShape {
            name: "t".into(),
            namespace: None,
            columns: vec![
                column("id", ColumnType::Int),
                column("unread", ColumnType::Json),
                column("name", ColumnType::Text),
            ],
            primary_key: vec![0],
        }
    }

    #[test]
    fn a_line_of_some_columns_is_a_whole_row_with_the_others_null() {
        let shape = shape();
        let mut decoder = LineDecoder {
            shape: &shape,
            read: Some(&[0, 2]),
            rows_seen: 0,
            row: Vec::new(),
            batch: Rows::new(3),
        };
        assert_eq!(decoder.lines(b"7\tseven\n8\t\\N\n").unwrap(), 13);
        let rows: Vec<&[Value]> = decoder.batch.iter().collect();
        assert_eq!(
            rows,
            [
                &[Value::Int(7), Value::Null, Value::Text("seven".into())][..],
                &[Value::Int(8), Value::Null, Value::Null],
            ]
        );
        let error = decoder.lines(b"9\n").unwrap_err().to_string();
        assert!(error.contains("row 3 has 1 fields, expected 2"), "{error}");
    }
}
