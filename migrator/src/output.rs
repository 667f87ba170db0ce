//! Where a command writes its files (`--out`, `--report`, the checkpoint): only a regular file
//! is replaced, by writing a temporary file beside it and renaming it over the name once
//! complete, so nothing half-written is ever left under the final name. A device or a FIFO
//! (`/dev/null`, a named pipe) is written in place and never removed, `-` means stdout, and a
//! symbolic link is followed to what it names.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Links followed before a name is taken to loop.
const MAX_LINKS: usize = 40;

/// Bytes of a file written before the system is asked to start putting them on disk.
const WRITE_BACK_EVERY: u64 = 8 << 20;

/// What a name given for output is, once symbolic links are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`: the process's stdout.
    Stdout,
    /// A device or a FIFO: written in place, never replaced or removed.
    InPlace(PathBuf),
    /// A regular file, or nothing yet: written under a temporary name and renamed over it.
    File(PathBuf),
}

impl Destination {
    /// Classifies `path`, following symbolic links (a dangling one names the file to create).
    ///
    /// # Errors
    /// A folder, a link loop, or metadata that cannot be read.
    pub fn of(path: &Path) -> Result<Destination, OutputError> {
        if path.as_os_str() == "-" {
            return Ok(Destination::Stdout);
        }
        let error = |source: io::Error| OutputError::new(path, source);
        let mut at = path.to_path_buf();
        for _ in 0..MAX_LINKS {
            let meta = match std::fs::symlink_metadata(&at) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::File(at)),
                Err(e) => return Err(error(e)),
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                let target = std::fs::read_link(&at).map_err(error)?;
                at = at.parent().unwrap_or(Path::new(".")).join(target);
            } else if kind.is_dir() {
                return Err(error(io::Error::other(
                    "is a folder; name a file in it instead",
                )));
            } else if kind.is_file() {
                return Ok(Destination::File(at));
            } else {
                return Ok(Destination::InPlace(at));
            }
        }
        Err(error(io::Error::other(
            "too many levels of symbolic links; name the file itself",
        )))
    }

    /// The regular file this names, if it names one: where files beside it may go.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Destination::File(path) => Some(path),
            _ => None,
        }
    }
}

/// An output being written; [`Output::commit`] puts it in place. Dropped before that, a
/// regular file's temporary is deleted and the name keeps what it held.
pub struct Output {
    shown: PathBuf,
    sink: Sink,
}

enum Sink {
    Stdout(io::Stdout),
    InPlace(File),
    File {
        temporary: tempfile::NamedTempFile,
        path: PathBuf,
        written: WrittenBack,
    },
}

/// How much of a file is written, and how much of that the system was asked to put on disk:
/// pages go to disk while later ones are written, so the sync at the end waits only for the
/// last few (as Postgres's `backend_flush_after` does).
#[derive(Default)]
struct WrittenBack {
    written: u64,
    started: u64,
}

