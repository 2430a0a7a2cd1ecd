//! The skip helper of `tests/util/mod.rs` (issue 14, point 11): a test that cannot run for want of
//! `../shared` or the MiniLM checkpoint prints why, records itself in `REPROBE_SKIP_LOG` (which
//! `scripts/test.sh` sums up), and fails under `CI=true`. Every crate's `tests/util/mod.rs` carries the
//! same helper; the last test checks that the copies agree.
use std::path::Path;
use std::process::Command;

mod util;

/// Set in the child process that runs [`skip_child`].
const CHILD: &str = "REPROBE_SKIP_HELPER_CHILD";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_skip_is_recorded_as_group_test_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips.tsv");
    util::record_skip("shared", "t::a", "x is absent", Some(&log), None);
    util::record_skip(
        "minilm",
        "t::b",
        "a\ttab and a\nnewline",
        Some(&log),
        Some("false"),
    );
    util::record_skip("shared", "t::c", "not logged", None, None);
    assert_eq!(
        read(&log),
        "shared\tt::a\tx is absent\nminilm\tt::b\ta tab and a newline\n"
    );
}

#[test]
fn a_skip_fails_under_ci_true_only() {
    assert!(util::skip_fails(Some("true")));
    assert!(util::skip_fails(Some("TRUE")));
    for ci in [None, Some(""), Some("false"), Some("0")] {
        assert!(!util::skip_fails(ci), "{ci:?}");
    }
    // Under CI=true the skip is recorded, then the test fails.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips.tsv");
    let result = std::panic::catch_unwind(|| {
        util::record_skip("shared", "t::d", "x is absent", Some(&log), Some("true"));
    });
    let message = result.expect_err("a skip under CI=true panics");
    let message = message
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.contains("t::d") && message.contains("CI=true") && message.contains("x is absent"),
        "{message}"
    );
    assert_eq!(read(&log), "shared\tt::d\tx is absent\n");
}

#[test]
fn skip_reads_the_environment_and_names_the_test() {
    // `skip_child` run alone in a child process of this test binary, without and with CI=true.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips.tsv");
    for ci in [None, Some("true")] {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args(["skip_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("REPROBE_SKIP_LOG", &log);
        match ci {
            Some(ci) => child.env("CI", ci),
            None => child.env_remove("CI"),
        };
        let out = child.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ci.is_none(), "CI={ci:?}:\n{stderr}");
        assert!(
            stderr.contains("SKIP shared: skip_helper::skip_child: the reason"),
            "{stderr}"
        );
    }
    assert_eq!(
        read(&log),
        "shared\tskip_helper::skip_child\tthe reason\n".repeat(2)
    );
}

/// Does something only as the child process of [`skip_reads_the_environment_and_names_the_test`].
#[test]
fn skip_child() {
    if std::env::var_os(CHILD).is_some() {
        util::skip("shared", "the reason");
    }
}
