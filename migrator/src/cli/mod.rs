//! Command-line interface: clap types, one file per subcommand. Each subcommand turns its
//! arguments into a call of the library and prints for people on stderr; no pipeline logic here.

mod dataset;
mod export;
mod extract;
mod import;
mod migrate;
mod plan;
mod snapshot;

use clap::{Parser, Subcommand};

use crate::error::Outcome;

/// Moves a normalised Postgres database into one DynamoDB table (single-table design) and
/// proves that nothing was lost.
///
/// Typical session on the bundled Rootski sample:
///
///   migrator dataset load --design rootski --from sql/rootski/sample --database-url "$DATABASE_URL"
///
///   migrator extract --source "$DATABASE_URL"
///
/// Exit codes: 0 success, 1 a check failed (verify, migrate), 2 anything else that stopped the
/// command (bad usage or input, I/O, the network), 130 interrupted, 141 stdout or stderr closed.
/// Set MIGRATOR_LOG=debug for detailed logs on stderr (the libraries' too).
#[derive(Debug, Parser)]
#[command(name = "migrator", version, verbatim_doc_comment)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reads every table of a source (Postgres or a CSV folder) and prints rows per table.
    Extract(extract::ExtractArgs),
    /// Builds every item a spec describes from a source and writes them as DynamoDB JSON, with
    /// a report: items and bytes per type, and what became of every source row.
    Plan(plan::PlanArgs),
    /// Runs the one-shot migration: checks every item the spec makes of the source (nothing is
    /// written while any is bad), then builds them again round by round and writes each round
    /// to a DynamoDB table with BatchWriteItem while the next is built (many calls in flight,
    /// unprocessed items resent; the whole plan is never held in memory and no intermediate
    /// file is needed), then verifies the table against the plan as `verify` does (exit 1 when
    /// they differ).
    Migrate(migrate::MigrateArgs),
    /// Proves a table holds exactly what the spec makes of the source: per item type, counts
    /// and an order-independent digest, then every difference by key (missing, extra, changed
    /// with the attributes). Exit 1 when anything differs.
    Verify(migrate::VerifyArgs),
    /// Dry run against a live table: which items a migration would add, change (attribute by
    /// attribute) and remove, per item type, with samples. Writes nothing.
    Diff(migrate::VerifyArgs),
    /// Creates the spec's table (keys, indexes, billing) and waits until it is ACTIVE; an
    /// existing table with the same keys is fine, a different one is an error.
    CreateTable(migrate::CreateTableArgs),
    /// Works with relational datasets: load a CSV folder into Postgres, generate synthetic data.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Exports a snapshot of a Postgres database and holds it until stopped: processes on
    /// other machines (shards) read on it with --snapshot ID and so see one moment of the
    /// database while it changes. Prints the id on stdout (and to --out FILE).
    ///
    /// Example: migrator snapshot --source "$DATABASE_URL" --out snapshot-id
    Snapshot(snapshot::SnapshotArgs),
    /// Writes the design in another tool's format (a NoSQL Workbench data model), or the plan
    /// to S3 in the layout DynamoDB's ImportTable reads.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Builds a new table from what `export s3` wrote, with DynamoDB's ImportTable (no write
    /// capacity used; billed per GB of source): checks the export is whole (every shard's
    /// manifest, no stray object under its data prefix), starts the import with the spec's
    /// keys, indexes and billing, follows it to its end, then compares the table with the
    /// manifests (counts and digests per item type) and, when they differ, names every line of
    /// the objects the table lacks. When the import counted errors, shows the first lines
    /// DynamoDB logged for it in CloudWatch Logs. Exit 1 when the import had errors or the
    /// table differs. Rerunning the same command within 8 hours finds the import it started.
    ///
    /// Example: migrator import --from s3://my-bucket/migrations/rootski --spec access-patterns/rootski --table rootski
    Import(import::ImportArgs),
}

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.spawn(crate::exit::exit_on_interrupt());
    match cli.command {
        Command::Extract(args) => runtime.block_on(extract::run(args)),
        Command::Plan(args) => runtime.block_on(plan::run(args)),
        Command::Migrate(args) => runtime.block_on(migrate::migrate(args)),
        Command::CreateTable(args) => runtime.block_on(migrate::create_table(args)),
        Command::Verify(args) => runtime.block_on(migrate::verify(args)),
        Command::Diff(args) => runtime.block_on(migrate::diff(args)),
        Command::Dataset(command) => runtime.block_on(dataset::run(command)),
        Command::Export(command) => runtime.block_on(export::run(command)),
        Command::Import(args) => runtime.block_on(import::run(args)),
        Command::Snapshot(args) => runtime.block_on(snapshot::run(args)),
    }
}

/// Prints rows per table on stderr, aligned, as `extract` and `dataset generate` show them.
fn print_counts<'a>(tables: impl Iterator<Item = (&'a str, u64)> + Clone) {
    let width = tables
        .clone()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(5)
        .max(5);
    crate::say!("  {:<width$}  {:>10}", "table", "rows");
    for (table, rows) in tables {
        crate::say!("  {table:<width$}  {rows:>10}");
    }
}
