//! Writing planned items with BatchWriteItem: each round of the plan split into batches within
//! the service's limits (a hot key's items in batches of their own, the rest in an order that
//! spreads partitions), handed to the scheduler (`schedule.rs`), each batch recorded in the
//! checkpoint once DynamoDB has accepted all of it.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;

use rayon::prelude::*;
use tokio::sync::mpsc;

use super::governor::{wcu, Governor};
use super::schedule::{Done, Label, Pending, Scheduler, Settings};
use super::send::{Writer, MAX_BATCH_BYTES, MAX_BATCH_ITEMS};
use super::SinkError;
use crate::item::{attributes, ItemKey, PlanLine};
use crate::progress::Progress;
use crate::sink::checkpoint::{batch_digest, Checkpoint};
use crate::spec::{IndexSpec, Projection, TableSpec};

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
    /// Hot keys (of the table or an index) whose items went at a pace of their own.
    pub paced_keys: Vec<String>,
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
    /// The table's keys and indexes, as the spec has them.
    pub table: &'a TableSpec,
    pub in_flight: usize,
    pub max_attempts: u32,
    pub governor: &'a Governor,
    pub checkpoint: Option<&'a Checkpoint>,
}

/// Groups the plan's items into batches: at most 25 items and 16 MB each, in an order that
/// spreads every partition's items evenly over the whole load instead of sending them in a row
/// (item `k` of the `n` of the `p`-th of `P` partitions goes at `(k + (p + ½) / P) / n` of the
/// way through), and otherwise keeps the plan's order, which local endpoints take fastest.
fn batches<L: Borrow<PlanLine>>(lines: &[L]) -> Vec<Vec<usize>> {
    let mut partitions: HashMap<&str, (u128, u128)> = HashMap::new();
    for line in lines {
        let next = partitions.len() as u128;
        let partition = line.borrow().key.0.as_str();
        partitions.entry(partition).or_insert((next, 0)).1 += 1;
    }
    let count = partitions.len() as u128;
    let mut ranks: HashMap<&str, u128> = HashMap::with_capacity(partitions.len());
    let mut order: Vec<(u128, usize)> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let partition = line.borrow().key.0.as_str();
            let (index, size) = partitions[partition];
            let rank = ranks.entry(partition).or_default();
            let position = (((*rank * count + index) * 2 + 1) << 64) / (2 * size * count);
            *rank += 1;
            (position, i)
        })
        .collect();
    order.sort_unstable();
    let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    in_batches(&order, |i| lines[i].borrow().json.len())
}

/// The write units a key takes in a round before it gets a lane of its own: a second's worth
/// at DynamoDB's 1,000 WCU/s per partition.
const LANE_WCU: f64 = 1000.0;
/// The share of a round's write units that also earns a key a lane: a key with more than
/// 1/40 of the writes sets the load's bound at the default quota of 40,000 WCU/s, however
/// thinly its items spread over the rounds.
const LANE_SHARE: f64 = 0.02;
/// The fewest write units a key needs for a lane by its share (a small round is no evidence).
const LANE_MIN_WCU: f64 = 100.0;
/// A lane's first rate, WCU/s: DynamoDB's per-partition limit.
const LANE_START_WCU: f64 = 1000.0;
/// New requests the scheduler holds before the next round is taken.
const LOW_WATER: usize = 4096;
/// Requests held in all (new, waiting, in lanes) above which no further round is taken.
const HELD_MAX: usize = 1 << 20;

/// One planned item as the scheduler carries it: its batch, type and key.
#[derive(Clone)]
struct Item {
    batch: u64,
    item_type: String,
    key: ItemKey,
}

impl Label for Item {
    fn label(&self) -> String {
        format!("{} {} {}", self.item_type, self.key.0, self.key.1)
    }
}

/// What the load keeps while it runs: the report, the batches not yet written whole, the bar.
struct Books<'a> {
    report: WriteReport,
    /// Per batch started and not yet written whole: its digest and its items left.
    open: HashMap<u64, (u64, usize)>,
    next_batch: u64,
    progress: Progress,
    started: std::time::Instant,
    control: &'a LoadControl<'a>,
    /// Lanes given so far, by key id.
    paced: HashSet<u64>,
}

