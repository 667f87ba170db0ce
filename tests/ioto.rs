//! Ioto's OneTable schema as the target (`access-patterns/ioto`): the table and every model's
//! fields come from the schema file the application already has; values are written as
//! OneTable writes them.

use sqlx::Connection;

use crate::support::dynamodb::{endpoint, migrate, table_name};
use crate::support::{migrator, plan_with, repo_root};

const SPEC: &str = "access-patterns/ioto";
const SAMPLE: &str = "sql/ioto/sample";

#[tokio::test]
async fn the_sample_migrates_and_its_patterns_agree() {
    let design = repo_root().join("sql/ioto");
    let url = crate::support::loaded_database_of("ioto", &design, &design.join("sample")).await;
    let table = table_name("ioto");
    let out = migrate(SPEC, &url, &table, &["--create-table", "--patterns"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "| faults of a device | 3 | 3 | ok |",
        "| status | 1 | 1 | ok |",
        "the table holds exactly the planned items (counts and digests per type)",
    ] {
        assert!(out.stderr.contains(line), "{line}\n{}", out.stderr);
    }

    // The same table read by an application that expects another severity: verify names the
    // fault by its partition key and the attributes the SQL gives.
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(repo_root().join(SPEC).join("spec.toml"))
        .unwrap()
        .replace(
            "../../sql/ioto/schema.sql",
            repo_root().join("sql/ioto/schema.sql").to_str().unwrap(),
        )
        .replace(
            "schema.js",
            repo_root().join(SPEC).join("schema.js").to_str().unwrap(),
        )
        .replace(
            "severity, subject FROM faults",
            "upper(severity) AS severity, subject FROM faults",
        );
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    let out = migrator(&[
        "verify",
        "--spec",
        dir.path().to_str().unwrap(),
        "--source",
        &url,
        "--table",
        &table,
        "--endpoint-url",
        &endpoint(),
        "--patterns",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Access pattern **faults of a device** (deviceId=d-01): DynamoDB did not return device#d-01 {deviceId=d-01, severity=CRITICAL, subject=Temperature critical}, which the SQL gives."),
        "{}",
        out.stderr
    );
}

#[test]
fn faults_are_written_as_onetable_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let lines = plan_with(SPEC, SAMPLE, dir.path(), &[]);
    let again = plan_with(SPEC, SAMPLE, dir.path(), &[]);
    assert_eq!(lines, again, "the same rows give the same ULIDs");
    // Fault 1: its ULID's first ten characters are its time (1714554000123 ms); dates as
    // toISOString() writes them (three digits, the microseconds cut); expires rounded up to
    // the next second (09:00:00.2 is 1717232401); the template fields kept as attributes.
    let fault = lines
        .iter()
        .find(|l| l.contains("Temperature high"))
        .unwrap();
    let item: serde_json::Value = serde_json::from_str(fault).unwrap();
    let id = item["Item"]["id"]["S"].as_str().unwrap();
    assert_eq!(id.len(), 26);
    assert_eq!(&id[..10], "01HWSP3MQV");
    assert_eq!(
        fault,
        &format!(
            "{{\"Item\":{{\"_type\":{{\"S\":\"Fault\"}},\"created\":{{\"S\":\"2024-05-01T09:00:01.000Z\"}},\"deviceId\":{{\"S\":\"d-01\"}},\"expires\":{{\"N\":\"1717232401\"}},\"id\":{{\"S\":\"{id}\"}},\"message\":{{\"S\":\"Reading 78.2 °C over the 75 °C threshold\"}},\"pk\":{{\"S\":\"device#d-01\"}},\"severity\":{{\"S\":\"warn\"}},\"sk\":{{\"S\":\"fault#{id}\"}},\"source\":{{\"S\":\"sensor\"}},\"subject\":{{\"S\":\"Temperature high\"}},\"timestamp\":{{\"S\":\"2024-05-01T09:00:00.123Z\"}},\"updated\":{{\"S\":\"2024-05-01T09:00:01.000Z\"}}}}}}"
        )
    );
    // A device's faults in sort key order are its faults in time order.
    let ids: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("device#d-01"))
        .map(|l| {
            l.split("\"subject\":{\"S\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        ["Brown-out", "Temperature high", "Temperature critical"]
    );
    assert_eq!(
        lines[0],
        "{\"Item\":{\"_type\":{\"S\":\"Status\"},\"created\":{\"S\":\"2024-04-01T07:00:00.000Z\"},\"parameters\":{\"M\":{\"interval\":{\"N\":\"30\"},\"limits\":{\"M\":{\"alerts\":{\"BOOL\":true},\"temperature\":{\"N\":\"85.5\"}}},\"region\":{\"S\":\"eu-west-1\"},\"tags\":{\"L\":[{\"S\":\"prod\"},{\"S\":\"fleet-a\"}]}}},\"pk\":{\"S\":\"status#\"},\"sk\":{\"S\":\"status#\"},\"updated\":{\"S\":\"2024-05-02T12:00:00.500Z\"},\"version\":{\"S\":\"1.4.2\"}}}"
    );
}

#[test]
fn a_severity_outside_the_enum_and_a_field_the_model_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for file in ["devices.csv", "status.csv", "faults.csv"] {
        let text = std::fs::read_to_string(repo_root().join(SAMPLE).join(file)).unwrap();
        std::fs::write(data.join(file), text.replace(",info,", ",verbose,")).unwrap();
    }
    let out = migrator(&["plan", "--spec", SPEC, "--source", data.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "error: table faults, row id=3: Fault's attribute severity: column severity is \"verbose\", which is not one of info, warn, error, critical, fatal; fix the row or the spec's enum\n"
    );

    let spec = std::fs::read_to_string(repo_root().join(SPEC).join("spec.toml"))
        .unwrap()
        .replace(
            "../../sql/ioto/schema.sql",
            repo_root().join("sql/ioto/schema.sql").to_str().unwrap(),
        )
        .replace(
            "schema.js",
            repo_root().join(SPEC).join("schema.js").to_str().unwrap(),
        );
    let spec_dir = dir.path().join("spec");
    std::fs::create_dir(&spec_dir).unwrap();
    let line = |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap() + 1;
    // Plans the spec with one value changed, from the spec's own folder copy.
    let plan_broken = |broken: &str| {
        std::fs::write(spec_dir.join("spec.toml"), broken).unwrap();
        migrator(&[
            "plan",
            "--spec",
            spec_dir.to_str().unwrap(),
            "--source",
            SAMPLE,
        ])
    };
    let broken = spec.replace(
        "subject = { column = \"subject\" }",
        "title = { column = \"subject\" }",
    );
    let out = plan_broken(&broken);
    assert_eq!(
        out.stderr,
        format!(
            "error: {}/spec.toml:{}: title is not a field of model Fault (it has: deviceId, expires, id, message, pk, severity, sk, source, subject, timestamp); map only the model's fields\n",
            spec_dir.display(),
            line(&broken, "title =")
        )
    );
    let broken = spec.replace("type = \"Status\"", "type = \"Health\"");
    let out = plan_broken(&broken);
    assert_eq!(
        out.stderr,
        format!(
            "error: {}/spec.toml:{}: item type Health is not a model of the OneTable schema {} (it has: Fault, Status); name each item type as its model\n",
            spec_dir.display(),
            line(&broken, "type = \"Health\""),
            repo_root().join(SPEC).join("schema.js").display()
        )
    );
    assert_eq!(out.code, 2);
}

/// Every entity as OneTable's own client reads it from `table` (Model.get, Model.find by device).
fn read_with_onetable(table: &str, devices: &[&str]) -> Vec<serde_json::Value> {
    let mut command = std::process::Command::new("node");
    command
        .current_dir(repo_root())
        .arg("tests/onetable/read.mjs")
        .arg(endpoint())
        .arg(table)
        .arg(repo_root().join(SPEC).join("schema.js"))
        .args(devices);
    let out = command.output().expect("run node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every source row as the entity OneTable should read, cast as OneTable casts it: dates as
/// `toISOString()`, the ttl from whole seconds, absent values left out; faults by device and time.
async fn entities_from_sql(url: &str) -> Vec<serde_json::Value> {
    let iso = |column: &str| {
        format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
    };
    let sql = format!(
        "SELECT json_build_object('model', 'Status', 'entity', json_build_object(
             'parameters', parameters, 'version', version, 'created', {created}, 'updated', {updated}))::text
         FROM status
         UNION ALL
         SELECT * FROM (SELECT json_build_object('model', 'Fault', 'entity', json_strip_nulls(json_build_object(
             'deviceId', device_id, 'timestamp', {occurred}, 'source', source, 'severity', severity,
             'subject', subject, 'message', message,
             'expires', {expires}, 'created', {created}, 'updated', {updated})))::text
         FROM faults ORDER BY device_id, occurred_at) AS faults",
        created = iso("created_at"),
        updated = iso("updated_at"),
        occurred = iso("occurred_at"),
        expires = iso("to_timestamp(ceil(extract(epoch FROM expires)))"),
    );
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(json,)| serde_json::from_str(&json).unwrap())
        .collect()
}

/// The millisecond a ULID's first ten characters (Crockford's base 32) hold.
fn ulid_millis(ulid: &str) -> u64 {
    const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    ulid[..10]
        .chars()
        .fold(0, |n, c| n * 32 + ALPHABET.find(c).unwrap() as u64)
}

#[tokio::test]
async fn onetable_reads_every_entity_as_its_row_says() {
    let design = repo_root().join("sql/ioto");
    let url =
        crate::support::loaded_database_of("ioto_onetable", &design, &design.join("sample")).await;
    let table = table_name("ioto-onetable");
    let out = migrate(SPEC, &url, &table, &["--create-table"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut read = read_with_onetable(&table, &["d-01", "d-02", "d-03"]);
    let expected = entities_from_sql(&url).await;
    // A fault's id is a ULID of its time: OneTable's find lists a device's faults in time
    // order because of it. Its other 80 bits come from the row, checked in the plan tests.
    for entity in read.iter_mut().filter(|e| e["model"] == "Fault") {
        let id = entity["entity"]
            .as_object_mut()
            .unwrap()
            .remove("id")
            .unwrap();
        let id = id.as_str().unwrap();
        assert_eq!(id.len(), 26);
        let timestamp = entity["entity"]["timestamp"].as_str().unwrap();
        let millis = chrono::DateTime::parse_from_rfc3339(timestamp)
            .unwrap()
            .timestamp_millis();
        assert_eq!(ulid_millis(id), millis as u64, "{id} for {timestamp}");
    }
    assert_eq!(read, expected);
}
