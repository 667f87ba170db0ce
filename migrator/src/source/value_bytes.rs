//! Values as bytes that read back as the same values, for records a plan spills to disk and
//! compares again later (the roots of items whose keys clash).

use chrono::{DateTime, Datelike, NaiveDate};

use super::value::{Text, Value};

/// Appends `values` to `out`, to be read back by [`decode`].
pub fn encode<'v>(values: impl IntoIterator<Item = &'v Value>, out: &mut Vec<u8>) {
    for value in values {
        encode_one(value, out);
    }
}

fn encode_one(value: &Value, out: &mut Vec<u8>) {
    let bytes = |out: &mut Vec<u8>, tag: u8, b: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    };
    match value {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Numeric(s) => bytes(out, 3, s.as_bytes()),
        Value::Text(s) => bytes(out, 4, s.as_bytes()),
        Value::Enum(s) => bytes(out, 5, s.as_bytes()),
        Value::Timestamp(t) => {
            out.push(6);
            write_time(t.and_utc(), out);
        }
        Value::TimestampTz(t) => {
            out.push(7);
            write_time(*t, out);
        }
        Value::Date(d) => {
            out.push(8);
            out.extend_from_slice(&d.num_days_from_ce().to_le_bytes());
        }
        Value::Json(j) => bytes(out, 9, j.to_string().as_bytes()),
        Value::Bytes(b) => bytes(out, 10, b),
        Value::Array(items) => {
            out.push(11);
            out.extend_from_slice(&(items.len() as u32).to_le_bytes());
            encode(items.iter(), out);
        }
    }
}

fn write_time(t: DateTime<chrono::Utc>, out: &mut Vec<u8>) {
    out.extend_from_slice(&t.timestamp().to_le_bytes());
    out.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
}

/// The values [`encode`] wrote to `bytes`; `None` if they are not such bytes.
pub fn decode(mut bytes: &[u8]) -> Option<Vec<Value>> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        values.push(decode_one(&mut bytes)?);
    }
    Some(values)
}

fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
    let (head, rest) = bytes.split_at_checked(n)?;
    *bytes = rest;
    Some(head)
}

fn array<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
    take(bytes, N)?.try_into().ok()
}

fn sized<'b>(bytes: &mut &'b [u8]) -> Option<&'b [u8]> {
    let n = u32::from_le_bytes(array(bytes)?) as usize;
    take(bytes, n)
}

fn text(bytes: &mut &[u8]) -> Option<Text> {
    Some(std::str::from_utf8(sized(bytes)?).ok()?.into())
}

fn time(bytes: &mut &[u8]) -> Option<DateTime<chrono::Utc>> {
    let seconds = i64::from_le_bytes(array(bytes)?);
    let nanos = u32::from_le_bytes(array(bytes)?);
    DateTime::from_timestamp(seconds, nanos)
}

fn decode_one(bytes: &mut &[u8]) -> Option<Value> {
    let tag = take(bytes, 1)?[0];
    Some(match tag {
        0 => Value::Null,
        1 => Value::Bool(take(bytes, 1)?[0] != 0),
        2 => Value::Int(i64::from_le_bytes(array(bytes)?)),
        3 => Value::Numeric(text(bytes)?.into()),
        4 => Value::Text(text(bytes)?),
        5 => Value::Enum(text(bytes)?.into()),
        6 => Value::Timestamp(time(bytes)?.naive_utc()),
        7 => Value::TimestampTz(time(bytes)?),
        8 => Value::Date(NaiveDate::from_num_days_from_ce_opt(i32::from_le_bytes(
            array(bytes)?,
        ))?),
        9 => Value::Json(Box::new(serde_json::from_str(&text(bytes)?).ok()?)),
        10 => Value::Bytes(sized(bytes)?.into()),
        11 => {
            let n = u32::from_le_bytes(array(bytes)?) as usize;
            let items = (0..n)
                .map(|_| decode_one(bytes))
                .collect::<Option<Vec<_>>>()?;
            Value::Array(items.into())
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_reads_back_as_itself() {
        let t = chrono::NaiveDateTime::parse_from_str(
            "2024-05-03 10:00:00.123456789",
            "%Y-%m-%d %H:%M:%S%.f",
        )
        .unwrap();
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-7),
            Value::Numeric("2.50".into()),
            Value::Text("žluť".into()),
            Value::Enum("noun".into()),
            Value::Timestamp(t),
            Value::TimestampTz(t.and_utc()),
            Value::Date(t.date()),
            Value::Json(Box::new(
                serde_json::from_str(r#"{"a":[1.50,"x"]}"#).unwrap(),
            )),
            Value::Bytes(vec![0, 255].into()),
            Value::Array(vec![Value::Int(1), Value::Null, Value::Text("".into())].into()),
        ];
        let mut bytes = Vec::new();
        encode(&values, &mut bytes);
        assert_eq!(decode(&bytes), Some(values));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None, "a cut record");
    }
}
