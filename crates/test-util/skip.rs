//! Visible test skips, shared by the test utilities of every crate (each includes this file with
//! `#[path]`): a test that needs `../shared` or the MiniLM checkpoint and cannot find it calls [`skip`].
#![allow(dead_code)]

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
