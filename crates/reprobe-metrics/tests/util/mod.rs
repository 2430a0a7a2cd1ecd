//! Helpers shared by the integration tests.
#![allow(dead_code)]
pub mod conll;

use std::path::PathBuf;

/// `../shared` next to the repository (the project's read-only data), or `None` after a [`skip`].
///
/// `REPROBE_SHARED_DIR` overrides the location (for checkouts that do not sit next to `shared/`, such
/// as extra git worktrees).
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

/// The folder of the scorer fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scorer")
}

/// The text of a key or response named by a spec of `golden.json`: a fixture path (`hand/x.key`), a
/// shared file (`shared:data/ontogum/dev.english.v4_gold_conll`), or a perturbation of the key
/// (`perturb:seed=1,max_repeats=6,documents=1`). `Ok(None)` (after a [`skip`]) when the shared data
/// is absent.
pub fn resolve_spec(spec: &str, key_text: Option<&str>) -> Result<Option<String>, String> {
    if let Some(rel) = spec.strip_prefix("shared:") {
        let Some(dir) = shared_dir() else {
            return Ok(None);
        };
        let path = dir.join(rel);
        return std::fs::read_to_string(&path)
            .map(Some)
            .map_err(|e| format!("cannot read {}: {e}", path.display()));
    }
    if let Some(args) = spec.strip_prefix("perturb:") {
        let key_text = key_text.ok_or("a perturbation needs the key text")?;
        let mut perturbation = conll::Perturbation {
            seed: 0,
            max_repeats: 0,
            documents: false,
        };
        for arg in args.split(',') {
            let (name, value) = arg.split_once('=').ok_or(format!("bad spec {spec}"))?;
            let number: u64 = value.parse().map_err(|_| format!("bad spec {spec}"))?;
            match name {
                "seed" => perturbation.seed = number,
                "max_repeats" => perturbation.max_repeats = number as usize,
                "documents" => perturbation.documents = number == 1,
                _ => return Err(format!("bad spec {spec}")),
            }
        }
        return conll::perturb_file(key_text, perturbation).map(Some);
    }
    let path = fixtures_dir().join(spec);
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[path = "../../../test-util/skip.rs"]
mod skip;
#[allow(unused_imports)]
pub use skip::{current_test, record_skip, skip, skip_fails};
