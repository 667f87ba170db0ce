//! Value templates such as `WORD#{word_id}` or `USER#{submitted_by_user_email|anonymous}`.
//!
//! `{name}` is a field of the current row (`{table.column}` when two tables of the scope share
//! a column name); `{name|text}` gives `text` when the field is NULL; `{name:ulid}` gives a
//! ULID whose time is the field's (a timestamp) and whose other 80 bits come from the field's
//! row (so the same row gives the same ULID on every run); `{{` and `}}` are literal braces. A
//! template always makes a string.

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<F> {
    Literal(String),
    Field {
        field: F,
        default: Option<String>,
        /// `{name:ulid}`: the field's time as a ULID made from its row.
        ulid: bool,
    },
}

/// A parsed template whose fields are `F` (names when parsed, resolved references later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<F> {
    pub pieces: Vec<Piece<F>>,
}

impl Template<String> {
    /// Parses `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => inner.push(c),
                            None => {
                                return Err(format!(
                                    "template \"{text}\" opens {{ without closing it"
                                ))
                            }
                        }
                    }
                    let (name, default) = match inner.split_once('|') {
                        Some((n, d)) => (n.trim(), Some(d.to_string())),
                        None => (inner.trim(), None),
                    };
                    let (name, ulid) = match name.strip_suffix(":ulid") {
                        Some(name) => (name.trim(), true),
                        None => (name, false),
                    };
                    if name.is_empty() {
                        return Err(format!("template \"{text}\" has an empty {{}}"));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field {
                        field: name.to_string(),
                        default,
                        ulid,
                    });
                }
                '}' => return Err(format!("template \"{text}\" closes }} without opening it")),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template { pieces })
    }
}

impl<F> Template<F> {
    /// Resolves every field with `resolve`, keeping the first error.
    pub fn resolve<G, E>(
        &self,
        mut resolve: impl FnMut(&F) -> Result<G, E>,
    ) -> Result<Template<G>, E> {
        let pieces = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => Ok(Piece::Literal(s.clone())),
                Piece::Field {
                    field,
                    default,
                    ulid,
                } => Ok(Piece::Field {
                    field: resolve(field)?,
                    default: default.clone(),
                    ulid: *ulid,
                }),
            })
            .collect::<Result<_, E>>()?;
        Ok(Template { pieces })
    }

    /// The fields the template reads, in order.
    pub fn fields(&self) -> impl Iterator<Item = &F> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field { field, .. } => Some(field),
            Piece::Literal(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_defaults_and_escapes() {
        let t = Template::parse("USER#{email|anonymous}#{{x}}").unwrap();
        assert_eq!(
            t.pieces,
            vec![
                Piece::Literal("USER#".into()),
                Piece::Field {
                    field: "email".into(),
                    default: Some("anonymous".into()),
                    ulid: false
                },
                Piece::Literal("#{x}".into()),
            ]
        );
        assert_eq!(
            Template::parse("fault#{timestamp:ulid}").unwrap().pieces[1],
            Piece::Field {
                field: "timestamp".into(),
                default: None,
                ulid: true
            }
        );
        assert_eq!(Template::parse("WORD").unwrap().fields().count(), 0);
    }

    #[test]
    fn broken_templates() {
        assert_eq!(
            Template::parse("WORD#{id").unwrap_err(),
            "template \"WORD#{id\" opens { without closing it"
        );
        assert_eq!(
            Template::parse("a}b").unwrap_err(),
            "template \"a}b\" closes } without opening it"
        );
        assert_eq!(
            Template::parse("{ }").unwrap_err(),
            "template \"{ }\" has an empty {}"
        );
    }
}
