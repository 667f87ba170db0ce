//! One BatchWriteItem call and what it came to: written (but for the requests sent back
//! unprocessed), throttled, failed in a way another call may mend, or refused for good.
//!
//! The writer's client has the SDK's retries turned off: the scheduler (`schedule.rs`) is the
//! one retry policy for writes, so it sees every throttle and counts every retry. Its waits
//! are [`backoff`]: exponential with full jitter.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::Client;
use aws_smithy_types::body::SdkBody;

use crate::item::request_json;

use super::{service_error, SinkError};

/// DynamoDB's limit on requests in one BatchWriteItem call.
pub const MAX_BATCH_ITEMS: usize = 25;
/// DynamoDB's limit on the size of one BatchWriteItem call.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// The first backoff's ceiling; each retry doubles it, up to a most.
const BASE_DELAY: Duration = Duration::from_millis(50);
/// The most a call that failed (5xx, a timeout, a dropped connection) waits.
pub const FAILED_MAX_DELAY: Duration = Duration::from_secs(20);
/// The most a throttled request waits: the governors set how hard the load pushes, so a
/// request refused waits only long enough not to come straight back.
pub const THROTTLED_MAX_DELAY: Duration = Duration::from_secs(1);

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

/// Where calls go.
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

/// Full jitter: a random wait up to `BASE_DELAY × 2^(attempt-1)`, capped at `most`.
pub fn backoff(attempt: u32, most: Duration) -> Duration {
    let ceiling = BASE_DELAY
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(most);
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
pub fn rejected(error: SinkError, table: &str, first: &str) -> SinkError {
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
                .min(FAILED_MAX_DELAY);
            let waits: Vec<Duration> = (0..50)
                .map(|_| backoff(attempt, FAILED_MAX_DELAY))
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            assert!(waits.iter().any(|w| *w < ceiling / 2), "jitter reaches low");
        }
        assert_eq!(
            BASE_DELAY.saturating_mul(1 << 16).min(FAILED_MAX_DELAY),
            FAILED_MAX_DELAY
        );
        assert!((0..50).all(|_| backoff(30, THROTTLED_MAX_DELAY) <= THROTTLED_MAX_DELAY));
    }
}
