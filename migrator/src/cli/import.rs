//! `migrator import`: what `export s3` wrote, built into a new table by ImportTable and
//! verified against its manifests.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::export::S3EndpointArgs;
use super::migrate::ScanArgs;
use crate::error::Outcome;
use crate::pipeline::{self, ImportRequest, Target};
use crate::sink::dynamodb::DynamoConfig;
use crate::sink::s3::{S3Config, S3Location};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The design's spec: a folder holding spec.toml; the new table's keys, indexes and
    /// billing, which must be those the export was made with. Example: access-patterns/rootski
    #[arg(long, value_name = "DIR")]
    spec: PathBuf,
    /// Where `migrator export s3 --to` wrote (every shard's export, one manifest each).
    /// Example: s3://my-bucket/migrations/rootski
    #[arg(long, value_name = "S3_URL")]
    from: S3Location,
    /// The table to create; it must not exist yet (ImportTable makes a new table).
    /// Example: rootski-table
    #[arg(long, value_name = "NAME")]
    table: String,
    /// A DynamoDB-compatible endpoint instead of AWS's, such as a local one.
    /// Example: http://127.0.0.1:5000
    #[arg(long, env = "MIGRATOR_DYNAMODB_ENDPOINT", value_name = "URL")]
    endpoint_url: Option<String>,
    #[command(flatten)]
    s3: S3EndpointArgs,
    /// AWS region (else AWS_REGION or the profile's). Example: us-east-1
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// A profile of ~/.aws/config (else AWS_PROFILE or the default chain).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Seconds between two questions of how the import stands (an import on AWS takes
    /// minutes at least).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    poll_seconds: f64,
    #[command(flatten)]
    scan: ScanArgs,
    /// Where to write the report (JSON; Markdown beside it with .md). Example: import.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub async fn run(args: ImportArgs) -> anyhow::Result<Outcome> {
    if !(args.poll_seconds > 0.0 && args.poll_seconds <= 3600.0) {
        return Err(crate::error::Error::Usage(format!(
            "--poll-seconds {} is not between 0 and 3600",
            args.poll_seconds
        ))
        .into());
    }
    let request = ImportRequest {
        spec: args.spec,
        from: args.from,
        s3: S3Config {
            endpoint_url: args.s3.s3_endpoint_url,
            region: args.region.clone(),
            profile: args.profile.clone(),
        },
        target: Target {
            table: args.table,
            config: DynamoConfig {
                endpoint_url: args.endpoint_url,
                region: args.region,
                profile: args.profile,
                max_attempts: 8,
                in_flight: 1,
            },
        },
        poll: Duration::from_secs_f64(args.poll_seconds),
        scan: args.scan.options(),
        report: args.report,
    };
    let run = pipeline::import_s3(&request).await?;
    crate::say!("{}", run.markdown().trim_end());
    let outcome = run.outcome();
    if outcome == Outcome::CheckFailed {
        crate::say!(
            "error: table {} is not the exported items (see above)",
            run.table
        );
    }
    Ok(outcome)
}
