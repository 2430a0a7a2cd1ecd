//! Hugging Face checkpoint folders: `config.json` plus `model.safetensors` or `pytorch_model.bin`.
//!
//! A [`Checkpoint`] is a folder that has been checked to hold a configuration and one weight file; its
//! [`WeightFile`] finds tensors by their **canonical** name, the HF name without the `bert.` prefix
//! (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, …). The one place
//! that maps stored names to canonical ones is [`canonical_name`]: it strips `bert.`, renames the
//! `LayerNorm.gamma`/`beta` of old TensorFlow-converted checkpoints, and drops what an encoder never
//! uses (task heads `cls.*`, `classifier.*`, `qa_outputs.*`, the `pooler.*` and `position_ids`).
//!
//! Safetensors files are memory-mapped and pickled PyTorch files are read tensor by tensor, so the
//! layers a truncated encoder does not keep are never read from disk.
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::BertConfig;
use crate::{Error, Result};

/// The name of the configuration file in a checkpoint folder.
pub const CONFIG_FILE: &str = "config.json";
/// The safetensors weight file name (preferred when both exist, as transformers does).
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// The pickled PyTorch weight file name.
pub const PYTORCH_FILE: &str = "pytorch_model.bin";

/// The on-disk format of a weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// `model.safetensors` (memory-mapped).
    Safetensors,
    /// `pytorch_model.bin` (a torch zip archive with a pickled state dict).
    PytorchBin,
}

/// A checkpoint folder whose configuration and weight file exist.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
    weights_path: PathBuf,
    format: WeightFormat,
}

