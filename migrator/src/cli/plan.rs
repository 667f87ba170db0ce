//! `migrator plan`: builds every item of a spec from a source and writes them as DynamoDB JSON,
//! with a report of items per type and of what became of every source row.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::error::{Error, Outcome};
use crate::output::Output;
use crate::report::PlanReport;
use crate::source::{PostgresSource, Schemas, Source, SourceLocation, SourceOptions};
use crate::transform::window::WindowError;
use crate::{sink, spec, transform};

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
    pub source: SourceLocation,
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
    /// memory. Each window's rows come from queries that join back to its roots (one connection
    /// per table an item type reaches), so planning takes about 3 times as long; the items are
    /// the same. migrate, verify and diff then keep each item's key and hash (about 100 bytes
    /// an item) and its line on disk. Example: --window 20000
    #[arg(
        long,
        value_name = "ROOTS",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub window: Option<usize>,
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
}

impl PlanInput {
    /// The schemas to read: `--schema`, else the spec's, and those its schema.sql qualifies.
    pub fn schemas(&self, spec: &spec::Spec) -> Schemas {
        let search = if self.schemas.is_empty() {
            spec.postgres_schemas.clone()
        } else {
            self.schemas.clone()
        };
        Schemas::for_tables(search, &spec.schema)
    }
}

/// Opens the source the way `spec` needs it (a CSV folder typed by the spec's schema) with
/// `connections` connections, and checks it matches the spec's schema.
async fn open_source(
    spec: &spec::Spec,
    input: &PlanInput,
    connections: u16,
) -> anyhow::Result<(SourceLocation, Source)> {
    let mut location = input.source.clone();
    if let SourceLocation::Csv { schema, .. } = &mut location {
        *schema = Some(spec.schema_path.clone());
    }
    let options = SourceOptions {
        connections: usize::from(connections),
        schemas: input.schemas(spec),
    };
    let source = Source::open(&location, options)
        .await
        .map_err(Error::from)?;
    source
        .check_schema(&spec.schema, &spec.schema_path, &location)
        .map_err(Error::from)?;
    Ok((location, source))
}

/// Planning in memory holds about this many bytes per byte of the tables in Postgres (5.1 for
/// Rootski at scale 1, 4.3 at scale 4; docs/benchmarks.md).
const MEMORY_PER_TABLE_BYTE: u64 = 5;

/// Says on stderr when the tables `spec` reads look too large to plan in memory here. Only a
/// hint: when their size or the free memory cannot be read, it says nothing.
async fn warn_if_too_large(spec: &spec::Spec, source: &PostgresSource) {
    let names: Vec<String> = spec
        .schema
        .tables
        .iter()
        .map(|t| format!("'{}'", t.sql_name().replace('\'', "''")))
        .collect();
    // to_regclass finds each table as the reads do: in its schema, or through the search path.
    let sql = format!(
        "SELECT coalesce(sum(pg_table_size(to_regclass(t))), 0)::bigint FROM unnest(ARRAY[{}]::text[]) AS t",
        names.join(", ")
    );
    let table_bytes = match source.query_numbers("(the tables' sizes)", sql, 1).await {
        Ok(numbers) => numbers[0].and_then(|n| u64::try_from(n).ok()),
        Err(_) => None,
    };
    if let (Some(table_bytes), Some(available)) = (table_bytes, available_memory()) {
        if let Some(warning) = memory_warning(table_bytes, available) {
            crate::say!("{warning}");
        }
    }
}

/// The memory this process can still take: the system's available memory, or its control
/// group's room when that is less.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let available = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?
        * 1024;
    let read =
        |path: String| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    // This process's control group (`/proc/self/cgroup`): v2 (`0::/path`) or v1's memory
    // controller (`4:memory:/path`, whose "no limit" is a huge number).
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let room = cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (dir, max, used) = if controllers.is_empty() {
            (
                format!("/sys/fs/cgroup{path}"),
                "memory.max",
                "memory.current",
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            let dir = format!("/sys/fs/cgroup/memory{path}");
            (dir, "memory.limit_in_bytes", "memory.usage_in_bytes")
        } else {
            return None;
        };
        let max = read(format!("{dir}/{max}"))?;
        Some(max.saturating_sub(read(format!("{dir}/{used}")).unwrap_or(0)))
    });
    Some(room.map_or(available, |room| room.min(available)))
}

