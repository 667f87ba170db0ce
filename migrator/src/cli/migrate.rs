//! `migrator migrate` and `migrator create-table`: the one-shot migration into a DynamoDB table.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::error::{Error, Outcome};
use crate::item::{line_to_item, ScannedItem};
use crate::sink::checkpoint::Checkpoint;
use crate::sink::dynamodb::{DynamoConfig, DynamoSink, Governor, ItemNames, Ttl, WriteReport};
use crate::source::SourceLocation;
use crate::verify::{self, VerifyReport};
use crate::{spec, transform};

/// Where DynamoDB is: the standard AWS settings.
#[derive(Debug, Args)]
pub struct DynamoArgs {
    /// The table to fill. Example: rootski-table
    #[arg(long, value_name = "NAME")]
    table: String,
    /// A DynamoDB-compatible endpoint instead of AWS's, such as a local one.
    /// Example: http://127.0.0.1:8000
    #[arg(long, env = "MIGRATOR_DYNAMODB_ENDPOINT", value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS region (else AWS_REGION or the profile's). Example: us-east-1
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// A profile of ~/.aws/config (else AWS_PROFILE or the default chain).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// BatchWriteItem calls in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
    concurrency: u16,
    /// Attempts per call for throttling, server errors and dropped connections (SDK retries).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50))]
    max_attempts: u32,
}

impl DynamoArgs {
    async fn connect(&self) -> anyhow::Result<DynamoSink> {
        let config = DynamoConfig {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            max_attempts: self.max_attempts,
            in_flight: usize::from(self.concurrency),
        };
        Ok(DynamoSink::connect(&config, &self.table)
            .await
            .map_err(Error::from)?)
    }

    fn target(&self) -> String {
        match &self.endpoint_url {
            Some(url) => format!("DynamoDB at {url}"),
            None => "DynamoDB".to_string(),
        }
    }
}

/// How the whole table is read back: a parallel Scan.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Parallel Scan segments reading the table back.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(i32).range(1..=1000))]
    scan_segments: i32,
    /// Items per Scan page (default: as many as fit in DynamoDB's 1 MB page).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    page_size: Option<i32>,
}

impl ScanArgs {
    /// Reads the whole table, handing each item to `take`; returns how many there were.
    async fn each(
        &self,
        sink: &DynamoSink,
        spec: &spec::Spec,
        mut take: impl FnMut(ScannedItem) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let mut pages = sink.scan(
            ItemNames::of(&spec.table),
            self.scan_segments,
            self.page_size,
        );
        let mut items = 0;
        while let Some(page) = pages.recv().await {
            for item in page.map_err(Error::from)? {
                items += 1;
                take(item)?;
            }
        }
        Ok(items)
    }
}

#[derive(Debug, Args)]
pub struct CreateTableArgs {
    /// The design's spec: a folder holding spec.toml. Example: access-patterns/rootski
    #[arg(long, value_name = "DIR")]
    spec: PathBuf,
    #[command(flatten)]
    dynamo: DynamoArgs,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    input: super::plan::PlanInput,
    #[command(flatten)]
    dynamo: DynamoArgs,
    /// Create the table from the spec when it does not exist.
    #[arg(long)]
    create_table: bool,
    /// Plan and check the table, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Cap on consumed write capacity, in WCU per second (1 WCU = one item of up to 1 KB),
    /// never exceeded over any window (the load paces at 99% of it). Without it the load goes
    /// as fast as the table takes; either way it slows down on its own when throttled and
    /// speeds up again after. Example: 500
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_wcu: Option<u32>,
    /// Where the load records the batches DynamoDB has accepted; the same command after a
    /// crash or kill continues from it. Deleted once the table is verified. Default: beside
    /// --report (its name with .checkpoint), else TABLE.checkpoint in the current folder.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    #[command(flatten)]
    scan: ScanArgs,
    /// After writing, delete the table's items that the plan does not produce (stale items of
    /// earlier runs). Only when asked: see `migrator diff` first.
    #[arg(long, conflicts_with = "dry_run")]
    prune: bool,
    /// After the load, also run the spec's access patterns and compare them with their SQL
    /// (as `verify --patterns`; needs a postgres:// source).
    #[arg(long)]
    patterns: bool,
    /// Where to write the report (JSON; Markdown beside it with .md). A file is replaced only
    /// once complete; - is stdout, and a device or pipe is written in place. Example: migrate.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub async fn create_table(args: CreateTableArgs) -> anyhow::Result<Outcome> {
    let spec = spec::load(&args.spec).map_err(Error::from)?;
    let sink = args.dynamo.connect().await?;
    let created = sink
        .ensure_table(&spec.table, true)
        .await
        .map_err(Error::from)
        .with_context(|| args.dynamo.target())?;
    let verb = if created {
        "created"
    } else {
        "already exists with the spec's keys"
    };
    crate::say!(
        "table {} {verb}; ACTIVE in {}",
        args.dynamo.table,
        args.dynamo.target()
    );
    say_ttl(&sink, &spec).await?;
    Ok(Outcome::Success)
}