impl Checkpoint {
    /// Checks that `dir` is a folder with `config.json` and `model.safetensors` or `pytorch_model.bin`
    /// (the former wins when both exist). Nothing is parsed yet.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                msg: "is not a folder (a checkpoint is a folder with config.json and model.safetensors or pytorch_model.bin)".to_string(),
            });
        }
        let config = dir.join(CONFIG_FILE);
        if !config.is_file() {
            return Err(Error::Checkpoint {
                path: config,
                msg: "the checkpoint folder has no config.json".to_string(),
            });
        }
        let safetensors = dir.join(SAFETENSORS_FILE);
        let pytorch = dir.join(PYTORCH_FILE);
        let (weights_path, format) = if safetensors.is_file() {
            (safetensors, WeightFormat::Safetensors)
        } else if pytorch.is_file() {
            (pytorch, WeightFormat::PytorchBin)
        } else {
            return Err(Error::Checkpoint {
                path: dir.to_path_buf(),
                msg: format!("no weight file: neither {SAFETENSORS_FILE} nor {PYTORCH_FILE} exists (sharded checkpoints are not supported)"),
            });
        };
        Ok(Checkpoint {
            dir: dir.to_path_buf(),
            weights_path,
            format,
        })
    }

    /// The checkpoint folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The weight file that will be read.
    pub fn weights_path(&self) -> &Path {
        &self.weights_path
    }

    /// Its format.
    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// The configuration, with `overrides` (keys of `config.json`) applied before validation.
    pub fn config(&self, overrides: &Map<String, Value>) -> Result<BertConfig> {
        BertConfig::from_file(&self.dir.join(CONFIG_FILE), overrides)
    }

    /// Opens the weight file (memory map or pickle index) and indexes its tensors by canonical name.
    pub fn weights(&self) -> Result<WeightFile> {
        let path = self.weights_path.clone();
        let corrupt = |e: candle_core::Error| Error::Checkpoint {
            path: path.clone(),
            msg: format!("cannot read the weight file, it may be truncated or corrupt: {e}"),
        };
        match self.format {
            WeightFormat::Safetensors => {
                // SAFETY: the map is read-only; like every reader of memory-mapped checkpoints we rely on
                // the file not being modified while the model is loaded.
                let st = unsafe { candle_core::safetensors::MmapedSafetensors::new(&path) }
                    .map_err(corrupt)?;
                let stored: Vec<String> = st.tensors().into_iter().map(|(name, _)| name).collect();
                Ok(WeightFile::index(
                    path.clone(),
                    Source::Safetensors(st),
                    stored,
                ))
            }
            WeightFormat::PytorchBin => {
                let pth = candle_core::pickle::PthTensors::new(&path, None).map_err(|e| {
                    Error::Checkpoint {
                        path: path.clone(),
                        msg: format!("cannot read the weight file, it may be truncated or corrupt, or saved by torch < 1.6 in the legacy non-zip format (convert it to model.safetensors): {e}"),
                    }
                })?;
                let stored: Vec<String> = pth.tensor_infos().keys().cloned().collect();
                if stored.is_empty() {
                    return Err(Error::Checkpoint {
                        path,
                        msg: "no tensors found: not a PyTorch state dict".to_string(),
                    });
                }
                Ok(WeightFile::index(path.clone(), Source::Pth(pth), stored))
            }
        }
    }

    /// A content fingerprint of the weight file, see [`weights_fingerprint`].
    pub fn weights_fingerprint(&self) -> Result<String> {
        weights_fingerprint(&self.weights_path)
    }

    /// The checkpoint's `BertPooler` as `(weight [H, H], bias [H])` in f32 on the CPU, stored as
    /// `pooler.dense.*` or `bert.pooler.dense.*` (the unprefixed name wins when both exist); `None` when
    /// the checkpoint has no pooler (e.g. a `BertForTokenClassification`). [`canonical_name`] keeps
    /// ignoring the pooler: encoders never read it, sequence classification heads start from it.
    pub fn pooler(&self) -> Result<Option<(Tensor, Tensor)>> {
        let weights = self.weights()?;
        let find = |suffix: &str| -> Result<Option<Tensor>> {
            for prefix in ["", "bert."] {
                let stored = format!("{prefix}pooler.dense.{suffix}");
                if let Some(t) = weights.get_stored(&stored)? {
                    return Ok(Some(t.to_dtype(DType::F32)?));
                }
            }
            Ok(None)
        };
        match (find("weight")?, find("bias")?) {
            (Some(w), Some(b)) => Ok(Some((w, b))),
            (None, None) => Ok(None),
            (w, _) => Err(Error::Checkpoint {
                path: self.weights_path.clone(),
                msg: format!(
                    "the pooler is incomplete: `pooler.dense.{}` is missing (looked for it with and without `bert.`)",
                    if w.is_some() { "bias" } else { "weight" }
                ),
            }),
        }
    }
}

/// The pooler of the checkpoint folder `dir` (see [`Checkpoint::pooler`]); `Ok(None)` when it has none.
pub fn read_pooler(dir: &Path) -> Result<Option<(Tensor, Tensor)>> {
    Checkpoint::open(dir)?.pooler()
}

/// The canonical name of a stored tensor, or `None` for tensors an encoder never uses.
///
/// This is the only place that knows about the `bert.` prefix (present in `BertFor*` checkpoints,
/// absent in `BertModel` ones), the TensorFlow-era `LayerNorm.gamma`/`LayerNorm.beta` names (renamed to
/// `weight`/`bias`, as transformers does on load), and the tensors that are ignored: task heads
/// (`cls.*`, `classifier.*`, `qa_outputs.*`), the pooler and the `position_ids` buffer.
pub fn canonical_name(stored: &str) -> Option<String> {
    let name = stored.strip_prefix("bert.").unwrap_or(stored);
    const IGNORED_PREFIXES: [&str; 4] = ["cls.", "classifier.", "qa_outputs.", "pooler."];
    if IGNORED_PREFIXES.iter().any(|p| name.starts_with(p)) || name.ends_with("position_ids") {
        return None;
    }
    let name = if let Some(base) = name.strip_suffix("LayerNorm.gamma") {
        format!("{base}LayerNorm.weight")
    } else if let Some(base) = name.strip_suffix("LayerNorm.beta") {
        format!("{base}LayerNorm.bias")
    } else {
        name.to_string()
    };
    Some(name)
}

