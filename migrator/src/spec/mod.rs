//! The spec language: one `spec.toml` per design under `access-patterns/<design>/`, naming the
//! target table, the item types built from source rows, and the access patterns.
//!
//! `parse.rs` reads the file and checks it whole against the source schema; `model.rs` is the
//! checked result the transformer runs; `template.rs` is the `WORD#{word_id}` syntax. The
//! language itself is documented in `access-patterns/README.md`.

mod condition;
mod model;
mod parse;
mod template;
pub mod workbench;

use std::path::{Path, PathBuf};

pub use condition::{Comparison, ConditionText};
pub use model::*;
pub use template::{Piece, Template};

use crate::source::parse_schema;

/// The file a spec folder holds.
pub const SPEC_FILE: &str = "spec.toml";

/// A spec that cannot be used, with the file and line at fault.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}:{line}: {message}", path.display())]
    At {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {source}; pass --spec with a folder that holds a spec.toml", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads and checks the spec in `dir` (a folder with a spec.toml, or the file itself).
pub fn load(dir: &Path) -> Result<Spec, SpecError> {
    let path = if dir.is_dir() {
        dir.join(SPEC_FILE)
    } else {
        dir.to_path_buf()
    };
    let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read {
        path: path.clone(),
        source,
    })?;
    parse::parse_spec(&path, &text, |schema_path| {
        let sql = std::fs::read_to_string(schema_path).map_err(|e| {
            format!(
                "source schema {}: {e}; point source at the design's schema.sql",
                schema_path.display()
            )
        })?;
        parse_schema(schema_path, &sql).map_err(|e| e.to_string())
    })
}
