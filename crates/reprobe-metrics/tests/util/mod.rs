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

// --- Skips. The same text in every crate's `tests/util/mod.rs` (`reprobe-corpus/tests/skip_helper.rs`
// checks that the copies agree). ---

/// Skips the calling test visibly; the caller returns right after. Prints `SKIP <group>: <test>:
/// <reason>`, appends the line `<group>\t<test>\t<reason>` to the file `REPROBE_SKIP_LOG` names (when
/// set; `scripts/test.sh` sums it up), and panics when `CI=true`: CI has `../shared` and the MiniLM
/// checkpoint, so a skip there is a failure. `group` names what is missing: `shared` (`../shared`) or
/// `minilm` (`models/all-MiniLM-L6-v2`).
pub fn skip(group: &str, reason: &str) {
    let log = std::env::var_os("REPROBE_SKIP_LOG").filter(|log| !log.is_empty());
    let ci = std::env::var("CI").ok();
    record_skip(
        group,
        &current_test(),
        reason,
        log.as_deref().map(std::path::Path::new),
        ci.as_deref(),
    );
}

/// [`skip`] with its environment passed in: `log` is `REPROBE_SKIP_LOG`, `ci` is `CI`.
pub fn record_skip(
    group: &str,
    test: &str,
    reason: &str,
    log: Option<&std::path::Path>,
    ci: Option<&str>,
) {
    use std::io::Write;
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    let (group, test, reason) = (clean(group), clean(test), clean(reason));
    eprintln!("SKIP {group}: {test}: {reason}");
    if let Some(log) = log {
        // One write of the whole line to a file opened for appending: the lines of tests running in
        // parallel (threads or processes) do not interleave.
        let line = format!("{group}\t{test}\t{reason}\n");
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("cannot record the skip in {}: {e}", log.display());
        }
    }
    if skip_fails(ci) {
        panic!("{test} was skipped, and under CI=true a skip is a failure: {reason}");
    }
}

/// Whether a skip fails the test: when `CI` (given here) is `true`.
pub fn skip_fails(ci: Option<&str>) -> bool {
    ci.is_some_and(|ci| ci.trim().eq_ignore_ascii_case("true"))
}

/// `<test target>::<test name>` of the running test (libtest names each test's thread after it).
pub fn current_test() -> String {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.file_stem()?.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            // Cargo names a test binary `<target>-<16 hex digits>`.
            Some((name, hash))
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name.to_string()
            }
            _ => stem,
        })
        .unwrap_or_else(|| "?".to_string());
    let thread = std::thread::current();
    let test = thread.name().filter(|name| *name != "main").unwrap_or("?");
    format!("{target}::{test}")
}
// --- End of skips. ---
