//! The token and sequence classification heads against torch.nn (`scripts/golden/heads_golden.py`): same
//! weights and embeddings, evaluation mode; logits, loss and the gradients of every head parameter and of
//! the embeddings. Checked in f64 (to 1e-10: any formula difference shows) and in f32 (to 1e-5).
use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use reprobe_models::heads::{
    Head, SequenceClassificationConfig, SequenceClassificationHead, TokenClassificationConfig,
    TokenClassificationHead,
};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

fn fixture() -> HashMap<String, Tensor> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heads/heads.safetensors");
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// `|got − want| ≤ tol · (1 + |want|)` element-wise.
fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.dims(), want.dims(), "{what}: shapes");
    let (got, want) = (values(got), values(want));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let err = (g - w).abs() / (1.0 + w.abs());
        assert!(
            err <= tol,
            "{what}[{i}]: {g} vs {w} ({err:.2e} > {tol:.0e})"
        );
    }
}

/// Sets every parameter of the store from the fixture's `{case}.{name}`.
fn load_params(store: &ParamStore, golden: &HashMap<String, Tensor>, case: &str, dtype: DType) {
    for (name, var) in store.all() {
        let t = &golden[&format!("{case}.{name}")];
        var.set(&t.to_dtype(dtype).unwrap()).unwrap();
    }
}

/// Loss and gradients of the case against the fixture.
fn check(
    golden: &HashMap<String, Tensor>,
    case: &str,
    store: &ParamStore,
    emb: &Var,
    logits: &Tensor,
    loss: &Tensor,
    tol: f64,
) {
    assert_close(
        &format!("{case} logits"),
        logits,
        &golden[&format!("{case}.expected.logits")],
        tol,
    );
    assert_close(
        &format!("{case} loss"),
        &loss.reshape(1).unwrap(),
        &golden[&format!("{case}.expected.loss")],
        tol,
    );
    let grads = loss.backward().unwrap();
    for (name, var) in store.all() {
        let g = grads.get(var.as_tensor()).unwrap();
        assert_close(
            &format!("{case} grad {name}"),
            g,
            &golden[&format!("{case}.grad.{name}")],
            tol,
        );
    }
    assert_close(
        &format!("{case} grad embeddings"),
        grads.get(emb.as_tensor()).unwrap(),
        &golden[&format!("{case}.grad.embeddings")],
        tol,
    );
}

#[test]
fn heads_match_torch_nn() {
    let golden = fixture();
    for (dtype, tol) in [(DType::F64, 1e-10), (DType::F32, 1e-5)] {
        let emb = Var::from_tensor(&golden["input.embeddings"].to_dtype(dtype).unwrap()).unwrap();
        let (_, _, h) = emb.dims3().unwrap();
        let num_labels = golden["token.head.classifier.bias"].dim(0).unwrap();

        // Token classification, with ignored positions.
        let store = ParamStore::new(ModelRng::new(0), dtype, Device::Cpu);
        let cfg = TokenClassificationConfig {
            num_labels,
            dropout: 0.1,
        };
        let head = TokenClassificationHead::new(&cfg, h, &store).unwrap();
        load_params(&store, &golden, "token", dtype);
        let out = Head::forward_t(
            &head,
            emb.as_tensor(),
            &(),
            Some(&golden["input.token_labels"]),
            false,
        )
        .unwrap();
        check(
            &golden,
            "token",
            &store,
            &emb,
            &out.logits,
            &out.loss.unwrap(),
            tol,
        );

        // Sequence classification with and without the pooler.
        for (case, pooler) in [("seq_pooler", true), ("seq_plain", false)] {
            let store = ParamStore::new(ModelRng::new(0), dtype, Device::Cpu);
            let cfg = SequenceClassificationConfig {
                num_labels,
                dropout: 0.1,
                pooler,
            };
            let head = SequenceClassificationHead::new(&cfg, h, &store, None).unwrap();
            load_params(&store, &golden, case, dtype);
            let out = Head::forward_t(
                &head,
                emb.as_tensor(),
                &(),
                Some(&golden["input.seq_labels"]),
                false,
            )
            .unwrap();
            check(
                &golden,
                case,
                &store,
                &emb,
                &out.logits,
                &out.loss.unwrap(),
                tol,
            );
        }
    }
}

#[test]
fn pooler_init_gives_the_torch_numbers_too() {
    // The pooler handed to the constructor (as from a checkpoint) is the one used.
    let golden = fixture();
    let store = ParamStore::new(ModelRng::new(0), DType::F64, Device::Cpu);
    let cfg = SequenceClassificationConfig {
        num_labels: 4,
        dropout: 0.1,
        pooler: true,
    };
    let pooler = (
        golden["seq_pooler.head.pooler.dense.weight"].clone(),
        golden["seq_pooler.head.pooler.dense.bias"].clone(),
    );
    let head = SequenceClassificationHead::new(&cfg, 8, &store, Some(pooler)).unwrap();
    for (name, var) in store.with_prefix("head.classifier") {
        var.set(&golden[&format!("seq_pooler.{name}")]).unwrap();
    }
    let out = head
        .forward_eval(&golden["input.embeddings"], None)
        .unwrap();
    assert_close(
        "logits",
        &out.logits,
        &golden["seq_pooler.expected.logits"],
        1e-10,
    );
}
