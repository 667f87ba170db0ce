//! `export workbench` and `workbench = "model.json"`: a spec's table and keys written as a NoSQL
//! Workbench model and read back give the same plan, byte for byte.

use std::path::Path;

use crate::support::{migrator, plan_with, repo_root};

/// The spec of `design` with its table and its items' table keys left to `model.json`.
fn spec_reading_the_model(design: &str) -> String {
    let path = repo_root()
        .join("access-patterns")
        .join(design)
        .join("spec.toml");
    let mut spec: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let schema = repo_root().join("sql").join(design).join("schema.sql");
    spec.insert("source".into(), schema.to_str().unwrap().into());
    spec.insert("workbench".into(), "model.json".into());
    let table = spec["table"].as_table_mut().unwrap();
    let mut keys = Vec::new();
    for setting in ["partition_key", "sort_key"] {
        match table.get(setting) {
            Some(toml::Value::String(name)) => keys.push(name.clone()),
            Some(toml::Value::Table(key)) => keys.push(key["name"].as_str().unwrap().into()),
            _ => {}
        }
    }
    for setting in [
        "name",
        "partition_key",
        "sort_key",
        "indexes",
        "billing",
        "read_capacity",
        "write_capacity",
    ] {
        table.remove(setting);
    }
    for item in spec["items"].as_array_mut().unwrap() {
        let item_keys = item["keys"].as_table_mut().unwrap();
        for key in &keys {
            assert!(item_keys.remove(key).is_some(), "{design} items give {key}");
        }
    }
    toml::to_string(&spec).unwrap()
}

fn export(design: &str, dir: &Path, extra: &[&str]) {
    let spec = format!("access-patterns/{design}");
    let source = format!("sql/{design}/sample");
    let model = dir.join("model.json");
    let mut args = vec![
        "export",
        "workbench",
        "--spec",
        &spec,
        "--source",
        &source,
        "--out",
        model.to_str().unwrap(),
    ];
    args.extend(extra);
    let out = migrator(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn every_design_round_trips_through_a_workbench_model_to_the_same_plan() {
    for (design, extra) in [
        ("rootski", &[][..]),
        ("planning-poker", &[][..]),
        ("forum", &["--as-of", "2024-05-03T08:30:00Z"][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        for side in ["a", "b"] {
            std::fs::create_dir(dir.path().join(side)).unwrap();
        }
        export(design, dir.path(), extra);
        std::fs::write(dir.path().join("spec.toml"), spec_reading_the_model(design)).unwrap();
        let source = format!("sql/{design}/sample");
        let original = plan_with(
            &format!("access-patterns/{design}"),
            &source,
            &dir.path().join("a"),
            extra,
        );
        let from_model = plan_with(
            dir.path().to_str().unwrap(),
            &source,
            &dir.path().join("b"),
            extra,
        );
        assert!(!original.is_empty());
        assert_eq!(original, from_model, "{design}");
    }
}

#[test]
fn the_model_holds_the_table_its_facets_and_their_first_items() {
    let dir = tempfile::tempdir().unwrap();
    export("planning-poker", dir.path(), &["--samples", "1"]);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("model.json")).unwrap())
            .unwrap();
    assert_eq!(model["ModelMetadata"]["Version"], "3.0");
    assert_eq!(model["ModelMetadata"]["AWSService"], "Amazon DynamoDB");
    let table = &model["DataModel"][0];
    assert_eq!(table["TableName"], "planning-poker");
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["KeyAttributes"],
        serde_json::json!({
            "PartitionKey": { "AttributeName": "PK", "AttributeType": "S" },
            "SortKey": { "AttributeName": "SK", "AttributeType": "S" }
        })
    );
    let attributes: Vec<String> = table["NonKeyAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["AttributeName"].as_str().unwrap(),
                a["AttributeType"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        attributes,
        [
            "connectionId S",
            "createdOn S",
            "hostKey S",
            "isRevealed BOOL",
            "updatedOn S",
            "userId S",
            "username S",
            "validSizes S",
            "vote S"
        ]
    );
    assert_eq!(
        table["TableFacets"][0],
        serde_json::json!({
            "FacetName": "ROOM",
            "KeyAttributeAlias": { "PartitionKeyAlias": "ROOM:{room_id}", "SortKeyAlias": "{ value = \"ROOM\" }" },
            "TableData": [{
                "PK": { "S": "ROOM:r1" }, "SK": { "S": "ROOM" },
                "createdOn": { "S": "2023-03-01T09:00:00.000000Z" }, "hostKey": { "S": "hk-5f2a" },
                "isRevealed": { "BOOL": false }, "updatedOn": { "S": "2023-03-01T09:05:12.250000Z" },
                "validSizes": { "S": "1 2 3 5 8 13 20 ? ∞" }
            }],
            "NonKeyAttributes": ["createdOn", "hostKey", "isRevealed", "updatedOn", "validSizes"],
            "DataAccess": { "MySql": {} }
        })
    );
}

#[test]
fn a_model_whose_aliases_are_display_names_and_a_table_said_twice() {
    let dir = tempfile::tempdir().unwrap();
    export("planning-poker", dir.path(), &[]);
    let model_path = dir.path().join("model.json");
    let model = std::fs::read_to_string(&model_path).unwrap().replace(
        "\"PartitionKeyAlias\": \"ROOM:{room_id}\"",
        "\"PartitionKeyAlias\": \"RoomId\"",
    );
    std::fs::write(&model_path, model).unwrap();
    std::fs::write(
        dir.path().join("spec.toml"),
        spec_reading_the_model("planning-poker"),
    )
    .unwrap();
    let spec_dir = dir.path().to_str().unwrap();
    let plan = |spec_dir: &str| {
        migrator(&[
            "plan",
            "--spec",
            spec_dir,
            "--source",
            "sql/planning-poker/sample",
        ])
    };
    let out = plan(spec_dir);
    let line = |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap() + 1;
    let spec = std::fs::read_to_string(dir.path().join("spec.toml")).unwrap();
    assert_eq!(
        out.stderr,
        format!(
            "error: {spec_dir}/spec.toml:{}: item type ROOM gives no PK, and the PartitionKeyAlias of its facet in model.json is \"RoomId\", a name to show rather than a key value (a template such as ROOM#{{room_id}}, or a TOML inline table such as {{ value = \"ROOM\" }}); write PK under [items.keys] or in the model\n",
            line(&spec, "type = \"ROOM\"")
        )
    );
    assert_eq!(out.code, 2);
    std::fs::write(
        dir.path().join("spec.toml"),
        spec.replace("[table]\n", "[table]\nname = \"poker\"\n"),
    )
    .unwrap();
    let out = plan(spec_dir);
    let spec = std::fs::read_to_string(dir.path().join("spec.toml")).unwrap();
    assert_eq!(
        out.stderr,
        format!(
            "error: {}/spec.toml:{}: [table] says name, which comes from the Workbench model model.json; remove it from [table]\n",
            spec_dir,
            line(&spec, "name = \"poker\"")
        )
    );
    assert_eq!(out.code, 2);
}
