//! `migrator plan`: exact items, determinism across sources and row orders, every row accounted.

use std::path::Path;

use crate::support::{loaded_database, plan, repo_root, sample_copy, sample_dir};

fn line_with<'a>(lines: &'a [String], needle: &str) -> &'a str {
    let found: Vec<&String> = lines.iter().filter(|l| l.contains(needle)).collect();
    assert_eq!(found.len(), 1, "exactly one item contains {needle}");
    found[0]
}

#[test]
fn planning_poker_items_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let lines = plan(
        "access-patterns/planning-poker",
        "sql/planning-poker/sample",
        dir.path(),
    );
    let expected = [
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"ROOM"},"createdOn":{"S":"2023-03-01T09:00:00Z"},"hostKey":{"S":"hk-5f2a"},"isRevealed":{"BOOL":false},"updatedOn":{"S":"2023-03-01T09:05:12.250Z"},"validSizes":{"S":"1 2 3 5 8 13 20 ? ∞"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r2"},"SK":{"S":"ROOM"},"createdOn":{"S":"2023-03-02T13:30:00Z"},"hostKey":{"S":"hk-91cc"},"isRevealed":{"BOOL":true},"updatedOn":{"S":"2023-03-02T14:00:00Z"},"validSizes":{"S":"XS S M L XL"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r3"},"SK":{"S":"ROOM"},"createdOn":{"S":"2023-03-03T08:00:00Z"},"hostKey":{"S":"hk-0b7e"},"isRevealed":{"BOOL":false},"updatedOn":{"S":"2023-03-03T08:00:00Z"},"validSizes":{"S":""}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"USER:uk-a1"},"connectionId":{"S":"c-1"},"createdOn":{"S":"2023-03-01T09:01:00Z"},"updatedOn":{"S":"2023-03-01T09:04:00Z"},"userId":{"S":"u-100"},"username":{"S":"alice"},"vote":{"S":"5"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"USER:uk-b2"},"connectionId":{"S":"c-2"},"createdOn":{"S":"2023-03-01T09:02:00Z"},"updatedOn":{"S":"2023-03-01T09:02:00Z"},"userId":{"S":"u-101"},"username":{"S":"bob"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"USER:uk-c3"},"createdOn":{"S":"2023-03-01T09:03:00Z"},"updatedOn":{"S":"2023-03-01T09:03:00Z"},"userId":{"S":"u-102"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r2"},"SK":{"S":"USER:uk-d4"},"connectionId":{"S":"c-4"},"createdOn":{"S":"2023-03-02T13:31:00Z"},"updatedOn":{"S":"2023-03-02T13:59:00Z"},"userId":{"S":"u-103"},"username":{"S":"dana"},"vote":{"S":"M"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r2"},"SK":{"S":"USER:uk-e5"},"createdOn":{"S":"2023-03-02T13:32:00Z"},"updatedOn":{"S":"2023-03-02T13:58:00Z"},"userId":{"S":"u-104"},"username":{"S":"erik"},"vote":{"S":"XL"}}}"#,
    ];
    assert_eq!(lines, expected);
}

