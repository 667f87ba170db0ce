//! A plan's lines as data objects: each a gzip stream of `{"Item": …}` lines of at most a set
//! uncompressed size, handed to uploads that run while the next object is filled.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use futures::StreamExt;
use sha2::{Digest as _, Sha256};

use super::{ManifestObject, ManifestType, S3Error, S3Store};
use crate::item::{line_hash, PlanLine};

/// One object to upload.
pub struct Upload {
    pub key: String,
    pub body: Vec<u8>,
}

/// Fills data objects from lines, one after another, and sends each full one to the uploads.
pub struct ObjectWriter {
    /// Keys are `{stem}-{n:05}.json.gz`.
    stem: String,
    max_bytes: u64,
    current: Option<Current>,
    objects: Vec<ManifestObject>,
    types: BTreeMap<String, (u64, u128)>,
    uploads: tokio::sync::mpsc::Sender<Upload>,
}

struct Current {
    gzip: GzEncoder<Vec<u8>>,
    items: u64,
    bytes: u64,
    sha: Sha256,
}

/// What a writer wrote, once finished.
pub struct Written {
    pub objects: Vec<ManifestObject>,
    pub types: Vec<ManifestType>,
}

/// The uploads have stopped (their error is what they return).
#[derive(Debug)]
pub struct UploadsStopped;

impl ObjectWriter {
    /// A writer of objects named `{stem}-00000.json.gz` and on, each of at most `max_bytes`
    /// uncompressed (a line longer than that gets an object of its own).
    pub fn new(stem: String, max_bytes: u64, uploads: tokio::sync::mpsc::Sender<Upload>) -> Self {
        ObjectWriter {
            stem,
            max_bytes: max_bytes.max(1),
            current: None,
            objects: Vec::new(),
            types: BTreeMap::new(),
            uploads,
        }
    }

    /// Adds one line; blocks while the uploads are behind.
    pub fn add(&mut self, line: &PlanLine) -> Result<(), UploadsStopped> {
        let size = line.json.len() as u64 + 1;
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.items > 0 && c.bytes + size > self.max_bytes)
        {
            self.flush()?;
        }
        let current = self.current.get_or_insert_with(|| Current {
            gzip: GzEncoder::new(Vec::new(), Compression::fast()),
            items: 0,
            bytes: 0,
            sha: Sha256::new(),
        });
        for part in [line.json.as_bytes(), b"\n"] {
            current
                .gzip
                .write_all(part)
                .expect("writing to memory cannot fail");
            current.sha.update(part);
        }
        current.items += 1;
        current.bytes += size;
        let tally = self.types.entry(line.item_type.clone()).or_default();
        tally.0 += 1;
        tally.1 = tally.1.wrapping_add(line_hash(&line.json));
        Ok(())
    }

    /// Sends the last object and says what was written.
    pub fn finish(mut self) -> Result<Written, UploadsStopped> {
        self.flush()?;
        Ok(Written {
            objects: self.objects,
            types: self
                .types
                .into_iter()
                .map(|(item_type, (items, digest))| ManifestType {
                    item_type,
                    items,
                    digest: format!("{digest:032x}"),
                })
                .collect(),
        })
    }

    fn flush(&mut self) -> Result<(), UploadsStopped> {
        let Some(current) = self.current.take() else {
            return Ok(());
        };
        let body = current
            .gzip
            .finish()
            .expect("writing to memory cannot fail");
        let key = format!("{}-{:05}.json.gz", self.stem, self.objects.len());
        self.objects.push(ManifestObject {
            key: key.clone(),
            items: current.items,
            bytes: current.bytes,
            gzip_bytes: body.len() as u64,
            sha256: format!("{:x}", current.sha.finalize()),
        });
        self.uploads
            .blocking_send(Upload { key, body })
            .map_err(|_| UploadsStopped)
    }
}

/// Uploads every object arriving on `objects`, `in_flight` at once; returns the keys written,
/// or the first error (the channel is dropped then, which stops the writer).
pub async fn upload_all(
    store: S3Store,
    objects: tokio::sync::mpsc::Receiver<Upload>,
    in_flight: usize,
) -> Result<Vec<String>, (Vec<String>, S3Error)> {
    let mut uploads = tokio_stream::wrappers::ReceiverStream::new(objects)
        .map(|upload| {
            let store = store.clone();
            async move {
                store
                    .put(&upload.key, upload.body, "application/gzip")
                    .await
                    .map(|()| upload.key)
            }
        })
        .buffer_unordered(in_flight.max(1));
    let mut written = Vec::new();
    while let Some(done) = uploads.next().await {
        match done {
            Ok(key) => written.push(key),
            Err(error) => return Err((written, error)),
        }
    }
    Ok(written)
}
