//! NoSQL Workbench's data model JSON (`"Version": "3.0"`, as Workbench exports it): one table
//! with its keys, indexes, billing and attributes, and one facet per item type whose key
//! aliases name how that type's keys are made. `migrator export workbench` writes one; a spec
//! may take its table and its item types' table keys from one (`workbench = "model.json"`).
//!
//! A facet's key alias is taken as the key's spec value when it is one: a template with a field
//! (`THREADEV#{participant_id}#{item_id}`) or a TOML inline table (`{ value = "ROOM" }`,
//! `{ column = "created_at", format = "epoch-millis" }`); a plain display name (`VIN`) is not.

use serde::{Deserialize, Serialize};

/// A Workbench data model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Model {
    pub model_name: String,
    pub model_metadata: Metadata,
    pub data_model: Vec<ModelTable>,
}

/// Who made the model and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub date_created: String,
    #[serde(default)]
    pub date_last_modified: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "AWSService", default)]
    pub aws_service: String,
    #[serde(default)]
    pub version: String,
}

/// One table of a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelTable {
    pub table_name: String,
    pub key_attributes: KeyAttributes,
    #[serde(default)]
    pub non_key_attributes: Vec<Attribute>,
    #[serde(default)]
    pub table_facets: Vec<Facet>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Index>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table_data: Vec<serde_json::Value>,
    #[serde(default)]
    pub data_access: serde_json::Value,
    #[serde(default)]
    pub billing_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_capacity_settings: Option<ProvisionedSettings>,
}

/// A table's or an index's key attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyAttributes {
    pub partition_key: Attribute,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<Attribute>,
}

/// An attribute's name and DynamoDB type (`S`, `N`, `B`, `BOOL`, `M`, `L`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub attribute_name: String,
    pub attribute_type: String,
}

/// One item type of the table as Workbench shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Facet {
    pub facet_name: String,
    pub key_attribute_alias: KeyAlias,
    #[serde(default)]
    pub table_data: Vec<serde_json::Value>,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
    #[serde(default)]
    pub data_access: serde_json::Value,
}

/// What a facet calls the table's keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyAlias {
    pub partition_key_alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key_alias: Option<String>,
}

/// A global secondary index.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Index {
    pub index_name: String,
    pub key_attributes: KeyAttributes,
    pub projection: IndexProjection,
}

/// Which attributes an index copies: `ALL`, `KEYS_ONLY` or `INCLUDE` with the names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexProjection {
    pub projection_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
}

/// A provisioned table's capacity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedSettings {
    pub provisioned_throughput: Throughput,
}

/// Read and write capacity units.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Throughput {
    pub read_capacity_units: u64,
    pub write_capacity_units: u64,
}

/// Reads the model at `path` and the one table a spec fills from it.
pub fn read_table(path: &std::path::Path) -> Result<ModelTable, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the Workbench model {}: {e}", path.display()))?;
    let model: Model = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a NoSQL Workbench data model: {e}",
            path.display()
        )
    })?;
    let count = model.data_model.len();
    let mut tables = model.data_model.into_iter();
    match (tables.next(), count) {
        (Some(table), 1) => Ok(table),
        _ => Err(format!(
            "the Workbench model {} holds {count} tables; a spec fills one, so keep one table in the model",
            path.display()
        )),
    }
}

/// A key alias as a spec value: a template with a field, or a TOML inline table; `None` for a
/// display name.
pub fn alias_value(alias: &str) -> Option<toml::Value> {
    if let Ok(table) = toml::from_str::<toml::Table>(&format!("v = {alias}")) {
        if let Some(value @ toml::Value::Table(_)) = table.get("v") {
            return Some(value.clone());
        }
    }
    let template = crate::spec::Template::parse(alias).ok()?;
    template
        .pieces
        .iter()
        .any(|p| matches!(p, crate::spec::Piece::Field { .. }))
        .then(|| toml::Value::String(alias.to_string()))
}

/// A spec value as a key alias: a template as it is, anything else (a constant, a column) as a
/// TOML inline table.
pub fn value_alias(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) if alias_value(text).is_some() => text.clone(),
        toml::Value::String(text) => {
            let mut table = toml::Table::new();
            table.insert("value".into(), toml::Value::String(text.clone()));
            toml::Value::Table(table).to_string()
        }
        // TOML on one line: a table as an inline table.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_templates_or_inline_tables() {
        let column: toml::Value = toml::from_str::<toml::Table>(
            "v = { column = \"created_at\", format = \"epoch-millis\" }",
        )
        .unwrap()["v"]
            .clone();
        let alias = value_alias(&column);
        assert_eq!(
            alias,
            "{ column = \"created_at\", format = \"epoch-millis\" }"
        );
        assert_eq!(alias_value(&alias), Some(column));
        let constant = toml::Value::String("ROOM".into());
        assert_eq!(value_alias(&constant), "{ value = \"ROOM\" }");
        assert_eq!(
            value_alias(&toml::Value::String("USER#{user_id}".into())),
            "USER#{user_id}"
        );
        assert_eq!(
            alias_value("{user_id}"),
            Some(toml::Value::String("{user_id}".into()))
        );
        assert_eq!(alias_value("VIN"), None);
        assert_eq!(alias_value("PK"), None);
    }
}
