//! Bad input: each a one-line error naming what and where, exit code 2, no password shown.

use crate::support::{admin_url, edit_line, fresh_database, migrator, sample_copy};

fn load_from(dir: &std::path::Path, url: &str) -> crate::support::Outcome {
    migrator(&[
        "dataset",
        "load",
        "--design",
        "rootski",
        "--from",
        dir.to_str().unwrap(),
        "--database-url",
        url,
    ])
}

fn assert_one_line(out: &crate::support::Outcome, expected: &str) {
    assert_eq!(out.stderr, format!("error: {expected}\n"));
    assert_eq!(out.code, 2, "exit code for bad input");
}

#[tokio::test]
async fn unreachable_postgres() {
    let out = migrator(&[
        "extract",
        "--source",
        "postgres://postgres:hunter2@127.0.0.1:1/db",
    ]);
    assert_one_line(
        &out,
        "cannot connect to Postgres at postgres://postgres:***@127.0.0.1:1/db: Connection refused (os error 111); check that the server is running and that host and port are right",
    );
}

#[tokio::test]
async fn wrong_password() {
    let admin = admin_url();
    let (user_pw, host) = admin.rsplit_once('@').unwrap();
    let user = user_pw.rsplit_once(':').unwrap().0;
    let wrong = format!("{user}:not-the-password@{host}");
    let out = migrator(&["extract", "--source", &wrong]);
    let shown = format!("{user}:***@{host}");
    assert_one_line(
        &out,
        &format!("Postgres at {shown} rejected the password of user postgres; check the password in the URL (or DATABASE_URL)"),
    );
    assert!(!out.stderr.contains("not-the-password"));
}

#[tokio::test]
async fn missing_table() {
    let url = fresh_database("missing_table").await;
    let out = migrator(&["extract", "--source", &url, "--table", "words"]);
    assert_one_line(
        &out,
        "table words is not in the source (it has: ); check the table name, or the schemas read (--schema)",
    );
    let dir = sample_copy();
    std::fs::remove_file(dir.path().join("nouns.csv")).unwrap();
    let out = migrator(&["extract", "--source", dir.path().to_str().unwrap()]);
    assert_one_line(
        &out,
        &format!(
            "{}: no nouns.csv for table nouns of the schema; add the file (a header line, then one row per line) or drop the table from the schema",
            dir.path().display()
        ),
    );
}

#[tokio::test]
async fn csv_with_a_missing_column() {
    let dir = sample_copy();
    edit_line(dir.path(), "words.csv", 1, |l| l.replace(",accent", ""));
    let out = load_from(dir.path(), &admin_url());
    assert_one_line(
        &out,
        &format!(
            "{}/words.csv:1: header lacks column accent of table words; add the column",
            dir.path().display()
        ),
    );
}

#[tokio::test]
async fn non_integer_in_an_integer_column() {
    let dir = sample_copy();
    edit_line(dir.path(), "breakdowns.csv", 4, |l| {
        l.replacen("3,", "3x,", 1)
    });
    let out = load_from(dir.path(), &admin_url());
    assert_one_line(
        &out,
        &format!(
            "{}/breakdowns.csv:4: column id: expected an integer, found \"3x\"; fix the value",
            dir.path().display()
        ),
    );
}

#[tokio::test]
async fn invalid_utf8() {
    let dir = sample_copy();
    let path = dir.path().join("sentences.csv");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(4).position(|w| w == b"2,\xd0\x93").unwrap() + 2;
    bytes[at] = 0xff;
    std::fs::write(&path, bytes).unwrap();
    let out = load_from(dir.path(), &admin_url());
    assert_one_line(
        &out,
        &format!(
            "{}/sentences.csv:3: column sentence: invalid UTF-8 at byte 0 of the field; save the file as UTF-8",
            dir.path().display()
        ),
    );
}

#[tokio::test]
async fn foreign_key_that_does_not_resolve() {
    let dir = sample_copy();
    edit_line(dir.path(), "breakdowns.csv", 2, |l| {
        l.replacen("1776", "9999", 1)
    });
    let url = fresh_database("bad_fk").await;
    let out = load_from(dir.path(), &url);
    assert_one_line(
        &out,
        &format!(
            "{}/breakdowns.csv: insert or update on table \"breakdowns\" violates foreign key constraint \"breakdowns_morpheme_id_fkey\": Key (morpheme_id)=(9999) is not present in table \"morphemes\"; fix the value or add the row it refers to",
            dir.path().display()
        ),
    );
}

#[tokio::test]
async fn unknown_design() {
    let out = migrator(&[
        "dataset",
        "load",
        "--design",
        "nope",
        "--from",
        "x",
        "--database-url",
        "postgres://h/db",
    ]);
    assert_one_line(
        &out,
        "no design nope: sql/nope/schema.sql does not exist; pass --design with a design name under --sql-dir or a folder that holds a schema.sql",
    );
}

#[test]
fn a_source_folder_that_does_not_exist_is_said_once() {
    let missing = std::env::temp_dir().join("migrator-no-such-folder");
    let out = migrator(&["extract", "--source", missing.to_str().unwrap()]);
    assert_one_line(
        &out,
        &format!(
            "{}: no such folder; name a folder of CSV files or a postgres:// URL",
            missing.display()
        ),
    );
}

#[test]
fn an_output_folder_that_cannot_be_made_is_said_once() {
    let out = migrator(&[
        "dataset", "generate", "--design", "rootski", "--scale", "0.01", "--out", "/proc/x",
    ]);
    assert_one_line(&out, "/proc/x: No such file or directory (os error 2)");
}
