//! S3 through aws-sdk-s3, in the layout DynamoDB's ImportTable reads: a plan's lines as gzip
//! DynamoDB-JSON objects of a set size under `PREFIX/data/` (`objects.rs`), and one manifest
//! per shard under `PREFIX/manifests/` saying what each object holds (`manifest.rs`). The
//! manifests sit outside `data/` because ImportTable reads every object under the prefix it is
//! given.

mod manifest;
mod objects;

use std::str::FromStr;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;

pub use manifest::{Manifest, ManifestObject, ManifestType, MANIFEST_FORMAT};
pub use objects::{upload_all, ObjectWriter, Upload, UploadsStopped, Written};

use super::dynamodb::{aws_settings, SinkError};

/// A place in S3: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without a leading or trailing `/`; empty for the bucket's top.
    pub prefix: String,
}

impl S3Location {
    /// The key of `rest` under this prefix.
    pub fn key(&self, rest: &str) -> String {
        if self.prefix.is_empty() {
            rest.to_string()
        } else {
            format!("{}/{rest}", self.prefix)
        }
    }

    /// `s3://bucket/key` for messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl FromStr for S3Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("\"{text}\" {why}; write s3://BUCKET/PREFIX, such as s3://my-bucket/migrations/rootski")
        };
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| bad("is not an S3 address"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(bad(
                "has no valid bucket name (3 to 63 lower-case letters, digits, dots and dashes)",
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

/// Where S3 is: the standard AWS settings, and an endpoint for S3-compatible servers.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// An S3-compatible endpoint (addressed path-style, as local servers need).
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// An open connection to one S3 bucket.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    /// Builds the S3 client for `bucket` and checks the bucket is there.
    pub async fn connect(config: &S3Config, bucket: &str) -> Result<Self, S3Error> {
        let settings = aws_settings(
            config.endpoint_url.as_deref(),
            config.region.as_deref(),
            config.profile.as_deref(),
            8,
        )
        .await?;
        let s3 = aws_sdk_s3::config::Builder::from(&settings)
            .force_path_style(config.endpoint_url.is_some())
            .build();
        let store = S3Store {
            client: Client::from_conf(s3),
            bucket: bucket.to_string(),
        };
        match store.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(store),
            Err(e) => match s3_error(e, &format!("s3://{bucket}")) {
                S3Error::Service { code, .. } if code == "NotFound" || code == "NoSuchBucket" => {
                    Err(S3Error::NoBucket(bucket.to_string()))
                }
                other => Err(other),
            },
        }
    }

    /// Writes `body` as object `key`.
    pub async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), S3Error> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| s3_error(e, &self.url(key)))?;
        Ok(())
    }

    /// Reads object `key` whole.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, S3Error> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error(e, &self.url(key)))?;
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| S3Error::Unreachable(format!("reading {}: {e}", self.url(key))))?;
        Ok(body.into_bytes().to_vec())
    }

    /// Every object under `prefix`, with its size, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, i64)>, S3Error> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error(e, &self.url(prefix)))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    objects.push((key.to_string(), object.size().unwrap_or(0)));
                }
            }
        }
        objects.sort();
        Ok(objects)
    }

    /// Deletes the objects `keys`, up to 1,000 a call.
    pub async fn delete(&self, keys: &[String]) -> Result<(), S3Error> {
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| S3Error::Other(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| S3Error::Other(e.to_string()))?;
            self.client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| s3_error(e, &self.url(&batch[0])))?;
        }
        Ok(())
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// Turns an SDK failure on `what` into an error that says what to check.
fn s3_error<E, R>(error: SdkError<E, R>, what: &str) -> S3Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::DispatchFailure(failure) => {
            S3Error::Unreachable(match failure.as_connector_error() {
                Some(connector) => crate::progress::said_once(connector),
                None => DisplayErrorContext(&error).to_string(),
            })
        }
        SdkError::TimeoutError(_) => S3Error::Unreachable("no answer in time".into()),
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let message = service.err().message().unwrap_or("").to_string();
            if matches!(
                code.as_str(),
                "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken"
            ) {
                S3Error::Refused {
                    what: what.to_string(),
                    code,
                    message,
                }
            } else {
                S3Error::Service {
                    what: what.to_string(),
                    code,
                    message,
                }
            }
        }
        _ => S3Error::Other(format!("{what}: {}", DisplayErrorContext(&error))),
    }
}

/// Everything that can go wrong with S3.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// No region or no credentials.
    #[error(transparent)]
    Settings(#[from] SinkError),
    #[error("cannot reach S3: {0}; check --s3-endpoint-url (or the region) and the network")]
    Unreachable(String),
    #[error("S3 bucket {0} does not exist; create it (aws s3 mb s3://{0}) or name another")]
    NoBucket(String),
    #[error("S3 refused {what}: {code}: {message}; check the credentials (AWS_ACCESS_KEY_ID, --profile) and the bucket's policy")]
    Refused {
        what: String,
        code: String,
        message: String,
    },
    #[error("S3 answered {code} for {what}: {message}")]
    Service {
        what: String,
        code: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

#[cfg(test)]
mod tests {
    use super::S3Location;

    #[test]
    fn an_s3_address_is_a_bucket_and_a_prefix() {
        let at: S3Location = "s3://my-bucket/migrations/rootski/".parse().unwrap();
        assert_eq!(at.bucket, "my-bucket");
        assert_eq!(at.key("data"), "migrations/rootski/data");
        let top: S3Location = "s3://my-bucket".parse().unwrap();
        assert_eq!(top.key("data"), "data");
        assert_eq!(
            "my-bucket/x".parse::<S3Location>().unwrap_err(),
            "\"my-bucket/x\" is not an S3 address; write s3://BUCKET/PREFIX, such as s3://my-bucket/migrations/rootski"
        );
        assert!("s3://My_Bucket/x"
            .parse::<S3Location>()
            .unwrap_err()
            .contains("has no valid bucket name"));
    }
}
