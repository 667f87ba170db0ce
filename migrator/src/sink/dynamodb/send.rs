//! One BatchWriteItem batch, sent until every request in it is accepted.
//!
//! The writer's client has the SDK's retries turned off: this loop is the one retry policy for
//! writes, so it sees every throttle (to slow the governor down) and counts every retry for the
//! report. 5xx answers, timeouts and dropped connections are retried up to `max_attempts` calls
//! in a row; throttling (an error, or UnprocessedItems) is the table asking to slow down, not a
//! failure: it is retried for up to [`MAX_ROUNDS`] rounds in a row while the governor slows the
//! whole load; all wait with exponential backoff and full jitter. Anything else is the request's fault and
//! ends the load.

use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::Client;
use aws_smithy_types::body::SdkBody;

use crate::item::request_json;

use super::governor::Governor;
use super::{service_error, SinkError};

/// Throttled rounds in a row (errors or UnprocessedItems) before a batch gives up.
const MAX_ROUNDS: u32 = 30;
/// The first backoff's ceiling; each retry doubles it, up to [`MAX_DELAY`].
const BASE_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(20);

/// How hard to push, shared by every batch of a load.
#[derive(Clone)]
pub struct Pacing {
    pub governor: Governor,
    /// Calls in a row that may fail with a retryable error before the batch gives up.
    pub max_attempts: u32,
}

/// One batch's requests and what they cost.
pub struct Batch {
    /// Each request in the wire format: `{"PutRequest":{"Item":{…}}}` (a plan line inside
    /// `{"PutRequest":…}`) or `{"DeleteRequest":{"Key":{…}}}`.
    pub requests: Vec<String>,
    /// Write capacity the whole batch consumes.
    pub wcu: f64,
    /// The first item, for messages: `TYPE pk sk`.
    pub first: String,
}

/// What sending one batch took beyond a single call.
#[derive(Debug, Default)]
pub struct Sent {
    /// Requests DynamoDB sent back unprocessed (wire format, canonical), each resent.
    pub resent: Vec<String>,
    /// Calls that failed with a retryable error and were made again.
    pub retried_calls: u64,
}

/// Sends `batch` to `table` until DynamoDB has accepted every request in it.
pub async fn send(
    client: &Client,
    table: &str,
    batch: Batch,
    pacing: &Pacing,
) -> Result<Sent, SinkError> {
    let mut sent = Sent::default();
    let total = batch.requests.len().max(1) as f64;
    let mut pending = batch.requests;
    let (mut rounds, mut failures) = (0u32, 0u32);
    loop {
        let wcu = batch.wcu * pending.len() as f64 / total;
        pacing.governor.acquire(wcu).await;
        let result = call(client, table, &pending).await;
        let unprocessed = match result {
            Ok(output) => output
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default(),
            Err(error) => match retryable(error) {
                Ok((true, _)) => {
                    pacing.governor.record(0.0, wcu);
                    rounds = throttled_again(rounds, table, pending.len())?;
                    sent.retried_calls += 1;
                    tokio::time::sleep(backoff(rounds)).await;
                    continue;
                }
                Ok((false, what)) => {
                    failures += 1;
                    if failures >= pacing.max_attempts {
                        return Err(SinkError::GaveUp {
                            table: table.to_string(),
                            key: batch.first,
                            attempts: failures,
                            last: what,
                        });
                    }
                    tracing::debug!(table, what, failures, "retrying a failed call");
                    sent.retried_calls += 1;
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
                Err(fatal) => return Err(rejected(fatal, table, &batch.first)),
            },
        };
        failures = 0;
        let refused = wcu * unprocessed.len() as f64 / pending.len() as f64;
        pacing.governor.record(wcu - refused, refused);
        if unprocessed.is_empty() {
            return Ok(sent);
        }
        rounds = throttled_again(rounds, table, unprocessed.len())?;
        tracing::debug!(table, unprocessed = unprocessed.len(), rounds, "resending");
        tokio::time::sleep(backoff(rounds)).await;
        pending = unprocessed.iter().map(request_json).collect();
        sent.resent.extend(pending.iter().cloned());
    }
}

/// One BatchWriteItem call whose body is the requests as they are: the plan's lines are the
/// wire format already, so they go out without being parsed into SDK values and serialised
/// again. The SDK still signs, sends and parses the answer.
async fn call(
    client: &Client,
    table: &str,
    requests: &[String],
) -> Result<BatchWriteItemOutput, SdkError<BatchWriteItemError, HttpResponse>> {
    // Written once (the lines are copied here, no more), shared by reference after.
    let quoted = serde_json::Value::from(table).to_string();
    let mut body = String::with_capacity(requests.iter().map(|r| r.len() + 1).sum::<usize>() + 64);
    body.push_str("{\"RequestItems\":{");
    body.push_str(&quoted);
    body.push_str(":[");
    for (i, request) in requests.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(request);
    }
    body.push_str("]}}");
    let body = bytes::Bytes::from(body);
    client
        .batch_write_item()
        .request_items(table, Vec::new())
        .customize()
        .mutate_request(move |request| {
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body.clone());
        })
        .send()
        .await
}

/// One more throttled round in a row, or the error that ends the batch after [`MAX_ROUNDS`].
fn throttled_again(rounds: u32, table: &str, left: usize) -> Result<u32, SinkError> {
    if rounds < MAX_ROUNDS {
        Ok(rounds + 1)
    } else {
        Err(SinkError::Unprocessed {
            table: table.to_string(),
            left,
            rounds: MAX_ROUNDS as usize,
        })
    }
}

/// Full jitter: a random wait up to `BASE_DELAY × 2^(attempt-1)`, capped at `MAX_DELAY`.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_DELAY
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_DELAY);
    ceiling.mul_f64(rand::random::<f64>())
}

/// A failed call that is worth making again: whether it was a throttle, and what happened.
/// Any other failure comes back as the error to report.
fn retryable(
    error: SdkError<BatchWriteItemError, HttpResponse>,
) -> Result<(bool, String), SinkError> {
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let status = service.raw().status().as_u16();
            if matches!(
                code,
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
            ) {
                Ok((true, code.to_string()))
            } else if status >= 500 {
                Ok((false, format!("HTTP {status} {code}")))
            } else {
                Err(service_error(error))
            }
        }
        SdkError::DispatchFailure(failure) if !failure.is_user() => {
            Ok((false, service_error(error).to_string()))
        }
        SdkError::ResponseError(_) => Ok((false, "the connection dropped mid-answer".into())),
        SdkError::TimeoutError(_) => Ok((false, "no answer in time".into())),
        _ => Err(service_error(error)),
    }
}

/// A refusal of the batch itself, naming its first item.
fn rejected(error: SinkError, table: &str, first: &str) -> SinkError {
    match error {
        SinkError::Service { code, message } => SinkError::Rejected {
            table: table.to_string(),
            key: first.to_string(),
            message: format!("{code}: {message}"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        for attempt in 1..30 {
            let ceiling = BASE_DELAY
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_DELAY);
            let waits: Vec<Duration> = (0..50).map(|_| backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            assert!(waits.iter().any(|w| *w < ceiling / 2), "jitter reaches low");
        }
        assert_eq!(BASE_DELAY.saturating_mul(1 << 16).min(MAX_DELAY), MAX_DELAY);
    }
}
