//! `migrator dataset …`: load a CSV folder into Postgres; generate a synthetic dataset.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use crate::dataset::{self, design_dir};
use crate::error::{Error, Outcome};
use crate::redact::Redacted;
use crate::source::SCHEMA_FILE;

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Creates a design's schema in an empty Postgres database and loads a CSV folder into it
    /// (COPY, parents before children, one transaction).
    ///
    /// Example: migrator dataset load --design rootski --from sql/rootski/sample --database-url postgres://postgres:pw@127.0.0.1:5432/postgres
    Load(LoadArgs),
    /// Writes a synthetic dataset (one CSV per table, and the schema) from the design's
    /// generate.toml: the same seed and scale always give the same bytes.
    ///
    /// Example: migrator dataset generate --design rootski --scale 0.01 --seed 7 --out /tmp/rootski-small
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    design: DesignArgs,
    /// Size relative to the volumes in generate.toml (1 = Rootski's production volumes;
    /// 0.01 for quick tests). Example: 0.01
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    scale: f64,
    /// Seed of the random streams; the same seed and scale give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder to write into (created when missing; its CSV files are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn parse_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 100.0 => Ok(s),
        _ => Err(format!(
            "{text} is not a scale between 0 (exclusive) and 100, like 0.01 or 1"
        )),
    }
}

#[derive(Debug, Args)]
pub struct DesignArgs {
    /// The design: a name under --sql-dir (rootski, planning-poker) or a folder holding a schema.sql.
    #[arg(long, value_name = "NAME_OR_DIR")]
    design: String,
    /// Where designs' relational sources live (each in <NAME>/schema.sql).
    #[arg(
        long,
        env = "MIGRATOR_SQL_DIR",
        default_value = "sql",
        value_name = "DIR"
    )]
    sql_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    design: DesignArgs,
    /// The CSV folder to load: one <table>.csv per table, with a header line.
    /// Example: sql/rootski/sample
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The database to load into; it must not hold the design's tables yet.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: String,
    /// The Postgres schema to create the tables in (created when missing), or a search path
    /// whose first schema takes them. Default: the server's search path (usually public).
    /// Example: --schema rootski
    #[arg(long = "schema", value_name = "NAME", value_delimiter = ',')]
    schemas: Vec<String>,
}

pub async fn run(command: DatasetCommand) -> anyhow::Result<Outcome> {
    match command {
        DatasetCommand::Load(args) => load(args).await,
        DatasetCommand::Generate(args) => generate(args).await,
    }
}

async fn generate(args: GenerateArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let dir = design_dir(&args.design.design, &args.design.sql_dir).map_err(Error::from)?;
    let out = args.out.clone();
    let report = tokio::task::spawn_blocking(move || {
        dataset::generate(&dir, args.scale, args.seed, &args.out)
    })
    .await?
    .map_err(Error::from)?;
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    crate::say!(
        "generated {rows} rows in {} tables into {} in {:.2} s",
        report.tables.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    super::print_counts(report.tables.iter().map(|(t, n)| (t.as_str(), *n)));
    Ok(Outcome::Success)
}

async fn load(args: LoadArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let dir = design_dir(&args.design.design, &args.design.sql_dir).map_err(Error::from)?;
    let url = Redacted::new(args.database_url);
    let report = dataset::load(&args.from, &dir.join(SCHEMA_FILE), &url, &args.schemas)
        .await
        .map_err(Error::from)?;
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    crate::say!(
        "loaded {rows} rows into {} tables of {url} from {} in {:.2} s",
        report.tables.len(),
        args.from.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Success)
}