/// Turns on the spec's TTL attribute and says what became of it.
async fn say_ttl(sink: &DynamoSink, spec: &spec::Spec) -> anyhow::Result<()> {
    let attribute = spec.table.ttl_attribute.as_deref().unwrap_or_default();
    match sink.ensure_ttl(&spec.table).await.map_err(Error::from)? {
        Ttl::None | Ttl::AlreadyOn => {}
        Ttl::TurnedOn => crate::say!("TTL turned on for attribute {attribute}"),
        Ttl::Unsupported => crate::say!(
            "warning: this endpoint has no UpdateTimeToLive, so TTL on attribute {attribute} is not on; turn it on where the table lives (aws dynamodb update-time-to-live)"
        ),
    }
    Ok(())
}

/// What `migrate` and `verify` report.
#[derive(Debug, Serialize)]
struct MigrateReport {
    table: String,
    target: String,
    source: String,
    dry_run: bool,
    table_created: bool,
    /// The write budget, WCU per second, when one was given.
    max_wcu: Option<u32>,
    /// What the load wrote (absent for `verify`, `diff` and dry runs).
    load: Option<WriteReport>,
    /// Items deleted because the plan does not produce them (`--prune`).
    pruned: u64,
    /// Why the load stopped early, when it did (nothing was verified then).
    error: Option<String>,
    /// How the table was read back.
    scan: ScanFigures,
    verify: VerifyReport,
    seconds: f64,
}

/// The Scan that read the table back.
#[derive(Debug, Default, Serialize)]
struct ScanFigures {
    segments: i32,
    items: u64,
    seconds: f64,
}

/// What a command reports: a migration or a verification fails when the table differs; a diff
/// only says what a migration would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Migration,
    Verification,
    Diff,
}

impl Mode {
    fn title(self) -> &'static str {
        match self {
            Mode::Migration => "Migration",
            Mode::Verification => "Verification",
            Mode::Diff => "Diff (dry run: nothing written)",
        }
    }
}

impl MigrateReport {
    /// A report of nothing written yet, for `table` in `target` from `source`.
    fn new(table: &str, target: String, source: &SourceLocation) -> Self {
        MigrateReport {
            table: table.to_string(),
            target,
            source: source.to_string(),
            dry_run: false,
            table_created: false,
            max_wcu: None,
            load: None,
            pruned: 0,
            error: None,
            scan: ScanFigures::default(),
            verify: VerifyReport::default(),
            seconds: 0.0,
        }
    }

