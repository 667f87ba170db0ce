//! The commands on a table: `create-table`, `migrate` (plan, load, prune, check) and `verify` /
//! `diff` (plan, check), each ending in the report the CLI renders.

use std::path::PathBuf;
use std::time::Instant;

use super::check::{check, PatternSource, ScanOptions};
use super::input::Input;
use super::load::{load, prune};
use super::target::Target;
use crate::error::{Error, Outcome};
use crate::redact::Redacted;
use crate::report::{Mode, TableReport};
use crate::sink::checkpoint::Checkpoint;
use crate::sink::dynamodb::{Governor, Ttl};
use crate::source::SourceLocation;
use crate::spec::{self, Spec, Throughput};

/// What `migrate` is asked to do.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    pub input: Input,
    pub target: Target,
    /// Create the table from the spec when it does not exist.
    pub create_table: bool,
    /// Throughput settings for a new table, over the spec's.
    pub throughput: Throughput,
    /// Plan and check, write nothing.
    pub dry_run: bool,
    /// The write budget, WCU per second.
    pub max_wcu: Option<u32>,
    /// Where the load records its batches.
    pub checkpoint: PathBuf,
    pub scan: ScanOptions,
    /// Delete the items the plan does not make.
    pub prune: bool,
    /// Run the access patterns after the load.
    pub patterns: bool,
    pub report: Option<PathBuf>,
}

/// What `verify` and `diff` are asked to do.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    pub input: Input,
    pub target: Target,
    pub scan: ScanOptions,
    pub patterns: bool,
    pub report: Option<PathBuf>,
}

/// How a command on a table ended: its report, and the error that stopped its load part-way
/// (the report says what was written before it).
pub struct TableRun {
    pub report: TableReport,
    pub mode: Mode,
    pub stopped: Option<Error>,
}

impl TableRun {
    /// Success, or a failed check when the table differs from the plan (a migration or a
    /// verification; a dry run or a diff only reports).
    pub fn outcome(&self) -> Outcome {
        if self.report.verify.matches || self.report.dry_run || self.mode == Mode::Diff {
            Outcome::Success
        } else {
            Outcome::CheckFailed
        }
    }
}

/// Whether a table was created (with what throughput settings), and what became of its TTL
/// when there is something to say.
pub struct Created {
    pub created: bool,
    pub settings: String,
    pub ttl: Option<String>,
}

/// `spec`'s throughput settings, each replaced by the one `overrides` gives.
fn with_throughput(mut spec: Spec, overrides: Throughput) -> Spec {
    let t = &mut spec.table.throughput;
    t.max_write_request_units = overrides
        .max_write_request_units
        .or(t.max_write_request_units);
    t.warm_write_units_per_second = overrides
        .warm_write_units_per_second
        .or(t.warm_write_units_per_second);
    t.warm_read_units_per_second = overrides
        .warm_read_units_per_second
        .or(t.warm_read_units_per_second);
    spec
}

/// Creates the spec's table (or checks the existing one) and turns its TTL on.
pub async fn create_table(
    spec_dir: &std::path::Path,
    target: &Target,
    throughput: Throughput,
) -> Result<Created, Error> {
    let spec = with_throughput(spec::load(spec_dir)?, throughput);
    let sink = target.connect().await?;
    let created = sink
        .ensure_table(&spec.table, true)
        .await
        .map_err(|e| target.error(e))?;
    let ttl = sink.ensure_ttl(&spec.table).await?;
    Ok(Created {
        created,
        settings: spec.table.throughput.describe(),
        ttl: ttl_message(spec.table.ttl_attribute.as_deref(), ttl),
    })
}

/// The line that says what became of the spec's TTL attribute, when there is one to say.
fn ttl_message(spec_ttl: Option<&str>, ttl: Ttl) -> Option<String> {
    let attribute = spec_ttl.unwrap_or_default();
    match ttl {
        Ttl::None | Ttl::AlreadyOn => None,
        Ttl::TurnedOn => Some(format!("TTL turned on for attribute {attribute}")),
        Ttl::Unsupported => Some(format!(
            "warning: this endpoint has no UpdateTimeToLive, so TTL on attribute {attribute} is not on; turn it on where the table lives (aws dynamodb update-time-to-live)"
        )),
    }
}

/// The source the access patterns' SQL runs against, when they are asked for.
fn patterns_url(location: &SourceLocation, wanted: bool) -> Result<Option<Redacted>, Error> {
    match (location, wanted) {
        (_, false) => Ok(None),
        (SourceLocation::Postgres(url), true) => Ok(Some(url.clone())),
        (SourceLocation::Csv { .. }, true) => Err(Error::Usage(
            "--patterns runs each pattern's SQL, so it needs a postgres:// source; load the CSV folder with `migrator dataset load` first".into(),
        )),
    }
}

