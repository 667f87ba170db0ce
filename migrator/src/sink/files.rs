//! DynamoDB-JSON files: one `{"Item": {…}}` per line, gzip-compressed when the name ends in `.gz`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::transform::PlanLine;

/// Writes every item to `path` and returns the bytes of JSON written (before compression).
pub fn write_items(path: &Path, items: &[PlanLine]) -> std::io::Result<u64> {
    let file = BufWriter::new(File::create(path)?);
    let gzip = path.extension().is_some_and(|e| e == "gz");
    let mut out: Box<dyn Write> = if gzip {
        Box::new(GzEncoder::new(file, Compression::fast()))
    } else {
        Box::new(file)
    };
    let mut bytes = 0u64;
    for line in items {
        out.write_all(line.json.as_bytes())?;
        out.write_all(b"\n")?;
        bytes += line.json.len() as u64 + 1;
    }
    out.flush()?;
    drop(out);
    Ok(bytes)
}
