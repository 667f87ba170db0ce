//! `migrator plan`: exact items, determinism across sources and row orders, every row accounted.

use std::path::Path;

use crate::support::{
    loaded_database, loaded_database_of, migrator, plan, plan_with, repo_root, sample_copy,
    sample_dir,
};

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
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"ROOM"},"createdOn":{"S":"2023-03-01T09:00:00.000000Z"},"hostKey":{"S":"hk-5f2a"},"isRevealed":{"BOOL":false},"updatedOn":{"S":"2023-03-01T09:05:12.250000Z"},"validSizes":{"S":"1 2 3 5 8 13 20 ? ∞"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r2"},"SK":{"S":"ROOM"},"createdOn":{"S":"2023-03-02T13:30:00.000000Z"},"hostKey":{"S":"hk-91cc"},"isRevealed":{"BOOL":true},"updatedOn":{"S":"2023-03-02T14:00:00.000000Z"},"validSizes":{"S":"XS S M L XL"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r3"},"SK":{"S":"ROOM"},"createdOn":{"S":"2023-03-03T08:00:00.000000Z"},"hostKey":{"S":"hk-0b7e"},"isRevealed":{"BOOL":false},"updatedOn":{"S":"2023-03-03T08:00:00.000000Z"},"validSizes":{"S":""}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"USER:uk-a1"},"connectionId":{"S":"c-1"},"createdOn":{"S":"2023-03-01T09:01:00.000000Z"},"updatedOn":{"S":"2023-03-01T09:04:00.000000Z"},"userId":{"S":"u-100"},"username":{"S":"alice"},"vote":{"S":"5"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"USER:uk-b2"},"connectionId":{"S":"c-2"},"createdOn":{"S":"2023-03-01T09:02:00.000000Z"},"updatedOn":{"S":"2023-03-01T09:02:00.000000Z"},"userId":{"S":"u-101"},"username":{"S":"bob"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r1"},"SK":{"S":"USER:uk-c3"},"createdOn":{"S":"2023-03-01T09:03:00.000000Z"},"updatedOn":{"S":"2023-03-01T09:03:00.000000Z"},"userId":{"S":"u-102"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r2"},"SK":{"S":"USER:uk-d4"},"connectionId":{"S":"c-4"},"createdOn":{"S":"2023-03-02T13:31:00.000000Z"},"updatedOn":{"S":"2023-03-02T13:59:00.000000Z"},"userId":{"S":"u-103"},"username":{"S":"dana"},"vote":{"S":"M"}}}"#,
        r#"{"Item":{"PK":{"S":"ROOM:r2"},"SK":{"S":"USER:uk-e5"},"createdOn":{"S":"2023-03-02T13:32:00.000000Z"},"updatedOn":{"S":"2023-03-02T13:58:00.000000Z"},"userId":{"S":"u-104"},"username":{"S":"erik"},"vote":{"S":"XL"}}}"#,
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

/// A plan's report without the time it took.
fn report_of(dir: &Path) -> serde_json::Value {
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    report.as_object_mut().unwrap().remove("seconds");
    report
}

/// Asserts that planning `spec` from `url` in windows of 1 and of 2 roots gives the items
/// `lines` and the report of the in-memory plan in `whole`.
fn windows_give_the_plan_in(spec: &str, url: &str, lines: &[String], whole: &Path) {
    for window in ["1", "2"] {
        let windowed = tempfile::tempdir().unwrap();
        assert_eq!(
            plan_with(spec, url, windowed.path(), &["--window", window]),
            lines,
            "windows of {window}"
        );
        assert_eq!(
            report_of(windowed.path()),
            report_of(whole),
            "windows of {window}"
        );
    }
}

