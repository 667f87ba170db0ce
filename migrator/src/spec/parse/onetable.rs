//! `onetable = "schema.js"`: the table's keys and indexes, and each item type's keys and
//! attributes, as a OneTable schema (`format: 'onetable:1.1.0'`) says, as if the spec said them.
//! The spec names the table and, per item type (named as its model), which column gives each
//! field; the schema's `value` templates make the keys (`device#${deviceId}`), `params` say how
//! dates are written (`isoDates`: `toISOString()`, else epoch milliseconds), the type field
//! (`typeField`, `_type`) and `timestamps` (`created`, `updated`); a `ttl` field is written in
//! epoch seconds rounded up, as OneTable does; `required` and `enum` are checked on every row.

use std::path::Path;

use serde_json::Value as Json;
use toml::{Spanned, Value as Toml};

use super::{at, said_elsewhere, Lines, Located, RawIndex, RawItem, RawSpec};

/// Fills `raw` from the OneTable schema it names, if any; `dir` is the spec's folder.
pub(super) fn apply(raw: &mut RawSpec, dir: &Path, lines: &Lines) -> Located<()> {
    let Some(setting) = &raw.onetable else {
        return Ok(());
    };
    let line = lines.of(setting);
    let span = setting.span();
    let name = setting.get_ref().clone();
    let schema = read(&dir.join(&name)).map_err(|m| (line, m))?;
    let params = &schema["params"];
    let type_field = params["typeField"].as_str().unwrap_or("_type").to_string();
    let iso_dates = params["isoDates"].as_bool().unwrap_or(false);
    let timestamps = match &params["timestamps"] {
        Json::Bool(true) => vec!["createdField", "updatedField"],
        Json::String(s) if s == "create" => vec!["createdField"],
        Json::String(s) if s == "update" => vec!["updatedField"],
        _ => Vec::new(),
    };
    let timestamp_fields: Vec<String> = timestamps
        .iter()
        .map(|p| {
            let default = if *p == "createdField" {
                "created"
            } else {
                "updated"
            };
            params[*p].as_str().unwrap_or(default).to_string()
        })
        .collect();

    let table = raw
        .table
        .as_mut()
        .ok_or((line, format!("a OneTable schema has no table name; name it in [table]: name = \"…\" (the schema {name} gives the rest)")))?;
    let table_line = lines.of(table);
    let table = table.get_mut();
    // Not every setting has a line of its own: each is named at the [table] line.
    let said = [
        ("partition_key", table.partition_key.is_some()),
        ("sort_key", table.sort_key.is_some()),
        ("indexes", !table.indexes.is_empty()),
        ("type_attribute", table.type_attribute.is_some()),
        ("ttl_attribute", table.ttl_attribute.is_some()),
        ("timestamp_format", table.timestamp_format.is_some()),
    ]
    .map(|(setting, said)| (setting, said.then_some(table_line)));
    said_elsewhere(&said, &format!("OneTable schema {name}"))?;
    let indexes = schema["indexes"]
        .as_object()
        .ok_or((line, format!("the OneTable schema {name} has no indexes")))?;
    let primary = &indexes.get("primary").ok_or((
        line,
        format!("the OneTable schema {name} has no primary index"),
    ))?;
    let key = |index: &Json, part: &str| {
        index[part]
            .as_str()
            .map(|k| at(&span, Toml::String(k.into())))
    };
    table.partition_key = key(primary, "hash");
    table.sort_key = key(primary, "sort");
    let mut key_names: Vec<String> = [primary["hash"].as_str(), primary["sort"].as_str()]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect();
    for (index_name, index) in indexes.iter().filter(|(n, _)| *n != "primary") {
        if index["type"].as_str() == Some("local") {
            return Err((line, format!("index {index_name} of {name} is a local secondary index, which a migration cannot create on its own; make it global or drop it")));
        }
        let projection = match &index["project"] {
            Json::String(p) if p == "keys" => Toml::String("keys".into()),
            Json::Array(names) => Toml::Array(
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(|n| Toml::String(n.into())))
                    .collect(),
            ),
            _ => Toml::String("all".into()),
        };
        let partition_key = key(index, "hash").ok_or((
            line,
            format!("index {index_name} of {name} has no hash key"),
        ))?;
        key_names.extend(
            [index["hash"].as_str(), index["sort"].as_str()]
                .into_iter()
                .flatten()
                .map(str::to_string),
        );
        table.indexes.push(RawIndex {
            name: index_name.clone(),
            partition_key,
            sort_key: key(index, "sort"),
            projection: Some(at(&span, projection)),
        });
    }
    table.type_attribute = Some(type_field.clone());
    let format = if iso_dates {
        "iso8601-millis"
    } else {
        "epoch-millis"
    };
    table.timestamp_format = Some(at(&span, format.to_string()));
    if table.nulls.is_none() {
        // OneTable leaves out the attributes an item has no value for.
        table.nulls = Some(at(&span, "omit".to_string()));
    }

    let models = schema["models"]
        .as_object()
        .ok_or((line, format!("the OneTable schema {name} has no models")))?;
    let mut ttl = None;
    for item in &mut raw.items {
        let model_name = item.name.get_ref().clone();
        let model = models.get(&model_name).and_then(Json::as_object).ok_or_else(|| {
            let names: Vec<&str> = models.keys().map(String::as_str).collect();
            (
                lines.of(&item.name),
                format!("item type {model_name} is not a model of the OneTable schema {name} (it has: {}); name each item type as its model", names.join(", ")),
            )
        })?;
        let model = Model {
            name: &model_name,
            fields: model,
            type_field: &type_field,
            timestamp_fields: &timestamp_fields,
            key_names: &key_names,
            schema: &name,
        };
        if let Some(field) = model.fill(item, lines)? {
            if ttl.as_ref().is_some_and(|t| *t != field) {
                return Err((line, format!("models of {name} have two ttl fields ({} and {field}); DynamoDB has one TTL attribute per table", ttl.unwrap_or_default())));
            }
            ttl = Some(field);
        }
    }
    if let Some(table) = raw.table.as_mut() {
        table.get_mut().ttl_attribute = ttl;
    }
    Ok(())
}

