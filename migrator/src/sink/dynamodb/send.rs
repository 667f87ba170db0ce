//! One BatchWriteItem batch, sent until every request in it is accepted.
//!
//! The writer's client has the SDK's retries turned off: this loop is the one retry policy for
//! writes, so it sees every throttle (to slow the governor down) and counts every retry for the
//! report. 5xx answers, timeouts and dropped connections are retried up to `max_attempts` calls
//! in a row; throttling (an error, or UnprocessedItems) is the table asking to slow down, not a
//! failure: it is retried for up to [`MAX_ROUNDS`] rounds in a row while the governor slows the
//! whole load; all wait with exponential backoff and full jitter. Anything else is the request's
//! fault and ends the load.
//!
//! The loop talks to DynamoDB through [`Writer`], one call at a time: the SDK client is the real
//! one, and the tests below put a scripted stand-in there, on tokio's paused clock.

use std::future::Future;
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
    /// The reasons DynamoDB gave for the throttling errors, one per reason and call.
    pub reasons: Vec<String>,
}

/// What one BatchWriteItem call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted, but for these requests (wire format), which came back unprocessed.
    Done(Vec<String>),
    /// A throttling error: nothing was written. Why, as DynamoDB says it (its
    /// `ThrottlingReasons`: `TableWriteKeyRangeThroughputExceeded on arn:…:table/T`), when it
    /// does.
    Throttled(Vec<String>),
    /// A failure worth another call (5xx, a timeout, a dropped connection): what happened.
    Failed(String),
}

/// Where a batch's calls go.
pub trait Writer {
    /// Makes one BatchWriteItem call of `requests` (wire format) on `table`.
    ///
    /// # Errors
    /// A failure no other call would mend (a rejected request, refused credentials).
    fn call(
        &self,
        table: &str,
        requests: &[String],
    ) -> impl Future<Output = Result<Answer, SinkError>> + Send;
}

impl Writer for Client {
    async fn call(&self, table: &str, requests: &[String]) -> Result<Answer, SinkError> {
        match call(self, table, requests).await {
            Ok(output) => Ok(Answer::Done(
                output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default()
                    .iter()
                    .map(request_json)
                    .collect(),
            )),
            Err(error) => retryable(error),
        }
    }
}

/// Sends `batch` to `table` until DynamoDB has accepted every request in it.
pub async fn send(
    writer: &impl Writer,
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
        let answer = writer
            .call(table, &pending)
            .await
            .map_err(|fatal| rejected(fatal, table, &batch.first))?;
        let unprocessed = match answer {
            Answer::Done(unprocessed) => unprocessed,
            Answer::Throttled(reasons) => {
                sent.reasons.extend(reasons);
                pacing.governor.record(0.0, wcu);
                rounds = throttled_again(rounds, table, pending.len())?;
                sent.retried_calls += 1;
                tokio::time::sleep(backoff(rounds)).await;
                continue;
            }
            Answer::Failed(what) => {
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
        sent.resent.extend(unprocessed.iter().cloned());
        pending = unprocessed;
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

/// A failed call as an answer worth another call (a throttle, or a failure and what happened);
/// any other failure comes back as the error to report.
fn retryable(error: SdkError<BatchWriteItemError, HttpResponse>) -> Result<Answer, SinkError> {
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
                Ok(Answer::Throttled(throttling_reasons(service.err())))
            } else if status >= 500 {
                Ok(Answer::Failed(format!("HTTP {status} {code}")))
            } else {
                Err(service_error(error))
            }
        }
        SdkError::DispatchFailure(failure) if !failure.is_user() => {
            Ok(Answer::Failed(service_error(error).to_string()))
        }
        SdkError::ResponseError(_) => {
            Ok(Answer::Failed("the connection dropped mid-answer".into()))
        }
        SdkError::TimeoutError(_) => Ok(Answer::Failed("no answer in time".into())),
        _ => Err(service_error(error)),
    }
}

