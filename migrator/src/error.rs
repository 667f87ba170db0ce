//! The top-level error: each stage's error, and the exit code it maps to.

use crate::dataset::DatasetError;
use crate::sink::dynamodb::SinkError;
use crate::source::SourceError;
use crate::spec::SpecError;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Plan(#[from] crate::transform::PlanErrors),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Checkpoint(#[from] crate::sink::checkpoint::CheckpointError),
    #[error(transparent)]
    Pattern(#[from] crate::verify::PatternError),
    #[error("{0}")]
    Usage(String),
}

/// Process exit code: a check failed.
pub const EXIT_CHECK_FAILED: i32 = 1;
/// Process exit code: bad usage or bad input.
pub const EXIT_BAD_INPUT: i32 = 2;

impl Error {
    /// The exit code for this error: 2 for bad input (every error so far is caused by input).
    pub fn exit_code(&self) -> i32 {
        EXIT_BAD_INPUT
    }
}

/// An error and its causes, each said once: `io error: tcp connect error: Connection refused`.
pub fn said_once(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
