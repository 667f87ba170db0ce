//! `export s3` and `import`: a plan written to S3 as ImportTable reads it (one prefix, one
//! manifest per shard), imported into a new table by moto's ImportTable and verified; a line
//! that cannot be imported is named by object, line and key; an export that is not whole is
//! refused before anything is imported.

use std::io::{Read, Write};

use aws_sdk_s3::primitives::ByteStream;

use crate::support::dynamodb::{table_name, FaultProxy};
use crate::support::{migrator, moto_endpoint, plan};

const SPEC: &str = "access-patterns/planning-poker";
const SOURCE: &str = "sql/planning-poker/sample";

async fn s3() -> aws_sdk_s3::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// A new bucket no other test uses.
async fn bucket(label: &str) -> String {
    let name = table_name(label).to_lowercase();
    s3().await
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    name
}

async fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3()
        .await
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

async fn lines_of(bucket: &str, key: &str) -> Vec<String> {
    let object = s3()
        .await
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let body = object.body.collect().await.unwrap().into_bytes();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_string).collect()
}

async fn put_lines(bucket: &str, key: &str, lines: &[String]) {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for line in lines {
        writeln!(gzip, "{line}").unwrap();
    }
    s3().await
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(gzip.finish().unwrap()))
        .send()
        .await
        .unwrap();
}

fn export(to: &str, extra: &[&str]) -> crate::support::Outcome {
    let moto = moto_endpoint();
    let mut args = vec![
        "export",
        "s3",
        "--to",
        to,
        "--spec",
        SPEC,
        "--source",
        SOURCE,
        "--s3-endpoint-url",
        &moto,
        "--object-size",
        "1K",
    ];
    args.extend_from_slice(extra);
    migrator(&args)
}

fn import(from: &str, spec: &str, table: &str, extra: &[&str]) -> crate::support::Outcome {
    import_through(&moto_endpoint(), from, spec, table, extra)
}