/// The reasons a throttling error gives, each as `REASON on RESOURCE`.
fn throttling_reasons(error: &BatchWriteItemError) -> Vec<String> {
    let reasons = match error {
        BatchWriteItemError::ProvisionedThroughputExceededException(e) => e.throttling_reasons(),
        BatchWriteItemError::ThrottlingException(e) => e.throttling_reasons(),
        BatchWriteItemError::RequestLimitExceeded(e) => e.throttling_reasons(),
        _ => &[],
    };
    reasons
        .iter()
        .map(|r| {
            format!(
                "{} on {}",
                r.reason().unwrap_or("Unknown"),
                r.resource().unwrap_or("?")
            )
        })
        .collect()
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
    use std::sync::Mutex;

    use super::*;

    /// A stand-in for DynamoDB that gives scripted answers, in turn, and records each call's
    /// requests and (paused-clock) time.
    struct Scripted {
        answers: Mutex<Vec<Answer>>,
        calls: Mutex<Vec<(Vec<String>, tokio::time::Instant)>>,
    }

    impl Scripted {
        fn new(answers: Vec<Answer>) -> Self {
            Scripted {
                answers: Mutex::new(answers.into_iter().rev().collect()),
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<(Vec<String>, tokio::time::Instant)> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Writer for Scripted {
        async fn call(&self, _table: &str, requests: &[String]) -> Result<Answer, SinkError> {
            self.calls
                .lock()
                .unwrap()
                .push((requests.to_vec(), tokio::time::Instant::now()));
            Ok(self
                .answers
                .lock()
                .unwrap()
                .pop()
                .unwrap_or(Answer::Done(Vec::new())))
        }
    }

    fn batch(requests: &[&str]) -> Batch {
        Batch {
            requests: requests.iter().map(|r| r.to_string()).collect(),
            wcu: requests.len() as f64,
            first: "T pk sk".into(),
        }
    }

    fn pacing(max_attempts: u32) -> Pacing {
        Pacing {
            governor: Governor::new(None),
            max_attempts,
        }
    }

    /// The most the wait before the `attempt`-th retry may be.
    fn ceiling(attempt: u32) -> Duration {
        BASE_DELAY
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(MAX_DELAY)
    }

    #[tokio::test(start_paused = true)]
    async fn only_unprocessed_requests_are_resent_after_a_wait() {
        let writer = Scripted::new(vec![
            Answer::Done(vec!["b".into(), "c".into()]),
            Answer::Done(vec!["c".into()]),
            Answer::Done(Vec::new()),
        ]);
        let sent = send(&writer, "t", batch(&["a", "b", "c"]), &pacing(3))
            .await
            .unwrap();
        assert_eq!(sent.resent, ["b", "c", "c"]);
        assert_eq!(sent.retried_calls, 0);
        let calls = writer.calls();
        let sent_each: Vec<&[String]> = calls.iter().map(|(r, _)| &r[..]).collect();
        assert_eq!(sent_each, [&["a", "b", "c"][..], &["b", "c"], &["c"]]);
        for (round, pair) in calls.windows(2).enumerate() {
            let waited = pair[1].1 - pair[0].1;
            assert!(
                waited <= ceiling(round as u32 + 1),
                "round {round}: {waited:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_backs_off_under_a_doubling_ceiling_then_gives_up() {
        let writer = Scripted::new(vec![Answer::Throttled(Vec::new()); 40]);
        let error = send(&writer, "t", batch(&["a", "b"]), &pacing(3))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "table t: 2 items still throttled after 30 rounds in a row; lower --max-wcu or raise the table's capacity, then rerun the same command to resume"
        );
        let calls = writer.calls();
        assert_eq!(
            calls.len(),
            MAX_ROUNDS as usize + 1,
            "a call, then 30 retries"
        );
        let waits: Vec<Duration> = calls.windows(2).map(|p| p[1].1 - p[0].1).collect();
        for (i, waited) in waits.iter().enumerate() {
            assert!(
                *waited <= ceiling(i as u32 + 1),
                "retry {}: {waited:?}",
                i + 1
            );
        }
        // Full jitter spreads the waits under the ceiling: not all near it, not all near zero.
        let late: Vec<&Duration> = waits[10..].iter().collect();
        assert!(late.iter().any(|w| **w < MAX_DELAY / 2));
        assert!(late.iter().any(|w| **w > MAX_DELAY / 100));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_calls_give_up_after_max_attempts_in_a_row() {
        let writer = Scripted::new(vec![
            Answer::Failed("HTTP 500 InternalServerError".into()),
            Answer::Done(vec!["b".into()]),
            Answer::Failed("HTTP 500 InternalServerError".into()),
            Answer::Failed("no answer in time".into()),
            Answer::Failed("HTTP 503 ServiceUnavailable".into()),
        ]);
        let error = send(&writer, "t", batch(&["a", "b"]), &pacing(3))
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "table t: a batch (first item T pk sk) failed 3 calls in a row, the last with HTTP 503 ServiceUnavailable; the load stopped; rerun the same command to resume from the checkpoint"
        );
        assert_eq!(writer.calls().len(), 5, "an accepted call resets the count");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_then_success_counts_one_retried_call() {
        let writer = Scripted::new(vec![
            Answer::Failed("HTTP 500 X".into()),
            Answer::Done(Vec::new()),
        ]);
        let sent = send(&writer, "t", batch(&["a"]), &pacing(2)).await.unwrap();
        assert_eq!((sent.retried_calls, sent.resent.len()), (1, 0));
        let calls = writer.calls();
        assert!(calls[1].1 - calls[0].1 <= ceiling(1));
    }

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
