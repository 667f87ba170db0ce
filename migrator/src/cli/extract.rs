//! `migrator extract`: reads every table of a source and reports rows per table.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use futures::StreamExt;
use serde::Serialize;

use crate::error::{Error, Outcome};
use crate::source::{Schemas, Source, SourceError, SourceLocation, SourceOptions};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Where the rows come from: a postgres:// URL, or a folder of <table>.csv files typed by
    /// the schema.sql beside them (or in their parent folder). TLS as in libpq:
    /// ?sslmode=verify-full&sslrootcert=CA.pem (or PGSSLMODE, PGSSLROOTCERT).
    /// Example: sql/rootski/sample
    #[arg(long, env = "DATABASE_URL", value_name = "URL_OR_DIR")]
    source: SourceLocation,
    /// The Postgres schemas to read, in order like a search_path (default: the server's
    /// search path, usually public). Example: --schema sales,public
    #[arg(long = "schema", value_name = "NAME", value_delimiter = ',')]
    schemas: Vec<String>,
    /// The schema.sql that types a CSV folder, when it is not beside the files.
    /// Example: sql/rootski/schema.sql
    #[arg(long, value_name = "FILE")]
    schema_sql: Option<PathBuf>,
    /// Read only this table (repeat for several; schema.table for a table of another schema);
    /// every table of the schemas read when left out.
    #[arg(long = "table", value_name = "TABLE")]
    tables: Vec<String>,
    /// Postgres connections reading in parallel, all on one snapshot.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    connections: u16,
    /// Also write the summary as JSON to this file. Example: extract.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

/// Rows read from one table.
#[derive(Debug, Serialize)]
struct TableCount {
    table: String,
    rows: u64,
}

#[derive(Debug, Serialize)]
struct ExtractReport {
    source: String,
    tables: Vec<TableCount>,
    rows: u64,
    seconds: f64,
}

pub async fn run(args: ExtractArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut location = args.source;
    if let (SourceLocation::Csv { schema, .. }, Some(path)) = (&mut location, args.schema_sql) {
        *schema = Some(path);
    }
    let mut also: Vec<String> = Vec::new();
    for (ns, _) in args.tables.iter().filter_map(|t| t.split_once('.')) {
        if !args.schemas.iter().chain(&also).any(|s| s == ns) {
            also.push(ns.to_string());
        }
    }
    let options = SourceOptions {
        connections: usize::from(args.connections),
        schemas: Schemas {
            search: args.schemas,
            also,
        },
    };
    let source = Source::open(&location, options)
        .await
        .map_err(Error::from)?;
    let names: Vec<String> = if args.tables.is_empty() {
        source
            .schema()
            .tables
            .iter()
            .map(|t| t.name.clone())
            .collect()
    } else {
        args.tables
    };
    let mut streams = Vec::new();
    for name in &names {
        streams.push(source.rows(name).map_err(Error::from)?);
    }
    let counts = futures::future::try_join_all(names.iter().zip(streams).map(
        |(name, mut rows)| async move {
            let mut count = 0u64;
            while let Some(batch) = rows.next().await {
                count += batch?.len() as u64;
            }
            Ok::<_, SourceError>(TableCount {
                table: name.clone(),
                rows: count,
            })
        },
    ))
    .await
    .map_err(Error::from)?;
    let report = ExtractReport {
        source: location.to_string(),
        rows: counts.iter().map(|c| c.rows).sum(),
        tables: counts,
        seconds: started.elapsed().as_secs_f64(),
    };
    print_summary(&report);
    if let Some(path) = args.report {
        crate::output::write_whole(&path, crate::report::to_json(&report).as_bytes())?;
    }
    Ok(Outcome::Success)
}

fn print_summary(report: &ExtractReport) {
    crate::say!(
        "extracted {} rows from {} tables of {} in {:.2} s",
        report.rows,
        report.tables.len(),
        report.source,
        report.seconds
    );
    super::print_counts(report.tables.iter().map(|t| (t.table.as_str(), t.rows)));
}
