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
            rows.extend(batch.unwrap().iter().map(<[_]>::to_vec));
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

/// `migrator snapshot` holds one moment for later commands (`--snapshot ID`), however the
/// database changes; once it stops, reading on its id is a one-line error.
#[tokio::test]
async fn a_held_snapshot_is_read_by_later_commands_until_its_holder_stops() {
    let url = loaded_database("snapshot_held", &sample_dir()).await;
    let dir = tempfile::tempdir().unwrap();
    let id_file = dir.path().join("snapshot-id");
    let (holder, id) =
        crate::support::hold_snapshot(&["--source", &url, "--out", id_file.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&id_file).unwrap(),
        format!("{id}\n")
    );

    let mut writer = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO users (email, is_admin) VALUES ('late@example.com', false)")
        .execute(&mut writer)
        .await
        .unwrap();
    let plan = |extra: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        crate::support::plan_with("access-patterns/rootski", &url, out.path(), extra)
    };
    let before = plan(&["--snapshot", &id]);
    let from_csv = {
        let out = tempfile::tempdir().unwrap();
        crate::support::plan("access-patterns/rootski", "sql/rootski/sample", out.path())
    };
    assert_eq!(before, from_csv, "the plan on the snapshot is the sample's");
    assert_eq!(
        plan(&[]).len(),
        from_csv.len() + 1,
        "without it, the new user"
    );

    std::process::Command::new("kill")
        .args(["-TERM", &holder.id().to_string()])
        .status()
        .unwrap();
    let ended = holder.wait_with_output().unwrap();
    assert_eq!(ended.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&ended.stderr).ends_with("snapshot released\n"),
        "{}",
        String::from_utf8_lossy(&ended.stderr)
    );
    assert!(!id_file.exists(), "the id file goes with the snapshot");

    let out = crate::support::migrator(&["extract", "--source", &url, "--snapshot", &id]);
    assert_eq!(out.code, 2);
    let shown = migrator::redact::Redacted::new(&url).to_string();
    assert_eq!(
        out.stderr,
        format!(
            "error: Postgres at {shown}: cannot read on snapshot {id}: invalid snapshot identifier: \"{id}\"; it is held only while `migrator snapshot` runs, so start one and pass the id it prints (--snapshot ID)\n"
        )
    );
}

/// A holder whose transaction is ended under it (a terminated backend, a restarted server)
/// says so and stops with exit 2; a CSV folder has no snapshot to hold.
#[tokio::test]
async fn a_holder_whose_transaction_ends_says_the_snapshot_is_gone() {
    let url = loaded_database("snapshot_ended", &sample_dir()).await;
    let (holder, id) = crate::support::hold_snapshot(&["--source", &url]);
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let ended = holder.wait_with_output().unwrap();
    assert_eq!(ended.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&ended.stderr);
    assert!(
        stderr.ends_with(
            "the snapshot is gone, so start migrator snapshot again and rerun the shards on its new id\n"
        ) && stderr.contains(&format!("the transaction holding snapshot {} ended (", id.trim())),
        "{stderr}"
    );

    let out = crate::support::migrator(&["snapshot", "--source", "sql/rootski/sample"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: snapshot holds a moment of a Postgres database, but sql/rootski/sample is a folder of CSV files\n"
    );
}
