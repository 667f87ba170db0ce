//! The forum thread events design (`access-patterns/forum`): events of one thread in the same
//! millisecond take the keys the spec's tie-break documents, subscriptions are those alive at
//! the plan's moment, and the access patterns answer as the SQL does.

use crate::support::dynamodb::{migrate, sink, table_name};
use crate::support::{migrator, plan_with, repo_root};

const SPEC: &str = "access-patterns/forum";
const SAMPLE: &str = "sql/forum/sample";
/// After the bob and dan subscriptions began, before they expire; alice's has expired.
const AS_OF: &str = "2024-05-03T08:30:00Z";

/// (partition key, sort key, type) of each planned line, in plan order.
fn keys(lines: &[String]) -> Vec<(String, String, String)> {
    lines
        .iter()
        .map(|line| {
            let item: serde_json::Value = serde_json::from_str(line).unwrap();
            let item = &item["Item"];
            let text = |name: &str, ty: &str| item[name][ty].as_str().unwrap_or("").to_string();
            (text("PK", "S"), text("time", "N"), text("type", "S"))
        })
        .collect()
}

#[tokio::test]
async fn same_millisecond_events_take_the_next_free_millisecond_and_the_patterns_agree() {
    let design = repo_root().join("sql/forum");
    let url = crate::support::loaded_database_of("forum", &design, &design.join("sample")).await;
    let table = table_name("forum");
    let out = migrate(
        SPEC,
        &url,
        &table,
        &["--create-table", "--patterns", "--as-of", AS_OF],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "| events of a thread | 10 | 10 | ok, in order |",
        "| latest events of a thread | 3 | 3 | ok, in order |",
        "| messages of a thread | 2 | 2 | ok, in order |",
        "| subscriptions of a thread | 2 | 2 | ok, in order |",
        "the table holds exactly the planned items (counts and digests per type)",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }

    // Thread 1/100 in the table, in DynamoDB's order: the message sent in the millisecond
    // the thread was opened comes one millisecond after it, the message of the submission's
    // millisecond one after that, and of two messages in one millisecond the second (by id)
    // one after the first.
    let mut lines = sink(&table).await.scan_lines(4, None).await.unwrap();
    lines.retain(|l| l.contains("THREADEV#1#100"));
    let mut thread = keys(&lines);
    thread.sort_by_key(|(_, time, _)| time.parse::<u64>().unwrap());
    let thread: Vec<(&str, &str)> = thread
        .iter()
        .map(|(_, time, ty)| (time.as_str(), ty.as_str()))
        .collect();
    assert_eq!(
        thread,
        [
            ("1714553700000", "attempt_started"),
            ("1714553970500", "submission"),
            ("1714554000000", "thread_opened"),
            ("1714554000001", "message"),
            ("1714554300000", "message"),
            ("1714554600250", "submission"),
            ("1714554720000", "submission"),
            ("1714554720001", "message"),
            ("1714555200100", "message"),
            ("1714555200101", "message"),
        ]
    );
    let subscriptions: Vec<String> = sink(&table)
        .await
        .scan_lines(4, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.contains("THREADSUB#"))
        .collect();
    assert_eq!(
        subscriptions,
        [
            r#"{"Item":{"PK":{"S":"THREADSUB#2#100"},"connectionId":{"S":"conn-b7"},"time":{"N":"1714723200000"},"ttl":{"N":"1714730400"},"userId":{"S":"2"}}}"#,
            r#"{"Item":{"PK":{"S":"THREADSUB#2#100"},"connectionId":{"S":"conn-d2"},"time":{"N":"1714723200001"},"ttl":{"N":"1714730400"},"userId":{"S":"4"}}}"#,
        ]
    );

    // Planned in windows, a first pass settles the moves over every window: the plan is the
    // in-memory one, byte for byte, in windows of one root and of two, and so are its report's
    // whole report.
    let dir = tempfile::tempdir().unwrap();
    let plans: Vec<(String, serde_json::Value)> = [&[][..], &["--window", "1"], &["--window", "2"]]
        .iter()
        .enumerate()
        .map(|(n, options)| {
            let run = dir.path().join(n.to_string());
            std::fs::create_dir(&run).unwrap();
            let mut options = options.to_vec();
            options.extend(["--as-of", AS_OF]);
            let lines = plan_with(SPEC, &url, &run, &options).join("\n");
            let mut report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap())
                    .unwrap();
            report["seconds"] = 0.into();
            (lines, report)
        })
        .collect();
    let (whole, report) = &plans[0];
    assert_eq!(
        whole
            .lines()
            .filter(|l| l.contains("THREADEV#1#100"))
            .count(),
        10
    );
    assert_eq!(
        report["events"],
        serde_json::json!([
            ["MESSAGE key moved (on_key_clash)", 3],
            ["SUBSCRIPTION key moved (on_key_clash)", 1]
        ])
    );
    for (lines, windowed) in &plans[1..] {
        assert!(lines == whole, "windowed:\n{lines}\nin memory:\n{whole}");
        assert_eq!(windowed, report, "the same report but for its seconds");
    }
    // Each shard moves as the whole plan does, and plans in windows what it plans in memory.
    let mut count = 0;
    for shard in ["0/2", "1/2"] {
        let shard_plan = |options: &[&str]| {
            let run = tempfile::tempdir().unwrap();
            let mut options = options.to_vec();
            options.extend(["--as-of", AS_OF, "--shard", shard]);
            plan_with(SPEC, &url, run.path(), &options)
        };
        let in_memory = shard_plan(&[]);
        assert_eq!(shard_plan(&["--window", "1"]), in_memory, "shard {shard}");
        assert!(in_memory.iter().all(|line| whole.contains(line.as_str())));
        count += in_memory.len();
    }
    assert_eq!(count, whole.lines().count());
}

