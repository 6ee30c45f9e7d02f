//! The book's quotes of internal code stay true.
//!
//! The chapters in `docs/` quote `pub(crate)` code, which doc tests cannot
//! reach from outside the crate. Such a quote is a ```` ```rust,ignore ````
//! block whose first line is a comment naming the file it comes from:
//!
//! ````text
//! ```rust,ignore
//! // src/runtime/core.rs
//!     pub(crate) fn turn(&self, main: &MainWaker) -> io::Result<()> {
//! ```
//! ````
//!
//! Every other line of the block must appear, as one contiguous run of lines,
//! in that file (trailing whitespace aside; indentation counts). When the
//! code changes and the book does not, this test fails naming the chapter,
//! the line of the chapter and the first quoted line that is no longer in the
//! source. It reads every `docs/*.md`, so chapters added later are checked the
//! same way. A `rust,ignore` block whose first line names no `.rs` file is
//! not a quote and is left alone.

use std::fs;
use std::path::{Path, PathBuf};

/// One quote found in a chapter.
#[derive(Debug)]
struct Quote {
    /// The chapter's file name, for messages.
    chapter: String,
    /// The 1-based line of the chapter holding the file comment.
    line: usize,
    /// The quoted file, relative to the crate root.
    file: String,
    /// The quoted lines, trailing whitespace trimmed.
    body: Vec<String>,
}

/// The file a quote names: the first word after `//` on its first line, if
/// it ends in `.rs`.
fn named_file(first_line: &str) -> Option<String> {
    let rest = first_line.trim().strip_prefix("//")?;
    let word = rest.split_whitespace().next()?;
    word.ends_with(".rs").then(|| word.to_string())
}

/// Is this fence info string a Rust block that rustdoc ignores?
fn is_rust_ignore(info: &str) -> bool {
    let words: Vec<&str> = info.split(',').map(str::trim).collect();
    words.contains(&"rust") && words.contains(&"ignore")
}

/// The quotes of one chapter.
fn quotes(chapter: &str, text: &str) -> Vec<Quote> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let opening = lines[i].trim_start();
        let ticks = opening.len() - opening.trim_start_matches('`').len();
        // CommonMark: a backtick fence's info string has no backticks, so a
        // line such as "```` ```rust ```` blocks ..." is inline code.
        if ticks < 3 || opening[ticks..].contains('`') {
            i += 1;
            continue;
        }
        let indent = lines[i].len() - opening.len();
        let info = opening[ticks..].trim();
        // The block's content, up to a closing fence at least as long.
        let start = i + 1;
        let mut end = start;
        while end < lines.len() {
            let candidate = lines[end].trim();
            let closing = candidate.len() - candidate.trim_start_matches('`').len();
            if closing >= ticks && candidate.trim_start_matches('`').is_empty() {
                break;
            }
            end += 1;
        }
        let content: Vec<&str> = lines[start..end.min(lines.len())]
            .iter()
            .map(|line| {
                // Content of an indented fence (in a list) carries the indent.
                let strip = line.len() - line.trim_start().len();
                &line[strip.min(indent)..]
            })
            .collect();
        if is_rust_ignore(info)
            && let Some((first, rest)) = content.split_first()
            && let Some(file) = named_file(first)
        {
            let mut body: Vec<String> = rest.iter().map(|l| l.trim_end().to_string()).collect();
            while body.last().is_some_and(String::is_empty) {
                body.pop();
            }
            found.push(Quote {
                chapter: chapter.to_string(),
                line: start + 1,
                file,
                body,
            });
        }
        i = end + 1;
    }
    found
}

