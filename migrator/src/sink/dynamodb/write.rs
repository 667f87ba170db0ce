//! Writing planned items with BatchWriteItem: batches within the service's limits, in an order
//! that spreads partitions, a bounded number in flight, paced by the governor, each batch
//! recorded in the checkpoint once DynamoDB has accepted all of it (`send.rs` sends one batch).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::governor::{wcu, Governor};
use super::send::{send, Batch, Pacing};
use super::SinkError;
use crate::item::PlanLine;
use crate::progress::Progress;
use crate::sink::checkpoint::{batch_digest, Checkpoint};

/// DynamoDB's limit on requests in one BatchWriteItem call.
pub const MAX_BATCH_ITEMS: usize = 25;
/// DynamoDB's limit on the size of one BatchWriteItem call.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// What became of one item type's planned items.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TypeWrites {
    pub planned: u64,
    /// Written by this run.
    pub written: u64,
    /// Written by an earlier run, as the checkpoint recorded: not sent again.
    pub skipped: u64,
    /// Item writes sent again because DynamoDB returned them unprocessed.
    pub resent: u64,
    /// Not known to be written because the load stopped on an error (a rerun resumes them).
    pub failed: u64,
}

/// What a load wrote, per item type, and what it took.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct WriteReport {
    pub types: BTreeMap<String, TypeWrites>,
    pub batches: u64,
    /// Batches an earlier run had written (the load resumed from its checkpoint).
    pub batches_skipped: u64,
    /// Calls that failed (throttling, 5xx, timeouts, dropped connections) and were made again.
    pub calls_retried: u64,
    /// Throttles seen: throttling errors and answers with UnprocessedItems.
    pub throttles: u64,
    /// Throttling errors by the reason DynamoDB gave and the table or index it named.
    pub throttling_reasons: BTreeMap<String, u64>,
    /// The partition keys whose items came back unprocessed most often, most first.
    pub unprocessed_keys: Vec<(String, u64)>,
    /// Write capacity units consumed by the items written (1 per started KB of each item).
    pub wcu: f64,
    /// Wall time of the load.
    pub seconds: f64,
    /// CPU time this process spent during the load (all threads).
    pub cpu_seconds: Option<f64>,
}

impl WriteReport {
    /// Whether this load continued an earlier one.
    pub fn resumed(&self) -> bool {
        self.batches_skipped > 0
    }
}

/// How a load runs: calls in flight, pacing, and where it records progress.
pub struct LoadControl<'a> {
    pub in_flight: usize,
    pub max_attempts: u32,
    pub governor: &'a Governor,
    pub checkpoint: Option<&'a Checkpoint>,
}

