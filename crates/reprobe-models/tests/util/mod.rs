//! Shared helpers of the integration tests: the aggregation golden fixture of
//! `scripts/golden/aggregate_golden.py`, toy encoders, tensor values and differences.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use reprobe_models::aggregate::AggregateConfig;
use reprobe_models::params::ParamStore;
use serde::Deserialize;

/// One case of `cases.json`.
#[derive(Debug, Deserialize)]
pub struct GoldenCase {
    pub name: String,
    pub models: Vec<String>,
    /// The reference config (`type` = kind), kept for messages.
    pub aggregate: serde_json::Value,
    /// The same config in our syntax.
    pub ours: serde_json::Value,
    pub normalize: bool,
    pub cossim_target: Option<String>,
    pub cossim: HashMap<String, f64>,
    pub params: Vec<String>,
    pub out_shape: Vec<usize>,
}

/// `cases.json`.
#[derive(Debug, Deserialize)]
pub struct GoldenFile {
    pub torch: String,
    #[serde(rename = "B")]
    pub b: usize,
    #[serde(rename = "T")]
    pub t: usize,
    #[serde(rename = "H")]
    pub h: usize,
    #[serde(rename = "L")]
    pub l: usize,
    pub models: Vec<String>,
    pub cases: Vec<GoldenCase>,
}

/// The golden fixture: cases and tensors (f64).
pub struct Golden {
    pub file: GoldenFile,
    pub tensors: HashMap<String, Tensor>,
}

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aggregate")
}

pub fn load_golden() -> Golden {
    let dir = fixture_dir();
    let text = std::fs::read_to_string(dir.join("cases.json")).unwrap();
    let file: GoldenFile = serde_json::from_str(&text).unwrap();
    let tensors =
        candle_core::safetensors::load(dir.join("aggregate_golden.safetensors"), &Device::Cpu)
            .unwrap();
    Golden { file, tensors }
}

impl Golden {
    pub fn tensor(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("fixture tensor `{name}` missing"))
    }

    /// The L+1 hidden states of `model`, each `[B, T, H]`, in `dtype`.
    pub fn hidden_states(&self, model: &str, dtype: DType) -> Vec<Tensor> {
        (0..=self.file.l)
            .map(|layer| {
                self.tensor(&format!("input.{model}.{layer}"))
                    .to_dtype(dtype)
                    .unwrap()
            })
            .collect()
    }

    /// The mask `[B, T]` as u32.
    pub fn mask(&self) -> Tensor {
        self.tensor("mask").to_dtype(DType::U32).unwrap()
    }

    pub fn config(&self, case: &GoldenCase) -> AggregateConfig {
        serde_json::from_value(case.ours.clone())
            .unwrap_or_else(|e| panic!("{}: config {} does not parse: {e}", case.name, case.ours))
    }

    /// Copies the case's reference parameters into `params` (every aggregator parameter must have one),
    /// transforming each through `map(name, tensor)`; returns how many were set.
    pub fn set_params(
        &self,
        case: &GoldenCase,
        params: &ParamStore,
        map: impl Fn(&str, Tensor) -> Tensor,
    ) -> usize {
        let mut set = 0;
        for (name, var) in params.with_prefix("aggregate.") {
            let short = name.trim_start_matches("aggregate.");
            let key = format!("{}.param.{short}", case.name);
            let value = self.tensor(&key).to_dtype(var.dtype()).unwrap();
            var.set(&map(short, value)).unwrap();
            set += 1;
        }
        set
    }
}

/// The values of a tensor of any shape and float dtype, flattened, as f64.
pub fn f64_values(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// The largest absolute difference of two tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.to_dtype(DType::F64).unwrap();
    let b = b.to_dtype(DType::F64).unwrap();
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

/// A tiny deterministic encoder: hidden state `l` of token id `x` at feature `h` is
/// `sin(0.37·x + 0.11·h + 0.5·l)`; in training, dropout p = 0.5 on top. Counts its calls.
pub struct ToyEncoder {
    pub layers: usize,
    pub hidden: usize,
    pub fingerprint: String,
    pub calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub dropout: reprobe_models::dropout::Dropout,
}

impl ToyEncoder {
    pub fn new(layers: usize, hidden: usize, fingerprint: &str) -> Self {
        ToyEncoder {
            layers,
            hidden,
            fingerprint: fingerprint.to_string(),
            calls: Default::default(),
            dropout: reprobe_models::dropout::Dropout::new(
                0.5,
                reprobe_models::rng::ModelRng::new(9),
            ),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl reprobe_models::encoders::Encoder for ToyEncoder {
    fn forward_t(
        &self,
        input_ids: &Tensor,
        _attention_mask: &Tensor,
        train: bool,
    ) -> reprobe_models::Result<Vec<Tensor>> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let ids = (input_ids.to_dtype(DType::F32)?.unsqueeze(2)? * 0.37)?; // [S, T, 1]
        let features: Vec<f32> = (0..self.hidden).map(|h| 0.11 * h as f32).collect();
        let features = Tensor::from_vec(features, self.hidden, input_ids.device())?; // [H]
        let mut states = Vec::new();
        for layer in 0..=self.layers {
            let state = (ids.broadcast_add(&features)? + 0.5 * layer as f64)?.sin()?; // [S, T, H]
            states.push(self.dropout.forward_t(&state, train)?);
        }
        Ok(states)
    }

    fn hidden_size(&self) -> usize {
        self.hidden
    }

    fn num_layers(&self) -> usize {
        self.layers
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Returns the golden fixture's hidden states of one model whatever the ids (L = 3, H = 8).
pub struct FixtureEncoder {
    pub states: Vec<Tensor>,
    pub fingerprint: String,
}

impl reprobe_models::encoders::Encoder for FixtureEncoder {
    fn forward_t(
        &self,
        _ids: &Tensor,
        _mask: &Tensor,
        _train: bool,
    ) -> reprobe_models::Result<Vec<Tensor>> {
        Ok(self.states.clone())
    }

    fn hidden_size(&self) -> usize {
        self.states[0].dims()[2]
    }

    fn num_layers(&self) -> usize {
        self.states.len() - 1
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

#[path = "../../../test-util/skip.rs"]
mod skip;
#[allow(unused_imports)]
pub use skip::{current_test, record_skip, skip, skip_fails};
