//! Typed source values and the one parser that turns a column's text form into them.
//!
//! Postgres (COPY text format) and CSV folders both hand over text, so both go through
//! [`parse_text`]: the same input gives the same value whichever source it came from.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::shape::ColumnType;

/// A text value: held inline up to 24 bytes, on the heap beyond.
pub type Text = compact_str::CompactString;

/// One typed value of a source row, in 24 bytes: a plan holds millions of them. Text of up to
/// 24 bytes (most of it) is held in the value itself, longer text and what else a value owns
/// exactly sized (boxed slices, JSON behind a box).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    /// Exact decimal text as the source wrote it (never through a float), or `NaN`/`Infinity`.
    Numeric(Box<str>),
    Text(Text),
    /// A label of a native enum type.
    Enum(Box<str>),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Date(NaiveDate),
    /// Parsed JSON; numbers keep their exact digits.
    Json(Box<serde_json::Value>),
    Bytes(Box<[u8]>),
    Array(Box<[Value]>),
}

/// Why a text could not be read as a column's type; the caller adds where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub expected: String,
    pub found: String,
}

impl ParseError {
    fn new(expected: impl Into<String>, found: &str) -> Self {
        const SHOWN: usize = 60;
        let found = if found.chars().count() > SHOWN {
            format!("{}…", found.chars().take(SHOWN).collect::<String>())
        } else {
            found.to_string()
        };
        ParseError {
            expected: expected.into(),
            found,
        }
    }
}

/// Like [`parse_text`], but moves `text` into the value where the type is text.
pub fn parse_owned(ty: &ColumnType, text: String) -> Result<Value, ParseError> {
    match ty {
        ColumnType::Text => Ok(Value::Text(text.into())),
        _ => parse_text(ty, &text),
    }
}

/// Reads `text`, the text form of one non-NULL value, as a value of type `ty`.
pub fn parse_text(ty: &ColumnType, text: &str) -> Result<Value, ParseError> {
    match ty {
        ColumnType::Int => text
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| ParseError::new("an integer", text)),
        ColumnType::Numeric => parse_numeric(text),
        ColumnType::Text => Ok(Value::Text(text.into())),
        ColumnType::Bool => match text {
            "t" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "f" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => Err(ParseError::new("a boolean (t, f, true or false)", text)),
        },
        ColumnType::Timestamp => parse_timestamp(text)
            .map(Value::Timestamp)
            .ok_or_else(|| ParseError::new("a timestamp like 2022-02-15 05:45:18.740114", text)),
        ColumnType::TimestampTz => DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
            .or_else(|_| DateTime::parse_from_rfc3339(text))
            .map(|t| Value::TimestampTz(t.with_timezone(&Utc)))
            .map_err(|_| {
                ParseError::new("a timestamp with zone like 2022-02-15 05:45:18.74+00", text)
            }),
        ColumnType::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Value::Date)
            .map_err(|_| ParseError::new("a date like 2022-02-15", text)),
        ColumnType::Json => serde_json::from_str(text)
            .map(|json| Value::Json(Box::new(json)))
            .map_err(|_| ParseError::new("a JSON document", text)),
        ColumnType::Bytes => parse_bytea(text)
            .map(|bytes| Value::Bytes(bytes.into()))
            .ok_or_else(|| ParseError::new("bytes in hex form like \\x01ff", text)),
        ColumnType::Enum { name, labels } => {
            if labels.iter().any(|l| l == text) {
                Ok(Value::Enum(text.into()))
            } else {
                Err(ParseError::new(
                    format!("one of the labels of {name} ({})", labels.join(", ")),
                    text,
                ))
            }
        }
        ColumnType::Array(elem) => {
            let mut parser = ArrayParser {
                text,
                rest: text,
                elem,
            };
            let value = parser.array()?;
            if parser.rest.is_empty() {
                Ok(value)
            } else {
                Err(parser.error())
            }
        }
    }
}

fn parse_timestamp(text: &str) -> Option<NaiveDateTime> {
    fast_timestamp(text.as_bytes()).or_else(|| slow_timestamp(text))
}

/// Reads the common `YYYY-MM-DD HH:MM:SS[.f…]` form without a format interpreter.
fn fast_timestamp(b: &[u8]) -> Option<NaiveDateTime> {
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let mut nanos = 0;
    if b.len() > 19 {
        let frac = b.get(20..)?;
        if b[19] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        nanos = num(20..b.len())? * 10u32.pow(9 - frac.len() as u32);
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)
}

fn slow_timestamp(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
}