/// Writes the planned items arriving in `rounds` (`planned` counts them per type) to `table`,
/// skipping the batches the checkpoint already holds. On the first failure that stops the
/// load, no further call starts and no further round is taken; the report counts what was
/// written and what failed (every item not known to be written), and comes back with the
/// error.
pub async fn write_all<W>(
    writer: &W,
    table: &str,
    planned: &BTreeMap<String, u64>,
    mut rounds: mpsc::Receiver<Vec<PlanLine>>,
    control: &LoadControl<'_>,
) -> (WriteReport, Option<SinkError>)
where
    W: Writer + Clone + Send + Sync + 'static,
{
    let mut report = WriteReport::default();
    for (item_type, count) in planned {
        report.types.entry(item_type.clone()).or_default().planned = *count;
    }
    let mut books = Books {
        report,
        open: HashMap::new(),
        next_batch: 0,
        progress: Progress::new("writing", planned.values().sum(), "items"),
        started: std::time::Instant::now(),
        control,
        paced: HashSet::new(),
    };
    let cpu_before = crate::cpu::process_seconds();
    let mut key_names = vec![control.table.partition_key.name.clone()];
    key_names.extend(control.table.sort_key.iter().map(|k| k.name.clone()));
    let mut scheduler = Scheduler::new(
        writer.clone(),
        Settings {
            table: table.to_string(),
            governor: control.governor.clone(),
            max_attempts: control.max_attempts,
            in_flight: control.in_flight.max(1),
            key_names,
        },
    );
    let mut more = true;
    let mut error = None;
    loop {
        let take_round = more
            && error.is_none()
            && scheduler.backlog() < LOW_WATER
            && scheduler.held() < HELD_MAX;
        let step = if take_round {
            tokio::select! {
                round = rounds.recv() => Step::Round(round),
                call = scheduler.next() => Step::Call(call),
            }
        } else {
            Step::Call(scheduler.next().await)
        };
        match step {
            Step::Round(Some(round)) => books.take(round, &mut scheduler),
            Step::Round(None) => more = false,
            Step::Call(None) if more && error.is_none() => match rounds.recv().await {
                Some(round) => books.take(round, &mut scheduler),
                None => more = false,
            },
            Step::Call(None) => break,
            Step::Call(Some(Ok(done))) => books.settle(done, &mut scheduler),
            Step::Call(Some(Err(stopped))) => error = Some(stopped),
        }
    }
    books.progress.finish();
    let mut report = books.report;
    if error.is_some() {
        for writes in report.types.values_mut() {
            writes.failed = writes.planned - writes.written - writes.skipped;
        }
    }
    report.throttles = scheduler.throttles();
    report.unprocessed_keys = most_unprocessed(std::mem::take(&mut report.unprocessed_keys));
    report.seconds = books.started.elapsed().as_secs_f64();
    report.cpu_seconds = crate::cpu::process_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    (report, error)
}

/// What the load waited for came to: a round of the plan, or a call.
enum Step<T> {
    Round(Option<Vec<PlanLine>>),
    Call(Option<Result<Done<T>, SinkError>>),
}

