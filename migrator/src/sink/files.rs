//! DynamoDB-JSON files: one `{"Item": {…}}` per line, gzip-compressed when the name ends in `.gz`.

use std::io::{BufWriter, IoSlice, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::item::PlanLine;
use crate::output::{Output, OutputError};

/// Writes every line of `chunks` for `path`, and returns the output uncommitted: a regular file
/// is still under its temporary name, so a plan found bad afterwards leaves nothing behind
/// (see [`Output`]).
///
/// # Errors
/// The output cannot be created or written (a full disk, a closed pipe).
pub fn write_items(
    path: &Path,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> Result<Output, OutputError> {
    let error = |e: std::io::Error| OutputError::new(path, e);
    // Smaller than most vectored writes of `write_lines` (512 lines of Rootski's plan average
    // about 390 KB), which then go past it without a copy; short lines gather in it.
    let mut out = BufWriter::with_capacity(1 << 18, Output::create(path)?);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gzip = GzEncoder::new(out, Compression::fast());
        write_lines(&mut gzip, chunks).map_err(error)?;
        out = gzip.finish().map_err(error)?;
    } else {
        write_lines(&mut out, chunks).map_err(error)?;
    }
    out.into_inner().map_err(|e| error(e.into_error()))
}

/// Lines handed to one vectored write: two slices each, within the system's usual limit of
/// 1,024 slices per call.
const LINES_PER_WRITE: usize = 512;

/// Writes each line and its newline; lines go out straight from where they were built, many per
/// call (a buffer smaller than a call's lines passes them through without copying them).
fn write_lines(
    out: &mut impl Write,
    chunks: impl Iterator<Item = Vec<PlanLine>>,
) -> std::io::Result<()> {
    for chunk in chunks {
        let mut slices = Vec::with_capacity(2 * LINES_PER_WRITE);
        for lines in chunk.chunks(LINES_PER_WRITE) {
            slices.clear();
            for line in lines {
                slices.push(IoSlice::new(line.json.as_bytes()));
                slices.push(IoSlice::new(b"\n"));
            }
            let mut left = &mut slices[..];
            while !left.is_empty() {
                match out.write_vectored(left) {
                    Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => IoSlice::advance_slices(&mut left, n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}
