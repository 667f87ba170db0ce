//! Extraction: Postgres and the CSV folder it was loaded from give the same typed rows.

use migrator::source::Value;

use crate::support::{
    all_rows, loaded_database, migrator, open, sample_dir, sorted, without_namespaces,
};

/// Rows per table of the bundled sample, counted by hand from its files.
const SAMPLE_COUNTS: [(&str, usize); 17] = [
    ("users", 6),
    ("words", 16),
    ("morpheme_families", 18),
    ("morpheme_family_meanings", 19),
    ("morphemes", 24),
    ("word_to_breakdowns", 14),
    ("breakdowns", 43),
    ("nouns", 3),
    ("adjectives", 2),
    ("conjugations", 7),
    ("verb_pairs", 4),
    ("sentences", 16),
    ("sentence_translations", 18),
    ("word_to_sentence", 20),
    ("definitions", 46),
    ("definition_contents", 30),
    ("word_defs", 17),
];

#[tokio::test]
async fn postgres_and_csv_give_the_same_rows() {
    let url = loaded_database("same_rows", &sample_dir()).await;
    let postgres = open(&url, 3).await;
    let csv = open(sample_dir().to_str().unwrap(), 1).await;
    assert_eq!(
        without_namespaces(postgres.schema()),
        csv.schema().clone(),
        "the catalog and schema.sql agree (Postgres knows each table's schema too)"
    );
    let names: Vec<&str> = csv
        .schema()
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, SAMPLE_COUNTS.map(|(t, _)| t).to_vec());
    for (table, count) in SAMPLE_COUNTS {
        let from_pg = sorted(all_rows(&postgres, table).await);
        let from_csv = sorted(all_rows(&csv, table).await);
        assert_eq!(from_pg.len(), count, "rows of {table}");
        for (a, b) in from_pg.iter().zip(&from_csv) {
            assert_eq!(a, b, "table {table}");
        }
        assert_eq!(from_pg.len(), from_csv.len(), "rows of {table}");
    }
}

#[tokio::test]
async fn values_are_typed() {
    let url = loaded_database("typed", &sample_dir()).await;
    let source = open(&url, 2).await;
    let rows = all_rows(&source, "word_to_breakdowns").await;
    let shape = source.schema().table("word_to_breakdowns").unwrap();
    let col = |name: &str| shape.column_index(name).unwrap();
    let row = rows
        .iter()
        .find(|r| r[col("breakdown_id")] == Value::Int(77222))
        .expect("breakdown 77222");
    assert_eq!(row[col("word")], Value::Text("выглядеть".into()));
    assert_eq!(row[col("is_verified")], Value::Bool(true));
    let Value::Timestamp(verified) = &row[col("date_verified")] else {
        panic!(
            "date_verified is not a timestamp: {:?}",
            row[col("date_verified")]
        );
    };
    assert_eq!(verified.to_string(), "2022-07-23 05:42:11.985578");
    let anonymous = rows
        .iter()
        .find(|r| r[col("breakdown_id")] == Value::Int(5))
        .expect("breakdown 5");
    assert_eq!(anonymous[col("submitted_by_user_email")], Value::Null);
    let words = all_rows(&source, "words").await;
    assert!(words
        .iter()
        .any(|r| r[3] == Value::Enum("interjection".into())));
}

#[tokio::test]
async fn extract_command_prints_rows_per_table() {
    let out = migrator(&["extract", "--source", sample_dir().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("extracted 303 rows from 17 tables of "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("\n  breakdowns                        43\n"),
        "{}",
        out.stderr
    );
}