/// A Rootski dataset generated at `scale`, loaded into a fresh database: its URL.
async fn generated_database(label: &str, scale: &str) -> String {
    let generated = tempfile::tempdir().unwrap();
    let made = migrator(&[
        "dataset",
        "generate",
        "--design",
        "rootski",
        "--scale",
        scale,
        "--out",
        generated.path().to_str().unwrap(),
    ]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    loaded_database(label, generated.path()).await
}

#[tokio::test]
async fn planning_in_windows_gives_the_in_memory_plan_byte_for_byte() {
    let generated = generated_database("window_generated", "0.005").await;
    let poker = repo_root().join("sql/planning-poker");
    // Windows of one root row, of a few, and (generated) more windows of a type than are
    // merged back at once.
    let cases = [
        (
            "access-patterns/rootski",
            loaded_database("window_sample", &sample_dir()).await,
            vec!["1", "3"],
        ),
        (
            "access-patterns/planning-poker",
            loaded_database_of("window_poker", &poker, &poker.join("sample")).await,
            vec!["1"],
        ),
        ("access-patterns/rootski", generated, vec!["4"]),
    ];
    for (spec, url, windows) in cases {
        let whole = tempfile::tempdir().unwrap();
        let lines = plan(spec, &url, whole.path());
        assert!(lines.len() > 5, "{spec}: {} items", lines.len());
        let items = |dir: &Path| std::fs::read(dir.join("items.jsonl")).unwrap();
        for window in windows {
            let dir = tempfile::tempdir().unwrap();
            plan_with(spec, &url, dir.path(), &["--window", window]);
            let what = format!("{spec} in windows of {window}");
            assert!(
                items(dir.path()) == items(whole.path()),
                "{what}: other items"
            );
            assert_eq!(report_of(dir.path()), report_of(whole.path()), "{what}");
        }
    }
}

#[tokio::test]
async fn counts_too_many_to_hold_spill_to_disk_and_report_what_memory_reports() {
    // At scale 0.2 the table has more partition keys, and the join tables more rows, than a
    // windowed plan keeps in memory (16,384 each): their counts spill and are merged back.
    // Tables of at most 5,000 rows (morphemes, verb pairs, …) are read whole, once, and the
    // 32,000 words in windows of 5,000.
    let url = generated_database("window_spilled", "0.2").await;
    let spec = "access-patterns/rootski";
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    let windowed = tempfile::tempdir().unwrap();
    let in_windows = plan_with(spec, &url, windowed.path(), &["--window", "5000"]);
    assert!(in_windows == lines, "other items");
    let report = report_of(windowed.path());
    let table_keys = report["capacity"]["targets"][0]["distinct_keys"]
        .as_u64()
        .unwrap();
    assert!(table_keys > 16_384, "{table_keys} partition keys");
    let links = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "word_to_sentence")
        .unwrap()["rows"]
        .as_u64()
        .unwrap();
    assert!(links > 16_384, "{links} rows of word_to_sentence");
    assert_eq!(report, report_of(whole.path()));
}

/// A design folder with `schema`, a spec of table `t` (keys `pk` and `sk`) with the item types
/// `items`, and the CSV `files` in `data/`, loaded into a fresh database: the folder and the
/// database's URL.
async fn loaded_design(
    label: &str,
    schema: &str,
    items: &str,
    files: &[(&str, &str)],
) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("source = \"schema.sql\"\n[table]\nname = \"t\"\npartition_key = \"pk\"\nsort_key = \"sk\"\n\n{items}");
    std::fs::write(dir.path().join("schema.sql"), schema).unwrap();
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for (name, text) in files {
        std::fs::write(data.join(name), text).unwrap();
    }
    let url = loaded_database_of(label, dir.path(), &data).await;
    (dir, url)
}

