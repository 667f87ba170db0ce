//! A windowed plan kept for loading and verifying: each item's key, hash and size in memory
//! (about 100 bytes an item), its line in a file of its item type, read back in rounds or one
//! at a time.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::plan_windows;
use crate::source::PostgresSource;
use crate::spec::Spec;
use crate::transform::{round_count, round_ranges, Entry, PlanLine, Planned};

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

/// Reads one line written by [`Spilled::plan`]: its length (4 bytes, little-endian), its bytes.
fn read_line(input: &mut impl Read) -> io::Result<String> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let mut line = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut line)?;
    String::from_utf8(line).map_err(io::Error::other)
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
    ) -> anyhow::Result<Spilled> {
        let dir = tempfile::tempdir()
            .map_err(|e| anyhow::anyhow!("cannot create a temporary folder for the plan: {e}"))?;
        crate::interrupt::remove_on_interrupt(dir.path().to_path_buf());
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
            let hash = crate::verify::line_hash(&line.json);
            file.write_all(&(line.json.len() as u32).to_le_bytes())?;
            file.write_all(line.json.as_bytes())?;
            offsets[t].push(*offset);
            *offset += 4 + line.json.len() as u64;
            types[t].push(Entry {
                key: line.key,
                hash,
                bytes: line.bytes as u32,
                group: 0,
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
            anyhow::bail!("cannot write the plan in {dir}: {error} (set TMPDIR to a folder with room for the uncompressed plan)");
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

    fn line(&self, t: usize, i: usize) -> PlanLine {
        let entry = &self.types[t][i];
        let read = || -> io::Result<String> {
            let mut file = File::open(&self.files[t])?;
            file.seek(SeekFrom::Start(self.offsets[t][i]))?;
            read_line(&mut file)
        };
        PlanLine {
            item_type: self.names[t].clone(),
            key: entry.key.clone(),
            // A line that cannot be read back shows as an item with other attributes.
            json: read().unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read a planned line back");
                String::new()
            }),
            bytes: entry.bytes as usize,
            hash: entry.hash,
        }
    }

    fn rounds(&self) -> Box<dyn Iterator<Item = Vec<PlanLine>> + '_> {
        let count = round_count(self.item_count());
        let mut readers: Vec<Option<BufReader<File>>> = self
            .files
            .iter()
            .map(|path| File::open(path).ok().map(BufReader::new))
            .collect();
        Box::new((0..count).map(move |r| {
            let mut round = Vec::new();
            for (t, range) in round_ranges(&self.types, r, count) {
                for i in range {
                    let json = match readers[t].as_mut().map(read_line) {
                        Some(Ok(json)) => json,
                        // Not written: the verification that follows finds the item missing.
                        _ => {
                            tracing::error!(item_type = %self.names[t], "cannot read the plan back");
                            readers[t] = None;
                            continue;
                        }
                    };
                    let entry = &self.types[t][i];
                    round.push(PlanLine {
                        item_type: self.names[t].clone(),
                        key: entry.key.clone(),
                        json,
                        bytes: entry.bytes as usize,
                        hash: entry.hash,
                    });
                }
            }
            round
        }))
    }
}
