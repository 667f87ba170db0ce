//! `migrator extract`: reads every table of a source and reports rows per table.

use std::path::PathBuf;

use clap::Args;

use crate::error::Outcome;
use crate::pipeline::{self, ExtractRequest};
use crate::report::ExtractReport;
use crate::source::SourceLocation;

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
    /// Read on this snapshot, which `migrator snapshot` exported and holds, instead of taking
    /// one: processes on many machines then see one moment of the database. Example:
    /// --snapshot 00000003-0000001B-1
    #[arg(long, value_name = "ID")]
    snapshot: Option<String>,
    /// Also write the summary as JSON to this file. Example: extract.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub async fn run(args: ExtractArgs) -> anyhow::Result<Outcome> {
    let report = pipeline::extract(ExtractRequest {
        source: args.source,
        schemas: args.schemas,
        schema_sql: args.schema_sql,
        tables: args.tables,
        snapshot: args.snapshot,
        connections: args.connections,
        report: args.report,
    })
    .await?;
    print_summary(&report);
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
