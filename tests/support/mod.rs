//! Shared harness: the servers named by the environment, fresh databases, the built binary,
//! and clusters of a test's own (`cluster.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use migrator::source::{Source, SourceLocation, SourceOptions, Value};

pub mod cluster;
pub mod dynamodb;

/// The admin URL of the test Postgres server, as `scripts/servers` exports it.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: run the tests through scripts/test, which starts the servers",
    )
}

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the repository")
        .to_path_buf()
}

/// The bundled Rootski sample.
pub fn sample_dir() -> PathBuf {
    repo_root().join("sql/rootski/sample")
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_database(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t_{label}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let admin = admin_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to the test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    with_database(&admin, &name)
}

/// `url` with its database replaced by `name`, its parameters kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (address, query) = url.split_once('?').unwrap_or((url, ""));
    let (base, _) = address.rsplit_once('/').expect("URL has a database part");
    match query {
        "" => format!("{base}/{name}"),
        query => format!("{base}/{name}?{query}"),
    }
}

/// What a run of the `migrator` binary gave.
pub struct Outcome {
    pub code: i32,
    pub stderr: String,
}

/// The built `migrator` binary with `args`, to run from the repository's top folder.
pub fn migrator_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_migrator"));
    command
        .args(args)
        .current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// Runs `command` to its end.
pub fn outcome(command: &mut Command) -> Outcome {
    let output = command.output().expect("run migrator");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the built `migrator` binary from the repository's top folder.
pub fn migrator(args: &[&str]) -> Outcome {
    outcome(&mut migrator_command(args))
}

/// Loads a CSV folder into a fresh database through the CLI and returns the database URL.
pub async fn loaded_database(label: &str, from: &Path) -> String {
    loaded_database_of(label, &repo_root().join("sql/rootski"), from).await
}

/// Loads a CSV folder of the design in `design` (a folder with a schema.sql) into a fresh database.
pub async fn loaded_database_of(label: &str, design: &Path, from: &Path) -> String {
    let url = fresh_database(label).await;
    load_into(&url, design, from, &[]);
    url
}

/// Loads the CSV folder `from` of the design in `design` into the database `url` names, with
/// more `dataset load` options such as `--schema`.
pub fn load_into(url: &str, design: &Path, from: &Path, options: &[&str]) {
    let mut args = vec![
        "dataset",
        "load",
        "--design",
        design.to_str().expect("UTF-8 path"),
        "--from",
        from.to_str().expect("UTF-8 path"),
        "--database-url",
        url,
    ];
    args.extend_from_slice(options);
    let out = migrator(&args);
    assert_eq!(out.code, 0, "dataset load failed: {}", out.stderr);
}

/// Opens a source the way the CLI does.
pub async fn open(location: &str, connections: usize) -> Source {
    let location: SourceLocation = location.parse().expect("a valid source");
    let options = SourceOptions {
        connections,
        ..SourceOptions::default()
    };
    Source::open(&location, options)
        .await
        .expect("open the source")
}

/// `schema` as a schema.sql without qualified names gives it: the tables' Postgres schemas
/// left out.
pub fn without_namespaces(schema: &migrator::source::Schema) -> migrator::source::Schema {
    let mut schema = schema.clone();
    for table in &mut schema.tables {
        assert_eq!(table.namespace.as_deref(), Some("public"));
        table.namespace = None;
    }
    schema
}

/// Every row of `table`, collected, each its values.
pub async fn all_rows(source: &Source, table: &str) -> Vec<Vec<Value>> {
    use futures::StreamExt;
    let mut stream = source.rows(table).expect("table exists");
    let mut rows = Vec::new();
    while let Some(batch) = stream.next().await {
        rows.extend(batch.expect("rows read").iter().map(<[Value]>::to_vec));
    }
    rows
}

/// Rows in a stable order, for comparing sources that store rows in different orders.
pub fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_cached_key(|r| format!("{r:?}"));
    rows
}

/// Copies the Rootski sample into a temp folder, where a test may break it.
pub fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(sample_dir()).expect("sample exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::copy(
        repo_root().join("sql/rootski/schema.sql"),
        dir.path().join("schema.sql"),
    )
    .expect("copy schema");
    dir
}

/// Planning poker's spec text with its `source` naming `schema` by its full path, so an edited
/// copy can be written to any folder.
pub fn poker_spec_reading(schema: &Path) -> String {
    std::fs::read_to_string(repo_root().join("access-patterns/planning-poker/spec.toml"))
        .expect("the planning-poker spec")
        .replace(
            "source = \"../../sql/planning-poker/schema.sql\"",
            &format!("source = \"{}\"", schema.display()),
        )
}

/// Rewrites one line (1-based, header is line 1) of a file in `dir`.
pub fn edit_line(dir: &Path, file: &str, line: usize, edit: impl FnOnce(&str) -> String) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[line - 1] = edit(&lines[line - 1]);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
}

/// Runs `plan` into `dir` (items.jsonl and report.json) and returns the item lines in order.
pub fn plan(spec: &str, source: &str, dir: &Path) -> Vec<String> {
    plan_with(spec, source, dir, &[])
}

/// Like [`plan`], with more options, such as `--window 3`.
pub fn plan_with(spec: &str, source: &str, dir: &Path, options: &[&str]) -> Vec<String> {
    let out = dir.join("items.jsonl");
    let report = dir.join("report.json");
    let mut args = vec![
        "plan",
        "--spec",
        spec,
        "--source",
        source,
        "--out",
        out.to_str().expect("UTF-8 path"),
        "--report",
        report.to_str().expect("UTF-8 path"),
    ];
    args.extend(options);
    let result = migrator(&args);
    assert_eq!(result.code, 0, "{}", result.stderr);
    std::fs::read_to_string(out)
        .expect("plan wrote its items")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Starts `migrator snapshot` with `args` (after `snapshot`) and returns the running holder
/// and the snapshot id it printed.
pub fn hold_snapshot(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;

    let mut command = vec!["snapshot"];
    command.extend(args);
    let mut holder = migrator_command(&command)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start migrator snapshot");
    let mut id = String::new();
    std::io::BufReader::new(holder.stdout.take().expect("piped stdout"))
        .read_line(&mut id)
        .expect("the snapshot id");
    (holder, id.trim().to_string())
}

/// moto's server (S3, and DynamoDB with ImportTable) that `scripts/servers` started.
pub fn moto_endpoint() -> String {
    std::env::var("MIGRATOR_MOTO_ENDPOINT").expect(
        "MIGRATOR_MOTO_ENDPOINT is not set: run the tests through scripts/test, which starts the servers",
    )
}
