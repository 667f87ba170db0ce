//! Canonical attribute values, typed as DynamoDB types them, and the sizes DynamoDB counts.
//!
//! Maps are `BTreeMap`s and sets `BTreeSet`s, so a value always serialises to the same bytes.
//! [`Number`] holds only what DynamoDB accepts, in the canonical form DynamoDB returns, so a
//! planned item and the same item read back from a table compare equal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// DynamoDB's limit on significant digits of a number.
pub const MAX_NUMBER_DIGITS: usize = 38;
/// Largest decimal exponent of a DynamoDB number (9.99…E+125).
const MAX_EXPONENT: i64 = 125;
/// Smallest decimal exponent of a DynamoDB number (1E-130).
const MIN_EXPONENT: i64 = -130;

/// A number DynamoDB accepts, in canonical form: plain decimal notation, no leading zeros, no
/// trailing fraction zeros, no `+`, `0` for zero.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(String);

/// Why a number cannot be stored in DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("\"{0}\" is not a number")]
    Syntax(String),
    #[error("{0} is not a number DynamoDB can store (NaN and infinities are not)")]
    NotFinite(String),
    #[error("{text} has {digits} significant digits; DynamoDB keeps at most 38")]
    TooPrecise { text: String, digits: usize },
    #[error("{0} is outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)")]
    OutOfRange(String),
}

impl Number {
    /// Checks and canonicalises a decimal text such as `-0012.500` or `1e3`.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        if matches!(
            text.to_ascii_lowercase().as_str(),
            "nan" | "infinity" | "-infinity" | "+infinity" | "inf" | "-inf"
        ) {
            return Err(NumberError::NotFinite(text.to_string()));
        }
        let syntax = || NumberError::Syntax(text.to_string());
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i64>().map_err(|_| syntax())?),
            None => (unsigned, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(syntax());
        }
        // All digits, and the power of ten of the last one.
        let digits: String = format!("{int}{frac}");
        let last_exponent = exponent - frac.len() as i64;
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Ok(Number("0".into()));
        }
        let trimmed = significant.trim_end_matches('0');
        let last_exponent = last_exponent + (significant.len() - trimmed.len()) as i64;
        if trimmed.len() > MAX_NUMBER_DIGITS {
            return Err(NumberError::TooPrecise {
                text: text.to_string(),
                digits: trimmed.len(),
            });
        }
        let first_exponent = last_exponent + trimmed.len() as i64 - 1;
        if !(MIN_EXPONENT..=MAX_EXPONENT).contains(&first_exponent) {
            return Err(NumberError::OutOfRange(text.to_string()));
        }
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        if last_exponent >= 0 {
            out.push_str(trimmed);
            out.extend(std::iter::repeat_n('0', last_exponent as usize));
        } else {
            let point = trimmed.len() as i64 + last_exponent;
            if point > 0 {
                out.push_str(&trimmed[..point as usize]);
                out.push('.');
                out.push_str(&trimmed[point as usize..]);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', (-point) as usize));
                out.push_str(trimmed);
            }
        }
        Ok(Number(out))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Bytes DynamoDB counts for this number: about one per two significant digits, plus one.
    pub fn size(&self) -> usize {
        number_size(&self.0)
    }
}

/// Bytes DynamoDB counts for a number's canonical text: about one per two significant digits,
/// plus one.
pub(super) fn number_size(text: &str) -> usize {
    let digits = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|&b| b == b'0')
        .count()
        .max(1);
    digits.div_ceil(2) + 1
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number(n.to_string())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One attribute value, typed as DynamoDB types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    L(Vec<AttrValue>),
    M(BTreeMap<String, AttrValue>),
    Ss(BTreeSet<String>),
    Ns(BTreeSet<Number>),
}

impl AttrValue {
    /// Bytes DynamoDB counts for this value (not its name), as its item-size rules say.
    pub fn size(&self) -> usize {
        match self {
            AttrValue::S(s) => s.len(),
            AttrValue::N(n) => n.size(),
            AttrValue::B(b) => b.len(),
            AttrValue::Bool(_) | AttrValue::Null => 1,
            AttrValue::L(items) => 3 + items.iter().map(|v| v.size() + 1).sum::<usize>(),
            AttrValue::M(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| k.len() + v.size() + 1)
                    .sum::<usize>()
            }
            AttrValue::Ss(set) => set.iter().map(String::len).sum(),
            AttrValue::Ns(set) => set.iter().map(Number::size).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical() {
        for (text, canonical) in [
            ("0", "0"),
            ("-0.000", "0"),
            ("007", "7"),
            ("1.50", "1.5"),
            ("+12.0", "12"),
            ("1e3", "1000"),
            ("1.5E-3", "0.0015"),
            ("-123.456", "-123.456"),
            ("100", "100"),
            (".5", "0.5"),
        ] {
            assert_eq!(Number::parse(text).unwrap().as_str(), canonical, "{text}");
        }
    }

    #[test]
    fn numbers_dynamodb_refuses() {
        assert_eq!(
            Number::parse("123456789012345678901234567890123456789").unwrap_err().to_string(),
            "123456789012345678901234567890123456789 has 39 significant digits; DynamoDB keeps at most 38"
        );
        assert!(Number::parse("12345678901234567890123456789012345678").is_ok());
        assert_eq!(
            Number::parse("NaN").unwrap_err().to_string(),
            "NaN is not a number DynamoDB can store (NaN and infinities are not)"
        );
        assert!(matches!(
            Number::parse("1e126"),
            Err(NumberError::OutOfRange(_))
        ));
        assert!(Number::parse("9.99e125").is_ok());
        assert!(matches!(
            Number::parse("1e-131"),
            Err(NumberError::OutOfRange(_))
        ));
        assert!(Number::parse("1e-130").is_ok());
        assert!(matches!(
            Number::parse("1.2.3"),
            Err(NumberError::Syntax(_))
        ));
        assert!(matches!(Number::parse(""), Err(NumberError::Syntax(_))));
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        assert_eq!(AttrValue::S("быть".into()).size(), 8);
        assert_eq!(AttrValue::N(Number::parse("12345").unwrap()).size(), 4);
        assert_eq!(
            AttrValue::L(vec![AttrValue::Null, AttrValue::S("ab".into())]).size(),
            3 + 2 + 3
        );
        let mut map = BTreeMap::new();
        map.insert("k".to_string(), AttrValue::Bool(true));
        assert_eq!(AttrValue::M(map).size(), 3 + 1 + 1 + 1);
    }
}
