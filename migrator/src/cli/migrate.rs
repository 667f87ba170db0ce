//! `migrator migrate`, `verify`, `diff` and `create-table`: the commands on a DynamoDB table.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Outcome};
use crate::pipeline::{
    self, CombineRequest, CompareRequest, MigrateRequest, ScanOptions, TableRun, Target,
};
use crate::report::Mode;
use crate::sink::dynamodb::DynamoConfig;
use crate::spec::Throughput;

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
    /// Attempts a write may fail in a row (server errors, timeouts, dropped connections) before
    /// the load stops, and the SDK's attempts for every other call (Scan, DescribeTable).
    /// Throttling does not count: a throttled item is retried until it has been refused for
    /// 300 s without a break.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50))]
    max_attempts: u32,
}

impl DynamoArgs {
    fn target(&self) -> Target {
        Target {
            table: self.table.clone(),
            config: DynamoConfig {
                endpoint_url: self.endpoint_url.clone(),
                region: self.region.clone(),
                profile: self.profile.clone(),
                max_attempts: self.max_attempts,
                in_flight: usize::from(self.concurrency),
            },
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
    pub fn options(&self) -> ScanOptions {
        ScanOptions {
            segments: self.scan_segments,
            page_size: self.page_size,
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateTableArgs {
    /// The design's spec: a folder holding spec.toml. Example: access-patterns/rootski
    #[arg(long, value_name = "DIR")]
    spec: PathBuf,
    #[command(flatten)]
    dynamo: DynamoArgs,
    #[command(flatten)]
    throughput: ThroughputArgs,
}

/// What a new table is created with beyond the spec's keys and billing (each overrides the
/// spec's setting of the same name; the table and every index get it).
#[derive(Debug, Args)]
pub struct ThroughputArgs {
    /// On-demand maximum write request units per second (OnDemandThroughput): DynamoDB
    /// throttles above it, a ceiling on the bill. Example: 40000
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_write_request_units: Option<u64>,
    /// Warm throughput, writes per second the new table takes at once (WarmThroughput; no
    /// charge for the setting, and it cannot be lowered later). Example: 12000
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    warm_write_units: Option<u64>,
    /// Warm throughput, reads per second. Example: 12000
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    warm_read_units: Option<u64>,
}

impl ThroughputArgs {
    fn overrides(&self) -> Throughput {
        Throughput {
            max_write_request_units: self.max_write_request_units,
            warm_write_units_per_second: self.warm_write_units,
            warm_read_units_per_second: self.warm_read_units,
        }
    }
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
    #[command(flatten)]
    throughput: ThroughputArgs,
    /// Plan and check the table, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Cap on consumed write capacity, in WCU per second (1 WCU = one item of up to 1 KB),
    /// never exceeded over any window (the load paces at 99% of it); with --shard I/N, the
    /// table's cap: each shard takes N-th of it. Without it the load goes
    /// as fast as the table takes; either way it finds the table's capacity on its own, keeps
    /// it full and follows it up when an on-demand table grows, and paces hot keys (DynamoDB's
    /// 1,000 WCU/s per key) apart from the rest. Example: 500
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_wcu: Option<u32>,
    /// Where the load records the batches DynamoDB has accepted; the same command after a
    /// crash or kill continues from it. Deleted once the table is verified. Default: beside
    /// --report (its name with .checkpoint), else TABLE.checkpoint in the current folder
    /// (TABLE.shard-I-of-N.checkpoint for a shard).
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

impl MigrateArgs {
    /// `--checkpoint`, else beside the report, else `TABLE.checkpoint` here.
    fn checkpoint_path(&self) -> PathBuf {
        match (&self.checkpoint, &self.report) {
            (Some(path), _) => path.clone(),
            (None, Some(report)) => report.with_extension("checkpoint"),
            (None, None) => match self.input.shard {
                Some(shard) => PathBuf::from(format!(
                    "{}.shard-{}-of-{}.checkpoint",
                    self.dynamo.table, shard.index, shard.count
                )),
                None => PathBuf::from(format!("{}.checkpoint", self.dynamo.table)),
            },
        }
    }
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
    /// Instead of planning from the source: add up these reports of the N shards of one
    /// sharded run (migrate or verify with --shard I/N, one report per shard) and compare
    /// their counts and digests per item type with one Scan of the whole table. No source is
    /// read. Example: --combine shard-0.json shard-1.json shard-2.json shard-3.json
    #[arg(long, value_name = "REPORT", num_args = 1.., conflicts_with = "patterns")]
    combine: Vec<PathBuf>,
    /// With --combine: read only segment I of a Scan in N segments (auto/N: I from
    /// JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX) and report that part, so N machines
    /// share the Scan; a last --combine of the shards' and the N parts' reports compares
    /// the sums without scanning. Example: --scan-segment 0/8
    #[arg(long, value_name = "I/N", requires = "combine")]
    scan_segment: Option<crate::item::Shard>,
    /// Where to write the report (JSON; Markdown beside it with .md). A file is replaced only
    /// once complete; - is stdout, and a device or pipe is written in place. Example: verify.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub async fn create_table(args: CreateTableArgs) -> anyhow::Result<Outcome> {
    let target = args.dynamo.target();
    let created = pipeline::create_table(&args.spec, &target, args.throughput.overrides()).await?;
    let verb = match (created.created, created.settings.is_empty()) {
        (true, true) => "created".to_string(),
        (true, false) => format!("created ({})", created.settings),
        (false, _) => "already exists with the spec's keys".to_string(),
    };
    crate::say!(
        "table {} {verb}; ACTIVE in {}",
        target.table,
        target.describe()
    );
    if let Some(line) = created.ttl {
        crate::say!("{line}");
    }
    Ok(Outcome::Success)
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<Outcome> {
    let request = MigrateRequest {
        input: args.input.to_input()?,
        target: args.dynamo.target(),
        create_table: args.create_table,
        throughput: args.throughput.overrides(),
        dry_run: args.dry_run,
        // A shard takes its part of the table's cap.
        max_wcu: args
            .max_wcu
            .map(|wcu| (wcu / args.input.shard.map_or(1, |s| s.count)).max(1)),
        checkpoint: args.checkpoint_path(),
        scan: args.scan.options(),
        prune: args.prune,
        patterns: args.patterns,
        report: args.report,
    };
    render(pipeline::migrate(&request).await?)
}

pub async fn verify(args: VerifyArgs) -> anyhow::Result<Outcome> {
    if !args.combine.is_empty() {
        return combine(args).await;
    }
    render(pipeline::compare(&compare_request(args)?, Mode::Verification).await?)
}

pub async fn diff(args: VerifyArgs) -> anyhow::Result<Outcome> {
    if !args.combine.is_empty() {
        return Err(Error::Usage(
            "--combine adds shards' reports up for verify; diff each shard with --shard I/N".into(),
        )
        .into());
    }
    render(pipeline::compare(&compare_request(args)?, Mode::Diff).await?)
}

fn compare_request(args: VerifyArgs) -> Result<CompareRequest, Error> {
    Ok(CompareRequest {
        input: args.input.to_input()?,
        target: args.dynamo.target(),
        scan: args.scan.options(),
        patterns: args.patterns,
        report: args.report,
    })
}

/// `verify --combine`: the shards' reports added up against one Scan of the table.
async fn combine(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let request = CombineRequest {
        spec: args.input.spec,
        reports: args.combine,
        target: args.dynamo.target(),
        scan: args.scan.options(),
        scan_segment: args.scan_segment,
        report: args.report,
    };
    let combined = pipeline::combine(&request).await?;
    crate::say!("{}", combined.markdown().trim_end());
    if !combined.is_whole() || combined.matches {
        Ok(Outcome::Success)
    } else {
        crate::say!(
            "error: table {} differs from the shards' plans (see above)",
            combined.table
        );
        Ok(Outcome::CheckFailed)
    }
}

/// Says the run's report, then how it ended: the error that stopped its load, a table that
/// differs from the plan (exit 1), or success.
fn render(run: TableRun) -> anyhow::Result<Outcome> {
    crate::say!("{}", run.report.markdown(run.mode).trim_end());
    if let Some(error) = run.stopped {
        return Err(error.into());
    }
    let outcome = run.outcome();
    if outcome == Outcome::CheckFailed {
        crate::say!(
            "error: table {} differs from the plan (see above)",
            run.report.table
        );
    }
    Ok(outcome)
}
