//! Every supported column type reads the same from Postgres and from CSV, exactly.

use migrator::source::Value;

use crate::support::{all_rows, loaded_database_of, open};

const SCHEMA: &str = r#"
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE everything (
    id BIGINT PRIMARY KEY,
    amount NUMERIC(38, 0),
    ratio DOUBLE PRECISION,
    tags TEXT[],
    doc JSONB,
    payload BYTEA,
    seen_at TIMESTAMPTZ,
    seen_on DATE,
    moods mood[],
    flag BOOLEAN,
    note TEXT
);
"#;

const ROWS: &str = r#"id,amount,ratio,tags,doc,payload,seen_at,seen_on,moods,flag,note
1,12345678901234567890123456789012345678,0.1,"{a,""b c"",NULL}","{""k"": [1, 2.50], ""a"": null}",\x01ff,2022-02-15 05:45:18.5+02,2022-02-15,"{happy,sad}",t,"tab	and
newline"
2,,,,,,,,,,
"#;

#[tokio::test]
async fn all_types_agree_between_postgres_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.sql"), SCHEMA).unwrap();
    std::fs::write(dir.path().join("everything.csv"), ROWS).unwrap();
    let url = loaded_database_of("types", dir.path(), dir.path()).await;
    let postgres = open(&url, 1).await;
    let csv = open(dir.path().to_str().unwrap(), 1).await;
    assert_eq!(
        crate::support::without_namespaces(postgres.schema()),
        csv.schema().clone()
    );
    let mut from_pg = all_rows(&postgres, "everything").await;
    let mut from_csv = all_rows(&csv, "everything").await;
    from_pg.sort_by_key(|r| format!("{:?}", r[0]));
    from_csv.sort_by_key(|r| format!("{:?}", r[0]));
    assert_eq!(from_pg, from_csv);
    let full = &from_pg[0];
    assert_eq!(full[0], Value::Int(1));
    assert_eq!(
        full[1],
        Value::Numeric("12345678901234567890123456789012345678".into())
    );
    assert_eq!(full[2], Value::Numeric("0.1".into()));
    assert_eq!(
        full[3],
        Value::Array(
            vec![
                Value::Text("a".into()),
                Value::Text("b c".into()),
                Value::Null
            ]
            .into()
        )
    );
    let Value::Json(doc) = &full[4] else {
        panic!("doc is not JSON: {:?}", full[4])
    };
    assert_eq!(doc.to_string(), r#"{"a":null,"k":[1,2.50]}"#);
    assert_eq!(full[5], Value::Bytes(vec![0x01, 0xff].into()));
    let Value::TimestampTz(at) = &full[6] else {
        panic!("seen_at is not a timestamptz: {:?}", full[6])
    };
    assert_eq!(at.to_rfc3339(), "2022-02-15T03:45:18.500+00:00");
    assert_eq!(full[7].clone(), Value::Date("2022-02-15".parse().unwrap()));
    assert_eq!(
        full[8],
        Value::Array(vec![Value::Enum("happy".into()), Value::Enum("sad".into())].into())
    );
    assert_eq!(full[9], Value::Bool(true));
    assert_eq!(full[10], Value::Text("tab\tand\nnewline".into()));
    assert!(from_pg[1][1..].iter().all(|v| *v == Value::Null));
}