impl Books<'_> {
    /// Hands a round's items to the scheduler, batch by batch, but for the batches the
    /// checkpoint holds; the hot keys among them get lanes.
    fn take<W>(&mut self, round: Vec<PlanLine>, scheduler: &mut Scheduler<W, Item>)
    where
        W: Writer + Clone + Send + Sync + 'static,
    {
        let split = split(round, &self.control.table.indexes);
        for (key, name) in split.hot {
            if self.paced.insert(key) {
                scheduler.pace(key, LANE_START_WCU);
                self.report.paced_keys.push(name);
            }
        }
        for (batch, lanes) in split.batches {
            let digest = batch_digest(batch.iter().map(|line| line.hash));
            if self.control.checkpoint.is_some_and(|c| c.is_done(digest)) {
                self.report.batches += 1;
                self.report.batches_skipped += 1;
                self.progress.advance(batch.len() as u64);
                for line in batch {
                    self.report.types.entry(line.item_type).or_default().skipped += 1;
                }
                continue;
            }
            let id = self.next_batch;
            self.next_batch += 1;
            self.open.insert(id, (digest, batch.len()));
            for (line, lane) in batch.into_iter().zip(lanes) {
                // Sized at once: `format!` would grow the string (and copy the line) again.
                let mut request = String::with_capacity(line.json.len() + PUT_REQUEST.len() + 1);
                request.push_str(PUT_REQUEST);
                request.push_str(&line.json);
                request.push('}');
                let tag = Item {
                    batch: id,
                    item_type: line.item_type,
                    key: line.key,
                };
                scheduler.push(Pending::new(request, wcu(line.bytes), lane, tag));
            }
        }
    }

    /// Counts what a call wrote and sent back; records each batch once it is written whole.
    fn settle<W>(&mut self, done: Done<Item>, scheduler: &mut Scheduler<W, Item>)
    where
        W: Writer + Clone + Send + Sync + 'static,
    {
        let report = &mut self.report;
        report.calls_retried += u64::from(done.retried);
        for reason in done.reasons {
            *report.throttling_reasons.entry(reason).or_default() += 1;
        }
        for item in done.unprocessed {
            report.types.entry(item.item_type).or_default().resent += 1;
            report.unprocessed_keys.push((item.key.0, 1));
        }
        let count = done.accepted.len() as u64;
        for item in done.accepted {
            let entry = report.types.entry(item.item_type).or_default();
            entry.written += 1;
            let Some((digest, left)) = self.open.get_mut(&item.batch) else {
                continue;
            };
            *left -= 1;
            if *left > 0 {
                continue;
            }
            let digest = *digest;
            self.open.remove(&item.batch);
            report.batches += 1;
            if let Some(checkpoint) = self.control.checkpoint {
                if let Err(e) = checkpoint.record(digest) {
                    scheduler.stop(SinkError::Other(e.to_string()));
                }
            }
        }
        self.progress.advance(count);
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        self.progress.say(format!(
            "· {:.0} WCU/s · retries {} · throttles {}",
            report.wcu / seconds,
            report.calls_retried,
            scheduler.throttles()
        ));
    }
}

/// The lane an item goes through, with what it takes on the lane's key (see [`Pending::new`]).
type Lane = Option<(u64, f64)>;

/// A round ready for the scheduler: its batches, each item with its lane (when its key is
/// hot), and the hot keys with their names for the report.
struct Split {
    batches: Vec<(Vec<PlanLine>, Vec<Lane>)>,
    hot: Vec<(u64, String)>,
}

/// Splits a round into batches: each hot key's items (a key of the table or of an index
/// taking at least [`LANE_WCU`] in the round, or [`LANE_SHARE`] of it) in batches of their
/// own, in plan order; the rest in the order [`batches`] gives. The same round always splits
/// the same way, so a resumed load finds its batches in the checkpoint.
fn split(round: Vec<PlanLine>, indexes: &[IndexSpec]) -> Split {
    let keys: Vec<Vec<(u64, f64)>> = round
        .par_iter()
        .map(|line| {
            key_texts(line, indexes)
                .into_iter()
                .enumerate()
                .filter_map(|(target, text)| {
                    let text = text?;
                    let units = match target {
                        0 => wcu(line.bytes),
                        i if indexes[i - 1].projection == Projection::KeysOnly => 1.0,
                        _ => wcu(line.bytes),
                    };
                    Some((key_id(target, &text), units))
                })
                .collect()
        })
        .collect();
    let mut tally: HashMap<u64, f64> = HashMap::new();
    for (id, units) in keys.iter().flatten() {
        *tally.entry(*id).or_default() += units;
    }
    let table_wcu: f64 = round.iter().map(|line| wcu(line.bytes)).sum();
    let hot = |units: f64| {
        units >= LANE_WCU || (units >= LANE_MIN_WCU && units >= LANE_SHARE * table_wcu)
    };
    let lanes: Vec<Lane> = keys
        .iter()
        .map(|keys| {
            keys.iter()
                .filter(|(id, _)| hot(tally[id]))
                .max_by(|a, b| tally[&a.0].total_cmp(&tally[&b.0]).then(b.0.cmp(&a.0)))
                .copied()
        })
        .collect();
    let mut hot: Vec<(u64, String)> = Vec::new();
    let mut lane_of: HashMap<u64, usize> = HashMap::new();
    let mut laned: Vec<Vec<usize>> = Vec::new();
    let mut rest: Vec<usize> = Vec::new();
    for (i, lane) in lanes.iter().enumerate() {
        let Some((id, _)) = lane else {
            rest.push(i);
            continue;
        };
        let slot = *lane_of.entry(*id).or_insert_with(|| {
            let target = keys[i].iter().position(|(k, _)| k == id).unwrap_or(0);
            let text = key_texts(&round[i], indexes)[target]
                .clone()
                .unwrap_or_default();
            let name = match target {
                0 => format!("{text} of the table"),
                t => format!("{text} of the index {}", indexes[t - 1].name),
            };
            hot.push((*id, name));
            laned.push(Vec::new());
            laned.len() - 1
        });
        laned[slot].push(i);
    }
    let rest_lines: Vec<&PlanLine> = rest.iter().map(|&i| &round[i]).collect();
    let mut order: Vec<Vec<usize>> = Vec::new();
    for items in &laned {
        order.extend(in_batches(items, |i| round[i].json.len()));
    }
    order.extend(
        batches(&rest_lines)
            .into_iter()
            .map(|batch| batch.into_iter().map(|j| rest[j]).collect()),
    );
    let mut lines: Vec<Option<PlanLine>> = round.into_iter().map(Some).collect();
    let batches = order
        .into_iter()
        .map(|batch| {
            let lanes_of = batch.iter().map(|&i| lanes[i]).collect();
            let items = batch.into_iter().filter_map(|i| lines[i].take()).collect();
            (items, lanes_of)
        })
        .collect();
    Split { batches, hot }
}

