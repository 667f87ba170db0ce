//! The loader under the faults a real server never produces (throttling, 500s, partial batches,
//! dropped connections, refused credentials), injected by `scripts/fault-proxy.js` in front of
//! the real endpoint; and a load killed with SIGKILL, then resumed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::dynamodb::{migrate_args, sink, table_name, FaultProxy};
use crate::support::{migrator, migrator_command, outcome, plan};

/// A generated Rootski dataset of 5,700 items (scale 0.01), made once per test run.
fn dataset() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("migrator-faults-{}", std::process::id()));
        let out = migrator(&[
            "dataset",
            "generate",
            "--design",
            "rootski",
            "--scale",
            "0.01",
            "--seed",
            "3",
            "--out",
            dir.to_str().expect("UTF-8"),
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        dir
    })
}

fn planned(source: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = plan(
        "access-patterns/rootski",
        source.to_str().expect("UTF-8"),
        dir.path(),
    );
    lines.sort();
    lines
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written")).expect("JSON")
}

#[tokio::test]
async fn throttling_500s_partial_batches_and_dropped_connections_lose_nothing() {
    let proxy = FaultProxy::start(&[
        "--seed",
        "7",
        "--throttle",
        "0.3",
        "--error500",
        "0.05",
        "--partial",
        "0.1",
        "--drop",
        "0.05",
        "--slow",
        "0.05",
        "--delay-ms",
        "200",
    ]);
    let table = table_name("faults");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("migrate.json");
    let source = dataset().to_str().unwrap();
    let out = migrator(&migrate_args(
        source,
        &table,
        &proxy.url,
        report.to_str().unwrap(),
    ));
    let counts = proxy.stop();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for fault in [
        "throttled",
        "errors500",
        "partial",
        "dropped_before",
        "dropped_after",
    ] {
        assert!(counts[fault].as_u64().unwrap() > 0, "no {fault}: {counts}");
    }
    let planned = planned(dataset());
    assert_eq!(planned.len(), 5700);
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned,
        "0 lost, 0 extra, every attribute equal"
    );
    let report = read_json(&report);
    assert_eq!(report["verify"]["matches"], true);
    let load = &report["load"];
    assert!(load["calls_retried"].as_u64().unwrap() > 0, "{load}");
    assert!(load["throttles"].as_u64().unwrap() > 0, "{load}");
    let resent: u64 = load["types"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["resent"].as_u64().unwrap())
        .sum();
    assert_eq!(resent, counts["unprocessed_items"].as_u64().unwrap());
    assert!(
        !dir.path().join("migrate.checkpoint").exists(),
        "removed once verified"
    );
}

#[tokio::test]
async fn a_load_killed_with_sigkill_resumes_and_writes_the_rest_once_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("wcu.log");
    let proxy = FaultProxy::start(&["--log", log.to_str().unwrap()]);
    let table = table_name("killed");
    let report = dir.path().join("migrate.json");
    let checkpoint = dir.path().join("migrate.checkpoint");
    let source = dataset().to_str().unwrap();
    let mut args = migrate_args(source, &table, &proxy.url, report.to_str().unwrap());
    args.extend(["--max-wcu", "1500"]);

    let mut first = migrator_command(&args)
        .stderr(Stdio::null())
        .spawn()
        .expect("start migrate");
    let started = Instant::now();
    while std::fs::read_to_string(&checkpoint).map_or(0, |t| t.lines().count()) < 40 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        assert!(
            first.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    assert!(!report.exists(), "the killed run wrote no report");

    let again = outcome(&mut migrator_command(&args));
    let counts = proxy.stop();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("; resuming from "),
        "{}",
        again.stderr
    );
    let load = read_json(&report)["load"].clone();
    assert!(load["batches_skipped"].as_u64().unwrap() >= 39, "{load}");
    let mut planned_total = 0;
    for (item_type, t) in load["types"].as_object().unwrap() {
        let (planned, written, skipped) = (
            t["planned"].as_u64().unwrap(),
            t["written"].as_u64().unwrap(),
            t["skipped"].as_u64().unwrap(),
        );
        assert_eq!(written + skipped, planned, "{item_type}: each item once");
        planned_total += planned;
    }
    assert_eq!(planned_total, 5700);
    // Items the proxy let through over both runs: the plan, plus at most the batches in flight
    // when the kill came (16 calls of 25 items).
    let accepted = counts["accepted_items"].as_u64().unwrap();
    assert!((5700..=5700 + 16 * 25).contains(&accepted), "{counts}");
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned(dataset())
    );
    // The budget: no 5-second window carried more than 5 × 1,500 WCU (plus one batch).
    let per_second: Vec<(u64, f64)> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split(' ');
            (
                parts.next().unwrap().parse().unwrap(),
                parts.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let first_second = per_second[0].0;
    let last_second = per_second.last().unwrap().0;
    for start in first_second..=last_second {
        let window: f64 = per_second
            .iter()
            .filter(|(s, _)| (start..start + 5).contains(s))
            .map(|(_, w)| w)
            .sum();
        assert!(
            window <= 5.0 * 1500.0 + 50.0,
            "{window} WCU in 5 s from {start}"
        );
    }
    assert!(!checkpoint.exists(), "removed once verified");
}

