//! Relational datasets: loading a CSV folder into a fresh Postgres database (`load.rs`) and
//! generating synthetic datasets from a design's generator file (`generate.rs`).

mod generate;
mod load;

use std::path::{Path, PathBuf};

pub use generate::{generate, GenerateReport, GENERATOR_FILE};
pub use load::{load, LoadReport};

use crate::source::{SourceError, SCHEMA_FILE};

/// Finds a design's folder: `design` itself when it is a folder with a schema.sql, else
/// `<sql_dir>/<design>`.
pub fn design_dir(design: &str, sql_dir: &Path) -> Result<PathBuf, DatasetError> {
    let direct = PathBuf::from(design);
    if direct.join(SCHEMA_FILE).is_file() {
        return Ok(direct);
    }
    let named = sql_dir.join(design);
    if named.join(SCHEMA_FILE).is_file() {
        return Ok(named);
    }
    Err(DatasetError::UnknownDesign {
        design: design.to_string(),
        sql_dir: sql_dir.to_path_buf(),
    })
}

/// Everything that can go wrong while loading or generating a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("no design {design}: {}/{design}/schema.sql does not exist; pass --design with a design name under --sql-dir or a folder that holds a schema.sql", sql_dir.display())]
    UnknownDesign { design: String, sql_dir: PathBuf },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the database already has {what}; load into an empty database (for example one made with createdb) or drop the existing tables and types first")]
    Exists { what: String },
    #[error("{}: creating the schema failed: {message}; fix the statement and rerun", path.display())]
    Schema { path: PathBuf, message: String },
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Copy {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Generator { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
