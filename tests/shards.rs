//! Shards (`--shard I/N`): N runs, each planning, loading and comparing the items whose key
//! hashes to it, add up to the whole migration.

use sqlx::Connection;

use crate::support::dynamodb::{endpoint, table_name};
use crate::support::{
    hold_snapshot, loaded_database, migrator, migrator_command, plan_with, sample_dir,
};

const SPEC: &str = "access-patterns/rootski";

fn sorted_plan(source: &str, extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = plan_with(SPEC, source, dir.path(), extra);
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn windowed_shards_plan_what_shards_plan_in_memory() {
    let url = loaded_database("windowed_shards", &sample_dir()).await;
    let whole = sorted_plan(&url, &[]);
    let mut union = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let dir = tempfile::tempdir().unwrap();
        let in_memory = plan_with(SPEC, &url, dir.path(), &["--shard", &shard]);
        let report = |dir: &std::path::Path| {
            let mut report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                    .unwrap();
            report.as_object_mut().unwrap().remove("seconds");
            report
        };
        let in_memory_report = report(dir.path());
        let windowed_dir = tempfile::tempdir().unwrap();
        let windowed = plan_with(
            SPEC,
            &url,
            windowed_dir.path(),
            &["--shard", &shard, "--window", "2"],
        );
        assert!(!windowed.is_empty() && windowed.len() < whole.len());
        assert_eq!(windowed, in_memory, "shard {shard}: the same file");
        assert_eq!(
            report(windowed_dir.path()),
            in_memory_report,
            "shard {shard}: the same report"
        );
        union.extend(windowed);
    }
    union.sort();
    assert_eq!(union, whole);
}

