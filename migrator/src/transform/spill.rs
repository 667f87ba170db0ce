//! Records on disk, for what a windowed plan cannot hold: sorted runs of lines written a window
//! at a time, merged back in key order. A record is a few fields, each its length (4 bytes,
//! little-endian) and its bytes; a run's records are sorted by their first two fields (the key).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The most runs merged at once: well under the usual limit of 1,024 open files.
const MAX_MERGED: usize = 128;

/// Writes one record of `fields`.
pub fn write_record(out: &mut impl Write, fields: &[&[u8]]) -> io::Result<()> {
    for field in fields {
        let len = u32::try_from(field.len()).map_err(io::Error::other)?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(field)?;
    }
    Ok(())
}

/// Reads one record of `n` fields; `None` at the end of the input.
pub fn read_record(input: &mut impl Read, n: usize) -> io::Result<Option<Vec<Vec<u8>>>> {
    let mut fields = Vec::with_capacity(n);
    for i in 0..n {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Err(e) if i == 0 && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            other => other?,
        }
        let mut field = vec![0u8; u32::from_le_bytes(len) as usize];
        input.read_exact(&mut field)?;
        fields.push(field);
    }
    Ok(Some(fields))
}

/// Sorted runs of records of `fields` fields each, in one folder, named `{prefix}-{n}`.
pub struct Runs {
    dir: PathBuf,
    prefix: String,
    fields: usize,
    files: Vec<PathBuf>,
}

impl Runs {
    pub fn new(dir: &Path, prefix: &str, fields: usize) -> Self {
        Runs {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            fields,
            files: Vec::new(),
        }
    }

    /// Whether no run was written.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn next_path(&self, n: usize) -> PathBuf {
        self.dir.join(format!("{}-{n}", self.prefix))
    }

    /// Writes one run: `records`, already sorted by key.
    pub fn write<'r>(&mut self, records: impl Iterator<Item = Vec<&'r [u8]>>) -> io::Result<()> {
        let path = self.next_path(self.files.len());
        let mut out = BufWriter::new(File::create(&path)?);
        for record in records {
            write_record(&mut out, &record)?;
        }
        out.flush()?;
        self.files.push(path);
        Ok(())
    }

    /// Every record of every run, in key order (runs of equal keys in the order written).
    pub fn merge(mut self) -> io::Result<Merge> {
        // Too many runs to open at once are merged a group at a time into longer runs first.
        let mut generation = 0;
        while self.files.len() > MAX_MERGED {
            generation += 1;
            let groups: Vec<Vec<PathBuf>> =
                self.files.chunks(MAX_MERGED).map(<[_]>::to_vec).collect();
            self.files.clear();
            for (n, group) in groups.into_iter().enumerate() {
                let path = self.dir.join(format!("{}-g{generation}-{n}", self.prefix));
                let mut out = BufWriter::new(File::create(&path)?);
                for record in Merge::open(&group, self.fields)? {
                    let (_, fields) = record?;
                    let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
                    write_record(&mut out, &fields)?;
                }
                out.flush()?;
                group.iter().try_for_each(std::fs::remove_file)?;
                self.files.push(path);
            }
        }
        Merge::open(&self.files, self.fields)
    }
}

/// A file's next record as the merge orders it: partition key, sort key, the file's index.
type Head = (Vec<u8>, Vec<u8>, usize);

/// Records of several sorted files merged in key order; each comes with the index of its file.
pub struct Merge {
    readers: Vec<BufReader<File>>,
    fields: usize,
    /// The next record of each file, by key, then file.
    heap: BinaryHeap<Reverse<Head>>,
    /// Each file's next record, past its key.
    rest: Vec<Vec<Vec<u8>>>,
}

impl Merge {
    /// Opens `files`, each holding records of `fields` fields sorted by key.
    pub fn open(files: &[PathBuf], fields: usize) -> io::Result<Self> {
        let mut merge = Merge {
            readers: Vec::new(),
            fields,
            heap: BinaryHeap::new(),
            rest: vec![Vec::new(); files.len()],
        };
        for (i, path) in files.iter().enumerate() {
            merge.readers.push(BufReader::new(File::open(path)?));
            merge.advance(i)?;
        }
        Ok(merge)
    }

    fn advance(&mut self, i: usize) -> io::Result<()> {
        if let Some(mut fields) = read_record(&mut self.readers[i], self.fields)? {
            let rest = fields.split_off(2);
            let sk = fields.pop().unwrap_or_default();
            let pk = fields.pop().unwrap_or_default();
            self.heap.push(Reverse((pk, sk, i)));
            self.rest[i] = rest;
        }
        Ok(())
    }
}

impl Iterator for Merge {
    type Item = io::Result<(usize, Vec<Vec<u8>>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((pk, sk, i)) = self.heap.pop()?;
        let mut fields = vec![pk, sk];
        fields.append(&mut self.rest[i]);
        Some(self.advance(i).map(|()| (i, fields)))
    }
}

/// A field read back as text (every field written was text).
pub fn text(field: Vec<u8>) -> io::Result<String> {
    String::from_utf8(field).map_err(io::Error::other)
}