/// The one-shot migration: plan, (create the table,) write every item not yet written, prune
/// when asked, then compare the table with the plan.
pub async fn migrate(request: &MigrateRequest) -> Result<TableRun, Error> {
    let started = Instant::now();
    let target = &request.target;
    let patterns_from = patterns_url(&request.input.source, request.patterns)?;
    let spec = with_throughput(request.input.load_spec()?, request.throughput);
    let sink = target.connect().await?;
    let describe = target.describe();
    let creating = request.create_table && !request.dry_run;
    let created = sink
        .ensure_table(&spec.table, creating)
        .await
        .map_err(|e| target.error(e))?;
    if creating {
        let ttl = sink
            .ensure_ttl(&spec.table)
            .await
            .map_err(|e| target.error(e))?;
        if let Some(line) = ttl_message(spec.table.ttl_attribute.as_deref(), ttl) {
            crate::say!("{line}");
        }
    }
    let (location, input) = request.input.checked(&spec).await?;
    let mut in_memory = None;
    let plan = input.plan(&spec, &mut in_memory)?;
    let governor = Governor::new(request.max_wcu.map(f64::from));
    let checkpoint = if request.dry_run {
        None
    } else {
        let header = format!("migrator checkpoint: table {} in {describe}", target.table);
        Some(Checkpoint::open(&request.checkpoint, &header)?)
    };
    let resumed = checkpoint.as_ref().map_or(0, Checkpoint::recorded);
    crate::say!(
        "planned {} items; {} table {} in {describe}{}",
        plan.item_count(),
        if request.dry_run {
            "dry run: not writing to"
        } else {
            "writing them to"
        },
        target.table,
        match (&checkpoint, resumed) {
            (Some(c), 1..) => format!(
                "; resuming from {}: {resumed} batches already written",
                c.path().display()
            ),
            _ => String::new(),
        }
    );
    let mut report = TableReport {
        dry_run: request.dry_run,
        table_created: created,
        created_with: (created && !spec.table.throughput.describe().is_empty())
            .then(|| spec.table.throughput.describe()),
        max_wcu: request.max_wcu,
        shard: spec.shard.map(|s| s.to_string()),
        ..TableReport::new(&target.table, describe, &location)
    };
    if let Some(checkpoint) = &checkpoint {
        let (load, stopped) = load(&sink, target, &spec, plan, &governor, checkpoint);
        report.load = Some(load);
        if let Some(error) = stopped {
            // The report names the table already: its error is said without the place.
            report.error = Some(match &error {
                Error::Dynamo { source, .. } => source.to_string(),
                other => other.to_string(),
            });
            report.seconds = started.elapsed().as_secs_f64();
            return finish(
                report,
                Mode::Migration,
                request.report.as_ref(),
                Some(error),
            );
        }
    }
    if request.prune {
        report.pruned = prune(&sink, &spec, plan, &request.scan, &governor)
            .await
            .map_err(|e| target.error(e))?;
    }
    let search_path = request.input.schemas(&spec).search;
    let patterns = patterns_from.as_ref().map(|url| PatternSource {
        url,
        search_path: &search_path,
    });
    check(&sink, &spec, plan, &request.scan, patterns, &mut report).await?;
    report.seconds = started.elapsed().as_secs_f64();
    let run = finish(report, Mode::Migration, request.report.as_ref(), None)?;
    if run.outcome() == Outcome::Success {
        if let Some(checkpoint) = checkpoint {
            checkpoint.remove();
        }
    }
    Ok(run)
}

/// `verify` (`Mode::Verification`) or `diff` (`Mode::Diff`): plan, read the table back, compare.
pub async fn compare(request: &CompareRequest, mode: Mode) -> Result<TableRun, Error> {
    let started = Instant::now();
    let target = &request.target;
    let patterns_from = patterns_url(&request.input.source, request.patterns)?;
    let spec: Spec = request.input.load_spec()?;
    let sink = target.connect().await?;
    sink.ensure_table(&spec.table, false)
        .await
        .map_err(|e| target.error(e))?;
    let (location, input) = request.input.checked(&spec).await?;
    let mut in_memory = None;
    let plan = input.plan(&spec, &mut in_memory)?;
    let mut report = TableReport::new(&target.table, target.describe(), &location);
    report.shard = spec.shard.map(|s| s.to_string());
    let search_path = request.input.schemas(&spec).search;
    let patterns = patterns_from.as_ref().map(|url| PatternSource {
        url,
        search_path: &search_path,
    });
    check(&sink, &spec, plan, &request.scan, patterns, &mut report).await?;
    report.seconds = started.elapsed().as_secs_f64();
    finish(report, mode, request.report.as_ref(), None)
}

/// Writes the report where asked and hands the run to the CLI.
fn finish(
    report: TableReport,
    mode: Mode,
    path: Option<&PathBuf>,
    stopped: Option<Error>,
) -> Result<TableRun, Error> {
    if let Some(path) = path {
        report.write(path, mode)?;
    }
    Ok(TableRun {
        report,
        mode,
        stopped,
    })
}