#[test]
fn the_shards_plans_add_up_to_the_whole_plan() {
    let whole = sorted_plan("sql/rootski/sample", &[]);
    let mut union = Vec::new();
    for i in 0..4 {
        let shard = format!("{i}/4");
        let part = sorted_plan("sql/rootski/sample", &["--shard", &shard]);
        assert!(
            !part.is_empty() && part.len() < whole.len(),
            "shard {shard}: {}",
            part.len()
        );
        union.extend(part);
    }
    union.sort();
    assert_eq!(
        union, whole,
        "disjoint parts whose union is the plan, byte for byte"
    );

    let out = migrator(&[
        "plan",
        "--spec",
        SPEC,
        "--source",
        "sql/rootski/sample",
        "--shard",
        "4/4",
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: invalid value '4/4' for '--shard <I/N>': shard 4/4: the index counts from 0, so it is below 4\n\nFor more information, try '--help'.\n"
    );
    let out = migrator_command(&[
        "plan",
        "--spec",
        SPEC,
        "--source",
        "sql/rootski/sample",
        "--shard",
        "auto/4",
    ])
    .env_remove("JOB_COMPLETION_INDEX")
    .env("AWS_BATCH_JOB_ARRAY_INDEX", "2")
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = migrator_command(&["plan", "--spec", SPEC])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no source: give --source URL_OR_DIR (a postgres:// URL or a CSV folder) or set DATABASE_URL\n"
    );
}

/// Four shard processes at once on one snapshot, while the database is written to, then one
/// verify of the whole table: it holds exactly the plan of the snapshot's moment.
#[tokio::test]
async fn four_shards_migrate_at_once_on_one_snapshot() {
    let url = loaded_database("shards", &sample_dir()).await;
    let (mut holder, id) = hold_snapshot(&["--source", &url]);
    let table = table_name("shards");
    let endpoint = endpoint();
    let created = migrator(&[
        "create-table",
        "--spec",
        SPEC,
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(created.code, 0, "{}", created.stderr);

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = |i: usize| dir.path().join(format!("{i}.checkpoint"));
    let report = |i: usize| dir.path().join(format!("shard-{i}.json"));
    let shard_args = |i: usize| -> Vec<String> {
        let mut args: Vec<String> = [
            "migrate",
            "--spec",
            SPEC,
            "--source",
            &url,
            "--snapshot",
            &id,
            "--shard",
            &format!("{i}/4"),
            "--table",
            &table,
            "--endpoint-url",
            &endpoint,
            "--checkpoint",
            checkpoint(i).to_str().unwrap(),
            "--report",
            report(i).to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        if i == 0 {
            // Shard 0 writes slowly (a fourth of 40 WCU/s), so it can be killed part-way.
            args.extend(["--max-wcu".to_string(), "40".to_string()]);
        }
        args
    };
    let spawn = |i: usize| {
        let args = shard_args(i);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        migrator_command(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut slow = spawn(0);
    let shards: Vec<std::process::Child> = (1..4).map(spawn).collect();
    let mut writer = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO users (email, is_admin) VALUES ('during@example.com', false)")
        .execute(&mut writer)
        .await
        .unwrap();
    // Shard 0 is killed (SIGKILL) once DynamoDB has accepted one of its batches.
    let started = std::time::Instant::now();
    while std::fs::read_to_string(checkpoint(0)).map_or(0, |t| t.lines().count()) < 2 {
        assert!(started.elapsed().as_secs() < 60, "shard 0 made no progress");
        assert!(
            slow.try_wait().unwrap().is_none(),
            "shard 0 finished before the kill"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    slow.kill().unwrap();
    slow.wait().unwrap();
    for (i, shard) in shards.into_iter().enumerate() {
        let out = shard.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "shard {}: {stderr}", i + 1);
        assert!(
            stderr.contains("the table holds exactly the planned items"),
            "shard {} checks its own part: {stderr}",
            i + 1
        );
        assert!(
            stderr.contains(&format!(", shard {}/4 (its part of the items only)", i + 1)),
            "{stderr}"
        );
    }
    // Shard 0 alone again, on the same snapshot: it resumes from its checkpoint.
    let again = spawn(0).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("; resuming from "), "{stderr}");
    let whole = migrator(&[
        "verify",
        "--spec",
        SPEC,
        "--source",
        &url,
        "--snapshot",
        &id,
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    // Without the snapshot the source has the user written during the load, and the table not.
    let now = migrator(&[
        "verify",
        "--spec",
        SPEC,
        "--source",
        &url,
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(now.code, 1, "{}", now.stderr);
    assert!(
        now.stderr.contains("USER#during@example.com"),
        "{}",
        now.stderr
    );

    // The shards' reports added up against one Scan of the table: no source read again.
    let reports: Vec<String> = (0..4)
        .map(|i| report(i).to_str().unwrap().to_string())
        .collect();
    let combine = |reports: &[String]| {
        let mut args = vec![
            "verify",
            "--spec",
            SPEC,
            "--table",
            &table,
            "--endpoint-url",
            &endpoint,
            "--combine",
        ];
        args.extend(reports.iter().map(String::as_str));
        crate::support::migrator_command(&args)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = combine(&reports);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("the table holds exactly the shards' planned items (counts and digests per type); 122 items scanned"), "{stderr}");
    // The Scan shared by two machines: each reads one segment into a report of its part; the
    // shards' reports and the two parts then compare without a Scan.
    for part in 0..2 {
        let mut with_part = reports.clone();
        with_part.extend([
            "--scan-segment".to_string(),
            format!("{part}/2"),
            "--report".to_string(),
            dir.path()
                .join(format!("part-{part}.json"))
                .to_str()
                .unwrap()
                .to_string(),
        ]);
        let out = combine(&with_part);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.starts_with(&format!("# Scan segment {part}/2 of table {table}")),
            "{stderr}"
        );
    }
    let part = |p: usize| {
        dir.path()
            .join(format!("part-{p}.json"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let mut all = reports.clone();
    all.extend([part(0), part(1)]);
    let out = combine(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("the table holds exactly the shards' planned items (counts and digests per type); 122 items scanned"), "{stderr}");
    let mut half = reports.clone();
    half.push(part(0));
    let out = combine(&half);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: give one report per Scan segment: 1/2 (0 reports)\n"
    );
    let out = combine(&reports[..3]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: give one report per shard: 3/4 (0 reports)\n"
    );
    // An item of another shard lost from the table: the sum says so.
    let sink = crate::support::dynamodb::sink(&table).await;
    let key: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> = [
        ("pk", "USER#admin@example.com"),
        ("sk", "USER#admin@example.com"),
    ]
    .into_iter()
    .map(|(k, v)| {
        (
            k.to_string(),
            aws_sdk_dynamodb::types::AttributeValue::S(v.into()),
        )
    })
    .collect();
    sink.client()
        .delete_item()
        .table_name(&table)
        .set_key(Some(key))
        .send()
        .await
        .unwrap();
    let out = combine(&reports);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("| USER | 6 | 5 |"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: table {table} differs from the shards' plans (see above)"
        )),
        "{stderr}"
    );
    let _ = holder.kill();
    let _ = holder.wait();
}
