//! Safe outputs: only a regular file is replaced (and only once complete); devices, FIFOs and
//! stdout are written in place, symbolic links followed, and a full disk is a one-line error
//! that leaves no temporary file behind.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::dynamodb::{endpoint, table_name};
use crate::support::{loaded_database, migrator, outcome, repo_root, sample_dir, Outcome};

const SPEC: &str = "access-patterns/rootski";

fn plan_args<'a>(source: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["plan", "--spec", SPEC, "--source", source];
    args.extend_from_slice(extra);
    args
}

/// The sample's plan as a regular file writes it.
fn sample_plan() -> String {
    let dir = tempfile::tempdir().unwrap();
    let lines = crate::support::plan(SPEC, sample_dir().to_str().unwrap(), dir.path());
    lines.join("\n") + "\n"
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn dev_null_stays_a_device_and_gets_no_markdown_beside_it() {
    let sample = sample_dir();
    let out = migrator(&plan_args(
        sample.to_str().unwrap(),
        &["--out", "/dev/null", "--report", "/dev/null"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/null is still the device");
    assert!(!Path::new("/dev/null.md").exists());
    assert_eq!(
        names_in(Path::new("/dev"))
            .iter()
            .filter(|n| n.starts_with("null."))
            .count(),
        0
    );
}

#[test]
fn out_dash_writes_the_plan_to_stdout_for_a_pipe() {
    let sample = sample_dir();
    let script = format!(
        "'{}' plan --spec {SPEC} --source '{}' --out - | gzip -c",
        env!("CARGO_BIN_EXE_migrator"),
        sample.display()
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(output.status.success());
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&output.stdout[..]),
        &mut plain,
    )
    .unwrap();
    assert_eq!(plain, sample_plan());
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("planned 122 items"));

    let both = migrator(&plan_args(
        sample.to_str().unwrap(),
        &["--out", "-", "--report", "-"],
    ));
    assert_eq!(
        both.stderr,
        "error: --out - and --report - would both write to stdout; send one of them to a file\n"
    );
    assert_eq!(both.code, 2);
}

#[test]
fn a_link_is_followed_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("runs")).unwrap();
    let (link, report_link) = (dir.path().join("plan.jsonl"), dir.path().join("plan.json"));
    std::os::unix::fs::symlink("runs/monday.jsonl", &link).unwrap();
    std::os::unix::fs::symlink("runs/monday.json", &report_link).unwrap();
    let sample = sample_dir();
    let out = migrator(&plan_args(
        sample.to_str().unwrap(),
        &[
            "--out",
            link.to_str().unwrap(),
            "--report",
            report_link.to_str().unwrap(),
        ],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("runs/monday.jsonl")).unwrap(),
        sample_plan()
    );
    assert_eq!(
        names_in(&dir.path().join("runs")),
        ["monday.json", "monday.jsonl", "monday.md"],
        "the report's Markdown goes beside the file the link names"
    );
}

#[test]
fn a_fifo_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let sample = sample_dir();
    let out = migrator(&plan_args(
        sample.to_str().unwrap(),
        &["--out", fifo.to_str().unwrap()],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(reader.join().unwrap(), sample_plan());
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "still a FIFO");
    assert_eq!(names_in(dir.path()), ["plan.fifo"]);
}

#[test]
fn a_full_device_is_a_one_line_error() {
    let sample = sample_dir();
    let out = migrator(&plan_args(
        sample.to_str().unwrap(),
        &["--out", "/dev/full"],
    ));
    assert_eq!(
        out.stderr,
        "error: /dev/full: No space left on device (os error 28); free some space or write elsewhere, then rerun\n"
    );
    assert_eq!(out.code, 2);
}

/// Runs migrator with `args` where `disk` is a fresh tmpfs of `size` (in a mount namespace of
/// its own, so no privilege is needed), optionally filled first by a file of `filler` bytes;
/// returns the outcome and what the disk holds afterwards.
fn on_a_small_disk(
    disk: &Path,
    size: &str,
    filler: usize,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Outcome, Vec<String>) {
    const SCRIPT: &str = r#"mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99
disk="$2"; filler="$3"; shift 3
if [ "$filler" -gt 0 ]; then head -c "$filler" /dev/zero > "$disk/filler"; fi
"$@"; code=$?
ls -A "$disk" >&3
exit $code"#;
    let listing = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new("unshare");
    command
        .args([
            "-rm",
            "sh",
            "-c",
            &format!("exec 3>'{}'\n{SCRIPT}", listing.path().display()),
            "sh",
            size,
        ])
        .arg(disk)
        .arg(filler.to_string())
        .arg(env!("CARGO_BIN_EXE_migrator"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let out = outcome(&mut command);
    assert_ne!(out.code, 99, "cannot mount a tmpfs: {}", out.stderr);
    let left = std::fs::read_to_string(listing.path())
        .unwrap()
        .lines()
        .filter(|name| *name != "filler")
        .map(str::to_string)
        .collect();
    (out, left)
}

#[test]
fn a_full_disk_while_writing_a_plan_leaves_nothing_behind() {
    let disk = tempfile::tempdir().unwrap();
    let items = disk.path().join("items.jsonl");
    let sample = sample_dir();
    let (out, left) = on_a_small_disk(
        disk.path(),
        "32k",
        0,
        &plan_args(
            sample.to_str().unwrap(),
            &["--out", items.to_str().unwrap()],
        ),
        &[],
    );
    assert_eq!(
        out.stderr,
        format!("error: {}: No space left on device (os error 28); free some space or write elsewhere, then rerun\n", items.display())
    );
    assert_eq!(out.code, 2);
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_full_disk_while_spilling_windows_is_a_one_line_error() {
    let url = loaded_database("full_spill", &sample_dir()).await;
    let tmp = tempfile::tempdir().unwrap();
    let (out, left) = on_a_small_disk(
        tmp.path(),
        "16k",
        0,
        &plan_args(&url, &["--window", "2"]),
        &[("TMPDIR", tmp.path().to_str().unwrap())],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with(&format!(
            "error: cannot write or read the plan's sorted runs in {}/",
            tmp.path().display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        lines[0].ends_with(": No space left on device (os error 28) (set TMPDIR to a folder with room for about the uncompressed plan)"),
        "{}",
        out.stderr
    );
    assert!(left.is_empty(), "the runs are removed: {left:?}");
}

#[test]
fn a_full_disk_for_the_checkpoint_writes_nothing() {
    let disk = tempfile::tempdir().unwrap();
    let checkpoint = disk.path().join("load.checkpoint");
    let table = table_name("full_checkpoint");
    let endpoint = endpoint();
    let sample = sample_dir();
    let (out, left) = on_a_small_disk(
        disk.path(),
        "4k",
        4096,
        &[
            "migrate",
            "--spec",
            SPEC,
            "--source",
            sample.to_str().unwrap(),
            "--table",
            &table,
            "--endpoint-url",
            &endpoint,
            "--create-table",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.stderr,
        format!(
            "error: checkpoint {}: No space left on device (os error 28); free some space or write elsewhere, then rerun\n",
            checkpoint.display()
        )
    );
    assert_eq!(out.code, 2);
    assert!(left.is_empty(), "no empty checkpoint is left: {left:?}");
}
