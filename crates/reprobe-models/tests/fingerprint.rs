//! The weight-file fingerprint the feature cache keys on (issue 14, point 12): the SHA-256 of the whole
//! file, so checkpoints that differ in a byte the former sampled hash skipped (size, first and last MiB,
//! 32 blocks of 64 KiB) never share cached features; remembered in an index by path, size and times.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use candle_core::{DType, Device, Tensor};
use reprobe_models::cache::FeatureKey;
use reprobe_models::encoders::checkpoint::{
    weights_fingerprint, weights_fingerprint_with, CONFIG_FILE, SAFETENSORS_FILE,
};
use reprobe_models::encoders::{BertEncoder, BertOptions, Checkpoint, Encoder};
use serde_json::Value;
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;

/// The byte ranges the former sampled fingerprint read of a file of `size` bytes.
fn formerly_sampled(size: u64) -> Vec<(u64, u64)> {
    let (head_tail, block, blocks) = (MIB, 64 << 10, 32);
    let mut ranges = vec![(0, head_tail.min(size))];
    if size > 2 * head_tail {
        let middle = size - 2 * head_tail;
        for i in 0..blocks {
            let start = head_tail + middle * i / blocks;
            ranges.push((start, block.min(size - start)));
        }
    }
    if size > head_tail {
        let start = size.saturating_sub(head_tail).max(head_tail.min(size));
        ranges.push((start, size - start));
    }
    ranges
}

/// The first byte after the first sampled middle block: inside the data of a large tensor, and a byte
/// the sampled fingerprint never read.
fn unsampled_byte(bytes: &[u8]) -> usize {
    let pos = MIB + (64 << 10) + 4096;
    let size = bytes.len() as u64;
    assert!(
        formerly_sampled(size)
            .iter()
            .all(|&(start, len)| pos < start || pos >= start + len),
        "byte {pos} of {size} was sampled"
    );
    pos as usize
}

/// `bytes` with one bit of byte `pos` flipped.
fn flipped(bytes: &[u8], pos: usize) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    bytes[pos] ^= 0x10;
    bytes
}

/// Sets a file's mtime `ago` in the past.
fn set_mtime_ago(path: &Path, ago: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - ago)
        .unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn index_entry(index: &Path, file: &Path) -> Value {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(index).unwrap()).unwrap();
    assert_eq!(index["format"], "reprobe-fingerprints-v1");
    let key = std::fs::canonicalize(file).unwrap();
    index["files"][key.to_str().unwrap()].clone()
}

fn rewrite_index_sha(index: &Path, file: &Path, sha256: &str) {
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(index).unwrap()).unwrap();
    let key = std::fs::canonicalize(file).unwrap();
    json["files"][key.to_str().unwrap()]["sha256"] = Value::from(sha256);
    std::fs::write(index, json.to_string()).unwrap();
}

#[test]
fn one_byte_the_old_sampling_skipped_changes_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("a.safetensors"),
        dir.path().join("b.safetensors"),
    );
    let values: Vec<f32> = (0..2 * MIB as usize)
        .map(|i| (i % 1009) as f32 * 0.001)
        .collect();
    let tensor = Tensor::from_vec(values, (2048, 1024), &Device::Cpu).unwrap();
    let name = "encoder.layer.0.output.dense.weight";
    candle_core::safetensors::save(&HashMap::from([(name.to_string(), tensor)]), &a).unwrap();
    let bytes = std::fs::read(&a).unwrap();
    std::fs::write(&b, flipped(&bytes, unsampled_byte(&bytes))).unwrap();
    // Both are valid weight files whose tensor differs in one element.
    let load =
        |path: &Path| candle_core::safetensors::load(path, &Device::Cpu).unwrap()[name].clone();
    let differing = load(&a)
        .ne(&load(&b))
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap();
    assert_eq!(
        differing.sum_all().unwrap().to_scalar::<f32>().unwrap(),
        1.0
    );

    let (fa, fb) = (
        weights_fingerprint(&a).unwrap(),
        weights_fingerprint(&b).unwrap(),
    );
    assert_ne!(fa, fb);
    assert_eq!(fa, sha256_hex(&bytes));
}

#[test]
fn encoders_of_checkpoints_differing_in_one_skipped_byte_do_not_share_cached_features() {
    // The tiny BERT fixture with a 40 000-row vocabulary (5 MB of word embeddings).
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert/tiny");
    let mut tensors =
        candle_core::safetensors::load(fixture.join(SAFETENSORS_FILE), &Device::Cpu).unwrap();
    let vocab = 40_000;
    let values: Vec<f32> = (0..vocab * 32)
        .map(|i| ((i % 997) as f32 - 498.0) * 1e-3)
        .collect();
    tensors.insert(
        "embeddings.word_embeddings.weight".to_string(),
        Tensor::from_vec(values, (vocab, 32), &Device::Cpu).unwrap(),
    );
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join(CONFIG_FILE)).unwrap()).unwrap();
    config["vocab_size"] = Value::from(vocab);
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    for dir in [&a, &b] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join(CONFIG_FILE), config.to_string()).unwrap();
    }
    candle_core::safetensors::save(&tensors, a.join(SAFETENSORS_FILE)).unwrap();
    let bytes = std::fs::read(a.join(SAFETENSORS_FILE)).unwrap();
    std::fs::write(
        b.join(SAFETENSORS_FILE),
        flipped(&bytes, unsampled_byte(&bytes)),
    )
    .unwrap();

    let load = |dir: &Path| {
        BertEncoder::load(&Checkpoint::open(dir).unwrap(), &BertOptions::default()).unwrap()
    };
    let (ea, eb) = (load(&a), load(&b));
    assert_ne!(ea.fingerprint(), eb.fingerprint());
    let ids = Tensor::new(&[[1u32, 2, 3]], &Device::Cpu).unwrap();
    let mask = Tensor::new(&[[1u32, 1, 1]], &Device::Cpu).unwrap();
    let key = |e: &BertEncoder| {
        FeatureKey::new(e.fingerprint(), None, &[3], DType::F32, &ids, &mask).unwrap()
    };
    assert_ne!(key(&ea).encoder_dir(), key(&eb).encoder_dir());
}