/// `import` with DynamoDB at `dynamodb` (the fault proxy in front of moto, say) and S3 at moto.
fn import_through(
    dynamodb: &str,
    from: &str,
    spec: &str,
    table: &str,
    extra: &[&str],
) -> crate::support::Outcome {
    let moto = moto_endpoint();
    let mut args = vec![
        "import",
        "--from",
        from,
        "--spec",
        spec,
        "--table",
        table,
        "--endpoint-url",
        dynamodb,
        "--s3-endpoint-url",
        &moto,
        "--poll-seconds",
        "0.2",
    ];
    args.extend_from_slice(extra);
    migrator(&args)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_shards_exported_to_one_prefix_import_as_one_verified_table() {
    let bucket = bucket("shards").await;
    let to = format!("s3://{bucket}/poker/run-1");
    for shard in ["0/2", "1/2"] {
        let out = export(&to, &["--shard", shard]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "manifest s3://{bucket}/poker/run-1/manifests/shard-{}-of-2.json",
                &shard[..1]
            )),
            "{}",
            out.stderr
        );
    }
    assert_eq!(
        keys(&bucket, "poker/run-1/manifests/").await,
        [
            "poker/run-1/manifests/shard-0-of-2.json",
            "poker/run-1/manifests/shard-1-of-2.json"
        ]
    );
    // The shards' objects, each at most 1 KiB of lines, hold the plan's lines exactly.
    let dir = tempfile::tempdir().unwrap();
    let mut planned = plan(SPEC, SOURCE, dir.path());
    let mut exported = Vec::new();
    let data = keys(&bucket, "poker/run-1/data/").await;
    assert!(data.len() >= 3, "{data:?}");
    for key in &data {
        assert!(
            key.starts_with("poker/run-1/data/shard-0-of-2-")
                || key.starts_with("poker/run-1/data/shard-1-of-2-"),
            "{key}"
        );
        let lines = lines_of(&bucket, key).await;
        assert!(lines.iter().map(|l| l.len() + 1).sum::<usize>() <= 1024 || lines.len() == 1);
        exported.extend(lines);
    }
    planned.sort();
    exported.sort();
    assert_eq!(exported, planned);

    let table = table_name("imported");
    let out = import(&to, SPEC, &table, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("ImportTable COMPLETED (arn:aws:dynamodb:us-east-1:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "8 items processed, 8 imported, 0 errors; {} objects of 2 shard(s)",
            data.len()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "Verification: the table holds exactly the exported items (counts and digests per type); 8 items scanned."
        ),
        "{}",
        out.stderr
    );
    // The imported table against the source, item by item, as verify compares any table.
    let moto = moto_endpoint();
    let verified = migrator(&[
        "verify",
        "--spec",
        SPEC,
        "--source",
        SOURCE,
        "--table",
        &table,
        "--endpoint-url",
        &moto,
    ]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);

    // ImportTable only makes new tables.
    let again = import(&to, SPEC, &table, &[]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains(&format!(
            "error: table {table} already exists: ImportTable only makes a new table; name another --table, or load the existing one with migrator migrate"
        )),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_that_cannot_be_imported_is_named_by_object_line_and_key() {
    let bucket = bucket("broken").await;
    let to = format!("s3://{bucket}/poker");
    let out = export(&to, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The second line of the first object loses its sort key: no item can be made of it.
    let first = "poker/data/shard-0-of-1-00000.json.gz";
    let mut lines = lines_of(&bucket, first).await;
    let mut line: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    line["Item"].as_object_mut().unwrap().remove("SK");
    lines[1] = line.to_string();
    put_lines(&bucket, first, &lines).await;

    let table = table_name("broken");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("import.json");
    // moto's DynamoDB names no log group for an import and logs nothing: the proxy in front of
    // it names one, as DynamoDB does, and writes the import's error there through moto's Logs.
    let proxy = FaultProxy::start_before(
        &moto_endpoint(),
        &[
            "--import-log-group",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws-dynamodb/imports:*",
        ],
    );
    let out = import_through(
        &proxy.url,
        &to,
        SPEC,
        &table,
        &["--report", report.to_str().unwrap()],
    );
    proxy.stop();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("8 items processed, 7 imported, 1 errors"),
        "{}",
        out.stderr
    );
    let report_text = std::fs::read_to_string(&report).unwrap();
    let arn = serde_json::from_str::<serde_json::Value>(&report_text).unwrap()["import_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let id = arn.rsplit('/').next().unwrap();
    assert!(
        out.stderr.contains(&format!(
            "DynamoDB logged each line it could not import to CloudWatch Logs group /aws-dynamodb/imports, in the streams of this import: aws logs filter-log-events --log-group-name /aws-dynamodb/imports --log-stream-name-prefix {id}\n\nIts first lines:\n\n- {id}/error: 400 Bad Request: {{\"__type\": \"com.amazonaws.dynamodb.v20120810#ValidationException\", \"message\": \"One or more parameter values were invalid: Missing the key SK in the item\"}}\n\n"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("| (every item) | 8 | 7 |"),
        "{}",
        out.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        report["located"],
        serde_json::json!([format!(
            "line 2 of s3://{bucket}/{first}: the item has no SK, the table's key, so DynamoDB cannot import it; DynamoDB skips the rest of the object after such a line"
        )])
    );
    assert_eq!(report["errors"], 1);
    assert_eq!(report["matches"], false);
    assert!(
        out.stderr.contains("error: table ")
            && out
                .stderr
                .contains(" is not the exported items (see above)"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_that_is_not_whole_is_refused_before_importing() {
    let bucket = bucket("whole").await;
    let table = table_name("never");
    let nothing = import(&format!("s3://{bucket}/nothing"), SPEC, &table, &[]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert!(nothing.stderr.contains(&format!(
        "error: no manifest under s3://{bucket}/nothing/manifests/: export there first (migrator export s3 --to s3://{bucket}/nothing); an export that stopped early writes none"
    )), "{}", nothing.stderr);

    let to = format!("s3://{bucket}/half");
    assert_eq!(export(&to, &["--shard", "0/2"]).code, 0);
    let half = import(&to, SPEC, &table, &[]);
    assert_eq!(half.code, 2, "{}", half.stderr);
    assert!(
        half.stderr.contains(&format!(
            "error: s3://{bucket}/half/manifests/: give one manifest per shard: 1/2 (0 manifests)"
        )),
        "{}",
        half.stderr
    );

    assert_eq!(export(&to, &["--shard", "1/2"]).code, 0);
    put_lines(&bucket, "half/data/stray.json.gz", &[]).await;
    let stray = import(&to, SPEC, &table, &[]);
    assert_eq!(stray.code, 2, "{}", stray.stderr);
    assert!(stray.stderr.contains(&format!(
        "error: s3://{bucket}/half/data/stray.json.gz is in no manifest, and ImportTable would import it too; remove it, or export to a new prefix"
    )), "{}", stray.stderr);

    let other = import(&to, "access-patterns/forum", &table, &[]);
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other.stderr.contains(&format!("error: s3://{bucket}/half/manifests/shard-0-of-2.json: exported for a table with keys (PK S, SK S), but the spec says keys (")),
        "{}",
        other.stderr
    );

    let nowhere = export(&format!("s3://{bucket}-missing/x"), &[]);
    assert_eq!(nowhere.code, 2, "{}", nowhere.stderr);
    assert!(nowhere.stderr.contains(&format!(
        "error: S3 bucket {bucket}-missing does not exist; create it (aws s3 mb s3://{bucket}-missing) or name another"
    )), "{}", nowhere.stderr);
    // Nothing was imported: no table was made.
    let moto = moto_endpoint();
    let verify = migrator(&[
        "verify",
        "--spec",
        SPEC,
        "--source",
        SOURCE,
        "--table",
        &table,
        "--endpoint-url",
        &moto,
    ]);
    assert_eq!(verify.code, 2, "{}", verify.stderr);
    assert!(
        verify
            .stderr
            .contains(&format!("table {table} does not exist")),
        "{}",
        verify.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_whose_plan_fails_leaves_nothing_in_s3() {
    let bucket = bucket("failed").await;
    // Room r3's id makes a partition key over DynamoDB's 2,048 bytes: the other items are
    // built, and uploaded, before the plan is known to be bad.
    let dir = tempfile::tempdir().unwrap();
    for table in ["rooms", "room_users"] {
        std::fs::copy(
            crate::support::repo_root().join(format!("{SOURCE}/{table}.csv")),
            dir.path().join(format!("{table}.csv")),
        )
        .unwrap();
    }
    let rooms = dir.path().join("rooms.csv");
    let text = std::fs::read_to_string(&rooms).unwrap().replacen(
        "\nr3,",
        &format!("\n{},", "r".repeat(2100)),
        1,
    );
    std::fs::write(&rooms, text).unwrap();
    let moto = moto_endpoint();
    let out = migrator(&[
        "export",
        "s3",
        "--to",
        &format!("s3://{bucket}/failed"),
        "--spec",
        SPEC,
        "--source",
        dir.path().to_str().unwrap(),
        "--s3-endpoint-url",
        &moto,
        "--object-size",
        "1K",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // The message shows the long key and row id clipped, with their sizes.
    assert!(
        out.stderr.contains(&format!(
            "error: ROOM PK=ROOM:{}… (2105 bytes), SK=ROOM (table rooms, row room_id={}… (2100 bytes)): key attribute PK is 2105 bytes; DynamoDB allows at most 2048\n",
            "r".repeat(55),
            "r".repeat(60)
        )),
        "{}",
        out.stderr
    );
    assert_eq!(keys(&bucket, "failed/").await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_throughput_is_left_to_update_table() {
    let bucket = bucket("warm").await;
    let to = format!("s3://{bucket}/poker");
    assert_eq!(export(&to, &[]).code, 0);
    // The spec with warm throughput, its schema named where it is.
    let dir = tempfile::tempdir().unwrap();
    let schema = crate::support::repo_root().join("sql/planning-poker/schema.sql");
    let spec = crate::support::poker_spec_reading(&schema).replace(
        "billing = \"on-demand\"",
        "billing = \"on-demand\"\nwarm_write_units_per_second = 12000",
    );
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    let table = table_name("warm");
    let out = import(&to, dir.path().to_str().unwrap(), &table, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "warning: ImportTable takes no warm throughput; once the table is made, warm it with UpdateTable (aws dynamodb update-table --table-name {table} --warm-throughput …)\n"
        )),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_windowed_shard_exports_the_lines_its_plan_makes() {
    let root = crate::support::repo_root();
    let url = crate::support::loaded_database_of(
        "windowed_export",
        &root.join("sql/planning-poker"),
        &root.join(SOURCE),
    )
    .await;
    let bucket = bucket("windowed").await;
    let to = format!("s3://{bucket}/poker");
    let moto = moto_endpoint();
    let out = migrator(&[
        "export",
        "s3",
        "--to",
        &to,
        "--spec",
        SPEC,
        "--source",
        &url,
        "--window",
        "1",
        "--shard",
        "1/2",
        "--s3-endpoint-url",
        &moto,
        "--object-size",
        "1K",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let planned = crate::support::plan_with(SPEC, &url, dir.path(), &["--shard", "1/2"]);
    let mut exported = Vec::new();
    for key in keys(&bucket, "poker/data/").await {
        assert!(key.starts_with("poker/data/shard-1-of-2-"), "{key}");
        exported.extend(lines_of(&bucket, &key).await);
    }
    // Objects are filled in the plan's order: their lines, in key order, are the plan's.
    assert!(!planned.is_empty());
    assert_eq!(exported, planned);
}