enum Source {
    Safetensors(candle_core::safetensors::MmapedSafetensors),
    Pth(candle_core::pickle::PthTensors),
    Memory(HashMap<String, Tensor>),
}

/// The tensors of one weight file (or of an in-memory map), found by canonical name.
pub struct WeightFile {
    path: PathBuf,
    source: Source,
    /// canonical name → stored name
    names: HashMap<String, String>,
    /// Stored names that are not encoder weights (task heads, pooler, pre-training heads).
    ignored: Vec<String>,
}

impl std::fmt::Debug for WeightFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightFile")
            .field("path", &self.path)
            .field("tensors", &self.names.len())
            .finish()
    }
}

impl WeightFile {
    fn index(path: PathBuf, source: Source, stored: Vec<String>) -> Self {
        let mut names = HashMap::new();
        // Sort so that, should a file hold both `x` and `bert.x`, the choice does not depend on hash order:
        // the unprefixed name sorts first and wins.
        let mut stored = stored;
        stored.sort();
        let mut ignored = Vec::new();
        for s in stored {
            match canonical_name(&s) {
                Some(c) => {
                    names.entry(c).or_insert(s);
                }
                None if !s.ends_with("position_ids") => ignored.push(s),
                None => {}
            }
        }
        WeightFile {
            path,
            source,
            names,
            ignored,
        }
    }

    /// Tensors held in memory under HF names (with or without `bert.`), e.g. a randomly initialised
    /// model; `origin` is what errors call it.
    pub fn from_tensors(tensors: HashMap<String, Tensor>, origin: &str) -> Self {
        let stored: Vec<String> = tensors.keys().cloned().collect();
        Self::index(PathBuf::from(origin), Source::Memory(tensors), stored)
    }

    /// The file (or origin) the tensors come from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The canonical names of every tensor kept (sorted).
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.names.keys().cloned().collect();
        v.sort();
        v
    }

    /// The stored tensors an encoder does not read: task heads (`classifier.*`, `qa_outputs.*`), the
    /// pooler, pre-training heads (`cls.*`), sorted.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// Whether the canonical name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn stored(&self, name: &str) -> Result<&str> {
        self.names
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Error::Checkpoint {
                path: self.path.clone(),
                msg: format!("tensor `{name}` is missing (looked for `{name}` and `bert.{name}`): not a BERT checkpoint, or the configuration does not match it"),
            })
    }

    /// The stored shape of a tensor, without reading its data.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let stored = self.stored(name)?;
        match &self.source {
            Source::Safetensors(st) => st
                .get(stored)
                .map(|v| v.shape().to_vec())
                .map_err(|e| self.corrupt(stored, e)),
            Source::Pth(pth) => pth
                .tensor_infos()
                .get(stored)
                .map(|ti| ti.layout.dims().to_vec())
                .ok_or_else(|| self.corrupt(stored, "not indexed")),
            Source::Memory(m) => m
                .get(stored)
                .map(|t| t.dims().to_vec())
                .ok_or_else(|| self.corrupt(stored, "not in memory")),
        }
    }

    /// Reads tensor `name`, checks that it has `shape`, converts it to `dtype` on `device`.
    pub fn get(
        &self,
        name: &str,
        shape: &[usize],
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let found = self.shape(name)?;
        if found != shape {
            return Err(Error::Checkpoint {
                path: self.path.clone(),
                msg: format!(
                    "tensor `{name}` has shape {found:?}, the configuration expects {shape:?}"
                ),
            });
        }
        self.get_any_shape(name, dtype, device)
    }

    /// Reads tensor `name` whatever its shape (the caller checks), as `dtype` on `device`.
    pub fn get_any_shape(&self, name: &str, dtype: DType, device: &Device) -> Result<Tensor> {
        let stored = self.stored(name)?;
        let tensor = match &self.source {
            Source::Safetensors(st) => st
                .load(stored, device)
                .map_err(|e| self.corrupt(stored, e))?,
            Source::Pth(pth) => pth
                .get(stored)
                .map_err(|e| self.corrupt(stored, e))?
                .ok_or_else(|| self.corrupt(stored, "not indexed"))?
                .to_device(device)?,
            Source::Memory(m) => m
                .get(stored)
                .ok_or_else(|| self.corrupt(stored, "not in memory"))?
                .to_device(device)?,
        };
        Ok(tensor.to_dtype(dtype)?)
    }

    /// Reads a tensor by its stored name (not canonicalised; for the tensors [`canonical_name`] drops),
    /// on the CPU in its stored dtype; `None` when the file has no such tensor.
    fn get_stored(&self, stored: &str) -> Result<Option<Tensor>> {
        let device = Device::Cpu;
        Ok(match &self.source {
            Source::Safetensors(st) => {
                if st.get(stored).is_err() {
                    return Ok(None);
                }
                Some(
                    st.load(stored, &device)
                        .map_err(|e| self.corrupt(stored, e))?,
                )
            }
            Source::Pth(pth) => {
                if !pth.tensor_infos().contains_key(stored) {
                    return Ok(None);
                }
                pth.get(stored).map_err(|e| self.corrupt(stored, e))?
            }
            Source::Memory(m) => m.get(stored).cloned(),
        })
    }

    fn corrupt(&self, stored: &str, e: impl std::fmt::Display) -> Error {
        Error::Checkpoint {
            path: self.path.clone(),
            msg: format!(
                "cannot read tensor `{stored}` ({e}); the file may be truncated or corrupt"
            ),
        }
    }
}

