//! DynamoDB-JSON files: one `{"Item": {…}}` per line, gzip-compressed when the name ends in `.gz`.

use std::io::{BufWriter, Write};
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
    let mut out = BufWriter::with_capacity(1 << 20, Output::create(path)?);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gzip = GzEncoder::new(out, Compression::fast());
        write_lines(&mut gzip, chunks).map_err(error)?;
        out = gzip.finish().map_err(error)?;
    } else {
        write_lines(&mut out, chunks).map_err(error)?;
    }
    out.into_inner().map_err(|e| error(e.into_error()))
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
