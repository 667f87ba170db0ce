//! `export s3`: a plan (whole, or one shard's) written to S3 as gzip DynamoDB-JSON objects of a
//! set size while it is made, then its manifest; what `import` hands to ImportTable.

use std::path::PathBuf;
use std::time::Instant;

use super::input::Input;
use super::plan::{plan_to, Chunks, PlanRequest};
use crate::error::Error;
use crate::item::Shard;
use crate::report::{PlanReport, Prices};
use crate::sink::dynamodb::spec_layout;
use crate::sink::s3::{
    upload_all, Manifest, ObjectWriter, S3Config, S3Location, S3Store, Written, MANIFEST_FORMAT,
};

/// What `export s3` is asked to do.
#[derive(Debug, Clone)]
pub struct S3ExportRequest {
    pub input: Input,
    pub to: S3Location,
    pub s3: S3Config,
    /// Uncompressed bytes per data object, at most.
    pub object_bytes: u64,
    /// Uploads in flight at once.
    pub uploads: usize,
    /// Where the plan's report goes.
    pub report: Option<PathBuf>,
    pub prices: Prices,
}

/// What an export wrote.
#[derive(Debug)]
pub struct S3Export {
    /// `s3://…/manifests/shard-I-of-N.json`.
    pub manifest: String,
    pub objects: usize,
    pub items: u64,
    pub bytes: u64,
    pub gzip_bytes: u64,
    /// Objects of an earlier export of the same shard that this one replaced and removed.
    pub removed: usize,
    pub report: PlanReport,
}

/// The prefix under which data objects go (and the one ImportTable reads).
pub(super) fn data_prefix(to: &S3Location) -> String {
    format!("{}/", to.key("data"))
}

/// The prefix under which manifests go.
pub(super) fn manifest_prefix(to: &S3Location) -> String {
    format!("{}/", to.key("manifests"))
}

/// Plans the request's items and uploads them as they are made; the manifest is written last,
/// once every object is, so an export that stops early leaves none (and its objects are
/// removed).
///
/// # Errors
/// A spec or source that cannot be read, items that cannot be made, S3 that cannot be written.
pub async fn export_s3(request: &S3ExportRequest) -> Result<S3Export, Error> {
    let started = Instant::now();
    let spec = request.input.load_spec()?;
    let shard = spec.shard.unwrap_or(Shard { index: 0, count: 1 });
    let store = S3Store::connect(&request.s3, &request.to.bucket).await?;
    let stem = format!(
        "{}shard-{}-of-{}",
        data_prefix(&request.to),
        shard.index,
        shard.count
    );
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let uploads = tokio::spawn(upload_all(store.clone(), rx, request.uploads));
    let (object_bytes, writer_stem) = (request.object_bytes, stem.clone());
    let writer = move |chunks: Chunks| -> Result<Written, Error> {
        let mut objects = ObjectWriter::new(writer_stem, object_bytes, tx);
        let stopped = |_| Error::Stopped("uploading");
        for chunk in chunks {
            for line in &chunk {
                objects.add(line).map_err(stopped)?;
            }
        }
        objects.finish().map_err(stopped)
    };
    let plan_request = PlanRequest {
        input: request.input.clone(),
        out: None,
        report: request.report.clone(),
        prices: request.prices,
    };
    let planned = plan_to(&spec, &plan_request, Some(writer), started).await;
    let uploaded = uploads.await.map_err(|_| Error::Stopped("uploading"))?;
    let (report, written) = match (planned, uploaded) {
        (Ok((report, Some(written))), Ok(_)) => (report, written),
        (planned, uploaded) => {
            // Objects without a manifest are never imported, but they cost: remove them.
            let (keys, upload_error) = match uploaded {
                Ok(keys) => (keys, None),
                Err((keys, error)) => (keys, Some(error)),
            };
            let _ = store.delete(&keys).await;
            return Err(match (planned, upload_error) {
                (Err(error), _) if !matches!(error, Error::Stopped(_)) => error,
                (_, Some(error)) => error.into(),
                (Err(error), None) => error,
                (Ok(_), None) => Error::Stopped("writing the objects"),
            });
        }
    };
    let mine: std::collections::BTreeSet<&str> =
        written.objects.iter().map(|o| o.key.as_str()).collect();
    let stale: Vec<String> = store
        .list(&format!("{stem}-"))
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !mine.contains(key.as_str()))
        .collect();
    store.delete(&stale).await?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        spec: request.input.spec.display().to_string(),
        layout: spec_layout(&spec.table),
        source: report.source.clone(),
        as_of: spec.as_of.to_rfc3339(),
        shard: shard.to_string(),
        input_format: "DYNAMODB_JSON".to_string(),
        compression: "GZIP".to_string(),
        items: written.objects.iter().map(|o| o.items).sum(),
        bytes: written.objects.iter().map(|o| o.bytes).sum(),
        types: written.types,
        objects: written.objects,
    };
    let key = format!("{}{}", manifest_prefix(&request.to), Manifest::name(shard));
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest is plain data");
    store.put(&key, json, "application/json").await?;
    if let Some(path) = &request.report {
        report.write(path)?;
    }
    Ok(S3Export {
        manifest: request.to.url_of(&key),
        objects: manifest.objects.len(),
        items: manifest.items,
        bytes: manifest.bytes,
        gzip_bytes: manifest.objects.iter().map(|o| o.gzip_bytes).sum(),
        removed: stale.len(),
        report,
    })
}
