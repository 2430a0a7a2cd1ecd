//! Writes a (tuned) BERT encoder, optionally with a task head, as a Hugging Face model folder that
//! `transformers` loads with no missing or unexpected keys and that computes the same outputs.
//!
//! ```text
//! out/
//!   config.json          BertConfig + model_type "bert", architectures, id2label/label2id,
//!                        num_hidden_layers = kept layers, vocab_size = rows of the word embeddings
//!   model.safetensors    f32, HF names: `bert.` prefix for BertFor*, none for BertModel
//!   tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json   (those that exist)
//! ```
//!
//! | [`ExportHead`] | `architectures` | tensors besides the encoder's |
//! |---|---|---|
//! | `BaseModel` | `BertModel` | `pooler.dense.*` (given, or freshly initialised) |
//! | `TokenClassification` | `BertForTokenClassification` | `classifier.*` (no pooler: `add_pooling_layer=False`) |
//! | `SequenceClassification` | `BertForSequenceClassification` | `bert.pooler.dense.*`, `classifier.*` |
//! | `QuestionAnswering` | `BertForQuestionAnswering` | `qa_outputs.*` (no pooler: `add_pooling_layer=False`) |
//!
//! The folder is written under a temporary sibling name and renamed into place at the end, so an
//! interrupted export leaves no half-written model under `out`.
//!
//! ```no_run
//! # fn main() -> reprobe_models::Result<()> {
//! use std::path::Path;
//! use reprobe_models::encoders::{BertEncoder, BertOptions, Checkpoint};
//! use reprobe_models::export::{export_hf, ExportHead};
//!
//! let dir = Path::new("models/all-MiniLM-L6-v2");
//! let checkpoint = Checkpoint::open(dir)?;
//! let encoder = BertEncoder::load(&checkpoint, &BertOptions::default())?;
//! let head = ExportHead::BaseModel { pooler: checkpoint.pooler()? };
//! export_hf(Path::new("exported/minilm"), &encoder, head, dir)?;
//! # Ok(())
//! # }
//! ```
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::{json, Map, Value};

use crate::encoders::checkpoint::{CONFIG_FILE, SAFETENSORS_FILE};
use crate::encoders::{BertEncoder, Encoder};
use crate::rng::ModelRng;
use crate::{Error, Result};

/// The tokenizer files copied next to the model, when they exist in the tokenizer folder.
pub const TOKENIZER_FILES: [&str; 4] = [
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
];

/// What to write on top of the encoder. Tensors are `(weight, bias)` in any dtype and device.
#[derive(Debug, Clone)]
pub enum ExportHead {
    /// A bare `BertModel`. transformers' `BertModel` always has a pooler, so one is always written:
    /// `pooler` when given (e.g. the original checkpoint's, [`crate::encoders::Checkpoint::pooler`]),
    /// otherwise a freshly initialised one as transformers' `_init_weights` makes it (weight
    /// N(0, `initializer_range`²) from a fixed seed, bias 0): the hidden states are the encoder's either
    /// way, only `pooler_output` is then meaningless.
    BaseModel {
        /// `(weight [H, H], bias [H])`, or `None` for a fresh pooler.
        pooler: Option<(Tensor, Tensor)>,
    },
    /// `BertForTokenClassification`: the encoder, then `classifier` on every token.
    TokenClassification {
        /// `(weight [L, H], bias [L])`, e.g. [`crate::heads::TokenClassificationHead::classifier`].
        classifier: (Tensor, Tensor),
        /// The name of each label id, `[L]`, unique.
        id2label: Vec<String>,
    },
    /// `BertForSequenceClassification`: the encoder, the pooler on `[CLS]`, then `classifier`.
    ///
    /// The pooler is required: `BertForSequenceClassification` always applies it, so a head trained
    /// without one (`pooler = false`) cannot be exported as this architecture with the same outputs.
    SequenceClassification {
        /// `(weight [H, H], bias [H])`, e.g. [`crate::heads::SequenceClassificationHead::pooler`].
        pooler: (Tensor, Tensor),
        /// `(weight [L, H], bias [L])`, e.g. [`crate::heads::SequenceClassificationHead::classifier`].
        classifier: (Tensor, Tensor),
        /// The name of each label id, `[L]`, unique.
        id2label: Vec<String>,
    },
    /// `BertForQuestionAnswering`: the encoder, then `qa_outputs` on every token (start and end logits).
    QuestionAnswering {
        /// `(weight [2, H], bias [2])`, e.g. [`crate::heads::QuestionAnsweringHead::qa_outputs`].
        qa_outputs: (Tensor, Tensor),
    },
}

