//! The frozen-feature cache: a frozen encoder's hidden states for a document, computed once.
//!
//! A frozen encoder in evaluation mode is a pure function of the document's subtoken ids, so its output
//! does not change between epochs or runs. In most paper settings every encoder is frozen (SPEC §2.4)
//! and the reference recomputes two or more BERT passes per document per epoch; here the layers the
//! aggregator reads are computed once and read back.
//!
//! Two layers:
//! - **memory**: the most recently used entries, up to a budget in MB (all of them when they fit);
//! - **disk**: one safetensors file per document under `dir/<encoder key>/<ids hash>.safetensors`,
//!   written atomically (a temporary name, then a rename) and memory-mapped on read.
//!
//! An entry is keyed by a [`FeatureKey`]: the encoder's fingerprint (checkpoint content, architecture;
//! the content is the SHA-256 of the whole weight file, remembered per user by path, size and mtime in
//! `~/.cache/reprobe/fingerprints.json`, see [`crate::encoders::checkpoint::weights_fingerprint`]),
//! its truncation, the hidden-state indices kept, the dtype, and a SHA-256 of the document's padded
//! `[S, T]` subtoken ids and mask. A file whose header or length is wrong (truncated, corrupt) or whose
//! recorded key differs is reported as a warning, deleted and recomputed.
//!
//! The cache does not decide *whether* to cache: the encoder stack uses it for frozen encoders only,
//! and not in training with the `frozen_dropout` compat option (SPEC §9.9).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The version tag written into every cache file; a different tag is a miss.
pub const CACHE_FORMAT: &str = "reprobe-features-v1";

/// Where and how much to cache (`[cache]` in a run config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Cache frozen encoders at all. Default: true (DESIGN "Frozen encoders are computed once").
    pub enabled: bool,
    /// Keep entries on disk, so later epochs *and later runs* read them. Default: true.
    pub disk: bool,
    /// The on-disk folder, created with the first entry. Default: `.cache/features` (git-ignored).
    pub dir: PathBuf,
    /// In-memory budget in MB (held on the device the stack runs on); the least recently used entries
    /// are dropped beyond it, 0 keeps nothing in memory. Default: 2048.
    pub memory_mb: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            disk: true,
            dir: PathBuf::from(".cache/features"),
            memory_mb: 2048,
        }
    }
}

/// Everything a cached output depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeatureKey {
    /// The encoder's [`crate::encoders::Encoder::fingerprint`].
    pub fingerprint: String,
    /// The encoder's truncation (`truncate = k`), if any.
    pub truncate: Option<usize>,
    /// The hidden-state indices stored (0 = embedding output), in order.
    pub layers: Vec<usize>,
    /// The dtype of the stored hidden states (`f32`, `bf16`, ...).
    pub dtype: String,
    /// `S`, the number of segments (rows).
    pub segments: usize,
    /// `T`, the segment length (columns, padding included).
    pub segment_len: usize,
    /// SHA-256 (hex) of `S`, `T`, the ids and the mask.
    pub ids_hash: String,
}

