//! The one DynamoDB JSON writer: attribute values as `{"S":"…"}`, `{"M":{…}}` and so on,
//! names in order and strings escaped the one way, so equal items are equal lines.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;

use super::value::number_size;
use super::AttrValue;

impl AttrValue {
    /// Appends the DynamoDB JSON form (`{"S":"…"}`, `{"M":{…}}`, …) to `out`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            AttrValue::S(s) => {
                write_string_value(out, s);
            }
            AttrValue::N(n) => {
                write_number_value(out, n.as_str());
            }
            AttrValue::B(b) => {
                out.push_str("{\"B\":\"");
                out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
                out.push_str("\"}");
            }
            AttrValue::Bool(b) => {
                let _ = write!(out, "{{\"BOOL\":{b}}}");
            }
            AttrValue::Null => out.push_str("{\"NULL\":true}"),
            AttrValue::L(items) => {
                out.push_str("{\"L\":[");
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push_str("]}");
            }
            AttrValue::M(map) => {
                out.push_str("{\"M\":");
                write_json_map(out, map);
                out.push('}');
            }
            AttrValue::Ss(set) => {
                out.push_str("{\"SS\":[");
                for (i, s) in set.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(out, s);
                }
                out.push_str("]}");
            }
            AttrValue::Ns(set) => {
                out.push_str("{\"NS\":[");
                for (i, n) in set.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "\"{n}\"");
                }
                out.push_str("]}");
            }
        }
    }
}

/// Appends `{"S":"…"}` for `s`; returns the size DynamoDB counts for it.
pub fn write_string_value(out: &mut String, s: &str) -> usize {
    out.push_str("{\"S\":");
    write_json_string(out, s);
    out.push('}');
    s.len()
}

/// Appends `{"N":"…"}` for a number's canonical text (as [`Number`] holds it, or an integer's
/// digits); returns the size DynamoDB counts for it.
pub fn write_number_value(out: &mut String, text: &str) -> usize {
    out.push_str("{\"N\":\"");
    out.push_str(text);
    out.push_str("\"}");
    number_size(text)
}

/// Appends `{"name":value,…}` for a map of attributes, names in order.
pub fn write_json_map(out: &mut String, map: &BTreeMap<String, AttrValue>) {
    out.push('{');
    for (i, (name, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, name);
        out.push(':');
        value.write_json(out);
    }
    out.push('}');
}

/// An attribute name with its JSON form, `"name":`, escaped once: what a map writes before each
/// of its values for every item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name {
    text: String,
    json: Box<str>,
}

impl Name {
    pub fn new(text: String) -> Self {
        let json = json_name(&text).into_boxed_str();
        Name { text, json }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `"name":`, escaped as [`write_json_string`] escapes.
    pub fn json(&self) -> &str {
        &self.json
    }
}

/// `"name":` for attribute name `name`, escaped as [`write_json_string`] escapes.
pub fn json_name(name: &str) -> String {
    let mut json = String::with_capacity(name.len() + 3);
    write_json_string(&mut json, name);
    json.push(':');
    json
}

/// Appends `s` as a JSON string, escaped the one way every line of ours is (as serde_json
/// escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control characters as `\u00xx`).
pub fn write_json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    // `bytes[start..i]` needs no escape and is not copied yet.
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        // Eight bytes at a time while none needs an escape: most text has none. The last few
        // bytes are checked as one word too: the string's last eight (bytes before `i` need no
        // escape or were escaped, and the bytes from `i` on are then gone through one by one),
        // or of a shorter string a word made of them (see [`short_word`]).
        let word = match bytes.get(i..i + 8) {
            Some(word) => u64::from_le_bytes(word.try_into().expect("8 bytes")),
            None => match bytes.len().checked_sub(8) {
                Some(last) => u64::from_le_bytes(bytes[last..].try_into().expect("8 bytes")),
                None => short_word(&bytes[i..]),
            },
        };
        if !needs_escape(word) {
            i = (i + 8).min(bytes.len());
            continue;
        }
        let b = bytes[i];
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => {
                i += 1;
                continue;
            }
        };
        // Bytes below 0x80 are whole characters, so `i` is a character boundary.
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A word that needs an escape exactly when one of `bytes` (one to seven of them) does: their
/// first and last four (which may overlap), or of fewer than four the first, middle and last,
/// with spaces (which need none) in the bytes left over; no copy through memory.
fn short_word(bytes: &[u8]) -> u64 {
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let n = bytes.len();
    if n >= 4 {
        let four = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        u64::from(four(0)) | u64::from(four(n - 4)) << 32
    } else {
        let [first, middle, last] = [bytes[0], bytes[n / 2], bytes[n - 1]].map(u64::from);
        SPACES << 24 | first | middle << 8 | last << 16
    }
}

/// Whether any of the eight bytes in `word` is a control character, `"` or `\`.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below `n` (n <= 128) sets its high bit here; a zero byte is one below 1.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * n as u64) & !w & HIGH;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * b'"' as u64), 1);
    let backslash = below(word ^ (ONES * b'\\' as u64), 1);
    control | quote | backslash != 0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::item::{AttrValue, Number};

    #[test]
    fn json_is_ordered_and_escaped() {
        let mut attributes = BTreeMap::new();
        attributes.insert("sk".to_string(), AttrValue::S("a\"b\nc".into()));
        attributes.insert("pk".to_string(), AttrValue::S("WORD#7".into()));
        attributes.insert(
            "list".to_string(),
            AttrValue::L(vec![
                AttrValue::N(Number::from(7)),
                AttrValue::Null,
                AttrValue::Bool(true),
                AttrValue::B(vec![1, 2, 3, 4]),
            ]),
        );
        let mut line = String::new();
        write_json_map(&mut line, &attributes);
        assert_eq!(
            line,
            r#"{"list":{"L":[{"N":"7"},{"NULL":true},{"BOOL":true},{"B":"AQIDBA=="}]},"pk":{"S":"WORD#7"},"sk":{"S":"a\"b\nc"}}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "plain text longer than eight bytes",
            "быть или не быть",
            &every_ascii,
            "a\"b\\c\n",
            "eight bytes then a quote: 12345678\"",
            "\u{1f}\u{7f}é\t",
            "ab\"",
            "12345678\n",
            "1234567\u{0}",
        ] {
            let mut out = String::new();
            write_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn a_name_is_written_once_as_json_escaped() {
        let name = Name::new("say \"hi\"".to_string());
        assert_eq!(name.as_str(), "say \"hi\"");
        assert_eq!(name.json(), r#""say \"hi\"":"#);
    }

    #[test]
    fn one_or_two_escapes_are_found_at_every_place_of_short_and_long_strings() {
        for len in 1..=20 {
            for at in 0..len {
                for special in ["\"", "\\", "\n", "\u{1}", "é"] {
                    for second in [None, Some(len - 1), Some(len / 2)] {
                        let mut chars = vec!["a"; len];
                        chars[at] = special;
                        if let Some(second) = second {
                            chars[second] = "\t";
                        }
                        let s = chars.concat();
                        let mut out = String::new();
                        write_json_string(&mut out, &s);
                        assert_eq!(out, serde_json::to_string(&s).unwrap(), "{s:?}");
                    }
                }
            }
        }
    }
}
