//! `migrator export …`: the design in another tool's format, or the plan in S3 for ImportTable.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::plan::{PlanInput, PriceArgs};
use crate::error::Outcome;
use crate::pipeline::{self, S3ExportRequest, WorkbenchRequest};
use crate::sink::s3::{S3Config, S3Location};

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Writes the spec's table as a NoSQL Workbench data model (Version 3.0 JSON, as Workbench
    /// imports it): the table, its indexes and billing, every attribute with the type the
    /// plan's items give it, and one facet per item type whose key aliases are the spec's key
    /// values (so a spec can read the model back: workbench = "model.json") and whose sample
    /// data are its first items in key order.
    ///
    /// Example: migrator export workbench --spec access-patterns/forum --source sql/forum/sample --out forum-model.json
    Workbench(WorkbenchArgs),
    /// Plans the spec over its source (whole, or one shard with --shard I/N) and writes the
    /// items to S3 as they are made, in the layout DynamoDB's ImportTable reads: gzip objects
    /// of DynamoDB JSON ({"Item": …} lines) of at most --object-size uncompressed under
    /// PREFIX/data/, then a manifest under PREFIX/manifests/ (the shard's objects, items and
    /// per item type the count and digest the import is verified with). The manifest is
    /// written last: an export that stops early leaves none, and removes its objects. Shards
    /// exported to one prefix add up to one import. Then: migrator import --from the same
    /// address.
    ///
    /// Example: migrator export s3 --to s3://my-bucket/migrations/rootski --spec access-patterns/rootski --source "$DATABASE_URL"
    S3(S3Args),
}

/// Where S3 is when it is not AWS's, for `export s3` and `import`.
#[derive(Debug, Args)]
pub struct S3EndpointArgs {
    /// An S3-compatible endpoint instead of AWS's, such as a local one (addressed path-style).
    /// Example: http://127.0.0.1:5000
    #[arg(long, env = "MIGRATOR_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct S3Args {
    #[command(flatten)]
    input: PlanInput,
    /// Where the export goes: a bucket and a prefix. Example: s3://my-bucket/migrations/rootski
    #[arg(long, value_name = "S3_URL")]
    to: S3Location,
    /// Uncompressed bytes per data object, at most, from 1K to 1G (K, M and G suffixes, powers
    /// of 1024). Objects are compressed in memory: one filling, two waiting and --uploads
    /// uploading are held at once.
    #[arg(long, default_value = "256M", value_name = "SIZE", value_parser = parse_size)]
    object_size: u64,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    uploads: u16,
    #[command(flatten)]
    endpoint: S3EndpointArgs,
    /// AWS region (else AWS_REGION or the profile's). Example: us-east-1
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// A profile of ~/.aws/config (else AWS_PROFILE or the default chain).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Where to write the plan's report (JSON; Markdown beside it with .md). Example: export.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(flatten)]
    prices: PriceArgs,
}

/// Reads a size: a number of bytes, or with K, M or G (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("\"{text}\" is not a size; write bytes, or a number with K, M or G, such as 256M")
    };
    let upper = text.trim().to_ascii_uppercase();
    let (digits, unit) = match upper.as_bytes().last() {
        Some(b'K') => (&upper[..upper.len() - 1], 1u64 << 10),
        Some(b'M') => (&upper[..upper.len() - 1], 1 << 20),
        Some(b'G') => (&upper[..upper.len() - 1], 1 << 30),
        _ => (upper.as_str(), 1),
    };
    let n: u64 = digits.trim().parse().map_err(|_| bad())?;
    n.checked_mul(unit)
        .filter(|n| (1 << 10..=1 << 30).contains(n))
        .ok_or_else(|| {
            format!("{text}: an object holds from 1K to 1G uncompressed (each is compressed in memory before its upload)")
        })
}

#[derive(Debug, Args)]
pub struct WorkbenchArgs {
    #[command(flatten)]
    input: PlanInput,
    /// Where to write the model (- for stdout). Example: model.json
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Items shown per facet, the first in key order.
    #[arg(long, default_value_t = 5, value_name = "N")]
    samples: usize,
}

pub async fn run(command: ExportCommand) -> anyhow::Result<Outcome> {
    let args = match command {
        ExportCommand::Workbench(args) => args,
        ExportCommand::S3(args) => return s3(args).await,
    };
    let request = WorkbenchRequest {
        input: args.input.to_input()?,
        out: args.out,
        samples: args.samples,
    };
    let export = pipeline::export_workbench(&request).await?;
    crate::say!(
        "wrote the NoSQL Workbench model of table {} to {}: {} facets, {} attributes, {} sample items",
        export.table,
        request.out.display(),
        export.facets,
        export.attributes,
        export.samples
    );
    Ok(Outcome::Success)
}

async fn s3(args: S3Args) -> anyhow::Result<Outcome> {
    let request = S3ExportRequest {
        input: args.input.to_input()?,
        to: args.to,
        s3: S3Config {
            endpoint_url: args.endpoint.s3_endpoint_url,
            region: args.region,
            profile: args.profile,
        },
        object_bytes: args.object_size,
        uploads: usize::from(args.uploads),
        report: args.report,
        prices: args.prices.prices(),
    };
    let export = pipeline::export_s3(&request).await?;
    crate::say!(
        "exported {} items ({} bytes, {} gzip) of {} types from {} as {} objects in {:.2} s; manifest {}",
        export.items,
        export.bytes,
        export.gzip_bytes,
        export.report.types.len(),
        export.report.source,
        export.objects,
        export.report.seconds,
        export.manifest
    );
    if export.removed > 0 {
        crate::say!(
            "removed {} objects an earlier export of this shard left",
            export.removed
        );
    }
    for line in export.report.paths.iter().flat_map(|p| p.lines()) {
        crate::say!("{line}");
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_are_bytes_or_powers_of_1024() {
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert_eq!(
            parse_size("2G"),
            Err("2G: an object holds from 1K to 1G uncompressed (each is compressed in memory before its upload)".to_string())
        );
        assert_eq!(
            parse_size("lots"),
            Err(
                "\"lots\" is not a size; write bytes, or a number with K, M or G, such as 256M"
                    .to_string()
            )
        );
    }
}
