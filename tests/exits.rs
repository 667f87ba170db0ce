//! How commands end: exit codes in one place, quiet ends when the reader of stderr goes away,
//! and nothing from the libraries before our own one-line errors.

use std::path::Path;
use std::process::Stdio;

use crate::support::{migrator, migrator_command, outcome, sample_dir, Outcome};

/// A home folder whose AWS config cannot be parsed: the SDK logs a warning about it, which
/// must not reach the user.
fn broken_aws_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(home.path().join(".aws")).expect("mkdir");
    std::fs::write(home.path().join(".aws/config"), "[profile broken\n").expect("write");
    home
}

/// `create-table` against a closed local port with `home` as HOME, the variables `unset`
/// removed and the default log filter: what it says before it could reach anything.
fn create_table_with(home: &Path, extra: &[&str], unset: &[&str]) -> Outcome {
    let mut args = vec![
        "create-table",
        "--spec",
        "access-patterns/rootski",
        "--table",
        "t",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ];
    args.extend_from_slice(extra);
    let mut command = migrator_command(&args);
    command.env("HOME", home);
    for name in unset.iter().chain(&["AWS_PROFILE", "MIGRATOR_LOG"]) {
        command.env_remove(name);
    }
    outcome(&mut command)
}

#[test]
fn a_missing_region_is_our_one_line_and_nothing_before_it() {
    let home = broken_aws_home();
    let out = create_table_with(home.path(), &[], &["AWS_REGION", "AWS_DEFAULT_REGION"]);
    assert_eq!(
        out.stderr,
        "error: no AWS region: pass --region (for example us-east-1) or set AWS_REGION\n"
    );
    assert_eq!(out.code, 2);
}

#[test]
fn missing_credentials_are_our_one_line() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = create_table_with(
        home.path(),
        &["--region", "us-east-1"],
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ],
    );
    assert_eq!(
        out.stderr,
        "error: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile (or run where an instance or task role provides them)\n"
    );
    assert_eq!(out.code, 2);
}

#[test]
fn a_report_that_cannot_be_written_exits_2() {
    let out = migrator(&[
        "plan",
        "--spec",
        "access-patterns/rootski",
        "--source",
        sample_dir().to_str().unwrap(),
        "--report",
        "/proc/no-such-folder/plan.json",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().last(),
        Some("error: /proc/no-such-folder/plan.json: No such file or directory (os error 2)")
    );
}

#[test]
fn a_closed_stderr_ends_the_command_quietly_with_141() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("items.jsonl");
    let mut child = migrator_command(&[
        "plan",
        "--spec",
        "access-patterns/rootski",
        "--source",
        sample_dir().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .stderr(Stdio::piped())
    .spawn()
    .expect("start migrator");
    // Planning takes a while; its first line on stderr then meets a pipe nobody reads.
    drop(child.stderr.take());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(141), "no panic (101), no error (2)");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left,
        ["items.jsonl"],
        "the plan was complete before the first line"
    );
}

#[test]
fn a_closed_stdout_ends_the_command_quietly_with_141() {
    let mut child = migrator_command(&[
        "plan",
        "--spec",
        "access-patterns/rootski",
        "--source",
        sample_dir().to_str().unwrap(),
        "--out",
        "-",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start migrator");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(141));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "nothing said");
}
