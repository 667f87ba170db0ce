//! `workbench = "model.json"`: the table (name, keys, indexes, billing) and each item type's
//! table keys taken from a NoSQL Workbench model, as if the spec said them. Settings the model
//! holds may not be said again in `[table]`; the facet named as an item type gives its table
//! keys when the item type does not (see [`crate::spec::workbench`]).

use std::ops::Range;
use std::path::Path;

use toml::{Spanned, Value as Toml};

use super::{at, said_elsewhere, Lines, Located, RawIndex, RawSpec, RawTable};
use crate::spec::workbench::{alias_value, read_table, Attribute, ModelTable};

/// Fills `raw` from the Workbench model it names, if any; `dir` is the spec's folder.
pub(super) fn apply(raw: &mut RawSpec, dir: &Path, lines: &Lines) -> Located<()> {
    let Some(setting) = &raw.workbench else {
        return Ok(());
    };
    let line = lines.of(setting);
    let span = setting.span();
    let path = dir.join(setting.get_ref());
    let model = read_table(&path).map_err(|m| (line, m))?;

    let table = raw
        .table
        .get_or_insert_with(|| Spanned::new(span.clone(), RawTable::default()));
    let table = table.get_mut();
    let said = [
        ("name", table.name.as_ref().map(|v| lines.of(v))),
        (
            "partition_key",
            table.partition_key.as_ref().map(|v| lines.of(v)),
        ),
        ("sort_key", table.sort_key.as_ref().map(|v| lines.of(v))),
        (
            "indexes",
            table.indexes.first().map(|i| lines.of(&i.partition_key)),
        ),
        ("billing", table.billing.as_ref().map(|v| lines.of(v))),
        (
            "read_capacity",
            table.read_capacity.as_ref().map(|v| lines.of(v)),
        ),
        (
            "write_capacity",
            table.write_capacity.as_ref().map(|v| lines.of(v)),
        ),
    ];
    said_elsewhere(&said, &format!("Workbench model {}", setting.get_ref()))?;
    table.name = Some(at(&span, model.table_name.clone()));
    table.partition_key = Some(at(&span, key(&model.key_attributes.partition_key)));
    table.sort_key = model
        .key_attributes
        .sort_key
        .as_ref()
        .map(|k| at(&span, key(k)));
    for index in &model.global_secondary_indexes {
        let projection = match index.projection.projection_type.as_str() {
            "KEYS_ONLY" => Toml::String("keys".into()),
            "INCLUDE" => Toml::Array(
                index
                    .projection
                    .non_key_attributes
                    .iter()
                    .map(|a| Toml::String(a.clone()))
                    .collect(),
            ),
            _ => Toml::String("all".into()),
        };
        table.indexes.push(RawIndex {
            name: index.index_name.clone(),
            partition_key: at(&span, key(&index.key_attributes.partition_key)),
            sort_key: index
                .key_attributes
                .sort_key
                .as_ref()
                .map(|k| at(&span, key(k))),
            projection: Some(at(&span, projection)),
        });
    }
    billing(&model, table, &span).map_err(|m| (line, m))?;

    let table_keys: Vec<String> = [
        Some(&model.key_attributes.partition_key),
        model.key_attributes.sort_key.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|k| k.attribute_name.clone())
    .collect();
    for item in &mut raw.items {
        let Some(facet) = model
            .table_facets
            .iter()
            .find(|f| &f.facet_name == item.name.get_ref())
        else {
            continue;
        };
        let aliases = [
            (
                "PartitionKeyAlias",
                Some(&facet.key_attribute_alias.partition_key_alias),
            ),
            (
                "SortKeyAlias",
                facet.key_attribute_alias.sort_key_alias.as_ref(),
            ),
        ];
        for (name, (field, alias)) in table_keys.iter().zip(aliases) {
            if item.keys.contains_key(name) {
                continue;
            }
            let Some(alias) = alias else { continue };
            let Some(value) = alias_value(alias) else {
                return Err((
                    lines.of(&item.name),
                    format!(
                        "item type {} gives no {name}, and the {field} of its facet in {} is \"{alias}\", a name to show rather than a key value (a template such as ROOM#{{room_id}}, or a TOML inline table such as {{ value = \"ROOM\" }}); write {name} under [items.keys] or in the model",
                        item.name.get_ref(),
                        setting.get_ref()
                    ),
                ));
            };
            item.keys
                .insert(name.clone(), Spanned::new(item.name.span(), value));
        }
    }
    Ok(())
}

/// A model's key attribute as a spec's key: `{ name, type }`.
fn key(attribute: &Attribute) -> Toml {
    let mut key = toml::Table::new();
    key.insert(
        "name".into(),
        Toml::String(attribute.attribute_name.clone()),
    );
    key.insert(
        "type".into(),
        Toml::String(attribute.attribute_type.clone()),
    );
    Toml::Table(key)
}

/// The model's billing mode as the spec's.
fn billing(model: &ModelTable, table: &mut RawTable, span: &Range<usize>) -> Result<(), String> {
    match model.billing_mode.as_deref() {
        None | Some("PAY_PER_REQUEST") => Ok(()),
        Some("PROVISIONED") => {
            let settings = model.provisioned_capacity_settings.as_ref().ok_or(
                "the Workbench model's table is PROVISIONED but has no ProvisionedCapacitySettings; add them or make it PAY_PER_REQUEST",
            )?;
            let throughput = &settings.provisioned_throughput;
            table.billing = Some(at(span, "provisioned".into()));
            table.read_capacity = Some(at(span, throughput.read_capacity_units));
            table.write_capacity = Some(at(span, throughput.write_capacity_units));
            Ok(())
        }
        Some(other) => Err(format!(
            "the Workbench model's BillingMode \"{other}\" is neither PAY_PER_REQUEST nor PROVISIONED"
        )),
    }
}