/// Groups the plan's items into batches: at most 25 items and 16 MB each, in an order that
/// spreads every partition's items evenly over the whole load instead of sending them in a row
/// (item `k` of the `n` of the `p`-th of `P` partitions goes at `(k + (p + ½) / P) / n` of the
/// way through), and otherwise keeps the plan's order, which local endpoints take fastest.
pub fn batches(lines: &[PlanLine]) -> Vec<Vec<usize>> {
    let mut partitions: HashMap<&str, (u128, u128)> = HashMap::new();
    for line in lines {
        let next = partitions.len() as u128;
        partitions.entry(line.key.0.as_str()).or_insert((next, 0)).1 += 1;
    }
    let count = partitions.len() as u128;
    let mut ranks: HashMap<&str, u128> = HashMap::with_capacity(partitions.len());
    let mut order: Vec<(u128, usize)> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let partition = line.key.0.as_str();
            let (index, size) = partitions[partition];
            let rank = ranks.entry(partition).or_default();
            let position = (((*rank * count + index) * 2 + 1) << 64) / (2 * size * count);
            *rank += 1;
            (position, i)
        })
        .collect();
    order.sort_unstable();
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for (_, i) in order {
        let size = lines[i].json.len();
        if current.len() == MAX_BATCH_ITEMS
            || (bytes + size > MAX_BATCH_BYTES && !current.is_empty())
        {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Counters the bar shows while batches finish in any order.
#[derive(Default)]
struct Live {
    wcu: AtomicU64,
    retries: AtomicU64,
}

/// What became of one batch.
enum Outcome {
    /// Written by this run.
    Written(WriteReport),
    /// An earlier run wrote it (the checkpoint says so): items per type.
    Skipped(Vec<String>),
    /// Not started, because an earlier batch failed for good.
    NotStarted,
}

/// Writes the planned items arriving in `rounds` (`planned` counts them per type) to `table`,
/// each round in batches that spread its partitions, skipping batches the checkpoint already
/// holds. On the first batch that fails for good, no further batch starts and no further round
/// is taken; the report counts what was written and what failed (every item not known to be
/// written), and comes back with the error.
pub async fn write_all(
    client: &Client,
    table: &str,
    planned: &BTreeMap<String, u64>,
    mut rounds: mpsc::Receiver<Vec<PlanLine>>,
    control: &LoadControl<'_>,
) -> (WriteReport, Option<SinkError>) {
    let mut report = WriteReport::default();
    for (item_type, count) in planned {
        report.types.entry(item_type.clone()).or_default().planned = *count;
    }
    let progress = Progress::new("writing", planned.values().sum(), "items");
    let live = Live::default();
    let started = std::time::Instant::now();
    let cpu_before = crate::cpu::process_seconds();
    let pacing = Pacing {
        governor: control.governor.clone(),
        max_attempts: control.max_attempts,
    };
    let stopped = AtomicBool::new(false);
    let batches = futures::stream::poll_fn(|cx| rounds.poll_recv(cx))
        .take_while(|_| std::future::ready(!stopped.load(Ordering::Relaxed)))
        .flat_map(|round| futures::stream::iter(split(round)));
    let (mut report, error) = batches
        .map(|batch| {
            let (pacing, live, progress, stopped) = (&pacing, &live, &progress, &stopped);
            async move {
                let digest = batch_digest(batch.iter().map(|line| line.hash));
                if control.checkpoint.is_some_and(|c| c.is_done(digest)) {
                    progress.advance(batch.len() as u64);
                    return Ok(Outcome::Skipped(
                        batch.into_iter().map(|line| line.item_type).collect(),
                    ));
                }
                if stopped.load(Ordering::Relaxed) {
                    return Ok(Outcome::NotStarted);
                }
                let count = batch.len() as u64;
                let written = write_batch(client, table, batch, pacing)
                    .await
                    .inspect_err(|_| stopped.store(true, Ordering::Relaxed))?;
                if let Some(checkpoint) = control.checkpoint {
                    checkpoint
                        .record(digest)
                        .map_err(|e| SinkError::Other(e.to_string()))?;
                }
                let wcu = live.wcu.fetch_add(written.wcu as u64, Ordering::Relaxed);
                let retries = live
                    .retries
                    .fetch_add(written.calls_retried, Ordering::Relaxed);
                let seconds = started.elapsed().as_secs_f64().max(0.001);
                progress.advance(count);
                progress.say(format!(
                    "· {:.0} WCU/s · retries {} · throttles {}",
                    (wcu as f64 + written.wcu) / seconds,
                    retries + written.calls_retried,
                    pacing.governor.throttles()
                ));
                Ok::<_, SinkError>(Outcome::Written(written))
            }
        })
        .buffer_unordered(control.in_flight.max(1))
        .fold((report, None), |(mut report, mut error), done| async move {
            match done {
                Ok(Outcome::Written(done)) => {
                    report.batches += 1;
                    for (item_type, writes) in done.types {
                        let entry = report.types.entry(item_type).or_default();
                        entry.written += writes.written;
                        entry.resent += writes.resent;
                    }
                    report.calls_retried += done.calls_retried;
                    report.wcu += done.wcu;
                    for (reason, n) in done.throttling_reasons {
                        *report.throttling_reasons.entry(reason).or_default() += n;
                    }
                    report.unprocessed_keys.extend(done.unprocessed_keys);
                }
                Ok(Outcome::Skipped(types)) => {
                    report.batches += 1;
                    report.batches_skipped += 1;
                    for item_type in types {
                        report.types.entry(item_type).or_default().skipped += 1;
                    }
                }
                Ok(Outcome::NotStarted) => {}
                Err(e) => {
                    error.get_or_insert(e);
                }
            }
            (report, error)
        })
        .await;
    progress.finish();
    if error.is_some() {
        for writes in report.types.values_mut() {
            writes.failed = writes.planned - writes.written - writes.skipped;
        }
    }
    report.throttles = control.governor.throttles();
    report.unprocessed_keys = most_unprocessed(std::mem::take(&mut report.unprocessed_keys));
    report.seconds = started.elapsed().as_secs_f64();
    report.cpu_seconds = crate::cpu::process_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    (report, error)
}

/// One round's lines as batches, in the order [`batches`] gives.
fn split(round: Vec<PlanLine>) -> Vec<Vec<PlanLine>> {
    let order = batches(&round);
    let mut lines: Vec<Option<PlanLine>> = round.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|batch| batch.into_iter().filter_map(|i| lines[i].take()).collect())
        .collect()
}

/// What a put request's line is wrapped in: `{"PutRequest":LINE}`.
const PUT_REQUEST: &str = "{\"PutRequest\":";

async fn write_batch(
    client: &Client,
    table: &str,
    batch: Vec<PlanLine>,
    pacing: &Pacing,
) -> Result<WriteReport, SinkError> {
    let mut report = WriteReport::default();
    let mut requests: Vec<String> = Vec::with_capacity(batch.len());
    for line in &batch {
        // Sized at once: `format!` would grow the string (and copy the line) several times.
        let mut request = String::with_capacity(line.json.len() + PUT_REQUEST.len() + 1);
        request.push_str(PUT_REQUEST);
        request.push_str(&line.json);
        request.push('}');
        requests.push(request);
        report
            .types
            .entry(line.item_type.clone())
            .or_default()
            .written += 1;
        report.wcu += wcu(line.bytes);
    }
    let batch_of = Batch {
        requests,
        wcu: report.wcu,
        first: describe(&batch[0]),
    };
    // Its own task, so calls are built, signed and sent on every core of the runtime.
    let (client, table, pacing) = (client.clone(), table.to_string(), pacing.clone());
    let sent = tokio::spawn(async move { send(&client, &table, batch_of, &pacing).await })
        .await
        .map_err(|e| SinkError::Other(format!("a write task failed: {e}")))??;
    report.calls_retried = sent.retried_calls;
    for reason in sent.reasons {
        *report.throttling_reasons.entry(reason).or_default() += 1;
    }
    for request in sent.resent {
        let line = batch
            .iter()
            .find(|line| request.get(PUT_REQUEST.len()..request.len() - 1) == Some(&line.json));
        let item_type = line.map(|l| l.item_type.clone()).unwrap_or_default();
        report.types.entry(item_type).or_default().resent += 1;
        if let Some(line) = line {
            report.unprocessed_keys.push((line.key.0.clone(), 1));
        }
    }
    Ok(report)
}

/// Partition keys shown in a report's list of the most unprocessed.
const UNPROCESSED_KEYS_SHOWN: usize = 5;

/// The partition keys of `counts` (a key may come many times) summed, most first.
fn most_unprocessed(counts: Vec<(String, u64)>) -> Vec<(String, u64)> {
    let mut totals: HashMap<String, u64> = HashMap::new();
    for (key, n) in counts {
        *totals.entry(key).or_default() += n;
    }
    let mut totals: Vec<(String, u64)> = totals.into_iter().collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals.truncate(UNPROCESSED_KEYS_SHOWN);
    totals
}

fn describe(line: &PlanLine) -> String {
    format!("{} {} {}", line.item_type, line.key.0, line.key.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(pk: &str, bytes: usize) -> PlanLine {
        PlanLine {
            item_type: "T".into(),
            key: (pk.to_string(), String::new()),
            json: "x".repeat(bytes),
            bytes,
            hash: 0,
        }
    }

    #[test]
    fn batches_keep_the_limits_and_every_item() {
        let lines: Vec<PlanLine> = (0..60).map(|i| line(&format!("P#{i}"), 10)).collect();
        let batches = batches(&lines);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [25, 25, 10]
        );
        let mut all: Vec<usize> = batches.concat();
        all.sort_unstable();
        assert_eq!(all, (0..60).collect::<Vec<_>>());
        let big: Vec<PlanLine> = (0..3)
            .map(|i| line(&format!("B#{i}"), 7 * 1024 * 1024))
            .collect();
        assert_eq!(batches_sizes(&big), [2, 1]);
    }

    #[test]
    fn a_big_partition_is_spread_over_the_whole_load() {
        // 100 items of one partition, then 100 partitions of one item each.
        let mut lines: Vec<PlanLine> = (0..100).map(|_| line("HOT", 10)).collect();
        lines.extend((0..100).map(|i| line(&format!("P#{i:03}"), 10)));
        let order: Vec<usize> = batches(&lines).concat();
        assert_eq!(order.len(), 200);
        let hot_at: Vec<usize> = (0..200).filter(|&p| order[p] < 100).collect();
        assert!(hot_at.windows(2).all(|w| w[1] - w[0] <= 3), "{hot_at:?}");
        let others: Vec<usize> = order.iter().copied().filter(|&i| i >= 100).collect();
        assert_eq!(
            others,
            (100..200).collect::<Vec<_>>(),
            "the rest in plan order"
        );
        assert_eq!(order, batches(&lines).concat(), "deterministic");
    }

    fn batches_sizes(lines: &[PlanLine]) -> Vec<usize> {
        batches(lines).iter().map(Vec::len).collect()
    }
}
