//! The top-level error, how a command that ran to its end came out, and the exit codes both map
//! to (in `main`, the one place that turns outcomes into codes).

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

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Everything it was asked to do was done and checked.
    Success,
    /// It ran, and what it checked differs (a table against its plan).
    CheckFailed,
}

/// The process exit codes.
pub mod exit {
    /// The command did everything it was asked.
    pub const SUCCESS: u8 = 0;
    /// A check failed: the table differs from the plan.
    pub const CHECK_FAILED: u8 = 1;
    /// Anything else stopped the command: bad usage or input, I/O, the network.
    pub const FAILED: u8 = 2;
    /// Ctrl-C (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;
    /// Whoever read stdout or stderr went away (128 + SIGPIPE, as shells report a process
    /// the closed pipe ended): the command stops quietly.
    pub const CLOSED_OUTPUT: u8 = 141;
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
pub fn is_closed_output(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
