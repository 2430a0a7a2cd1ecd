//! Training behaviour of the coref head on a tiny random model: a step of the optimiser lowers the loss,
//! train mode really drops out and repeats from the seed, degenerate and malformed inputs.
use candle_core::{DType, Device, Tensor};
use reprobe_models::heads::coref::{CorefConfig, CorefGold, CorefHead, CorefInputs};
use reprobe_models::optim::{OptimConfig, OptimizerSet};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

const H: usize = 8;

fn tiny_config() -> CorefConfig {
    CorefConfig {
        max_span_width: 4,
        ffnn_size: 16,
        feature_emb_size: 4,
        max_training_sentences: 3,
        ..CorefConfig::default()
    }
}

/// 30 subtokens in 2 segments, 5 sentences; three gold clusters.
fn document() -> (CorefInputs, CorefGold) {
    let sentence_map: Vec<u32> = [
        0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, // segment 0 (CLS … SEP)
        2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, // segment 1
    ]
    .to_vec();
    let inputs = CorefInputs {
        speaker_ids: (0..30).map(|t| if t < 15 { 2 } else { 3 }).collect(),
        segment_of_token: (0..30).map(|t| u32::from(t >= 15)).collect(),
        sentence_map,
        genre: 1,
    };
    let gold = CorefGold::from_clusters(&[
        vec![(1, 2), (7, 7), (16, 17)],
        vec![(3, 3), (21, 22)],
        vec![(9, 11), (25, 25), (27, 28)],
    ]);
    (inputs, gold)
}

fn setup(seed: u64, cfg: &CorefConfig) -> (ParamStore, CorefHead, Tensor) {
    let store = ParamStore::new(ModelRng::new(seed), DType::F32, Device::Cpu);
    let head = CorefHead::new(cfg, H, &store).unwrap();
    let doc = ModelRng::new(seed + 100)
        .normal((30, H), 0.0, 1.0, DType::F32, &Device::Cpu)
        .unwrap();
    (store, head, doc)
}

