//! `plan`: every item of a spec built, checked and written as DynamoDB JSON while the next chunk
//! is built, with its report; the file appears only once the whole plan is valid.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::input::Input;
use crate::error::Error;
use crate::output::Output;
use crate::report::{write_errors, PlanReport, Prices};
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
    let writer = request.out.clone().map(|path| {
        move |chunks: Chunks| -> Result<Output, Error> {
            Ok(sink::write_items(&path, chunks.into_iter())?)
        }
    });
    let (report, file) = plan_to(&spec, request, writer, started).await?;
    if let Some(file) = file {
        file.commit()?;
    }
    if let Some(path) = &request.report {
        report.write(path)?;
    }
    Ok(report)
}

/// The chunks of lines a plan hands to its writer as they are made.
pub(super) type Chunks = std::sync::mpsc::Receiver<Vec<crate::item::PlanLine>>;

/// Plans `request`'s items (in memory, or in windows with `--window`) while `writer` takes
/// every chunk of lines as it is made (the two on threads of their own); returns the report and
/// what the writer returned. On errors, the items that could not be made go to the request's
/// report.
pub(super) async fn plan_to<W, T>(
    spec: &spec::Spec,
    request: &PlanRequest,
    writer: Option<W>,
    started: Instant,
) -> Result<(PlanReport, Option<T>), Error>
where
    W: FnOnce(Chunks) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    if let Some(window) = request.input.window {
        return plan_in_windows(spec, request, writer, window, started).await;
    }
    let (location, tables) = request.input.read_tables(spec).await?;
    let planned = match writer {
        // Nothing is written and nothing compared: the lines' hashes are not needed.
        None => tokio::task::block_in_place(|| {
            transform::plan_into(spec, &tables, transform::Hashes::Skipped, |_| {})
        })
        .map(|plan| (plan, None))
        .map_err(Error::from),
        Some(writer) => tokio::task::block_in_place(|| plan_while_writing(spec, &tables, writer))?,
    };
    let (plan, written) = match planned {
        Ok(planned) => planned,
        Err(error) => {
            if let Error::Plan(errors) = &error {
                report_errors(request, errors)?;
            }
            return Err(error);
        }
    };
    let report = PlanReport::new(
        spec,
        &request.input.spec,
        location.to_string(),
        plan.summary(spec),
        request.prices,
        started.elapsed().as_secs_f64(),
    );
    // The command ends soon: the system takes the rows and indexes back at exit faster than
    // freeing their millions of allocations one by one (about 0.5 s at scale 1).
    std::mem::forget(plan);
    std::mem::forget(tables);
    Ok((report, written))
}

/// Plans on a thread of its own (and rayon's) while this one hands each chunk of lines to
/// `writer`.
fn plan_while_writing<'a, W, T>(
    spec: &'a spec::Spec,
    tables: &'a Tables,
    writer: W,
) -> Result<Result<(transform::Plan<'a>, Option<T>), Error>, Error>
where
    W: FnOnce(Chunks) -> Result<T, Error>,
{
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let planning = scope.spawn(move || {
            transform::plan_into(spec, tables, transform::Hashes::Skipped, |chunk| {
                // A writer that failed stops listening; its error is reported below.
                let _ = tx.send(chunk);
            })
        });
        let written = writer(rx);
        let planned = planning.join().map_err(|_| Error::Stopped("planning"))?;
        let written = written?;
        Ok(planned
            .map(|plan| (plan, Some(written)))
            .map_err(Error::from))
    })
}

/// Writes the items that could not be made to the report the request names, if any.
fn report_errors(request: &PlanRequest, errors: &PlanErrors) -> Result<(), Error> {
    if let Some(path) = &request.report {
        write_errors(path, &errors.0)?;
    }
    Ok(())
}

/// Plans from Postgres a window of root rows at a time (see [`transform::window`]) while
/// `writer`, on a thread of its own, takes the lines.
async fn plan_in_windows<W, T>(
    spec: &spec::Spec,
    request: &PlanRequest,
    writer: Option<W>,
    window: usize,
    started: Instant,
) -> Result<(PlanReport, Option<T>), Error>
where
    W: FnOnce(Chunks) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    let (location, postgres) = request.input.open_windowed(spec).await?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let writer = writer.map(|writer| std::thread::spawn(move || writer(rx)));
    let planned = plan_windows(spec, &postgres, window, |chunk| {
        // Without a writer, or with one that failed (its error is reported below), the lines
        // go nowhere.
        let _ = tx.send(chunk);
    })
    .await;
    drop(tx);
    let written = match writer {
        Some(writer) => Some(
            writer
                .join()
                .map_err(|_| Error::Stopped("writing the plan"))??,
        ),
        None => None,
    };
    let summary = match planned {
        Ok(summary) => summary,
        Err(error) => {
            if let WindowError::Plan(errors) = &error {
                report_errors(request, errors)?;
            }
            return Err(error.into());
        }
    };
    let report = PlanReport::new(
        spec,
        &request.input.spec,
        location.to_string(),
        summary,
        request.prices,
        started.elapsed().as_secs_f64(),
    );
    Ok((report, written))
}
