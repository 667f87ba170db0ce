//! `dataset load`: schema, rows, sequences, and a second load refused.

use sqlx::Connection;

use crate::support::{loaded_database, migrator, sample_dir};

#[tokio::test]
async fn loads_every_table_and_moves_sequences_past_the_ids() {
    let url = loaded_database("load", &sample_dir()).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let (id,): (i32,) = sqlx::query_as(
        "INSERT INTO words (word, accent, pos) VALUES ('новый', 'но''вый', 'adjective') RETURNING id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(id, 59471, "the next word id follows the highest loaded one");
    let (fk,): (String,) = sqlx::query_as(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'word_defs_definition_id_fkey'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(fk, "FOREIGN KEY (definition_id) REFERENCES definitions(id)");
    let (nulls,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM morpheme_family_meanings WHERE meaning IS NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(nulls, 2, "empty CSV fields load as NULL");
}

#[tokio::test]
async fn a_second_load_into_the_same_database_is_refused() {
    let url = loaded_database("twice", &sample_dir()).await;
    let out = migrator(&[
        "dataset",
        "load",
        "--design",
        "rootski",
        "--from",
        "sql/rootski/sample",
        "--database-url",
        &url,
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: the database already has type \"parts_of_speech\"; load into an empty database (for example one made with createdb) or drop the existing tables and types first\n"
    );
}
