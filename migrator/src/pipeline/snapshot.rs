//! `snapshot`: one moment of a Postgres database held open for processes on other machines,
//! which read on it with `--snapshot ID` (see [`HeldSnapshot`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::output::write_whole;
use crate::redact::Redacted;
use crate::source::{postgres_says, HeldSnapshot, SourceError};

/// How often the holder checks that its transaction is still open.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Exports a snapshot of `url`, writes its id to `out` (if given) and hands it to `announce`,
/// then holds it until SIGTERM; `out` is removed when the holder stops.
///
/// # Errors
/// The database cannot be reached, the id cannot be written, or the holding transaction ends
/// (a restarted server, a dropped connection): the snapshot is gone then.
pub async fn hold_snapshot(
    url: &Redacted,
    out: Option<&Path>,
    announce: impl FnOnce(&str),
) -> Result<(), Error> {
    let mut held = HeldSnapshot::export(url).await?;
    if let Some(path) = out {
        write_whole(path, format!("{}\n", held.id()).as_bytes())?;
        crate::exit::remove_on_stop(PathBuf::from(path));
    }
    announce(held.id());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Error::Usage(format!("cannot wait for SIGTERM: {e}")))?;
    let ended = loop {
        tokio::select! {
            _ = terminate.recv() => break Ok(()),
            () = tokio::time::sleep(CHECK_EVERY) => {
                if let Err(error) = held.alive().await {
                    break Err(Error::Source(SourceError::Postgres {
                        url: url.clone(),
                        message: format!(
                            "the transaction holding snapshot {} ended ({}); the snapshot is gone, so start migrator snapshot again and rerun the shards on its new id",
                            held.id(),
                            postgres_says(&error)
                        ),
                    }));
                }
            }
        }
    };
    if let Some(path) = out {
        let _ = std::fs::remove_file(path);
    }
    ended
}
