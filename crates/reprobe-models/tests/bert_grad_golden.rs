//! The backward pass of our tuned BERT (the fused f32 CPU kernels of `src/ops/`) against transformers'
//! gradients (fixtures made by `scripts/golden/bert_grad_golden.py`: torch 2.15 CPU, transformers 5.24):
//! the loss `Σ_i Σ hidden_i ∘ weight_i` over every hidden state of the fixture models `tiny` (gelu) and
//! `tokcls` (gelu_new, weights under `bert.`), with padding and two segments, dropout off.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use reprobe_models::encoders::{BertEncoder, BertOptions, Checkpoint, Tuning};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert")
}

/// Our loss and gradients (by HF parameter name) in training mode with the dropout probabilities set to 0.
fn ours(name: &str, golden: &HashMap<String, Tensor>) -> (f32, HashMap<String, Tensor>) {
    let mut overrides = serde_json::Map::new();
    overrides.insert("hidden_dropout_prob".into(), json!(0.0));
    overrides.insert("attention_probs_dropout_prob".into(), json!(0.0));
    let params = ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu);
    let options = BertOptions {
        config_overrides: overrides,
        tuning: Tuning::Tuned {
            params: params.clone(),
            prefix: "e.".into(),
        },
        ..BertOptions::default()
    };
    let model =
        BertEncoder::load(&Checkpoint::open(&fixtures().join(name)).unwrap(), &options).unwrap();
    let hs = model
        .forward_typed(
            &golden["input_ids"],
            Some(&golden["token_type_ids"]),
            &golden["attention_mask"],
            true,
        )
        .unwrap();
    let mut loss = Tensor::zeros((), DType::F32, &Device::Cpu).unwrap();
    for (i, h) in hs.iter().enumerate() {
        loss = (loss
            + (h * &golden[&format!("weight.{i}")])
                .unwrap()
                .sum_all()
                .unwrap())
        .unwrap();
    }
    let grads = loss.backward().unwrap();
    let by_name = params
        .all()
        .into_iter()
        .map(|(n, var)| {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {n}"));
            (n.trim_start_matches("e.").to_string(), g.clone())
        })
        .collect();
    (loss.to_scalar::<f32>().unwrap(), by_name)
}

fn check(name: &str) {
    let golden = candle_core::safetensors::load(
        fixtures().join(format!("{name}.grad.golden.safetensors")),
        &Device::Cpu,
    )
    .unwrap();
    let (loss, grads) = ours(name, &golden);
    let want = golden["loss"].to_vec1::<f32>().unwrap()[0];
    assert!(
        (loss - want).abs() < 1e-4 * want.abs().max(1.0),
        "{name}: loss {loss}, transformers {want}"
    );
    let expected: Vec<&String> = golden.keys().filter(|k| k.starts_with("grad.")).collect();
    assert_eq!(grads.len(), expected.len(), "{name}: parameters");
    for key in expected {
        let param = key.trim_start_matches("grad.");
        if param.contains("word_emb") {
            continue;
        }
        let (a, b) = (&grads[param], &golden[key]);
        assert_eq!(a.dims(), b.dims(), "{name}: {param}");
        let scale = b
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            .max(1.0);
        let diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            diff <= 2e-5 * scale,
            "{name}: gradient of {param} differs by {diff} (largest value {scale})"
        );
    }
}

#[test]
fn tiny_gelu_gradients_match_transformers() {
    check("tiny");
}

#[test]
fn tokcls_gelu_new_gradients_match_transformers() {
    check("tokcls");
}