/// One model of the schema, as it fills the item type of its name.
struct Model<'m> {
    name: &'m str,
    fields: &'m serde_json::Map<String, Json>,
    type_field: &'m str,
    timestamp_fields: &'m [String],
    key_names: &'m [String],
    schema: &'m str,
}

impl Model<'_> {
    /// Makes `item`'s keys and attributes the model's fields; returns its ttl field, if any.
    fn fill(&self, item: &mut RawItem, lines: &Lines) -> Located<Option<String>> {
        let line = lines.of(&item.name);
        let span = item.name.span();
        let err = |message: String| (line, message);
        if let Some(key) = item.keys.keys().next() {
            return Err(err(format!(
                "item type {} gives its key {key}, which the OneTable schema {} makes from the model's value templates; map the fields under [items.attributes] instead",
                self.name, self.schema
            )));
        }
        for mapped in item.attributes.keys() {
            if !self.fields.contains_key(mapped) && !self.timestamp_fields.contains(mapped) {
                let names: Vec<&str> = self.fields.keys().map(String::as_str).collect();
                return Err((
                    lines.of(&item.attributes[mapped]),
                    format!(
                        "{mapped} is not a field of model {} (it has: {}); map only the model's fields",
                        self.name,
                        names.join(", ")
                    ),
                ));
            }
        }
        for field in self.timestamp_fields {
            if !item.attributes.contains_key(field) {
                return Err(err(format!(
                    "model {}: params.timestamps of {} writes {field} on every item; map it to a column: {field} = {{ column = \"…\" }}",
                    self.name, self.schema
                )));
            }
        }
        let mut ttl = None;
        for (field, definition) in self.fields {
            let template = definition["value"].as_str();
            if let Some(template) = template {
                let value = self.template(template, item).map_err(err)?;
                let target = if self.key_names.contains(field) {
                    &mut item.keys
                } else {
                    &mut item.attributes
                };
                target.insert(
                    field.clone(),
                    Spanned::new(span.clone(), Toml::String(value)),
                );
                continue;
            }
            let Some(mapped) = item.attributes.get_mut(field) else {
                if definition["required"].as_bool() == Some(true)
                    || definition.get("generate").is_some()
                {
                    let how = if definition.get("generate").is_some() {
                        "{created_at:ulid} (a ULID made from a time column and the row)"
                    } else {
                        "{ column = \"…\" }"
                    };
                    return Err(err(format!(
                        "model {}'s field {field} is {}; map it under [items.attributes]: {field} = {how}",
                        self.name,
                        if definition.get("generate").is_some() { "generated by OneTable" } else { "required" }
                    )));
                }
                continue;
            };
            let Toml::Table(options) = mapped.get_mut() else {
                continue;
            };
            if !options.contains_key("column") {
                continue;
            }
            match definition["type"].as_str() {
                Some("string") => {
                    options
                        .entry("cast")
                        .or_insert(Toml::String("string".into()));
                }
                Some("number") => {
                    options
                        .entry("cast")
                        .or_insert(Toml::String("number".into()));
                }
                _ => {}
            }
            if definition["ttl"].as_bool() == Some(true) {
                options.insert("format".into(), Toml::String("epoch-seconds-ceil".into()));
                ttl = Some(field.clone());
            }
            if definition["required"].as_bool() == Some(true) {
                options.insert("required".into(), Toml::Boolean(true));
            }
            if let Some(Json::Array(allowed)) = definition.get("enum") {
                let allowed = allowed
                    .iter()
                    .filter_map(|v| v.as_str().map(|v| Toml::String(v.into())))
                    .collect();
                options.insert("enum".into(), Toml::Array(allowed));
            }
        }
        Ok(ttl)
    }

    /// A `value` template (`device#${deviceId}`) as the spec's template, each field replaced by
    /// what the item maps it to.
    fn template(&self, template: &str, item: &RawItem) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out += &rest[..start].replace('{', "{{").replace('}', "}}");
            let end = rest[start..].find('}').ok_or(format!(
                "model {}: template \"{template}\" opens ${{ without closing it",
                self.name
            ))?;
            let field = &rest[start + 2..start + end];
            if field.contains(':') {
                return Err(format!("model {}: template \"{template}\" pads {field}, which this migrator does not write yet; drop the padding or write the key in a spec without the schema", self.name));
            }
            if field == self.type_field {
                out += &self.name.replace('{', "{{").replace('}', "}}");
            } else {
                out += &match item.attributes.get(field).map(Spanned::get_ref) {
                    Some(Toml::String(text)) => text.clone(),
                    Some(Toml::Table(t)) if t.get("column").and_then(Toml::as_str).is_some() => {
                        format!("{{{}}}", t["column"].as_str().unwrap_or_default())
                    }
                    _ => {
                        return Err(format!(
                            "model {}: template \"{template}\" reads field {field}; map {field} to a column ({{ column = \"…\" }}) or a template under [items.attributes]",
                            self.name
                        ))
                    }
                };
            }
            rest = &rest[start + end + 1..];
        }
        out += &rest.replace('{', "{{").replace('}', "}}");
        Ok(out)
    }
}

/// Reads a OneTable schema: JSON, or a JavaScript object literal (`const Schema = {…}`,
/// `export default {…}`; comments, single quotes, bare keys and trailing commas allowed).
fn read(path: &Path) -> Result<Json, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the OneTable schema {}: {e}", path.display()))?;
    let literal = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => &text[start..=end],
        _ => {
            return Err(format!(
                "{} holds no schema object ({{ … }})",
                path.display()
            ))
        }
    };
    let schema: Json = jsonc_parser::parse_to_serde_value(literal, &Default::default())
        .map_err(|e| format!("{} is not a OneTable schema: {e}", path.display()))?;
    match schema["format"].as_str() {
        Some(format) if format.starts_with("onetable:1.") => Ok(schema),
        other => Err(format!(
            "{} says format {}, but a OneTable schema says format: 'onetable:1.1.0'",
            path.display(),
            other.unwrap_or("nothing")
        )),
    }
}