impl WrittenBack {
    /// Counts `n` bytes more of `file`; once enough have gathered, asks the system to start
    /// writing them to disk, without waiting. A failure there is left to the sync at the end.
    fn add(&mut self, file: &File, n: usize) {
        self.written += n as u64;
        if self.written - self.started < WRITE_BACK_EVERY {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (offset, length) = (self.started, self.written - self.started);
            // SAFETY: sync_file_range only reads the descriptor and plain integers; the file
            // stays open for the call.
            unsafe {
                libc::sync_file_range(
                    file.as_raw_fd(),
                    offset as libc::off64_t,
                    length as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        self.started = self.written;
    }
}

impl Output {
    /// Opens `path` for writing as the kind of thing it is (see [`Destination`]).
    ///
    /// # Errors
    /// The name cannot be classified, or the file or its temporary cannot be created.
    pub fn create(path: &Path) -> Result<Output, OutputError> {
        let error = |source: io::Error| OutputError::new(path, source);
        let sink = match Destination::of(path)? {
            Destination::Stdout => Sink::Stdout(io::stdout()),
            Destination::InPlace(at) => {
                Sink::InPlace(File::options().write(true).open(at).map_err(error)?)
            }
            Destination::File(at) => {
                let name = at.file_name().unwrap_or_default().to_string_lossy();
                let dir = match at.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                let temporary = tempfile::Builder::new()
                    .prefix(&format!("{name}."))
                    .suffix(".partial")
                    .permissions(std::fs::Permissions::from_mode(0o666))
                    .tempfile_in(dir)
                    .map_err(|e| error(without_path(e)))?;
                crate::exit::remove_on_stop(temporary.path().to_path_buf());
                Sink::File {
                    temporary,
                    path: at,
                    written: WrittenBack::default(),
                }
            }
        };
        Ok(Output {
            shown: path.to_path_buf(),
            sink,
        })
    }

    /// Finishes the output: a regular file is synced and renamed over its name.
    ///
    /// # Errors
    /// The last bytes cannot be written, or the rename fails.
    pub fn commit(self) -> Result<(), OutputError> {
        let shown = self.shown;
        let error = |source: io::Error| OutputError::new(&shown, source);
        match self.sink {
            Sink::Stdout(mut out) => out.flush().map_err(error),
            Sink::InPlace(mut file) => file.flush().map_err(error),
            Sink::File {
                temporary, path, ..
            } => {
                temporary.as_file().sync_all().map_err(error)?;
                temporary
                    .persist(&path)
                    .map_err(|e| error(without_path(e.error)))?;
                Ok(())
            }
        }
    }

    /// The name the user gave, for messages.
    pub fn shown(&self) -> &Path {
        &self.shown
    }
}

impl Output {
    /// Runs one write, `write`, on where the output goes; returns the bytes it wrote, which a
    /// regular file counts towards writing back (see [`WrittenBack`]).
    fn written(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> io::Result<usize>,
    ) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(out) => write(out),
            Sink::InPlace(file) => write(file),
            Sink::File {
                temporary, written, ..
            } => {
                let n = write(temporary.as_file_mut())?;
                written.add(temporary.as_file(), n);
                Ok(n)
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written(|out| out.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.written(|out| out.write_vectored(bufs))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.written(|out| out.write_all(buf).map(|()| buf.len()))
            .map(drop)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.written(|out| out.flush().map(|()| 0)).map(drop)
    }
}

/// `error` without the temporary file's name tempfile adds to it (`… at path "…"`): messages
/// name the file the user asked for.
fn without_path(error: io::Error) -> io::Error {
    let text = error.to_string();
    match text.split_once(" at path \"") {
        Some((cause, _)) => io::Error::new(error.kind(), cause),
        None => error,
    }
}

/// Writes `bytes` to `path` as a whole (see [`Output`]).
///
/// # Errors
/// As [`Output::create`], [`Output::commit`], and a failed write.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut output = Output::create(path)?;
    output
        .write_all(bytes)
        .map_err(|e| OutputError::new(path, e))?;
    output.commit()
}

/// An output that could not be written: the name the user gave and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}{}", path.display(), full_disk_hint(source))]
pub struct OutputError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl OutputError {
    /// The error of writing `path`.
    pub fn new(path: &Path, source: io::Error) -> Self {
        OutputError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What to do about `error` when the disk is full (it says so itself); nothing otherwise.
pub fn full_disk_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::StorageFull => "; free some space or write elsewhere, then rerun",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified_after_their_links() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan.jsonl");
        assert_eq!(
            Destination::of(&file).unwrap(),
            Destination::File(file.clone())
        );
        std::fs::write(&file, "x").unwrap();
        let link = dir.path().join("latest");
        std::os::unix::fs::symlink("plan.jsonl", &link).unwrap();
        assert_eq!(Destination::of(&link).unwrap(), Destination::File(file));
        let dangling = dir.path().join("next");
        std::os::unix::fs::symlink("sub/../new.jsonl", &dangling).unwrap();
        assert_eq!(
            Destination::of(&dangling).unwrap(),
            Destination::File(dir.path().join("sub/../new.jsonl"))
        );
        assert_eq!(
            Destination::of(Path::new("/dev/null")).unwrap(),
            Destination::InPlace("/dev/null".into())
        );
        assert_eq!(
            Destination::of(Path::new("-")).unwrap(),
            Destination::Stdout
        );
        assert_eq!(
            Destination::of(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: is a folder; name a file in it instead",
                dir.path().display()
            )
        );
        let looped = dir.path().join("loop");
        std::os::unix::fs::symlink("loop", &looped).unwrap();
        assert_eq!(
            Destination::of(&looped).unwrap_err().to_string(),
            format!(
                "{}: too many levels of symbolic links; name the file itself",
                looped.display()
            )
        );
    }

    #[test]
    fn a_file_appears_whole_on_commit_and_an_abandoned_one_leaves_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        let mut output = Output::create(&path).unwrap();
        output.write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        drop(output);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_whole(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_large_file_is_sent_to_disk_as_it_is_written_and_comes_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.jsonl");
        let mut output = Output::create(&path).unwrap();
        let started = |output: &Output| match &output.sink {
            Sink::File { written, .. } => (written.written, written.started),
            _ => panic!("a regular file"),
        };
        let piece: Vec<u8> = (0..5 << 20).map(|i: u32| (i % 251) as u8).collect();
        output.write_all(&piece).unwrap();
        assert_eq!(started(&output), (5 << 20, 0));
        let mut rest = &piece[..];
        while !rest.is_empty() {
            let n = output.write(rest).unwrap();
            rest = &rest[n..];
        }
        assert_eq!(started(&output), (10 << 20, 10 << 20));
        output.write_all(&piece).unwrap();
        assert_eq!(started(&output), (15 << 20, 10 << 20));
        output.commit().unwrap();
        let read = std::fs::read(&path).unwrap();
        assert_eq!(read.len(), 15 << 20);
        assert!(read.chunks(5 << 20).all(|chunk| chunk == piece));
    }
}