fn parse_numeric(text: &str) -> Result<Value, ParseError> {
    if matches!(text, "NaN" | "Infinity" | "-Infinity") {
        return Ok(Value::Numeric(text.into()));
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if (int.len() + frac.len()) > 0 && digits(int) && digits(frac) && exponent_ok {
        Ok(Value::Numeric(text.into()))
    } else {
        Err(ParseError::new("a decimal number", text))
    }
}

fn parse_bytea(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads a Postgres array literal such as `{1,2,NULL}` or `{"a b","c\"d"}`.
struct ArrayParser<'a> {
    text: &'a str,
    rest: &'a str,
    elem: &'a ColumnType,
}

impl ArrayParser<'_> {
    fn error(&self) -> ParseError {
        ParseError::new(
            format!("an array literal of {} like {{a,b,NULL}}", self.elem),
            self.text,
        )
    }

    fn array(&mut self) -> Result<Value, ParseError> {
        self.rest = self.rest.strip_prefix('{').ok_or_else(|| self.error())?;
        let mut items = Vec::new();
        if let Some(rest) = self.rest.strip_prefix('}') {
            self.rest = rest;
            return Ok(Value::Array(items.into()));
        }
        loop {
            items.push(self.element()?);
            if let Some(rest) = self.rest.strip_prefix(',') {
                self.rest = rest;
            } else if let Some(rest) = self.rest.strip_prefix('}') {
                self.rest = rest;
                return Ok(Value::Array(items.into()));
            } else {
                return Err(self.error());
            }
        }
    }

    fn element(&mut self) -> Result<Value, ParseError> {
        if self.rest.starts_with('{') {
            return self.array();
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => out.push(chars.next().ok_or_else(|| self.error())?.1),
                    '"' => {
                        self.rest = &quoted[i + 1..];
                        return parse_text(self.elem, &out);
                    }
                    c => out.push(c),
                }
            }
            return Err(self.error());
        }
        let end = self.rest.find([',', '}']).ok_or_else(|| self.error())?;
        let raw = self.rest[..end].trim();
        self.rest = &self.rest[end..];
        if raw.eq_ignore_ascii_case("NULL") {
            Ok(Value::Null)
        } else if raw.is_empty() {
            Err(self.error())
        } else {
            parse_text(self.elem, raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn integers_and_their_errors() {
        assert_eq!(parse_text(&ColumnType::Int, "-42"), Ok(Value::Int(-42)));
        let err = parse_text(&ColumnType::Int, "4x").unwrap_err();
        assert_eq!(err.expected, "an integer");
        assert_eq!(err.found, "4x");
    }

    #[test]
    fn numerics_stay_exact() {
        let big = "123456789012345678901234567890.123456789";
        assert_eq!(
            parse_text(&ColumnType::Numeric, big),
            Ok(Value::Numeric(big.into()))
        );
        assert!(parse_text(&ColumnType::Numeric, "1e-130").is_ok());
        assert!(parse_text(&ColumnType::Numeric, "NaN").is_ok());
        assert!(parse_text(&ColumnType::Numeric, "1.2.3").is_err());
        assert!(parse_text(&ColumnType::Numeric, ".").is_err());
        assert!(parse_text(&ColumnType::Numeric, "1e").is_err());
    }

    #[test]
    fn timestamps_in_postgres_and_iso_form() {
        let t = parse_text(&ColumnType::Timestamp, "2022-02-15 05:45:18.740114").unwrap();
        let iso = parse_text(&ColumnType::Timestamp, "2022-02-15T05:45:18.740114").unwrap();
        assert_eq!(t, iso);
        let Value::Timestamp(t) = t else {
            panic!("not a timestamp")
        };
        assert_eq!(t.to_string(), "2022-02-15 05:45:18.740114");
        for text in [
            "2022-08-01 10:00:00",
            "2022-08-01 10:00:00.5",
            "2022-08-01 10:00:00.123456789",
        ] {
            assert_eq!(
                fast_timestamp(text.as_bytes()),
                slow_timestamp(text),
                "{text}"
            );
        }
        assert!(parse_text(&ColumnType::Timestamp, "2022-02-30 00:00:00").is_err());
        assert!(parse_text(&ColumnType::Timestamp, "2022-02-15 05:45:18.").is_err());
        let tz = parse_text(&ColumnType::TimestampTz, "2022-02-15 07:45:18.5+02").unwrap();
        let Value::TimestampTz(tz) = tz else {
            panic!("not a timestamptz")
        };
        assert_eq!(tz.to_rfc3339(), "2022-02-15T05:45:18.500+00:00");
    }

    #[test]
    fn enums_name_their_labels() {
        let ty = ColumnType::Enum {
            name: "noun_genders".into(),
            labels: vec!["m".into(), "f".into(), "n".into()],
        };
        assert_eq!(parse_text(&ty, "f"), Ok(Value::Enum("f".into())));
        let err = parse_text(&ty, "x").unwrap_err();
        assert_eq!(err.expected, "one of the labels of noun_genders (m, f, n)");
    }

    #[test]
    fn arrays_with_quotes_nulls_and_nesting() {
        let text = ColumnType::Array(Box::new(ColumnType::Text));
        assert_eq!(
            parse_text(&text, r#"{1,"a b",NULL,"c\"d",""}"#),
            Ok(Value::Array(
                vec![
                    Value::Text("1".into()),
                    Value::Text("a b".into()),
                    Value::Null,
                    Value::Text("c\"d".into()),
                    Value::Text("".into()),
                ]
                .into()
            ))
        );
        let ints = ColumnType::Array(Box::new(ColumnType::Int));
        assert_eq!(
            parse_text(&ints, "{{1,2},{3,4}}"),
            Ok(Value::Array(
                vec![
                    Value::Array(vec![Value::Int(1), Value::Int(2)].into()),
                    Value::Array(vec![Value::Int(3), Value::Int(4)].into()),
                ]
                .into()
            ))
        );
        assert_eq!(parse_text(&ints, "{}"), Ok(Value::Array(vec![].into())));
        assert!(parse_text(&ints, "{1,x}").is_err());
        assert!(parse_text(&ints, "{1,2").is_err());
        assert!(parse_text(&ints, "{1}x").is_err());
    }

    #[test]
    fn bytes_json_and_booleans() {
        assert_eq!(
            parse_text(&ColumnType::Bytes, "\\x01ff"),
            Ok(Value::Bytes(vec![1, 255].into()))
        );
        assert!(parse_text(&ColumnType::Bytes, "01ff").is_err());
        let Ok(Value::Json(json)) = parse_text(&ColumnType::Json, r#"{"b": 1.10, "a": [1]}"#)
        else {
            panic!("not json")
        };
        assert_eq!(json.to_string(), r#"{"a":[1],"b":1.10}"#);
        assert_eq!(parse_text(&ColumnType::Bool, "t"), Ok(Value::Bool(true)));
        assert!(parse_text(&ColumnType::Bool, "yes").is_err());
    }
}
