//! The configuration of a BERT encoder, read from a Hugging Face `config.json`.
//!
//! Field names are those of transformers' `BertConfig`
//! (<https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/configuration_bert.py>),
//! so a checkpoint's `config.json` deserialises unchanged; keys we do not use (`architectures`,
//! `transformers_version`, …) are ignored. Defaults are bert-base-uncased's, as in transformers.
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The activation of the intermediate (feed-forward) layer, transformers' `ACT2FN` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HiddenAct {
    /// Exact GELU, `x · Φ(x)` with the error function (transformers' `gelu`, BERT's default).
    Gelu,
    /// The tanh approximation of GELU (`gelu_new`, also `gelu_pytorch_tanh` and `gelu_fast`).
    #[serde(alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluNew,
    /// `x · sigmoid(1.702 x)`.
    QuickGelu,
    /// `max(0, x)`.
    Relu,
    /// `x · sigmoid(x)` (also `swish`).
    #[serde(alias = "swish")]
    Silu,
    /// `tanh(x)`.
    Tanh,
}

/// How positions are encoded. Only learned absolute positions are implemented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionEmbeddingType {
    /// Learned absolute position embeddings (BERT).
    Absolute,
    /// Shaw et al. relative keys: not implemented, rejected by [`BertConfig::validate`].
    RelativeKey,
    /// Huang et al. relative keys and queries: not implemented, rejected by [`BertConfig::validate`].
    RelativeKeyQuery,
}

/// A BERT architecture, with transformers' field names (`config.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BertConfig {
    /// Rows of the word embedding matrix (default 30522).
    pub vocab_size: usize,
    /// `H`, the width of every hidden state (default 768).
    pub hidden_size: usize,
    /// Number of transformer layers in the checkpoint (default 12).
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size` (default 12).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer (default 3072).
    pub intermediate_size: usize,
    /// Activation of the feed-forward layer (default `gelu`, the exact erf form).
    pub hidden_act: HiddenAct,
    /// Dropout after the embeddings and after each attention/feed-forward output (default 0.1).
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention probabilities (default 0.1).
    pub attention_probs_dropout_prob: f64,
    /// Rows of the position embedding matrix: the longest input (default 512).
    pub max_position_embeddings: usize,
    /// Rows of the token type embedding matrix (default 2); reprobe always uses type 0.
    pub type_vocab_size: usize,
    /// Standard deviation of the normal init of new weights (default 0.02), e.g. new vocabulary rows.
    pub initializer_range: f64,
    /// Epsilon of every LayerNorm (default 1e-12).
    pub layer_norm_eps: f64,
    /// Id of the padding token (default 0).
    pub pad_token_id: u32,
    /// Position encoding; only `absolute` is supported (default).
    pub position_embedding_type: PositionEmbeddingType,
    /// `model_type` of the checkpoint (`bert` for BERT); informative only.
    pub model_type: Option<String>,
}

impl Default for BertConfig {
    fn default() -> Self {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            position_embedding_type: PositionEmbeddingType::Absolute,
            model_type: Some("bert".to_string()),
        }
    }
}

impl BertConfig {
    /// Parses a `config.json` document after applying `overrides` (each key replaces the same top-level
    /// key of the file, as the reference's `pretrained_configs` entries do, SPEC §2.1); then validates.
    /// `origin` names the file in errors.
    pub fn from_json_value(
        mut json: Value,
        overrides: &Map<String, Value>,
        origin: &Path,
    ) -> Result<Self> {
        let Value::Object(map) = &mut json else {
            return Err(Error::Checkpoint {
                path: origin.to_path_buf(),
                msg: "the configuration is not a JSON object".to_string(),
            });
        };
        for (key, value) in overrides {
            map.insert(key.clone(), value.clone());
        }
        // Some checkpoints write `null` for optional keys (e.g. `position_embedding_type`): treat it as
        // absent so the default applies, as transformers does.
        map.retain(|_, v| !v.is_null());
        let config: BertConfig = serde_json::from_value(json).map_err(|e| Error::Checkpoint {
            path: origin.to_path_buf(),
            msg: format!("not a valid BERT configuration: {e}"),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and validates a `config.json` file, with `overrides` applied first.
    pub fn from_file(path: &Path, overrides: &Map<String, Value>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            msg: format!("not valid JSON: {e}"),
        })?;
        Self::from_json_value(json, overrides, path)
    }

    /// Checks the values a model can be built from; errors name the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: String| {
            Err(Error::Config {
                key: key.to_string(),
                msg,
            })
        };
        if self.position_embedding_type != PositionEmbeddingType::Absolute {
            return bad(
                "position_embedding_type",
                format!(
                    "{:?} is not supported; only \"absolute\" positions are implemented",
                    self.position_embedding_type
                ),
            );
        }
        for (key, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1".to_string());
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return bad(
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size {}",
                    self.num_attention_heads, self.hidden_size
                ),
            );
        }
        for (key, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return bad(key, format!("{p} is not a probability in [0, 1)"));
            }
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return bad(
                "layer_norm_eps",
                format!("{} must be > 0", self.layer_norm_eps),
            );
        }
        if self.initializer_range.is_nan() || self.initializer_range < 0.0 {
            return bad(
                "initializer_range",
                format!("{} must be >= 0", self.initializer_range),
            );
        }
        Ok(())
    }

    /// Width of one attention head, `hidden_size / num_attention_heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn minilm_style_config_parses_and_overrides_apply() {
        let json = json!({
            "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 384,
            "num_attention_heads": 12, "num_hidden_layers": 6, "intermediate_size": 1536,
            "position_embedding_type": "absolute", "transformers_version": "4.8.2", "vocab_size": 30522
        });
        let mut overrides = Map::new();
        overrides.insert("vocab_size".into(), json!(30600));
        overrides.insert("hidden_act".into(), json!("gelu_pytorch_tanh"));
        let c = BertConfig::from_json_value(json, &overrides, Path::new("config.json")).unwrap();
        assert_eq!(c.hidden_size, 384);
        assert_eq!(c.head_dim(), 32);
        assert_eq!(c.vocab_size, 30600);
        assert_eq!(c.hidden_act, HiddenAct::GeluNew);
        // Defaults for keys the file lacks.
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.max_position_embeddings, 512);
    }

    #[test]
    fn unsupported_values_name_the_key() {
        let err = BertConfig::from_json_value(
            json!({"position_embedding_type": "relative_key"}),
            &Map::new(),
            Path::new("c.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("position_embedding_type"), "{err}");
        let err = BertConfig::from_json_value(
            json!({"hidden_size": 100, "num_attention_heads": 12}),
            &Map::new(),
            Path::new("c.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("num_attention_heads"), "{err}");
        let err = BertConfig::from_json_value(
            json!({"hidden_act": "mish"}),
            &Map::new(),
            Path::new("dir/config.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dir/config.json") && err.contains("mish"),
            "{err}"
        );
        // A null is the default, as in transformers.
        let c = BertConfig::from_json_value(
            json!({"position_embedding_type": null}),
            &Map::new(),
            Path::new("c.json"),
        )
        .unwrap();
        assert_eq!(c.position_embedding_type, PositionEmbeddingType::Absolute);
    }
}