/// The environment variable that names the fingerprint index file; set to the empty string, no index
/// is kept (every load hashes the file).
pub const FINGERPRINT_INDEX_ENV: &str = "REPROBE_FINGERPRINT_INDEX";

/// The tag of the fingerprint index format; an index with another tag is ignored (and replaced).
const INDEX_FORMAT: &str = "reprobe-fingerprints-v1";

/// A file whose mtime is this recent when it is hashed is not indexed: on a file system with coarse
/// timestamps, a second write within the same tick would leave size and mtime unchanged.
const SETTLE_NANOS: u128 = 2_000_000_000;

/// Where weight-file fingerprints are remembered: `$REPROBE_FINGERPRINT_INDEX` (the empty string: no
/// index), else `$XDG_CACHE_HOME/reprobe/fingerprints.json`, else `~/.cache/reprobe/fingerprints.json`;
/// `None` when there is no home folder. The index is per user, not per feature cache folder, because
/// a checkpoint is the same file whatever run or cache folder loads it.
pub fn fingerprint_index_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(FINGERPRINT_INDEX_ENV) {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(cache.join("reprobe").join("fingerprints.json"))
}

/// A weight file's fingerprint, and whether it came from the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsFingerprint {
    /// Lower-case hex SHA-256 of the whole file: what `sha256sum` prints, and the Hugging Face Hub's
    /// LFS object id of the file.
    pub sha256: String,
    /// `true` when read from the index (the file was not read), `false` when hashed now.
    pub from_index: bool,
}

/// The content fingerprint of a weight file, which the feature cache keys on: hex SHA-256 of the whole
/// file, so two files that differ in any byte differ. It is hashed once (streamed, about 0.3 s for
/// MiniLM's 90 MB) and remembered in the index of [`fingerprint_index_path`] by canonical path, size,
/// mtime and (on Unix) ctime; a file whose size or times changed is hashed again. See
/// [`weights_fingerprint_with`].
pub fn weights_fingerprint(path: &Path) -> Result<String> {
    Ok(weights_fingerprint_with(path, fingerprint_index_path().as_deref())?.sha256)
}

