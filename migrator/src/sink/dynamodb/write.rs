//! Writing planned items with BatchWriteItem: batches within the service's limits, in an order
//! that spreads partitions, a bounded number in flight, UnprocessedItems resent with backoff.
//!
//! Failed calls (throttling, 5xx, dropped connections) are retried by the SDK's standard retry
//! mode; a call that succeeds with UnprocessedItems is ours to resend, here, and only here.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::{StreamExt, TryStreamExt};

use super::convert::line_to_item;
use super::{service_error, SinkError};
use crate::transform::PlanLine;

/// DynamoDB's limit on requests in one BatchWriteItem call.
pub const MAX_BATCH_ITEMS: usize = 25;
/// DynamoDB's limit on the size of one BatchWriteItem call.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Rounds of resending UnprocessedItems before a batch gives up.
const MAX_ROUNDS: usize = 12;

/// Items written and resent, per item type.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TypeWrites {
    pub written: u64,
    /// Item writes sent again because DynamoDB returned them unprocessed.
    pub resent: u64,
}

/// What a load wrote, per item type.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WriteReport {
    pub types: BTreeMap<String, TypeWrites>,
    pub batches: u64,
}

/// Groups the plan's items into batches: at most 25 items and 16 MB each, in an order that
/// spreads each partition's items over the whole load instead of sending them in a row.
pub fn batches(lines: &[PlanLine]) -> Vec<Vec<usize>> {
    let mut order: Vec<(u64, usize)> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut hasher = DefaultHasher::new();
            line.key.hash(&mut hasher);
            (hasher.finish(), i)
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

/// The table's key attribute names: how a request sent back unprocessed is matched to its item.
pub struct KeyNames<'a> {
    pub partition: &'a str,
    pub sort: Option<&'a str>,
}

impl<'a> KeyNames<'a> {
    /// The key attribute names of `spec`.
    pub fn of(spec: &'a crate::spec::TableSpec) -> Self {
        KeyNames {
            partition: &spec.partition_key.name,
            sort: spec.sort_key.as_ref().map(|k| k.name.as_str()),
        }
    }

    /// Just the key attributes of `item`.
    pub fn key(
        &self,
        item: &std::collections::HashMap<String, AttributeValue>,
    ) -> std::collections::HashMap<String, AttributeValue> {
        std::iter::once(self.partition)
            .chain(self.sort)
            .filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone())))
            .collect()
    }

    /// The key as the plan writes it: partition and sort key text.
    pub fn text_of(
        &self,
        item: &std::collections::HashMap<String, AttributeValue>,
    ) -> (String, String) {
        let text = |name: Option<&str>| {
            name.and_then(|n| item.get(n))
                .map(|v| match v {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default()
        };
        (text(Some(self.partition)), text(self.sort))
    }
}

/// Writes every planned item to `table`, `in_flight` calls at a time.
pub async fn write_all(
    client: &Client,
    table: &str,
    keys: &KeyNames<'_>,
    lines: &[PlanLine],
    in_flight: usize,
) -> Result<WriteReport, SinkError> {
    let batches = batches(lines);
    let count = batches.len() as u64;
    let mut report = futures::stream::iter(batches)
        .map(|batch| write_batch(client, table, keys, lines, batch))
        .buffer_unordered(in_flight.max(1))
        .try_fold(WriteReport::default(), |mut report, done| async move {
            for (item_type, writes) in done.types {
                let entry = report.types.entry(item_type).or_default();
                entry.written += writes.written;
                entry.resent += writes.resent;
            }
            Ok(report)
        })
        .await?;
    report.batches = count;
    Ok(report)
}

async fn write_batch(
    client: &Client,
    table: &str,
    keys: &KeyNames<'_>,
    lines: &[PlanLine],
    batch: Vec<usize>,
) -> Result<WriteReport, SinkError> {
    let mut report = WriteReport::default();
    let mut requests: Vec<WriteRequest> = Vec::with_capacity(batch.len());
    for &i in &batch {
        let item = line_to_item(&lines[i].json).map_err(|message| SinkError::Rejected {
            table: table.to_string(),
            key: describe(&lines[i]),
            message,
        })?;
        let put = PutRequest::builder()
            .set_item(Some(item))
            .build()
            .expect("the item is set");
        requests.push(WriteRequest::builder().put_request(put).build());
        report
            .types
            .entry(lines[i].item_type.clone())
            .or_default()
            .written += 1;
    }
    let first = describe(&lines[batch[0]]);
    let resent = send(client, table, requests, &first).await?;
    for request in resent {
        let Some(put) = request.put_request() else {
            continue;
        };
        let key = keys.text_of(put.item());
        let item_type = batch
            .iter()
            .map(|&i| &lines[i])
            .find(|line| line.key == key)
            .map(|line| line.item_type.clone())
            .unwrap_or_default();
        report.types.entry(item_type).or_default().resent += 1;
    }
    Ok(report)
}

/// Sends `requests` in one BatchWriteItem call, resending what comes back unprocessed with
/// jittered exponential backoff; returns every request that had to be resent.
pub(super) async fn send(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
    first: &str,
) -> Result<Vec<WriteRequest>, SinkError> {
    let mut resent = Vec::new();
    let mut pending = requests;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(20))
        .with_jitter()
        .without_max_times()
        .build();
    for round in 0..=MAX_ROUNDS {
        let output = client
            .batch_write_item()
            .request_items(table, pending.clone())
            .send()
            .await
            .map_err(|e| match service_error(e) {
                SinkError::Service { code, message } => SinkError::Rejected {
                    table: table.to_string(),
                    key: first.to_string(),
                    message: format!("{code}: {message}"),
                },
                other => other,
            })?;
        let unprocessed = output
            .unprocessed_items()
            .and_then(|u| u.get(table))
            .cloned()
            .unwrap_or_default();
        if unprocessed.is_empty() {
            return Ok(resent);
        }
        if round == MAX_ROUNDS {
            return Err(SinkError::Unprocessed {
                table: table.to_string(),
                left: unprocessed.len(),
                rounds: MAX_ROUNDS,
            });
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(20));
        tracing::debug!(
            table,
            unprocessed = unprocessed.len(),
            delay_ms = delay.as_millis() as u64,
            round,
            "resending"
        );
        tokio::time::sleep(delay).await;
        resent.extend(unprocessed.iter().cloned());
        pending = unprocessed;
    }
    unreachable!("the last round returns")
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
            table: "t".into(),
            row: "#1".into(),
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

    fn batches_sizes(lines: &[PlanLine]) -> Vec<usize> {
        batches(lines).iter().map(Vec::len).collect()
    }
}
