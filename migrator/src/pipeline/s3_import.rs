//! `import`: the objects `export s3` wrote (every shard's) built into a new table by DynamoDB's
//! ImportTable, followed to its end, then the table compared with the manifests: counts and
//! digests per item type, and, when they differ, every line of the objects that is not in the
//! table as written, by object, line and key.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::check::{each_item, ScanOptions};
use super::combine::{covers, Sides};
use super::s3_export::{data_prefix, manifest_prefix};
use super::target::Target;
use crate::error::{Error, Outcome};
use crate::item::{line_hash, line_to_item, ItemKey, Shard};
use crate::report::{to_json, write_pair};
use crate::sink::dynamodb::{
    import_id, log_group_name, spec_layout, DynamoSink, Existing, ImportSource, ImportState,
    ItemNames,
};
use crate::sink::s3::{Manifest, ManifestType, S3Config, S3Location, S3Store, MANIFEST_FORMAT};
use crate::spec::Spec;
use crate::verify::TypeCheck;

/// What DynamoDB does after a line it cannot make an item of (ScyllaDB's conformance tests
/// measured it against AWS): the lines after it in the object are never read.
const SKIPS_REST: &str = "; DynamoDB skips the rest of the object after such a line";

/// Lines of the import's CloudWatch log read at most.
const LOGGED_SHOWN: i32 = 20;

/// Differences located by line shown in the report at most.
const MAX_LOCATED: usize = 1000;

/// What `import` is asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The spec's folder: the new table's keys, indexes and billing.
    pub spec: PathBuf,
    pub from: S3Location,
    pub s3: S3Config,
    /// The table to create, and where DynamoDB is.
    pub target: Target,
    /// How often to ask how the import stands.
    pub poll: Duration,
    pub scan: ScanOptions,
    pub report: Option<PathBuf>,
}

/// How an import went, and the table against the manifests.
#[derive(Debug, Serialize)]
pub struct ImportRun {
    pub table: String,
    pub target: String,
    pub from: String,
    pub shards: u32,
    pub objects: usize,
    /// Uncompressed bytes of the objects, what ImportTable bills.
    pub bytes: u64,
    #[serde(flatten)]
    pub import: ImportState,
    /// Where the import's errors are logged.
    pub error_log: Option<String>,
    /// The first lines of that log (read when the endpoint names a CloudWatch Logs group).
    pub logged: Vec<String>,
    /// Per item type, the manifests against the table (empty when no table was made).
    pub types: Vec<TypeCheck>,
    pub scanned: u64,
    /// Each line of the objects the table does not hold as written, and each item of the table
    /// no line made (at most 1,000).
    pub located: Vec<String>,
    pub matches: bool,
    pub seconds: f64,
}

impl ImportRun {
    /// Success only when the import completed without an error and the table is the
    /// manifests' items exactly.
    pub fn outcome(&self) -> Outcome {
        if self.import.status == "COMPLETED" && self.import.errors == 0 && self.matches {
            Outcome::Success
        } else {
            Outcome::CheckFailed
        }
    }

    /// The report for people.
    pub fn markdown(&self) -> String {
        let verdict = if self.matches {
            "the table holds exactly the exported items (counts and digests per type)"
        } else {
            "**the table differs from the exported items**"
        };
        let mut md = format!(
            "# Import of {} into table {}\n\n{}: ImportTable {} ({}): {} items processed, {} imported, {} errors; {} objects of {} shard(s), {} bytes uncompressed.\n",
            self.from,
            self.table,
            self.target,
            self.import.status,
            self.import.arn,
            self.import.processed_items,
            self.import.imported_items,
            self.import.errors,
            self.objects,
            self.shards,
            self.bytes,
        );
        if let Some(failure) = &self.import.failure {
            md += &format!("\nThe import says: {failure}\n");
        }
        if let Some(log) = &self.error_log {
            md += &format!("\n{log}\n");
        }
        if !self.logged.is_empty() {
            md += "\nIts first lines:\n\n";
            for line in &self.logged {
                md += &format!("- {line}\n");
            }
        }
        if self.types.is_empty() {
            return md;
        }
        md += &format!(
            "\nVerification: {verdict}; {} items scanned.\n\n| item type | exported | in table | digest (export) | digest (table) | |\n|---|---:|---:|---|---|---|\n",
            self.scanned
        );
        for t in &self.types {
            md += &t.markdown_row();
        }
        if !self.located.is_empty() {
            md += "\nWhere the table differs from the exported lines:\n\n";
            for line in self.located.iter().take(20) {
                md += &format!("- {line}\n");
            }
            if self.located.len() > 20 {
                md += &format!(
                    "- … and {} more in the JSON report\n",
                    self.located.len() - 20
                );
            }
        }
        md
    }
}

