//! The crate's modules depend one way, down the order docs/architecture.md gives: a module
//! names only modules below it (or beside it on its own step). Read from the sources.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::repo_root;

/// Each top-level module of `migrator/src` and its step, lowest first; `say` is the macro the
/// `progress` module defines.
const STEPS: [(&str, u8); 19] = [
    ("exit", 0),
    ("redact", 0),
    ("cpu", 0),
    ("progress", 1),
    ("say", 1),
    ("output", 1),
    ("source", 2),
    ("item", 3),
    ("spec", 4),
    ("transform", 5),
    ("sink", 6),
    ("verify", 7),
    ("dataset", 8),
    ("report", 8),
    ("error", 9),
    ("pipeline", 10),
    ("cli", 11),
    ("main", 12),
    ("lib", 12),
];

fn step(module: &str) -> u8 {
    STEPS
        .iter()
        .find(|(m, _)| *m == module)
        .unwrap_or_else(|| {
            panic!("module {module} has no step: add it to STEPS and docs/architecture.md")
        })
        .1
}

/// The code of a source file without comments (doc comments link to anything) and without its
/// unit tests.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::NAME` (and every name of a `use crate::{…}` list) in `code`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let list = &list[..list.find('}').unwrap_or(list.len())];
            for item in list.split(',') {
                let name = item.trim().split("::").next().unwrap_or_default();
                if !name.is_empty() {
                    names.insert(name.to_string());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

/// The sources under `dir`, each with the top-level module it belongs to.
fn sources(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read the sources") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("below the root");
            let first = relative.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_str()
                .expect("UTF-8")
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&path).expect("read a source");
            out.push((module, format!("{}\n{}", relative.display(), code(&text))));
        }
    }
}

#[test]
fn modules_depend_one_way() {
    let root = repo_root().join("migrator/src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 40, "the sources were found");
    let mut against = Vec::new();
    for (module, text) in &files {
        let (path, code) = text.split_once('\n').expect("a path line");
        for named in named_modules(code) {
            if named != *module && step(&named) > step(module) {
                against.push(format!(
                    "{path}: {module} (step {}) names {named} (step {})",
                    step(module),
                    step(&named)
                ));
            }
        }
    }
    assert!(
        against.is_empty(),
        "imports against the order of docs/architecture.md; move the shared word down to where both can reach it:\n{}",
        against.join("\n")
    );
}
