//! docs/ARCHITECTURE.md names files and functions that exist.
//!
//! Every inline code span (outside fenced blocks) that starts with a repository path (`rust/`, `go/`,
//! `include/`, `docs/`) must name an existing file or directory. A span written `path::name` or
//! `path::Type::name` must also name a definition in that file: Rust `fn name` (or a `struct`,
//! `enum`, `trait`, `type`), Go `func name`/`func (r T) name` (or `type name`), or a top-level C
//! function (in a `.c`/`.h` file or a cgo preamble); each `Type` must appear in the file as a word.

use std::path::{Path, PathBuf};

const PREFIXES: [&str; 4] = ["rust/", "go/", "include/", "docs/"];

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The inline code spans of `doc`, fenced blocks left out.
fn code_spans(doc: &str) -> Vec<String> {
    let mut text = String::new();
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            text.push_str(line);
            text.push('\n');
        }
    }
    let parts: Vec<&str> = text.split('`').collect();
    assert!(parts.len() % 2 == 1, "docs/ARCHITECTURE.md has an unmatched backtick");
    parts.iter().skip(1).step_by(2).map(|s| s.trim().to_string()).collect()
}

/// The positions where `word` occurs in `line` as a whole identifier, with the character after it.
fn occurrences<'a>(line: &'a str, word: &'a str) -> impl Iterator<Item = (usize, Option<char>)> + 'a {
    line.match_indices(word).filter_map(move |(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        let whole = !before.is_some_and(is_ident) && !after.is_some_and(is_ident);
        whole.then_some((i, after))
    })
}

/// Whether `content` (of a file named `path`) defines `name`.
fn defines(path: &Path, content: &str, name: &str) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    content.lines().any(|line| {
        let trimmed = line.trim_start();
        let top_level = trimmed.len() == line.len();
        occurrences(line, name).any(|(i, after)| {
            let before = line[..i].trim_end();
            let keyword = |k: &str| before == k || before.ends_with(&format!(" {k}"));
            match ext {
                "rs" => {
                    (keyword("fn") && matches!(after, Some('(' | '<')))
                        || ["struct", "enum", "trait", "type"].iter().any(|k| keyword(k))
                }
                _ => {
                    let go_func = ext == "go"
                        && trimmed.starts_with("func ")
                        && matches!(after, Some('(' | '['))
                        && (before == "func" || before.ends_with(')'));
                    let go_type = ext == "go" && keyword("type");
                    // A C definition or declaration: a top-level line `type name(`.
                    let c_func = top_level
                        && after == Some('(')
                        && !["//", "#", "*", "/*", "return", "func"].iter().any(|p| trimmed.starts_with(p))
                        && before.ends_with(|c: char| is_ident(c) || c == '*');
                    go_func || go_type || c_func
                }
            }
        })
    })
}

#[test]
fn architecture_doc_names_files_and_functions_that_exist() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc_path = root.join("docs/ARCHITECTURE.md");
    let doc = std::fs::read_to_string(&doc_path).expect("read docs/ARCHITECTURE.md");
    let mut errors = Vec::new();
    let (mut paths, mut names) = (0, 0);
    for span in code_spans(&doc) {
        if !PREFIXES.iter().any(|p| span.starts_with(p)) || span.contains(char::is_whitespace) {
            continue;
        }
        let (file, item) = match span.split_once("::") {
            Some((f, i)) => (f, Some(i)),
            None => (span.as_str(), None),
        };
        paths += 1;
        let path = root.join(file);
        if !path.exists() {
            errors.push(format!("`{span}`: no file {file}"));
            continue;
        }
        let Some(item) = item else { continue };
        names += 1;
        let Ok(content) = std::fs::read_to_string(&path) else {
            errors.push(format!("`{span}`: {file} is not a readable text file"));
            continue;
        };
        let segments: Vec<&str> = item.split("::").collect();
        let (name, types) = segments.split_last().expect("split yields at least one segment");
        if name.is_empty() || !name.chars().all(is_ident) {
            errors.push(format!("`{span}`: `{name}` is not an identifier"));
            continue;
        }
        for ty in types {
            if !content.lines().any(|l| occurrences(l, ty).next().is_some()) {
                errors.push(format!("`{span}`: {file} never mentions `{ty}`"));
            }
        }
        if !defines(&path, &content, name) {
            errors.push(format!("`{span}`: {file} defines no `{name}`"));
        }
    }
    assert!(errors.is_empty(), "docs/ARCHITECTURE.md names what does not exist:\n{}", errors.join("\n"));
    eprintln!("{paths} paths, {names} functions checked");
    // A broken parser must not pass by checking nothing.
    assert!(paths >= 60 && names >= 50, "too few references found: {paths} paths, {names} functions");
}
