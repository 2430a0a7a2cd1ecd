//! Our BERT against transformers' `BertModel` (fixtures made by `scripts/golden/bert_golden.py`:
//! torch 2.15 CPU, transformers 5.24): every hidden state of tiny random models saved as safetensors and
//! as `pytorch_model.bin`, with and without the `bert.` prefix, a resized vocabulary, and the real
//! all-MiniLM-L6-v2 checkpoint; plus loading errors on damaged copies of the fixtures.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, IndexOp, Tensor};
use reprobe_models::encoders::hub::{resolve_with, ResolveOptions};
use reprobe_models::encoders::{BertEncoder, BertOptions, Checkpoint, Encoder, Tuning};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use serde_json::json;

mod util;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert")
}

fn golden(name: &str) -> HashMap<String, Tensor> {
    let path = fixtures().join(format!("{name}.golden.safetensors"));
    candle_core::safetensors::load(&path, &Device::Cpu).unwrap()
}

fn load(dir: &Path, options: &BertOptions) -> BertEncoder {
    BertEncoder::load(&Checkpoint::open(dir).unwrap(), options).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a.to_dtype(DType::F32).unwrap() - b.to_dtype(DType::F32).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Runs `model` on the golden inputs; checks hidden states `0..=model.num_layers()` against the golden
/// ones within `tol` at every position, padding included. Returns the number of states compared.
fn check(model: &BertEncoder, golden_name: &str, tol: f32) -> usize {
    let g = golden(golden_name);
    let hs = model
        .forward_t(&g["input_ids"], &g["attention_mask"], false)
        .unwrap();
    assert_eq!(hs.len(), model.num_layers() + 1);
    for (i, h) in hs.iter().enumerate() {
        let d = max_abs_diff(h, &g[&format!("hidden.{i}")]);
        assert!(d < tol, "{golden_name}: hidden state {i} differs by {d}");
    }
    hs.len()
}

#[test]
fn tiny_safetensors_and_pytorch_bin_match_transformers() {
    let opts = BertOptions::default();
    for dir in ["tiny", "tiny-bin"] {
        let m = load(&fixtures().join(dir), &opts);
        assert_eq!(check(&m, "tiny", 1e-5), 4, "{dir}");
    }
    // Different files, different fingerprints; the same file, the same one.
    let a = load(&fixtures().join("tiny"), &opts);
    let b = load(&fixtures().join("tiny-bin"), &opts);
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(
        a.fingerprint(),
        load(&fixtures().join("tiny"), &opts).fingerprint()
    );
}

#[test]
fn bert_prefix_heads_old_layernorm_names_and_gelu_new() {
    let opts = BertOptions::default();
    for dir in ["tokcls", "tokcls-bin"] {
        let m = load(&fixtures().join(dir), &opts);
        assert_eq!(m.config().layer_norm_eps, 1e-7);
        check(&m, "tokcls", 1e-5);
    }
}

#[test]
fn a_checkpoint_saved_after_resizing_matches() {
    let m = load(&fixtures().join("resized"), &BertOptions::default());
    assert_eq!(m.vocab_size(), 110);
    check(&m, "resized", 1e-5);
}

#[test]
fn vocab_growth_keeps_old_rows_and_draws_new_ones_from_the_init_normal() {
    let opts = BertOptions {
        vocab_size: Some(1099),
        rng: ModelRng::new(7),
        ..BertOptions::default()
    };
    let params = ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu);
    let tuned = BertOptions {
        tuning: Tuning::Tuned {
            params: params.clone(),
            prefix: "enc.".into(),
        },
        ..opts.clone()
    };
    let grown = load(&fixtures().join("tiny"), &tuned);
    assert_eq!(grown.vocab_size(), 1099);
    // Old ids give the old outputs.
    check(&grown, "tiny", 1e-5);
    let word = params.with_prefix("enc.embeddings.word_embeddings.weight")[0]
        .1
        .as_tensor()
        .clone();
    assert_eq!(word.dims(), &[1099, 32]);
    let new_rows: Vec<f32> = word
        .i(99..)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let n = new_rows.len() as f64;
    let mean = new_rows.iter().map(|&x| x as f64).sum::<f64>() / n;
    let std = (new_rows
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    // initializer_range of the fixture is 0.3; 32,000 samples.
    assert!(mean.abs() < 0.01, "{mean}");
    assert!((std - 0.3).abs() < 0.01, "{std}");
    // Same seed, same rows; the fingerprint records the growth. (A cloned `ModelRng` shares its
    // stream, so a fresh one is made.)
    let again = load(
        &fixtures().join("tiny"),
        &BertOptions {
            rng: ModelRng::new(7),
            ..opts.clone()
        },
    );
    assert_eq!(again.fingerprint(), grown.fingerprint());
    assert_ne!(
        again.fingerprint(),
        load(&fixtures().join("tiny"), &BertOptions::default()).fingerprint()
    );
    let err = BertEncoder::load(
        &Checkpoint::open(&fixtures().join("tiny")).unwrap(),
        &BertOptions {
            vocab_size: Some(50),
            ..BertOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("vocab_size") && err.contains("99"), "{err}");
}

#[test]
fn truncation_keeps_the_first_k_layers() {
    for k in 0..=3 {
        let m = load(
            &fixtures().join("tiny-bin"),
            &BertOptions {
                truncate: Some(k),
                ..BertOptions::default()
            },
        );
        assert_eq!(m.num_layers(), k);
        assert_eq!(check(&m, "tiny", 1e-5), k + 1);
    }
}

#[test]
fn a_tuned_checkpoint_registers_hf_names_and_matches_in_eval() {
    let params = ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu);
    let m = load(
        &fixtures().join("tokcls"),
        &BertOptions {
            tuning: Tuning::Tuned {
                params: params.clone(),
                prefix: "encoders.target.".into(),
            },
            ..BertOptions::default()
        },
    );
    check(&m, "tokcls", 1e-5);
    let names: Vec<String> = params.all().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 5 + 3 * 16);
    assert!(names.contains(&"encoders.target.encoder.layer.2.output.LayerNorm.weight".to_string()));
    assert!(!names
        .iter()
        .any(|n| n.contains("classifier") || n.contains("bert.")));
}

