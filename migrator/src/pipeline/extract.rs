//! `extract`: every table of a source (or those named) read on one snapshot, rows counted.

use std::path::PathBuf;
use std::time::Instant;

use futures::StreamExt;

use crate::error::Error;
use crate::report::{ExtractReport, TableCount};
use crate::source::{Schemas, Source, SourceError, SourceLocation, SourceOptions};

/// What `extract` is asked to read.
#[derive(Debug, Clone)]
pub struct ExtractRequest {
    pub source: SourceLocation,
    /// The Postgres search path (`--schema`); empty, the server's.
    pub schemas: Vec<String>,
    /// The schema.sql that types a CSV folder, when not beside it.
    pub schema_sql: Option<PathBuf>,
    /// The tables to read (`schema.table` for another schema's); all when empty.
    pub tables: Vec<String>,
    pub connections: u16,
    /// A snapshot held elsewhere to read on (`--snapshot`).
    pub snapshot: Option<String>,
    pub report: Option<PathBuf>,
}

/// Reads the tables `request` names and counts their rows.
pub async fn extract(request: ExtractRequest) -> Result<ExtractReport, Error> {
    let started = Instant::now();
    let mut location = request.source;
    if let (SourceLocation::Csv { schema, .. }, Some(path)) = (&mut location, request.schema_sql) {
        *schema = Some(path);
    }
    let mut also: Vec<String> = Vec::new();
    for (ns, _) in request.tables.iter().filter_map(|t| t.split_once('.')) {
        if !request.schemas.iter().chain(&also).any(|s| s == ns) {
            also.push(ns.to_string());
        }
    }
    let options = SourceOptions {
        connections: usize::from(request.connections),
        schemas: Schemas {
            search: request.schemas,
            also,
        },
        snapshot: request.snapshot.clone(),
    };
    let source = Source::open(&location, options).await?;
    let names: Vec<String> = if request.tables.is_empty() {
        source
            .schema()
            .tables
            .iter()
            .map(|t| t.name.clone())
            .collect()
    } else {
        request.tables
    };
    let mut streams = Vec::new();
    for name in &names {
        streams.push(source.rows(name)?);
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
    .await?;
    let report = ExtractReport {
        source: location.to_string(),
        rows: counts.iter().map(|c| c.rows).sum(),
        tables: counts,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = request.report {
        crate::output::write_whole(&path, crate::report::to_json(&report).as_bytes())?;
    }
    Ok(report)
}
