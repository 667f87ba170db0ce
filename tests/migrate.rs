//! `migrator migrate` into the real local DynamoDB-compatible endpoint.

use aws_sdk_dynamodb::types::AttributeValue;
use migrator::item::line_to_item;

use crate::support::dynamodb::{endpoint, migrate, sink, table_name};
use crate::support::{migrator, plan};

fn planned_lines(spec: &str, source: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = plan(spec, source, dir.path());
    lines.sort();
    lines
}

#[tokio::test]
async fn the_sample_lands_exactly_as_planned_and_a_rerun_changes_nothing() {
    let table = table_name("sample");
    let out = migrate(
        "access-patterns/rootski",
        "sql/rootski/sample",
        &table,
        &["--create-table"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("| BREAKDOWN_ITEM | 31 | 31 | 0 | 0 | 0 |"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("the table holds exactly the planned items (counts and digests per type)"),
        "{}",
        out.stderr
    );
    let planned = planned_lines("access-patterns/rootski", "sql/rootski/sample");
    assert_eq!(planned.len(), 122);
    let in_table = sink(&table).await.scan_lines(4, None).await.unwrap();
    assert_eq!(in_table, planned, "same keys, same attribute values");

    let again = migrate("access-patterns/rootski", "sql/rootski/sample", &table, &[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned
    );
}

#[tokio::test]
async fn planning_poker_lands_too() {
    let table = table_name("poker");
    let out = migrate(
        "access-patterns/planning-poker",
        "sql/planning-poker/sample",
        &table,
        &["--create-table"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let planned = planned_lines(
        "access-patterns/planning-poker",
        "sql/planning-poker/sample",
    );
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned
    );
}

#[test]
fn a_missing_table_without_create_table() {
    let table = table_name("missing");
    let out = migrate("access-patterns/rootski", "sql/rootski/sample", &table, &[]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "error: DynamoDB at {}: table {table} does not exist; create it with --create-table (or migrator create-table)\n",
            endpoint()
        )
    );
}

#[test]
fn a_table_with_another_key_schema() {
    let table = table_name("other-keys");
    let endpoint = endpoint();
    let created = migrator(&[
        "create-table",
        "--spec",
        "access-patterns/planning-poker",
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(
        created.stderr,
        format!("table {table} created; ACTIVE in DynamoDB at {endpoint}\n")
    );
    let out = migrate("access-patterns/rootski", "sql/rootski/sample", &table, &[]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "error: DynamoDB at {endpoint}: table {table} exists with keys (PK S, SK S), but the spec says keys (pk S, sk S), index gsi1 (gsi1pk S, gsi1sk S), index gsi2 (gsi2pk S, gsi2sk S); use another --table or fix the spec\n"
        )
    );
}

#[test]
fn an_unreachable_endpoint() {
    let out = migrator(&[
        "migrate",
        "--spec",
        "access-patterns/rootski",
        "--source",
        "sql/rootski/sample",
        "--table",
        "t",
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--max-attempts",
        "1",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: DynamoDB at http://127.0.0.1:1: cannot reach DynamoDB: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Connection refused"), "{}", out.stderr);
    assert!(
        out.stderr
            .ends_with("; check --endpoint-url (or the region) and the network\n"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
}

fn verify(table: &str, report: &std::path::Path) -> crate::support::Outcome {
    compare("verify", table, report)
}

fn compare(command: &str, table: &str, report: &std::path::Path) -> crate::support::Outcome {
    compare_from(command, "sql/rootski/sample", table, report, &[])
}

/// Runs `verify` or `diff` of the Rootski spec from `source`, with `extra` options.
fn compare_from(
    command: &str,
    source: &str,
    table: &str,
    report: &std::path::Path,
    extra: &[&str],
) -> crate::support::Outcome {
    let endpoint = endpoint();
    let mut args = vec![
        command,
        "--spec",
        "access-patterns/rootski",
        "--source",
        source,
        "--table",
        table,
        "--endpoint-url",
        &endpoint,
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    migrator(&args)
}

/// Spoils a table of the Rootski sample three ways: deletes a BREAKDOWN_ITEM of word 771,
/// changes the admin USER's is_admin, and adds an item the plan does not make.
async fn spoil(table: &str) {
    let client = sink(table).await;
    let client = client.client();
    let key = |pk: &str, sk: &str| {
        [
            ("pk".to_string(), AttributeValue::S(pk.into())),
            ("sk".to_string(), AttributeValue::S(sk.into())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(key("WORD#771", "BREAKDOWN_ITEM#127#1")))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key(
            "USER#admin@example.com",
            "USER#admin@example.com",
        )))
        .update_expression("SET is_admin = :f")
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .send()
        .await
        .unwrap();
    let stray = line_to_item(
        r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM_NULL"},"pk":{"S":"WORD#9203"},"sk":{"S":"BREAKDOWN_ITEM#f4ef8326-5e0b-4ce4-a1b8-4b9b2c8e0d3c#8"},"morpheme":{"S":"ся"}}}"#,
    )
    .unwrap();
    client
        .put_item()
        .table_name(table)
        .set_item(Some(stray))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn verify_names_exactly_what_was_deleted_changed_and_added() {
    let table = table_name("verify");
    let out = migrate(
        "access-patterns/rootski",
        "sql/rootski/sample",
        &table,
        &["--create-table"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let passed = verify(&table, &dir.path().join("ok.json"));
    assert_eq!(passed.code, 0, "{}", passed.stderr);

    spoil(&table).await;

    let report_path = dir.path().join("bad.json");
    let failed = verify(&table, &report_path);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let v = &report["verify"];
    assert_eq!(v["matches"], false);
    assert_eq!(
        v["missing"],
        serde_json::json!([{"item_type": "BREAKDOWN_ITEM", "key": "pk=WORD#771, sk=BREAKDOWN_ITEM#127#1", "attributes": []}])
    );
    assert_eq!(
        v["changed"],
        serde_json::json!([{"item_type": "USER", "key": "pk=USER#admin@example.com, sk=USER#admin@example.com", "attributes": ["is_admin"]}])
    );
    assert_eq!(
        v["extra"],
        serde_json::json!([{"item_type": "BREAKDOWN_ITEM_NULL", "key": "pk=WORD#9203, sk=BREAKDOWN_ITEM#f4ef8326-5e0b-4ce4-a1b8-4b9b2c8e0d3c#8", "attributes": []}])
    );
    let types = v["types"].as_array().unwrap();
    let differing: Vec<&str> = types
        .iter()
        .filter(|t| t["matches"] == false)
        .map(|t| t["item_type"].as_str().unwrap())
        .collect();
    assert_eq!(differing, ["USER", "BREAKDOWN_ITEM", "BREAKDOWN_ITEM_NULL"]);
    assert!(failed.stderr.contains("Changed (1):\n- USER `pk=USER#admin@example.com, sk=USER#admin@example.com`: is_admin\n"), "{}", failed.stderr);
    assert!(failed.stderr.ends_with(&format!(
        "error: table {table} differs from the plan (see above)\n"
    )));

    // diff: the same three, read as what a migration would do; it writes nothing.
    let before = sink(&table).await.scan_lines(4, None).await.unwrap();
    let diff_path = dir.path().join("diff.json");
    let diff = compare("diff", &table, &diff_path);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stderr.contains(
            "| item type | would add | would change | would remove |\n|---|---:|---:|---:|\n| BREAKDOWN_ITEM | 1 | 0 | 0 |\n| BREAKDOWN_ITEM_NULL | 0 | 0 | 1 |\n| USER | 0 | 1 | 0 |\n"
        ),
        "{}",
        diff.stderr
    );
    assert!(diff.stderr.contains("Would change (1):\n- USER `pk=USER#admin@example.com, sk=USER#admin@example.com`: is_admin\n"), "{}", diff.stderr);
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        before,
        "diff changes nothing"
    );

    // migrate --prune: the load restores the two, the prune removes the stray one.
    let pruned = migrate(
        "access-patterns/rootski",
        "sql/rootski/sample",
        &table,
        &["--prune"],
    );
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert!(
        pruned
            .stderr
            .contains("Pruned 1 items the plan does not produce."),
        "{}",
        pruned.stderr
    );
    let passed = verify(&table, &dir.path().join("ok-again.json"));
    assert_eq!(passed.code, 0, "{}", passed.stderr);
}

#[tokio::test]
async fn in_windows_migrate_verify_and_diff_do_what_they_do_in_memory() {
    let url =
        crate::support::loaded_database("windowed_migrate", &crate::support::sample_dir()).await;
    let spec = "access-patterns/rootski";
    let table = table_name("windowed");
    let out = migrate(spec, &url, &table, &["--create-table", "--window", "2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let planned = planned_lines(spec, "sql/rootski/sample");
    assert_eq!(planned.len(), 122);
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned
    );

    spoil(&table).await;
    let dir = tempfile::tempdir().unwrap();
    for command in ["verify", "diff"] {
        let report = |name: &str, extra: &[&str]| {
            let path = dir.path().join(format!("{command}-{name}.json"));
            let out = compare_from(command, &url, &table, &path, extra);
            let report: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            (out.code, report["verify"].clone())
        };
        let (code, windowed) = report("windowed", &["--window", "2"]);
        let (whole_code, whole) = report("whole", &[]);
        assert_eq!(code, whole_code, "{command}");
        assert_eq!(windowed, whole, "{command}");
        assert_eq!(
            (
                whole["missing"].as_array().unwrap().len(),
                whole["changed"][0]["attributes"].clone()
            ),
            (1, serde_json::json!(["is_admin"])),
            "{command}"
        );
    }
    let pruned = migrate(spec, &url, &table, &["--prune", "--window", "5"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned
    );
}

/// Items as Rootski's own ETL wrote them (reference §4.5): string positions, "None" strings,
/// random-uuid keys, `BREAKDOWN#None`, unsorted duplicate pieces.
const ETL_ITEMS: [&str; 3] = [
    r#"{"Item":{"__type":{"S":"BREAKDOWN"},"pk":{"S":"WORD#57"},"sk":{"S":"BREAKDOWN"},"gsi1pk":{"S":"USER#anonymous"},"gsi1sk":{"S":"WORD#57"},"gsi2pk":{"S":"WORD#57"},"gsi2sk":{"S":"USER#anonymous"},"word":{"S":"знать"},"word_id":{"S":"57"},"submitted_by_user_email":{"S":"anonymous"},"is_verified":{"BOOL":false},"is_inference":{"BOOL":true},"date_submitted":{"S":"2022-02-15 05:45:18.740114"},"date_verified":{"S":"None"},"breakdown_items":{"L":[{"M":{"position":{"S":"1"},"morpheme":{"S":"ть"},"morpheme_id":{"S":"2196"},"morpheme_family_id":{"S":"1385"}}},{"M":{"position":{"S":"0"},"morpheme":{"S":"зна"},"morpheme_id":{"S":"511"},"morpheme_family_id":{"S":"245"}}},{"M":{"position":{"S":"0"},"morpheme":{"S":"зна"},"morpheme_id":{"S":"511"},"morpheme_family_id":{"S":"245"}}}]}}}"#,
    r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM"},"pk":{"S":"WORD#771"},"sk":{"S":"BREAKDOWN_ITEM#2213#0"},"gsi1pk":{"S":"MORPHEME_FAMILY#2213"},"gsi1sk":{"S":"BREAKDOWN#None"},"word_id":{"S":"771"},"position":{"S":"0"},"morpheme":{"S":"вы"},"morpheme_id":{"S":"2213"},"morpheme_family_id":{"S":"2213"},"breakdown_id":{"S":"77222"}}}"#,
    r#"{"Item":{"__type":{"S":"BREAKDOWN_ITEM_NULL"},"pk":{"S":"WORD#9203"},"sk":{"S":"BREAKDOWN_ITEM#f4ef8326-5e0b-4ce4-a1b8-4b9b2c8e0d3c#8"},"word_id":{"S":"9203"},"position":{"S":"8"},"morpheme":{"S":"ся"},"morpheme_id":{"NULL":true},"morpheme_family_id":{"NULL":true},"submitted_by_user_email":{"NULL":true}}}"#,
];

#[tokio::test]
async fn diff_reads_rootski_etl_leftovers_as_changes_and_removals() {
    let table = table_name("etl");
    let out = migrate(
        "access-patterns/rootski",
        "sql/rootski/sample",
        &table,
        &["--create-table"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sink = sink(&table).await;
    for line in ETL_ITEMS {
        sink.client()
            .put_item()
            .table_name(&table)
            .set_item(Some(line_to_item(line).unwrap()))
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let diff = compare("diff", &table, &dir.path().join("diff.json"));
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stderr.contains(
            "| BREAKDOWN | 0 | 1 | 0 |\n| BREAKDOWN_ITEM | 0 | 0 | 1 |\n| BREAKDOWN_ITEM_NULL | 0 | 0 | 1 |\n"
        ),
        "{}",
        diff.stderr
    );
    assert!(
        diff.stderr.contains("Would change (1):\n- BREAKDOWN `pk=WORD#57, sk=BREAKDOWN`: breakdown_id, breakdown_items, date_verified, verified_by_user_email\n"),
        "{}",
        diff.stderr
    );
    assert!(
        diff.stderr
            .contains("- BREAKDOWN_ITEM `pk=WORD#771, sk=BREAKDOWN_ITEM#2213#0`\n"),
        "{}",
        diff.stderr
    );
}

#[tokio::test]
async fn every_rootski_access_pattern_answers_as_its_sql_does() {
    let url = crate::support::loaded_database("patterns", &crate::support::sample_dir()).await;
    let table = table_name("patterns");
    let out = migrate(
        "access-patterns/rootski",
        &url,
        &table,
        &["--create-table", "--patterns"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("| everything of a word | 5 | 5 | ok |"),
        "{}",
        out.stderr
    );
    let csv = migrate(
        "access-patterns/rootski",
        "sql/rootski/sample",
        &table,
        &["--patterns"],
    );
    assert_eq!(csv.code, 2);
    assert_eq!(
        csv.stderr,
        "error: --patterns runs each pattern's SQL, so it needs a postgres:// source; load the CSV folder with `migrator dataset load` first\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("verify.json");
    let endpoint = endpoint();
    let checked = migrator(&[
        "verify",
        "--spec",
        "access-patterns/rootski",
        "--source",
        &url,
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
        "--patterns",
        "--report",
        report_path.to_str().unwrap(),
    ]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let answers: Vec<(String, usize, bool)> = report["verify"]["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["dynamo"].as_array().unwrap().len(),
                p["matches"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("get user", 1),
        ("get word by id", 1),
        ("search words by prefix", 2),
        ("official breakdown of a word", 1),
        ("a user's own breakdown of a word", 1),
        ("official breakdowns by submitter", 1),
        ("breakdown of a word by submitter", 1),
        ("morpheme families by ids", 1),
        ("morpheme by id", 1),
        ("morphemes of a family", 3),
        ("words that use a family", 2),
        ("everything of a word", 5),
        ("register a user", 1),
        ("upsert the official breakdown of a word", 1),
    ];
    assert_eq!(
        answers,
        expected
            .iter()
            .map(|(n, c)| (n.to_string(), *c, true))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        report["verify"]["patterns"][10]["dynamo"],
        serde_json::json!([["WORD#1957", ""], ["WORD#50", ""]]),
        "words that use family 1304 (ать)"
    );
    let ordered: Vec<&str> = report["verify"]["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ordered"] == true)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        ordered,
        ["search words by prefix", "morphemes of a family"],
        "compared in order where the SQL orders its rows"
    );
}

#[tokio::test]
async fn patterns_are_checked_with_their_order_projection_and_writes() {
    let poker = crate::support::repo_root().join("sql/planning-poker");
    let url =
        crate::support::loaded_database_of("patterns_poker", &poker, &poker.join("sample")).await;
    let table = table_name("poker-patterns");
    let out = migrate(
        "access-patterns/planning-poker",
        &url,
        &table,
        &["--create-table", "--patterns"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("| users of a room | 3 | 3 | ok, in order |"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("| users who voted | 1 | 1 | ok |"),
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("| create room | 0 | 0 | ok (the write would be made) |"));
    assert!(out
        .stderr
        .contains("| vote | 1 | 1 | ok (the write would be made) |"));

    // The same table read by an application that asks for another order, or forgets an
    // attribute it shows: verify names exactly that pattern, and where it differs.
    let spec = crate::support::poker_spec_reading(&poker.join("schema.sql"));
    let endpoint = endpoint();
    for (changed, why) in [
        (
            spec.replace("order = \"asc\"", "order = \"desc\""),
            "position 1: DynamoDB returned ROOM:r1 USER:uk-c3, the SQL ROOM:r1 USER:uk-a1",
        ),
        (
            spec.replace(
                "projection = [\"userId\", \"username\",",
                "projection = [\"userId\",",
            ),
            "ROOM:r1 USER:uk-a1: attribute username is nothing in DynamoDB, \"alice\" in the SQL",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spec.toml"), &changed).unwrap();
        let out = migrator(&[
            "verify",
            "--spec",
            dir.path().to_str().unwrap(),
            "--source",
            &url,
            "--table",
            &table,
            "--endpoint-url",
            &endpoint,
            "--patterns",
        ]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let named: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("Access pattern **"))
            .collect();
        assert_eq!(
            named,
            [format!(
                "Access pattern **users of a room** (room_id=r1): {why}."
            )],
            "{}",
            out.stderr
        );
    }
}

#[test]
fn create_table_turns_on_the_spec_ttl_attribute_or_says_it_cannot() {
    let schema = crate::support::repo_root().join("sql/planning-poker/schema.sql");
    let spec = crate::support::poker_spec_reading(&schema).replacen(
        "billing",
        "ttl_attribute = \"expires\"\nbilling",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    let table = table_name("ttl");
    let endpoint = endpoint();
    let out = migrator(&[
        "create-table",
        "--spec",
        dir.path().to_str().unwrap(),
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // dynalite has DescribeTimeToLive but no UpdateTimeToLive: the table is made, TTL is not.
    assert_eq!(
        out.stderr,
        format!("table {table} created; ACTIVE in DynamoDB at {endpoint}\nwarning: this endpoint has no UpdateTimeToLive, so TTL on attribute expires is not on; turn it on where the table lives (aws dynamodb update-time-to-live)\n")
    );
}

#[tokio::test]
async fn a_plan_of_several_rounds_streams_into_the_table_whole() {
    // Scale 0.04 plans about 23,000 items: two rounds of lines built while the load runs.
    let data = tempfile::tempdir().unwrap();
    let source = data.path().to_str().expect("UTF-8");
    let out = migrator(&[
        "dataset", "generate", "--design", "rootski", "--scale", "0.04", "--seed", "5", "--out",
        source,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let planned = planned_lines("access-patterns/rootski", source);
    assert!(
        planned.len() > migrator::transform::CHUNK_ITEMS,
        "{}",
        planned.len()
    );

    let table = table_name("rounds");
    let report = data.path().join("migrate.json");
    let out = migrate(
        "access-patterns/rootski",
        source,
        &table,
        &[
            "--create-table",
            "--report",
            report.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let types = report["load"]["types"].as_object().unwrap();
    let sum = |field: &str| {
        types
            .values()
            .map(|t| t[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("planned"), planned.len() as u64);
    assert_eq!(sum("written"), planned.len() as u64);
    assert_eq!(sum("failed"), 0);
    assert_eq!(report["verify"]["matches"], true);
    assert_eq!(
        sink(&table).await.scan_lines(4, None).await.unwrap(),
        planned,
        "same keys, same attribute values"
    );
}

#[tokio::test]
async fn a_timestamp_sort_key_in_the_default_format_comes_back_in_time_order() {
    // Whole seconds and fractions of every length: with a variable width, "09:00:01Z" would
    // sort before "09:00:00.5Z" ('Z' > '.'), and a Query would return them out of order.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        "CREATE TABLE events (id INTEGER PRIMARY KEY, thread TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);",
    )
    .unwrap();
    let times = [
        "2023-03-01 09:00:01+00",
        "2023-03-01 09:00:00.5+00",
        "2023-03-01 09:00:00+00",
        "2023-03-01 09:00:00.000001+00",
        "2023-03-01 09:00:00.25+00",
        "2023-03-01 09:00:10+00",
        "2023-03-01 08:59:59.999999+00",
    ];
    let rows: String = times
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{},th1,{t}\n", i + 1))
        .collect();
    std::fs::write(
        dir.path().join("events.csv"),
        format!("id,thread,at\n{rows}"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("spec.toml"),
        "source = \"schema.sql\"\n[table]\nname = \"events\"\npartition_key = \"pk\"\nsort_key = \"sk\"\n\n[[items]]\ntype = \"EVENT\"\nfrom = \"events\"\n[items.keys]\npk = \"THREAD#{thread}\"\nsk = \"AT#{at}\"\n[items.attributes]\nid = { column = \"id\" }\n",
    )
    .unwrap();
    let table = table_name("time-order");
    let out = migrate(
        dir.path().to_str().unwrap(),
        dir.path().to_str().unwrap(),
        &table,
        &["--create-table"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sink = sink(&table).await;
    let answer = sink
        .client()
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("THREAD#th1".into()))
        .send()
        .await
        .unwrap();
    let sks: Vec<&str> = answer
        .items()
        .iter()
        .map(|item| item["sk"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(
        sks,
        [
            "AT#2023-03-01T08:59:59.999999Z",
            "AT#2023-03-01T09:00:00.000000Z",
            "AT#2023-03-01T09:00:00.000001Z",
            "AT#2023-03-01T09:00:00.250000Z",
            "AT#2023-03-01T09:00:00.500000Z",
            "AT#2023-03-01T09:00:01.000000Z",
            "AT#2023-03-01T09:00:10.000000Z",
        ],
        "the Query's order is the times' order"
    );
}

#[test]
fn create_table_asks_for_the_throughput_settings_of_a_real_load() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("calls.jsonl");
    let proxy =
        crate::support::dynamodb::FaultProxy::start(&["--record", record.to_str().unwrap()]);
    let table = table_name("throughput");
    let out = migrator(&[
        "create-table",
        "--spec",
        "access-patterns/rootski",
        "--table",
        &table,
        "--endpoint-url",
        &proxy.url,
        "--max-write-request-units",
        "40000",
        "--warm-write-units",
        "12000",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().next(),
        Some(format!("table {table} created (on-demand maximum 40000 write request units/s, warm throughput 12000 writes/s); ACTIVE in DynamoDB at {}", proxy.url).as_str())
    );
    let calls = std::fs::read_to_string(&record).unwrap();
    let create: serde_json::Value = calls
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|c| c["op"] == "CreateTable")
        .expect("a CreateTable call")["body"]
        .clone();
    assert_eq!(create["OnDemandThroughput"]["MaxWriteRequestUnits"], 40000);
    assert_eq!(create["WarmThroughput"]["WriteUnitsPerSecond"], 12000);
    for index in create["GlobalSecondaryIndexes"].as_array().unwrap() {
        assert_eq!(index["OnDemandThroughput"]["MaxWriteRequestUnits"], 40000);
        assert_eq!(index["WarmThroughput"]["WriteUnitsPerSecond"], 12000);
    }
}