#[test]
fn the_differentiable_training_path_matches_too() {
    // A tuned encoder in training mode takes the composed (differentiable) LayerNorm and softmax; with
    // the dropout probabilities overridden to 0 it must give the eval numbers.
    let mut overrides = serde_json::Map::new();
    overrides.insert("hidden_dropout_prob".into(), json!(0.0));
    overrides.insert("attention_probs_dropout_prob".into(), json!(0.0));
    let params = ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu);
    let m = load(
        &fixtures().join("tokcls-bin"),
        &BertOptions {
            config_overrides: overrides,
            tuning: Tuning::Tuned {
                params,
                prefix: "e.".into(),
            },
            ..BertOptions::default()
        },
    );
    let g = golden("tokcls");
    let hs = m
        .forward_t(&g["input_ids"], &g["attention_mask"], true)
        .unwrap();
    for (i, h) in hs.iter().enumerate() {
        let d = max_abs_diff(h, &g[&format!("hidden.{i}")]);
        assert!(d < 1e-5, "hidden state {i} differs by {d}");
    }
}

#[test]
fn config_overrides_apply_before_building() {
    // A different activation changes the outputs from layer 1 on, not the embeddings.
    let mut overrides = serde_json::Map::new();
    overrides.insert("hidden_act".into(), json!("relu"));
    let m = load(
        &fixtures().join("tiny"),
        &BertOptions {
            config_overrides: overrides,
            ..BertOptions::default()
        },
    );
    let g = golden("tiny");
    let hs = m
        .forward_t(&g["input_ids"], &g["attention_mask"], false)
        .unwrap();
    assert!(max_abs_diff(&hs[0], &g["hidden.0"]) < 1e-5);
    assert!(max_abs_diff(&hs[1], &g["hidden.1"]) > 1e-3);
}

#[test]
fn resolution_through_a_hugging_face_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp
        .path()
        .join("hub/models--tiny-org--tiny-bert/snapshots/0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixtures().join("tiny").join(f), snap.join(f)).unwrap();
    }
    let refs = tmp.path().join("hub/models--tiny-org--tiny-bert/refs");
    std::fs::create_dir_all(&refs).unwrap();
    std::fs::write(refs.join("main"), "0123abcd").unwrap();
    let opts = ResolveOptions {
        cache_dirs: vec![tmp.path().join("hub")],
        allow_download: false,
        endpoint: None,
    };
    let dir = resolve_with("tiny-org/tiny-bert", &opts).unwrap();
    assert_eq!(dir, snap);
    check(&load(&dir, &BertOptions::default()), "tiny", 1e-5);
}