#[tokio::test]
async fn windows_cut_on_a_number_or_a_time_give_the_in_memory_plan() {
    // 9 < 10 as numbers but "10" < "9" as text: windows of two roots must agree with Postgres on
    // which children are theirs, whichever order the key sorts in.
    let schema = "CREATE TABLE m (n NUMERIC PRIMARY KEY, at TIMESTAMP NOT NULL);
CREATE TABLE c (id INTEGER PRIMARY KEY, m_n NUMERIC, v TEXT);";
    let items = r#"[[items]]
type = "BY_NUMBER"
from = "m"
[items.keys]
pk = "M#{n}"
sk = "M"
[items.attributes]
children = { list = "c", on = { m_n = "n" }, order = ["id"], item = { column = "v" } }

[[items]]
type = "BY_TIME"
from = "m"
group_by = ["at"]
[items.keys]
pk = "AT#{at}"
sk = "AT"
[items.attributes]
numbers = { list = "@group", order = ["n"], item = { column = "n" } }
"#;
    let files = [
        (
            "m.csv",
            "n,at\n9,2024-01-01 09:00:00\n10,2024-01-01 10:00:00\n100,2024-01-01 09:00:00\n2.5,2024-01-01 10:00:00.5\n-1,2023-12-31 23:00:00\n",
        ),
        (
            "c.csv",
            "id,m_n,v\n1,9,nine\n2,10,ten\n3,100,hundred\n4,2.5,two and a half\n5,-1,minus one\n6,9,nine again\n",
        ),
    ];
    let (dir, url) = loaded_design("window_keys", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    assert_eq!(lines.len(), 5 + 4, "{lines:?}");
    assert!(
        lines.contains(&r#"{"Item":{"children":{"L":[{"S":"nine"},{"S":"nine again"}]},"pk":{"S":"M#9"},"sk":{"S":"M"}}}"#.to_string()),
        "{lines:?}"
    );
    windows_give_the_plan_in(spec, &url, &lines, whole.path());
}

#[tokio::test]
async fn windows_in_key_order_go_straight_to_the_plan_unless_postgres_orders_them_otherwise() {
    // "M#10" < "M#9": windows cut on a whole-number id are read in the order of its text, so
    // each window's keys follow the last window's; under one partition key ("CODE") the sort
    // key is the window's column. Either way no run is merged, and the plan is the same.
    let schema = "CREATE TABLE m (id INTEGER PRIMARY KEY, code CHAR(2) NOT NULL);";
    let items = r#"[[items]]
type = "BY_ID"
from = "m"
[items.keys]
pk = "M#{id}"
sk = "M"
[items.attributes]
code = { column = "code" }

[[items]]
type = "BY_CODE"
from = "m"
group_by = ["code"]
[items.keys]
pk = "CODE"
sk = "{code}"
[items.attributes]
ids = { list = "@group", order = ["id"], item = "{id}" }
"#;
    let files = [("m.csv", "id,code\n9,b\n10,a\n100,b\n-1,c\n2,ab\n")];
    let (dir, url) = loaded_design("window_in_order", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    let keys: Vec<&str> = lines
        .iter()
        .map(|l| &l[l.find("\"pk\"").unwrap()..])
        .collect();
    assert_eq!(
        keys,
        [
            r#""pk":{"S":"M#-1"},"sk":{"S":"M"}}}"#,
            r#""pk":{"S":"M#10"},"sk":{"S":"M"}}}"#,
            r#""pk":{"S":"M#100"},"sk":{"S":"M"}}}"#,
            r#""pk":{"S":"M#2"},"sk":{"S":"M"}}}"#,
            r#""pk":{"S":"M#9"},"sk":{"S":"M"}}}"#,
            r#""pk":{"S":"CODE"},"sk":{"S":"a "}}}"#,
            r#""pk":{"S":"CODE"},"sk":{"S":"ab"}}}"#,
            r#""pk":{"S":"CODE"},"sk":{"S":"b "}}}"#,
            r#""pk":{"S":"CODE"},"sk":{"S":"c "}}}"#,
        ]
    );
    windows_give_the_plan_in(spec, &url, &lines, whole.path());

    // CHAR(2) keeps "a" as "a " in the key, but Postgres orders its text, "a", before "a\u{1}":
    // in key order "C#a\u{1}" comes first. The windows find it out and stop.
    let schema = "CREATE TABLE k (code CHAR(2) PRIMARY KEY);";
    let items =
        "[[items]]\ntype = \"CODE\"\nfrom = \"k\"\n[items.keys]\npk = \"C#{code}\"\nsk = \"C\"\n";
    let files = [("k.csv", "code\na\na\u{1}\n")];
    let (dir, url) = loaded_design("window_out_of_order", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    assert_eq!(plan(spec, &url, whole.path()).len(), 2);
    let out = dir.path().join("out.jsonl");
    let args = [
        "plan",
        "--spec",
        spec,
        "--source",
        &url,
        "--window",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    let windowed = migrator(&args);
    assert_eq!(windowed.code, 2, "{}", windowed.stderr);
    assert_eq!(
        windowed.stderr,
        "error: the windows of item type CODE came out of key order ((\"C#a\\u{1}\", \"C\") came after (\"C#a \", \"C\")): they were read in the order Postgres gives the text of the k column its keys end in; plan without --window, and report this\n"
    );
    assert!(!out.exists(), "no plan is written");
}

#[tokio::test]
async fn windows_read_children_by_their_own_key_and_keep_each_with_its_root() {
    // c names its parent by a whole number: windows read c alone, ordered by p_id, with rows
    // that name no parent (4, 0, 9, NULL) among them. d names m by a numeric, where 2.50 equals
    // 2.5 but is other text: read joined to m, it is keyed by its root's 2.5.
    let schema = "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER, v TEXT);
CREATE TABLE m (n NUMERIC PRIMARY KEY);
CREATE TABLE d (id INTEGER PRIMARY KEY, m_n NUMERIC, v TEXT);";
    let items = r#"[[items]]
type = "PARENT"
from = "p"
[items.keys]
pk = "P#{id}"
sk = "P"
[items.attributes]
children = { list = "c", on = { p_id = "id" }, order = ["id"], item = { column = "v" } }

[[items]]
type = "NUMBER"
from = "m"
[items.keys]
pk = "M#{n}"
sk = "M"
[items.attributes]
rows = { list = "d", on = { m_n = "n" }, order = ["id"], item = { column = "v" } }
"#;
    let files = [
        ("p.csv", "id,name\n1,one\n3,three\n5,five\n7,seven\n"),
        (
            "c.csv",
            "id,p_id,v\n1,1,a\n2,3,b\n3,4,no parent 4\n4,,no parent\n5,9,no parent 9\n6,7,c\n7,0,no parent 0\n8,3,b again\n",
        ),
        ("m.csv", "n\n2.5\n10\n9\n"),
        (
            "d.csv",
            "id,m_n,v\n1,2.50,two and a half\n2,10,ten\n3,9,nine\n",
        ),
    ];
    let (dir, url) = loaded_design("window_children", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    assert_eq!(lines.len(), 4 + 3, "{lines:?}");
    for expected in [
        r#"{"Item":{"children":{"L":[{"S":"b"},{"S":"b again"}]},"pk":{"S":"P#3"},"sk":{"S":"P"}}}"#,
        r#"{"Item":{"children":{"L":[]},"pk":{"S":"P#5"},"sk":{"S":"P"}}}"#,
        r#"{"Item":{"pk":{"S":"M#2.5"},"rows":{"L":[{"S":"two and a half"}]},"sk":{"S":"M"}}}"#,
    ] {
        assert!(
            lines.contains(&expected.to_string()),
            "{expected} in {lines:?}"
        );
    }
    windows_give_the_plan_in(spec, &url, &lines, whole.path());
}

#[tokio::test]
async fn windows_look_rows_up_on_the_query_that_names_them_and_skip_what_failed_roots_reach() {
    // Windows read a customer with its order and a product with its line, each looked up by
    // primary key on the same query (the customer not at all for the lines); a lookup that finds nothing (order 3's customer 99, line
    // 2's product 101) drops what it would, as in memory. Order 2 has no buyer, so its lines
    // are not read at all, yet the report still says which rule dropped the order.
    let schema = "CREATE TABLE o (id INTEGER PRIMARY KEY, ref TEXT, who TEXT, cust_id INTEGER);
CREATE TABLE cust (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE line (id INTEGER PRIMARY KEY, o_ref TEXT, prod_id INTEGER, qty INTEGER);
CREATE TABLE prod (id INTEGER PRIMARY KEY, name TEXT);";
    let items = r#"[[items]]
type = "ORDER"
from = "o"
join = [{ table = "cust", on = { id = "cust_id" } }]
where = ["who != NULL"]
[items.keys]
pk = "O#{o.id}"
sk = "{who}"
[items.attributes]
customer = { column = "cust.name" }
lines = { list = "line", on = { o_ref = "ref" }, join = [{ table = "prod", on = { id = "prod_id" } }], order = ["line.id"], item = { map = { product = { column = "prod.name" }, qty = { column = "qty" } } } }
"#;
    let files = [
        (
            "o.csv",
            "id,ref,who,cust_id\n1,r1,ann,10\n2,r2,,10\n3,r3,bob,99\n4,r4,cat,11\n",
        ),
        ("cust.csv", "id,name\n10,acme\n11,beta\n12,unused\n"),
        (
            "line.csv",
            "id,o_ref,prod_id,qty\n1,r1,100,1\n2,r1,101,2\n3,r2,100,5\n4,r4,102,1\n5,r9,100,1\n6,r3,100,1\n",
        ),
        ("prod.csv", "id,name\n100,apple\n102,pear\n103,plum\n"),
    ];
    let (dir, url) = loaded_design("window_lookups", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    assert_eq!(
        lines,
        [
            r#"{"Item":{"customer":{"S":"acme"},"lines":{"L":[{"M":{"product":{"S":"apple"},"qty":{"N":"1"}}}]},"pk":{"S":"O#1"},"sk":{"S":"ann"}}}"#,
            r#"{"Item":{"customer":{"S":"beta"},"lines":{"L":[{"M":{"product":{"S":"pear"},"qty":{"N":"1"}}}]},"pk":{"S":"O#4"},"sk":{"S":"cat"}}}"#,
        ]
    );
    let report = report_of(whole.path());
    let account = |table: &str| {
        let tables = report["tables"].as_array().unwrap();
        let account = tables.iter().find(|a| a["table"] == table).unwrap();
        let figures = ["in_items", "dropped", "unreferenced"].map(|k| account[k].clone());
        serde_json::json!(figures)
    };
    // Order 2 fails the condition and order 3 the join; line 2 finds no product, lines 3 and
    // 6 are orders 2 and 3's, and line 5 names no order. (Windows read line 6, the customer
    // lookup left out of the lines' query, but no item reaches it.)
    assert_eq!(
        account("o"),
        serde_json::json!([2, [["ORDER where", 1], ["ORDER join", 1]], 0])
    );
    assert_eq!(
        account("line"),
        serde_json::json!([2, [["ORDER.lines join", 1]], 3])
    );
    assert_eq!(account("cust"), serde_json::json!([2, [], 1]));
    windows_give_the_plan_in(spec, &url, &lines, whole.path());
}

#[tokio::test]
async fn windows_read_only_the_columns_the_spec_reads_and_ties_fall_to_the_primary_key() {
    // The members of team 1 tie on rank. Their labels, which no item reads, are in the
    // reverse of their ids and come first in the table: windows do not select them, and both
    // plans break the tie by the primary key, so each lists members 1, 2, 3.
    let schema = "CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE member (label TEXT, id INTEGER PRIMARY KEY, team_id INTEGER, rank INTEGER);";
    let items = r#"[[items]]
type = "TEAM"
from = "team"
[items.keys]
pk = "T#{id}"
sk = "{name}"
[items.attributes]
members = { list = "member", on = { team_id = "id" }, order = ["rank"], item = { column = "member.id" } }
"#;
    let files = [
        ("team.csv", "id,name\n1,red\n2,blue\n3,green\n"),
        (
            "member.csv",
            "label,id,team_id,rank\nc,1,1,5\nb,2,1,5\na,3,1,5\nz,4,2,1\ny,5,2,0\nx,6,3,0\n",
        ),
    ];
    let (dir, url) = loaded_design("window_columns", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    assert_eq!(
        lines,
        [
            r#"{"Item":{"members":{"L":[{"N":"1"},{"N":"2"},{"N":"3"}]},"pk":{"S":"T#1"},"sk":{"S":"red"}}}"#,
            r#"{"Item":{"members":{"L":[{"N":"5"},{"N":"4"}]},"pk":{"S":"T#2"},"sk":{"S":"blue"}}}"#,
            r#"{"Item":{"members":{"L":[{"N":"6"}]},"pk":{"S":"T#3"},"sk":{"S":"green"}}}"#,
        ]
    );
    windows_give_the_plan_in(spec, &url, &lines, whole.path());
}

#[tokio::test]
async fn windows_keep_rows_whose_composite_keys_would_read_alike_joined() {
    // Two members' primary keys hold the unit separator: joined by it, as windows once told
    // rows apart, both read "a\u{1f}b\u{1f}c", and a window kept one of them.
    let schema = "CREATE TABLE team (id INTEGER PRIMARY KEY);
CREATE TABLE member (first TEXT, second TEXT, team_id INTEGER, note TEXT, PRIMARY KEY (first, second));";
    let items = r#"[[items]]
type = "TEAM"
from = "team"
[items.keys]
pk = "T#{id}"
sk = "TEAM"
[items.attributes]
members = { list = "member", on = { team_id = "id" }, order = ["note"], item = { column = "member.note" } }
"#;
    let files = [
        ("team.csv", "id\n1\n2\n"),
        (
            "member.csv",
            "first,second,team_id,note\na\u{1f}b,c,1,one\na,b\u{1f}c,1,two\nd,e,2,three\n",
        ),
    ];
    let (dir, url) = loaded_design("window_composite_keys", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    assert_eq!(
        lines,
        [
            r#"{"Item":{"members":{"L":[{"S":"one"},{"S":"two"}]},"pk":{"S":"T#1"},"sk":{"S":"TEAM"}}}"#,
            r#"{"Item":{"members":{"L":[{"S":"three"}]},"pk":{"S":"T#2"},"sk":{"S":"TEAM"}}}"#,
        ]
    );
    windows_give_the_plan_in(spec, &url, &lines, whole.path());
}

#[tokio::test]
async fn a_join_on_two_columns_finds_only_rows_equal_in_both() {
    // Joined by a unit separator, the two keys of pair 1 once read like those of both
    // members, "a\u{1f}b\u{1f}c", and the list held both.
    let schema = "CREATE TABLE pair (id INTEGER PRIMARY KEY, x TEXT, y TEXT);
CREATE TABLE member (id INTEGER PRIMARY KEY, first TEXT, second TEXT, note TEXT);";
    let items = r#"[[items]]
type = "PAIR"
from = "pair"
[items.keys]
pk = "P#{id}"
sk = "PAIR"
[items.attributes]
members = { list = "member", on = { first = "x", second = "y" }, order = ["note"], item = { column = "member.note" } }
"#;
    let files = [
        ("pair.csv", "id,x,y\n1,a,b\u{1f}c\n2,a\u{1f}b,c\n"),
        (
            "member.csv",
            "id,first,second,note\n1,a\u{1f}b,c,one\n2,a,b\u{1f}c,two\n",
        ),
    ];
    let (dir, url) = loaded_design("two_column_join", schema, items, &files).await;
    let spec = dir.path().to_str().unwrap();
    let whole = tempfile::tempdir().unwrap();
    let lines = plan(spec, &url, whole.path());
    assert_eq!(
        lines,
        [
            r#"{"Item":{"members":{"L":[{"S":"two"}]},"pk":{"S":"P#1"},"sk":{"S":"PAIR"}}}"#,
            r#"{"Item":{"members":{"L":[{"S":"one"}]},"pk":{"S":"P#2"},"sk":{"S":"PAIR"}}}"#,
        ]
    );
    windows_give_the_plan_in(spec, &url, &lines, whole.path());
}

#[tokio::test]
async fn ctrl_c_removes_the_temporary_files_and_exits_130() {
    let url = generated_database("interrupted", "0.02").await;
    let (tmp, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let items = out.path().join("items.jsonl");
    let child = crate::support::migrator_command(&[
        "plan",
        "--spec",
        "access-patterns/rootski",
        "--source",
        &url,
        "--window",
        "1",
        "--out",
        items.to_str().unwrap(),
    ])
    .env("TMPDIR", tmp.path())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // Interrupted once its runs and its unfinished file exist.
    let started = std::time::Instant::now();
    let partial = || {
        std::fs::read_dir(out.path()).unwrap().any(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.starts_with("items.jsonl.") && name.ends_with(".partial")
        })
    };
    while std::fs::read_dir(tmp.path()).unwrap().count() == 0 || !partial() {
        assert!(started.elapsed().as_secs() < 60, "the plan never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.ends_with("interrupted: temporary files removed\n"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let written: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn windows_need_a_postgres_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = migrator(&[
        "plan",
        "--spec",
        "access-patterns/rootski",
        "--source",
        "sql/rootski/sample",
        "--window",
        "100",
        "--out",
        dir.path().join("items.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(
        out.stderr,
        "error: --window plans from Postgres, but sql/rootski/sample is a folder of CSV files; plan it without --window\n"
    );
    assert_eq!(out.code, 2);
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

#[test]
fn the_report_gives_the_least_load_time_and_the_hot_keys() {
    // 150 items of 2 WCU on one partition key, 50 on keys of their own; every item also in a
    // keys-only index under one key.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL);",
    )
    .unwrap();
    let body = "x".repeat(1500);
    let rows: String = (1..=200)
        .map(|i| {
            let kind = if i <= 150 {
                "hot".to_string()
            } else {
                format!("k{i}")
            };
            format!("{i},{kind},{body}\n")
        })
        .collect();
    std::fs::write(
        dir.path().join("events.csv"),
        format!("id,kind,body\n{rows}"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("spec.toml"),
        r#"source = "schema.sql"
[table]
name = "t"
partition_key = "pk"
sort_key = "sk"
[[table.indexes]]
name = "byall"
partition_key = "gsi1pk"
sort_key = "gsi1sk"
projection = "keys"

[[items]]
type = "EVENT"
from = "events"
[items.keys]
pk = "KIND#{kind}"
sk = "E#{id}"
gsi1pk = "ALL"
gsi1sk = "E#{id}"
[items.attributes]
body = { column = "body" }
"#,
    )
    .unwrap();
    let report = dir.path().join("plan.json");
    let out = migrator(&[
        "plan",
        "--spec",
        dir.path().to_str().unwrap(),
        "--source",
        dir.path().to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tail: Vec<&str> = out.stderr.lines().skip(2).collect();
    assert_eq!(
        tail,
        [
            "at 4000 WCU/s the load takes at least 0.30 s, set by key KIND#hot of the table (300 WCU at 1000 WCU/s)",
            "at 40000 WCU/s the load takes at least 0.30 s, set by key KIND#hot of the table (300 WCU at 1000 WCU/s)",
            "warning: key KIND#hot of the table takes 75% of its writes (300 of 400 WCU, item types EVENT): at 1000 WCU/s per key value it alone takes 0.3 s, however much capacity the table has; spread it (a suffix on the key) if that matters",
            "warning: the index byall has only 1 distinct partition key value for 200 writes: at 1000 WCU/s per key value it takes at most 1000 WCU/s, less than the table quota of 40000",
            "warning: key ALL of the index byall takes 100% of its writes (200 of 200 WCU, item types EVENT): at 1000 WCU/s per key value it alone takes 0.2 s, however much capacity the table has; spread it (a suffix on the key) if that matters",
            "BatchWriteItem: 600 write units (table and indexes), $0.00 on demand, $0.00 provisioned and fully used, at least 0.3 s at 40,000 WCU/s",
            "ImportTable: 0.000 GB of DynamoDB JSON, $0.00, about 10 min (users' reports), a new table only",
            "both paths cost under $1 here; BatchWriteItem (`migrator migrate`) is done sooner (at least 0.3 s against about 10 min) and fills new and existing tables alike",
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let targets = &json["capacity"]["targets"];
    assert_eq!(targets[0]["wcu"], 400);
    assert_eq!(targets[0]["distinct_keys"], 51);
    assert_eq!(targets[1]["name"], "index byall");
    assert_eq!(targets[1]["writes"], 200);
    assert_eq!(targets[1]["hottest"][0]["key"], "ALL");
}

#[test]
fn the_report_prices_both_load_paths_from_the_plan_itself() {
    let dir = tempfile::tempdir().unwrap();
    plan_with(
        "access-patterns/rootski",
        "sql/rootski/sample",
        dir.path(),
        &["--price-per-import-gb", "1000"],
    );
    let report = report_of(dir.path());
    let paths = &report["paths"];
    let file = std::fs::metadata(dir.path().join("items.jsonl"))
        .unwrap()
        .len();
    assert_eq!(
        paths["import_bytes"], file,
        "ImportTable bills the file's bytes"
    );
    let units: u64 = report["capacity"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["wcu"].as_u64().unwrap())
        .sum();
    assert_eq!(paths["write_units"], units, "the table's and every index's");
    assert_eq!(paths["prices"]["per_import_gb"], 1000.0);
    let gb = file as f64 / (1024.0 * 1024.0 * 1024.0);
    assert!((paths["import_usd"].as_f64().unwrap() - 1000.0 * gb).abs() < 1e-9);
    assert!(
        paths["recommendation"]
            .as_str()
            .unwrap()
            .starts_with("both paths cost under $1 here; BatchWriteItem"),
        "{paths}"
    );
}