/// The warning before planning in memory tables of `table_bytes` bytes (in Postgres) with
/// `available` bytes of memory, when they look too large for it.
fn memory_warning(table_bytes: u64, available: u64) -> Option<String> {
    let needed = table_bytes.saturating_mul(MEMORY_PER_TABLE_BYTE);
    let gb = |bytes: u64| format!("{:.1} GB", bytes as f64 / 1e9);
    (needed > available).then(|| {
        format!(
            "warning: the tables the spec reads take {} in Postgres; planning them in memory takes about {MEMORY_PER_TABLE_BYTE} times that ({}), more than the {} available here. If it runs out of memory, use --window 20000, which holds one window of rows at a time",
            gb(table_bytes),
            gb(needed),
            gb(available)
        )
    })
}

/// Reads the source the way `spec` needs it and checks it matches the spec's schema; every
/// table the spec reads comes back whole.
pub async fn read_input(
    spec: &spec::Spec,
    input: &PlanInput,
) -> anyhow::Result<(SourceLocation, transform::Tables)> {
    let (location, source) = open_source(spec, input, input.connections).await?;
    if let Source::Postgres(postgres) = &source {
        warn_if_too_large(spec, postgres).await;
    }
    let tables = transform::read_tables(spec, &source)
        .await
        .map_err(Error::from)?;
    Ok((location, tables))
}

/// What `migrate`, `verify` and `diff` plan from: the tables, read whole, or with `--window`, a
/// plan made in windows and kept on disk.
pub enum Checked {
    Tables(transform::Tables),
    Spilled(transform::window::Spilled),
}

impl Checked {
    /// The plan to load or compare: the windowed one, or one planned here over the tables
    /// (kept in `in_memory`).
    pub fn plan<'a>(
        &'a self,
        spec: &'a spec::Spec,
        in_memory: &'a mut Option<transform::Plan<'a>>,
    ) -> Result<&'a dyn transform::Planned, Error> {
        match self {
            Checked::Tables(tables) => Ok(in_memory.insert(plan(spec, tables)?)),
            Checked::Spilled(spilled) => Ok(spilled),
        }
    }
}

/// Reads the input as `--window` says: the tables whole, or a windowed plan.
pub async fn checked_input(
    spec: &spec::Spec,
    input: &PlanInput,
) -> anyhow::Result<(SourceLocation, Checked)> {
    let Some(window) = input.window else {
        let (location, tables) = read_input(spec, input).await?;
        return Ok((location, Checked::Tables(tables)));
    };
    let (location, postgres) = open_windowed(spec, input).await?;
    let spilled = transform::window::Spilled::plan(spec, &postgres, window)
        .await
        .map_err(Error::from)?;
    Ok((location, Checked::Spilled(spilled)))
}

/// Opens a Postgres source for a windowed plan; a CSV folder is refused.
async fn open_windowed(
    spec: &spec::Spec,
    input: &PlanInput,
) -> anyhow::Result<(SourceLocation, PostgresSource)> {
    if let SourceLocation::Csv { dir, .. } = &input.source {
        return Err(Error::Usage(format!(
            "--window plans from Postgres, but {} is a folder of CSV files; plan it without --window",
            dir.display()
        ))
        .into());
    }
    match open_source(spec, input, 1).await? {
        (location, Source::Postgres(postgres)) => Ok((location, postgres)),
        _ => unreachable!("a postgres:// location opens a Postgres source"),
    }
}

/// Plans every item of `spec` over `tables` (on this thread, with rayon's).
pub fn plan<'a>(
    spec: &'a spec::Spec,
    tables: &'a transform::Tables,
) -> Result<transform::Plan<'a>, Error> {
    tokio::task::block_in_place(|| transform::plan(spec, tables)).map_err(Error::from)
}

/// Plans on a thread of its own (and rayon's) while this one writes each chunk of lines to
/// `out`; the output is left uncommitted (see [`Output`]).
fn plan_to_file<'a>(
    spec: &'a spec::Spec,
    tables: &'a transform::Tables,
    out: &std::path::Path,
) -> anyhow::Result<Result<(transform::Plan<'a>, Option<Output>), Error>> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let planning = scope.spawn(move || {
            transform::plan_into(spec, tables, transform::Hashes::Skipped, |chunk| {
                // A writer that failed stops listening; its error is reported below.
                let _ = tx.send(chunk);
            })
        });
        let written = sink::write_items(out, rx.into_iter());
        let planned = planning
            .join()
            .map_err(|_| anyhow::anyhow!("planning stopped unexpectedly"))?;
        let file = written?;
        Ok(planned.map(|plan| (plan, Some(file))).map_err(Error::from))
    })
}

