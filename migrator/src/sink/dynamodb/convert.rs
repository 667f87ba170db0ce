//! The one conversion between our DynamoDB JSON lines and the SDK's `AttributeValue`, both ways.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use base64::Engine as _;
use serde_json::{Map, Value as Json};

/// An item as the SDK takes it.
pub type SdkItem = HashMap<String, AttributeValue>;

/// Reads one `{"Item": {…}}` line into an SDK item.
///
/// # Errors
/// Says what part of the line is not DynamoDB JSON (the plan only writes valid lines).
pub fn line_to_item(line: &str) -> Result<SdkItem, String> {
    let json: Json = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let item = json
        .get("Item")
        .and_then(Json::as_object)
        .ok_or("a line is {\"Item\": {…}}")?;
    item.iter()
        .map(|(k, v)| Ok((k.clone(), attr(v)?)))
        .collect()
}

fn attr(value: &Json) -> Result<AttributeValue, String> {
    let object = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or("an attribute is {\"T\": value}")?;
    let (tag, inner) = object.iter().next().expect("one entry");
    let text = || {
        inner
            .as_str()
            .map(str::to_string)
            .ok_or(format!("{tag} holds a string"))
    };
    let strings = || -> Result<Vec<String>, String> {
        inner
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
            .ok_or(format!("{tag} holds a list of strings"))
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(text()?),
        "N" => AttributeValue::N(text()?),
        "B" => AttributeValue::B(Blob::new(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|e| e.to_string())?,
        )),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or("BOOL holds a boolean")?),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or("L holds a list")?
                .iter()
                .map(attr)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .ok_or("M holds a map")?
                .iter()
                .map(|(k, v)| Ok((k.clone(), attr(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        "SS" => AttributeValue::Ss(strings()?),
        "NS" => AttributeValue::Ns(strings()?),
        other => return Err(format!("unknown attribute type {other}")),
    })
}

/// Writes an SDK item as the `{"Item": {…}}` line `plan` writes for it (attributes in name
/// order, sets sorted), so items read back from a table compare equal to planned ones.
pub fn item_to_line(item: &SdkItem) -> String {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    let mut map = Map::new();
    for name in names {
        map.insert(name.clone(), json(&item[name]));
    }
    let mut outer = Map::new();
    outer.insert("Item".into(), Json::Object(map));
    Json::Object(outer).to_string()
}

/// A write request as the BatchWriteItem wire format has it: `{"PutRequest":{"Item":{…}}}` or
/// `{"DeleteRequest":{"Key":{…}}}`, attributes in canonical order.
pub fn request_json(request: &WriteRequest) -> String {
    if let Some(put) = request.put_request() {
        format!("{{\"PutRequest\":{}}}", item_to_line(put.item()))
    } else if let Some(delete) = request.delete_request() {
        let line = item_to_line(delete.key());
        let attributes = &line["{\"Item\":".len()..line.len() - 1];
        format!("{{\"DeleteRequest\":{{\"Key\":{attributes}}}}}")
    } else {
        String::from("{}")
    }
}

fn json(value: &AttributeValue) -> Json {
    let tagged = |tag: &str, inner: Json| {
        let mut m = Map::new();
        m.insert(tag.to_string(), inner);
        Json::Object(m)
    };
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        Json::Array(v.into_iter().map(Json::String).collect())
    };
    match value {
        AttributeValue::S(s) => tagged("S", Json::String(s.clone())),
        AttributeValue::N(n) => tagged("N", Json::String(n.clone())),
        AttributeValue::B(b) => tagged(
            "B",
            Json::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref())),
        ),
        AttributeValue::Bool(b) => tagged("BOOL", Json::Bool(*b)),
        AttributeValue::Null(_) => tagged("NULL", Json::Bool(true)),
        AttributeValue::L(items) => tagged("L", Json::Array(items.iter().map(json).collect())),
        AttributeValue::M(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            let mut out = Map::new();
            for name in names {
                out.insert(name.clone(), json(&map[name]));
            }
            tagged("M", Json::Object(out))
        }
        AttributeValue::Ss(v) => tagged("SS", sorted(v)),
        AttributeValue::Ns(v) => tagged("NS", sorted(v)),
        AttributeValue::Bs(v) => tagged(
            "BS",
            Json::Array(
                v.iter()
                    .map(|b| {
                        Json::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
                    })
                    .collect(),
            ),
        ),
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let line = r#"{"Item":{"a":{"L":[{"N":"7"},{"NULL":true},{"BOOL":false},{"B":"AQID"}]},"m":{"M":{"x":{"S":"быть"},"y":{"SS":["a","b"]}}},"pk":{"S":"WORD#7"}}}"#;
        let item = line_to_item(line).unwrap();
        assert_eq!(item_to_line(&item), line);
        assert!(line_to_item(r#"{"Item":{"a":{"Q":1}}}"#).is_err());
    }
}
