//! The load checkpoint: which batches are durably written, so a killed load resumes where it
//! stopped and writes each remaining item once.
//!
//! The file is a header line naming the table, then one line per batch DynamoDB accepted in
//! full: a digest of the batch's item lines. Batches are cut the same way from the same plan, so
//! a rerun skips every batch whose digest is recorded; a batch whose items changed since (the
//! source moved on) has another digest and is written again. Lines are appended as batches
//! finish and synced to disk at most once a second; a line torn by a kill is ignored.
//!
//! A checkpoint named by a symbolic link lives in the file the link names. One named by a
//! device or a FIFO (`/dev/null`: no checkpoint wanted) is written in place, read as empty and
//! never removed.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::output::{full_disk_hint, Destination};

/// An open checkpoint file and the batches it recorded before this run.
pub struct Checkpoint {
    path: PathBuf,
    /// The regular file holding it, once links are followed: removed when the load is done.
    file_path: Option<PathBuf>,
    done: HashSet<u64>,
    file: Mutex<(File, Instant)>,
}

impl Checkpoint {
    /// Opens (or starts) the checkpoint at `path` for the load described by `header`.
    ///
    /// # Errors
    /// The file cannot be read or written, or it belongs to another load.
    pub fn open(path: &Path, header: &str) -> Result<Self, CheckpointError> {
        let error = |message: String| CheckpointError {
            path: path.to_path_buf(),
            message,
        };
        let io_error = |e: std::io::Error| error(format!("{e}{}", full_disk_hint(&e)));
        let mut done = HashSet::new();
        let at =
            match Destination::of(path).map_err(|e| error(e.source.to_string()))? {
                Destination::Stdout => return Err(error(
                    "the next run reads the checkpoint back, so it cannot be stdout; name a file"
                        .into(),
                )),
                Destination::InPlace(at) => {
                    let file = OpenOptions::new().write(true).open(&at).map_err(io_error)?;
                    return Ok(Checkpoint {
                        path: path.to_path_buf(),
                        file_path: None,
                        done,
                        file: Mutex::new((file, Instant::now())),
                    });
                }
                Destination::File(at) => at,
            };
        let text = match std::fs::read_to_string(&at) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_error(e)),
        };
        if !text.contains('\n') && header.starts_with(text.as_str()) {
            // A new checkpoint, or one whose header a kill or a full disk cut short.
            if let Err(e) = std::fs::write(&at, format!("{header}\n")) {
                let _ = std::fs::remove_file(&at);
                return Err(io_error(e));
            }
        } else {
            let mut lines = text.lines();
            let first = lines.next().unwrap_or_default();
            if first != header {
                return Err(error(format!(
                    "it was written for another load ({first}), not this one ({header}); pass another --checkpoint, or delete it to start over"
                )));
            }
            done.extend(lines.filter_map(parse_digest));
            if !text.ends_with('\n') {
                // A line torn by a kill: end it, so the next record starts a line of its own.
                OpenOptions::new()
                    .append(true)
                    .open(&at)
                    .and_then(|mut f| f.write_all(b"\n"))
                    .map_err(io_error)?;
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&at)
            .map_err(io_error)?;
        Ok(Checkpoint {
            path: path.to_path_buf(),
            file_path: Some(at),
            done,
            file: Mutex::new((file, Instant::now())),
        })
    }

    /// Whether an earlier run wrote the batch with this digest.
    pub fn is_done(&self, digest: u64) -> bool {
        self.done.contains(&digest)
    }

    /// How many batches earlier runs recorded.
    pub fn recorded(&self) -> usize {
        self.done.len()
    }

    /// Records that the batch with this digest is written.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(&self, digest: u64) -> Result<(), CheckpointError> {
        let mut guard = self.file.lock().expect("checkpoint lock");
        let (file, synced) = &mut *guard;
        let result = file
            .write_all(format!("{digest:016x}\n").as_bytes())
            .and_then(|()| {
                if synced.elapsed() >= Duration::from_secs(1) {
                    *synced = Instant::now();
                    file.sync_data()
                } else {
                    Ok(())
                }
            });
        result.map_err(|e| CheckpointError {
            path: self.path.clone(),
            message: format!("{e}{}", full_disk_hint(&e)),
        })
    }

    /// The load is complete and verified: the checkpoint is no longer needed.
    pub fn remove(self) {
        drop(self.file);
        if let Some(file) = &self.file_path {
            let _ = std::fs::remove_file(file);
        }
    }

    /// Where the checkpoint is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The digest that names a batch: the hashes of its items' lines (as verification computes
/// them), in order; no line is read again.
pub fn batch_digest(hashes: impl IntoIterator<Item = u128>) -> u64 {
    let mut hasher = Sha256::new();
    for hash in hashes {
        hasher.update(hash.to_be_bytes());
    }
    let hash = hasher.finalize();
    u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

fn parse_digest(line: &str) -> Option<u64> {
    (line.len() == 16)
        .then(|| u64::from_str_radix(line, 16).ok())
        .flatten()
}

/// A checkpoint that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {}: {message}", path.display())]
pub struct CheckpointError {
    pub path: PathBuf,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_batches_survive_a_reopen_and_a_torn_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("load.checkpoint");
        let a = batch_digest([1, 2]);
        let b = batch_digest([3]);
        let first = Checkpoint::open(&path, "table t").unwrap();
        assert_eq!(first.recorded(), 0);
        first.record(a).unwrap();
        drop(first);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"12ab")
            .unwrap();
        let again = Checkpoint::open(&path, "table t").unwrap();
        assert!(again.is_done(a));
        assert!(!again.is_done(b));
        assert_eq!(again.recorded(), 1);
        again.record(b).unwrap();
        drop(again);
        let again = Checkpoint::open(&path, "table t").unwrap();
        assert!(
            again.is_done(a) && again.is_done(b),
            "the torn line did not swallow b"
        );
        let other = Checkpoint::open(&path, "table u").err().unwrap();
        assert_eq!(
            other.to_string(),
            format!("checkpoint {}: it was written for another load (table t), not this one (table u); pass another --checkpoint, or delete it to start over", path.display())
        );
        again.remove();
        assert!(!path.exists());
    }

    #[test]
    fn a_device_is_written_in_place_and_a_link_is_followed() {
        use std::os::unix::fs::FileTypeExt;
        let null = Checkpoint::open(Path::new("/dev/null"), "table t").unwrap();
        null.record(batch_digest([1])).unwrap();
        assert_eq!(null.recorded(), 0);
        null.remove();
        let kind = std::fs::metadata("/dev/null").unwrap().file_type();
        assert!(kind.is_char_device(), "/dev/null is still the device");

        let dir = tempfile::tempdir().unwrap();
        let (link, file) = (dir.path().join("link"), dir.path().join("real"));
        std::os::unix::fs::symlink("real", &link).unwrap();
        let checkpoint = Checkpoint::open(&link, "table t").unwrap();
        checkpoint.record(batch_digest([1])).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("table t\n{:016x}\n", batch_digest([1]))
        );
        checkpoint.remove();
        assert!(!file.exists(), "the checkpoint the link names is removed");
        assert!(std::fs::symlink_metadata(&link).is_ok(), "the link stays");

        let stdout = Checkpoint::open(Path::new("-"), "table t").err().unwrap();
        assert_eq!(
            stdout.to_string(),
            "checkpoint -: the next run reads the checkpoint back, so it cannot be stdout; name a file"
        );
    }
}
