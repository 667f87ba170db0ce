//! One consistent view of the database for every connection of an extraction.
//!
//! The coordinator opens a REPEATABLE READ, READ ONLY transaction and exports its snapshot
//! (`pg_export_snapshot`); every worker opens the same kind of transaction and adopts it
//! (`SET TRANSACTION SNAPSHOT`). The coordinator's transaction must stay open until every
//! worker has adopted the snapshot, so the source keeps it for its whole life.

use sqlx::{Executor, PgConnection};

/// Begins the coordinator's transaction and returns the exported snapshot id.
pub async fn export(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let (id,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()")
        .fetch_one(&mut *conn)
        .await?;
    Ok(id)
}

/// Begins a worker's transaction on the snapshot `id`.
pub async fn adopt(conn: &mut PgConnection, id: &str) -> Result<(), sqlx::Error> {
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    // Snapshot ids are server-made tokens like 00000003-0000001B-1; quoting keeps them inert.
    let statement = format!("SET TRANSACTION SNAPSHOT '{}'", id.replace('\'', "''"));
    conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(statement)))
        .await?;
    Ok(())
}
