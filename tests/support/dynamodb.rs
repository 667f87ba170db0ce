//! The DynamoDB side of the harness: the endpoint `scripts/servers` started, tables no other
//! test uses, a sink on them, `migrate`'s usual arguments, and the fault proxy in front of the
//! endpoint (`scripts/fault-proxy.js`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use migrator::sink::dynamodb::{DynamoConfig, DynamoSink};

use super::repo_root;

/// The endpoint `scripts/servers` started.
pub fn endpoint() -> String {
    std::env::var("MIGRATOR_DYNAMODB_ENDPOINT").expect(
        "MIGRATOR_DYNAMODB_ENDPOINT is not set: run the tests through scripts/test, which starts the servers",
    )
}

/// A table name no other test uses.
pub fn table_name(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "t-{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn sink(table: &str) -> DynamoSink {
    let config = DynamoConfig {
        endpoint_url: Some(endpoint()),
        region: Some("us-east-1".into()),
        profile: None,
        max_attempts: 3,
        in_flight: 4,
    };
    DynamoSink::connect(&config, table).await.unwrap()
}

/// The fault proxy, running until dropped.
pub struct FaultProxy {
    child: Child,
    pub url: String,
}

impl FaultProxy {
    pub fn start(options: &[&str]) -> Self {
        Self::start_before(&endpoint(), options)
    }

    /// The proxy in front of `target` (moto's server, say) instead of the usual endpoint.
    pub fn start_before(target: &str, options: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg(repo_root().join("scripts/fault-proxy.js"))
            .args(["--target", target])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs the fault proxy");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the proxy says where it listens");
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        FaultProxy { child, url }
    }

    /// Stops the proxy and returns its counts.
    pub fn stop(mut self) -> serde_json::Value {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read the counts");
        let _ = self.child.wait();
        serde_json::from_str(stderr.trim()).unwrap_or_else(|_| panic!("counts: {stderr}"))
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `migrate` of Rootski's spec from `source` into `table` at `url`, creating it, reporting to `report`.
pub fn migrate_args<'a>(
    source: &'a str,
    table: &'a str,
    url: &'a str,
    report: &'a str,
) -> Vec<&'a str> {
    vec![
        "migrate",
        "--spec",
        "access-patterns/rootski",
        "--source",
        source,
        "--table",
        table,
        "--endpoint-url",
        url,
        "--create-table",
        "--report",
        report,
    ]
}

/// `migrate` of `spec` from `source` into `table` at the local endpoint, with `extra` options
/// (`--create-table` for a new table).
pub fn migrate(spec: &str, source: &str, table: &str, extra: &[&str]) -> super::Outcome {
    let endpoint = endpoint();
    let mut args = vec![
        "migrate",
        "--spec",
        spec,
        "--source",
        source,
        "--table",
        table,
        "--endpoint-url",
        &endpoint,
    ];
    args.extend_from_slice(extra);
    super::migrator(&args)
}
