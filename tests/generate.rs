//! `dataset generate`: deterministic bytes, the reference volumes at scale 1, a loadable result.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::{all_rows, loaded_database, migrator, open, sorted};

fn generate(scale: &str, seed: &str, out: &Path) -> String {
    let result = migrator(&[
        "dataset",
        "generate",
        "--design",
        "rootski",
        "--scale",
        scale,
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    result.stderr
}

/// sha256 of every file in `dir`, by name.
fn digests(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let digest = Sha256::digest(std::fs::read(&path).unwrap());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                hex,
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    generate("0.01", "42", a.path());
    generate("0.01", "42", b.path());
    generate("0.01", "43", c.path());
    let (da, db, dc) = (digests(a.path()), digests(b.path()), digests(c.path()));
    assert_eq!(da.len(), 18, "17 tables and the schema");
    assert_eq!(da, db);
    let differing = da.iter().zip(&dc).filter(|(x, y)| x != y).count();
    assert!(
        differing >= 15,
        "another seed changes the data: {differing} files differ"
    );
}

#[test]
fn scale_one_has_the_reference_volumes() {
    let out = tempfile::tempdir().unwrap();
    let stderr = generate("1", "1", out.path());
    for (table, rows) in [
        ("words", 160_000),
        ("morpheme_families", 1_327),
        ("morphemes", 2_492),
        ("word_to_breakdowns", 77_221),
        ("breakdowns", 240_550),
        ("sentences", 95_000),
        ("word_to_sentence", 180_000),
    ] {
        let line = format!("\n  {table:<24}  {rows:>10}\n");
        assert!(
            stderr.contains(&line),
            "{table} should have {rows} rows:\n{stderr}"
        );
    }
    let words = std::fs::read_to_string(out.path().join("sentences.csv")).unwrap();
    assert!(
        words
            .lines()
            .nth(1)
            .unwrap()
            .chars()
            .any(|c| ('а'..='я').contains(&c)),
        "Cyrillic text"
    );
}

#[tokio::test]
async fn a_generated_dataset_loads_and_extracts_unchanged() {
    let out = tempfile::tempdir().unwrap();
    generate("0.02", "5", out.path());
    let url = loaded_database("generated", out.path()).await;
    let postgres = open(&url, 4).await;
    let csv = open(out.path().to_str().unwrap(), 1).await;
    for shape in &csv.schema().tables {
        let a = sorted(all_rows(&postgres, &shape.name).await);
        let b = sorted(all_rows(&csv, &shape.name).await);
        assert_eq!(a.len(), b.len(), "rows of {}", shape.name);
        assert!(
            a == b,
            "table {} differs between Postgres and CSV",
            shape.name
        );
    }
    let nulls = all_rows(&csv, "words")
        .await
        .iter()
        .filter(|r| r[4] == migrator::source::Value::Null)
        .count();
    assert!(nulls > 0, "NULL frequencies where the schema allows them");
}

#[test]
fn generator_file_syntax_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        "CREATE TABLE a (id INTEGER);",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("generate.toml"),
        "[[table]]\nname = \"a\"\nrows = 3\n[table.columns]\nid = { serial = 1, color = 2 }\n",
    )
    .unwrap();
    let out = migrator(&[
        "dataset",
        "generate",
        "--design",
        dir.path().to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(&format!(
            "error: {}/generate.toml: line 5: unknown field `color`, expected one of",
            dir.path().display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1);
}

#[test]
fn generator_file_mistakes_name_table_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let design = dir.path().join("broken");
    std::fs::create_dir(&design).unwrap();
    std::fs::write(
        design.join("schema.sql"),
        "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT);",
    )
    .unwrap();
    std::fs::write(
        design.join("generate.toml"),
        "[[table]]\nname = \"a\"\nrows = 3\n[table.columns]\nid = { serial = 1 }\n",
    )
    .unwrap();
    let out = migrator(&[
        "dataset",
        "generate",
        "--design",
        design.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "error: {}/generate.toml: table a: column name has no generator; add one\n",
            design.display()
        )
    );
}
