//! The one conversion between our DynamoDB JSON lines and the SDK's `AttributeValue`, both ways.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};

use super::json::{write_json_string, write_string_value};
use base64::Engine as _;
use serde_json::Value as Json;

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
    let mut out = String::with_capacity(512);
    out.push_str("{\"Item\":");
    write_map(&mut out, item);
    out.push('}');
    out
}

/// Writes a map with its names in order, as the plan writes them.
fn write_map(out: &mut String, map: &HashMap<String, AttributeValue>) {
    let mut names: Vec<&String> = map.keys().collect();
    names.sort_unstable();
    out.push('{');
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, name);
        out.push(':');
        write_value(out, &map[name]);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &AttributeValue) {
    let base64 = |b: &Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    let strings = |out: &mut String, tag: &str, mut v: Vec<&str>| {
        v.sort_unstable();
        out.push_str(tag);
        for (i, s) in v.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(out, s);
        }
        out.push_str("]}");
    };
    match value {
        AttributeValue::S(s) => {
            write_string_value(out, s);
        }
        AttributeValue::N(n) => {
            out.push_str("{\"N\":");
            write_json_string(out, n);
            out.push('}');
        }
        AttributeValue::B(b) => {
            out.push_str("{\"B\":");
            write_json_string(out, &base64(b));
            out.push('}');
        }
        AttributeValue::Bool(b) => out.push_str(if *b {
            "{\"BOOL\":true}"
        } else {
            "{\"BOOL\":false}"
        }),
        AttributeValue::Null(_) => out.push_str("{\"NULL\":true}"),
        AttributeValue::L(items) => {
            out.push_str("{\"L\":[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push_str("]}");
        }
        AttributeValue::M(map) => {
            out.push_str("{\"M\":");
            write_map(out, map);
            out.push('}');
        }
        AttributeValue::Ss(v) => strings(out, "{\"SS\":[", v.iter().map(String::as_str).collect()),
        AttributeValue::Ns(v) => strings(out, "{\"NS\":[", v.iter().map(String::as_str).collect()),
        AttributeValue::Bs(v) => {
            let encoded: Vec<String> = v.iter().map(base64).collect();
            strings(
                out,
                "{\"BS\":[",
                encoded.iter().map(String::as_str).collect(),
            );
        }
        _ => out.push_str("null"),
    }
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