/// Checks one quote against the source tree at `root`; the error names the
/// chapter, its line, and the first quoted line not found in the source.
fn check(root: &Path, quote: &Quote) -> Result<(), String> {
    let here = format!("{}:{} (quote of {})", quote.chapter, quote.line, quote.file);
    let source = fs::read_to_string(root.join(&quote.file))
        .map_err(|e| format!("{here}: cannot read the quoted file: {e}"))?;
    if quote.body.is_empty() {
        return Err(format!("{here}: the quote is empty"));
    }
    let source: Vec<&str> = source.lines().map(str::trim_end).collect();
    // The longest prefix of the quote found as a contiguous run.
    let longest = (0..source.len())
        .map(|start| {
            quote
                .body
                .iter()
                .zip(&source[start..])
                .take_while(|(quoted, actual)| quoted == *actual)
                .count()
        })
        .max()
        .unwrap_or(0);
    if longest == quote.body.len() {
        return Ok(());
    }
    Err(format!(
        "{here}: chapter line {} is not in {} (after {} matching line(s)): {:?}",
        quote.line + 1 + longest,
        quote.file,
        longest,
        quote.body[longest]
    ))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every quote of every chapter, read from `docs/*.md`.
fn book_quotes() -> Vec<Quote> {
    let mut chapters: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("readable docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    chapters.sort();
    chapters
        .iter()
        .flat_map(|path| {
            let text = fs::read_to_string(path).expect("readable chapter");
            let name = format!(
                "docs/{}",
                path.file_name().expect("a file").to_string_lossy()
            );
            quotes(&name, &text)
        })
        .collect()
}

#[test]
fn every_quote_in_the_book_is_still_in_the_source() {
    let quotes = book_quotes();
    assert!(
        quotes.len() >= 10,
        "the book quotes internal code; found only {} quotes (is the parser broken?)",
        quotes.len()
    );
    let failures: Vec<String> = quotes
        .iter()
        .filter_map(|quote| check(&root(), quote).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} quote(s) no longer match the source:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const CHAPTER: &str = "\
# A chapter

```rust,ignore
// src/task/mod.rs
pub struct TaskId {
    /// The slab key of the task's slot.
    pub(crate) index: u32,
```

```rust,ignore
// src/task/mod.rs
pub struct TaskId {
    /// The slab key of the task's slot.
    pub(crate) index: u64,
    pub(crate) generation: u32,
```

```rust,ignore
// Not a quote: no file named.
let x = future_api();
```

```rust
let _doc_tested = 1;
```

```rust,ignore
// src/no/such/file.rs
fn gone() {}
```
";

#[test]
fn a_changed_line_is_reported_with_its_chapter_and_line() {
    let found = quotes("docs/99-test.md", CHAPTER);
    assert_eq!(
        found.len(),
        3,
        "two quotes of task/mod.rs and one of a missing file"
    );
    assert_eq!(found[0].line, 4);
    assert_eq!(check(&root(), &found[0]), Ok(()));
    let error = check(&root(), &found[1]).expect_err("index is a u32, not a u64");
    assert!(error.starts_with("docs/99-test.md:11 "), "{error}");
    assert!(error.contains("chapter line 14"), "{error}");
    assert!(error.contains("pub(crate) index: u64,"), "{error}");
}

#[test]
fn a_quote_of_a_missing_file_fails() {
    let found = quotes("docs/99-test.md", CHAPTER);
    let error = check(&root(), &found[2]).expect_err("the file does not exist");
    assert!(error.contains("src/no/such/file.rs"), "{error}");
    assert!(error.contains("cannot read"), "{error}");
}

#[test]
fn a_quote_must_be_contiguous() {
    // Both lines exist in src/task/mod.rs, but not next to each other.
    let text = "```rust,ignore\n// src/task/mod.rs\npub struct TaskId {\nimpl TaskId {\n```\n";
    let found = quotes("docs/x.md", text);
    let error = check(&root(), &found[0]).expect_err("lines are apart");
    assert!(error.contains("impl TaskId {"), "{error}");
}

#[test]
fn inline_code_with_backticks_is_not_a_fence() {
    let text = "```` ```rust,ignore ```` blocks are quotes\n\n\
                ```rust,ignore\n// src/lib.rs\npub mod task;\n```\n";
    let found = quotes("docs/x.md", text);
    assert_eq!(found.len(), 1, "the inline code must not hide the quote");
    assert_eq!(found[0].line, 4);
    assert_eq!(check(&root(), &found[0]), Ok(()));
}

#[test]
fn an_empty_quote_fails() {
    let found = quotes("docs/x.md", "```rust,ignore\n// src/lib.rs\n\n```\n");
    assert_eq!(found.len(), 1);
    assert!(check(&root(), &found[0]).is_err());
}
