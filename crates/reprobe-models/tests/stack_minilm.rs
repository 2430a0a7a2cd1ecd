//! The stack on the real all-MiniLM-L6-v2 checkpoint (`scripts/fetch-minilm.sh`): loading from a
//! config, layer selection with truncation, the cache on real encoders, and the single-encoder mean
//! against the encoder's own last layer. Skips with a reason when the checkpoint is absent.
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use reprobe_models::aggregate::{AggregateConfig, AttentionConfig, AttentionMode};
use reprobe_models::encoders::stack::{EncoderConfig, EncoderStack, StackConfig};
use reprobe_models::encoders::{BertEncoder, BertOptions};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

mod util;

const MINILM_VOCAB: usize = 30522;

fn minilm() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    if dir.join("config.json").exists() {
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

fn encoder(dir: &std::path::Path, freeze: bool, truncate: Option<usize>) -> EncoderConfig {
    EncoderConfig {
        checkpoint: dir.display().to_string(),
        freeze,
        truncate,
        config: Default::default(),
        vocab_size: None,
    }
}

/// "[CLS] hello , world ! [SEP]" and "[CLS] this is a test . [SEP]" in MiniLM's uncased vocabulary.
fn batch() -> (Tensor, Tensor) {
    let ids: Vec<u32> = vec![
        101, 7592, 1010, 2088, 999, 102, 0, 0, 101, 2023, 2003, 1037, 3231, 1012, 102, 0,
    ];
    let mask: Vec<u32> = ids.iter().map(|&i| u32::from(i != 0)).collect();
    (
        Tensor::from_vec(ids, (2, 8), &Device::Cpu).unwrap(),
        Tensor::from_vec(mask, (2, 8), &Device::Cpu).unwrap(),
    )
}

#[test]
fn frozen_minilm_stack_with_truncation_attention_and_cache() {
    let Some(dir) = minilm() else { return };
    let cache_dir = tempfile::tempdir().unwrap();
    let mut cfg = StackConfig {
        encoder_order: vec!["target".into(), "small".into()],
        cossim_target: Some("target".into()),
        aggregate: AggregateConfig::Attention(AttentionConfig {
            reuse_target_query_as_key: false,
            mode_query: Some(AttentionMode::Constant),
            mode_keys: Some(AttentionMode::Token),
            ..AttentionConfig::default()
        }),
        ..StackConfig::default()
    };
    cfg.cache.dir = cache_dir.path().to_path_buf();
    cfg.encoders
        .insert("target".into(), encoder(&dir, true, None));
    cfg.encoders
        .insert("small".into(), encoder(&dir, true, Some(3)));
    let params = ParamStore::new(ModelRng::new(4), DType::F32, Device::Cpu);
    let stack = EncoderStack::load(&cfg, MINILM_VOCAB, &params, DType::F32).unwrap();
    assert_eq!(
        stack.layer_indices(),
        vec![("target", &[6usize][..]), ("small", &[3usize][..])]
    );
    assert_eq!((stack.hidden_size(), stack.output_size()), (384, 384));
    // Only the aggregator learns: no encoder weight is in the store.
    assert!(params
        .all()
        .iter()
        .all(|(name, _)| name.starts_with("aggregate.")));

    let (ids, mask) = batch();
    let first = stack.forward_t(&ids, &mask, Some("doc"), true).unwrap();
    let second = stack.forward_t(&ids, &mask, Some("doc"), true).unwrap();
    assert_eq!(
        first.embeddings.to_vec3::<f32>().unwrap(),
        second.embeddings.to_vec3::<f32>().unwrap(),
        "a cached frozen encoder gives the same output"
    );
    let stats = stack.cache().unwrap().stats();
    assert_eq!((stats.misses, stats.memory_hits), (2, 2));
    let cos = first.cossim["target/small"];
    assert!(cos > -1.0 && cos < 1.0, "layer 3 and layer 6 differ: {cos}");
    let total: f64 = first.attention_weights.values().sum();
    assert!((total - 1.0).abs() < 1e-5, "{:?}", first.attention_weights);
}

#[test]
fn single_frozen_mean_is_the_encoder_last_layer() {
    let Some(dir) = minilm() else { return };
    let mut cfg = StackConfig::default();
    cfg.cache.enabled = false;
    cfg.encoders
        .insert("bert".into(), encoder(&dir, true, None));
    let params = ParamStore::new(ModelRng::new(4), DType::F32, Device::Cpu);
    let stack = EncoderStack::load(&cfg, MINILM_VOCAB, &params, DType::F32).unwrap();
    let (ids, mask) = batch();
    let ours = stack
        .forward_t(&ids, &mask, None, false)
        .unwrap()
        .embeddings
        .to_vec3::<f32>()
        .unwrap();
    let bert =
        BertEncoder::from_pretrained(&dir.display().to_string(), &BertOptions::default()).unwrap();
    let last = bert
        .forward_t(&ids, &mask, false)
        .unwrap()
        .pop()
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    let mask = mask.to_vec2::<u32>().unwrap();
    for row in 0..2 {
        for tok in 0..8 {
            let want: Vec<f32> = if mask[row][tok] == 1 {
                last[row][tok].clone()
            } else {
                vec![0.0; 384]
            };
            assert_eq!(ours[row][tok], want, "[{row},{tok}]");
        }
    }
}

#[test]
fn tokenizer_larger_than_the_vocabulary_is_an_error() {
    let Some(dir) = minilm() else { return };
    let mut cfg = StackConfig::default();
    cfg.cache.enabled = false;
    cfg.encoders.insert("re".into(), encoder(&dir, true, None));
    let params = ParamStore::new(ModelRng::new(4), DType::F32, Device::Cpu);
    let err = EncoderStack::load(&cfg, MINILM_VOCAB + 38, &params, DType::F32)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("encoders.re.vocab_size") && err.contains("30522") && err.contains("30560"),
        "{err}"
    );
    // Growing the encoder's vocabulary fixes it.
    cfg.encoders.get_mut("re").unwrap().vocab_size = Some(MINILM_VOCAB + 38);
    EncoderStack::load(&cfg, MINILM_VOCAB + 38, &params, DType::F32).unwrap();
}

#[test]
fn tuned_encoder_weights_join_the_store_under_its_id() {
    let Some(dir) = minilm() else { return };
    let mut cfg = StackConfig::default();
    cfg.encoders
        .insert("target".into(), encoder(&dir, false, Some(1)));
    let params = ParamStore::new(ModelRng::new(4), DType::F32, Device::Cpu);
    let stack = EncoderStack::load(&cfg, MINILM_VOCAB, &params, DType::F32).unwrap();
    assert!(stack.cache().is_none());
    let names: Vec<String> = params.all().into_iter().map(|(n, _)| n).collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("encoders.target.encoder.layer.0.")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("layer.1.")),
        "truncated layers are never loaded"
    );
}
