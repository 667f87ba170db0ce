//! Specs fail at load, never at run: every example spec, with each of its values corrupted in
//! turn, either loads and plans the design's sample (items or row errors), or fails to load with
//! an error naming the spec's file and line. Nothing panics.

use std::panic::AssertUnwindSafe;
use std::path::Path;

use migrator::source::{Source, SourceLocation, SourceOptions};
use migrator::{spec, transform};

use crate::support::repo_root;

/// What each string value becomes in turn: empty, broken or unknown templates, names and
/// time patterns, and text of another kind.
const STRINGS: [&str; 12] = [
    "", "{", "}", "{nope}", "nope", "%Q", "%z", "a.b.c", "@group", "-", "X#{", "S",
];
/// What each number becomes in turn.
const NUMBERS: [&str; 4] = ["0", "-1", "99999999999999999999999", "1.5"];
/// What each boolean becomes.
const BOOLEANS: [&str; 1] = ["\"true\""];

/// A value's place in the spec's text and what it may become.
struct Slot {
    start: usize,
    end: usize,
    with: &'static [&'static str],
    quoted: bool,
}

/// Every value of `text` outside comments: quoted strings (their contents), numbers and
/// booleans in value position.
fn slots(text: &str) -> Vec<Slot> {
    let mut slots = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut previous = b'\n';
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'"' | b'\'') => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end] != quote {
                    end += if bytes[end] == b'\\' && quote == b'"' {
                        2
                    } else {
                        1
                    };
                }
                slots.push(Slot {
                    start,
                    end,
                    with: &STRINGS,
                    quoted: true,
                });
                i = end + 1;
                previous = quote;
                continue;
            }
            b if (b.is_ascii_digit() || b == b'-' || b == b't' || b == b'f')
                && matches!(previous, b'=' | b',' | b'[') =>
            {
                let end = (i..bytes.len())
                    .find(|&j| !(bytes[j].is_ascii_alphanumeric() || b"-_.".contains(&bytes[j])))
                    .unwrap_or(bytes.len());
                let token = &text[i..end];
                let with: &'static [&'static str] = match token {
                    "true" | "false" => &BOOLEANS,
                    _ if token.parse::<f64>().is_ok() => &NUMBERS,
                    _ => &[],
                };
                slots.push(Slot {
                    start: i,
                    end,
                    with,
                    quoted: false,
                });
                i = end;
                previous = b'0';
                continue;
            }
            b' ' | b'\t' => {}
            b => previous = b,
        }
        i += 1;
    }
    slots
}

/// Loads the spec `text` (written into `dir`) and, when it loads, plans it over `tables`;
/// returns what went wrong, if it was not a clean error.
fn try_corrupted(dir: &Path, text: &str, tables: &transform::Tables) -> Option<String> {
    std::fs::write(dir.join("spec.toml"), text).unwrap();
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| match spec::load(dir) {
        Ok(spec) => {
            // Planning may find bad rows (an error per row), never panic.
            let _ = transform::plan(&spec, tables);
            None
        }
        Err(error) => {
            let message = error.to_string();
            let at = format!("{}:", dir.join("spec.toml").display());
            let located = message
                .strip_prefix(&at)
                .and_then(|rest| rest.split_once(": "))
                .is_some_and(|(line, _)| line.parse::<usize>().is_ok());
            (!located || message.contains('\n'))
                .then(|| format!("not a one-line error at a line: {message}"))
        }
    }));
    ran.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Some(format!("panicked: {what}"))
    })
}

async fn corrupt_every_value(design: &str, sample: &str) {
    let spec_dir = repo_root().join("access-patterns").join(design);
    let original = std::fs::read_to_string(spec_dir.join("spec.toml")).unwrap();
    // The copy names its source schema by its full path, so it can live in a temp folder.
    let schema = repo_root().join("sql").join(design).join("schema.sql");
    let relative = format!("\"../../sql/{design}/schema.sql\"");
    assert!(
        original.contains(&relative),
        "{design} names its schema as expected"
    );
    // A OneTable schema beside the spec is named by its full path too.
    let onetable = spec_dir.join("schema.js");
    let text = original
        .replace(&relative, &format!("\"{}\"", schema.display()))
        .replace("\"schema.js\"", &format!("\"{}\"", onetable.display()));

    let spec = spec::load(&spec_dir).unwrap();
    let location: SourceLocation = repo_root().join(sample).to_str().unwrap().parse().unwrap();
    let location = match location {
        SourceLocation::Csv { dir, .. } => SourceLocation::Csv {
            dir,
            schema: Some(schema.clone()),
        },
        other => other,
    };
    let source = Source::open(&location, SourceOptions::default())
        .await
        .unwrap();
    let tables = transform::read_tables(&spec, &source).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut tried = 0;
    let mut failures = Vec::new();
    for slot in slots(&text) {
        for with in slot.with {
            let mut corrupted = String::with_capacity(text.len() + 32);
            corrupted.push_str(&text[..slot.start]);
            corrupted.push_str(with);
            corrupted.push_str(&text[slot.end..]);
            tried += 1;
            if let Some(problem) = try_corrupted(dir.path(), &corrupted, &tables) {
                let line = text[..slot.start].matches('\n').count() + 1;
                let was = &text[slot.start..slot.end];
                let shown = if slot.quoted {
                    format!("\"{with}\"")
                } else {
                    with.to_string()
                };
                failures.push(format!("line {line}: {was} -> {shown}: {problem}"));
            }
        }
    }
    assert!(tried > 300, "{design}: only {tried} corruptions found");
    assert!(
        failures.is_empty(),
        "{design}: {} of {tried} corrupted specs did not fail cleanly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_value_of_the_rootski_spec_corrupted_in_turn() {
    corrupt_every_value("rootski", "sql/rootski/sample").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_value_of_the_planning_poker_spec_corrupted_in_turn() {
    corrupt_every_value("planning-poker", "sql/planning-poker/sample").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_value_of_the_forum_spec_corrupted_in_turn() {
    corrupt_every_value("forum", "sql/forum/sample").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_value_of_the_ioto_spec_corrupted_in_turn() {
    corrupt_every_value("ioto", "sql/ioto/sample").await;
}
