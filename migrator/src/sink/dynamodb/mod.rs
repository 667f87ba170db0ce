//! DynamoDB through aws-sdk-dynamodb: the table from the spec (`table.rs`), planned items
//! written with BatchWriteItem as they arrive from the planner (`write.rs`), the table read
//! back with a parallel Scan whose pages stream to the caller (`scan.rs`).
//!
//! One SDK client is built from the standard AWS configuration chain (environment, profile,
//! `--region`, `--endpoint-url`) with the SDK's standard retry mode, and cloned where needed.

mod governor;
mod import;
mod scan;
mod schedule;
mod send;
mod table;
mod write;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use aws_sdk_dynamodb::Client;

pub use governor::Governor;
pub use import::{import_id, log_group_name, Existing, ImportSource, ImportState};
pub use scan::{ItemNames, ScanPage};
pub use send::{MAX_BATCH_BYTES, MAX_BATCH_ITEMS};
pub use table::{spec_layout, Ttl};
pub use write::{TypeWrites, WriteReport};

use crate::item::{request_json, PlanLine, SdkItem};
use crate::sink::checkpoint::Checkpoint;
use crate::spec::TableSpec;

/// An item the plan does not make, deleted: how messages name it.
#[derive(Clone)]
struct StaleItem;

impl schedule::Label for StaleItem {
    fn label(&self) -> String {
        "a stale item".to_string()
    }
}

/// What the user asked for: where DynamoDB is and how hard to push it.
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Attempts per call, first one included, for throttling, 5xx and dropped connections.
    pub max_attempts: u32,
    /// BatchWriteItem calls in flight at once.
    pub in_flight: usize,
}

/// An open connection to DynamoDB and one table in it.
pub struct DynamoSink {
    client: Client,
    /// The same client with the SDK's retries off: writes retry in `send.rs`, where every
    /// throttle is seen and counted.
    writer: Client,
    table: String,
    in_flight: usize,
    max_attempts: u32,
    /// The AWS settings it was built from, for the other services a command may ask (the
    /// CloudWatch Logs of an import).
    settings: aws_config::SdkConfig,
}

impl DynamoSink {
    /// Builds the one SDK client for `table`.
    pub async fn connect(config: &DynamoConfig, table: &str) -> Result<Self, SinkError> {
        if config.in_flight == 0 {
            return Err(SinkError::Config("--concurrency must be at least 1".into()));
        }
        let sdk_config = aws_settings(
            config.endpoint_url.as_deref(),
            config.region.as_deref(),
            config.profile.as_deref(),
            config.max_attempts,
        )
        .await?;
        let writer = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .retry_config(RetryConfig::disabled())
            .build();
        Ok(DynamoSink {
            client: Client::new(&sdk_config),
            writer: Client::from_conf(writer),
            table: table.to_string(),
            in_flight: config.in_flight,
            max_attempts: config.max_attempts.max(1),
            settings: sdk_config,
        })
    }

    /// Creates the table from the spec when `create` is set and it does not exist; checks an
    /// existing one has the spec's keys and indexes. Returns whether it was created.
    pub async fn ensure_table(&self, spec: &TableSpec, create: bool) -> Result<bool, SinkError> {
        table::ensure(&self.client, &self.table, spec, create).await
    }

    /// Turns TTL on for the spec's TTL attribute, if it names one and it is not on yet.
    pub async fn ensure_ttl(&self, spec: &TableSpec) -> Result<Ttl, SinkError> {
        table::ensure_ttl(&self.client, &self.table, spec).await
    }

    /// Writes every planned item arriving in `rounds` (`planned` counts them per type) that
    /// the checkpoint does not already hold into the table `spec` describes, paced by
    /// `governor`. Returns what was written, and the error that stopped the load early, if one
    /// did.
    pub async fn write(
        &self,
        spec: &TableSpec,
        planned: &BTreeMap<String, u64>,
        rounds: tokio::sync::mpsc::Receiver<Vec<PlanLine>>,
        governor: &Governor,
        checkpoint: Option<&Checkpoint>,
    ) -> (WriteReport, Option<SinkError>) {
        let control = write::LoadControl {
            table: spec,
            in_flight: self.in_flight,
            max_attempts: self.max_attempts,
            governor,
            checkpoint,
        };
        write::write_all(&self.writer, &self.table, planned, rounds, &control).await
    }

