//! Exit codes, and how a command stops early: on Ctrl-C, or when whoever reads its stdout or
//! stderr goes away, the temporary files and folders it has made (a plan's unfinished file, a
//! windowed plan's runs) are removed before the process exits, as they would be had the command
//! ended with an error. Anything else stays as it is: a load's checkpoint is written as batches
//! are accepted, so a stopped `migrate` resumes as after a crash.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// The command did everything it was asked.
pub const SUCCESS: u8 = 0;
/// A check failed: the table differs from the plan.
pub const CHECK_FAILED: u8 = 1;
/// Anything else stopped the command: bad usage or input, I/O, the network.
pub const FAILED: u8 = 2;
/// Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;
/// Whoever read stdout or stderr went away (128 + SIGPIPE, as shells report a process the
/// closed pipe ended): the command stops quietly.
pub const CLOSED_OUTPUT: u8 = 141;

/// Paths to remove when the command stops early; those already gone are skipped.
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes `path` (a file or a folder) if the command stops early.
pub fn remove_on_stop(path: PathBuf) {
    TEMPORARY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(path);
}

/// Removes every temporary path registered so far.
pub fn remove_temporaries() {
    let paths = std::mem::take(&mut *TEMPORARY.lock().unwrap_or_else(PoisonError::into_inner));
    for path in paths {
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// Waits for Ctrl-C, then removes every temporary path and ends the process with 130.
pub async fn exit_on_interrupt() {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    remove_temporaries();
    // Written directly: this module is below the one that says lines.
    let _ = writeln!(std::io::stderr(), "interrupted: temporary files removed");
    std::process::exit(i32::from(INTERRUPTED));
}

/// Ends the process quietly because stdout or stderr has no reader any more: temporary paths
/// are removed and nothing more is said (there is no one to say it to).
pub fn exit_on_closed_output() -> ! {
    remove_temporaries();
    std::process::exit(i32::from(CLOSED_OUTPUT));
}
