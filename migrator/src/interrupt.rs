//! Ctrl-C: the temporary files and folders a command has made (a plan's unfinished file, a
//! windowed plan's runs) are removed before the process exits with 130, as they would be had the
//! command ended with an error. Anything else stays as it is: a load's checkpoint is written as
//! batches are accepted, so an interrupted `migrate` resumes as after a crash.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// Paths to remove on Ctrl-C; those already gone are skipped.
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Process exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Removes `path` (a file or a folder) if the command is interrupted.
pub fn remove_on_interrupt(path: PathBuf) {
    TEMPORARY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(path);
}

/// Waits for Ctrl-C, then removes every temporary path and ends the process.
pub async fn exit_on_interrupt() {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    let paths = std::mem::take(&mut *TEMPORARY.lock().unwrap_or_else(PoisonError::into_inner));
    for path in paths {
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
    eprintln!("interrupted: temporary files removed");
    std::process::exit(EXIT_INTERRUPTED);
}
