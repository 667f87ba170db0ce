//! DynamoDB's ImportTable: a new table built from DynamoDB-JSON objects in S3, with the spec's
//! keys, indexes and billing, and no write capacity consumed.

use aws_sdk_dynamodb::types::{
    ImportStatus, ImportTableDescription, InputCompressionType, InputFormat, S3BucketSource,
    TableCreationParameters,
};
use aws_sdk_dynamodb::Client;

use super::table::{described, Definition};
use super::{service_error, SinkError};
use crate::spec::TableSpec;

/// Where an import reads from: every object under `prefix` in `bucket`, gzip DynamoDB JSON.
#[derive(Debug, Clone)]
pub struct ImportSource {
    pub bucket: String,
    pub prefix: String,
    /// Makes the call idempotent: the same token within 8 hours names the same import.
    pub client_token: String,
}

/// How an import stands, as DescribeImport says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportState {
    #[serde(rename = "import_arn")]
    pub arn: String,
    /// IN_PROGRESS, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    pub processed_items: i64,
    pub processed_bytes: i64,
    pub imported_items: i64,
    pub errors: i64,
    pub failure: Option<String>,
    /// The CloudWatch Logs group the import writes its errors to, when the endpoint says.
    pub log_group: Option<String>,
    /// The token it was started with.
    #[serde(skip)]
    pub client_token: Option<String>,
}

impl ImportState {
    /// Whether the import has ended, well or not.
    pub fn ended(&self) -> bool {
        !matches!(self.status.as_str(), "IN_PROGRESS" | "CANCELLING")
    }

    fn of(description: &ImportTableDescription) -> ImportState {
        let failure = match (description.failure_code(), description.failure_message()) {
            (None, None) => None,
            (code, message) => Some(format!(
                "{}: {}",
                code.unwrap_or("failure"),
                message.unwrap_or("")
            )),
        };
        ImportState {
            arn: description.import_arn().unwrap_or_default().to_string(),
            status: description
                .import_status()
                .map_or("UNKNOWN", ImportStatus::as_str)
                .to_string(),
            processed_items: description.processed_item_count(),
            processed_bytes: description.processed_size_bytes().unwrap_or(0),
            imported_items: description.imported_item_count(),
            errors: description.error_count(),
            failure,
            log_group: description.cloud_watch_log_group_arn().map(str::to_string),
            client_token: description.client_token().map(str::to_string),
        }
    }
}

/// Starts an import of `source` into a new table `name` shaped as `spec` says.
pub async fn start(
    client: &Client,
    name: &str,
    spec: &TableSpec,
    source: &ImportSource,
) -> Result<ImportState, SinkError> {
    let table = Definition::of(spec);
    let parameters = TableCreationParameters::builder()
        .table_name(name)
        .set_key_schema(Some(table.key_schema))
        .set_attribute_definitions(Some(table.attributes))
        .billing_mode(table.billing)
        .set_provisioned_throughput(table.provisioned)
        .set_on_demand_throughput(table.on_demand)
        .set_global_secondary_indexes((!table.indexes.is_empty()).then_some(table.indexes))
        .build()
        .map_err(|e| SinkError::Config(e.to_string()))?;
    let bucket = S3BucketSource::builder()
        .s3_bucket(&source.bucket)
        .s3_key_prefix(&source.prefix)
        .build()
        .map_err(|e| SinkError::Config(e.to_string()))?;
    let answer = client
        .import_table()
        .client_token(&source.client_token)
        .s3_bucket_source(bucket)
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(parameters)
        .send()
        .await
        .map_err(service_error)?;
    answer
        .import_table_description()
        .map(ImportState::of)
        .ok_or_else(|| SinkError::Other("ImportTable answered without a description".into()))
}

/// How the import `arn` stands now.
pub async fn describe(client: &Client, arn: &str) -> Result<ImportState, SinkError> {
    let answer = client
        .describe_import()
        .import_arn(arn)
        .send()
        .await
        .map_err(service_error)?;
    answer
        .import_table_description()
        .map(ImportState::of)
        .ok_or_else(|| SinkError::Other("DescribeImport answered without a description".into()))
}

/// What stands where an import would make its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// No table: the import may start.
    NoTable,
    /// The table an import with the same client token made or is making (a rerun).
    Ours(ImportState),
    /// A table of anyone else's (or one whose imports the endpoint does not list).
    Other,
}

/// Whether table `name` exists, and if so whether an import with `token` made it.
pub async fn existing(client: &Client, name: &str, token: &str) -> Result<Existing, SinkError> {
    let Some(table) = described(client, name).await? else {
        return Ok(Existing::NoTable);
    };
    let Some(arn) = table.table_arn() else {
        return Ok(Existing::Other);
    };
    // An endpoint without ListImports (local servers, which answer it with a server error)
    // cannot say: the table is someone else's. One attempt: retrying would not help.
    let once = aws_sdk_dynamodb::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled());
    let listed = client
        .list_imports()
        .table_arn(arn)
        .customize()
        .config_override(once)
        .send()
        .await;
    let Ok(listed) = listed else {
        return Ok(Existing::Other);
    };
    for summary in listed.import_summary_list() {
        let Some(import) = summary.import_arn() else {
            continue;
        };
        let state = describe(client, import).await?;
        if state.client_token.as_deref() == Some(token) {
            return Ok(Existing::Ours(state));
        }
    }
    Ok(Existing::Other)
}

/// The lines DynamoDB wrote for import `arn` to the CloudWatch Logs group `group_arn` names (at
/// most `limit`), each with its stream: the import's streams are named after its id.
pub async fn logged_errors(
    settings: &aws_config::SdkConfig,
    group_arn: &str,
    arn: &str,
    limit: i32,
) -> Result<Vec<String>, SinkError> {
    let client = aws_sdk_cloudwatchlogs::Client::new(settings);
    let id = import_id(arn);
    let answer = client
        .filter_log_events()
        .log_group_name(log_group_name(group_arn))
        .log_stream_name_prefix(id)
        .limit(limit)
        .send()
        .await
        .map_err(service_error)?;
    // Checked here too: a local Logs server may list every stream of the group.
    Ok(answer
        .events()
        .iter()
        .filter_map(|e| Some((e.log_stream_name()?, e.message()?)))
        .filter(|(stream, _)| stream.starts_with(id))
        .map(|(stream, message)| format!("{stream}: {}", message.trim()))
        .collect())
}

/// The group's name in its ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`).
pub fn log_group_name(group_arn: &str) -> &str {
    group_arn
        .split(":log-group:")
        .nth(1)
        .map_or(group_arn, |g| g.trim_end_matches(":*"))
}

/// The import's id, the last part of its ARN (`…:table/NAME/import/ID`).
pub fn import_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or_default()
}