fn eval_loss(head: &CorefHead, doc: &Tensor, inputs: &CorefInputs, gold: &CorefGold) -> f32 {
    head.forward_t(doc, inputs, Some(gold), false)
        .unwrap()
        .loss
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// With single-token candidates and `K = N`, every candidate is kept whatever its score, so the loss is a
/// smooth function of the parameters. (With wider spans, the top spans of a freshly initialised head
/// change with the slightest update and the loss jumps up and down during the first steps.)
#[test]
fn one_training_step_lowers_the_loss() {
    let cfg = CorefConfig {
        max_span_width: 1,
        top_span_ratio: 1.0,
        ..tiny_config()
    };
    let (store, head, doc) = setup(7, &cfg);
    let (inputs, _) = document();
    let gold = CorefGold::from_clusters(&[
        vec![(1, 1), (7, 7), (16, 16)],
        vec![(3, 3), (21, 21)],
        vec![(9, 9), (25, 25), (27, 27)],
    ]);
    let optim_cfg = OptimConfig {
        task_learning_rate: 1e-3,
        ..OptimConfig::default()
    };
    let mut optimizers = OptimizerSet::new(&store, &optim_cfg, 100).unwrap();
    let before = eval_loss(&head, &doc, &inputs, &gold);
    let out = head.forward_t(&doc, &inputs, Some(&gold), true).unwrap();
    assert_eq!(out.top_spans.len(), 30);
    let grads = out.loss.unwrap().backward().unwrap();
    let clipped = optimizers.clip_and_step(&grads).unwrap();
    assert!(clipped[2].total_norm > 0.0);
    let after = eval_loss(&head, &doc, &inputs, &gold);
    assert!(after < before, "loss {before} → {after}");

    // And keeps going down, step after step (no encoder or aggregate parameters here).
    let mut last = after;
    for step in 0..20 {
        let out = head.forward_t(&doc, &inputs, Some(&gold), true).unwrap();
        let grads = out.loss.unwrap().backward().unwrap();
        optimizers.clip_and_step(&grads).unwrap();
        let loss = eval_loss(&head, &doc, &inputs, &gold);
        assert!(loss < last, "step {step}: {last} → {loss}");
        last = loss;
    }
    assert!(last < 0.9 * before, "loss {before} → {last} after 21 steps");
}

#[test]
fn train_mode_drops_out_and_repeats_from_the_seed() {
    let cfg = tiny_config();
    let (inputs, gold) = document();
    let (_, head_a, doc) = setup(3, &cfg);
    let (_, head_b, _) = setup(3, &cfg);
    let eval = eval_loss(&head_a, &doc, &inputs, &gold);
    let train_a = head_a.forward_t(&doc, &inputs, Some(&gold), true).unwrap();
    let train_b = head_b.forward_t(&doc, &inputs, Some(&gold), true).unwrap();
    let la = train_a.loss.unwrap().to_scalar::<f32>().unwrap();
    let lb = train_b.loss.unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(la, lb, "same seed, same dropout masks");
    assert_ne!(la, eval, "dropout changes the training loss");

    // Without dropout, training and evaluation compute the same thing.
    let no_dropout = CorefConfig {
        dropout_rate: 0.0,
        ..cfg
    };
    let (_, head, doc) = setup(3, &no_dropout);
    let train = head.forward_t(&doc, &inputs, Some(&gold), true).unwrap();
    let eval = head.forward_t(&doc, &inputs, Some(&gold), false).unwrap();
    assert_eq!(
        train.antecedent_scores.to_vec2::<f32>().unwrap(),
        eval.antecedent_scores.to_vec2::<f32>().unwrap()
    );
}

#[test]
fn a_document_too_short_for_a_top_span_gives_empty_outputs() {
    let (_, head, doc) = setup(1, &tiny_config());
    let doc = doc.narrow(0, 0, 2).unwrap();
    let inputs = CorefInputs {
        sentence_map: vec![0, 0],
        speaker_ids: vec![1, 1],
        segment_of_token: vec![0, 0],
        genre: 0,
    };
    let gold = CorefGold::from_clusters(&[vec![(0, 0), (1, 1)]]);
    let out = head.forward_t(&doc, &inputs, Some(&gold), true).unwrap();
    assert!(out.top_spans.is_empty());
    assert_eq!(out.loss.as_ref().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    assert!(out.decode().unwrap().is_empty());
    assert_eq!(out.candidates.len(), 3);
}

#[test]
fn malformed_inputs_are_named() {
    let (_, head, doc) = setup(1, &tiny_config());
    let (inputs, gold) = document();
    let short = CorefInputs {
        speaker_ids: vec![0; 29],
        ..inputs.clone()
    };
    let err = head
        .forward_t(&doc, &short, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("inputs.speaker_ids"), "{err}");
    let bad_genre = CorefInputs {
        genre: 7,
        ..inputs.clone()
    };
    let err = head
        .forward_t(&doc, &bad_genre, None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("inputs.genre"), "{err}");
    let mut bad_gold = gold.clone();
    bad_gold.spans[4] = (29, 30);
    let err = head
        .forward_t(&doc, &inputs, Some(&bad_gold), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("gold.spans[4]"), "{err}");
    let mut twice = gold;
    twice.spans.push((1, 2));
    twice.cluster_ids.push(2);
    let err = head
        .forward_t(&doc, &inputs, Some(&twice), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("two clusters"), "{err}");
    let wide = Tensor::zeros((30, H + 1), DType::F32, &Device::Cpu).unwrap();
    assert!(head.forward_t(&wide, &inputs, None, false).is_err());
}

#[test]
fn forward_eval_gives_the_eval_numbers_without_a_graph() {
    let (_, head, doc) = setup(4, &tiny_config());
    let (inputs, gold) = document();
    let with_graph = head.forward_t(&doc, &inputs, Some(&gold), false).unwrap();
    let without = head.forward_eval(&doc, &inputs, Some(&gold)).unwrap();
    assert_eq!(
        with_graph.antecedent_scores.to_vec2::<f32>().unwrap(),
        without.antecedent_scores.to_vec2::<f32>().unwrap()
    );
    assert_eq!(
        with_graph.loss.unwrap().to_scalar::<f32>().unwrap(),
        without.loss.as_ref().unwrap().to_scalar::<f32>().unwrap()
    );
    assert_eq!(with_graph.top_spans, without.top_spans);
    // Nothing to back-propagate into: the gradient store holds only the loss itself.
    let grads = without.loss.unwrap().backward().unwrap();
    assert_eq!(grads.get_ids().count(), 1);
}
