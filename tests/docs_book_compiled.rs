//! Every chapter of the book is compiled: its runnable examples are doc
//! tests only if `mod book` in `src/lib.rs` includes it.
//!
//! A chapter is a file `docs/NN-name.md` (two digits, a dash). The check
//! runs over the chapters present, so a chapter added on another branch is
//! held to the same rule as soon as it lands.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Is `name` a chapter's file name: two digits, a dash, `.md`?
fn is_chapter(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 6
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2] == b'-'
        && name.ends_with(".md")
}

/// The body of `mod book` in `lib_rs`: from its opening line to the end.
fn book_module(lib_rs: &str) -> Option<&str> {
    let start = lib_rs.find("mod book {")?;
    Some(&lib_rs[start..])
}

/// The chapters of `docs` that `book` does not include.
fn missing(docs: &Path, book: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(docs)
        .expect("docs/ exists")
        .map(|entry| entry.expect("a readable entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| is_chapter(name))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter(|name| !book.contains(&format!("include_str!(\"../docs/{name}\")")))
        .collect()
}

#[test]
fn every_chapter_is_in_mod_book() {
    let lib_rs = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    let book = book_module(&lib_rs).expect("src/lib.rs has a `mod book`");
    let chapters = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter(|entry| {
            let entry = entry.as_ref().expect("a readable entry");
            is_chapter(&entry.file_name().to_string_lossy())
        })
        .count();
    assert!(chapters >= 10, "found only {chapters} chapters in docs/");
    let missing = missing(&root().join("docs"), book);
    assert!(
        missing.is_empty(),
        "chapters not compiled (add them to `mod book` in src/lib.rs): {missing:?}"
    );
}

#[test]
fn a_chapter_left_out_is_named() {
    let dir = std::env::temp_dir().join(format!("evloop-book-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("a scratch directory");
    for name in ["01-in.md", "02-out.md", "notes.md", "design.md"] {
        fs::write(dir.join(name), "# text\n").expect("write a chapter");
    }
    let book = "mod book {\n    #[doc = include_str!(\"../docs/01-in.md\")]\n    struct In;\n}";
    let result = missing(&dir, book);
    fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(result, ["02-out.md"], "only numbered chapters are required");
}

#[test]
fn chapter_names_are_two_digits_and_a_dash() {
    assert!(is_chapter("00-mini-loop.md"));
    assert!(is_chapter("11-workers-and-signals.md"));
    assert!(!is_chapter("glossary.md"));
    assert!(!is_chapter("4-short.md"));
    assert!(!is_chapter("05-timers.txt"));
}