#[test]
fn rootski_golden_items() {
    let dir = tempfile::tempdir().unwrap();
    let lines = plan("access-patterns/rootski", "sql/rootski/sample", dir.path());
    assert_eq!(
        line_with(&lines, r#""pk":{"S":"USER#admin@example.com"}"#),
        r#"{"Item":{"__type":{"S":"USER"},"email":{"S":"admin@example.com"},"is_admin":{"BOOL":true},"pk":{"S":"USER#admin@example.com"},"sk":{"S":"USER#admin@example.com"}}}"#
    );
    // Family 1304: its NULL meaning left out, its real one kept; ids strings; level a number.
    assert_eq!(
        line_with(&lines, r#""sk":{"S":"MORPHEME_FAMILY#1304"}"#),
        concat!(
            r#"{"Item":{"__type":{"S":"MORPHEME_FAMILY"},"family":{"S":"ать,ывать,ивать"},"family_id":{"S":"1304"},"#,
            r#""family_meanings":{"L":[{"S":"Basic verb ending"}]},"level":{"N":"6"},"#,
            r#""morphemes":{"L":[{"M":{"morpheme":{"S":"ать"},"morpheme_id":{"S":"2105"}}},{"M":{"morpheme":{"S":"ывать"},"morpheme_id":{"S":"2106"}}},{"M":{"morpheme":{"S":"ивать"},"morpheme_id":{"S":"2107"}}}]},"#,
            r#""pk":{"S":"MORPHEME_FAMILY#1304"},"sk":{"S":"MORPHEME_FAMILY#1304"},"type":{"S":"suffix"},"word_pos":{"S":"verb"}}}"#
        )
    );
    // Family 1385: its only meaning is NULL, so the list is empty; 1427 has no meanings at all.
    assert!(line_with(&lines, r#""sk":{"S":"MORPHEME_FAMILY#1385"}"#)
        .contains(r#""family_meanings":{"L":[]}"#));
    assert!(line_with(&lines, r#""sk":{"S":"MORPHEME_FAMILY#1427"}"#)
        .contains(r#""family_meanings":{"L":[]}"#));
    assert_eq!(
        line_with(&lines, r#""sk":{"S":"MORPHEME#2105"}"#),
        r#"{"Item":{"__type":{"S":"MORPHEME"},"family_id":{"S":"1304"},"gsi1pk":{"S":"MORPHEME#2105"},"gsi1sk":{"S":"MORPHEME#2105"},"morpheme":{"S":"ать"},"morpheme_id":{"S":"2105"},"pk":{"S":"MORPHEME_FAMILY#1304"},"sk":{"S":"MORPHEME#2105"},"type":{"S":"suffix"},"word_pos":{"S":"verb"}}}"#
    );
}

/// Reverses the data lines of every CSV file in `dir` (the header stays first).
fn reverse_rows(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            let header = lines.remove(0);
            lines.reverse();
            std::fs::write(&path, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
        }
    }
}

#[tokio::test]
async fn same_items_from_postgres_csv_reruns_and_any_row_order() {
    let spec = "access-patterns/rootski";
    let (a, b, c, d) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let from_csv = plan(spec, "sql/rootski/sample", a.path());
    let again = plan(spec, "sql/rootski/sample", b.path());
    let url = loaded_database("plan_pg", &sample_dir()).await;
    let from_pg = plan(spec, &url, c.path());
    let shuffled = sample_copy();
    reverse_rows(shuffled.path());
    let reordered = plan(spec, shuffled.path().to_str().unwrap(), d.path());
    assert!(!from_csv.is_empty());
    let bytes = |dir: &Path| std::fs::read(dir.join("items.jsonl")).unwrap();
    assert_eq!(bytes(a.path()), bytes(b.path()), "two runs");
    assert_eq!(bytes(a.path()), bytes(c.path()), "Postgres and CSV");
    assert_eq!(bytes(a.path()), bytes(d.path()), "rows in another order");
    assert_eq!(
        (again.len(), from_pg.len(), reordered.len()),
        (from_csv.len(), from_csv.len(), from_csv.len())
    );
}

#[test]
fn every_source_row_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    plan("access-patterns/rootski", "sql/rootski/sample", dir.path());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let tables = report["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 17);
    for t in tables {
        let dropped: u64 = t["dropped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[1].as_u64().unwrap())
            .sum();
        let accounted =
            t["in_items"].as_u64().unwrap() + dropped + t["unreferenced"].as_u64().unwrap();
        assert_eq!(
            t["rows"].as_u64().unwrap(),
            accounted,
            "table {}",
            t["table"]
        );
    }
    let meanings = tables
        .iter()
        .find(|t| t["table"] == "morpheme_family_meanings")
        .unwrap();
    assert_eq!(meanings["rows"], 19);
    assert_eq!(meanings["in_items"], 17);
    assert_eq!(
        meanings["dropped"],
        serde_json::json!([["MORPHEME_FAMILY.family_meanings where", 2]])
    );
    let markdown = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(markdown.contains("| MORPHEME_FAMILY | 18 |"), "{markdown}");
    let breakdowns = tables
        .iter()
        .find(|t| t["table"] == "word_to_breakdowns")
        .unwrap();
    assert_eq!(breakdowns["in_items"], 12);
    assert_eq!(
        breakdowns["dropped"],
        serde_json::json!([["BREAKDOWN group", 2]]),
        "anonymous breakdowns that are not official"
    );
    assert_eq!(
        report["events"],
        serde_json::json!([["WORD.conjugations missing", 1]]),
        "сказывать has no forms"
    );
    assert!(repo_root().join("access-patterns/README.md").is_file());
}