    fn markdown(&self, mode: Mode) -> String {
        let head = format!(
            "# {}\n\nTable {} in {} from `{}`",
            mode.title(),
            self.table,
            self.target,
            self.source
        );
        if let (Some(error), Mode::Migration) = (&self.error, mode) {
            let load = self.load.as_ref();
            return format!(
                "{head}: **the load stopped after {:.2} s**: {error}\n\n{}",
                self.seconds,
                load.map_or(String::new(), |l| load_markdown(l, self.max_wcu))
            );
        }
        let mut md = format!(
            "{head} in {:.2} s{}: {}.\n\n",
            self.seconds,
            if self.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
            if self.verify.matches {
                "the table holds exactly the planned items (counts and digests per type)"
            } else {
                "**the table differs from the plan**"
            }
        );
        if mode == Mode::Diff {
            return md + &self.verify.diff_markdown();
        }
        if self.pruned > 0 {
            md += &format!(
                "Pruned {} items the plan does not produce.\n\n",
                self.pruned
            );
        }
        if let Some(load) = &self.load {
            md += &load_markdown(load, self.max_wcu);
        }
        md += &format!(
            "Read back {} items with a {}-segment Scan in {:.2} s ({:.0} items/s).\n\n",
            self.scan.items,
            self.scan.segments,
            self.scan.seconds,
            self.scan.items as f64 / self.scan.seconds.max(0.001)
        );
        md + &self.verify.markdown()
    }

    fn write(&self, path: &std::path::Path, mode: Mode) -> anyhow::Result<()> {
        let json = crate::report::to_json(self);
        Ok(crate::report::write_pair(path, &json, || {
            self.markdown(mode)
        })?)
    }
}

/// The load's table in Markdown: per type planned, written, skipped, resent; then the totals.
fn load_markdown(load: &WriteReport, max_wcu: Option<u32>) -> String {
    let mut md = String::from(
        "| item type | planned | written | already written (checkpoint) | resent (unprocessed) | failed |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (item_type, w) in &load.types {
        md += &format!(
            "| {item_type} | {} | {} | {} | {} | {} |\n",
            w.planned, w.written, w.skipped, w.resent, w.failed
        );
    }
    let budget = max_wcu.map_or("no budget".to_string(), |m| format!("budget {m} WCU/s"));
    let written: u64 = load.types.values().map(|t| t.written).sum();
    let seconds = load.seconds.max(0.001);
    let cpu = load
        .cpu_seconds
        .map_or(String::new(), |c| format!(", {c:.2} s of client CPU"));
    md += &format!(
        "\nWrote {written} items in {:.2} s ({:.0} items/s{cpu}): {} batches ({} already written by an earlier run), {:.0} WCU ({:.0} WCU/s, {budget}), {} calls retried, {} throttles.\n\n",
        load.seconds,
        written as f64 / seconds,
        load.batches,
        load.batches_skipped,
        load.wcu,
        load.wcu / seconds,
        load.calls_retried,
        load.throttles
    );
    md
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    input: super::plan::PlanInput,
    /// Also run the spec's access patterns against the table (GetItem, Query on the table and
    /// its indexes, BatchGetItem, with each pattern's example) and compare each answer with
    /// what the pattern's SQL gives from the source (a postgres:// source).
    #[arg(long)]
    patterns: bool,
    #[command(flatten)]
    dynamo: DynamoArgs,
    #[command(flatten)]
    scan: ScanArgs,
    /// Where to write the report (JSON; Markdown beside it with .md). A file is replaced only
    /// once complete; - is stdout, and a device or pipe is written in place. Example: verify.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

/// Plans the items, reads the whole table, compares, prints and writes the report, and turns
/// the outcome into the exit code (1 when the table differs).
/// The source the access patterns' SQL runs against, when `--patterns` asks for them.
fn patterns_source(
    location: &SourceLocation,
    wanted: bool,
) -> anyhow::Result<Option<crate::redact::Redacted>> {
    match (location, wanted) {
        (_, false) => Ok(None),
        (SourceLocation::Postgres(url), true) => Ok(Some(url.clone())),
        (SourceLocation::Csv { .. }, true) => Err(Error::Usage(
            "--patterns runs each pattern's SQL, so it needs a postgres:// source; load the CSV folder with `migrator dataset load` first".into(),
        )
        .into()),
    }
}

/// How a command checks the table and reports.
struct Checking<'a> {
    mode: Mode,
    scan: &'a ScanArgs,
    started: Instant,
    report_path: Option<&'a std::path::Path>,
    /// The source to run the access patterns' SQL against, when they are to be run.
    patterns_from: Option<&'a crate::redact::Redacted>,
    /// The search path the patterns' SQL runs with.
    search_path: &'a [String],
}