#[test]
fn an_unchanged_file_is_read_from_the_index_and_a_touched_one_is_hashed_again() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("cache/reprobe/fingerprints.json");
    let weights = dir.path().join("model.safetensors");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(&weights, &bytes).unwrap();
    set_mtime_ago(&weights, Duration::from_secs(3600));
    let fingerprint = |path: &Path| weights_fingerprint_with(path, Some(&index)).unwrap();

    // Hashed once, then remembered.
    let first = fingerprint(&weights);
    assert!(!first.from_index);
    assert_eq!(first.sha256, sha256_hex(&bytes));
    let entry = index_entry(&index, &weights);
    assert_eq!(entry["sha256"], first.sha256.as_str());
    assert_eq!(entry["size"], bytes.len() as u64);
    let again = fingerprint(&weights);
    assert!(again.from_index);
    assert_eq!(again.sha256, first.sha256);

    // Read from the index, not from the file: an entry edited by hand is what comes back.
    let planted = "0".repeat(64);
    rewrite_index_sha(&index, &weights, &planted);
    let read = fingerprint(&weights);
    assert!(read.from_index);
    assert_eq!(read.sha256, planted);

    // A touched file (new mtime) is hashed again, and the index corrected.
    set_mtime_ago(&weights, Duration::from_secs(1800));
    let touched = fingerprint(&weights);
    assert!(!touched.from_index);
    assert_eq!(touched.sha256, first.sha256);
    assert_eq!(
        index_entry(&index, &weights)["sha256"],
        first.sha256.as_str()
    );
    assert!(fingerprint(&weights).from_index);

    // The same file through another path (a symbolic link) is the same entry.
    #[cfg(unix)]
    {
        let link = dir.path().join("link.safetensors");
        std::os::unix::fs::symlink(&weights, &link).unwrap();
        let linked = fingerprint(&link);
        assert!(linked.from_index);
        assert_eq!(linked.sha256, first.sha256);
    }
}

#[cfg(unix)]
#[test]
fn a_file_rewritten_with_its_size_and_mtime_kept_is_hashed_again() {
    // `cp -p`, `rsync -t` or a careless tool: the same size and mtime over different bytes. On Unix the
    // ctime (which no tool can set back) tells them apart.
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("fingerprints.json");
    let weights = dir.path().join("model.safetensors");
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(&weights, &bytes).unwrap();
    let mtime = SystemTime::now() - Duration::from_secs(3600);
    let set_mtime = |path: &Path| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(mtime)
            .unwrap()
    };
    set_mtime(&weights);
    let first = weights_fingerprint_with(&weights, Some(&index)).unwrap();
    assert!(!first.from_index);

    std::thread::sleep(Duration::from_millis(20));
    let other = flipped(&bytes, bytes.len() / 2);
    std::fs::write(&weights, &other).unwrap();
    set_mtime(&weights);
    let rewritten = weights_fingerprint_with(&weights, Some(&index)).unwrap();
    assert!(!rewritten.from_index);
    assert_eq!(rewritten.sha256, sha256_hex(&other));
}

#[test]
fn a_file_written_just_now_is_hashed_but_not_indexed() {
    // On file systems with coarse timestamps a second write within the same tick would keep size and
    // mtime: a file is indexed only once its mtime is a few seconds old.
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("fingerprints.json");
    let weights = dir.path().join("model.safetensors");
    std::fs::write(&weights, b"fresh weights").unwrap();
    for _ in 0..2 {
        let f = weights_fingerprint_with(&weights, Some(&index)).unwrap();
        assert!(!f.from_index);
        assert_eq!(f.sha256, sha256_hex(b"fresh weights"));
    }
    assert!(!index.exists());
}

#[test]
fn a_corrupt_index_is_replaced_and_entries_of_deleted_files_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("fingerprints.json");
    std::fs::write(&index, "{ not json").unwrap();
    let files: Vec<PathBuf> = (0..2)
        .map(|i| {
            let path = dir.path().join(format!("w{i}.bin"));
            std::fs::write(&path, format!("weights {i}")).unwrap();
            set_mtime_ago(&path, Duration::from_secs(600));
            path
        })
        .collect();
    for file in &files {
        let f = weights_fingerprint_with(file, Some(&index)).unwrap();
        assert!(!f.from_index);
        assert_eq!(index_entry(&index, file)["sha256"], f.sha256.as_str());
    }
    assert!(
        weights_fingerprint_with(&files[0], Some(&index))
            .unwrap()
            .from_index
    );

    let gone = std::fs::canonicalize(&files[1]).unwrap();
    std::fs::remove_file(&files[1]).unwrap();
    set_mtime_ago(&files[0], Duration::from_secs(300));
    assert!(
        !weights_fingerprint_with(&files[0], Some(&index))
            .unwrap()
            .from_index
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&index).unwrap()).unwrap();
    let names: Vec<&String> = json["files"].as_object().unwrap().keys().collect();
    assert!(!names.iter().any(|n| Path::new(n) == gone), "{names:?}");
    assert_eq!(names.len(), 1);
    // No temporary file is left beside the index.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