/// The partition key text of a line in the table (first) and in each index (`None` where the
/// item is not in it).
fn key_texts(line: &PlanLine, indexes: &[IndexSpec]) -> Vec<Option<String>> {
    let mut texts = vec![Some(line.key.0.clone())];
    if indexes.is_empty() {
        return texts;
    }
    let attributes = attributes(&line.json);
    for index in indexes {
        let text = attributes.get(&index.partition_key.name).and_then(|raw| {
            let value: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(raw.get()).ok()?;
            value.into_values().next().map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
        });
        texts.push(text);
    }
    texts
}

/// A key's id: a hash of the table or index it is in and its text.
fn key_id(target: usize, text: &str) -> u64 {
    foldhash::fast::FixedState::with_seed(0).hash_one((target, text))
}

/// `items` (places of lines of `size`) in batches within the call's limits, in order.
fn in_batches(items: &[usize], size: impl Fn(usize) -> usize) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut bytes = 0;
    for &i in items {
        let size = size(i);
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

/// What a put request's line is wrapped in: `{"PutRequest":LINE}`.
const PUT_REQUEST: &str = "{\"PutRequest\":";

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

    #[test]
    fn keys_get_lanes_by_their_units_or_their_share_of_the_round() {
        // 10,000 items of 1 WCU: BIG takes 1,200 (a second's worth), THIN 300 (3%: a key with
        // more than 1/40 of the writes sets the bound at 40,000 WCU/s), SMALL 150 (1.5%).
        let mut lines: Vec<PlanLine> = (0..1200).map(|_| line("BIG", 10)).collect();
        lines.extend((0..300).map(|_| line("THIN", 10)));
        lines.extend((0..150).map(|_| line("SMALL", 10)));
        lines.extend((0..8350).map(|i| line(&format!("P#{i}"), 10)));
        let round = split(lines, &[]);
        let hot: Vec<&str> = round.hot.iter().map(|(_, name)| name.as_str()).collect();
        assert_eq!(hot, ["BIG of the table", "THIN of the table"]);
        let laned: usize = round
            .batches
            .iter()
            .flat_map(|(_, lanes)| lanes)
            .filter(|lane| lane.is_some())
            .count();
        assert_eq!(laned, 1500);
        // A small round is no evidence: 60 items of one key out of 100 get no lane.
        let mut small: Vec<PlanLine> = (0..60).map(|_| line("K", 10)).collect();
        small.extend((0..40).map(|i| line(&format!("P#{i}"), 10)));
        assert!(split(small, &[]).hot.is_empty());
    }

    fn batches_sizes(lines: &[PlanLine]) -> Vec<usize> {
        batches(lines).iter().map(Vec::len).collect()
    }
}
