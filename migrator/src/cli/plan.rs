//! `migrator plan`: builds every item of a spec from a source and writes them as DynamoDB JSON,
//! with a report of items per type and of what became of every source row.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Outcome};
use crate::pipeline::{self, Input, PlanRequest};
use crate::report::Prices;
use crate::source::SourceLocation;

/// What a plan is made from: a spec and a source.
#[derive(Debug, Args)]
pub struct PlanInput {
    /// The design's spec: a folder holding spec.toml. Example: access-patterns/rootski
    #[arg(long, value_name = "DIR")]
    pub spec: PathBuf,
    /// Where the rows come from: a postgres:// URL, or a folder of <table>.csv files (typed by
    /// the spec's source schema). TLS as in libpq: ?sslmode=verify-full&sslrootcert=CA.pem (or
    /// PGSSLMODE, PGSSLROOTCERT). Example: sql/rootski/sample
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "URL_OR_DIR",
        hide_env_values = true
    )]
    pub source: Option<SourceLocation>,
    /// The Postgres schemas that hold the spec's tables, searched in order like a search_path
    /// (default: the spec's postgres_schemas, else the server's search path, usually public).
    /// Access patterns' SQL runs with the same search path; a table qualified in the spec's
    /// schema.sql (sales.orders) is read from its own schema. Example: --schema sales,public
    #[arg(long = "schema", value_name = "NAME", value_delimiter = ',')]
    pub schemas: Vec<String>,
    /// Postgres connections reading in parallel, all on one snapshot.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: u16,
    /// Plan from Postgres ROOTS root rows of each item type at a time instead of reading every
    /// table whole, so memory follows the window, not the database: for databases larger than
    /// memory. Each window's rows come from queries keyed by its roots (one connection per
    /// query: a table an item type reaches, rows looked up by primary key riding on the query
    /// of the rows that name them; never more at once than the type with the most queries; a
    /// table of at most ROOTS rows is read once, whole), so planning takes about 2 to 2.5
    /// times as long (longer for a spec that moves items off shared keys: its windows are read
    /// twice); the items are the same. migrate, verify and diff then keep each item's key and
    /// hash (about 100 bytes an item) and its line on disk. Example: --window 20000
    #[arg(
        long,
        value_name = "ROOTS",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub window: Option<usize>,
    /// The moment NOW stands for in the spec's conditions (where = "expires_at > NOW") and
    /// {as_of} in its access patterns' SQL, in RFC 3339 (default: when the command starts).
    /// Give the same moment to migrate, a rerun and verify so they plan the same items.
    /// Example: --as-of 2024-05-01T12:00:00Z
    #[arg(long, value_name = "TIME", value_parser = parse_as_of)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Read on this snapshot, which `migrator snapshot` exported and holds, instead of taking
    /// one: processes on many machines then see one moment of the database. Example:
    /// --snapshot 00000003-0000001B-1
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// Plan, load and compare only shard I of N: the items whose key hashes to I, so N
    /// processes (say, on N machines, on one --snapshot) share the work and their parts add up
    /// to the whole plan. auto/N takes I from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job). Every shard still reads and keys every
    /// row. Example: --shard 0/4
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::item::Shard>,
}

/// Reads `--as-of`: an RFC 3339 time with its offset.
fn parse_as_of(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            "not a time; write one in RFC 3339 with its offset, such as 2024-05-01T12:00:00Z"
                .to_string()
        })
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    input: PlanInput,
    /// Where to write the items, one {"Item": …} line each (DynamoDB ImportTable's format);
    /// gzip-compressed when the name ends in .gz. A file appears only once the whole plan is
    /// valid (written beside it under a temporary name, then renamed); - is stdout
    /// (`--out - | gzip`), and a device or pipe is written in place. Example: plan.jsonl.gz
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Where to write the report (JSON; Markdown beside it with .md). A file is replaced only
    /// once complete; - is stdout, and a device or pipe is written in place. Example: plan.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(flatten)]
    prices: PriceArgs,
}

/// What writes and imports cost, for the estimate of each load path.
#[derive(Debug, Args)]
pub struct PriceArgs {
    /// On-demand write price in US dollars per million write request units, for the report's
    /// estimate of each load path (default: us-east-1's list price).
    #[arg(long, value_name = "USD", default_value_t = Prices::default().per_million_write_units)]
    price_per_million_writes: f64,
    /// Provisioned write price in US dollars per WCU-hour (default: us-east-1's).
    #[arg(long, value_name = "USD", default_value_t = Prices::default().per_wcu_hour)]
    price_per_wcu_hour: f64,
    /// ImportTable price in US dollars per GB of uncompressed source (default: the price users
    /// report for us-east-1).
    #[arg(long, value_name = "USD", default_value_t = Prices::default().per_import_gb)]
    price_per_import_gb: f64,
}

impl PriceArgs {
    /// The prices as the report takes them.
    pub fn prices(&self) -> Prices {
        Prices {
            per_million_write_units: self.price_per_million_writes,
            per_wcu_hour: self.price_per_wcu_hour,
            per_import_gb: self.price_per_import_gb,
        }
    }
}

impl PlanInput {
    /// The input as the pipeline takes it.
    ///
    /// # Errors
    /// No source given (neither `--source` nor `DATABASE_URL`).
    pub fn to_input(&self) -> Result<Input, Error> {
        let source = self.source.clone().ok_or_else(|| {
            Error::Usage(
                "no source: give --source URL_OR_DIR (a postgres:// URL or a CSV folder) or set DATABASE_URL".into(),
            )
        })?;
        Ok(Input {
            spec: self.spec.clone(),
            source,
            schemas: self.schemas.clone(),
            connections: self.connections,
            window: self.window,
            as_of: self.as_of,
            snapshot: self.snapshot.clone(),
            shard: self.shard,
        })
    }
}

pub async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let request = PlanRequest {
        input: args.input.to_input()?,
        out: args.out,
        report: args.report,
        prices: args.prices.prices(),
    };
    let report = pipeline::plan(&request).await?;
    crate::say!(
        "planned {} items of {} types from {} in {:.2} s",
        report.items,
        report.types.len(),
        report.source,
        report.seconds
    );
    for t in &report.types {
        crate::say!(
            "  {:<28} {:>10} items {:>12} bytes",
            t.item_type,
            t.items,
            t.bytes
        );
    }
    for line in report.bound_lines() {
        crate::say!("{line}");
    }
    for warning in report.capacity.iter().flat_map(|c| &c.warnings) {
        crate::say!("warning: {warning}");
    }
    for line in report.paths.iter().flat_map(|p| p.lines()) {
        crate::say!("{line}");
    }
    Ok(Outcome::Success)
}
