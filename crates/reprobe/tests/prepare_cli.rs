//! `reprobe prepare` end to end: outputs, summary, bad inputs (message names file and line, exit code
//! non-zero, nothing left in the output folder), and the shared corpus figures when `../shared` exists.
use std::path::{Path, PathBuf};
use std::process::Command;

mod util;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn reprobe(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .output()
        .expect("the reprobe binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A tiny uncased vocabulary folder (no tokenizer_config.json: lower-casing by default).
fn vocab_dir(root: &Path) -> PathBuf {
    let dir = root.join("tok");
    std::fs::create_dir_all(&dir).unwrap();
    let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\n.\nit\npur\n##red\n";
    std::fs::write(dir.join("vocab.txt"), vocab).unwrap();
    dir
}

fn line(doc: &str, idx: usize, word: &str, coref: &str) -> String {
    format!("{doc}\t0\t{idx}\t{word}\tNN\t*\t-\t-\t-\tSpeaker1\t*\t{coref}\n")
}

/// Two sentences, one cluster: "The cat sat . It purred ."
fn good_conll(doc: &str) -> String {
    let mut text = format!("#begin document ({doc}); part 000\n");
    for (idx, (word, coref)) in [("The", "(0"), ("cat", "0)"), ("sat", "-"), (".", "-")]
        .iter()
        .enumerate()
    {
        text.push_str(&line(doc, idx, word, coref));
    }
    text.push('\n');
    for (idx, (word, coref)) in [("It", "(0)"), ("purred", "-"), ("/.", "-")]
        .iter()
        .enumerate()
    {
        text.push_str(&line(doc, idx, word, coref));
    }
    text.push_str("\n#end document\n");
    text
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn writes_reference_named_jsonlines_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = vocab_dir(tmp.path());
    let input = tmp.path().join("dev.english.v4_gold_conll");
    std::fs::write(&input, good_conll("nw/cats")).unwrap();
    let out = tmp.path().join("out");
    let run = reprobe(&[
        "prepare",
        input.to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--seg-len",
        "6",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(files_in(&out), vec!["dev.english.6.jsonlines"]);
    assert!(
        run.stdout.ends_with(
            "dev.english.6.jsonlines: 1 documents, 2 segments, 12 subtokens, 2 mentions, 1 clusters, 0 merged\n"
        ),
        "{}",
        run.stdout
    );
    let docs =
        reprobe_corpus::readers::read_jsonlines(&out.join("dev.english.6.jsonlines")).unwrap();
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!(doc.doc_key, "nw/cats_0");
    assert_eq!(doc.genre.as_deref(), Some("nw"));
    assert_eq!(doc.tokens, ["The", "cat", "sat", ".", "It", "purred", "."]);
    assert_eq!(
        doc.sentences,
        vec![
            vec!["[CLS]", "the", "cat", "sat", ".", "[SEP]"],
            vec!["[CLS]", "it", "pur", "##red", ".", "[SEP]"],
        ]
    );
    assert_eq!(doc.clusters, vec![vec![[1, 2], [7, 7]]]);
    assert_eq!(doc.sentence_map, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2]);
    assert_eq!(doc.subtoken_map, vec![0, 0, 1, 2, 3, 3, 3, 4, 5, 5, 6, 6]);
    assert_eq!(
        doc.speakers[1],
        vec!["[SPL]", "Speaker1", "Speaker1", "Speaker1", "Speaker1", "[SPL]"]
    );
}

/// Runs prepare on `good` then `bad` content and checks the error and that nothing was written.
fn expect_failure(bad: &str, want_in_stderr: &str) {
    expect_failure_bytes(bad.as_bytes(), want_in_stderr)
}

fn expect_failure_bytes(bad: &[u8], want_in_stderr: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let tok = vocab_dir(tmp.path());
    let good = tmp.path().join("dev.english.v4_gold_conll");
    std::fs::write(&good, good_conll("a")).unwrap();
    let input = tmp.path().join("bad.conll");
    std::fs::write(&input, bad).unwrap();
    let out = tmp.path().join("out");
    let run = reprobe(&[
        "prepare",
        good.to_str().unwrap(),
        input.to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let want = want_in_stderr.replace("{bad}", input.to_str().unwrap());
    assert!(
        run.stderr.contains(&want),
        "stderr {:?} lacks {want:?}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(files_in(&out), Vec::<String>::new(), "output left behind");
}

#[test]
fn unbalanced_brackets_name_file_and_line() {
    let text = good_conll("b").replace("\t0)\n", "\t-\n");
    expect_failure(
        &text,
        "{bad}:11: unbalanced bracket: `(0` opened at line 2 is never closed before `#end document`",
    );
    let text = good_conll("b").replace("\t(0\n", "\t-\n");
    expect_failure(
        &text,
        "{bad}:3: unbalanced bracket: `0)` closes a mention of entity 0 that was never opened",
    );
}

#[test]
fn begin_without_end_names_file_and_line() {
    let text = good_conll("b").replace("#end document\n", "");
    expect_failure(
        &text,
        "{bad}:1: `#begin document (b); part 000` has no `#end document` before the end of the file",
    );
}

#[test]
fn too_few_columns_names_file_and_line() {
    let text = good_conll("b").replace("\tSpeaker1\t*\t-\n", "\t-\n");
    expect_failure(&text, "{bad}:4: expected at least 12 columns, found 10");
}

#[test]
fn empty_file_is_an_error() {
    expect_failure(
        "",
        "{bad}:1: empty file: expected `#begin document (ID); part N`",
    );
}

#[test]
fn non_utf8_byte_names_file_and_line() {
    let mut bytes = good_conll("b").into_bytes();
    let pos = bytes.windows(3).position(|w| w == b"sat").unwrap();
    bytes[pos] = 0xe9;
    expect_failure_bytes(&bytes, "{bad}:4: invalid UTF-8 at byte 7 of the line");
}

#[test]
fn malformed_cell_names_file_and_line() {
    let text = good_conll("b").replace("\t(0)\n", "\t(x)\n");
    expect_failure(&text, "{bad}:7: malformed coreference cell \"(x)\"");
}

#[test]
fn tokenizer_folder_without_files_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("dev.english.v4_gold_conll");
    std::fs::write(&input, good_conll("a")).unwrap();
    let empty = tmp.path().join("no-tokenizer");
    std::fs::create_dir_all(&empty).unwrap();
    let out = tmp.path().join("out");
    let run = reprobe(&[
        "prepare",
        input.to_str().unwrap(),
        "--tokenizer",
        empty.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1));
    let want = format!(
        "tokenizer {}: neither tokenizer.json nor vocab.txt found",
        empty.display()
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert_eq!(files_in(&out), Vec::<String>::new());
}

#[test]
fn two_inputs_with_the_same_output_name_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = vocab_dir(tmp.path());
    for sub in ["a", "b"] {
        std::fs::create_dir_all(tmp.path().join(sub)).unwrap();
        std::fs::write(tmp.path().join(sub).join("dev.conll"), good_conll(sub)).unwrap();
    }
    let out = tmp.path().join("out");
    let run = reprobe(&[
        "prepare",
        tmp.path().join("a/dev.conll").to_str().unwrap(),
        tmp.path().join("b/dev.conll").to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("would both be written to"),
        "{}",
        run.stderr
    );
    assert_eq!(files_in(&out), Vec::<String>::new());
}

/// `../shared` next to the repository, or `REPROBE_SHARED_DIR`; `None` (after a [`util::skip`]) if absent.
fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("REPROBE_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if dir.join("data/ontogum").is_dir() && dir.join("tokenizers/bert-base-cased").is_dir() {
        Some(dir)
    } else {
        util::skip(
            "shared",
            &format!(
                "{} is absent; this test needs the shared corpora and tokenizers (../shared next to the repository, or REPROBE_SHARED_DIR)",
                dir.display()
            ),
        );
        None
    }
}

#[test]
fn ontogum_dev_gives_the_reference_figures() {
    let Some(shared) = shared_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = shared.join("data/ontogum/dev.english.v4_gold_conll");
    let tok = shared.join("tokenizers/bert-base-cased");
    let run = reprobe(&[
        "prepare",
        input.to_str().unwrap(),
        "--tokenizer",
        tok.to_str().unwrap(),
        "--seg-len",
        "384",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "dev.english.384.jsonlines: 30 documents, 97 segments, 31395 subtokens, 3817 mentions, 856 clusters, 1 merged"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("warning: GUM_bio_emperor_0: 1 cluster(s) merged"),
        "{}",
        run.stderr
    );
    assert_eq!(files_in(tmp.path()), vec!["dev.english.384.jsonlines"]);
}