/// Checks the export is whole, starts ImportTable (or finds the one a rerun of the same
/// command started), waits for it to end, then compares the new table with the manifests.
///
/// # Errors
/// A spec that cannot be read, an export that is not whole or was made with another table
/// layout, a table that already exists, S3 or DynamoDB that cannot be reached, an import that
/// ended without making the table.
pub async fn import_s3(request: &ImportRequest) -> Result<ImportRun, Error> {
    let started = Instant::now();
    let spec = crate::spec::load(&request.spec)?;
    let store = S3Store::connect(&request.s3, &request.from.bucket).await?;
    let manifests = read_manifests(&store, &request.from, &spec).await?;
    check_objects(&store, &request.from, &manifests).await?;
    let sink = request.target.connect().await?;
    let source = ImportSource {
        bucket: request.from.bucket.clone(),
        prefix: data_prefix(&request.from),
        client_token: client_token(&request.target.table, &manifests),
    };
    let existing = sink
        .existing_import(&source.client_token)
        .await
        .map_err(|e| request.target.error(e))?;
    let state = match existing {
        Existing::Other => {
            return Err(Error::Usage(format!(
                "table {} already exists: ImportTable only makes a new table; name another --table, or load the existing one with migrator migrate",
                request.target.table
            )))
        }
        Existing::Ours(state) => {
            crate::say!(
                "table {} is being made by import {} of this export (an earlier run): following it",
                request.target.table,
                state.arn
            );
            state
        }
        Existing::NoTable => {
            let state = sink
                .start_import(&spec.table, &source)
                .await
                .map_err(|e| request.target.error(e))?;
            crate::say!(
                "import {} of {} into table {} started",
                state.arn,
                request.from,
                request.target.table
            );
            state
        }
    };
    let throughput = &spec.table.throughput;
    if throughput.warm_write_units_per_second.is_some()
        || throughput.warm_read_units_per_second.is_some()
    {
        crate::say!(
            "warning: ImportTable takes no warm throughput; once the table is made, warm it with UpdateTable (aws dynamodb update-table --table-name {} --warm-throughput …)",
            request.target.table
        );
    }
    let state = follow(&sink, state, request, started).await?;
    let error_log = (state.errors > 0 || state.status != "COMPLETED").then(|| where_logged(&state));
    let mut run = ImportRun {
        table: request.target.table.clone(),
        target: request.target.describe(),
        from: request.from.to_string(),
        shards: manifests.first().map_or(1, |(s, _)| s.count),
        objects: manifests.iter().map(|(_, m)| m.objects.len()).sum(),
        bytes: manifests.iter().map(|(_, m)| m.bytes).sum(),
        import: state,
        error_log,
        logged: Vec::new(),
        types: Vec::new(),
        scanned: 0,
        located: Vec::new(),
        matches: false,
        seconds: 0.0,
    };
    if let (Some(group), Some(_)) = (&run.import.log_group, &run.error_log) {
        match sink
            .import_errors(group, &run.import.arn, LOGGED_SHOWN)
            .await
        {
            Ok(lines) => run.logged = lines,
            Err(e) => {
                let said = run.error_log.take().unwrap_or_default();
                run.error_log = Some(format!("{said} (reading it failed: {e})"));
            }
        }
    }
    // A failed import may leave no table; one that made it is compared whatever its status.
    match sink.ensure_table(&spec.table, false).await {
        Ok(_) => compare(&sink, &spec, &store, &manifests, request, &mut run).await?,
        Err(crate::sink::dynamodb::SinkError::TableMissing(_)) => {
            let failure = run.import.failure.clone().unwrap_or_default();
            return Err(Error::Usage(format!(
                "import {} ended {} without making table {}: {failure}; {}",
                run.import.arn,
                run.import.status,
                run.table,
                run.error_log.as_deref().unwrap_or_default()
            )));
        }
        Err(e) => return Err(request.target.error(e)),
    }
    run.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &request.report {
        write_pair(path, &to_json(&run), || run.markdown())?;
    }
    Ok(run)
}

