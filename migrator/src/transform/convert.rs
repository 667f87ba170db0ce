//! Source values into attribute values and template text, as the spec's options say.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::item::{AttrValue, Number, NumberError};
use crate::source::{TableShape, Value};
use crate::spec::{Cast, TimeFormat};

/// Why a value could not become an attribute; the caller adds where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    Number(NumberError),
    Cast(String),
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConvertError::Number(e) => e.fmt(f),
            ConvertError::Cast(m) => f.write_str(m),
        }
    }
}

/// Writes a timestamp as the format says: text, or a number for the epoch formats.
fn time(t: &NaiveDateTime, zoned: bool, format: &TimeFormat) -> AttrValue {
    match format {
        TimeFormat::Iso8601 | TimeFormat::Iso8601Millis => {
            let fraction = if *format == TimeFormat::Iso8601 {
                "%.6f"
            } else {
                "%.3f"
            };
            let mut text = String::with_capacity(27);
            let _ = write!(text, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
            let _ = write!(text, "{}", t.format(fraction));
            if zoned {
                text.push('Z');
            }
            AttrValue::S(text)
        }
        TimeFormat::EpochSeconds => AttrValue::N(Number::from(t.and_utc().timestamp())),
        TimeFormat::EpochSecondsCeil => {
            let t = t.and_utc();
            let whole = t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0);
            AttrValue::N(Number::from(whole))
        }
        TimeFormat::EpochMillis => AttrValue::N(Number::from(t.and_utc().timestamp_millis())),
        TimeFormat::Pattern(p) => {
            let mut text = String::new();
            // The spec checked the pattern writes every timestamp (TimePattern::parse).
            let _ = p.write(t, &mut text);
            AttrValue::S(text)
        }
    }
}

fn utc(t: &DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// Converts a non-NULL value to its attribute, applying `cast`, `format` and `join`.
pub fn to_attr(
    value: &Value,
    cast: Option<Cast>,
    format: &TimeFormat,
    join: Option<&str>,
) -> Result<AttrValue, ConvertError> {
    let attr = match (value, join) {
        (Value::Array(items), Some(sep)) => {
            let parts: Vec<String> = items
                .iter()
                .filter(|v| !matches!(v, Value::Null))
                .map(|v| text(v, format))
                .collect();
            AttrValue::S(parts.join(sep))
        }
        _ => plain(value, format)?,
    };
    match (cast, attr) {
        (None, attr) => Ok(attr),
        (Some(Cast::String), AttrValue::N(n)) => Ok(AttrValue::S(n.to_string())),
        (Some(Cast::String), AttrValue::Bool(b)) => Ok(AttrValue::S(b.to_string())),
        (Some(Cast::String), attr @ AttrValue::S(_)) => Ok(attr),
        (Some(Cast::Number), AttrValue::S(s)) => Number::parse(s.trim())
            .map(AttrValue::N)
            .map_err(ConvertError::Number),
        (Some(Cast::Number), attr @ AttrValue::N(_)) => Ok(attr),
        (Some(cast), attr) => Err(ConvertError::Cast(format!(
            "cannot cast {attr:?} to {}",
            if cast == Cast::String {
                "a string"
            } else {
                "a number"
            }
        ))),
    }
}

fn plain(value: &Value, format: &TimeFormat) -> Result<AttrValue, ConvertError> {
    Ok(match value {
        Value::Null => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Int(i) => AttrValue::N(Number::from(*i)),
        Value::Numeric(s) => AttrValue::N(Number::parse(s).map_err(ConvertError::Number)?),
        Value::Text(s) => AttrValue::S(s.to_string()),
        Value::Enum(s) => AttrValue::S(s.to_string()),
        Value::Timestamp(t) => time(t, false, format),
        Value::TimestampTz(t) => time(&utc(t), true, format),
        Value::Date(d) => AttrValue::S(d.format("%Y-%m-%d").to_string()),
        Value::Json(j) => json(j)?,
        Value::Bytes(b) => AttrValue::B(b.to_vec()),
        Value::Array(items) => AttrValue::L(
            items
                .iter()
                .map(|v| plain(v, format))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn json(value: &serde_json::Value) -> Result<AttrValue, ConvertError> {
    Ok(match value {
        serde_json::Value::Null => AttrValue::Null,
        serde_json::Value::Bool(b) => AttrValue::Bool(*b),
        serde_json::Value::Number(n) => {
            AttrValue::N(Number::parse(&n.to_string()).map_err(ConvertError::Number)?)
        }
        serde_json::Value::String(s) => AttrValue::S(s.clone()),
        serde_json::Value::Array(a) => AttrValue::L(a.iter().map(json).collect::<Result<_, _>>()?),
        serde_json::Value::Object(o) => AttrValue::M(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), json(v)?)))
                .collect::<Result<BTreeMap<_, _>, ConvertError>>()?,
        ),
    })
}

/// The text of a non-NULL value inside a template.
pub fn text(value: &Value, format: &TimeFormat) -> String {
    let mut out = String::new();
    push_text(value, format, &mut out);
    out
}

/// Appends [`text`] of `value` to `out` after its length and a colon: keys of several values
/// made of these never read alike, whatever the texts hold.
pub fn push_sized_text(value: &Value, format: &TimeFormat, out: &mut String) {
    let start = out.len();
    push_text(value, format, out);
    let length = out.len() - start;
    out.insert(start, ':');
    out.insert_str(start, itoa::Buffer::new().format(length));
}

/// Appends [`text`] of `value` to `out`.
pub fn push_text(value: &Value, format: &TimeFormat, out: &mut String) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::Numeric(s) => match Number::parse(s) {
            Ok(n) => out.push_str(n.as_str()),
            Err(_) => out.push_str(s),
        },
        Value::Text(s) => out.push_str(s),
        Value::Enum(s) => out.push_str(s),
        Value::Timestamp(_) | Value::TimestampTz(_) => match plain(value, format) {
            Ok(AttrValue::S(s)) => out.push_str(&s),
            Ok(AttrValue::N(n)) => out.push_str(n.as_str()),
            _ => {}
        },
        Value::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Value::Json(j) => {
            let _ = write!(out, "{j}");
        }
        Value::Bytes(b) => b.iter().for_each(|x| {
            let _ = write!(out, "{x:02x}");
        }),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_text(v, format, out);
            }
        }
    }
}

