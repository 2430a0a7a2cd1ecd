//! The encoder stack with the frozen-feature cache, on a tiny deterministic encoder that counts its calls.
mod util;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use reprobe_models::aggregate::{AggregateConfig, AttentionConfig, CompatOptions};
use reprobe_models::cache::{CacheConfig, FeatureCache};
use reprobe_models::encoders::stack::{EncoderConfig, EncoderStack, StackConfig, StackMember};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use util::ToyEncoder;

/// Three documents of 1–3 segments of T = 6 (the last segment padded).
fn documents() -> Vec<(String, Tensor, Tensor)> {
    let docs: [(&str, &[&[u32]]); 3] = [
        ("doc_a", &[&[101, 7, 8, 9, 102, 0]]),
        (
            "doc_b",
            &[&[101, 11, 12, 13, 14, 15], &[16, 17, 102, 0, 0, 0]],
        ),
        (
            "doc_c",
            &[
                &[101, 20, 21, 22, 23, 24],
                &[25, 26, 27, 28, 29, 30],
                &[31, 102, 0, 0, 0, 0],
            ],
        ),
    ];
    docs.iter()
        .map(|(key, rows)| {
            let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
            let mask: Vec<u32> = flat.iter().map(|&id| u32::from(id != 0)).collect();
            let shape = (rows.len(), 6);
            (
                key.to_string(),
                Tensor::from_vec(flat, shape, &Device::Cpu).unwrap(),
                Tensor::from_vec(mask, shape, &Device::Cpu).unwrap(),
            )
        })
        .collect()
}

struct Setup {
    freeze: bool,
    truncate: Option<usize>,
    layers: usize,
    fingerprint: &'static str,
    aggregate: AggregateConfig,
    compat: CompatOptions,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            freeze: true,
            truncate: None,
            layers: 3,
            fingerprint: "toy-v1",
            aggregate: AggregateConfig::default(),
            compat: CompatOptions::default(),
        }
    }
}

/// A one-encoder stack over `dir`; returns it with the encoder's call counter.
fn stack(dir: &std::path::Path, setup: Setup) -> (EncoderStack, Arc<AtomicUsize>) {
    let mut cfg = StackConfig {
        aggregate: setup.aggregate,
        compat_options: setup.compat,
        cache: CacheConfig {
            dir: dir.to_path_buf(),
            memory_mb: 64,
            ..CacheConfig::default()
        },
        ..StackConfig::default()
    };
    cfg.encoders.insert(
        "target".into(),
        EncoderConfig {
            checkpoint: "toy".into(),
            freeze: setup.freeze,
            truncate: setup.truncate,
            config: Default::default(),
            vocab_size: None,
        },
    );
    let encoder = ToyEncoder::new(setup.layers, 4, setup.fingerprint);
    let calls = encoder.calls.clone();
    let member = StackMember {
        id: "target".into(),
        encoder: Box::new(encoder),
        vocab_size: 200,
        dtype: DType::F32,
    };
    let params = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
    (
        EncoderStack::new(&cfg, vec![member], 200, &params).unwrap(),
        calls,
    )
}

fn calls(counter: &AtomicUsize) -> usize {
    counter.load(std::sync::atomic::Ordering::SeqCst)
}

/// One epoch over the documents; returns the embeddings.
fn epoch(stack: &EncoderStack, train: bool) -> Vec<Vec<Vec<Vec<f32>>>> {
    documents()
        .iter()
        .map(|(key, ids, mask)| {
            let out = stack.forward_t(ids, mask, Some(key), train).unwrap();
            out.embeddings.to_vec3::<f32>().unwrap()
        })
        .collect()
}

#[test]
fn second_epoch_reads_instead_of_computing() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, counter) = stack(dir.path(), Setup::default());
    let first = epoch(&stack, true);
    assert_eq!(calls(&counter), 3);
    let second = epoch(&stack, true);
    assert_eq!(calls(&counter), 3, "no encoder call in the second epoch");
    assert_eq!(first, second);
    // Evaluation reads the same entries: frozen encoders run in eval mode in training too.
    assert_eq!(epoch(&stack, false), first);
    let stats = stack.cache().unwrap().stats();
    assert_eq!(
        (stats.misses, stats.memory_hits, stats.disk_hits),
        (3, 6, 0)
    );
    assert!(stats.bytes_written > 0);
    // doc_c: 3 segments × 6 × H = 4 floats, one layer.
    let summary = stack.cache_summary().unwrap();
    assert!(
        summary.contains("6 hits") && summary.contains("3 misses") && summary.contains("on disk"),
        "{summary}"
    );
}

#[test]
fn a_second_process_hits_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (first_stack, first_calls) = stack(dir.path(), Setup::default());
    let first = epoch(&first_stack, false);
    assert_eq!(calls(&first_calls), 3);
    drop(first_stack);
    // A new stack with a new cache object on the same folder: what a later run sees.
    let (second_stack, second_calls) = stack(dir.path(), Setup::default());
    assert_eq!(epoch(&second_stack, false), first);
    assert_eq!(calls(&second_calls), 0);
    let stats = second_stack.cache().unwrap().stats();
    assert_eq!((stats.disk_hits, stats.misses), (3, 0));
    assert!(stats.saved_seconds >= 0.0 && stats.bytes_read > 0);
}

