//! A windowed plan kept for loading and verifying: each item's key, hash and size in memory
//! (about 100 bytes an item), its line in a file of its item type, read back a range at a time.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::{plan_windows, WindowError};
use crate::item::PlanLine;
use crate::source::PostgresSource;
use crate::spec::{ItemTypeId, Spec};
use crate::transform::spill::{read_record, text, write_record};
use crate::transform::{Entry, Planned, ReadBack};

/// A windowed plan on disk: per item type, its entries in key order and a file of their lines.
pub struct Spilled {
    /// Holds the files; deleted with the plan.
    _dir: tempfile::TempDir,
    names: Vec<String>,
    types: Vec<Vec<Entry>>,
    /// Per item type, where each line starts in its file.
    offsets: Vec<Vec<u64>>,
    files: Vec<PathBuf>,
}

impl Spilled {
    /// Plans `spec` from `source` in windows of `window` root groups (see [`plan_windows`]),
    /// keeping every line on disk and every item's key, hash and size.
    ///
    /// # Errors
    /// As [`plan_windows`], and a temporary folder that cannot be written.
    pub async fn plan(
        spec: &Spec,
        source: &PostgresSource,
        window: usize,
    ) -> Result<Spilled, WindowError> {
        let dir = tempfile::tempdir().map_err(|e| {
            WindowError::Disk(format!(
                "cannot create a temporary folder for the plan: {e}"
            ))
        })?;
        crate::exit::remove_on_stop(dir.path().to_path_buf());
        let names: Vec<String> = spec.items.iter().map(|i| i.name.clone()).collect();
        let files: Vec<PathBuf> = (0..names.len())
            .map(|t| dir.path().join(format!("plan-{t}")))
            .collect();
        let mut types = vec![Vec::new(); names.len()];
        let mut offsets = vec![Vec::new(); names.len()];
        let mut out: Option<(usize, BufWriter<File>, u64)> = None;
        let mut failed: Option<io::Error> = None;
        let mut write = |line: PlanLine| -> io::Result<()> {
            let t = names
                .iter()
                .position(|n| *n == line.item_type)
                .expect("lines of the spec's item types");
            if out.as_ref().is_none_or(|(at, _, _)| *at != t) {
                if let Some((_, mut previous, _)) = out.take() {
                    previous.flush()?;
                }
                out = Some((t, BufWriter::new(File::create(&files[t])?), 0));
            }
            let (_, file, offset) = out.as_mut().expect("opened above");
            let hash = crate::item::line_hash(&line.json);
            write_record(file, &[line.json.as_bytes()])?;
            offsets[t].push(*offset);
            *offset += 4 + line.json.len() as u64;
            types[t].push(Entry {
                key: line.key,
                hash,
                bytes: line.bytes as u32,
                group: 0,
                moved: false,
            });
            Ok(())
        };
        plan_windows(spec, source, window, |chunk| {
            for line in chunk {
                if failed.is_none() {
                    failed = write(line).err();
                }
            }
        })
        .await?;
        let flushed = match out {
            Some((_, mut file, _)) => file.flush(),
            None => Ok(()),
        };
        if let Some(error) = failed.or(flushed.err()) {
            let dir = dir.path().display();
            return Err(WindowError::Disk(format!("cannot write the plan in {dir}: {error} (set TMPDIR to a folder with room for the uncompressed plan)")));
        }
        Ok(Spilled {
            _dir: dir,
            names,
            types,
            offsets,
            files,
        })
    }
}

impl Planned for Spilled {
    fn types(&self) -> &[Vec<Entry>] {
        &self.types
    }

    fn lines(
        &self,
        ItemTypeId(t): ItemTypeId,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<PlanLine>, ReadBack> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let read = || -> io::Result<Vec<PlanLine>> {
            let mut file = BufReader::new(File::open(&self.files[t])?);
            file.seek(SeekFrom::Start(self.offsets[t][range.start]))?;
            range
                .clone()
                .map(|i| {
                    let json = read_record(&mut file, 1)?
                        .and_then(|mut fields| fields.pop())
                        .ok_or_else(|| io::Error::other("the file ends early"))?;
                    let entry = &self.types[t][i];
                    Ok(PlanLine {
                        item_type: self.names[t].clone(),
                        key: entry.key.clone(),
                        json: text(json)?,
                        bytes: entry.bytes as usize,
                        hash: entry.hash,
                    })
                })
                .collect()
        };
        read().map_err(|source| ReadBack {
            path: self.files[t].clone(),
            source,
        })
    }
}