/// A ULID (26 characters of Crockford's base 32) whose time part is `time`'s millisecond
/// and whose other 80 bits are the first of the SHA-256 of `row`'s identity in its table
/// (its primary key, every column without one): valid, ordered by time, and the same for the
/// same row on every run.
pub fn row_ulid(time: &Value, shape: &TableShape, row: &[Value]) -> Result<String, String> {
    let millis = match time {
        Value::TimestampTz(t) => t.timestamp_millis(),
        Value::Timestamp(t) => t.and_utc().timestamp_millis(),
        Value::Date(d) => d
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis(),
        other => {
            return Err(format!(
                "a ULID's time must be a timestamp or a date, not {other:?}"
            ))
        }
    };
    let millis = u64::try_from(millis)
        .ok()
        .filter(|m| *m < 1 << 48)
        .ok_or(format!(
            "a ULID's time must fall between 1970 and 10889, not {millis} ms"
        ))?;
    let mut identity = shape.name.clone();
    for &c in shape.key_columns().iter() {
        identity.push('\u{1f}');
        identity.push_str(&text(&row[c], &TimeFormat::Iso8601));
    }
    let random = crate::item::line_hash(&identity) >> 48;
    Ok(ulid(millis, random))
}

/// Encodes a ULID: 48 bits of milliseconds, then 80 bits, in Crockford's base 32.
fn ulid(millis: u64, random: u128) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let value = (u128::from(millis) << 80) | (random & ((1 << 80) - 1));
    (0..26)
        .rev()
        .map(|i| char::from(ALPHABET[((value >> (i * 5)) & 31) as usize]))
        .collect()
}

