//! DynamoDB-JSON files: one `{"Item": {…}}` per line, gzip-compressed when the name ends in `.gz`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::transform::PlanLine;

/// Writes every line of `chunks` to `path` (through a temporary file beside it, renamed once
/// complete, so a failed run leaves no partial plan) and returns the bytes of JSON written
/// (before compression).
pub fn write_items(
    path: &Path,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> std::io::Result<u64> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = write_to(&partial, path, chunks);
    match written {
        Ok(bytes) => std::fs::rename(&partial, path).map(|()| bytes),
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn write_to(
    file: &Path,
    name: &Path,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(file)?);
    let bytes = if name.extension().is_some_and(|e| e == "gz") {
        let mut gzip = GzEncoder::new(out, Compression::fast());
        let bytes = write_lines(&mut gzip, chunks)?;
        out = gzip.finish()?;
        bytes
    } else {
        write_lines(&mut out, chunks)?
    };
    out.flush()?;
    Ok(bytes)
}

fn write_lines(
    out: &mut impl Write,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> std::io::Result<u64> {
    let mut bytes = 0u64;
    for chunk in chunks {
        for line in chunk {
            out.write_all(line.json.as_bytes())?;
            out.write_all(b"\n")?;
            bytes += line.json.len() as u64 + 1;
        }
    }
    Ok(bytes)
}
