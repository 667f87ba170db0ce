//! `dataset load`: creates a design's schema in Postgres and fills it from a CSV folder with
//! COPY, table by table in the schema's order (parents first), all in one transaction.
//!
//! Every file is first read through the CSV source, so a value that does not fit its column
//! is reported with file, line and column before Postgres sees anything; Postgres then checks
//! keys and foreign keys. Serial sequences are moved past the loaded ids at the end.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::Serialize;
use sqlx::{Connection, Executor, PgConnection};

use super::DatasetError;
use crate::redact::Redacted;
use crate::source::{
    connect_one, header_positions, quote_ident, ColumnType, CsvSource, TableShape,
};

/// Rows loaded per table, in load order.
#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub tables: Vec<(String, u64)>,
}

/// Creates the schema at `schema_path` in the database at `url` and loads the CSV folder `dir`.
/// Unqualified tables go to the first of `schemas` (the search path; empty, the server's);
/// every Postgres schema named (there, or qualifying a table) is created when missing.
pub async fn load(
    dir: &Path,
    schema_path: &Path,
    url: &Redacted,
    schemas: &[String],
) -> Result<LoadReport, DatasetError> {
    let source = CsvSource::open(dir, Some(schema_path))?;
    validate(&source).await?;
    let sql = std::fs::read_to_string(schema_path).map_err(|source| DatasetError::Io {
        path: schema_path.to_path_buf(),
        source,
    })?;
    let mut conn = connect_one(url, schemas).await?;
    let mut tx = conn.begin().await.map_err(|e| copy_error(dir, e))?;
    for namespace in schemas.iter().take(1).chain(&source.schema().namespaces()) {
        let create = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(namespace));
        // A quoted identifier.
        tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(create)))
            .await
            .map_err(|e| schema_error(schema_path, e))?;
    }
    // The design's own DDL, run as the user who loads it would run it with psql.
    tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
        .await
        .map_err(|e| schema_error(schema_path, e))?;
    let mut tables = Vec::new();
    for shape in &source.schema().tables {
        let path = source.path(&shape.name);
        let rows = copy_file(&mut tx, shape, &path).await?;
        tracing::info!(table = %shape.name, rows, "loaded");
        tables.push((shape.name.clone(), rows));
    }
    reset_sequences(&mut tx, &source)
        .await
        .map_err(|e| copy_error(dir, e))?;
    tx.commit().await.map_err(|e| copy_error(dir, e))?;
    Ok(LoadReport { tables })
}

/// Reads every file through the CSV source, so bad values fail with file, line and column.
async fn validate(source: &CsvSource) -> Result<(), DatasetError> {
    let checks = source.schema().tables.iter().map(|shape| async move {
        let mut rows = source.rows(shape.clone());
        while let Some(batch) = rows.next().await {
            batch?;
        }
        Ok::<_, DatasetError>(())
    });
    futures::future::try_join_all(checks).await?;
    Ok(())
}

async fn copy_file(
    conn: &mut PgConnection,
    shape: &TableShape,
    path: &Path,
) -> Result<u64, DatasetError> {
    let io_error = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let header = csv::Reader::from_path(path)
        .and_then(|mut r| r.headers().cloned())
        .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
    header_positions(path, shape, &header)?;
    let columns: Vec<String> = header.iter().map(quote_ident).collect();
    let columns = columns.join(", ");
    let statement = format!(
        "COPY {} ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true, FORCE_NULL ({columns}))",
        shape.sql_name()
    );
    let file = tokio::fs::File::open(path).await.map_err(io_error)?;
    let mut copy = conn
        .copy_in_raw(&statement)
        .await
        .map_err(|e| copy_error(path, e))?;
    copy.read_from(file)
        .await
        .map_err(|e| copy_error(path, e))?;
    copy.finish().await.map_err(|e| copy_error(path, e))
}

async fn reset_sequences(conn: &mut PgConnection, source: &CsvSource) -> Result<(), sqlx::Error> {
    for shape in &source.schema().tables {
        for column in shape.columns.iter().filter(|c| c.ty == ColumnType::Int) {
            let statement = format!(
                "SELECT setval(seq, COALESCE((SELECT max({col}) FROM {table}), 0) + 1, false) \
                 FROM pg_get_serial_sequence($1, $2) AS seq WHERE seq IS NOT NULL",
                col = quote_ident(&column.name),
                table = shape.sql_name(),
            );
            // Identifiers quoted by quote_ident; the values are bound.
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .bind(shape.sql_name())
                .bind(&column.name)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

fn schema_error(path: &Path, error: sqlx::Error) -> DatasetError {
    if let sqlx::Error::Database(db) = &error {
        if matches!(db.code().as_deref(), Some("42P07" | "42710")) {
            let what = db.message().trim_end_matches(" already exists").to_string();
            return DatasetError::Exists { what };
        }
    }
    DatasetError::Schema {
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// Names the file and, where Postgres says it, the line that failed.
fn copy_error(path: &Path, error: sqlx::Error) -> DatasetError {
    let path: PathBuf = path.to_path_buf();
    let sqlx::Error::Database(db) = &error else {
        return DatasetError::Copy {
            path,
            line: None,
            message: error.to_string(),
        };
    };
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let line = pg
        .and_then(|e| e.r#where())
        .and_then(|w| w.split(", line ").nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u64>().ok());
    let mut message = db.message().to_string();
    if let Some(detail) = pg.and_then(|e| e.detail()) {
        message = format!("{message}: {}", detail.trim_end_matches('.'));
    }
    let hint = match db.code().as_deref() {
        Some("23503") => "; fix the value or add the row it refers to",
        Some("23505") => "; remove the duplicate row",
        _ => "; fix the row and rerun",
    };
    DatasetError::Copy {
        path,
        line,
        message: format!("{message}{hint}"),
    }
}
