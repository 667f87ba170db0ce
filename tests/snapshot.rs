//! Snapshot: every connection of a parallel extraction reads the same moment.

use std::time::Duration;

use futures::StreamExt;
use sqlx::Connection;

use crate::support::{all_rows, loaded_database, open, sample_dir, sorted};

#[tokio::test]
async fn parallel_extraction_sees_exactly_its_snapshot() {
    let url = loaded_database("snapshot", &sample_dir()).await;
    let csv = open(sample_dir().to_str().unwrap(), 1).await;
    let source = open(&url, 4).await;

    // Written after the snapshot but before any table is read.
    let mut writer = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO users (email, is_admin) VALUES ('late@example.com', true)")
        .execute(&mut writer)
        .await
        .unwrap();
    sqlx::query("DELETE FROM word_defs WHERE word_id = 7")
        .execute(&mut writer)
        .await
        .unwrap();

    // Written while the tables are being read, on all four connections at once.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut written = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || written < 50 {
                sqlx::query("INSERT INTO sentences (sentence) VALUES ('Новое предложение.')")
                    .execute(&mut writer)
                    .await
                    .unwrap();
                sqlx::query(
                    "INSERT INTO words (word, accent, pos) VALUES ('новый', 'но''вый', 'adjective')",
                )
                .execute(&mut writer)
                .await
                .unwrap();
                written += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            written
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let names: Vec<String> = source
        .schema()
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let streams: Vec<_> = names.iter().map(|t| source.rows(t).unwrap()).collect();
    let extracted = futures::future::join_all(streams.into_iter().map(|mut s| async move {
        let mut rows = Vec::new();
        while let Some(batch) = s.next().await {
            rows.extend(batch.unwrap());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        rows
    }))
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writing.await.unwrap();
    assert!(written >= 50);

    for (table, rows) in names.iter().zip(extracted) {
        let expected = sorted(all_rows(&csv, table).await);
        assert_eq!(
            sorted(rows),
            expected,
            "table {table} differs from the snapshot"
        );
    }
    // The writes did land: a new source sees them.
    let after = open(&url, 1).await;
    assert_eq!(all_rows(&after, "users").await.len(), 7);
    assert_eq!(all_rows(&after, "word_defs").await.len(), 16);
    assert_eq!(all_rows(&after, "words").await.len(), 16 + written as usize);
}