impl ExportHead {
    /// The transformers class written to `architectures`.
    pub fn architecture(&self) -> &'static str {
        match self {
            ExportHead::BaseModel { .. } => "BertModel",
            ExportHead::TokenClassification { .. } => "BertForTokenClassification",
            ExportHead::SequenceClassification { .. } => "BertForSequenceClassification",
            ExportHead::QuestionAnswering { .. } => "BertForQuestionAnswering",
        }
    }
}

/// Writes `encoder` and `head` to the new folder `out` as a Hugging Face model (see the module doc),
/// with the tokenizer files found in `tokenizer_dir`.
///
/// `out` must not exist or be an empty folder; its parent is created if needed. Errors name the tensor
/// or file at fault: a head whose shapes do not fit the encoder, labels that are not unique or do not
/// match the classifier, a tokenizer folder without any of [`TOKENIZER_FILES`].
pub fn export_hf(
    out: &Path,
    encoder: &BertEncoder,
    head: ExportHead,
    tokenizer_dir: &Path,
) -> Result<()> {
    export_hf_with_tokens(out, encoder, head, tokenizer_dir, &[])
}

/// [`export_hf`] for a tokenizer with added special tokens `(token, id)` (the entity markers of relation
/// classification, [`crate::encoders::vocab`]): they go into the copied `tokenizer.json` (`added_tokens`)
/// and `tokenizer_config.json` (`added_tokens_decoder`, written when the folder has none), so that
/// transformers' tokenizer has them as single special tokens with the same ids. Every id must be a row of
/// the encoder's word embeddings.
pub fn export_hf_with_tokens(
    out: &Path,
    encoder: &BertEncoder,
    head: ExportHead,
    tokenizer_dir: &Path,
    added_tokens: &[(String, u32)],
) -> Result<()> {
    let fail = |msg: String| Error::Export {
        path: out.to_path_buf(),
        msg,
    };
    if out.exists() {
        let empty = out.is_dir()
            && std::fs::read_dir(out)
                .map_err(|source| Error::Io {
                    path: out.to_path_buf(),
                    source,
                })?
                .next()
                .is_none();
        if !empty {
            return Err(fail(
                "the destination exists and is not an empty folder; choose a new folder or remove it"
                    .to_string(),
            ));
        }
    }
    let tokenizer_files: Vec<PathBuf> = TOKENIZER_FILES
        .iter()
        .map(|name| tokenizer_dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    if tokenizer_files.is_empty() {
        return Err(fail(format!(
            "no tokenizer files in {} (looked for {})",
            tokenizer_dir.display(),
            TOKENIZER_FILES.join(", ")
        )));
    }

    if let Some((token, id)) = added_tokens
        .iter()
        .find(|(_, id)| *id as usize >= encoder.vocab_size())
    {
        return Err(fail(format!(
            "the added token {token} has id {id}, but the encoder has {} word embeddings",
            encoder.vocab_size()
        )));
    }
    let config = config_json(encoder, &head).map_err(&fail)?;
    let tensors = tensors(encoder, &head).map_err(|e| match e {
        Error::Input { what, msg } => fail(format!("`{what}`: {msg}")),
        other => other,
    })?;

    let name = out
        .file_name()
        .ok_or_else(|| fail("the destination has no folder name".to_string()))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| Error::Io {
        path: parent.clone(),
        source,
    })?;
    let tmp = parent.join(format!(
        ".{}.export-tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if tmp.exists() {
        remove_tmp(&tmp)?;
    }
    let written = write_folder(&tmp, &config, &tensors, &tokenizer_files)
        .and_then(|()| add_tokens_to_tokenizer_files(&tmp, added_tokens))
        .and_then(|()| {
            if out.exists() {
                // An empty folder (checked above): replace it.
                std::fs::remove_dir(out).map_err(|source| Error::Io {
                    path: out.to_path_buf(),
                    source,
                })?;
            }
            std::fs::rename(&tmp, out).map_err(|source| Error::Io {
                path: out.to_path_buf(),
                source,
            })
        });
    if written.is_err() && tmp.exists() {
        // Best effort: the first error is the one worth reporting.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

fn remove_tmp(tmp: &Path) -> Result<()> {
    std::fs::remove_dir_all(tmp).map_err(|source| Error::Io {
        path: tmp.to_path_buf(),
        source,
    })
}

/// Writes every file into the (new) folder `dir`.
fn write_folder(
    dir: &Path,
    config: &Value,
    tensors: &[(String, Tensor)],
    tokenizer_files: &[PathBuf],
) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir(dir).map_err(io(dir))?;
    let config_path = dir.join(CONFIG_FILE);
    let text = serde_json::to_string_pretty(config).map_err(|e| Error::Export {
        path: config_path.clone(),
        msg: e.to_string(),
    })?;
    std::fs::write(&config_path, text + "\n").map_err(io(&config_path))?;
    write_safetensors(&dir.join(SAFETENSORS_FILE), tensors)?;
    for src in tokenizer_files {
        if let Some(file_name) = src.file_name() {
            std::fs::copy(src, dir.join(file_name)).map_err(io(src))?;
        }
    }
    Ok(())
}

/// Writes `added` into the tokenizer files of the new folder `dir` (see [`export_hf_with_tokens`]).
fn add_tokens_to_tokenizer_files(dir: &Path, added: &[(String, u32)]) -> Result<()> {
    if added.is_empty() {
        return Ok(());
    }
    let entry = |token: &str| {
        json!({"content": token, "single_word": false, "lstrip": false, "rstrip": false,
               "normalized": false, "special": true})
    };
    let edit = |name: &str, change: &dyn Fn(&mut Map<String, Value>)| -> Result<()> {
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name != "tokenizer.json" => {
                "{}".to_string()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let mut value: Value = serde_json::from_str(&text).map_err(|e| Error::Export {
            path: path.clone(),
            msg: format!("not valid JSON: {e}"),
        })?;
        let Some(object) = value.as_object_mut() else {
            return Err(Error::Export {
                path,
                msg: "not a JSON object".to_string(),
            });
        };
        change(object);
        let text = serde_json::to_string_pretty(&value).map_err(|e| Error::Export {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        // The copy keeps the source's permissions, maybe read-only: replace the file.
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, text + "\n").map_err(|source| Error::Io { path, source })
    };
    edit("tokenizer.json", &|object| {
        let list = object.entry("added_tokens").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            for (token, id) in added {
                if !list.iter().any(|t| t["content"] == json!(token)) {
                    let mut e = entry(token);
                    e["id"] = json!(id);
                    list.push(e);
                }
            }
        }
    })?;
    edit("tokenizer_config.json", &|object| {
        let decoder = object
            .entry("added_tokens_decoder")
            .or_insert_with(|| json!({}));
        if let Some(decoder) = decoder.as_object_mut() {
            for (token, id) in added {
                decoder.insert(id.to_string(), entry(token));
            }
        }
    })
}

/// transformers' `config.json` for the encoder and head.
fn config_json(encoder: &BertEncoder, head: &ExportHead) -> std::result::Result<Value, String> {
    let mut config = match serde_json::to_value(encoder.config()) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err("the encoder configuration is not a JSON object".to_string()),
        Err(e) => return Err(format!("cannot serialise the encoder configuration: {e}")),
    };
    config.insert("model_type".into(), json!("bert"));
    config.insert("architectures".into(), json!([head.architecture()]));
    config.insert("num_hidden_layers".into(), json!(encoder.num_layers()));
    config.insert("vocab_size".into(), json!(encoder.vocab_size()));
    config.insert("dtype".into(), json!("float32"));
    let labels = match head {
        ExportHead::BaseModel { .. } | ExportHead::QuestionAnswering { .. } => None,
        ExportHead::TokenClassification { id2label, .. } => Some(id2label),
        ExportHead::SequenceClassification { id2label, .. } => {
            config.insert("problem_type".into(), json!("single_label_classification"));
            Some(id2label)
        }
    };
    if let Some(id2label) = labels {
        let mut ids = Map::new();
        let mut by_label: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, label) in id2label.iter().enumerate() {
            if let Some(first) = by_label.insert(label, id) {
                return Err(format!(
                    "label `{label}` is the name of ids {first} and {id}; id2label must be unique"
                ));
            }
            ids.insert(id.to_string(), json!(label));
        }
        let label2id: Map<String, Value> = id2label
            .iter()
            .enumerate()
            .map(|(id, label)| (label.clone(), json!(id)))
            .collect();
        config.insert("id2label".into(), Value::Object(ids));
        config.insert("label2id".into(), Value::Object(label2id));
    }
    Ok(Value::Object(config))
}

/// Every tensor of the exported model under its transformers name, checked against the encoder.
fn tensors(encoder: &BertEncoder, head: &ExportHead) -> Result<Vec<(String, Tensor)>> {
    let h = encoder.config().hidden_size;
    let prefix = match head {
        ExportHead::BaseModel { .. } => "",
        _ => "bert.",
    };
    let mut out: Vec<(String, Tensor)> = encoder
        .named_weights()?
        .into_iter()
        .map(|(name, t)| (format!("{prefix}{name}"), t))
        .collect();
    let mut linear = |name: &str, (w, b): &(Tensor, Tensor), rows: usize| -> Result<()> {
        for (what, t, shape) in [("weight", w, vec![rows, h]), ("bias", b, vec![rows])] {
            if t.dims() != shape.as_slice() {
                return Err(Error::Input {
                    what: format!("{name}.{what}"),
                    msg: format!(
                        "shape {:?}, the encoder (hidden size {h}) needs {shape:?}",
                        t.dims()
                    ),
                });
            }
            out.push((format!("{name}.{what}"), t.clone()));
        }
        Ok(())
    };
    match head {
        ExportHead::BaseModel { pooler } => {
            let pooler = match pooler {
                Some(p) => p.clone(),
                None => fresh_pooler(h, encoder.config().initializer_range)?,
            };
            linear("pooler.dense", &pooler, h)?;
        }
        ExportHead::TokenClassification {
            classifier,
            id2label,
        } => {
            check_labels(id2label)?;
            linear("classifier", classifier, id2label.len())?;
        }
        ExportHead::SequenceClassification {
            pooler,
            classifier,
            id2label,
        } => {
            check_labels(id2label)?;
            linear("bert.pooler.dense", pooler, h)?;
            linear("classifier", classifier, id2label.len())?;
        }
        ExportHead::QuestionAnswering { qa_outputs } => linear("qa_outputs", qa_outputs, 2)?,
    }
    Ok(out)
}

fn check_labels(id2label: &[String]) -> Result<()> {
    if id2label.is_empty() {
        return Err(Error::Input {
            what: "id2label".to_string(),
            msg: "at least one label is needed".to_string(),
        });
    }
    Ok(())
}

/// A pooler as transformers' `_init_weights` makes it, from a fixed seed (exports repeat exactly).
fn fresh_pooler(h: usize, std: f64) -> Result<(Tensor, Tensor)> {
    let rng = ModelRng::new(0);
    let w = rng.normal((h, h), 0.0, std, DType::F32, &Device::Cpu)?; // [H, H]
    let b = Tensor::zeros(h, DType::F32, &Device::Cpu)?; // [H]
    Ok((w, b))
}

/// One f32 tensor, little-endian bytes, for the `safetensors` writer.
struct F32Bytes {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl safetensors::View for &F32Bytes {
    fn dtype(&self) -> safetensors::Dtype {
        safetensors::Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `tensors` in f32 with the metadata `{"format": "pt"}` that `save_pretrained` writes (older
/// transformers refuse a safetensors file without it).
fn write_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut views: Vec<(String, F32Bytes)> = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let values: Vec<f32> = t
            .to_dtype(DType::F32)?
            .to_device(&Device::Cpu)?
            .flatten_all()?
            .to_vec1()?;
        views.push((
            name.clone(),
            F32Bytes {
                shape: t.dims().to_vec(),
                bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            },
        ));
    }
    let metadata: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    safetensors::serialize_to_file(
        views.iter().map(|(name, view)| (name.as_str(), view)),
        Some(metadata),
        path,
    )
    .map_err(|e| Error::Export {
        path: path.to_path_buf(),
        msg: format!("cannot write the weights: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::{BertConfig, BertOptions};

    fn tiny() -> BertEncoder {
        let cfg = BertConfig {
            vocab_size: 30,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 12,
            max_position_embeddings: 16,
            ..BertConfig::default()
        };
        BertEncoder::random(&cfg, &BertOptions::default()).unwrap()
    }

    #[test]
    fn refuses_non_empty_destinations_bad_heads_and_missing_tokenizers() {
        let dir = tempfile::tempdir().unwrap();
        let tok = dir.path().join("tok");
        std::fs::create_dir(&tok).unwrap();
        let enc = tiny();
        let base = || ExportHead::BaseModel { pooler: None };
        let out = dir.path().join("out");
        let err = export_hf(&out, &enc, base(), &tok).unwrap_err().to_string();
        assert!(err.contains("no tokenizer files"), "{err}");
        std::fs::write(tok.join("vocab.txt"), "[PAD]\n").unwrap();

        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("x"), "").unwrap();
        let err = export_hf(&out, &enc, base(), &tok).unwrap_err().to_string();
        assert!(err.contains("not an empty folder"), "{err}");

        let out2 = dir.path().join("out2");
        let w = Tensor::zeros((3, 7), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let labels: Vec<String> = ["O", "B-X", "I-X"].map(String::from).to_vec();
        let head = ExportHead::TokenClassification {
            classifier: (w, b.clone()),
            id2label: labels,
        };
        let err = export_hf(&out2, &enc, head, &tok).unwrap_err().to_string();
        assert!(
            err.contains("classifier.weight") && err.contains("[3, 8]"),
            "{err}"
        );
        let w = Tensor::zeros((3, 8), DType::F32, &Device::Cpu).unwrap();
        let head = ExportHead::TokenClassification {
            classifier: (w, b),
            id2label: ["O", "X", "O"].map(String::from).to_vec(),
        };
        let err = export_hf(&out2, &enc, head, &tok).unwrap_err().to_string();
        assert!(err.contains("`O`") && err.contains("unique"), "{err}");
        assert!(!out2.exists());
        // Nothing temporary is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("export-tmp")), "{names:?}");
    }

    #[test]
    fn base_model_folder_has_config_weights_and_tokenizer() {
        let dir = tempfile::tempdir().unwrap();
        let tok = dir.path().join("tok");
        std::fs::create_dir(&tok).unwrap();
        std::fs::write(tok.join("vocab.txt"), "[PAD]\n").unwrap();
        std::fs::write(tok.join("tokenizer_config.json"), "{}").unwrap();
        let out = dir.path().join("nested/out");
        std::fs::create_dir_all(&out).unwrap(); // an empty folder is fine
        export_hf(&out, &tiny(), ExportHead::BaseModel { pooler: None }, &tok).unwrap();
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["architectures"], json!(["BertModel"]));
        assert_eq!(config["model_type"], json!("bert"));
        assert_eq!(config["num_hidden_layers"], json!(2));
        assert!(config.get("id2label").is_none());
        assert!(out.join("vocab.txt").is_file() && out.join("tokenizer_config.json").is_file());
        assert!(!out.join("tokenizer.json").exists());
        let st =
            candle_core::safetensors::load(out.join("model.safetensors"), &Device::Cpu).unwrap();
        assert_eq!(st.len(), 5 + 2 * 16 + 2);
        assert_eq!(st["pooler.dense.weight"].dims(), &[8, 8]);
        assert_eq!(st["encoder.layer.1.output.LayerNorm.bias"].dims(), &[8]);
    }
}
