//! The relation-classification export: a tiny random BERT whose word embeddings grew by the four entity
//! markers (40 → 44 rows, the new rows drawn by the loader), a pooled sequence-classification head, and the
//! markers as added tokens of the tokenizer (`export_hf_with_tokens`). Re-imported with `BertEncoder::load`
//! (44 rows, identical hidden states), and compared with transformers:
//! - always, against `tests/fixtures/export/relation_expected.json` (the outputs of
//!   `scripts/golden/export_roundtrip.py --text …` on this very export, fixed seeds);
//! - when a Python with transformers is found (`$REPROBE_PYTHON`, else a `python3` that imports it), by
//!   running the script on the fresh export: no missing/unexpected keys, the same logits within 1e-4,
//!   `len(tokenizer)` = 44 and every marker one id of its own; `REPROBE_UPDATE_FIXTURES=1` rewrites the
//!   fixture.
use std::path::PathBuf;
use std::process::Command;

use candle_core::{DType, Device, Tensor};
use reprobe_models::encoders::{BertConfig, BertEncoder, BertOptions, Checkpoint};
use reprobe_models::export::{export_hf_with_tokens, ExportHead};
use reprobe_models::heads::{SequenceClassificationConfig, SequenceClassificationHead};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use serde_json::{json, Value};

const TOL: f64 = 1e-4;
const WORDS: [&str; 11] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "child", "was", "in", "cradle", ".",
];
/// The markers in the reference's (sorted) order, ids 40–43.
const MARKERS: [&str; 4] = ["[/H]", "[/T]", "[H]", "[T]"];
const TEXT: &str = "The [H] child [/H] was in the [T] cradle [/T].";
/// `TEXT` by hand: [CLS] the [H] child [/H] was in the [T] cradle [/T] . [SEP]
const TEXT_IDS: [u32; 13] = [2, 5, 42, 6, 40, 7, 8, 5, 43, 9, 41, 10, 3];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_path() -> PathBuf {
    root().join("tests/fixtures/export/relation_expected.json")
}

fn tiny_encoder() -> BertEncoder {
    let cfg = BertConfig {
        vocab_size: 40,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 24,
        max_position_embeddings: 16,
        initializer_range: 0.3,
        ..BertConfig::default()
    };
    let options = BertOptions {
        vocab_size: Some(44),
        rng: ModelRng::new(13),
        ..BertOptions::default()
    };
    BertEncoder::random(&cfg, &options).unwrap()
}

fn python() -> Result<String, String> {
    let py = std::env::var("REPROBE_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import torch, transformers"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(py)
    } else {
        Err(format!("`{py}` cannot import torch and transformers"))
    }
}

fn values(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(values).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: sizes");
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(worst <= TOL, "{what}: max |difference| {worst:.2e}");
    eprintln!("{what}: max |difference| {worst:.2e}");
}

