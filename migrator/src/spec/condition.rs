//! Conditions as written in specs and generator files: `pos = noun`, `pos = noun|verb`,
//! `email != NULL` (`NULL` stands for a NULL value); and in specs, ordered comparisons:
//! `expires_at > NOW`, `score >= 50`.

use std::cmp::Ordering;

/// An ordered comparison of a field with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    /// Splits `column < value` (or `<=`, `>`, `>=`) into its column, comparison and value;
    /// `None` when the text compares nothing so.
    pub fn split(text: &str) -> Option<(&str, Comparison, &str)> {
        let at = text.find(['<', '>'])?;
        let (column, rest) = text.split_at(at);
        let (comparison, value) = match (rest.as_bytes()[0], rest.as_bytes().get(1)) {
            (b'<', Some(b'=')) => (Comparison::LessOrEqual, &rest[2..]),
            (b'>', Some(b'=')) => (Comparison::GreaterOrEqual, &rest[2..]),
            (b'<', _) => (Comparison::Less, &rest[1..]),
            _ => (Comparison::Greater, &rest[1..]),
        };
        Some((column.trim(), comparison, value.trim()))
    }

    /// Whether a field that orders `ordering` against the value passes.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Comparison::Less => ordering.is_lt(),
            Comparison::LessOrEqual => ordering.is_le(),
            Comparison::Greater => ordering.is_gt(),
            Comparison::GreaterOrEqual => ordering.is_ge(),
        }
    }
}

/// A parsed condition whose column is still a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionText {
    pub column: String,
    pub negate: bool,
    /// Accepted texts; `None` stands for NULL.
    pub values: Vec<Option<String>>,
}

impl ConditionText {
    /// Parses `column = value`, `column != value` or `column = a|b`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (column, negate, rest) = if let Some((c, r)) = text.split_once("!=") {
            (c, true, r)
        } else if let Some((c, r)) = text.split_once('=') {
            (c, false, r)
        } else {
            return Err(format!(
                "condition \"{text}\" is not of the form column = value, column != value or column = a|b (NULL for null)"
            ));
        };
        Ok(ConditionText {
            column: column.trim().to_string(),
            negate,
            values: rest
                .split('|')
                .map(|v| (v.trim() != "NULL").then(|| v.trim().to_string()))
                .collect(),
        })
    }

    /// Whether a value whose text is `text` (`None` for NULL) passes.
    pub fn accepts(&self, text: Option<&str>) -> bool {
        let found = self.values.iter().any(|expected| match (expected, text) {
            (None, None) => true,
            (Some(e), Some(t)) => e == t,
            _ => false,
        });
        found != self.negate
    }
}

#[cfg(test)]
mod tests {
    use super::{Comparison, ConditionText};
    use std::cmp::Ordering;

    #[test]
    fn comparisons() {
        assert_eq!(
            Comparison::split("expires_at > NOW"),
            Some(("expires_at", Comparison::Greater, "NOW"))
        );
        assert_eq!(
            Comparison::split("score<=50"),
            Some(("score", Comparison::LessOrEqual, "50"))
        );
        assert_eq!(Comparison::split("pos = noun"), None);
        assert!(Comparison::GreaterOrEqual.holds(Ordering::Equal));
        assert!(!Comparison::Greater.holds(Ordering::Equal));
        assert!(Comparison::Less.holds(Ordering::Less));
    }

    #[test]
    fn forms() {
        let c = ConditionText::parse("pos = noun|verb").unwrap();
        assert!(c.accepts(Some("verb")) && !c.accepts(Some("adverb")) && !c.accepts(None));
        let c = ConditionText::parse("email != NULL").unwrap();
        assert!(c.accepts(Some("a@b")) && !c.accepts(None));
        assert!(ConditionText::parse("pos").is_err());
    }
}
