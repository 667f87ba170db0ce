//! DynamoDB-JSON files: one `{"Item": {…}}` per line, gzip-compressed when the name ends in `.gz`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::transform::PlanLine;

/// A written plan file, still under a temporary name beside its own: [`PlanFile::commit`] puts
/// it in place; dropped before that, it is deleted, so a failed plan leaves no partial file.
pub struct PlanFile {
    partial: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl PlanFile {
    /// Renames the file to the name it was written for.
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.partial, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PlanFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// Writes every line of `chunks` for `path` (see [`PlanFile`]).
pub fn write_items(
    path: &Path,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> std::io::Result<PlanFile> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let file = PlanFile {
        partial: PathBuf::from(partial),
        path: path.to_path_buf(),
        committed: false,
    };
    crate::interrupt::remove_on_interrupt(file.partial.clone());
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&file.partial)?);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gzip = GzEncoder::new(out, Compression::fast());
        write_lines(&mut gzip, chunks)?;
        out = gzip.finish()?;
    } else {
        write_lines(&mut out, chunks)?;
    }
    out.flush()?;
    Ok(file)
}

fn write_lines(
    out: &mut impl Write,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> std::io::Result<()> {
    for line in chunks.flatten() {
        out.write_all(line.json.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
