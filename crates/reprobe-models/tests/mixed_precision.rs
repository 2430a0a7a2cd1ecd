//! A tuned encoder computing in bf16 or f16 trains like one computing in f32 (issue 14, point 7): the
//! parameter store keeps f32 master weights and the optimiser f32 moments, the encoder runs on half
//! copies refreshed after every step, and the half gradients reach the masters as f32.
//!
//! The oracle is the f32 run itself: after a few AdamW steps at the encoders' usual learning rate (1e-5,
//! an update far below a bf16 ulp of the weights), the half run's weight updates point the same way
//! (cosine similarity of the flattened update vectors) and have the same size (norm ratio), and a longer
//! run lowers the loss.
use candle_core::{DType, Device, Tensor};
use reprobe_models::encoders::{BertConfig, BertEncoder, BertOptions, Tuning};
use reprobe_models::optim::{OptimConfig, OptimizerSet};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

fn tiny() -> BertConfig {
    BertConfig {
        vocab_size: 50,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 24,
        max_position_embeddings: 20,
        // No dropout: both runs see the same function, so only the precision differs.
        hidden_dropout_prob: 0.0,
        attention_probs_dropout_prob: 0.0,
        ..BertConfig::default()
    }
}

/// Every master weight, flattened in name order, as f64.
fn flat(params: &ParamStore) -> Vec<f64> {
    params
        .all()
        .iter()
        .flat_map(|(_, var)| {
            var.as_tensor()
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        })
        .collect()
}

/// What a run did: the master weights before and after, the loss of every step, and the dtypes of the
/// masters and of the optimiser moments.
struct Run {
    before: Vec<f64>,
    after: Vec<f64>,
    losses: Vec<f64>,
    master_dtypes: Vec<DType>,
    moment_dtypes: Vec<DType>,
}

/// `steps` AdamW steps of a tuned tiny BERT computing in `dtype`, regressing its last hidden state onto a
/// fixed target.
fn train(dtype: DType, lr: f64, steps: usize) -> Run {
    let device = Device::Cpu;
    let params = ParamStore::new(ModelRng::new(3), DType::F32, device.clone());
    let options = BertOptions {
        dtype,
        tuning: Tuning::Tuned {
            params: params.clone(),
            prefix: "encoders.t.".into(),
        },
        rng: ModelRng::new(3),
        ..BertOptions::default()
    };
    let model = BertEncoder::random(&tiny(), &options).unwrap();
    let ids = Tensor::new(&[[2u32, 7, 9, 11, 3], [2, 5, 13, 17, 3]], &device).unwrap(); // [2, 5]
    let mask = ids.ones_like().unwrap(); // [2, 5]
    let target = ModelRng::new(7)
        .normal((2, 5, 16), 0.0, 1.0, DType::F32, &device)
        .unwrap(); // [2, 5, 16]
    let cfg = OptimConfig {
        bert_learning_rate: lr,
        warmup_ratio: 0.0,
        ..OptimConfig::default()
    };
    let mut optim = OptimizerSet::new(&params, &cfg, 1000).unwrap();
    let before = flat(&params);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let hidden = model.forward_t(&ids, &mask, true).unwrap().pop().unwrap(); // [2, 5, 16]
        assert_eq!(
            hidden.dtype(),
            dtype,
            "the encoder computes in the run's dtype"
        );
        let loss = (hidden.to_dtype(DType::F32).unwrap() - &target)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap();
        losses.push(loss.to_scalar::<f32>().unwrap() as f64);
        optim.clip_and_step(&loss.backward().unwrap()).unwrap();
    }
    let master_dtypes = params.all().iter().map(|(_, v)| v.dtype()).collect();
    let dir = tempfile::tempdir().unwrap();
    optim.save(dir.path()).unwrap();
    let moments =
        candle_core::safetensors::load(dir.path().join("optimizer.safetensors"), &device).unwrap();
    let moment_dtypes = moments.values().map(Tensor::dtype).collect();
    Run {
        before,
        after: flat(&params),
        losses,
        master_dtypes,
        moment_dtypes,
    }
}

fn update(run: &Run) -> Vec<f64> {
    run.after
        .iter()
        .zip(&run.before)
        .map(|(a, b)| a - b)
        .collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn half_precision_updates_follow_the_f32_run() {
    let reference = update(&train(DType::F32, 1e-5, 5));
    assert!(norm(&reference) > 0.0);
    for dtype in [DType::BF16, DType::F16] {
        let run = train(dtype, 1e-5, 5);
        let ours = update(&run);
        let moved = ours.iter().filter(|d| **d != 0.0).count();
        let dot: f64 = ours.iter().zip(&reference).map(|(a, b)| a * b).sum();
        let cosine = dot / (norm(&ours) * norm(&reference));
        let ratio = norm(&ours) / norm(&reference);
        eprintln!(
            "{dtype:?}: {moved}/{} weights moved, cosine {cosine:.4}, norm ratio {ratio:.4}",
            ours.len()
        );
        assert!(
            moved * 10 > ours.len() * 9,
            "{dtype:?}: only {moved} of {} weights moved",
            ours.len()
        );
        assert!(cosine > 0.9, "{dtype:?}: cosine {cosine}");
        assert!((0.5..2.0).contains(&ratio), "{dtype:?}: norm ratio {ratio}");
        assert!(
            run.master_dtypes.iter().all(|d| *d == DType::F32),
            "{dtype:?}: master weights {:?}",
            run.master_dtypes
        );
        assert!(
            !run.moment_dtypes.is_empty() && run.moment_dtypes.iter().all(|d| *d == DType::F32),
            "{dtype:?}: optimiser moments {:?}",
            run.moment_dtypes
        );
    }
}

#[test]
fn half_precision_loss_falls() {
    for dtype in [DType::F32, DType::BF16] {
        let losses = train(dtype, 1e-3, 20).losses;
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        eprintln!("{dtype:?}: loss {first:.5} -> {last:.5}");
        assert!(last < first * 0.98, "{dtype:?}: loss {first} -> {last}");
    }
}