#[test]
fn wrong_credentials() {
    let proxy = FaultProxy::start(&["--access-key-id", "AKIARIGHT"]);
    let out = outcome(
        migrator_command(&[
            "migrate",
            "--spec",
            "access-patterns/rootski",
            "--source",
            "sql/rootski/sample",
            "--table",
            "t",
            "--endpoint-url",
            &proxy.url,
        ])
        .env("AWS_ACCESS_KEY_ID", "AKIAWRONG")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value"),
    );
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "error: DynamoDB at {}: DynamoDB refused the credentials: UnrecognizedClientException: The security token included in the request is invalid.; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile\n",
            proxy.url
        )
    );
    assert!(!out.stderr.contains("very-secret-value"));
}

#[test]
fn a_load_that_gives_up_reports_what_failed_and_keeps_its_checkpoint() {
    let proxy = FaultProxy::start(&["--error500", "1"]);
    let table = table_name("gives-up");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("migrate.json");
    let mut args = migrate_args(
        "sql/rootski/sample",
        &table,
        &proxy.url,
        report.to_str().unwrap(),
    );
    args.extend(["--max-attempts", "2"]);
    let out = migrator(&args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "error: DynamoDB at {}: table {table}: a batch (first item ",
            proxy.url
        )),
        "{last}"
    );
    assert!(
        last.ends_with(" failed 2 calls in a row, the last with HTTP 500 InternalServerError; the load stopped; rerun the same command to resume from the checkpoint"),
        "{last}"
    );
    assert!(
        out.stderr.contains("**the load stopped after "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("| WORD | 16 | 0 | 0 | 0 | 16 |"),
        "{}",
        out.stderr
    );
    let json = read_json(&report);
    assert_eq!(json["load"]["types"]["BREAKDOWN_ITEM"]["failed"], 31);
    assert!(json["error"].as_str().unwrap().contains("HTTP 500"));
    assert!(
        dir.path().join("migrate.checkpoint").exists(),
        "kept for the rerun"
    );
}

#[tokio::test]
async fn under_the_capacity_model_with_faults_the_table_ends_equal_to_the_plan() {
    // Real DynamoDB's limits on top of today's faults: a table and index capacity, a per-key
    // limit that Rootski's hot WORD key (1,569 WCU) cannot meet in its burst, and throttles,
    // 500s and partial batches.
    let proxy = FaultProxy::start(&[
        "--table-wcu",
        "3000",
        "--key-wcu",
        "300",
        "--burst-seconds",
        "0.5",
        "--seed",
        "3",
        "--throttle",
        "0.1",
        "--error500",
        "0.05",
        "--partial",
        "0.1",
    ]);
    let table = table_name("model");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("migrate.json");
    let out = migrator(&migrate_args(
        dataset().to_str().unwrap(),
        &table,
        &proxy.url,
        report.to_str().unwrap(),
    ));
    let counts = proxy.stop();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        counts["model_refusals"].as_u64().unwrap_or(0) > 0,
        "{counts}"
    );
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned(dataset()),
        "0 lost, 0 extra, every attribute equal"
    );
    assert_eq!(read_json(&report)["verify"]["matches"], true);
}

