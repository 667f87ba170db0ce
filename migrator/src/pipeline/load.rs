//! Writing a plan into a table: rounds built on a thread of their own while the sink writes the
//! rounds before them, recorded in the checkpoint; and pruning what the plan does not make.

use std::collections::{BTreeMap, HashSet};

use super::check::{each_item, ScanOptions};
use super::target::Target;
use crate::error::Error;
use crate::item::{line_to_item, ItemKey};
use crate::sink::checkpoint::Checkpoint;
use crate::sink::dynamodb::{DynamoSink, Governor, ItemNames, SinkError, WriteReport};
use crate::spec::Spec;
use crate::transform::{Planned, ReadBack};

/// Rounds built ahead of the one being written.
const ROUNDS_AHEAD: usize = 2;

/// Builds the plan's lines round by round on a thread of their own (and rayon's) while the
/// sink writes the rounds before them: at most a few rounds are held at once. Returns what was
/// written, and the error that stopped the load early, if one did: the table's (said with
/// `target`), or the plan's when it cannot be read back.
pub fn load(
    sink: &DynamoSink,
    target: &Target,
    spec: &Spec,
    plan: &dyn Planned,
    governor: &Governor,
    checkpoint: &Checkpoint,
) -> (WriteReport, Option<Error>) {
    let planned: BTreeMap<String, u64> = spec
        .items
        .iter()
        .zip(plan.types())
        .map(|(item, entries)| (item.name.clone(), entries.len() as u64))
        .collect();
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = tokio::sync::mpsc::channel(ROUNDS_AHEAD);
            let building = scope.spawn(move || {
                for round in plan.rounds() {
                    // A round that cannot be read stops the load: the rounds written before it
                    // are in the checkpoint.
                    if tx.blocking_send(round?).is_err() {
                        break;
                    }
                }
                Ok(())
            });
            let (report, failed) = tokio::runtime::Handle::current().block_on(sink.write(
                &spec.table,
                &planned,
                rx,
                governor,
                Some(checkpoint),
            ));
            let built: std::thread::Result<Result<(), ReadBack>> = building.join();
            let stopped = match (failed, built) {
                (Some(error), _) => Some(target.error(error)),
                (None, Ok(Err(unread))) => Some(Error::from(unread)),
                (None, Err(_)) => Some(Error::Stopped("building the load's rounds")),
                (None, Ok(Ok(()))) => None,
            };
            (report, stopped)
        })
    })
}

/// Deletes the table's items whose keys the plan does not produce; returns how many.
pub async fn prune(
    sink: &DynamoSink,
    spec: &Spec,
    plan: &dyn Planned,
    scan: &ScanOptions,
    governor: &Governor,
) -> Result<u64, SinkError> {
    let planned: HashSet<&ItemKey> = plan.types().iter().flatten().map(|e| &e.key).collect();
    let names = ItemNames::of(&spec.table);
    let mut stale = Vec::new();
    each_item(sink, spec, scan, |item| {
        if !planned.contains(&item.key) {
            let item = line_to_item(&item.line).map_err(SinkError::Other)?;
            stale.push(names.key(&item));
        }
        Ok(())
    })
    .await?;
    sink.delete(stale, governor).await
}
