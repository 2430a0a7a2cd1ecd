//! The fused CPU kernels against the generic tensor path in training mode: same parameters, same dropout
//! masks (drawn from the same seeded stream), so the losses, scores and every gradient must agree. Also
//! with the optional parts of the head switched off (no width features, no pair features, no head
//! attention), where the fused kernels see empty blocks.
use candle_core::{DType, Device, Var};
use reprobe_models::heads::coref::{CorefConfig, CorefGold, CorefHead, CorefInputs};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

const H: usize = 12;

/// 150 subtokens in 2 segments, sentences of 9–23 subtokens, three speakers, 12 gold mentions.
fn document() -> (CorefInputs, CorefGold) {
    let lens = [9, 17, 23, 12, 20, 14, 11, 22, 16];
    let mut sentence_map = Vec::new();
    let mut speaker_ids = Vec::new();
    for (sid, &len) in lens.iter().enumerate() {
        for _ in 0..len {
            sentence_map.push(sid as u32);
            speaker_ids.push(2 + (sid % 3) as u32);
        }
    }
    sentence_map.extend([9u32; 6]);
    speaker_ids.extend([1u32; 6]);
    let n = sentence_map.len();
    assert_eq!(n, 150);
    let inputs = CorefInputs {
        segment_of_token: (0..n).map(|t| u32::from(t >= 80)).collect(),
        sentence_map,
        speaker_ids,
        genre: 3,
    };
    let gold = CorefGold::from_clusters(&[
        vec![(1, 2), (12, 12), (40, 43), (100, 100)],
        vec![(10, 10), (27, 29), (90, 91)],
        vec![(50, 50), (51, 53), (120, 121), (140, 140), (146, 148)],
    ]);
    (inputs, gold)
}

/// The loss, every score, and the gradient of every parameter (and of the document) by name.
type Run = (f32, Vec<f32>, Vec<(String, Vec<f32>)>);

fn run(cfg: &CorefConfig, fused: bool) -> Run {
    let store = ParamStore::new(ModelRng::new(21), DType::F32, Device::Cpu);
    let head = CorefHead::new(cfg, H, &store)
        .unwrap()
        .with_fused_kernels(fused);
    let doc = Var::from_tensor(
        &ModelRng::new(5)
            .normal((150, H), 0.0, 1.0, DType::F32, &Device::Cpu)
            .unwrap(),
    )
    .unwrap();
    let (inputs, gold) = document();
    let out = head
        .forward_t(doc.as_tensor(), &inputs, Some(&gold), true)
        .unwrap();
    let loss = out.loss.unwrap();
    let grads = loss.backward().unwrap();
    let mut all = vec![(
        "doc".to_string(),
        grads
            .get(doc.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap(),
    )];
    for (name, var) in store.all() {
        if let Some(g) = grads.get(var.as_tensor()) {
            all.push((name, g.flatten_all().unwrap().to_vec1().unwrap()));
        }
    }
    let scores: Vec<f32> = out
        .candidate_mention_scores
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .chain(
            out.antecedent_scores
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
        )
        .collect();
    (loss.to_scalar().unwrap(), scores, all)
}

fn compare(cfg: &CorefConfig) {
    let (loss_f, scores_f, grads_f) = run(cfg, true);
    let (loss_g, scores_g, grads_g) = run(cfg, false);
    assert!(
        (loss_f - loss_g).abs() <= 1e-5 * (1.0 + loss_g.abs()),
        "loss {loss_f} vs {loss_g}"
    );
    assert_eq!(scores_f.len(), scores_g.len());
    for (i, (a, b)) in scores_f.iter().zip(&scores_g).enumerate() {
        if b.is_infinite() {
            assert_eq!(a, b);
        } else {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                "score {i}: {a} vs {b}"
            );
        }
    }
    assert_eq!(
        grads_f.iter().map(|g| &g.0).collect::<Vec<_>>(),
        grads_g.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in grads_f.iter().zip(&grads_g) {
        let scale = b.iter().fold(0f32, |m, x| m.max(x.abs())).max(1.0);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * scale,
                "grad {name}[{i}]: {x} vs {y}"
            );
        }
    }
}

fn base() -> CorefConfig {
    CorefConfig {
        max_span_width: 6,
        ffnn_size: 32,
        feature_emb_size: 5,
        max_training_sentences: 2,
        max_top_antecedents: 7,
        ..CorefConfig::default()
    }
}

#[test]
fn fused_equals_generic_in_training() {
    compare(&base());
}

#[test]
fn fused_equals_generic_without_optional_parts() {
    compare(&CorefConfig {
        use_features: false,
        use_metadata: false,
        use_segment_distance: false,
        model_heads: false,
        ..base()
    });
    compare(&CorefConfig {
        use_width_prior: false,
        use_distance_prior: false,
        dropout_rate: 0.0,
        ..base()
    });
}

#[test]
fn deeper_ffnns_take_the_generic_path() {
    // ffnn_depth = 2 is not fused: both settings run the same code and give the same numbers.
    compare(&CorefConfig {
        ffnn_depth: 2,
        ..base()
    });
}
