//! What can go wrong in a plan: an item that cannot be built or breaks a rule, two items of one
//! key, every such item of a plan at once, and a plan kept on disk that cannot be read back.

/// A plan kept on disk whose lines cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the plan back from {}: {source}; check the temporary folder (TMPDIR) and rerun", path.display())]
pub struct ReadBack {
    pub path: std::path::PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Where an item came from: its type and its root row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub item_type: String,
    pub table: String,
    pub row: String,
}

/// Two items of one plan with the same primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyClash {
    pub key: String,
    pub first: Origin,
    pub second: Origin,
}

/// Every item of a plan that cannot be built or would break a rule (at least one).
#[derive(Debug)]
pub struct PlanErrors(pub Vec<TransformError>);

/// How many errors a message lists before it says how many more there are.
const ERRORS_SHOWN: usize = 20;

impl std::fmt::Display for PlanErrors {
    /// One error per line, each after the `error: ` the first one gets from the caller.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().take(ERRORS_SHOWN).enumerate() {
            if i > 0 {
                f.write_str("\nerror: ")?;
            }
            write!(f, "{error}")?;
        }
        if self.0.len() > ERRORS_SHOWN {
            write!(
                f,
                "\nerror: … and {} more ({} errors in all; `migrator plan --report FILE` lists every one)",
                self.0.len() - ERRORS_SHOWN,
                self.0.len()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// An item that cannot be built or would break a DynamoDB rule.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("table {table}, row {row}: {field} is NULL but {item_type}'s {attribute} needs it; fill it, give the template a default ({{{field}|…}}) or filter such rows out in the spec")]
    NullKey {
        item_type: String,
        table: String,
        row: String,
        field: String,
        attribute: String,
    },
    #[error("table {table}, row {row}: {item_type}'s attribute {attribute}: {message}")]
    Value {
        item_type: String,
        table: String,
        row: String,
        attribute: String,
        message: String,
    },
    #[error("{item_type} {key} (table {table}, row {row}): {rule}")]
    Rule {
        item_type: String,
        key: String,
        table: String,
        row: String,
        rule: String,
    },
    #[error("two items have the key {}: {} from table {}, row {}, and {} from table {}, row {}; make the key templates unique", .0.key, .0.first.item_type, .0.first.table, .0.first.row, .0.second.item_type, .0.second.table, .0.second.row)]
    DuplicateKey(Box<KeyClash>),
}
