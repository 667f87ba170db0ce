//! A spec and its plan as a NoSQL Workbench data model (`export workbench`): the table, its
//! indexes and billing, every attribute with the type the plan's items give it, and one facet
//! per item type with its key aliases (the spec's key values, so the model can be read back as
//! a spec's table: [`crate::spec::workbench`]), its attributes and its first items.

use std::collections::BTreeMap;

use crate::spec::workbench::{
    Attribute, Facet, IndexProjection, KeyAlias, KeyAttributes, Metadata, Model, ModelTable,
    ProvisionedSettings, Throughput,
};
use crate::spec::{Billing, ItemTypeId, KeyAttr, KeyType, Projection, Spec};
use crate::transform::{Planned, ReadBack};

/// The model of `spec` over `plan`, with up to `samples` items per facet.
///
/// # Errors
/// A plan kept on disk that cannot be read back.
pub fn workbench_model(spec: &Spec, plan: &dyn Planned, samples: usize) -> Result<Model, ReadBack> {
    let table = &spec.table;
    let key_names: Vec<&str> = [Some(&table.partition_key), table.sort_key.as_ref()]
        .into_iter()
        .flatten()
        .map(|k| k.name.as_str())
        .collect();
    // How often each attribute has each type, over every item.
    let mut seen: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for round in plan.rounds() {
        for line in round? {
            for (name, ty) in attribute_types(&line.json) {
                *seen.entry(name).or_default().entry(ty).or_default() += 1;
            }
        }
    }
    let mut facets = Vec::new();
    for (t, item) in spec.items.iter().enumerate() {
        let alias = |name: &str| {
            item.key_aliases
                .iter()
                .find(|(n, _)| n == name)
                .map_or_else(|| name.to_string(), |(_, a)| a.clone())
        };
        let mut names: Vec<String> = item
            .keys
            .iter()
            .chain(&item.attributes)
            .map(|(name, _)| name.clone())
            .chain(table.type_attribute.clone())
            .filter(|name| !key_names.contains(&name.as_str()))
            .collect();
        names.sort();
        names.dedup();
        for name in &names {
            seen.entry(name.clone()).or_default();
        }
        let count = plan.types()[t].len().min(samples);
        let table_data = plan
            .lines(ItemTypeId(t), 0..count)?
            .iter()
            .filter_map(|line| {
                let mut item: serde_json::Value = serde_json::from_str(&line.json).ok()?;
                Some(item.get_mut("Item")?.take())
            })
            .collect();
        facets.push(Facet {
            facet_name: item.name.clone(),
            key_attribute_alias: KeyAlias {
                partition_key_alias: alias(&table.partition_key.name),
                sort_key_alias: table.sort_key.as_ref().map(|k| alias(&k.name)),
            },
            table_data,
            non_key_attributes: names,
            data_access: serde_json::json!({ "MySql": {} }),
        });
    }
    let non_key_attributes = seen
        .into_iter()
        .filter(|(name, _)| !key_names.contains(&name.as_str()))
        .map(|(name, types)| Attribute {
            attribute_name: name,
            attribute_type: most_frequent(&types),
        })
        .collect();
    let indexes = table
        .indexes
        .iter()
        .map(|index| crate::spec::workbench::Index {
            index_name: index.name.clone(),
            key_attributes: key_attributes(&index.partition_key, index.sort_key.as_ref()),
            projection: match &index.projection {
                Projection::All => projection("ALL", Vec::new()),
                Projection::KeysOnly => projection("KEYS_ONLY", Vec::new()),
                Projection::Include(names) => projection("INCLUDE", names.clone()),
            },
        })
        .collect();
    let (billing_mode, provisioned_capacity_settings) = match table.billing {
        Billing::OnDemand => ("PAY_PER_REQUEST", None),
        Billing::Provisioned { read, write } => (
            "PROVISIONED",
            Some(ProvisionedSettings {
                provisioned_throughput: Throughput {
                    read_capacity_units: read,
                    write_capacity_units: write,
                },
            }),
        ),
    };
    let date = spec.as_of.format("%b %d, %Y, %I:%M %p").to_string();
    Ok(Model {
        model_name: table.name.clone(),
        model_metadata: Metadata {
            author: "migrator".into(),
            date_created: date.clone(),
            date_last_modified: date,
            description: format!(
                "Exported by migrator from the spec of table {}: one facet per item type, whose key aliases are the spec's key values",
                table.name
            ),
            aws_service: "Amazon DynamoDB".into(),
            version: "3.0".into(),
        },
        data_model: vec![ModelTable {
            table_name: table.name.clone(),
            key_attributes: key_attributes(&table.partition_key, table.sort_key.as_ref()),
            non_key_attributes,
            table_facets: facets,
            global_secondary_indexes: indexes,
            table_data: Vec::new(),
            data_access: serde_json::json!({ "MySql": {} }),
            billing_mode: Some(billing_mode.into()),
            provisioned_capacity_settings,
        }],
    })
}

/// The top-level attributes of an item line, each with its DynamoDB type.
fn attribute_types(json: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(mut line)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    let Some(serde_json::Value::Object(item)) = line.remove("Item") else {
        return Vec::new();
    };
    item.into_iter()
        .filter_map(|(name, value)| Some((name, value.as_object()?.keys().next()?.clone())))
        .collect()
}

/// The type an attribute has most often, NULL only when it has no other; `NULL` when it was
/// never seen (always absent).
fn most_frequent(types: &BTreeMap<String, u64>) -> String {
    types
        .iter()
        .filter(|(ty, _)| *ty != "NULL")
        .max_by_key(|(_, n)| **n)
        .map_or_else(|| "NULL".to_string(), |(ty, _)| ty.clone())
}

fn key_attributes(partition: &KeyAttr, sort: Option<&KeyAttr>) -> KeyAttributes {
    let attribute = |key: &KeyAttr| Attribute {
        attribute_name: key.name.clone(),
        attribute_type: match key.ty {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
        .into(),
    };
    KeyAttributes {
        partition_key: attribute(partition),
        sort_key: sort.map(attribute),
    }
}

fn projection(kind: &str, names: Vec<String>) -> IndexProjection {
    IndexProjection {
        projection_type: kind.into(),
        non_key_attributes: names,
    }
}
