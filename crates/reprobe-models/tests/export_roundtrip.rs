//! `export_hf` round trips: a tiny random BERT (truncated, vocabulary grown) with each head is exported,
//! re-imported with `BertEncoder::load` (identical hidden states, always checked), and compared with what
//! transformers computes from the same folder:
//! - always, against `tests/fixtures/export/expected.json`, the transformers outputs of this very model
//!   (fixed seeds) as `scripts/golden/export_roundtrip.py` printed them;
//! - when a Python with transformers is found (`$REPROBE_PYTHON`, else a `python3` that imports
//!   transformers), by running the script on the fresh export (no missing/unexpected keys, same logits);
//!   with `REPROBE_UPDATE_FIXTURES=1` its outputs replace the fixture.
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{DType, Device, IndexOp, Tensor};
use reprobe_models::encoders::{BertConfig, BertEncoder, BertOptions, Checkpoint, Encoder};
use reprobe_models::export::{export_hf, ExportHead};
use reprobe_models::heads::{
    QuestionAnsweringHead, SequenceClassificationConfig, SequenceClassificationHead,
    TokenClassificationConfig, TokenClassificationHead,
};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use serde_json::{json, Value};

const TOL: f64 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_path() -> PathBuf {
    root().join("tests/fixtures/export/expected.json")
}

/// 3 layers kept to 2, vocabulary 40 grown to 45, larger init so attention is not uniform.
fn tiny_encoder() -> BertEncoder {
    let cfg = BertConfig {
        vocab_size: 40,
        hidden_size: 16,
        num_hidden_layers: 3,
        num_attention_heads: 4,
        intermediate_size: 24,
        max_position_embeddings: 16,
        initializer_range: 0.3,
        ..BertConfig::default()
    };
    let options = BertOptions {
        truncate: Some(2),
        vocab_size: Some(45),
        rng: ModelRng::new(42),
        ..BertOptions::default()
    };
    BertEncoder::random(&cfg, &options).unwrap()
}

/// Head parameters redrawn from N(0, 0.5²) so that the logits differ visibly.
fn widen(store: &ParamStore, seed: u64) {
    let rng = ModelRng::new(seed);
    for (_, var) in store.all() {
        let t = rng
            .normal(var.shape().clone(), 0.0, 0.5, DType::F32, &Device::Cpu)
            .unwrap();
        var.set(&t).unwrap();
    }
}

fn inputs() -> (Tensor, Tensor, Value) {
    let ids = vec![vec![2u32, 7, 9, 11, 44, 3], vec![2, 5, 41, 3, 0, 0]];
    let mask = vec![vec![1u32, 1, 1, 1, 1, 1], vec![1, 1, 1, 1, 0, 0]];
    let json = json!({
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]],
    });
    (
        Tensor::new(ids, &Device::Cpu).unwrap(),
        Tensor::new(mask, &Device::Cpu).unwrap(),
        json,
    )
}

fn last_hidden(encoder: &BertEncoder, ids: &Tensor, mask: &Tensor) -> Tensor {
    let states = encoder.forward_t(ids, mask, false).unwrap();
    states[encoder.num_layers()].clone()
}

/// Nested JSON arrays of numbers, flattened, with the positions of padded tokens (mask 0) dropped for
/// `[B, T, …]` tensors.
fn real_values(t: &Tensor, mask: &[Vec<u32>]) -> Vec<f64> {
    let t = t.to_dtype(DType::F64).unwrap();
    if t.rank() == 2 {
        return t.flatten_all().unwrap().to_vec1().unwrap();
    }
    let mut out = Vec::new();
    for (b, row) in mask.iter().enumerate() {
        for (p, &m) in row.iter().enumerate() {
            if m == 1 {
                out.extend(t.i((b, p)).unwrap().to_vec1::<f64>().unwrap());
            }
        }
    }
    out
}

fn json_values(v: &Value, mask: &[Vec<u32>]) -> Vec<f64> {
    fn flat(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| flat(i, out)),
            Value::Number(n) => out.push(n.as_f64().unwrap()),
            other => panic!("not a number: {other}"),
        }
    }
    let rows = v.as_array().unwrap();
    let mut out = Vec::new();
    let is_3d = rows[0].as_array().unwrap()[0].is_array();
    for (b, row) in rows.iter().enumerate() {
        if is_3d {
            for (p, pos) in row.as_array().unwrap().iter().enumerate() {
                if mask[b][p] == 1 {
                    flat(pos, &mut out);
                }
            }
        } else {
            flat(row, &mut out);
        }
    }
    out
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: sizes");
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tol,
        "{what}: max |difference| {worst:.2e} > {tol:.0e}"
    );
    eprintln!("{what}: max |difference| {worst:.2e}");
}