/// A copy of a fixture folder in a temporary directory.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), tmp.path().join(entry.file_name())).unwrap();
    }
    tmp
}

fn load_err(dir: &Path, options: &BertOptions) -> String {
    match Checkpoint::open(dir).and_then(|c| BertEncoder::load(&c, options)) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn files_cut_in_half_are_clear_errors() {
    for (name, file) in [
        ("tiny", "model.safetensors"),
        ("tiny-bin", "pytorch_model.bin"),
    ] {
        let tmp = copy_fixture(name);
        let path = tmp.path().join(file);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_err(tmp.path(), &BertOptions::default());
        assert!(
            err.contains(file) && err.contains("truncated or corrupt"),
            "{err}"
        );
    }
}

#[test]
fn missing_tensor_and_shape_mismatch_name_tensor_shapes_and_file() {
    // Drop one tensor.
    let tmp = copy_fixture("tiny");
    let path = tmp.path().join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    tensors.remove("encoder.layer.1.intermediate.dense.bias");
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let err = load_err(tmp.path(), &BertOptions::default());
    assert!(
        err.contains("`encoder.layer.1.intermediate.dense.bias` is missing")
            && err.contains("model.safetensors"),
        "{err}"
    );
    // ...which a model truncated below that layer never reads.
    let m = load(
        tmp.path(),
        &BertOptions {
            truncate: Some(1),
            ..BertOptions::default()
        },
    );
    check(&m, "tiny", 1e-5);

    // A configuration that does not fit the weights.
    let mut overrides = serde_json::Map::new();
    overrides.insert("intermediate_size".into(), json!(40));
    let err = load_err(
        &fixtures().join("tiny"),
        &BertOptions {
            config_overrides: overrides,
            ..BertOptions::default()
        },
    );
    assert!(
        err.contains("encoder.layer.0.intermediate.dense.weight")
            && err.contains("[37, 32]")
            && err.contains("[40, 32]")
            && err.contains("tiny/model.safetensors"),
        "{err}"
    );
    let mut overrides = serde_json::Map::new();
    overrides.insert("vocab_size".into(), json!(120));
    let err = load_err(
        &fixtures().join("tiny-bin"),
        &BertOptions {
            config_overrides: overrides,
            ..BertOptions::default()
        },
    );
    assert!(
        err.contains("[99, 32]") && err.contains("[120, 32]") && err.contains("pytorch_model.bin"),
        "{err}"
    );
    // A broken config.json.
    let tmp = copy_fixture("tiny");
    std::fs::write(tmp.path().join("config.json"), "{\"hidden_size\": ").unwrap();
    let err = load_err(tmp.path(), &BertOptions::default());
    assert!(err.contains("config.json") && err.contains("JSON"), "{err}");
}

fn minilm_dir() -> Option<PathBuf> {
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

#[test]
fn minilm_matches_transformers_within_1e4() {
    let Some(dir) = minilm_dir() else { return };
    let m = BertEncoder::from_pretrained(dir.to_str().unwrap(), &BertOptions::default()).unwrap();
    assert_eq!((m.hidden_size(), m.num_layers()), (384, 6));
    assert_eq!(check(&m, "minilm", 1e-4), 7);
    let g = golden("minilm");
    assert_eq!(
        g["input_ids"].i(1).unwrap().to_vec1::<i64>().unwrap()[..3],
        [101, 1996, 4937]
    );
}

#[test]
fn minilm_bf16_smoke() {
    let Some(dir) = minilm_dir() else { return };
    let m = BertEncoder::from_pretrained(
        dir.to_str().unwrap(),
        &BertOptions {
            dtype: DType::BF16,
            truncate: Some(2),
            ..BertOptions::default()
        },
    )
    .unwrap();
    let g = golden("minilm");
    let hs = m
        .forward_t(&g["input_ids"], &g["attention_mask"], false)
        .unwrap();
    assert_eq!(hs[2].dtype(), DType::BF16);
    // bf16 keeps 8 bits of mantissa: compare relative to the scale of the states.
    let want = &g["hidden.2"];
    let scale = want
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    let d = max_abs_diff(&hs[2], want);
    assert!(d < 0.05 * scale, "bf16 differs by {d} (scale {scale})");
}