    /// Deletes the items whose keys are given (each a map of the key attributes), 25 per call,
    /// paced by `governor`.
    pub async fn delete(&self, keys: Vec<SdkItem>, governor: &Governor) -> Result<u64, SinkError> {
        let count = keys.len() as u64;
        let mut scheduler = schedule::Scheduler::new(
            self.writer.clone(),
            schedule::Settings {
                table: self.table.clone(),
                governor: governor.clone(),
                max_attempts: self.max_attempts,
                in_flight: self.in_flight,
                key_names: Vec::new(),
            },
        );
        for key in keys {
            let delete = DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .expect("the key is set");
            let request = request_json(&WriteRequest::builder().delete_request(delete).build());
            scheduler.push(schedule::Pending::new(request, 1.0, None, StaleItem));
        }
        while let Some(done) = scheduler.next().await {
            done?;
        }
        Ok(count)
    }

    /// Reads the table back with a parallel Scan, a page at a time (see [`scan::scan`]).
    pub fn scan(
        &self,
        names: ItemNames,
        segments: i32,
        page_size: Option<i32>,
    ) -> tokio::sync::mpsc::Receiver<ScanPage> {
        scan::scan(&self.client, &self.table, names, segments, page_size)
    }

    /// Reads segment `segment` of a Scan in `total` segments (see [`scan::scan_segments`]).
    pub fn scan_segment(
        &self,
        names: ItemNames,
        segment: i32,
        total: i32,
        page_size: Option<i32>,
    ) -> tokio::sync::mpsc::Receiver<ScanPage> {
        scan::scan_segments(
            &self.client,
            &self.table,
            names,
            vec![segment],
            total,
            page_size,
        )
    }

    /// Every item of the table as a canonical `{"Item": …}` line, sorted.
    pub async fn scan_lines(
        &self,
        segments: i32,
        page_size: Option<i32>,
    ) -> Result<Vec<String>, SinkError> {
        let names = ItemNames {
            partition: String::new(),
            sort: None,
            type_attribute: None,
        };
        let mut pages = self.scan(names, segments, page_size);
        let mut lines = Vec::new();
        while let Some(page) = pages.recv().await {
            lines.extend(page?.into_iter().map(|item| item.line));
        }
        lines.sort_unstable();
        Ok(lines)
    }

    /// Starts ImportTable of `source` into this sink's table, new, shaped as `spec` says.
    pub async fn start_import(
        &self,
        spec: &TableSpec,
        source: &ImportSource,
    ) -> Result<ImportState, SinkError> {
        import::start(&self.client, &self.table, spec, source).await
    }

    /// Whether this sink's table exists, and if so whether the import with `token` made it.
    pub async fn existing_import(&self, token: &str) -> Result<Existing, SinkError> {
        import::existing(&self.client, &self.table, token).await
    }

    /// Up to `limit` lines import `arn` logged to the CloudWatch Logs group `group_arn` names.
    pub async fn import_errors(
        &self,
        group_arn: &str,
        arn: &str,
        limit: i32,
    ) -> Result<Vec<String>, SinkError> {
        import::logged_errors(&self.settings, group_arn, arn, limit).await
    }

    /// How the import `arn` stands now.
    pub async fn describe_import(&self, arn: &str) -> Result<ImportState, SinkError> {
        import::describe(&self.client, arn).await
    }

