//! `migrator export …`: the design in another tool's format.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::plan::PlanInput;
use crate::error::Outcome;
use crate::pipeline::{self, WorkbenchRequest};

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
    let ExportCommand::Workbench(args) = command;
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