async fn check_and_report(
    sink: &DynamoSink,
    spec: &spec::Spec,
    plan: &dyn transform::Planned,
    mut report: MigrateReport,
    checking: Checking<'_>,
) -> anyhow::Result<Outcome> {
    let Checking {
        mode,
        scan,
        started,
        report_path: path,
        patterns_from,
        search_path,
    } = checking;
    let scanning = Instant::now();
    let mut comparison = verify::Comparison::new(spec, plan);
    let items = scan
        .each(sink, spec, |item| {
            comparison.add(item);
            Ok(())
        })
        .await
        .with_context(|| report.target.clone())?;
    report.scan = ScanFigures {
        segments: scan.scan_segments,
        items,
        seconds: scanning.elapsed().as_secs_f64(),
    };
    report.verify = tokio::task::block_in_place(|| comparison.finish());
    if let Some(url) = patterns_from {
        let mut conn = crate::source::connect_one(url, search_path)
            .await
            .map_err(Error::from)?;
        let checks = verify::check_patterns(spec, sink.client(), &report.table, &mut conn)
            .await
            .map_err(Error::from)?;
        report.verify = report.verify.with_patterns(checks);
    }
    report.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = path {
        report.write(path, mode)?;
    }
    crate::say!("{}", report.markdown(mode).trim_end());
    if report.verify.matches || report.dry_run || mode == Mode::Diff {
        Ok(Outcome::Success)
    } else {
        crate::say!(
            "error: table {} differs from the plan (see above)",
            report.table
        );
        Ok(Outcome::CheckFailed)
    }
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let patterns_from = patterns_source(&args.input.source, args.patterns)?;
    let spec = spec::load(&args.input.spec).map_err(Error::from)?;
    let sink = args.dynamo.connect().await?;
    let target = args.dynamo.target();
    let created = sink
        .ensure_table(&spec.table, args.create_table && !args.dry_run)
        .await
        .map_err(Error::from)
        .with_context(|| target.clone())?;
    if args.create_table && !args.dry_run {
        say_ttl(&sink, &spec)
            .await
            .with_context(|| target.clone())?;
    }
    let (location, input) = super::plan::checked_input(&spec, &args.input).await?;
    let mut in_memory = None;
    let plan = input.plan(&spec, &mut in_memory)?;
    let governor = Governor::new(args.max_wcu.map(f64::from));
    let checkpoint = if args.dry_run {
        None
    } else {
        let path = args.checkpoint_path();
        let header = format!(
            "migrator checkpoint: table {} in {target}",
            args.dynamo.table
        );
        Some(Checkpoint::open(&path, &header).map_err(Error::from)?)
    };
    let resumed = checkpoint.as_ref().map_or(0, Checkpoint::recorded);
    crate::say!(
        "planned {} items; {} table {} in {target}{}",
        plan.item_count(),
        if args.dry_run {
            "dry run: not writing to"
        } else {
            "writing them to"
        },
        args.dynamo.table,
        match (&checkpoint, resumed) {
            (Some(c), 1..) => format!(
                "; resuming from {}: {resumed} batches already written",
                c.path().display()
            ),
            _ => String::new(),
        }
    );
    let load = match &checkpoint {
        None => None,
        Some(checkpoint) => {
            let (load, error) = load(&sink, &spec, plan, &governor, checkpoint);
            if let Some(error) = error {
                let report = MigrateReport {
                    table_created: created,
                    max_wcu: args.max_wcu,
                    load: Some(load),
                    error: Some(error.to_string()),
                    seconds: started.elapsed().as_secs_f64(),
                    ..MigrateReport::new(&args.dynamo.table, target.clone(), &location)
                };
                if let Some(path) = &args.report {
                    report.write(path, Mode::Migration)?;
                }
                crate::say!("{}", report.markdown(Mode::Migration).trim_end());
                return Err(Error::from(error)).with_context(|| target.clone());
            }
            Some(load)
        }
    };
    let pruned = if args.prune {
        prune(&sink, &spec, plan, &args.scan, &governor)
            .await
            .with_context(|| target.clone())?
    } else {
        0
    };
    let report = MigrateReport {
        dry_run: args.dry_run,
        table_created: created,
        max_wcu: args.max_wcu,
        load,
        pruned,
        ..MigrateReport::new(&args.dynamo.table, target, &location)
    };
    let checking = Checking {
        mode: Mode::Migration,
        scan: &args.scan,
        started,
        report_path: args.report.as_deref(),
        patterns_from: patterns_from.as_ref(),
        search_path: &args.input.schemas(&spec).search,
    };
    let outcome = check_and_report(&sink, &spec, plan, report, checking).await?;
    if outcome == Outcome::Success {
        if let Some(checkpoint) = checkpoint {
            checkpoint.remove();
        }
    }
    Ok(outcome)
}

