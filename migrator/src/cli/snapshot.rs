//! `migrator snapshot`: holds one moment of a Postgres database for shards on other machines.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Outcome};
use crate::pipeline;
use crate::source::SourceLocation;

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The Postgres database: a postgres:// URL (TLS as in libpq). Example: "$DATABASE_URL"
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    source: SourceLocation,
    /// Also write the snapshot's id to this file, for the shards to read; removed when the
    /// holder stops. Example: /shared/snapshot-id
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn run(args: SnapshotArgs) -> anyhow::Result<Outcome> {
    let SourceLocation::Postgres(url) = &args.source else {
        return Err(Error::Usage(format!(
            "snapshot holds a moment of a Postgres database, but {} is a folder of CSV files",
            args.source
        ))
        .into());
    };
    pipeline::hold_snapshot(url, args.out.as_deref(), |id| {
        println!("{id}");
        crate::say!(
            "holding snapshot {id} of {url}: run every shard with --snapshot {id}; the snapshot lasts until this command stops (SIGTERM or Ctrl-C)"
        );
    })
    .await?;
    crate::say!("snapshot released");
    Ok(Outcome::Success)
}