    /// The SDK client, for callers that need a request this sink does not offer.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The AWS settings of the standard chain (environment, profile, instance or task role) with
/// what the command line overrides, checked to have a region and credentials: one place for
/// every AWS client (DynamoDB, S3).
pub async fn aws_settings(
    endpoint_url: Option<&str>,
    region: Option<&str>,
    profile: Option<&str>,
    max_attempts: u32,
) -> Result<aws_config::SdkConfig, SinkError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk_config = loader.load().await;
    if sdk_config.region().is_none() {
        return Err(SinkError::Config(
            "no AWS region: pass --region (for example us-east-1) or set AWS_REGION".into(),
        ));
    }
    check_credentials(&sdk_config).await?;
    Ok(sdk_config)
}

/// Fails with one line when the credential chain finds nothing at all, before any call: the
/// SDK would otherwise report it at the first call as a failure to reach DynamoDB, listing
/// every provider it tried. Credentials found but refused are reported by the calls.
///
/// The provider is asked once more by the first call; its sources cache what they can.
async fn check_credentials(config: &aws_config::SdkConfig) -> Result<(), SinkError> {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = config.credentials_provider() else {
        return Err(SinkError::NoCredentials);
    };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(CredentialsError::CredentialsNotLoaded(_)) => Err(SinkError::NoCredentials),
        Err(error) => Err(SinkError::CredentialsUnloadable(
            crate::progress::said_once(&error),
        )),
    }
}

/// Turns an SDK failure into a sink error that says what to check.
pub(crate) fn service_error<E, R>(error: SdkError<E, R>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::DispatchFailure(failure) => {
            SinkError::Unreachable(match failure.as_connector_error() {
                Some(connector) => crate::progress::said_once(connector),
                None => DisplayErrorContext(&error).to_string(),
            })
        }
        SdkError::TimeoutError(_) => SinkError::Unreachable("no answer in time".into()),
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let message = service.err().message().unwrap_or("").to_string();
            if matches!(
                code.as_str(),
                "UnrecognizedClientException"
                    | "InvalidSignatureException"
                    | "MissingAuthenticationTokenException"
                    | "ExpiredTokenException"
                    | "AccessDeniedException"
            ) {
                SinkError::Credentials(format!("{code}: {message}"))
            } else {
                SinkError::Service { code, message }
            }
        }
        _ => {
            let text = DisplayErrorContext(&error).to_string();
            if text.contains("credentials") || text.contains("Credentials") {
                SinkError::Credentials(text)
            } else {
                SinkError::Other(text)
            }
        }
    }
}

/// Everything that can go wrong with DynamoDB.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{0}")]
    Config(String),
    #[error("cannot reach DynamoDB: {0}; check --endpoint-url (or the region) and the network")]
    Unreachable(String),
    #[error("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile (or run where an instance or task role provides them)")]
    NoCredentials,
    #[error("the AWS credentials could not be loaded: {0}; check ~/.aws/config and ~/.aws/credentials, or --profile")]
    CredentialsUnloadable(String),
    #[error("DynamoDB refused the credentials: {0}; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile")]
    Credentials(String),
    #[error("table {0} does not exist; create it with --create-table (or migrator create-table)")]
    TableMissing(String),
    #[error("table {table} exists with {actual}, but the spec says {expected}; use another --table or fix the spec")]
    SchemaDiffers {
        table: String,
        expected: String,
        actual: String,
    },
    #[error("table {0} did not become ACTIVE in time; check it in the console and rerun")]
    NotActive(String),
    #[error(
        "table {table} rejected a batch (first item {key}): {message}; fix the spec or the data"
    )]
    Rejected {
        table: String,
        key: String,
        message: String,
    },
    #[error("table {table}: {left} item{} still throttled after {seconds} s of retries; lower --max-wcu or raise the table's capacity, then rerun the same command to resume", if *.left == 1 { "" } else { "s" })]
    Unprocessed {
        table: String,
        left: usize,
        seconds: u64,
    },
    #[error("table {table}: a batch (first item {key}) failed {attempts} calls in a row, the last with {last}; the load stopped; rerun the same command to resume from the checkpoint")]
    GaveUp {
        table: String,
        key: String,
        attempts: u32,
        last: String,
    },
    #[error("DynamoDB answered {code}: {message}")]
    Service { code: String, message: String },
    #[error("{0}")]
    Other(String),
}