impl FeatureKey {
    /// The key of `input_ids` / `attention_mask` (`[S, T]`, any integer or float dtype) for an encoder.
    pub fn new(
        fingerprint: &str,
        truncate: Option<usize>,
        layers: &[usize],
        dtype: DType,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Self> {
        let (segments, segment_len) = input_ids.dims2()?;
        let ids = input_ids
            .to_dtype(DType::U32)?
            .flatten_all()?
            .to_vec1::<u32>()?;
        let mask = attention_mask
            .to_dtype(DType::U32)?
            .flatten_all()?
            .to_vec1::<u32>()?;
        if mask.len() != ids.len() {
            return Err(Error::Config {
                key: "attention_mask".to_string(),
                msg: format!(
                    "shape {:?} differs from the ids' [{segments}, {segment_len}]",
                    attention_mask.dims()
                ),
            });
        }
        let mut hasher = Sha256::new();
        hasher.update((segments as u64).to_le_bytes());
        hasher.update((segment_len as u64).to_le_bytes());
        for id in &ids {
            hasher.update(id.to_le_bytes());
        }
        hasher.update(mask.iter().map(|&m| u8::from(m != 0)).collect::<Vec<u8>>());
        Ok(FeatureKey {
            fingerprint: fingerprint.to_string(),
            truncate,
            layers: layers.to_vec(),
            dtype: dtype.as_str().to_string(),
            segments,
            segment_len,
            ids_hash: hex(&hasher.finalize()),
        })
    }

    /// The folder name of everything but the document: the same for every document of one encoder
    /// set-up.
    pub fn encoder_dir(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(CACHE_FORMAT.as_bytes());
        hasher.update(b"\n");
        hasher.update(self.fingerprint.as_bytes());
        hasher
            .update(format!("\n{:?}\n{:?}\n{}", self.truncate, self.layers, self.dtype).as_bytes());
        hex(&hasher.finalize())[..24].to_string()
    }

    fn memory_id(&self) -> String {
        format!("{}/{}", self.encoder_dir(), self.ids_hash)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is recorded in each file next to the tensors (the `meta` tensor, UTF-8 JSON bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileMeta {
    format: String,
    key: FeatureKey,
    /// How long the encoder took to compute this entry, for the "time saved" statistic.
    compute_seconds: f64,
}

/// Counters of a [`FeatureCache`], for the run log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Entries served from memory.
    pub memory_hits: u64,
    /// Entries read from disk.
    pub disk_hits: u64,
    /// Entries computed (not found, or unusable).
    pub misses: u64,
    /// Disk entries found corrupt, truncated or of another key, and recomputed.
    pub corrupt: u64,
    /// Computations that bypassed the cache on purpose (`frozen_dropout` in training).
    pub bypassed: u64,
    /// Bytes written to disk by this process.
    pub bytes_written: u64,
    /// Bytes read from disk by this process.
    pub bytes_read: u64,
    /// Bytes held in memory now.
    pub memory_bytes: u64,
    /// Entries held in memory now.
    pub memory_entries: u64,
    /// Seconds spent computing misses.
    pub compute_seconds: f64,
    /// Seconds spent reading disk hits.
    pub read_seconds: f64,
    /// Seconds saved: for every hit, what the entry cost to compute minus what the hit cost.
    pub saved_seconds: f64,
}

impl CacheStats {
    /// All hits.
    pub fn hits(&self) -> u64 {
        self.memory_hits + self.disk_hits
    }
}

impl std::fmt::Display for CacheStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
        write!(
            f,
            "feature cache: {} hits ({} memory, {} disk), {} misses, {} corrupt recomputed, {} bypassed; \
             {:.1} MB written, {:.1} MB read, {:.1} MB in memory ({} entries); \
             computing {:.2} s, reading {:.3} s, saved {:.2} s",
            self.hits(),
            self.memory_hits,
            self.disk_hits,
            self.misses,
            self.corrupt,
            self.bypassed,
            mb(self.bytes_written),
            mb(self.bytes_read),
            mb(self.memory_bytes),
            self.memory_entries,
            self.compute_seconds,
            self.read_seconds,
            self.saved_seconds
        )
    }
}

#[derive(Debug)]
struct MemoryEntry {
    tensors: Vec<Tensor>,
    bytes: u64,
    compute_seconds: f64,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Memory {
    entries: HashMap<String, MemoryEntry>,
    bytes: u64,
    clock: u64,
}

/// The frozen-feature cache (memory + optional disk); shareable between threads.
#[derive(Debug)]
pub struct FeatureCache {
    dir: Option<PathBuf>,
    memory_budget: u64,
    memory: Mutex<Memory>,
    stats: Mutex<CacheStats>,
    warnings: Mutex<Vec<String>>,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl FeatureCache {
    /// The cache a [`CacheConfig`] describes; the folder is created when the first entry is written.
    pub fn new(cfg: &CacheConfig) -> Result<Self> {
        let dir = if cfg.disk {
            Some(cfg.dir.clone())
        } else {
            None
        };
        if let Some(dir) = &dir {
            if dir.exists() && !dir.is_dir() {
                return Err(Error::Config {
                    key: "cache.dir".to_string(),
                    msg: format!("{} exists and is not a folder", dir.display()),
                });
            }
        }
        Ok(FeatureCache {
            dir,
            memory_budget: (cfg.memory_mb as u64) * 1024 * 1024,
            memory: Mutex::new(Memory::default()),
            stats: Mutex::new(CacheStats::default()),
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// A cache on disk under `dir` with `memory_mb` of memory.
    pub fn open(dir: impl Into<PathBuf>, memory_mb: usize) -> Result<Self> {
        FeatureCache::new(&CacheConfig {
            dir: dir.into(),
            memory_mb,
            ..CacheConfig::default()
        })
    }

    /// A memory-only cache of `memory_mb`.
    pub fn in_memory(memory_mb: usize) -> Self {
        FeatureCache {
            dir: None,
            memory_budget: (memory_mb as u64) * 1024 * 1024,
            memory: Mutex::new(Memory::default()),
            stats: Mutex::new(CacheStats::default()),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// The on-disk folder, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The file an entry lives in on disk.
    pub fn path_of(&self, key: &FeatureKey) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| {
            dir.join(key.encoder_dir())
                .join(format!("{}.safetensors", key.ids_hash))
        })
    }

    /// The hidden states of `key`: from memory, else from disk, else from `compute` (then stored).
    ///
    /// `compute` must return `key.layers.len()` tensors of `[S, T, H]`; the result is on `device`.
    pub fn get_or_compute<F>(
        &self,
        key: &FeatureKey,
        device: &Device,
        compute: F,
    ) -> Result<Vec<Tensor>>
    where
        F: FnOnce() -> Result<Vec<Tensor>>,
    {
        let id = key.memory_id();
        if let Some((tensors, compute_seconds)) = self.memory_get(&id) {
            let mut stats = self.lock_stats();
            stats.memory_hits += 1;
            stats.saved_seconds += compute_seconds;
            return Ok(tensors);
        }
        if let Some(path) = self.path_of(key) {
            if path.exists() {
                let started = Instant::now();
                match read_entry(&path, key, device) {
                    Ok((tensors, meta, bytes)) => {
                        let read_seconds = started.elapsed().as_secs_f64();
                        {
                            let mut stats = self.lock_stats();
                            stats.disk_hits += 1;
                            stats.bytes_read += bytes;
                            stats.read_seconds += read_seconds;
                            stats.saved_seconds += (meta.compute_seconds - read_seconds).max(0.0);
                        }
                        self.memory_put(id, &tensors, meta.compute_seconds);
                        return Ok(tensors);
                    }
                    Err(err) => {
                        self.warn(format!(
                            "feature cache entry {} is unusable and will be recomputed: {err}",
                            path.display()
                        ));
                        self.lock_stats().corrupt += 1;
                        // A failed removal is harmless: the new entry replaces the file by rename.
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
        }

        let started = Instant::now();
        let tensors = compute()?;
        let compute_seconds = started.elapsed().as_secs_f64();
        check_computed(key, &tensors)?;
        {
            let mut stats = self.lock_stats();
            stats.misses += 1;
            stats.compute_seconds += compute_seconds;
        }
        if let Some(path) = self.path_of(key) {
            let meta = FileMeta {
                format: CACHE_FORMAT.to_string(),
                key: key.clone(),
                compute_seconds,
            };
            let bytes = write_entry(&path, &meta, &tensors)?;
            self.lock_stats().bytes_written += bytes;
        }
        self.memory_put(id, &tensors, compute_seconds);
        Ok(tensors)
    }

    /// Records a computation that skipped the cache on purpose (frozen dropout in training).
    pub fn note_bypass(&self) {
        self.lock_stats().bypassed += 1;
    }

    /// The counters so far.
    pub fn stats(&self) -> CacheStats {
        let mut stats = self.lock_stats().clone();
        let memory = self.lock_memory();
        stats.memory_bytes = memory.bytes;
        stats.memory_entries = memory.entries.len() as u64;
        stats
    }

    /// The warnings so far (unusable entries), oldest first.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Total size of the cache files on disk (0 without a disk layer).
    pub fn disk_usage(&self) -> Result<u64> {
        let Some(dir) = self.dir.as_ref().filter(|d| d.exists()) else {
            return Ok(0);
        };
        let mut total = 0;
        let io = |path: &Path, source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        for sub in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let sub = sub.map_err(|e| io(dir, e))?.path();
            if !sub.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&sub).map_err(|e| io(&sub, e))? {
                let file = file.map_err(|e| io(&sub, e))?;
                total += file.metadata().map_err(|e| io(&file.path(), e))?.len();
            }
        }
        Ok(total)
    }

    /// One line for the run log: the counters and the size on disk.
    pub fn summary(&self) -> String {
        let disk = match self.disk_usage() {
            Ok(bytes) if self.dir.is_some() => {
                format!("; {:.1} MB on disk", bytes as f64 / (1024.0 * 1024.0))
            }
            Ok(_) => String::new(),
            Err(err) => format!("; size on disk unknown ({err})"),
        };
        format!("{}{disk}", self.stats())
    }

    fn warn(&self, msg: String) {
        eprintln!("warning: {msg}");
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, CacheStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn memory_get(&self, id: &str) -> Option<(Vec<Tensor>, f64)> {
        let mut memory = self.lock_memory();
        memory.clock += 1;
        let clock = memory.clock;
        let entry = memory.entries.get_mut(id)?;
        entry.last_used = clock;
        Some((entry.tensors.clone(), entry.compute_seconds))
    }

    fn memory_put(&self, id: String, tensors: &[Tensor], compute_seconds: f64) {
        let bytes: u64 = tensors
            .iter()
            .map(|t| (t.elem_count() * t.dtype().size_in_bytes()) as u64)
            .sum();
        if bytes > self.memory_budget {
            return;
        }
        let mut memory = self.lock_memory();
        memory.clock += 1;
        let clock = memory.clock;
        if let Some(old) = memory.entries.remove(&id) {
            memory.bytes -= old.bytes;
        }
        while memory.bytes + bytes > self.memory_budget {
            let Some(oldest) = memory
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(evicted) = memory.entries.remove(&oldest) {
                memory.bytes -= evicted.bytes;
            }
        }
        memory.bytes += bytes;
        memory.entries.insert(
            id,
            MemoryEntry {
                tensors: tensors.to_vec(),
                bytes,
                compute_seconds,
                last_used: clock,
            },
        );
    }
}

/// The computed tensors must be what the key promises.
fn check_computed(key: &FeatureKey, tensors: &[Tensor]) -> Result<()> {
    if tensors.len() != key.layers.len() {
        return Err(Error::Config {
            key: "cache".to_string(),
            msg: format!(
                "{} hidden states computed, the key lists {}",
                tensors.len(),
                key.layers.len()
            ),
        });
    }
    for tensor in tensors {
        let (s, t, _) = tensor.dims3()?;
        if (s, t) != (key.segments, key.segment_len) || tensor.dtype().as_str() != key.dtype {
            return Err(Error::Config {
                key: "cache".to_string(),
                msg: format!(
                    "computed hidden state {:?} {:?} does not match the key's [{}, {}, H] {}",
                    tensor.dims(),
                    tensor.dtype(),
                    key.segments,
                    key.segment_len,
                    key.dtype
                ),
            });
        }
    }
    Ok(())
}

fn tensor_name(layer: usize) -> String {
    format!("hidden.{layer}")
}

/// Writes an entry through a temporary file and a rename; returns the file size.
fn write_entry(path: &Path, meta: &FileMeta, tensors: &[Tensor]) -> Result<u64> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
        let key_file = parent.join("key.json");
        if !key_file.exists() {
            // A human-readable description of the folder (everything but the document).
            let mut description = meta.key.clone();
            description.segments = 0;
            description.segment_len = 0;
            description.ids_hash = "<per file>".to_string();
            let text =
                serde_json::to_string_pretty(&description).map_err(|e| Error::Checkpoint {
                    path: key_file.clone(),
                    msg: format!("cannot describe the cache key: {e}"),
                })?;
            let tmp = unique_tmp(&key_file);
            std::fs::write(&tmp, text).map_err(io)?;
            std::fs::rename(&tmp, &key_file).map_err(io)?;
        }
    }
    let meta_json = serde_json::to_vec(meta).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        msg: format!("cannot encode the cache metadata: {e}"),
    })?;
    let meta_len = meta_json.len();
    let mut map: HashMap<String, Tensor> = HashMap::new();
    map.insert(
        "meta".to_string(),
        Tensor::from_vec(meta_json, meta_len, &Device::Cpu)?,
    );
    for (layer, tensor) in meta.key.layers.iter().zip(tensors) {
        map.insert(tensor_name(*layer), tensor.clone());
    }
    let tmp = unique_tmp(path);
    candle_core::safetensors::save(&map, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Checkpoint {
            path: tmp.clone(),
            msg: format!("cannot write the cache entry: {e}"),
        }
    })?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(std::fs::metadata(path).map_err(io)?.len())
}

/// A temporary name beside `path`, unique across processes and threads.
fn unique_tmp(path: &Path) -> PathBuf {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

/// Reads and checks an entry (memory-mapped): header and length, recorded key, tensor shapes.
fn read_entry(
    path: &Path,
    key: &FeatureKey,
    device: &Device,
) -> Result<(Vec<Tensor>, FileMeta, u64)> {
    let bad = |msg: String| Error::Checkpoint {
        path: path.to_path_buf(),
        msg,
    };
    let bytes = std::fs::metadata(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    // SAFETY: the file is mapped read-only and copied into tensors before the map is dropped; cache
    // files are only ever replaced by rename, never modified in place, so the mapping stays valid.
    let file = unsafe { candle_core::safetensors::MmapedSafetensors::new(path) }
        .map_err(|e| bad(format!("not a complete safetensors file ({e})")))?;
    let meta = file
        .load("meta", &Device::Cpu)
        .map_err(|e| bad(format!("no metadata ({e})")))?;
    let meta: FileMeta = serde_json::from_slice(&meta.to_vec1::<u8>()?)
        .map_err(|e| bad(format!("unreadable metadata ({e})")))?;
    if meta.format != CACHE_FORMAT || &meta.key != key {
        return Err(bad(format!(
            "written for another key ({} {:?}), expected {key:?}",
            meta.format, meta.key
        )));
    }
    let mut tensors = Vec::with_capacity(key.layers.len());
    for layer in &key.layers {
        let tensor = file
            .load(&tensor_name(*layer), device)
            .map_err(|e| bad(format!("hidden state {layer} missing ({e})")))?;
        let (s, t, _) = tensor.dims3()?;
        if (s, t) != (key.segments, key.segment_len) || tensor.dtype().as_str() != key.dtype {
            return Err(bad(format!(
                "hidden state {layer} is {:?} {:?}, expected [{}, {}, H] {}",
                tensor.dims(),
                tensor.dtype(),
                key.segments,
                key.segment_len,
                key.dtype
            )));
        }
        tensors.push(tensor);
    }
    Ok((tensors, meta, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(values: &[u32], rows: usize) -> Tensor {
        Tensor::from_vec(values.to_vec(), (rows, values.len() / rows), &Device::Cpu).unwrap()
    }

    fn key(fingerprint: &str, layers: &[usize], input_ids: &Tensor) -> FeatureKey {
        let mask = input_ids.ne(0u32).unwrap();
        FeatureKey::new(fingerprint, None, layers, DType::F32, input_ids, &mask).unwrap()
    }

    fn states(n: usize, s: usize, t: usize, value: f32) -> Vec<Tensor> {
        (0..n)
            .map(|l| {
                (Tensor::ones((s, t, 4), DType::F32, &Device::Cpu).unwrap()
                    * (value as f64 + l as f64))
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn key_depends_on_every_part() {
        let a = ids(&[101, 7, 102, 0], 1);
        let base = key("fp", &[6], &a);
        assert_eq!(base, key("fp", &[6], &a));
        assert_ne!(base.encoder_dir(), key("fp2", &[6], &a).encoder_dir());
        assert_ne!(base.encoder_dir(), key("fp", &[5, 6], &a).encoder_dir());
        assert_ne!(
            base.ids_hash,
            key("fp", &[6], &ids(&[101, 8, 102, 0], 1)).ids_hash
        );
        assert_ne!(
            base.ids_hash,
            key("fp", &[6], &ids(&[101, 7, 102, 0], 2)).ids_hash
        );
        let truncated =
            FeatureKey::new("fp", Some(3), &[6], DType::F32, &a, &a.ne(0u32).unwrap()).unwrap();
        assert_ne!(base.encoder_dir(), truncated.encoder_dir());
    }

    #[test]
    fn memory_lru_keeps_the_budget() {
        // Each entry: 1 × [1, 64, 4] f32 = 1 KiB... use a budget that holds about two of 1 MiB each.
        let cache = FeatureCache::in_memory(2);
        let big = |v: f32| {
            vec![
                (Tensor::ones((1, 256, 1024), DType::F32, &Device::Cpu).unwrap() * v as f64)
                    .unwrap(),
            ]
        };
        let mut computed = 0;
        for doc in [1u32, 2, 1, 3, 1, 2] {
            let input = ids(&[101, doc, 102], 1);
            let mut k = key("fp", &[1], &input);
            k.segment_len = 256; // match the [1, 256, 1024] stand-in
            cache
                .get_or_compute(&k, &Device::Cpu, || {
                    computed += 1;
                    Ok(big(doc as f32))
                })
                .unwrap();
        }
        // 1, 2 miss; 1 hit; 3 miss (evicts 2, the least recently used); 1 hit; 2 miss again.
        assert_eq!(computed, 4);
        let stats = cache.stats();
        assert_eq!(
            (stats.memory_hits, stats.misses, stats.memory_entries),
            (2, 4, 2)
        );
        assert!(stats.memory_bytes <= 2 * 1024 * 1024);
    }

    #[test]
    fn disk_round_trip_and_wrong_shapes_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FeatureCache::open(dir.path(), 0).unwrap();
        let input = ids(&[101, 5, 6, 102, 101, 9, 102, 0], 2);
        let k = key("fp", &[2, 3], &input);
        let first = cache
            .get_or_compute(&k, &Device::Cpu, || Ok(states(2, 2, 4, 1.5)))
            .unwrap();
        let again = cache
            .get_or_compute(&k, &Device::Cpu, || panic!("must be read from disk"))
            .unwrap();
        for (a, b) in first.iter().zip(&again) {
            assert_eq!(a.to_vec3::<f32>().unwrap(), b.to_vec3::<f32>().unwrap());
        }
        assert_eq!(cache.stats().disk_hits, 1);
        assert!(cache.path_of(&k).unwrap().exists());
        assert!(dir.path().join(k.encoder_dir()).join("key.json").exists());
        // The encoder returning the wrong number of layers is an error, not a bad entry.
        let other = key("fp", &[1], &input);
        assert!(cache
            .get_or_compute(&other, &Device::Cpu, || Ok(states(2, 2, 4, 0.0)))
            .is_err());
    }
}