/// Migrates events `1..=count` of kind `kind(id)`, each a key of its own in the table and its
/// kind its key in the index `bykind`, through DynamoDB's capacity model (40,000 WCU/s, half
/// a second of burst) at `key_wcu` WCU/s per key value: the run, its report and the table.
fn migrate_events(
    count: u32,
    kind: impl Fn(u32) -> String,
    key_wcu: &str,
    name: &str,
) -> (crate::support::Outcome, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL);",
    )
    .unwrap();
    let rows: String = (1..=count).map(|i| format!("{i},{}\n", kind(i))).collect();
    std::fs::write(dir.path().join("events.csv"), format!("id,kind\n{rows}")).unwrap();
    std::fs::write(
        dir.path().join("spec.toml"),
        "source = \"schema.sql\"\n[table]\nname = \"t\"\npartition_key = \"pk\"\n[[table.indexes]]\nname = \"bykind\"\npartition_key = \"gsi1pk\"\nprojection = \"keys\"\n\n[[items]]\ntype = \"EVENT\"\nfrom = \"events\"\n[items.keys]\npk = \"E#{id}\"\ngsi1pk = \"KIND#{kind}\"\n",
    )
    .unwrap();
    let proxy = FaultProxy::start(&[
        "--table-wcu",
        "40000",
        "--key-wcu",
        key_wcu,
        "--burst-seconds",
        "0.5",
    ]);
    let table = table_name(name);
    let report = dir.path().join("migrate.json");
    let out = migrator(&[
        "migrate",
        "--spec",
        dir.path().to_str().unwrap(),
        "--source",
        dir.path().to_str().unwrap(),
        "--table",
        &table,
        "--endpoint-url",
        &proxy.url,
        "--create-table",
        "--report",
        report.to_str().unwrap(),
    ]);
    proxy.stop();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = read_json(&report);
    (out, report, table)
}

#[tokio::test]
async fn the_report_gives_dynamodb_s_throttling_reasons_and_the_keys_held_back() {
    // Every item in one index key, each a key of its own in the table: the index key's
    // 100 WCU/s holds back the table's writes, and whole calls are refused with the reason.
    let (out, report, table) = migrate_events(300, |_| "k".to_string(), "100", "reasons");
    let load = &report["load"];
    let reasons = load["throttling_reasons"].as_object().unwrap();
    let index = format!(
        "IndexWriteKeyRangeThroughputExceeded on arn:aws:dynamodb:us-east-1:000000000000:table/{table}/index/bykind"
    );
    assert!(reasons.contains_key(&index), "{load}");
    assert_eq!(
        reasons.len(),
        1,
        "the index key alone holds the load back: {load}"
    );
    assert!(
        out.stderr
            .contains(&format!("Throttled by DynamoDB: {index}: ")),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_hot_index_key_is_paced_on_its_own_from_the_start() {
    // 1,200 items share one index key, each its own key in the table, with 300 more items in
    // index keys of their own: the shared key gets a lane of its own from the first call,
    // and the table ends equal to the plan under the key's 400 WCU/s.
    let kind = |i: u32| {
        if i <= 1200 {
            "hot".to_string()
        } else {
            format!("k{i}")
        }
    };
    let (out, report, _) = migrate_events(1500, kind, "400", "paced");
    assert_eq!(report["verify"]["matches"], true);
    assert_eq!(
        report["load"]["paced_keys"],
        serde_json::json!(["KIND#hot of the index bykind"])
    );
    assert!(
        out.stderr
            .contains("Hot keys paced on their own, from the start: KIND#hot of the index bykind."),
        "{}",
        out.stderr
    );
}
