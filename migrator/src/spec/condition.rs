//! Conditions as written in specs and generator files: `pos = noun`, `pos = noun|verb`,
//! `email != NULL` (`NULL` stands for a NULL value).

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
    use super::ConditionText;

    #[test]
    fn forms() {
        let c = ConditionText::parse("pos = noun|verb").unwrap();
        assert!(c.accepts(Some("verb")) && !c.accepts(Some("adverb")) && !c.accepts(None));
        let c = ConditionText::parse("email != NULL").unwrap();
        assert!(c.accepts(Some("a@b")) && !c.accepts(None));
        assert!(ConditionText::parse("pos").is_err());
    }
}
