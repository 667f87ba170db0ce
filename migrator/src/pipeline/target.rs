//! The table a command works on, and where it is.

use crate::error::Error;
use crate::sink::dynamodb::{DynamoConfig, DynamoSink, SinkError};

/// A table and where it is.
#[derive(Debug, Clone)]
pub struct Target {
    pub table: String,
    pub config: DynamoConfig,
}

impl Target {
    /// Where the table is, for messages: `DynamoDB at http://…`, or `DynamoDB`.
    pub fn describe(&self) -> String {
        match &self.config.endpoint_url {
            Some(url) => format!("DynamoDB at {url}"),
            None => "DynamoDB".to_string(),
        }
    }

    pub(super) async fn connect(&self) -> Result<DynamoSink, Error> {
        Ok(DynamoSink::connect(&self.config, &self.table).await?)
    }

    /// `error` as it happened at this table's place.
    pub(super) fn error(&self, source: SinkError) -> Error {
        Error::Dynamo {
            target: self.describe(),
            source,
        }
    }
}
