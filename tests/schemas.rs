//! Tables outside `public`: `--schema` (or the spec's `postgres_schemas`) is the search path
//! every session reads with, and a table qualified in a design's schema.sql is read from its own
//! schema; extraction, plans in memory and in windows, and access patterns work the same.

use sqlx::{Connection, Executor, PgConnection};

use crate::support::dynamodb::{endpoint, table_name};
use crate::support::{fresh_database, load_into, migrator, plan, plan_with, repo_root, sample_dir};

const ROOTSKI: &str = "access-patterns/rootski";

#[tokio::test]
async fn a_design_in_a_schema_of_its_own() {
    let url = fresh_database("schema_own").await;
    let rootski = repo_root().join("sql/rootski");
    load_into(&url, &rootski, &sample_dir(), &["--schema", "rootski"]);
    // A table of the same name in public, which the search path must not reach first.
    let mut conn = PgConnection::connect(&url).await.unwrap();
    conn.execute("CREATE TABLE public.words (unrelated INTEGER)")
        .await
        .unwrap();

    let out = migrator(&["extract", "--source", &url, "--schema", "rootski"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("extracted 303 rows from 17 tables"),
        "{}",
        out.stderr
    );
    let public_only = migrator(&["extract", "--source", &url]);
    assert!(
        public_only
            .stderr
            .starts_with("extracted 0 rows from 1 tables"),
        "{}",
        public_only.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let from_csv = plan(ROOTSKI, sample_dir().to_str().unwrap(), dir.path());
    for window in [None, Some("3")] {
        let mut options = vec!["--schema", "rootski"];
        options.extend(window.iter().flat_map(|w| ["--window", *w]));
        let planned = plan_with(ROOTSKI, &url, dir.path(), &options);
        assert_eq!(planned, from_csv, "window {window:?}");
    }

    // Without it, the source does not match the spec.
    let out = migrator(&["plan", "--spec", ROOTSKI, "--source", &url]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(": table users is missing, but "),
        "{}",
        out.stderr
    );

    // The spec may say it instead.
    let spec = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join(ROOTSKI).join("spec.toml"))
        .unwrap()
        .replace(
            "source = \"../../sql/rootski/schema.sql\"",
            &format!(
                "source = \"{}\"\npostgres_schemas = [\"rootski\"]",
                repo_root().join("sql/rootski/schema.sql").display()
            ),
        );
    std::fs::write(spec.path().join("spec.toml"), text).unwrap();
    let planned = plan_with(spec.path().to_str().unwrap(), &url, dir.path(), &[]);
    assert_eq!(planned, from_csv);

    // The access patterns' SQL reads the same schema.
    let table = table_name("schema");
    let endpoint = endpoint();
    let out = migrator(&[
        "migrate",
        "--spec",
        ROOTSKI,
        "--source",
        &url,
        "--schema",
        "rootski",
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
        "--create-table",
        "--patterns",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("| get word by id | 1 | 1 | ok |"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn tables_qualified_in_the_schema_sql() {
    // Planning poker with its tables in schema poker, named so in its schema.sql.
    let design = tempfile::tempdir().unwrap();
    let poker = repo_root().join("sql/planning-poker");
    let sql = std::fs::read_to_string(poker.join("schema.sql"))
        .unwrap()
        .replace("CREATE TABLE rooms", "CREATE TABLE poker.rooms")
        .replace("CREATE TABLE room_users", "CREATE TABLE poker.room_users")
        .replace("REFERENCES rooms", "REFERENCES poker.rooms");
    std::fs::write(design.path().join("schema.sql"), sql).unwrap();
    for file in ["rooms.csv", "room_users.csv"] {
        std::fs::copy(poker.join("sample").join(file), design.path().join(file)).unwrap();
    }
    let url = fresh_database("schema_qualified").await;
    load_into(&url, design.path(), design.path(), &[]);

    let spec = tempfile::tempdir().unwrap();
    let text = crate::support::poker_spec_reading(&design.path().join("schema.sql"))
        .replace("from = \"rooms\"", "from = \"poker.rooms\"");
    std::fs::write(spec.path().join("spec.toml"), text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expected = plan(
        "access-patterns/planning-poker",
        repo_root()
            .join("sql/planning-poker/sample")
            .to_str()
            .unwrap(),
        dir.path(),
    );
    for window in [None, Some("1")] {
        let options: Vec<&str> = window.iter().flat_map(|w| ["--window", *w]).collect();
        let planned = plan_with(spec.path().to_str().unwrap(), &url, dir.path(), &options);
        assert_eq!(planned, expected, "window {window:?}");
    }
    let out = migrator(&["extract", "--source", &url, "--table", "poker.rooms"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("poker.rooms"), "{}", out.stderr);
}

#[tokio::test]
async fn a_schema_that_is_not_there() {
    let url = fresh_database("schema_missing").await;
    let out = migrator(&["extract", "--source", &url, "--schema", "nosuch"]);
    let shown = migrator::redact::Redacted::new(url.clone()).to_string();
    assert_eq!(
        out.stderr,
        format!("error: Postgres at {shown} has no schema nosuch (it has: public); check --schema or the spec's postgres_schemas\n")
    );
    assert_eq!(out.code, 2);
}
