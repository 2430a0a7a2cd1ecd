//! Helpers shared by the integration tests of the binary.
#![allow(dead_code)]

#[path = "../../../test-util/skip.rs"]
mod skip;
#[allow(unused_imports)]
pub use skip::{current_test, record_skip, skip, skip_fails};

/// The repository root.
pub fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `reprobe` binary on one CPU thread (tests run in parallel).
pub fn reprobe(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("the reprobe binary runs")
}

/// A JSON file, parsed.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The output of a `reprobe` run that must succeed: stdout then stderr (the run's summary and its warnings).
pub fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "reprobe failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout + &String::from_utf8_lossy(&out.stderr)
}

/// `root/NAME.toml`: `name`, seed 5, `body`, and a feature cache under `root`.
pub fn task_config(root: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = root.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\nseed = 5\n{body}\n[cache]\ndir = \"{}\"\n",
        root.join("cache").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `root/tiny-bert`: the tiny random BERT of the models crate's fixtures with `vocab` (one entry a line) as a
/// lower-casing WordPiece vocabulary.
pub fn tiny_bert<S: AsRef<str>>(root: &std::path::Path, vocab: &[S]) -> std::path::PathBuf {
    let ckpt = root.join("tiny-bert");
    std::fs::create_dir_all(&ckpt).unwrap();
    let fixture = repo().join("crates/reprobe-models/tests/fixtures/bert/tiny");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture.join(f), ckpt.join(f)).unwrap();
    }
    let lines: Vec<&str> = vocab.iter().map(AsRef::as_ref).collect();
    std::fs::write(ckpt.join("vocab.txt"), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        ckpt.join("tokenizer_config.json"),
        r#"{"do_lower_case": true}"#,
    )
    .unwrap();
    ckpt
}

/// Trains a one-epoch coreference probe on the tiny corpus (`train_docs` / `eval_docs` documents) over
/// `encoder`, frozen, in `root/coref-run`; returns that folder and what the run printed.
pub fn tiny_coref_probe(
    root: &std::path::Path,
    encoder: &std::path::Path,
    train_docs: usize,
    eval_docs: usize,
) -> (std::path::PathBuf, String) {
    let config = task_config(
        root,
        "coref",
        &format!(
            "[data]\ntrain = \"{t}\"\ndev = \"{d}\"\nseg_len = 40\nmax_train_docs = {train_docs}\n\
             max_eval_docs = {eval_docs}\n[encoders.enc]\ncheckpoint = \"{r}\"\nfreeze = true\n[head]\n\
             ffnn_size = 8\nfeature_emb_size = 4\nmax_span_width = 3\nmax_training_sentences = 1\n\
             [train]\nmax_epochs = 1\n",
            t = repo().join("data/tiny/train.english.v4_gold_conll").display(),
            d = repo().join("data/tiny/dev.english.v4_gold_conll").display(),
            r = encoder.display()
        ),
    );
    let run = root.join("coref-run");
    let printed = ok(&reprobe(&[
        "train",
        config.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    (run, printed)
}