pub async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let stdout = |path: &Option<PathBuf>| path.as_deref() == Some(std::path::Path::new("-"));
    if stdout(&args.out) && stdout(&args.report) {
        return Err(Error::Usage(
            "--out - and --report - would both write to stdout; send one of them to a file".into(),
        )
        .into());
    }
    let spec = spec::load(&args.input.spec).map_err(Error::from)?;
    if let Some(window) = args.input.window {
        return run_windowed(&spec, &args, window, started).await;
    }
    let (location, tables) = read_input(&spec, &args.input).await?;
    let planned = match &args.out {
        None => plan(&spec, &tables).map(|plan| (plan, None)),
        Some(out) => tokio::task::block_in_place(|| plan_to_file(&spec, &tables, out))?,
    };
    let plan = match planned {
        Ok((plan, file)) => {
            if let Some(file) = file {
                file.commit()?;
            }
            plan
        }
        Err(error) => {
            if let Error::Plan(errors) = &error {
                report_errors(&args, errors)?;
            }
            return Err(error.into());
        }
    };
    let report = PlanReport::new(
        &spec,
        &args.input.spec,
        location.to_string(),
        &plan,
        started.elapsed().as_secs_f64(),
    );
    finish(&report, &args)?;
    // The command ends here: the system takes the rows and indexes back at exit faster than
    // freeing their millions of allocations one by one (about 0.5 s at scale 1).
    std::mem::forget(plan);
    std::mem::forget(tables);
    Ok(Outcome::Success)
}

/// Writes the items that could not be made to the report `--report` names, if any.
fn report_errors(args: &PlanArgs, errors: &transform::PlanErrors) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        crate::report::write_errors(path, &errors.0)?;
    }
    Ok(())
}

/// Writes the report where `--report` says and prints the summary.
fn finish(report: &PlanReport, args: &PlanArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        report.write(path)?;
    }
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
    Ok(())
}

/// `plan --window`: plans from Postgres a window of root rows at a time (see
/// [`transform::window`]) while a thread of its own writes the lines.
async fn run_windowed(
    spec: &spec::Spec,
    args: &PlanArgs,
    window: usize,
    started: Instant,
) -> anyhow::Result<Outcome> {
    let (location, postgres) = open_windowed(spec, &args.input).await?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let writer = args
        .out
        .clone()
        .map(|path| std::thread::spawn(move || sink::write_items(&path, rx.into_iter())));
    let planned = transform::window::plan_windows(spec, &postgres, window, |chunk| {
        // Without --out, or with a writer that failed (its error is reported below), the lines
        // go nowhere.
        let _ = tx.send(chunk);
    })
    .await;
    drop(tx);
    let file = match writer {
        Some(writer) => Some(
            writer
                .join()
                .map_err(|_| anyhow::anyhow!("writing the plan stopped unexpectedly"))??,
        ),
        None => None,
    };
    let windowed = match planned {
        Ok(windowed) => windowed,
        Err(error) => {
            if let WindowError::Plan(errors) = &error {
                report_errors(args, errors)?;
            }
            return Err(Error::from(error).into());
        }
    };
    if let Some(file) = file {
        file.commit()?;
    }
    let report = PlanReport {
        spec: args.input.spec.display().to_string(),
        source: location.to_string(),
        items: windowed.types.iter().map(|t| t.items).sum(),
        types: windowed.types,
        tables: windowed.accounts,
        events: windowed.events,
        seconds: started.elapsed().as_secs_f64(),
    };
    finish(&report, args)?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::memory_warning;

    #[test]
    fn tables_too_large_for_the_memory_get_a_warning_that_points_to_windows() {
        assert_eq!(memory_warning(121_000_000, 24_000_000_000), None);
        assert_eq!(
            memory_warning(9_800_000_000, 24_000_000_000).as_deref(),
            Some("warning: the tables the spec reads take 9.8 GB in Postgres; planning them in memory takes about 5 times that (49.0 GB), more than the 24.0 GB available here. If it runs out of memory, use --window 20000, which holds one window of rows at a time")
        );
    }
}
