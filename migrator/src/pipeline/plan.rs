//! `plan`: every item of a spec built, checked and written as DynamoDB JSON while the next chunk
//! is built, with its report; the file appears only once the whole plan is valid.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::input::{plan_tables, Input};
use crate::error::Error;
use crate::output::Output;
use crate::report::{load_paths, write_errors, PlanReport, Prices};
use crate::transform::window::{plan_windows, WindowError};
use crate::transform::{self, PlanErrors, Tables};
use crate::{sink, spec};

/// What `plan` is asked to do.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub input: Input,
    /// Where the items go (`-` for stdout); nowhere when absent.
    pub out: Option<PathBuf>,
    /// Where the report goes (JSON, Markdown beside it).
    pub report: Option<PathBuf>,
    /// What writes and imports cost, for the load paths' estimate.
    pub prices: Prices,
}

/// Plans the items `request` asks for and writes them and the report.
///
/// # Errors
/// A spec or source that cannot be read, items that cannot be made (every one of them is in
/// the report then), an output that cannot be written.
pub async fn plan(request: &PlanRequest) -> Result<PlanReport, Error> {
    let started = Instant::now();
    let is_stdout = |path: &Option<PathBuf>| path.as_deref() == Some(Path::new("-"));
    if is_stdout(&request.out) && is_stdout(&request.report) {
        return Err(Error::Usage(
            "--out - and --report - would both write to stdout; send one of them to a file".into(),
        ));
    }
    let spec = request.input.load_spec()?;
    if let Some(window) = request.input.window {
        return plan_in_windows(&spec, request, window, started).await;
    }
    let (location, tables) = request.input.read_tables(&spec).await?;
    let planned = match &request.out {
        None => plan_tables(&spec, &tables).map(|plan| (plan, None)),
        Some(out) => tokio::task::block_in_place(|| plan_to_file(&spec, &tables, out))?,
    };
    let (plan, file) = match planned {
        Ok(planned) => planned,
        Err(error) => {
            if let Error::Plan(errors) = &error {
                report_errors(request, errors)?;
            }
            return Err(error);
        }
    };
    if let Some(file) = file {
        file.commit()?;
    }
    let report = PlanReport::new(
        &spec,
        &request.input.spec,
        location.to_string(),
        &plan,
        request.prices,
        started.elapsed().as_secs_f64(),
    );
    if let Some(path) = &request.report {
        report.write(path)?;
    }
    // The command ends soon: the system takes the rows and indexes back at exit faster than
    // freeing their millions of allocations one by one (about 0.5 s at scale 1).
    std::mem::forget(plan);
    std::mem::forget(tables);
    Ok(report)
}

/// Plans on a thread of its own (and rayon's) while this one writes each chunk of lines to
/// `out`; the output is left uncommitted (see [`Output`]).
fn plan_to_file<'a>(
    spec: &'a spec::Spec,
    tables: &'a Tables,
    out: &Path,
) -> Result<Result<(transform::Plan<'a>, Option<Output>), Error>, Error> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let planning = scope.spawn(move || {
            transform::plan_into(spec, tables, transform::Hashes::Skipped, |chunk| {
                // A writer that failed stops listening; its error is reported below.
                let _ = tx.send(chunk);
            })
        });
        let written = sink::write_items(out, rx.into_iter());
        let planned = planning.join().map_err(|_| Error::Stopped("planning"))?;
        let file = written?;
        Ok(planned.map(|plan| (plan, Some(file))).map_err(Error::from))
    })
}

/// Writes the items that could not be made to the report the request names, if any.
fn report_errors(request: &PlanRequest, errors: &PlanErrors) -> Result<(), Error> {
    if let Some(path) = &request.report {
        write_errors(path, &errors.0)?;
    }
    Ok(())
}

/// Plans from Postgres a window of root rows at a time (see [`transform::window`]) while a
/// thread of its own writes the lines.
async fn plan_in_windows(
    spec: &spec::Spec,
    request: &PlanRequest,
    window: usize,
    started: Instant,
) -> Result<PlanReport, Error> {
    let (location, postgres) = request.input.open_windowed(spec).await?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let writer = request
        .out
        .clone()
        .map(|path| std::thread::spawn(move || sink::write_items(&path, rx.into_iter())));
    let planned = plan_windows(spec, &postgres, window, |chunk| {
        // Without --out, or with a writer that failed (its error is reported below), the lines
        // go nowhere.
        let _ = tx.send(chunk);
    })
    .await;
    drop(tx);
    let file = match writer {
        Some(writer) => Some(
            writer
                .join()
                .map_err(|_| Error::Stopped("writing the plan"))??,
        ),
        None => None,
    };
    let windowed = match planned {
        Ok(windowed) => windowed,
        Err(error) => {
            if let WindowError::Plan(errors) = &error {
                report_errors(request, errors)?;
            }
            return Err(error.into());
        }
    };
    if let Some(file) = file {
        file.commit()?;
    }
    let report = PlanReport {
        spec: request.input.spec.display().to_string(),
        source: location.to_string(),
        shard: spec.shard.map(|s| s.to_string()),
        items: windowed.types.iter().map(|t| t.items).sum(),
        types: windowed.types,
        tables: windowed.accounts,
        events: windowed.events,
        paths: Some(load_paths(
            &windowed.capacity,
            windowed.json_bytes,
            request.prices,
        )),
        capacity: Some(windowed.capacity),
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &request.report {
        report.write(path)?;
    }
    Ok(report)
}