/// [`weights_fingerprint`] with the index file given (`None`: no index, always hash).
///
/// The index is a JSON file `{"format": "reprobe-fingerprints-v1", "files": {"<canonical path>":
/// {"size", "mtime_ns", "ctime_ns", "sha256"}}}`. An entry is used only when size and times are those
/// of the file now; it is written only when the file did not change while it was hashed and its mtime is
/// more than 2 s old (see `SETTLE_NANOS`), through a temporary file and a rename (readers never see a
/// partial index), dropping the entries of files that no longer exist. An index that cannot be read or
/// written is ignored: the file is then hashed on every load.
pub fn weights_fingerprint_with(path: &Path, index: Option<&Path>) -> Result<WeightsFingerprint> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let canonical = std::fs::canonicalize(path).map_err(io)?;
    let stamp = FileStamp::of(&canonical).map_err(io)?;
    // Non-UTF-8 paths are not indexed (the index keys are JSON strings).
    let key = canonical.to_str().map(str::to_string);
    if let (Some(index), Some(key), Some(stamp)) = (index, &key, &stamp) {
        if let Some(entry) = read_index(index).files.get(key) {
            if entry.stamp() == *stamp && is_sha256_hex(&entry.sha256) {
                return Ok(WeightsFingerprint {
                    sha256: entry.sha256.clone(),
                    from_index: true,
                });
            }
        }
    }
    let started = std::time::SystemTime::now();
    let sha256 = sha256_file(&canonical).map_err(io)?;
    if let (Some(index), Some(key), Some(stamp)) = (index, key, stamp) {
        let unchanged = FileStamp::of(&canonical).ok().flatten() == Some(stamp);
        let settled = started
            .duration_since(std::time::UNIX_EPOCH)
            .is_ok_and(|now| now.as_nanos() >= u128::from(stamp.mtime_ns) + SETTLE_NANOS);
        if unchanged && settled {
            // Best effort: without an index the fingerprint is still right, only slower next time.
            let _ = remember(index, key, stamp, &sha256);
        }
    }
    Ok(WeightsFingerprint {
        sha256,
        from_index: false,
    })
}

/// What tells a file's version apart without reading it: size, mtime and (Unix) ctime, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    size: u64,
    mtime_ns: u64,
    ctime_ns: u64,
}

impl FileStamp {
    /// `None` when the file system gives no usable mtime (then the file is not indexed).
    fn of(path: &Path) -> std::io::Result<Option<FileStamp>> {
        let meta = std::fs::metadata(path)?;
        let Ok(mtime) = meta.modified()?.duration_since(std::time::UNIX_EPOCH) else {
            return Ok(None);
        };
        #[cfg(unix)]
        let ctime_ns = {
            use std::os::unix::fs::MetadataExt;
            (meta.ctime() as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(meta.ctime_nsec() as u64)
        };
        #[cfg(not(unix))]
        let ctime_ns = 0;
        Ok(Some(FileStamp {
            size: meta.len(),
            mtime_ns: mtime.as_nanos() as u64,
            ctime_ns,
        }))
    }
}

/// The index file.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct FingerprintIndex {
    format: String,
    files: std::collections::BTreeMap<String, IndexEntry>,
}

/// One weight file of the index.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct IndexEntry {
    size: u64,
    mtime_ns: u64,
    ctime_ns: u64,
    sha256: String,
}

impl IndexEntry {
    fn stamp(&self) -> FileStamp {
        FileStamp {
            size: self.size,
            mtime_ns: self.mtime_ns,
            ctime_ns: self.ctime_ns,
        }
    }
}

/// The index at `path`; empty when absent, unreadable or of another format.
fn read_index(path: &Path) -> FingerprintIndex {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<FingerprintIndex>(&bytes).ok())
        .filter(|index| index.format == INDEX_FORMAT)
        .unwrap_or_default()
}