/// Asks how the import stands every `request.poll` until it has ended, saying so each time.
async fn follow(
    sink: &DynamoSink,
    mut state: ImportState,
    request: &ImportRequest,
    started: Instant,
) -> Result<ImportState, Error> {
    while !state.ended() {
        tokio::time::sleep(request.poll).await;
        state = sink
            .describe_import(&state.arn)
            .await
            .map_err(|e| request.target.error(e))?;
        // DynamoDB's counts stay at 0 until the import ends: while it runs, only the time says
        // anything.
        if state.ended() {
            crate::say!(
                "import {} after {:.0} s: {} items processed ({} bytes), {} imported, {} errors",
                state.status,
                started.elapsed().as_secs_f64(),
                state.processed_items,
                state.processed_bytes,
                state.imported_items,
                state.errors
            );
        } else {
            crate::say!(
                "import {} for {:.0} s (DynamoDB gives its counts when it ends)",
                state.status,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(state)
}

/// Every shard's manifest under the export's prefix, checked: ours, one per shard of one
/// count, made with the spec's table layout.
async fn read_manifests(
    store: &S3Store,
    from: &S3Location,
    spec: &Spec,
) -> Result<Vec<(Shard, Manifest)>, Error> {
    let prefix = manifest_prefix(from);
    let layout = spec_layout(&spec.table);
    let mut manifests = Vec::new();
    for (key, _) in store.list(&prefix).await? {
        let url = from.url_of(&key);
        let bad = |why: String| Error::Usage(format!("{url}: {why}"));
        let text = store.get(&key).await?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .ok()
            .filter(|m: &Manifest| m.format == MANIFEST_FORMAT)
            .ok_or_else(|| {
                bad(format!(
                    "not a manifest of migrator export s3 ({MANIFEST_FORMAT}); keep only manifests under {}",
                    from.url_of(&prefix)
                ))
            })?;
        let shard: Shard = manifest.shard.parse().map_err(bad)?;
        if let Some(t) = manifest.types.iter().find(|t| digest_of(t).is_none()) {
            return Err(bad(format!(
                "the digest of {} is not hexadecimal; export again",
                t.item_type
            )));
        }
        if manifest.layout != layout {
            return Err(bad(format!(
                "exported for a table with {}, but the spec says {layout}; import with the spec the export was made with",
                manifest.layout
            )));
        }
        manifests.push((shard, manifest));
    }
    if manifests.is_empty() {
        return Err(Error::Usage(format!(
            "no manifest under {}: export there first (migrator export s3 --to {from}); an export that stopped early writes none",
            from.url_of(&prefix)
        )));
    }
    covers(
        manifests.iter().map(|(s, _)| (s.index, s.count)),
        "shard",
        "manifest",
    )
    .map_err(|e| Error::Usage(format!("{}: {e}", from.url_of(&prefix))))?;
    Ok(manifests)
}

/// A manifest's digest of one item type, as the sum verification adds to.
fn digest_of(t: &ManifestType) -> Option<u128> {
    u128::from_str_radix(&t.digest, 16).ok()
}

/// Checks the data prefix holds exactly the manifests' objects: ImportTable reads every object
/// under it, so a stray one would be imported too, and a missing one would be lost.
async fn check_objects(
    store: &S3Store,
    from: &S3Location,
    manifests: &[(Shard, Manifest)],
) -> Result<(), Error> {
    let listed: std::collections::BTreeSet<String> = store
        .list(&data_prefix(from))
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let named: std::collections::BTreeSet<&str> = manifests
        .iter()
        .flat_map(|(_, m)| m.objects.iter().map(|o| o.key.as_str()))
        .collect();
    if let Some(missing) = named.iter().find(|k| !listed.contains(**k)) {
        return Err(Error::Usage(format!(
            "{} is in a manifest but not in S3: the export is not whole; export again",
            from.url_of(missing)
        )));
    }
    if let Some(extra) = listed.iter().find(|k| !named.contains(k.as_str())) {
        return Err(Error::Usage(format!(
            "{} is in no manifest, and ImportTable would import it too; remove it, or export to a new prefix",
            from.url_of(extra)
        )));
    }
    Ok(())
}

/// The same export into the same table gives the same token, so a rerun after a crash finds the
/// import it started (DynamoDB keeps a token for 8 hours) instead of starting another.
fn client_token(table: &str, manifests: &[(Shard, Manifest)]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(table.as_bytes());
    for (_, manifest) in manifests {
        for object in &manifest.objects {
            hash.update(object.key.as_bytes());
            hash.update(object.sha256.as_bytes());
        }
    }
    format!("{:x}", hash.finalize())[..32].to_string()
}

/// Where the import's errors are logged: the CloudWatch Logs group DynamoDB names, or what to
/// do when the endpoint names none.
fn where_logged(state: &ImportState) -> String {
    let id = import_id(&state.arn);
    match &state.log_group {
        Some(arn) => {
            let group = log_group_name(arn);
            format!(
                "DynamoDB logged each line it could not import to CloudWatch Logs group {group}, in the streams of this import: aws logs filter-log-events --log-group-name {group} --log-stream-name-prefix {id}"
            )
        }
        None => "this endpoint names no CloudWatch Logs group for the import's errors (on AWS, DescribeImport's CloudWatchLogGroupArn does); the lines the table lacks are located below".to_string(),
    }
}

/// Compares the table with the manifests' counts and digests; when they differ, locates every
/// difference by line.
async fn compare(
    sink: &DynamoSink,
    spec: &Spec,
    store: &S3Store,
    manifests: &[(Shard, Manifest)],
    request: &ImportRequest,
    run: &mut ImportRun,
) -> Result<(), Error> {
    let mut sides = Sides::new(spec);
    for (_, manifest) in manifests {
        for t in &manifest.types {
            // Checked when the manifests were read.
            sides.planned(&t.item_type, t.items, digest_of(t).unwrap_or_default());
        }
    }
    run.scanned = each_item(sink, spec, &request.scan, |item| {
        sides.scanned(&item);
        Ok(())
    })
    .await
    .map_err(|e| request.target.error(e))?;
    run.types = sides.checks();
    run.matches = run.types.iter().all(|t| t.matches);
    if !run.matches || run.import.errors > 0 {
        run.located = locate(sink, spec, store, &request.from, manifests, request).await?;
    }
    Ok(())
}

/// An exported line: its hash and where it is.
struct Exported {
    hash: u128,
    at: String,
    item_type: String,
}

/// Reads the objects back and the table again, and says each line the table lacks or holds
/// otherwise, each line that is not an item, and each item of the table no line made.
async fn locate(
    sink: &DynamoSink,
    spec: &Spec,
    store: &S3Store,
    from: &S3Location,
    manifests: &[(Shard, Manifest)],
    request: &ImportRequest,
) -> Result<Vec<String>, Error> {
    let names = ItemNames::of(&spec.table);
    let mut lines: HashMap<ItemKey, Exported> = HashMap::new();
    let mut located = Vec::new();
    for object in manifests.iter().flat_map(|(_, m)| &m.objects) {
        let url = from.url_of(&object.key);
        let body = store.get(&object.key).await?;
        let mut text = String::new();
        if let Err(e) = flate2::read::GzDecoder::new(body.as_slice()).read_to_string(&mut text) {
            located.push(format!("{url}: not gzip text ({e})"));
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let at = format!("line {} of {url}", n + 1);
            let item = match line_to_item(line) {
                Ok(item) => item,
                Err(e) => {
                    located.push(format!("{at}: not an item ({e}){SKIPS_REST}"));
                    continue;
                }
            };
            if let Some(name) = lacks_key(&names, &item) {
                located.push(format!(
                    "{at}: the item has no {name}, the table's key, so DynamoDB cannot import it{SKIPS_REST}"
                ));
                continue;
            }
            let read = names.read(&item);
            let exported = Exported {
                hash: line_hash(&read.line),
                at,
                item_type: read.item_type.unwrap_or_else(|| "item".into()),
            };
            lines.insert(read.key, exported);
        }
    }
    let mut differences = Vec::new();
    each_item(sink, spec, &request.scan, |item| {
        match lines.remove(&item.key) {
            None => differences.push(format!(
                "{} {}: in the table, but no exported line makes it",
                item.item_type.as_deref().unwrap_or("item"),
                show_key(&item.key)
            )),
            Some(line) if line.hash != line_hash(&item.line) => differences.push(format!(
                "{}: {} {} differs in the table",
                line.at,
                line.item_type,
                show_key(&item.key)
            )),
            Some(_) => {}
        }
        Ok(())
    })
    .await
    .map_err(|e| request.target.error(e))?;
    for (key, line) in lines {
        differences.push(format!(
            "{}: {} {} is not in the table",
            line.at,
            line.item_type,
            show_key(&key)
        ));
    }
    differences.sort();
    located.extend(differences);
    located.truncate(MAX_LOCATED);
    Ok(located)
}

/// The name of the table's key attribute `item` lacks, if it lacks one.
fn lacks_key<'a>(names: &'a ItemNames, item: &crate::item::SdkItem) -> Option<&'a str> {
    std::iter::once(&names.partition)
        .chain(&names.sort)
        .find(|name| !item.contains_key(*name))
        .map(String::as_str)
}

fn show_key((pk, sk): &ItemKey) -> String {
    if sk.is_empty() {
        format!("key {pk}")
    } else {
        format!("key {pk} / {sk}")
    }
}

#[cfg(test)]
mod tests {
    use super::where_logged;
    use crate::sink::dynamodb::ImportState;

    fn state(log_group: Option<&str>) -> ImportState {
        ImportState {
            arn: "arn:aws:dynamodb:eu-west-1:123456789012:table/rootski/import/01700000000000-a1b2c3d4".into(),
            status: "COMPLETED".into(),
            processed_items: 10,
            processed_bytes: 2000,
            imported_items: 9,
            errors: 1,
            failure: None,
            log_group: log_group.map(str::to_string),
            client_token: None,
        }
    }

    #[test]
    fn the_error_log_is_the_group_dynamodb_names_and_the_imports_streams() {
        let group = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws-dynamodb/imports:*";
        assert_eq!(
            where_logged(&state(Some(group))),
            "DynamoDB logged each line it could not import to CloudWatch Logs group /aws-dynamodb/imports, in the streams of this import: aws logs filter-log-events --log-group-name /aws-dynamodb/imports --log-stream-name-prefix 01700000000000-a1b2c3d4"
        );
        assert!(where_logged(&state(None))
            .starts_with("this endpoint names no CloudWatch Logs group for the import's errors"));
    }
}