#[test]
fn the_moved_keys_are_counted_and_without_the_tie_break_each_clash_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    plan_with(SPEC, SAMPLE, dir.path(), &["--as-of", AS_OF]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let events: Vec<(String, u64)> = report["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_str().unwrap().to_string(), e[1].as_u64().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("MESSAGE key moved (on_key_clash)".to_string(), 3),
            ("SUBSCRIPTION key moved (on_key_clash)".to_string(), 1),
        ]
    );

    let spec = std::fs::read_to_string(repo_root().join(SPEC).join("spec.toml"))
        .unwrap()
        .replace("on_key_clash = \"next-sort-key\"", "")
        .replace(
            "source = \"../../sql/forum/schema.sql\"",
            &format!(
                "source = \"{}\"",
                repo_root().join("sql/forum/schema.sql").display()
            ),
        );
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    let spec_dir = dir.path().to_str().unwrap();
    let out = migrator(&[
        "plan", "--spec", spec_dir, "--source", SAMPLE, "--as-of", AS_OF,
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: two items have the key PK=THREADEV#1#100, time=1714554000000: THREAD_OPENED from table thread_status_history, row id=1, and MESSAGE from table messages, row id=500; make the key templates unique\n\
         error: two items have the key PK=THREADEV#1#100, time=1714554720000: SUBMISSION from table answers, row id=1002, and MESSAGE from table messages, row id=502; make the key templates unique\n\
         error: two items have the key PK=THREADEV#1#100, time=1714555200100: MESSAGE from table messages, row id=503, and MESSAGE from table messages, row id=504; make the key templates unique\n\
         error: two items have the key PK=THREADSUB#2#100, time=1714723200000: SUBSCRIPTION from table thread_subscriptions, row participant_id=2, item_id=100, connection_id=conn-b7, and SUBSCRIPTION from table thread_subscriptions, row participant_id=2, item_id=100, connection_id=conn-d2; make the key templates unique\n"
    );
}

#[test]
fn subscriptions_are_those_alive_at_the_plans_moment() {
    let dir = tempfile::tempdir().unwrap();
    let alive = |as_of: &str| -> Vec<String> {
        let lines = plan_with(SPEC, SAMPLE, dir.path(), &["--as-of", as_of]);
        keys(&lines)
            .into_iter()
            .filter(|(pk, _, _)| pk.starts_with("THREADSUB#"))
            .map(|(pk, time, _)| format!("{pk} {time}"))
            .collect()
    };
    assert_eq!(
        alive("2024-05-01T10:59:59Z"),
        [
            "THREADSUB#1#100 1714554000000",
            "THREADSUB#2#100 1714723200000",
            "THREADSUB#2#100 1714723200001"
        ]
    );
    // A subscription expiring at that very moment is no longer alive (expires_at > NOW).
    assert_eq!(
        alive("2024-05-01T11:00:00Z"),
        [
            "THREADSUB#2#100 1714723200000",
            "THREADSUB#2#100 1714723200001"
        ]
    );
    assert!(alive("2024-05-03T10:00:00+00:00").is_empty());

    let out = migrator(&[
        "plan",
        "--spec",
        SPEC,
        "--source",
        SAMPLE,
        "--as-of",
        "yesterday",
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: invalid value 'yesterday' for '--as-of <TIME>': not a time; write one in RFC 3339 with its offset, such as 2024-05-01T12:00:00Z\n\nFor more information, try '--help'.\n"
    );
}