#[test]
fn relation_export_has_grown_embeddings_markers_and_transformers_logits() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = tmp.path().join("tokenizer");
    std::fs::create_dir(&tok).unwrap();
    let mut vocab: Vec<String> = WORDS.iter().map(|w| w.to_string()).collect();
    vocab.extend((vocab.len()..40).map(|i| format!("[unused{i}]")));
    std::fs::write(tok.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    std::fs::write(
        tok.join("tokenizer_config.json"),
        r#"{"do_lower_case": true}"#,
    )
    .unwrap();

    let encoder = tiny_encoder();
    assert_eq!(encoder.vocab_size(), 44);
    let store = ParamStore::new(ModelRng::new(21), DType::F32, Device::Cpu);
    let cfg = SequenceClassificationConfig {
        num_labels: 3,
        dropout: 0.1,
        pooler: true,
    };
    let head = SequenceClassificationHead::new(&cfg, 16, &store, None).unwrap();
    let rng = ModelRng::new(22);
    for (_, var) in store.all() {
        let t = rng
            .normal(var.shape().clone(), 0.0, 0.5, DType::F32, &Device::Cpu)
            .unwrap();
        var.set(&t).unwrap();
    }
    let ids = Tensor::new(&[TEXT_IDS], &Device::Cpu).unwrap(); // [1, 13]
    let mask = Tensor::ones((1, TEXT_IDS.len()), DType::U32, &Device::Cpu).unwrap();
    let hidden = encoder.forward_t(&ids, &mask, false).unwrap()[2].clone(); // [1, 13, 16]
    let logits = head.forward_eval(&hidden, None).unwrap().logits; // [1, 3]
    let rust: Vec<f64> = logits
        .to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();

    let dir = tmp.path().join("export");
    let added: Vec<(String, u32)> = MARKERS
        .iter()
        .enumerate()
        .map(|(i, m)| (m.to_string(), 40 + i as u32))
        .collect();
    let labels: Vec<String> = ["Other", "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"]
        .map(String::from)
        .to_vec();
    let export_head = ExportHead::SequenceClassification {
        pooler: head.pooler().unwrap(),
        classifier: head.classifier(),
        id2label: labels,
    };
    export_hf_with_tokens(&dir, &encoder, export_head.clone(), &tok, &added).unwrap();
    // An id past the embeddings is refused.
    let bad = [("[X]".to_string(), 44u32)];
    let err = export_hf_with_tokens(&tmp.path().join("bad"), &encoder, export_head, &tok, &bad)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("[X] has id 44, but the encoder has 44 word embeddings"),
        "{err}"
    );

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], 44);
    assert_eq!(
        config["architectures"],
        json!(["BertForSequenceClassification"])
    );
    let tok_cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer_config.json")).unwrap())
            .unwrap();
    assert_eq!(tok_cfg["added_tokens_decoder"]["42"]["content"], "[H]");
    assert_eq!(tok_cfg["added_tokens_decoder"]["42"]["special"], true);
    let reloaded =
        BertEncoder::load(&Checkpoint::open(&dir).unwrap(), &BertOptions::default()).unwrap();
    assert_eq!(reloaded.vocab_size(), 44);
    let again = reloaded.forward_t(&ids, &mask, false).unwrap()[2].clone();
    let diff = (again - &hidden)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-6, "reloaded hidden states differ by {diff}");

    let fixture: Option<Value> = std::fs::read_to_string(fixture_path())
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    if let Some(f) = &fixture {
        assert_close(
            "vs committed transformers logits",
            &rust,
            &values(&f["logits"]),
        );
        assert_eq!(
            f["tokenized"][0],
            json!(TEXT_IDS),
            "committed transformers token ids"
        );
    }
    match python() {
        Err(why) => eprintln!("skipping the live transformers comparison: {why}"),
        Ok(py) => {
            let inputs = tmp.path().join("inputs.json");
            std::fs::write(
                &inputs,
                json!({"input_ids": [TEXT_IDS], "attention_mask": vec![vec![1; 13]]}).to_string(),
            )
            .unwrap();
            let out = Command::new(&py)
                .arg(root().join("../../scripts/golden/export_roundtrip.py"))
                .arg(&dir)
                .arg(&inputs)
                .args(["--text", TEXT])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let result: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_close("vs transformers", &rust, &values(&result["logits"]));
            assert_eq!(
                result["tokenized"][0],
                json!(TEXT_IDS),
                "transformers' token ids"
            );
            assert_eq!(result["tokenizer_len"], 44);
            if std::env::var("REPROBE_UPDATE_FIXTURES").is_ok_and(|v| v == "1") {
                let keep = json!({"logits": result["logits"], "tokenized": result["tokenized"],
                                  "tokenizer_len": result["tokenizer_len"], "torch": result["torch"],
                                  "transformers": result["transformers"]});
                std::fs::write(
                    fixture_path(),
                    serde_json::to_string_pretty(&keep).unwrap() + "\n",
                )
                .unwrap();
                eprintln!("wrote {}", fixture_path().display());
                return;
            }
        }
    }
    assert!(
        fixture.is_some(),
        "missing {}: run with REPROBE_PYTHON=... REPROBE_UPDATE_FIXTURES=1",
        fixture_path().display()
    );
}
