//! `migrator migrate` and `migrator create-table`: the one-shot migration into a DynamoDB table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::error::Error;
use crate::sink::dynamodb::{DynamoConfig, DynamoSink, TypeWrites};
use crate::spec;

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
    /// Attempts per call for throttling, server errors and dropped connections (SDK retries).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=50))]
    max_attempts: u32,
}

impl DynamoArgs {
    async fn connect(&self) -> anyhow::Result<DynamoSink> {
        let config = DynamoConfig {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            max_attempts: self.max_attempts,
            in_flight: usize::from(self.concurrency),
        };
        Ok(DynamoSink::connect(&config, &self.table)
            .await
            .map_err(Error::from)?)
    }

    fn target(&self) -> String {
        match &self.endpoint_url {
            Some(url) => format!("DynamoDB at {url}"),
            None => "DynamoDB".to_string(),
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
    /// Plan and check the table, but write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where to write the report (JSON; Markdown beside it with .md). Example: migrate.json
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

pub async fn create_table(args: CreateTableArgs) -> anyhow::Result<u8> {
    let spec = spec::load(&args.spec).map_err(Error::from)?;
    let sink = args.dynamo.connect().await?;
    let created = sink
        .ensure_table(&spec.table, true)
        .await
        .map_err(Error::from)
        .with_context(|| args.dynamo.target())?;
    let verb = if created {
        "created"
    } else {
        "already exists with the spec's keys"
    };
    eprintln!(
        "table {} {verb}; ACTIVE in {}",
        args.dynamo.table,
        args.dynamo.target()
    );
    Ok(0)
}

/// One item type's line in the migration report.
#[derive(Debug, Serialize)]
struct TypeOutcome {
    item_type: String,
    planned: u64,
    written: u64,
    resent: u64,
    in_table: u64,
}

#[derive(Debug, Serialize)]
struct MigrateReport {
    table: String,
    target: String,
    source: String,
    dry_run: bool,
    table_created: bool,
    types: Vec<TypeOutcome>,
    batches: u64,
    matches: bool,
    seconds: f64,
}

impl MigrateReport {
    fn markdown(&self) -> String {
        let mut md = format!(
            "# Migration\n\nTable {} in {} from `{}` in {:.2} s{}: {}.\n\n| item type | planned | written | resent | in table |\n|---|---:|---:|---:|---:|\n",
            self.table,
            self.target,
            self.source,
            self.seconds,
            if self.dry_run { " (dry run)" } else { "" },
            if self.matches { "the table holds exactly the planned items per type" } else { "**counts differ**" }
        );
        for t in &self.types {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                t.item_type, t.planned, t.written, t.resent, t.in_table
            );
        }
        md
    }
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let spec = spec::load(&args.input.spec).map_err(Error::from)?;
    let sink = args.dynamo.connect().await?;
    let target = args.dynamo.target();
    let created = sink
        .ensure_table(&spec.table, args.create_table && !args.dry_run)
        .await
        .map_err(Error::from)
        .with_context(|| target.clone())?;
    let (location, plan) = super::plan::plan_from(&spec, &args.input).await?;
    eprintln!(
        "planned {} items; writing them to table {} in {target}",
        plan.items.len(),
        args.dynamo.table
    );
    let writes = if args.dry_run {
        Default::default()
    } else {
        sink.write(&plan.items)
            .await
            .map_err(Error::from)
            .with_context(|| target.clone())?
    };
    let in_table = sink
        .count_types(spec.table.type_attribute.as_deref(), 4)
        .await
        .map_err(Error::from)
        .with_context(|| target.clone())?;
    let mut planned: BTreeMap<&str, u64> = BTreeMap::new();
    for line in &plan.items {
        *planned.entry(line.item_type.as_str()).or_default() += 1;
    }
    let mut types: Vec<TypeOutcome> = spec
        .items
        .iter()
        .map(|item| {
            let name = item.name.as_str();
            let counted_as = if spec.table.type_attribute.is_some() {
                name
            } else {
                ""
            };
            let writes = writes
                .types
                .get(name)
                .cloned()
                .unwrap_or(TypeWrites::default());
            TypeOutcome {
                item_type: name.to_string(),
                planned: planned.get(name).copied().unwrap_or(0),
                written: writes.written,
                resent: writes.resent,
                in_table: in_table.get(counted_as).copied().unwrap_or(0),
            }
        })
        .collect();
    let matches = if spec.table.type_attribute.is_some() {
        let extra: u64 = in_table
            .iter()
            .filter(|(name, _)| !spec.items.iter().any(|i| &i.name == *name))
            .map(|(_, n)| n)
            .sum();
        if extra > 0 {
            types.push(TypeOutcome {
                item_type: "(other items)".into(),
                planned: 0,
                written: 0,
                resent: 0,
                in_table: extra,
            });
        }
        types.iter().all(|t| t.planned == t.in_table)
    } else {
        in_table.values().sum::<u64>() == plan.items.len() as u64
    };
    let report = MigrateReport {
        table: args.dynamo.table.clone(),
        target: target.clone(),
        source: location.to_string(),
        dry_run: args.dry_run,
        table_created: created,
        types,
        batches: writes.batches,
        matches,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| path.display().to_string())?;
        std::fs::write(path.with_extension("md"), report.markdown())
            .with_context(|| path.display().to_string())?;
    }
    eprint!("{}", report.markdown());
    if matches || args.dry_run {
        Ok(0)
    } else {
        eprintln!(
            "error: table {} does not hold exactly the planned items per type (see above)",
            args.dynamo.table
        );
        Ok(crate::error::EXIT_CHECK_FAILED as u8)
    }
}
