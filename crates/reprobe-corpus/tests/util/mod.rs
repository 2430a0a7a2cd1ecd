//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::PathBuf;

/// `../shared` next to the repository (the project's read-only data), or `None` after a [`skip`].
///
/// `REPROBE_SHARED_DIR` overrides the location (for checkouts that do not sit next to `shared/`, such as
/// extra git worktrees).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("REPROBE_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if dir.join("data").is_dir() {
        Some(dir)
    } else {
        skip(
            "shared",
            &format!(
                "{} is absent; this test needs the shared corpora (../shared/data next to the repository, or REPROBE_SHARED_DIR)",
                dir.display()
            ),
        );
        None
    }
}

/// A shared CoNLL file, e.g. `shared_conll("ontogum", "dev")`, or `None` after a [`skip`].
pub fn shared_conll(corpus: &str, split: &str) -> Option<PathBuf> {
    let path = shared_dir()?
        .join("data")
        .join(corpus)
        .join(format!("{split}.english.v4_gold_conll"));
    if path.is_file() {
        Some(path)
    } else {
        skip("shared", &format!("{} is absent", path.display()));
        None
    }
}

/// The four shared coreference files: (corpus, split).
pub const CORPORA: [(&str, &str); 4] = [
    ("ontogum", "dev"),
    ("ontogum", "train"),
    ("litbank", "dev"),
    ("litbank", "train"),
];

/// The shared bert-base-cased tokenizer folder, or `None` after a [`skip`].
pub fn bert_base_cased() -> Option<PathBuf> {
    let dir = shared_dir()?.join("tokenizers/bert-base-cased");
    if dir.join("vocab.txt").is_file() {
        Some(dir)
    } else {
        skip("shared", &format!("{} is absent", dir.display()));
        None
    }
}

/// The MiniLM checkpoint folder of the repository (`scripts/fetch-minilm.sh`), or `None` after a
/// [`skip`].
pub fn minilm() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    if dir.join("tokenizer.json").is_file() {
        Some(dir)
    } else {
        skip(
            "minilm",
            &format!(
                "{} is absent; bash scripts/fetch-minilm.sh fetches it",
                dir.display()
            ),
        );
        None
    }
}

#[path = "../../../test-util/skip.rs"]
mod skip;
#[allow(unused_imports)]
pub use skip::{current_test, record_skip, skip, skip_fails};