/// Orders two values of one column: NULLs last, as SQL's ascending order puts them.
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Enum(x), Value::Enum(y)) => x.cmp(y),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
        (Value::TimestampTz(x), Value::TimestampTz(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Numeric(x), Value::Numeric(y)) => match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal).then(x.cmp(y)),
            _ => x.cmp(y),
        },
        _ => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::TimePattern;

    #[test]
    fn timestamps_in_every_format() {
        let t: NaiveDateTime = "2022-08-01T10:00:00".parse().unwrap();
        let rootski = TimeFormat::Pattern(TimePattern::parse("%Y-%m-%d %H:%M:%S%.6f").unwrap());
        let v = Value::Timestamp(t);
        assert_eq!(
            to_attr(&v, None, &rootski, None),
            Ok(AttrValue::S("2022-08-01 10:00:00.000000".into()))
        );
        assert_eq!(
            to_attr(&v, None, &TimeFormat::EpochMillis, None),
            Ok(AttrValue::N(Number::from(1_659_348_000_000)))
        );
        assert_eq!(
            to_attr(&v, None, &TimeFormat::Iso8601, None),
            Ok(AttrValue::S("2022-08-01T10:00:00.000000".into()))
        );
        let zoned = Value::TimestampTz("2022-08-01T10:00:00.25Z".parse().unwrap());
        assert_eq!(
            to_attr(&zoned, None, &TimeFormat::Iso8601, None),
            Ok(AttrValue::S("2022-08-01T10:00:00.250000Z".into()))
        );
        assert_eq!(
            to_attr(&zoned, None, &TimeFormat::Iso8601Millis, None),
            Ok(AttrValue::S("2022-08-01T10:00:00.250Z".into()))
        );
        for (format, seconds) in [
            (TimeFormat::EpochSeconds, 1_659_348_000),
            (TimeFormat::EpochSecondsCeil, 1_659_348_001),
        ] {
            assert_eq!(
                to_attr(&zoned, None, &format, None),
                Ok(AttrValue::N(Number::from(seconds)))
            );
        }
        assert_eq!(
            to_attr(&v, None, &TimeFormat::EpochSecondsCeil, None),
            Ok(AttrValue::N(Number::from(1_659_348_000))),
            "a whole second stays"
        );
    }

    #[test]
    fn casts_joins_and_numbers() {
        let iso = TimeFormat::Iso8601;
        assert_eq!(
            to_attr(&Value::Int(7), Some(Cast::String), &iso, None),
            Ok(AttrValue::S("7".into()))
        );
        let sizes = Value::Array(vec![Value::Text("1".into()), Value::Text("?".into())].into());
        assert_eq!(
            to_attr(&sizes, None, &iso, Some(" ")),
            Ok(AttrValue::S("1 ?".into()))
        );
        assert_eq!(
            to_attr(&Value::Numeric("NaN".into()), None, &iso, None)
                .unwrap_err()
                .to_string(),
            "NaN is not a number DynamoDB can store (NaN and infinities are not)"
        );
        assert_eq!(compare(&Value::Null, &Value::Int(1)), Ordering::Greater);
    }

    #[test]
    fn ulids_carry_the_time_and_the_row() {
        // The ULID specification's example: 1469918176385 ms is 01ARYZ6S41.
        assert!(ulid(1_469_918_176_385, 0).starts_with("01ARYZ6S41"));
        assert_eq!(ulid(1_469_918_176_385, 0).len(), 26);
        let shape = TableShape {
            name: "faults".into(),
            namespace: None,
            columns: vec![],
            primary_key: vec![0],
        };
        let row = |id| [Value::Int(id)];
        let time = Value::TimestampTz("2016-07-30T22:36:16.385Z".parse().unwrap());
        let first = row_ulid(&time, &shape, &row(1)).unwrap();
        assert_eq!(first, row_ulid(&time, &shape, &row(1)).unwrap());
        assert_ne!(first, row_ulid(&time, &shape, &row(2)).unwrap());
        assert_eq!(&first[..10], "01ARYZ6S41");
        assert_eq!(
            row_ulid(&Value::Int(3), &shape, &row(1)).unwrap_err(),
            "a ULID's time must be a timestamp or a date, not Int(3)"
        );
    }
}