/// Builds the plan's lines round by round on a thread of their own (and rayon's) while the
/// sink writes the rounds before them: at most a few rounds are held at once.
fn load(
    sink: &DynamoSink,
    spec: &spec::Spec,
    plan: &dyn transform::Planned,
    governor: &Governor,
    checkpoint: &Checkpoint,
) -> (WriteReport, Option<crate::sink::dynamodb::SinkError>) {
    let planned: BTreeMap<String, u64> = spec
        .items
        .iter()
        .zip(plan.types())
        .map(|(item, entries)| (item.name.clone(), entries.len() as u64))
        .collect();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = tokio::sync::mpsc::channel(ROUNDS_AHEAD);
            scope.spawn(move || {
                for round in plan.rounds() {
                    if tx.blocking_send(round).is_err() {
                        break;
                    }
                }
            });
            tokio::runtime::Handle::current().block_on(sink.write(
                &planned,
                rx,
                governor,
                Some(checkpoint),
            ))
        })
    })
}

/// Rounds built ahead of the one being written.
const ROUNDS_AHEAD: usize = 2;

impl MigrateArgs {
    /// `--checkpoint`, else beside the report, else `TABLE.checkpoint` here.
    fn checkpoint_path(&self) -> PathBuf {
        match (&self.checkpoint, &self.report) {
            (Some(path), _) => path.clone(),
            (None, Some(report)) => report.with_extension("checkpoint"),
            (None, None) => PathBuf::from(format!("{}.checkpoint", self.dynamo.table)),
        }
    }
}

/// Deletes the table's items whose keys the plan does not produce; returns how many.
async fn prune(
    sink: &DynamoSink,
    spec: &spec::Spec,
    plan: &dyn transform::Planned,
    scan: &ScanArgs,
    governor: &Governor,
) -> anyhow::Result<u64> {
    let planned: HashSet<&(String, String)> =
        plan.types().iter().flatten().map(|e| &e.key).collect();
    let names = ItemNames::of(&spec.table);
    let mut stale = Vec::new();
    scan.each(sink, spec, |item| {
        if !planned.contains(&item.key) {
            let item = line_to_item(&item.line).map_err(anyhow::Error::msg)?;
            stale.push(names.key(&item));
        }
        Ok(())
    })
    .await?;
    Ok(sink.delete(stale, governor).await.map_err(Error::from)?)
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<Outcome> {
    compare_only(args, Mode::Verification).await
}

pub async fn diff(args: VerifyArgs) -> anyhow::Result<Outcome> {
    compare_only(args, Mode::Diff).await
}

async fn compare_only(args: VerifyArgs, mode: Mode) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let patterns_from = patterns_source(&args.input.source, args.patterns)?;
    let spec = spec::load(&args.input.spec).map_err(Error::from)?;
    let sink = args.dynamo.connect().await?;
    let target = args.dynamo.target();
    sink.ensure_table(&spec.table, false)
        .await
        .map_err(Error::from)
        .with_context(|| target.clone())?;
    let (location, input) = super::plan::checked_input(&spec, &args.input).await?;
    let mut in_memory = None;
    let plan = input.plan(&spec, &mut in_memory)?;
    let report = MigrateReport::new(&args.dynamo.table, target, &location);
    let checking = Checking {
        mode,
        scan: &args.scan,
        started,
        report_path: args.report.as_deref(),
        patterns_from: patterns_from.as_ref(),
        search_path: &args.input.schemas(&spec).search,
    };
    check_and_report(&sink, &spec, plan, report, checking).await
}
