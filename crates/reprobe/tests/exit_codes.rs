//! Exit codes of the binary: 0 success, 1 a runtime error, 2 a usage error (the command line, or the user's
//! config and overrides).
use std::path::Path;
use std::process::{Command, Output};

fn reprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run reprobe")
}

fn code_and_stderr(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config that resolves (`--print-config` succeeds) without any file or model behind it.
fn minimal_config(dir: &Path) -> String {
    let path = dir.join("cfg.toml");
    std::fs::write(
        &path,
        "name = \"mine\"\n[data]\n[encoders.e]\ncheckpoint = \"some-model\"\n[train]\nlr_horizon_epochs = 7\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn usage_errors_exit_2() {
    let (code, err) = code_and_stderr(&reprobe(&["score", "--no-such-flag"]));
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = code_and_stderr(&reprobe(&["no-such-command"]));
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn config_and_override_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = minimal_config(dir.path());
    let out = reprobe(&["train", &cfg, "--print-config"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", code_and_stderr(&out));

    let (code, err) = code_and_stderr(&reprobe(&["train", &cfg, "sed=3", "--print-config"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown config key `sed`"), "{err}");

    let (code, err) = code_and_stderr(&reprobe(&["train", &cfg, "seed", "--print-config"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no `=`"), "{err}");

    // A no-break space in a sweep: parsed (then refused without --multirun), never a panic (exit 101).
    let (code, err) = code_and_stderr(&reprobe(&[
        "train",
        &cfg,
        "seed=1,\u{a0}2",
        "--print-config",
    ]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--multirun"), "{err}");

    let (code, err) = code_and_stderr(&reprobe(&["train", &cfg, "seed=abc", "--print-config"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("seed"), "{err}");

    let missing = dir.path().join("nope.toml");
    let (code, err) = code_and_stderr(&reprobe(&[
        "train",
        missing.to_str().unwrap(),
        "--print-config",
    ]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nope.toml"), "{err}");
}

#[test]
fn null_unsets_a_key_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = minimal_config(dir.path());
    let out = reprobe(&[
        "train",
        &cfg,
        "name=null",
        "train.lr_horizon_epochs=null",
        "--print-config",
    ]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{:?}", code_and_stderr(&out));
    assert!(!printed.contains("null"), "{printed}");
    assert!(!printed.contains("\"mine\""), "{printed}");
    assert!(!printed.contains("lr_horizon_epochs"), "{printed}");
}

#[test]
fn runtime_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("missing.key.conll");
    let (code, err) = code_and_stderr(&reprobe(&[
        "score",
        key.to_str().unwrap(),
        key.to_str().unwrap(),
    ]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("missing.key.conll"), "{err}");
}
