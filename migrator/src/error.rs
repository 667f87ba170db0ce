//! The top-level error, and how a command that ran to its end came out; `main` turns both
//! into exit codes ([`crate::exit`]).

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
    Window(#[from] crate::transform::window::WindowError),
    #[error(transparent)]
    ReadBack(#[from] crate::transform::ReadBack),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Checkpoint(#[from] crate::sink::checkpoint::CheckpointError),
    #[error(transparent)]
    Pattern(#[from] crate::verify::PatternError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error(transparent)]
    S3(#[from] crate::sink::s3::S3Error),
    /// A table's error, said with where the table is (`DynamoDB at http://…`).
    #[error("{target}: {source}")]
    Dynamo {
        target: String,
        #[source]
        source: SinkError,
    },
    /// A thread of the command's own ended without an answer.
    #[error("{0} stopped unexpectedly")]
    Stopped(&'static str),
    #[error("{0}")]
    Usage(String),
}

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Everything it was asked to do was done and checked.
    Success,
    /// It ran, and what it checked differs (a table against its plan).
    CheckFailed,
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
pub fn is_closed_output(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