/// A Python that can import torch and transformers, or why there is none.
fn python() -> Result<String, String> {
    let (py, origin) = match std::env::var("REPROBE_PYTHON") {
        Ok(p) if !p.is_empty() => (p, "$REPROBE_PYTHON"),
        _ => (
            "python3".to_string(),
            "python3 (set $REPROBE_PYTHON to choose another)",
        ),
    };
    let ok = Command::new(&py)
        .args(["-c", "import torch, transformers"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Ok(py)
    } else {
        Err(format!(
            "`{py}` from {origin} cannot import torch and transformers"
        ))
    }
}

fn run_script(py: &str, dir: &Path, inputs: &Path) -> Value {
    let out = Command::new(py)
        .arg(root().join("../../scripts/golden/export_roundtrip.py"))
        .arg(dir)
        .arg(inputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export_roundtrip.py failed on {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn exported_models_reload_identically_and_match_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = tmp.path().join("tokenizer");
    std::fs::create_dir(&tok).unwrap();
    let vocab: Vec<String> = (0..45).map(|i| format!("[unused{i}]")).collect();
    std::fs::write(tok.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    std::fs::write(
        tok.join("tokenizer_config.json"),
        r#"{"do_lower_case": false}"#,
    )
    .unwrap();

    let encoder = tiny_encoder();
    assert_eq!((encoder.num_layers(), encoder.vocab_size()), (2, 45));
    let (ids, mask, inputs_json) = inputs();
    let mask_rows: Vec<Vec<u32>> = mask.to_vec2().unwrap();
    let hidden = last_hidden(&encoder, &ids, &mask); // [B, T, H]

    let store = ParamStore::new(ModelRng::new(7), DType::F32, Device::Cpu);
    let token_cfg = TokenClassificationConfig {
        num_labels: 3,
        dropout: 0.1,
    };
    let token_head = TokenClassificationHead::new(&token_cfg, 16, &store).unwrap();
    widen(&store, 8);
    let store = ParamStore::new(ModelRng::new(9), DType::F32, Device::Cpu);
    let seq_cfg = SequenceClassificationConfig {
        num_labels: 2,
        dropout: 0.1,
        pooler: true,
    };
    let seq_head = SequenceClassificationHead::new(&seq_cfg, 16, &store, None).unwrap();
    widen(&store, 10);

    let token_labels: Vec<String> = ["O", "B-PER", "I-PER"].map(String::from).to_vec();
    let seq_labels: Vec<String> = ["not_equivalent", "equivalent"].map(String::from).to_vec();
    let cases = [
        (
            "base",
            ExportHead::BaseModel { pooler: None },
            hidden.clone(),
        ),
        (
            "token",
            ExportHead::TokenClassification {
                classifier: token_head.classifier(),
                id2label: token_labels.clone(),
            },
            token_head.forward_eval(&hidden, None).unwrap().logits,
        ),
        (
            "sequence",
            ExportHead::SequenceClassification {
                pooler: seq_head.pooler().unwrap(),
                classifier: seq_head.classifier(),
                id2label: seq_labels.clone(),
            },
            seq_head.forward_eval(&hidden, None).unwrap().logits,
        ),
    ];

    let fixture: Option<Value> = std::fs::read_to_string(fixture_path())
        .ok()
        .map(|text| serde_json::from_str(&text).unwrap());
    let python = python();
    if let Err(why) = &python {
        eprintln!("skipping the live transformers comparison: {why}");
    }
    let inputs_path = tmp.path().join("inputs.json");
    std::fs::write(&inputs_path, inputs_json.to_string()).unwrap();
    let mut fresh = serde_json::Map::new();
    fresh.insert("inputs".into(), inputs_json.clone());

    for (kind, head, rust_logits) in cases {
        let dir = tmp.path().join(kind);
        let architecture = head.architecture();
        export_hf(&dir, &encoder, head, &tok).unwrap();

        // Re-import: same hidden states, same configuration.
        let checkpoint = Checkpoint::open(&dir).unwrap();
        let reloaded = BertEncoder::load(&checkpoint, &BertOptions::default()).unwrap();
        assert_eq!(reloaded.num_layers(), 2, "{kind}");
        assert_eq!(reloaded.vocab_size(), 45, "{kind}");
        let again = last_hidden(&reloaded, &ids, &mask);
        assert_close(
            &format!("{kind}: reloaded hidden states"),
            &real_values(&again, &mask_rows),
            &real_values(&hidden, &mask_rows),
            1e-6,
        );
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["architectures"], json!([architecture]));
        assert!(dir.join("vocab.txt").is_file() && dir.join("tokenizer_config.json").is_file());
        match kind {
            "token" => {
                assert_eq!(
                    config["id2label"],
                    json!({"0": "O", "1": "B-PER", "2": "I-PER"})
                );
                assert_eq!(config["label2id"]["I-PER"], json!(2));
                assert!(checkpoint.pooler().unwrap().is_none());
            }
            "sequence" => {
                let (w, _) = checkpoint.pooler().unwrap().unwrap();
                let (want, _) = seq_head.pooler().unwrap();
                assert_eq!(
                    w.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                    want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
                );
            }
            _ => assert!(checkpoint.pooler().unwrap().is_some()),
        }

        // The committed transformers outputs of this model.
        let rust = real_values(&rust_logits, &mask_rows);
        match &fixture {
            Some(f) => assert_close(
                &format!("{kind}: vs committed transformers logits"),
                &rust,
                &json_values(&f[kind]["logits"], &mask_rows),
                TOL,
            ),
            None => eprintln!("no fixture {}", fixture_path().display()),
        }
        // The live transformers outputs.
        if let Ok(py) = &python {
            let result = run_script(py, &dir, &inputs_path);
            assert_eq!(result["architecture"], json!(architecture));
            assert_close(
                &format!("{kind}: vs transformers"),
                &rust,
                &json_values(&result["logits"], &mask_rows),
                TOL,
            );
            fresh.insert(
                kind.to_string(),
                json!({ "architecture": architecture, "logits": result["logits"] }),
            );
            fresh.insert(
                "versions".into(),
                json!({ "torch": result["torch"], "transformers": result["transformers"] }),
            );
        }
    }

    if std::env::var("REPROBE_UPDATE_FIXTURES").is_ok_and(|v| v == "1") && python.is_ok() {
        std::fs::create_dir_all(fixture_path().parent().unwrap()).unwrap();
        let text = serde_json::to_string_pretty(&Value::Object(fresh)).unwrap();
        std::fs::write(fixture_path(), text + "\n").unwrap();
        eprintln!("wrote {}", fixture_path().display());
    } else {
        assert!(
            fixture.is_some(),
            "missing {}: run with REPROBE_PYTHON=... REPROBE_UPDATE_FIXTURES=1",
            fixture_path().display()
        );
    }
}

/// The QA head exported as `BertForQuestionAnswering`: no missing or unexpected keys, the same start and
/// end logits as transformers (with segment ids 1 on the "context"), against
/// `tests/fixtures/export/qa_expected.json` always and a live transformers when there is one.
#[test]
fn question_answering_export_matches_transformers() {
    let tmp = tempfile::tempdir().unwrap();
    let tok = tmp.path().join("tokenizer");
    std::fs::create_dir(&tok).unwrap();
    std::fs::write(tok.join("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n").unwrap();
    let encoder = tiny_encoder();
    let (ids, mask, mut inputs_json) = inputs();
    let types = vec![vec![0u32, 0, 0, 1, 1, 1], vec![0, 0, 1, 1, 0, 0]];
    inputs_json["token_type_ids"] = json!(types);
    let mask_rows: Vec<Vec<u32>> = mask.to_vec2().unwrap();
    let types = Tensor::new(types, &Device::Cpu).unwrap();
    let states = encoder
        .forward_typed(&ids, Some(&types), &mask, false)
        .unwrap();
    let hidden = &states[encoder.num_layers()]; // [B, T, H]

    let store = ParamStore::new(ModelRng::new(11), DType::F32, Device::Cpu);
    let head = QuestionAnsweringHead::new(16, &store).unwrap();
    widen(&store, 12);
    let out = head.forward_eval(hidden, &mask, None).unwrap();
    let rust_logits = Tensor::stack(&[&out.start_logits, &out.end_logits], 2).unwrap(); // [B, T, 2]
    let rust = real_values(&rust_logits, &mask_rows);

    let dir = tmp.path().join("qa");
    export_hf(
        &dir,
        &encoder,
        ExportHead::QuestionAnswering {
            qa_outputs: head.qa_outputs(),
        },
        &tok,
    )
    .unwrap();
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"], json!(["BertForQuestionAnswering"]));
    let checkpoint = Checkpoint::open(&dir).unwrap();
    assert!(checkpoint.pooler().unwrap().is_none());
    let weights =
        candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(weights["qa_outputs.weight"].dims(), &[2, 16]);
    assert!(weights.contains_key("bert.embeddings.word_embeddings.weight"));

    let fixture_path = root().join("tests/fixtures/export/qa_expected.json");
    let python = python();
    match &python {
        Ok(py) => {
            let inputs_path = tmp.path().join("inputs.json");
            std::fs::write(&inputs_path, inputs_json.to_string()).unwrap();
            let result = run_script(py, &dir, &inputs_path);
            assert_eq!(result["architecture"], json!("BertForQuestionAnswering"));
            assert_close(
                "qa: vs transformers",
                &rust,
                &json_values(&result["logits"], &mask_rows),
                TOL,
            );
            if std::env::var("REPROBE_UPDATE_FIXTURES").is_ok_and(|v| v == "1") {
                let fresh = json!({"inputs": inputs_json, "logits": result["logits"],
                    "versions": {"torch": result["torch"], "transformers": result["transformers"]}});
                let text = serde_json::to_string_pretty(&fresh).unwrap();
                std::fs::write(&fixture_path, text + "\n").unwrap();
            }
        }
        Err(why) => eprintln!("skipping the live transformers comparison: {why}"),
    }
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with REPROBE_PYTHON=... REPROBE_UPDATE_FIXTURES=1)",
                fixture_path.display()
            )
        }))
        .unwrap();
    assert_close(
        "qa: vs committed transformers logits",
        &rust,
        &json_values(&fixture["logits"], &mask_rows),
        TOL,
    );
}
