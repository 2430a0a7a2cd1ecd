//! `reprobe embed` on the real all-MiniLM-L6-v2 checkpoint, offline, against the transformers golden
//! hidden states of `reprobe-models/tests/fixtures/bert/minilm.golden.safetensors`
//! (made by `scripts/golden/bert_golden.py` from the same three sentences).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{Device, IndexOp, Tensor};

mod util;

const SENTENCES: [&str; 3] = [
    "Hello world!",
    "The cat sat on the mat.",
    "Coreference links mentions.",
];

fn minilm() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        util::skip(
            "minilm",
            &format!(
                "{} is absent; bash scripts/fetch-minilm.sh fetches it",
                dir.display()
            ),
        );
        None
    }
}

fn golden() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reprobe-models/tests/fixtures/bert/minilm.golden.safetensors");
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

/// The golden hidden state `layer` of sentence `row`, real tokens only: `[len, 384]`.
fn golden_rows(g: &HashMap<String, Tensor>, row: usize, layer: usize) -> Tensor {
    let len: i64 = g["attention_mask"]
        .i(row)
        .unwrap()
        .to_vec1::<i64>()
        .unwrap()
        .iter()
        .sum();
    g[&format!("hidden.{layer}")]
        .i((row, 0..len as usize))
        .unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn reprobe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap()
}

#[test]
fn text_lines_match_the_golden_hidden_states() {
    let Some(model) = minilm() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("in.txt");
    std::fs::write(&text, SENTENCES.join("\n") + "\n").unwrap();
    let out = tmp.path().join("feats.safetensors");
    let res = reprobe(&[
        "embed",
        "--encoder",
        model.to_str().unwrap(),
        "--text-file",
        text.to_str().unwrap(),
        "--layers",
        "6,0",
        "--batch-size",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let feats = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    let mut names: Vec<&String> = feats.keys().collect();
    names.sort();
    assert_eq!(
        names,
        ["0.layer0", "0.layer6", "1.layer0", "1.layer6", "2.layer0", "2.layer6"]
    );
    let g = golden();
    for row in 0..3 {
        for layer in [0, 6] {
            let got = &feats[&format!("{row}.layer{layer}")];
            let want = golden_rows(&g, row, layer);
            let d = max_abs_diff(got, &want);
            assert!(d < 1e-4, "line {row} layer {layer}: {d}");
        }
    }
    // "Hello world!" is [CLS] hello world ! [SEP].
    assert_eq!(feats["0.layer6"].dims(), &[5, 384]);
}

#[test]
fn jsonl_documents_get_one_row_per_subtoken() {
    let Some(model) = minilm() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let seg0 = ["[CLS]", "hello", "world", "!", "[SEP]"];
    let seg1 = [
        "[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]",
    ];
    let doc = serde_json::json!({
        "doc_key": "nw/doc_0",
        "tokens": ["hello", "world", "!", "the", "cat", "sat", "on", "the", "mat", "."],
        "sentences": [seg0, seg1],
        "speakers": [vec!["[SPL]", "-", "-", "-", "[SPL]"], vec!["[SPL]", "-", "-", "-", "-", "-", "-", "-", "[SPL]"]],
        "clusters": [],
        "sentence_map": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        "subtoken_map": [0, 0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 9],
    });
    let jsonl = tmp.path().join("docs.jsonlines");
    std::fs::write(&jsonl, format!("{doc}\n")).unwrap();
    let out = tmp.path().join("feats.safetensors");
    let res = reprobe(&[
        "embed",
        "--encoder",
        model.to_str().unwrap(),
        "--jsonl",
        jsonl.to_str().unwrap(),
        "--layers",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let feats = candle_core::safetensors::load(&out, &Device::Cpu).unwrap();
    assert_eq!(feats.len(), 1);
    let got = &feats["nw/doc_0.layer3"];
    assert_eq!(got.dims(), &[14, 384]);
    let g = golden();
    // The two segments ran padded in one batch; each equals its sentence run alone.
    assert!(max_abs_diff(&got.i(0..5).unwrap(), &golden_rows(&g, 0, 3)) < 1e-4);
    assert!(max_abs_diff(&got.i(5..14).unwrap(), &golden_rows(&g, 1, 3)) < 1e-4);
}

#[test]
fn a_bad_layer_index_names_the_layer_count() {
    let Some(model) = minilm() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = tmp.path().join("in.txt");
    std::fs::write(&text, "one line\n").unwrap();
    let out = tmp.path().join("feats.safetensors");
    let res = reprobe(&[
        "embed",
        "--encoder",
        model.to_str().unwrap(),
        "--text-file",
        text.to_str().unwrap(),
        "--layers",
        "0,7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(res.status.code(), Some(1));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("layer 7") && err.contains("6 layers"), "{err}");
    assert!(!out.exists());
    // An unknown model name lists where it looked.
    let res = reprobe(&[
        "embed",
        "--encoder",
        "no-org/no-model",
        "--text-file",
        text.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(res.status.code(), Some(1));
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(
        err.contains("no-org/no-model") && err.contains("HF_HUB_OFFLINE"),
        "{err}"
    );
}