/// Adds (or replaces) the entry of `key` in the index at `path`, atomically.
fn remember(path: &Path, key: String, stamp: FileStamp, sha256: &str) -> std::io::Result<()> {
    static TMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut index = read_index(path);
    index.format = INDEX_FORMAT.to_string();
    index.files.retain(|file, _| Path::new(file).is_file());
    index.files.insert(
        key,
        IndexEntry {
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            ctime_ns: stamp.ctime_ns,
            sha256: sha256.to_string(),
        },
    );
    let text = serde_json::to_vec_pretty(&index).map_err(std::io::Error::other)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let n = TMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    let tmp = path.with_file_name(name);
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Hex SHA-256 of a whole file, read in 1 MiB blocks.
fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(
            canonical_name("bert.encoder.layer.3.output.dense.weight").as_deref(),
            Some("encoder.layer.3.output.dense.weight")
        );
        assert_eq!(
            canonical_name("embeddings.word_embeddings.weight").as_deref(),
            Some("embeddings.word_embeddings.weight")
        );
        assert_eq!(
            canonical_name("bert.embeddings.LayerNorm.gamma").as_deref(),
            Some("embeddings.LayerNorm.weight")
        );
        assert_eq!(
            canonical_name("encoder.layer.0.output.LayerNorm.beta").as_deref(),
            Some("encoder.layer.0.output.LayerNorm.bias")
        );
        for ignored in [
            "cls.predictions.bias",
            "classifier.weight",
            "qa_outputs.bias",
            "bert.pooler.dense.weight",
            "pooler.dense.bias",
            "bert.embeddings.position_ids",
            "embeddings.position_ids",
        ] {
            assert_eq!(canonical_name(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn pooler_is_read_with_or_without_the_prefix_and_none_when_absent() {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bert");
        let (w, b) = read_pooler(&fixtures.join("tiny")).unwrap().unwrap();
        assert_eq!((w.dims(), b.dims()), (&[32usize, 32][..], &[32usize][..]));
        assert_eq!(w.dtype(), DType::F32);
        assert!(read_pooler(&fixtures.join("tokcls")).unwrap().is_none());
        assert!(read_pooler(&fixtures.join("tokcls-bin")).unwrap().is_none());

        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixtures.join("tiny/config.json"),
            dir.path().join(CONFIG_FILE),
        )
        .unwrap();
        let mut tensors = HashMap::new();
        tensors.insert(
            "bert.pooler.dense.weight".to_string(),
            (w.clone() * 2.0).unwrap(),
        );
        tensors.insert("bert.pooler.dense.bias".to_string(), b.clone());
        candle_core::safetensors::save(&tensors, dir.path().join(SAFETENSORS_FILE)).unwrap();
        let (w2, _) = read_pooler(dir.path()).unwrap().unwrap();
        let diff = (w2 - (w * 2.0).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);

        tensors.remove("bert.pooler.dense.bias");
        candle_core::safetensors::save(&tensors, dir.path().join(SAFETENSORS_FILE)).unwrap();
        let err = read_pooler(dir.path()).unwrap_err().to_string();
        assert!(err.contains("pooler.dense.bias"), "{err}");
    }

    #[test]
    fn fingerprint_sees_every_byte_and_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.bin");
        let fingerprint = |path: &Path| weights_fingerprint_with(path, None).unwrap().sha256;
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let base = fingerprint(&path);
        assert_eq!(base.len(), 64);
        assert_eq!(base, fingerprint(&path));
        assert_eq!(base, hex(&Sha256::digest(&data)));
        // A change in the first MiB, anywhere in the middle, in the last MiB, or of the size.
        for pos in [10usize, 1_048_576 + 5, 1_048_576 + 100_000, data.len() - 3] {
            let mut d = data.clone();
            d[pos] ^= 1;
            std::fs::write(&path, &d).unwrap();
            assert_ne!(fingerprint(&path), base, "byte {pos}");
        }
        std::fs::write(&path, &data[..data.len() - 1]).unwrap();
        assert_ne!(fingerprint(&path), base);
        std::fs::write(&path, b"abc").unwrap();
        let small = fingerprint(&path);
        std::fs::write(&path, b"abd").unwrap();
        assert_ne!(fingerprint(&path), small);
    }

    #[test]
    fn folder_errors_name_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = Checkpoint::open(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nope") && err.contains("not a folder"),
            "{err}"
        );
        let err = Checkpoint::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let err = Checkpoint::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("model.safetensors") && err.contains("pytorch_model.bin"),
            "{err}"
        );
    }
}
