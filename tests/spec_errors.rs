//! A spec that cannot work and rows that would make bad items: each an exact one-line error.

use std::path::Path;

use crate::support::migrator;

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, amount NUMERIC, note TEXT);";

const GOOD_SPEC: &str = r#"source = "schema.sql"

[table]
name = "t"
partition_key = "pk"
sort_key = "sk"
type_attribute = "kind"

[[table.indexes]]
name = "gsi1"
partition_key = "gsi1pk"

[[items]]
type = "T"
from = "t"
[items.keys]
pk = "T#{k}"
sk = "ROW#{id}"
[items.attributes]
amount = { column = "amount" }
note = { column = "note" }
"#;

/// A design in a temp folder: its schema, one CSV of rows, and a spec.
fn design(spec: &str, rows: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.sql"), SCHEMA).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("data/t.csv"),
        format!("id,k,amount,note\n{rows}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    dir
}

fn plan(dir: &Path) -> crate::support::Outcome {
    migrator(&[
        "plan",
        "--spec",
        dir.to_str().unwrap(),
        "--source",
        dir.join("data").to_str().unwrap(),
        "--out",
        dir.join("out.jsonl").to_str().unwrap(),
    ])
}

/// Plans `spec` over `rows` and returns the items written; the plan must succeed.
fn planned_items(spec: &str, rows: &str) -> String {
    let dir = design(spec, rows);
    let out = plan(dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap()
}

fn assert_error(dir: &Path, expected: &str) {
    let out = plan(dir);
    assert_eq!(out.stderr, format!("error: {expected}\n"));
    assert_eq!(out.code, 2);
}

fn spec_error(spec: &str, line: usize, message: &str) {
    let dir = design(spec, "1,a,1,x\n");
    assert_error(
        dir.path(),
        &format!("{}/spec.toml:{line}: {message}", dir.path().display()),
    );
}

#[test]
fn the_good_spec_plans() {
    assert_eq!(
        planned_items(GOOD_SPEC, "1,a,1.50,x\n2,b,,\n"),
        concat!(
            r#"{"Item":{"amount":{"N":"1.5"},"kind":{"S":"T"},"note":{"S":"x"},"pk":{"S":"T#a"},"sk":{"S":"ROW#1"}}}"#,
            "\n",
            r#"{"Item":{"amount":{"NULL":true},"kind":{"S":"T"},"note":{"NULL":true},"pk":{"S":"T#b"},"sk":{"S":"ROW#2"}}}"#,
            "\n"
        )
    );
}

/// Item types over `t`: A of rows with amount over 1, B of A's rows with amount over 2, and C
/// of A's rows that are not B's.
const CHOSEN_SPEC: &str = r#"source = "schema.sql"

[table]
name = "t"
partition_key = "pk"
sort_key = "sk"
type_attribute = "kind"

[[items]]
type = "A"
from = "t"
where = ["amount > 1"]
[items.keys]
pk = "ROW#{id}"
sk = "A"

[[items]]
type = "B"
from = "t"
with_item = "A"
where = ["amount > 2"]
[items.keys]
pk = "ROW#{id}"
sk = "B"

[[items]]
type = "C"
from = "t"
with_item = "A"
without_item = "B"
[items.keys]
pk = "ROW#{id}"
sk = "C"
"#;

#[test]
fn an_item_type_with_and_without_others_waits_for_both() {
    let item = |kind: &str, id: u32| {
        format!(
            r#"{{"Item":{{"kind":{{"S":"{kind}"}},"pk":{{"S":"ROW#{id}"}},"sk":{{"S":"{kind}"}}}}}}"#
        )
    };
    let expected: String = [("A", 2), ("A", 3), ("B", 3), ("C", 2)]
        .map(|(kind, id)| item(kind, id) + "\n")
        .concat();
    assert_eq!(
        planned_items(CHOSEN_SPEC, "1,a,1,x\n2,a,2,x\n3,a,3,x\n"),
        expected
    );
}

#[test]
fn map_entries_are_written_in_name_order_and_a_later_name_wins() {
    let spec = GOOD_SPEC.replace(
        "note = { column = \"note\" }",
        "both = { columns = [\"note\", \"k\", \"amount\"], rename = { amount = \"a\" } }\nclash = { columns = [\"note\", \"k\"], rename = { k = \"note\" } }",
    );
    assert_eq!(
        planned_items(&spec, "1,a,1.50,x\n"),
        concat!(
            r#"{"Item":{"amount":{"N":"1.5"},"both":{"M":{"a":{"N":"1.5"},"k":{"S":"a"},"note":{"S":"x"}}},"#,
            r#""clash":{"M":{"note":{"S":"a"}}},"kind":{"S":"T"},"pk":{"S":"T#a"},"sk":{"S":"ROW#1"}}}"#,
            "\n"
        )
    );
}

#[test]
fn a_text_column_finds_a_whole_number_key_by_its_decimal_text() {
    // `k` (text) names the row whose `id` (a whole number) is that text; "02" is not "2".
    let spec = GOOD_SPEC.replace(
        "note = { column = \"note\" }",
        "next = { one = \"t\", on = { id = \"k\" }, missing = \"omit\", item = { column = \"note\" } }",
    );
    let items = planned_items(&spec, "1,3,1,x\n2,02,2,y\n3,1,3,z\n");
    let nexts: Vec<&str> = items
        .lines()
        .map(|l| l.split("\"next\":").nth(1).map_or("-", |s| &s[..9]))
        .collect();
    assert_eq!(nexts, ["-", r#"{"S":"x"}"#, r#"{"S":"z"}"#], "{items}");
}

#[test]
fn a_key_that_is_a_map() {
    spec_error(
        &GOOD_SPEC.replace("sk = \"ROW#{id}\"", "sk = { map = { id = { column = \"id\" } } }"),
        18,
        "key sk of item type T is a map or a list; a key is one value: a template, a column or a constant",
    );
}

#[test]
fn unknown_table() {
    spec_error(
        &GOOD_SPEC.replace("from = \"t\"", "from = \"missing\""),
        15,
        "item type T reads table missing, which the source lacks (it has: t); check the table name",
    );
}

#[test]
fn template_naming_a_missing_column() {
    spec_error(
        &GOOD_SPEC.replace("T#{k}", "T#{word_id}"),
        17,
        "names column word_id, which table t lacks; check the column name",
    );
}

#[test]
fn unknown_column_in_an_attribute() {
    spec_error(
        &GOOD_SPEC.replace("{ column = \"note\" }", "{ column = \"notes\" }"),
        21,
        "names column notes, which table t lacks; check the column name",
    );
}

#[test]
fn key_attribute_of_no_index() {
    spec_error(
        &GOOD_SPEC.replace("sk = \"ROW#{id}\"", "sk = \"ROW#{id}\"\ngsi9pk = \"X\""),
        19,
        "keys names gsi9pk, which is no key attribute of the table or its indexes (pk, sk, gsi1pk); check the name or declare the index",
    );
}

#[test]
fn access_pattern_on_a_missing_index() {
    let spec = format!(
        "{GOOD_SPEC}\n[[access_patterns]]\nname = \"by k\"\noperation = \"Query\"\nindex = \"gsi2\"\nkey = {{ gsi2pk = \"T#{{k}}\" }}\nexample = {{ k = \"a\" }}\nsql = \"SELECT 1\"\n"
    );
    spec_error(
        &spec,
        26,
        "access pattern by k uses index gsi2, which the table lacks (it has: gsi1); declare it under [[table.indexes]]",
    );
}

#[test]
fn type_mismatch_and_toml_syntax() {
    spec_error(
        &GOOD_SPEC.replace(
            "partition_key = \"pk\"",
            "partition_key = { name = \"pk\", type = \"X\" }",
        ),
        5,
        "a key is a name (\"pk\") or { name = \"pk\", type = \"S\" } with type S, N or B",
    );
    spec_error(
        &GOOD_SPEC.replace("[items.attributes]", "[items.attributes]\nbroken = [1, 2"),
        21,
        "missing comma between array elements, expected `,`",
    );
}

#[test]
fn time_patterns_are_checked_when_the_spec_loads() {
    spec_error(
        &GOOD_SPEC.replace("type_attribute = \"kind\"", "type_attribute = \"kind\"\ntimestamp_format = \"%Y %Q\""),
        8,
        "timestamp_format \"%Y %Q\" is not a time pattern chrono can read; use iso8601, epoch-seconds, epoch-millis or strftime fields such as \"%Y-%m-%dT%H:%M:%S%.6fZ\"",
    );
    spec_error(
        &GOOD_SPEC.replace("{ column = \"note\" }", "{ column = \"note\", format = \"%H:%M %z\" }"),
        21,
        "T.note: format \"%H:%M %z\" asks for a time zone (%z, %Z), but timestamps are written in UTC without one; write the zone as text, such as \"%Y-%m-%dT%H:%M:%SZ\"",
    );
}

#[test]
fn distinct_across_needs_a_distinct_and_says_where() {
    spec_error(
        &GOOD_SPEC.replace(
            "note = { column = \"note\" }",
            "notes = { list = \"t\", on = { k = \"k\" }, distinct_across = \"item\", item = { column = \"note\" } }",
        ),
        21,
        "T.notes: distinct_across says where distinct holds, but there is no distinct; add distinct = [\"column\"]",
    );
    spec_error(
        &GOOD_SPEC.replace(
            "note = { column = \"note\" }",
            "notes = { list = \"t\", on = { k = \"k\" }, distinct = [\"note\"], distinct_across = \"word\", item = { column = \"note\" } }",
        ),
        21,
        "T.notes: distinct_across is \"list\" (each list apart, the default) or \"item\" (once in the whole item)",
    );
}

#[test]
fn a_sort_key_whose_time_strings_do_not_sort_as_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        "CREATE TABLE e (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL);",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("data/e.csv"),
        "id,at\n1,2023-03-01 09:00:00\n",
    )
    .unwrap();
    let spec = |sk: &str| {
        format!("source = \"schema.sql\"\n[table]\nname = \"t\"\npartition_key = \"pk\"\nsort_key = \"sk\"\n\n[[items]]\ntype = \"E\"\nfrom = \"e\"\n[items.keys]\npk = \"E\"\nsk = {sk}\n")
    };
    std::fs::write(
        dir.path().join("spec.toml"),
        spec("{ column = \"at\", format = \"%d/%m/%Y %H:%M\" }"),
    )
    .unwrap();
    assert_error(
        dir.path(),
        &format!("{}/spec.toml:12: sort key sk of item type E is written from a timestamp, but \"%d/%m/%Y %H:%M\" writes 1999-12-31 23:59:59.999999 as \"31/12/1999 23:59\" and the later 2000-01-02 03:04:05 as \"02/01/2000 03:04\", which do not sort as the times do; use \"iso8601\" (fixed width) or an epoch format for it", dir.path().display()),
    );
    // A template writes the spec's default, fixed width; so does iso8601-millis: both sort.
    for sk in [
        "\"AT#{at}\"",
        "{ column = \"at\", format = \"iso8601-millis\" }",
    ] {
        std::fs::write(dir.path().join("spec.toml"), spec(sk)).unwrap();
        assert_eq!(plan(dir.path()).code, 0, "{sk}");
    }
}

#[test]
fn an_unqualified_column_two_tables_of_a_level_have() {
    spec_error(
        &GOOD_SPEC.replace(
            "from = \"t\"",
            "from = \"t\"\njoin = [{ table = \"t\", as = \"other\", on = { id = \"id\" } }]",
        ),
        18,
        "names column k, which tables t and other both have; write t.k or other.k",
    );
}

#[test]
fn access_pattern_settings_that_do_not_fit_their_operation() {
    let pattern = |body: &str| {
        format!("{GOOD_SPEC}\n[[access_patterns]]\nname = \"p\"\n{body}\nexample = {{ k = \"a\", id = 1 }}\nsql = \"SELECT 1\"\n")
    };
    spec_error(
        &pattern("operation = \"GetItem\"\nkey = { pk = \"T#{k}\", sk = \"ROW#{id}\" }\norder = \"desc\""),
        27,
        "access pattern p: order applies to a Query only",
    );
    spec_error(
        &pattern("operation = \"PutItem\"\nkey = { pk = \"T#{k}\", sk = \"ROW#{id}\" }\ncondition = \"size(note) > 3\""),
        27,
        "access pattern p: condition \"size(note) > 3\": only attribute_exists(name) and attribute_not_exists(name), joined by AND, can be checked without writing",
    );
    spec_error(
        &pattern("operation = \"DeleteItem\"\nkey = { pk = \"T#{k}\" }"),
        24,
        "access pattern p: DeleteItem addresses one item, so key gives the whole key (pk, sk), each part equal to a value",
    );
    spec_error(
        &pattern("operation = \"Query\"\nkey = { pk = \"T#{k}\" }\norder = \"newest\""),
        27,
        "access pattern p: order \"newest\" is \"asc\" or \"desc\" (ScanIndexForward)",
    );
}

#[test]
fn an_on_demand_maximum_on_a_provisioned_table() {
    spec_error(
        &GOOD_SPEC.replace(
            "type_attribute = \"kind\"",
            "type_attribute = \"kind\"\nbilling = \"provisioned\"\nread_capacity = 5\nwrite_capacity = 5\nmax_write_request_units = 100",
        ),
        11,
        "max_write_request_units caps an on-demand table; a provisioned one has write_capacity",
    );
}

#[test]
fn null_in_a_key_column() {
    let dir = design(GOOD_SPEC, "1,a,1,x\n4012,,2,y\n");
    assert_error(
        dir.path(),
        "table t, row id=4012: k is NULL but T's pk needs it; fill it, give the template a default ({k|…}) or filter such rows out in the spec",
    );
}

#[test]
fn a_39_digit_number_and_nan() {
    let dir = design(GOOD_SPEC, "7,a,123456789012345678901234567890123456789,x\n");
    assert_error(
        dir.path(),
        "table t, row id=7: T's attribute amount: 123456789012345678901234567890123456789 has 39 significant digits; DynamoDB keeps at most 38",
    );
    let dir = design(GOOD_SPEC, "8,a,NaN,x\n");
    assert_error(
        dir.path(),
        "table t, row id=8: T's attribute amount: NaN is not a number DynamoDB can store (NaN and infinities are not)",
    );
}

#[test]
fn two_items_with_one_key() {
    let spec = GOOD_SPEC.replace("ROW#{id}", "ROW");
    let dir = design(&spec, "1,a,1,x\n2,a,2,y\n");
    assert_error(
        dir.path(),
        "two items have the key pk=T#a, sk=ROW: T from table t, row id=1, and T from table t, row id=2; make the key templates unique",
    );
}

#[test]
fn a_sort_key_over_1024_bytes() {
    let spec = GOOD_SPEC.replace("ROW#{id}", "ROW#{note}");
    let long = "x".repeat(1030);
    let dir = design(&spec, &format!("5,a,1,{long}\n"));
    assert_error(
        dir.path(),
        // The key is shown clipped to its first 60 characters, with its size.
        &format!(
            "T pk=T#a, sk=ROW#{}… (1034 bytes) (table t, row id=5): key attribute sk is 1034 bytes; DynamoDB allows at most 1024",
            &long[..56]
        ),
    );
}

#[test]
fn an_item_over_400_kb() {
    let big = "y".repeat(410 * 1024);
    let dir = design(GOOD_SPEC, &format!("6,a,1,{big}\n"));
    assert_error(
        dir.path(),
        "T pk=T#a, sk=ROW#6 (table t, row id=6): the item is 419869 bytes; DynamoDB allows at most 409600 (400 KB); cap its lists with a limit in the spec",
    );
}

#[test]
fn items_that_break_the_table_key_types() {
    let spec = GOOD_SPEC.replace(
        "partition_key = \"pk\"",
        "partition_key = { name = \"pk\", type = \"N\" }",
    );
    let dir = design(&spec, "1,a,1,x\n");
    assert_error(
        dir.path(),
        "T pk=T#a, sk=ROW#1 (table t, row id=1): key attribute pk must be of type N but is S(\"T#a\"); cast it in the spec",
    );
}

#[test]
fn every_bad_row_is_reported_not_just_the_first() {
    let rows: String = (1..=23).map(|i| format!("{i},,{i},x\n")).collect();
    let dir = design(GOOD_SPEC, &format!("100,a,NaN,x\n{rows}"));
    let report = dir.path().join("report.json");
    let out = migrator(&[
        "plan",
        "--spec",
        dir.path().to_str().unwrap(),
        "--source",
        dir.path().join("data").to_str().unwrap(),
        "--out",
        dir.path().join("out.jsonl").to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    let null = |i: u32| {
        format!("error: table t, row id={i}: k is NULL but T's pk needs it; fill it, give the template a default ({{k|…}}) or filter such rows out in the spec")
    };
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 21, "{}", out.stderr);
    // In the order of the source rows.
    assert_eq!(
        lines[0],
        "error: table t, row id=100: T's attribute amount: NaN is not a number DynamoDB can store (NaN and infinities are not)"
    );
    assert_eq!(lines[1], null(1));
    assert_eq!(lines[19], null(19));
    assert_eq!(
        lines[20],
        "error: … and 4 more (24 errors in all; `migrator plan --report FILE` lists every one)"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["error_count"], 24);
    assert_eq!(json["errors"][23], null(23).trim_start_matches("error: "));
    let plans: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("out.jsonl"))
        .collect();
    assert!(
        plans.is_empty(),
        "no plan is written, nor left under a temporary name: {plans:?}"
    );
}

/// A design folder, and a plan of it in windows and one in memory.
type Plans = (
    tempfile::TempDir,
    crate::support::Outcome,
    crate::support::Outcome,
);

/// Plans the good spec with one sort key for every row (`ROW`) over `rows`, loaded into a
/// database `label`: in windows of one row, then in memory. The design folder and both outcomes.
async fn one_key_plans(label: &str, rows: &str) -> Plans {
    plans(label, &GOOD_SPEC.replace("ROW#{id}", "ROW"), rows).await
}

/// Plans `spec` over `rows`, loaded into a database `label`: in windows of one row (to
/// `out.jsonl`), then in memory (to `whole.jsonl`). The design folder and both outcomes.
async fn plans(label: &str, spec: &str, rows: &str) -> Plans {
    let dir = design(spec, rows);
    let url = crate::support::loaded_database_of(label, dir.path(), &dir.path().join("data")).await;
    let plan_from = |out: &str, options: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec![
            "plan",
            "--spec",
            dir.path().to_str().unwrap(),
            "--source",
            &url,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(options);
        migrator(&args)
    };
    let windowed = plan_from("out.jsonl", &["--window", "1"]);
    let whole = plan_from("whole.jsonl", &[]);
    (dir, windowed, whole)
}

#[tokio::test]
async fn windows_find_bad_rows_and_keys_shared_across_windows() {
    // Rows 1 and 2 share a key but fall in two windows of one row; row 3 has no key at all.
    let (dir, windowed, whole) =
        one_key_plans("windowed_errors", "1,a,1,x\n2,a,2,y\n3,,3,z\n").await;
    assert_eq!(
        windowed.stderr,
        "error: table t, row id=3: k is NULL but T's pk needs it; fill it, give the template a default ({k|…}) or filter such rows out in the spec\n\
         error: two items have the key pk=T#a, sk=ROW: T from table t, row id=1, and T from table t, row id=2; make the key templates unique\n"
    );
    assert_eq!(windowed.code, 2);
    assert!(!dir.path().join("out.jsonl").exists(), "nothing is written");
    assert_eq!(
        whole.stderr, windowed.stderr,
        "the same errors as in memory"
    );
}

#[tokio::test]
async fn three_items_of_one_key_are_named_in_pairs_alike_in_windows_and_in_memory() {
    // Rows 1, 2 and 3 share a key, each in a window of its own.
    let (_dir, windowed, whole) =
        one_key_plans("windowed_triple", "1,a,1,x\n2,a,2,y\n3,a,3,z\n").await;
    assert_eq!(
        windowed.stderr,
        "error: two items have the key pk=T#a, sk=ROW: T from table t, row id=1, and T from table t, row id=2; make the key templates unique\n\
         error: two items have the key pk=T#a, sk=ROW: T from table t, row id=2, and T from table t, row id=3; make the key templates unique\n"
    );
    assert_eq!(windowed.code, 2);
    assert_eq!(whole.stderr, windowed.stderr);
    assert_eq!(whole.code, 2);
}

#[tokio::test]
async fn migrate_writes_nothing_while_any_item_is_bad() {
    // Row 2 is fine; row 3 cannot be stored: the whole plan is checked before the first write.
    let dir = design(GOOD_SPEC, "2,a,1,x\n3,a,NaN,y\n");
    let table = crate::support::dynamodb::table_name("bad-item");
    let endpoint = crate::support::dynamodb::endpoint();
    let out = migrator(&[
        "migrate",
        "--spec",
        dir.path().to_str().unwrap(),
        "--source",
        dir.path().join("data").to_str().unwrap(),
        "--table",
        &table,
        "--endpoint-url",
        &endpoint,
        "--create-table",
        "--report",
        dir.path().join("migrate.json").to_str().unwrap(),
    ]);
    assert_eq!(
        out.stderr.lines().last(),
        Some("error: table t, row id=3: T's attribute amount: NaN is not a number DynamoDB can store (NaN and infinities are not)"),
        "{}",
        out.stderr
    );
    assert_eq!(out.code, 2);
    let in_table = crate::support::dynamodb::sink(&table)
        .await
        .scan_lines(4, None)
        .await
        .unwrap();
    assert_eq!(in_table, Vec::<String>::new(), "not even the good item");
}

#[test]
fn conditions_that_order_values() {
    let spec = GOOD_SPEC.replace(
        "from = \"t\"\n",
        "from = \"t\"\nwhere = [\"amount >= 10\", \"note < m\"]\n",
    );
    let items = planned_items(
        &spec,
        "1,a,5,apple\n2,b,10,apple\n3,c,12.5,zed\n4,d,,apple\n",
    );
    assert_eq!(
        items,
        "{\"Item\":{\"amount\":{\"N\":\"10\"},\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"apple\"},\"pk\":{\"S\":\"T#b\"},\"sk\":{\"S\":\"ROW#2\"}}}\n"
    );
    let with = |condition: &str| {
        GOOD_SPEC.replace(
            "from = \"t\"\n",
            &format!("from = \"t\"\nwhere = [\"{condition}\"]\n"),
        )
    };
    spec_error(
        &with("amount > lots"),
        16,
        "condition \"amount > lots\": lots is not a decimal number as column amount needs (or NOW for the plan's moment)",
    );
    spec_error(
        &with("note > NOW"),
        16,
        "condition \"note > NOW\" compares column note with NOW, but it is not a date or timestamp",
    );
}

/// The good spec keyed by `amount`, a number, and moving items off keys others have.
fn moving_spec() -> String {
    GOOD_SPEC
        .replace(
            "sort_key = \"sk\"\n",
            "sort_key = { name = \"sk\", type = \"N\" }\non_key_clash = \"next-sort-key\"\n",
        )
        .replace("sk = \"ROW#{id}\"", "sk = { column = \"amount\" }")
        .replace("amount = { column = \"amount\" }\n", "")
}

#[tokio::test]
async fn windows_move_items_off_shared_keys_as_the_plan_in_memory_does() {
    // Each row is a window of its own. Rows 2 and 3 share row 1's key (7); 8 is row 4's, so
    // row 2 (the lower id) takes 9 and row 3 takes 10; row 5 is in another partition.
    let rows = "3,a,7,w\n1,a,7,x\n5,b,7,v\n2,a,7,y\n4,a,8,z\n";
    let (dir, windowed, whole) = plans("windowed_moves", &moving_spec(), rows).await;
    assert_eq!(windowed.code, 0, "{}", windowed.stderr);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let items = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert_eq!(
        items,
        "{\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"w\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"10\"}}}\n\
         {\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"x\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"7\"}}}\n\
         {\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"z\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"8\"}}}\n\
         {\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"y\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"9\"}}}\n\
         {\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"v\"},\"pk\":{\"S\":\"T#b\"},\"sk\":{\"N\":\"7\"}}}\n"
    );
    assert_eq!(
        items,
        std::fs::read_to_string(dir.path().join("whole.jsonl")).unwrap()
    );

    // A sort key that is not a whole number cannot move: the same error as in memory.
    let (_dir, windowed, whole) = plans(
        "windowed_moves_fraction",
        &moving_spec(),
        "1,a,7.5,x\n2,a,7.5,y\n",
    )
    .await;
    assert_eq!(
        windowed.stderr,
        "error: T pk=T#a, sk=7.5 (table t, row id=2): another item has this key, and on_key_clash = \"next-sort-key\" moves only whole-number sort keys (7.5 is not one); make the sort key a whole number (an epoch time) or the keys unique\n"
    );
    assert_eq!(windowed.code, 2);
    assert_eq!(whole.stderr, windowed.stderr);
}

#[test]
fn on_key_clash_needs_a_number_sort_key_and_moves_only_whole_numbers() {
    spec_error(
        &GOOD_SPEC.replace(
            "type_attribute = \"kind\"\n",
            "type_attribute = \"kind\"\non_key_clash = \"next-sort-key\"\n",
        ),
        8,
        "on_key_clash = \"next-sort-key\" moves an item to the next number of the sort key; give the table a sort key of type N (sort_key = { name = \"time\", type = \"N\" })",
    );
    spec_error(
        &GOOD_SPEC.replace(
            "type_attribute = \"kind\"\n",
            "type_attribute = \"kind\"\non_key_clash = \"first\"\n",
        ),
        8,
        "on_key_clash \"first\" is neither \"error\" nor \"next-sort-key\"",
    );
    let numeric = moving_spec();
    let items = planned_items(&numeric, "1,a,7,x\n2,a,7,y\n3,a,8,z\n");
    assert_eq!(
        items,
        "{\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"x\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"7\"}}}\n\
         {\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"z\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"8\"}}}\n\
         {\"Item\":{\"kind\":{\"S\":\"T\"},\"note\":{\"S\":\"y\"},\"pk\":{\"S\":\"T#a\"},\"sk\":{\"N\":\"9\"}}}\n",
        "row 2 clashes with row 1 on 7; 8 is row 3's, so it takes 9"
    );
    let dir = design(&numeric, "1,a,7.5,x\n2,a,7.5,y\n");
    assert_error(
        dir.path(),
        "T pk=T#a, sk=7.5 (table t, row id=2): another item has this key, and on_key_clash = \"next-sort-key\" moves only whole-number sort keys (7.5 is not one); make the sort key a whole number (an epoch time) or the keys unique",
    );
}

#[test]
fn required_and_enum_columns_name_the_row() {
    let spec = GOOD_SPEC.replace(
        "note = { column = \"note\" }",
        "note = { column = \"note\", required = true, enum = [\"x\", \"y\"] }",
    );
    let items = planned_items(&spec, "1,a,1,x\n2,b,2,y\n");
    assert_eq!(items.lines().count(), 2);
    let dir = design(&spec, "1,a,1,x\n2,b,2,\n");
    assert_error(
        dir.path(),
        "table t, row id=2: T's attribute note: column note is NULL, but the attribute is required; fill it or filter such rows out in the spec",
    );
    let dir = design(&spec, "1,a,1,x\n2,b,2,verbose\n");
    assert_error(
        dir.path(),
        "table t, row id=2: T's attribute note: column note is \"verbose\", which is not one of x, y; fix the row or the spec's enum",
    );
    spec_error(
        &GOOD_SPEC.replace("T#{k}", "T#{k:ulid}"),
        17,
        "template \"T#{k:ulid}\": k:ulid makes a ULID from a time, but column k is not a date or timestamp",
    );
}