#[test]
fn fingerprint_truncation_or_layer_change_misses() {
    let dir = tempfile::tempdir().unwrap();
    let (base, base_calls) = stack(dir.path(), Setup::default());
    epoch(&base, false);
    assert_eq!(calls(&base_calls), 3);

    let (other_weights, c) = stack(
        dir.path(),
        Setup {
            fingerprint: "toy-v2",
            ..Setup::default()
        },
    );
    epoch(&other_weights, false);
    assert_eq!(calls(&c), 3, "another checkpoint fingerprint misses");

    let (truncated, c) = stack(
        dir.path(),
        Setup {
            truncate: Some(3),
            ..Setup::default()
        },
    );
    epoch(&truncated, false);
    assert_eq!(
        calls(&c),
        3,
        "another truncation misses, even with the same fingerprint and layers"
    );

    let two_layers = AggregateConfig::Attention(AttentionConfig {
        use_outputs_from_last_n_layers: 2,
        ..AttentionConfig::default()
    });
    let (more_layers, c) = stack(
        dir.path(),
        Setup {
            aggregate: two_layers,
            ..Setup::default()
        },
    );
    assert_eq!(
        more_layers.layer_indices(),
        vec![("target", &[2usize, 3][..])]
    );
    epoch(&more_layers, false);
    assert_eq!(calls(&c), 3, "another layer selection misses");

    // The base set-up still hits: nothing was overwritten.
    let (again, c) = stack(dir.path(), Setup::default());
    epoch(&again, false);
    assert_eq!(calls(&c), 0);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        4,
        "one folder per encoder set-up"
    );
}

#[test]
fn a_corrupt_or_truncated_file_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = stack(dir.path(), Setup::default());
    let expected = epoch(&first, false);
    let cache = first.cache().unwrap();
    let (_, ids, mask) = &documents()[2];
    let key = reprobe_models::cache::FeatureKey::new("toy-v1", None, &[3], DType::F32, ids, mask)
        .unwrap();
    let path = cache.path_of(&key).unwrap();
    assert!(path.exists(), "{}", path.display());
    drop(first);

    // Truncate doc_c's file; scribble over doc_a's header.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let (_, ids_a, mask_a) = &documents()[0];
    let key_a =
        reprobe_models::cache::FeatureKey::new("toy-v1", None, &[3], DType::F32, ids_a, mask_a)
            .unwrap();
    let path_a = FeatureCache::open(dir.path(), 0)
        .unwrap()
        .path_of(&key_a)
        .unwrap();
    let mut bytes_a = std::fs::read(&path_a).unwrap();
    bytes_a[9] = b'#';
    std::fs::write(&path_a, bytes_a).unwrap();

    let (second, counter) = stack(dir.path(), Setup::default());
    assert_eq!(epoch(&second, false), expected);
    assert_eq!(
        calls(&counter),
        2,
        "both damaged entries recomputed, the intact one read"
    );
    let stats = second.cache().unwrap().stats();
    assert_eq!((stats.corrupt, stats.disk_hits, stats.misses), (2, 1, 2));
    assert_eq!(second.cache().unwrap().warnings().len(), 2);
    // The rewritten files are good again.
    let (third, counter) = stack(dir.path(), Setup::default());
    epoch(&third, false);
    assert_eq!(calls(&counter), 0);
}

#[test]
fn frozen_dropout_recomputes_in_training_only() {
    let dir = tempfile::tempdir().unwrap();
    let compat = CompatOptions {
        frozen_dropout: Some(true),
        ..CompatOptions::default()
    };
    let (stack, counter) = stack(
        dir.path(),
        Setup {
            compat,
            ..Setup::default()
        },
    );
    let train_1 = epoch(&stack, true);
    let train_2 = epoch(&stack, true);
    assert_eq!(calls(&counter), 6, "every training step recomputes");
    assert_ne!(train_1, train_2, "dropout is active in the frozen encoder");
    let eval_1 = epoch(&stack, false);
    let eval_2 = epoch(&stack, false);
    assert_eq!(calls(&counter), 9, "evaluation is cached");
    assert_eq!(eval_1, eval_2);
    assert_eq!(stack.cache().unwrap().stats().bypassed, 6);
}

#[test]
fn tuned_encoders_and_anonymous_inputs_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (tuned, counter) = stack(
        dir.path(),
        Setup {
            freeze: false,
            ..Setup::default()
        },
    );
    assert!(tuned.cache().is_none());
    epoch(&tuned, false);
    epoch(&tuned, false);
    assert_eq!(calls(&counter), 6);

    let (frozen, counter) = stack(dir.path(), Setup::default());
    let (_, ids, mask) = &documents()[1];
    frozen.forward_t(ids, mask, None, false).unwrap();
    frozen.forward_t(ids, mask, None, false).unwrap();
    assert_eq!(calls(&counter), 2, "no doc_key, no cache");
}

#[test]
fn memory_only_cache_without_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, counter) = stack(dir.path(), Setup::default());
    let stack = stack.with_cache(Some(Arc::new(FeatureCache::in_memory(16))));
    epoch(&stack, false);
    epoch(&stack, false);
    assert_eq!(calls(&counter), 3);
    assert_eq!(stack.cache().unwrap().stats().memory_hits, 3);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing on disk"
    );
}
