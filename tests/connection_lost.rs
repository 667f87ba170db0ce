//! A Postgres connection lost mid-run (killed with `pg_terminate_backend`, or the server
//! restarted): extract, plan and migrate stop with one line naming the table being read, leave
//! no plan under its final name, and a rerun of migrate resumes from its checkpoint.
//!
//! The read is caught in the act by holding a lock on `words`: the COPY that reads it waits, and
//! the test ends that waiting connection.

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use crate::support::cluster::Cluster;
use crate::support::dynamodb::table_name;
use crate::support::dynamodb::{migrate_args, FaultProxy};
use crate::support::{
    load_into, loaded_database, migrator, migrator_command, repo_root, sample_dir, Outcome,
};

/// The line a read cut short ends with.
const TERMINATED: &str =
    "error: table words: reading from Postgres failed: terminating connection due to administrator command";

/// Holds `LOCK TABLE words` in an open transaction until dropped.
async fn lock_words(url: &str) -> PgConnection {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    conn.execute("BEGIN").await.expect("begin");
    conn.execute("LOCK TABLE words IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    conn
}

/// Waits for `child` to end and returns its outcome; with `admin`, every 50 ms until then it
/// ends each connection to that database that waits for a lock.
async fn until_done(mut child: Child, mut admin: Option<&mut PgConnection>) -> Outcome {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        assert!(started.elapsed() < Duration::from_secs(60), "never ended");
        if let Some(admin) = admin.as_deref_mut() {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .execute(admin)
            .await
            .expect("terminate");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    Outcome {
        code: child.wait().expect("wait").code().unwrap_or(-1),
        stderr,
    }
}

/// Runs migrator with `args` while `words` is locked, ending every connection of the database
/// `url` names that waits for a lock, until the command ends.
async fn terminated_while_reading(url: &str, args: &[&str]) -> Outcome {
    let _lock = lock_words(url).await;
    let mut admin = PgConnection::connect(url).await.expect("connect");
    let child = migrator_command(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start migrator");
    until_done(child, Some(&mut admin)).await
}

fn last_line(out: &Outcome) -> &str {
    out.stderr.lines().last().unwrap_or_default()
}

#[tokio::test]
async fn extract_and_plan_stop_with_the_table_and_leave_no_plan() {
    let url = loaded_database("lost_plan", &sample_dir()).await;
    let out = terminated_while_reading(&url, &["extract", "--source", &url]).await;
    assert_eq!(
        (last_line(&out), out.code),
        (TERMINATED, 2),
        "{}",
        out.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let items = dir.path().join("items.jsonl");
    for window in [None, Some("3")] {
        let mut args = vec![
            "plan",
            "--spec",
            "access-patterns/rootski",
            "--source",
            &url,
            "--out",
            items.to_str().unwrap(),
        ];
        args.extend(window.iter().flat_map(|w| ["--window", *w]));
        let out = terminated_while_reading(&url, &args).await;
        assert_eq!(out.code, 2, "{window:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{window:?}: {}", out.stderr);
        assert!(
            last_line(&out).starts_with("error: table words: reading from Postgres failed: ")
                && last_line(&out).contains("terminating connection due to administrator command"),
            "{window:?}: {}",
            out.stderr
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(
            left.is_empty(),
            "{window:?}: no plan, whole or partial: {left:?}"
        );
    }
}

#[tokio::test]
async fn a_restarted_server_stops_the_read_with_the_table() {
    let cluster = Cluster::start(|_| Vec::new());
    cluster.psql("CREATE DATABASE sample");
    let url = cluster.url("postgres", "sample", "sslmode=disable");
    load_into(&url, &repo_root().join("sql/rootski"), &sample_dir(), &[]);
    let lock = lock_words(&url).await;
    let mut admin = PgConnection::connect(&url).await.expect("connect");
    let child = migrator_command(&["extract", "--source", &url])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start migrator");
    // Once the read of words waits and every other table is read, the server restarts: the
    // words read alone for half a second (a connection still opening, or between two tables,
    // runs no COPY for a moment, so one look is not enough).
    let started = Instant::now();
    let mut alone = 0;
    loop {
        let (waiting, reading): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active') \
             FROM pg_stat_activity WHERE datname = 'sample' AND query LIKE 'COPY%'",
        )
        .fetch_one(&mut admin)
        .await
        .expect("count readers");
        alone = if (waiting, reading) == (1, 1) {
            alone + 1
        } else {
            0
        };
        if alone == 25 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the read never waited alone"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.restart();
    drop((lock, admin));
    let out = until_done(child, None).await;
    assert_eq!(
        (out.stderr.as_str(), out.code),
        (&*format!("{TERMINATED}\n"), 2)
    );
}

#[tokio::test]
async fn migrate_stops_keeping_its_checkpoint_and_the_rerun_resumes() {
    let url = loaded_database("lost_migrate", &sample_dir()).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("migrate.json");
    let checkpoint = dir.path().join("migrate.checkpoint");
    let table = table_name("lost");
    // The checkpoint names the endpoint, so every run goes through a proxy on one port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();

    // A first run that half the calls fail: it stops with part of the table written.
    let failing = FaultProxy::start(&["--port", &port, "--error500", "0.5", "--seed", "3"]);
    let endpoint = failing.url.clone();
    let mut args = migrate_args(&url, &table, &endpoint, report.to_str().unwrap());
    args.extend(["--max-attempts", "1"]);
    let first = migrator(&args);
    drop(failing);
    assert_eq!(first.code, 2, "{}", first.stderr);
    let recorded = std::fs::read_to_string(&checkpoint).expect("checkpoint kept");
    let batches = recorded.lines().count() - 1;
    assert!(
        (1..5).contains(&batches),
        "part of the 5 batches: {recorded}"
    );

    // A second run loses its connection while reading: the checkpoint is left as it was.
    let _proxy = FaultProxy::start(&["--port", &port]);
    let out = terminated_while_reading(&url, &args).await;
    assert_eq!(
        (last_line(&out), out.code),
        (TERMINATED, 2),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), recorded);

    // The third writes only the rest and verifies the table.
    let third = migrator(&args);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(
        third.stderr.contains(&format!(
            "; resuming from {}: {batches} batches already written",
            checkpoint.display()
        )),
        "{}",
        third.stderr
    );
    let load: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(load["load"]["batches_skipped"], batches as u64);
    assert!(load["verify"]["matches"].as_bool().unwrap());
    assert!(!checkpoint.exists(), "removed once verified");
}
