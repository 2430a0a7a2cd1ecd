//! The encoder stack (SPEC §2.1, §2.2): M named encoders run on the same subtokens, their hidden
//! states combined by an aggregator.
//!
//! ```text
//! input_ids, mask [S, T] ─┬─► encoder "target" (frozen: feature cache) ─┐  layers the aggregator reads
//!                         ├─► encoder "mrpc"   (tuned: every step)       ─┼─► (L2 normalise) ─► aggregate ─► [S, T, D_out]
//!                         └─► ...                                          ┘        └─► cosine similarity to the target (diagnostics)
//! ```
//!
//! Configured as `[encoders.<id>]` tables ([`EncoderConfig`]), an explicit `encoder_order` (TOML tables
//! have no order once parsed; the first encoder is the target that gives the attention query), an
//! `[aggregate]` table ([`AggregateConfig`]), `normalize_embeddings`, `cossim_target`, the compat preset
//! and options ([`CompatPreset`], [`CompatOptions`]) and a `[cache]` table ([`CacheConfig`]).
//!
//! Deviations from the reference (SPEC §9.9, §9.10), each switchable by a compat option:
//! - frozen encoders run in evaluation mode (no dropout) and are computed once through the
//!   [`FeatureCache`]; `frozen_dropout` restores the reference's dropout in frozen encoders and then
//!   recomputes them in every training step;
//! - only the hidden states the aggregator reads are kept ([`EncoderStack::layer_indices`]);
//! - `normalize_embeddings` with n > 1 layers normalises each layer (the reference raises
//!   `NotImplementedError`);
//! - the cosine-similarity and attention-weight means ignore padding (`include_padding` restores them).
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, D};
use serde::{Deserialize, Serialize};

use super::bert::{BertEncoder, BertOptions, Tuning};
use super::Encoder;
use crate::aggregate::{
    cosine_similarity, l2_normalize, masked_mean, AggregateConfig, Aggregator, Compat,
    CompatOptions, CompatPreset,
};
use crate::cache::{CacheConfig, FeatureCache, FeatureKey};
use crate::params::ParamStore;
use crate::{Error, Result};

/// One encoder of the stack: `[encoders.<id>]` (SPEC §2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderConfig {
    /// A checkpoint folder (`config.json` + weights) or a Hugging Face model id. Required
    /// (SPEC §2.1 `pretrained_models`).
    pub checkpoint: String,
    /// Freeze the encoder: no gradient, evaluation mode, outputs cached. Default: false
    /// (SPEC §2.1 `freeze_models`; §9.9 for dropout).
    #[serde(default)]
    pub freeze: bool,
    /// Keep only the first k transformer layers. Default: unset = all (SPEC §2.1 `truncate_models`).
    #[serde(default)]
    pub truncate: Option<usize>,
    /// `config.json` keys to replace, e.g. `{ hidden_dropout_prob = 0.0 }`. Default: none
    /// (SPEC §2.1 `pretrained_configs`).
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Grow the word embeddings to this many rows (the RE encoder's 29,034). Default: unset = the
    /// checkpoint's (SPEC §2.1 `tokenizer_vocab_size`).
    #[serde(default)]
    pub vocab_size: Option<usize>,
}

/// The whole stack as configured (the run config can embed or flatten these fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StackConfig {
    /// The encoders by id. Default: none (at least one is required).
    pub encoders: BTreeMap<String, EncoderConfig>,
    /// The encoders in stack order, the first being the target (query) encoder (SPEC §2.1: "order
    /// matters"). Required with more than one encoder, because a parsed TOML table has no order.
    /// Default: empty.
    pub encoder_order: Vec<String>,
    /// How the encoders are combined (SPEC §2.3). Default: `mean`.
    pub aggregate: AggregateConfig,
    /// L2-normalise every hidden state the aggregator reads (SPEC §2.2). Default: false.
    pub normalize_embeddings: bool,
    /// Log the cosine similarity of this encoder's last hidden state with each other encoder's
    /// (SPEC §2.2 `cossim_target_embed_key`). Default: unset = none.
    pub cossim_target: Option<String>,
    /// `"none"` (every SPEC §9 item fixed) or `"reference"` (every compat option on). Default: none.
    pub compat: CompatPreset,
    /// Individual compat options, overriding the preset (see [`CompatOptions`]). Default: all unset.
    pub compat_options: CompatOptions,
    /// The frozen-feature cache. Default: see [`CacheConfig`].
    pub cache: CacheConfig,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            encoders: BTreeMap::new(),
            encoder_order: Vec::new(),
            aggregate: AggregateConfig::default(),
            normalize_embeddings: false,
            cossim_target: None,
            compat: CompatPreset::None,
            compat_options: CompatOptions::default(),
            cache: CacheConfig::default(),
        }
    }
}

impl StackConfig {
    /// The resolved compat switches.
    pub fn compat(&self) -> Compat {
        Compat::resolve(self.compat, &self.compat_options)
    }

    /// The encoder ids in stack order (validated: every encoder exactly once).
    pub fn order(&self) -> Result<Vec<String>> {
        let err = |msg: String| Error::Config {
            key: "encoder_order".to_string(),
            msg,
        };
        if self.encoders.is_empty() {
            return Err(Error::Config {
                key: "encoders".to_string(),
                msg: "at least one `[encoders.<id>]` table is needed".to_string(),
            });
        }
        if self.encoder_order.is_empty() {
            if self.encoders.len() == 1 {
                return Ok(self.encoders.keys().cloned().collect());
            }
            return Err(err(format!(
                "{} encoders but no order: list them with the target first, e.g. encoder_order = {:?}",
                self.encoders.len(),
                self.encoders.keys().collect::<Vec<_>>()
            )));
        }
        for (pos, id) in self.encoder_order.iter().enumerate() {
            if !self.encoders.contains_key(id) {
                return Err(err(format!("`{id}` has no `[encoders.{id}]` table")));
            }
            if self.encoder_order[..pos].contains(id) {
                return Err(err(format!("`{id}` is listed twice")));
            }
        }
        if let Some(missing) = self
            .encoders
            .keys()
            .find(|id| !self.encoder_order.contains(id))
        {
            return Err(err(format!("`{missing}` is configured but not listed")));
        }
        Ok(self.encoder_order.clone())
    }
}

/// A built encoder handed to [`EncoderStack::new`].
pub struct StackMember {
    /// Its id (`[encoders.<id>]`).
    pub id: String,
    /// The encoder (built with the config's truncation, vocabulary size and freezing).
    pub encoder: Box<dyn Encoder>,
    /// Rows of its word embeddings (after any growth), checked against the tokenizer.
    pub vocab_size: usize,
    /// The dtype of its hidden states (part of the cache key).
    pub dtype: DType,
}

impl std::fmt::Debug for StackMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackMember")
            .field("id", &self.id)
            .field("fingerprint", &self.encoder.fingerprint())
            .field("vocab_size", &self.vocab_size)
            .field("dtype", &self.dtype)
            .finish()
    }
}

struct Member {
    id: String,
    encoder: Box<dyn Encoder>,
    frozen: bool,
    truncate: Option<usize>,
    dtype: DType,
    layers: Vec<usize>,
}

/// What [`EncoderStack::forward_t`] returns.
#[derive(Debug, Clone)]
pub struct StackOutput {
    /// The combined token embeddings `[S, T, D_out]` (zero at padding unless `include_padding`).
    pub embeddings: Tensor,
    /// `"{target}/{id}"` → mean cosine similarity of the last hidden states over the real tokens
    /// (SPEC §2.2; §9.9). Empty without `cossim_target`.
    pub cossim: BTreeMap<String, f64>,
    /// Encoder id → its mean attention weight over the real tokens, for the per-epoch log
    /// (`attention` only, else empty).
    pub attention_weights: BTreeMap<String, f64>,
    /// The attention weights `[S, T, M]` (`attention` only).
    pub attention: Option<Tensor>,
}

/// M encoders, the aggregator and the feature cache.
pub struct EncoderStack {
    members: Vec<Member>,
    aggregator: Box<dyn Aggregator>,
    normalize: bool,
    cossim_target: Option<usize>,
    compat: Compat,
    aggregate_dtype: DType,
    device: Device,
    hidden_size: usize,
    cache: Option<Arc<FeatureCache>>,
}

impl std::fmt::Debug for EncoderStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncoderStack")
            .field(
                "encoders",
                &self.members.iter().map(|m| &m.id).collect::<Vec<_>>(),
            )
            .field("aggregator", &self.aggregator)
            .field("compat", &self.compat)
            .finish()
    }
}

impl EncoderStack {
    /// Assembles a stack from built encoders (any order; they are arranged by `cfg.encoder_order`).
    ///
    /// Checks that the members are exactly the configured encoders, that every encoder's vocabulary
    /// holds the shared tokenizer's `tokenizer_vocab_size` ids, that all have the same hidden size and
    /// enough layers for the aggregator; builds the aggregator (parameters in `params` under
    /// `aggregate.`) and, when some encoder is frozen and `cfg.cache.enabled`, the feature cache.
    pub fn new(
        cfg: &StackConfig,
        members: Vec<StackMember>,
        tokenizer_vocab_size: usize,
        params: &ParamStore,
    ) -> Result<Self> {
        let order = cfg.order()?;
        let compat = cfg.compat();
        let mut by_id: BTreeMap<String, StackMember> = BTreeMap::new();
        for member in members {
            if !cfg.encoders.contains_key(&member.id) {
                return Err(Error::Config {
                    key: format!("encoders.{}", member.id),
                    msg: "an encoder was built for an id that is not configured".to_string(),
                });
            }
            by_id.insert(member.id.clone(), member);
        }
        let mut arranged = Vec::with_capacity(order.len());
        let mut hidden: Option<(String, usize)> = None;
        for id in &order {
            let member = by_id.remove(id).ok_or_else(|| Error::Config {
                key: format!("encoders.{id}"),
                msg: "configured but no encoder was built for it".to_string(),
            })?;
            let cfg_member = &cfg.encoders[id];
            if member.vocab_size < tokenizer_vocab_size {
                return Err(Error::Config {
                    key: format!("encoders.{id}.vocab_size"),
                    msg: format!(
                        "encoder `{id}` has {} word embeddings but the tokenizer has {tokenizer_vocab_size} ids; \
                         set encoders.{id}.vocab_size = {tokenizer_vocab_size} to grow it",
                        member.vocab_size
                    ),
                });
            }
            let h = member.encoder.hidden_size();
            match &hidden {
                Some((first, first_h)) if *first_h != h => {
                    return Err(Error::Config {
                        key: format!("encoders.{id}"),
                        msg: format!("hidden size {h} differs from encoder `{first}`'s {first_h}"),
                    })
                }
                None => hidden = Some((id.clone(), h)),
                _ => {}
            }
            let layers = cfg
                .aggregate
                .layer_indices(id, member.encoder.num_layers(), &compat)?;
            arranged.push(Member {
                id: id.clone(),
                encoder: member.encoder,
                frozen: cfg_member.freeze,
                truncate: cfg_member.truncate,
                dtype: member.dtype,
                layers,
            });
        }
        let hidden_size = hidden.map(|(_, h)| h).unwrap_or(0);
        let cossim_target =
            match &cfg.cossim_target {
                None => None,
                Some(target) => Some(order.iter().position(|id| id == target).ok_or_else(
                    || Error::Config {
                        key: "cossim_target".to_string(),
                        msg: format!("`{target}` is not one of the encoders {order:?}"),
                    },
                )?),
            };
        let aggregator = cfg.aggregate.build(&order, hidden_size, &compat, params)?;
        let cache = if cfg.cache.enabled && arranged.iter().any(|m| m.frozen) {
            Some(Arc::new(FeatureCache::new(&cfg.cache)?))
        } else {
            None
        };
        Ok(EncoderStack {
            members: arranged,
            aggregator,
            normalize: cfg.normalize_embeddings,
            cossim_target,
            compat,
            aggregate_dtype: params.dtype(),
            device: params.device().clone(),
            hidden_size,
            cache,
        })
    }

    /// Loads every configured encoder as a [`BertEncoder`] and assembles the stack ([`EncoderStack::new`]).
    ///
    /// Each `checkpoint` resolves as in [`BertEncoder::from_pretrained`] (local folder, Hugging Face
    /// cache, hub); `truncate`, `config` and `vocab_size` go to the loader. A frozen encoder holds plain
    /// tensors; a tuned one registers its weights in `params` as `encoders.{id}.{HF name}`. Encoders run
    /// in `encoder_dtype` on `params.device()`; their dropout masks come from `params.rng()` itself (one
    /// shared stream, drawn in a fixed order), so restoring that stream on resume restores the masks too.
    pub fn load(
        cfg: &StackConfig,
        tokenizer_vocab_size: usize,
        params: &ParamStore,
        encoder_dtype: DType,
    ) -> Result<Self> {
        let order = cfg.order()?;
        let mut members = Vec::with_capacity(order.len());
        for id in &order {
            let enc = &cfg.encoders[id];
            let tuning = if enc.freeze {
                Tuning::Frozen
            } else {
                Tuning::Tuned {
                    params: params.clone(),
                    prefix: format!("encoders.{id}."),
                }
            };
            let options = BertOptions {
                truncate: enc.truncate,
                dtype: encoder_dtype,
                device: params.device().clone(),
                config_overrides: enc.config.clone(),
                vocab_size: enc.vocab_size,
                tuning,
                rng: params.rng().clone(),
            };
            // The loader's errors name the checkpoint (path or model id) and the tensor or key at fault.
            let encoder = BertEncoder::from_pretrained(&enc.checkpoint, &options)?;
            members.push(StackMember {
                id: id.clone(),
                vocab_size: encoder.vocab_size(),
                dtype: encoder_dtype,
                encoder: Box::new(encoder),
            });
        }
        EncoderStack::new(cfg, members, tokenizer_vocab_size, params)
    }

    /// Replaces the feature cache (e.g. one shared by several stacks, or none).
    pub fn with_cache(mut self, cache: Option<Arc<FeatureCache>>) -> Self {
        self.cache = cache;
        self
    }

    /// The encoder ids in stack order.
    pub fn ids(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.id.as_str()).collect()
    }

    /// Per encoder (stack order), the hidden-state indices the aggregator reads (0 = embedding output),
    /// computed once at construction; these are what the cache stores.
    pub fn layer_indices(&self) -> Vec<(&str, &[usize])> {
        self.members
            .iter()
            .map(|m| (m.id.as_str(), m.layers.as_slice()))
            .collect()
    }

    /// `H`, the encoders' common width.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// `D_out`, the width of [`StackOutput::embeddings`] (what a head is built for).
    pub fn output_size(&self) -> usize {
        self.aggregator.output_size()
    }

    /// The resolved compat switches.
    pub fn compat(&self) -> &Compat {
        &self.compat
    }

    /// Whether the train loop must put the `aggregate.` parameters into the encoders' optimiser group
    /// (SPEC §9.5 compat) instead of a group of their own.
    pub fn aggregator_in_encoder_group(&self) -> bool {
        self.compat.aggregator_in_encoder_group
    }

    /// The feature cache, if any.
    pub fn cache(&self) -> Option<&FeatureCache> {
        self.cache.as_deref()
    }

    /// The encoder `id` as a [`BertEncoder`] (e.g. to export it with [`crate::export::export_hf`]);
    /// `None` when there is no such encoder or it is not a BERT.
    pub fn bert_encoder(&self, id: &str) -> Option<&BertEncoder> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| m.encoder.as_bert())
    }

    /// One line of cache statistics for the run log (`None` without a cache).
    pub fn cache_summary(&self) -> Option<String> {
        self.cache.as_ref().map(|c| c.summary())
    }

    /// Runs every encoder, then the aggregator.
    ///
    /// `doc_key` names the document for the feature cache: frozen encoders are read from / written to the
    /// cache only when it is given (pass `None` for one-off inputs). With `train`, tuned encoders use
    /// dropout; frozen ones do too only with the `frozen_dropout` compat option, and are then recomputed.
    ///
    /// Hidden states are brought to the device and dtype of the aggregator's `ParamStore` (cached ones
    /// are loaded there directly); the mask may stay on the CPU.
    ///
    /// # Shapes
    /// - `input_ids`: `[S, T]` (u32); `attention_mask`: `[S, T]` (1 = token, 0 = padding)
    /// - output: `embeddings` `[S, T, D_out]`, `attention` `[S, T, M]`
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        doc_key: Option<&str>,
        train: bool,
    ) -> Result<StackOutput> {
        self.forward_typed(input_ids, None, attention_mask, doc_key, train)
    }

    /// [`EncoderStack::forward_t`] with segment ids (`token_type_ids` `[S, T]`, sentence pairs); `None`
    /// is segment 0 everywhere. Cached features are keyed on the segment ids too.
    pub fn forward_typed(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        attention_mask: &Tensor,
        doc_key: Option<&str>,
        train: bool,
    ) -> Result<StackOutput> {
        let (s, t) = input_ids.dims2()?;
        if attention_mask.dims() != [s, t] {
            return Err(Error::Config {
                key: "attention_mask".to_string(),
                msg: format!(
                    "shape {:?} differs from input_ids' [{s}, {t}]",
                    attention_mask.dims()
                ),
            });
        }
        let mask = attention_mask.to_device(&self.device)?; // [S, T]
        let mut inputs = Vec::with_capacity(self.members.len()); // M × n × [S, T, H]
        for member in &self.members {
            let states = self.member_states(
                member,
                input_ids,
                token_type_ids,
                attention_mask,
                doc_key,
                train,
            )?;
            let mut prepared = Vec::with_capacity(states.len());
            for state in states {
                let state = state
                    .to_device(&self.device)?
                    .to_dtype(self.aggregate_dtype)?; // [S, T, H]
                prepared.push(if self.normalize {
                    l2_normalize(&state)?
                } else {
                    state
                });
            }
            inputs.push(prepared);
        }

        let mut cossim = BTreeMap::new();
        if let Some(target) = self.cossim_target {
            let target_last = inputs[target]
                .last()
                .cloned()
                .ok_or_else(|| no_states(&self.members[target].id))?;
            for (pos, member) in self.members.iter().enumerate() {
                if pos == target {
                    continue;
                }
                let last = inputs[pos].last().ok_or_else(|| no_states(&member.id))?;
                let per_token = cosine_similarity(&target_last, last)?; // [S, T]
                let mean = masked_mean(&per_token, &mask, self.compat.include_padding)?;
                cossim.insert(format!("{}/{}", self.members[target].id, member.id), mean);
            }
        }

        let output = self.aggregator.forward(&inputs, &mask)?;
        let mut attention_weights = BTreeMap::new();
        if let Some(weights) = &output.attention {
            for (pos, member) in self.members.iter().enumerate() {
                let weight = weights.narrow(D::Minus1, pos, 1)?.squeeze(D::Minus1)?; // [S, T]
                let mean = masked_mean(&weight, &mask, self.compat.include_padding)?;
                attention_weights.insert(member.id.clone(), mean);
            }
        }
        Ok(StackOutput {
            embeddings: output.embeddings,
            cossim,
            attention_weights,
            attention: output.attention,
        })
    }

    /// The hidden states one encoder contributes: computed, or read from the cache.
    ///
    /// # Shapes
    /// - output: `layers.len()` tensors `[S, T, H]`
    fn member_states(
        &self,
        member: &Member,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        attention_mask: &Tensor,
        doc_key: Option<&str>,
        train: bool,
    ) -> Result<Vec<Tensor>> {
        let compute = |encoder_train: bool| -> Result<Vec<Tensor>> {
            let all = member.encoder.forward_typed(
                input_ids,
                token_type_ids,
                attention_mask,
                encoder_train,
            )?; // (L+1) × [S, T, H]
            let expected = member.encoder.num_layers() + 1;
            if all.len() != expected {
                return Err(Error::Config {
                    key: format!("encoders.{}", member.id),
                    msg: format!(
                        "the encoder returned {} hidden states, expected {expected}",
                        all.len()
                    ),
                });
            }
            Ok(member.layers.iter().map(|&i| all[i].clone()).collect())
        };
        if !member.frozen {
            return compute(train);
        }
        // SPEC §9.9: the reference keeps dropout on in frozen encoders while training.
        let frozen_train = train && self.compat.frozen_dropout;
        let states = match (&self.cache, doc_key) {
            (Some(cache), Some(_)) if !frozen_train => {
                // Segment ids change the features: they enter the key as `id + type · 2²⁴` (ids of any
                // real vocabulary are below 2²⁴), keeping the key's shape that of the hidden states.
                let keyed_ids = match token_type_ids {
                    Some(types) => Cow::Owned(typed_key_ids(input_ids, types)?), // [S, T]
                    None => Cow::Borrowed(input_ids),
                };
                let key = FeatureKey::new(
                    member.encoder.fingerprint(),
                    member.truncate,
                    &member.layers,
                    member.dtype,
                    &keyed_ids,
                    attention_mask,
                )?;
                cache.get_or_compute(&key, &self.device, || compute(false))?
            }
            (Some(cache), Some(_)) => {
                cache.note_bypass();
                compute(true)?
            }
            _ => compute(frozen_train)?,
        };
        Ok(states.iter().map(|s| s.detach()).collect())
    }
}

/// Token ids with their segment ids folded in (`id + type · 2²⁴`), for feature cache keys. `[S, T]` u32
fn typed_key_ids(input_ids: &Tensor, token_type_ids: &Tensor) -> Result<Tensor> {
    let dims = input_ids.dims().to_vec();
    let ids = input_ids
        .to_dtype(DType::U32)?
        .flatten_all()?
        .to_vec1::<u32>()?;
    let types = token_type_ids
        .to_dtype(DType::U32)?
        .flatten_all()?
        .to_vec1::<u32>()?;
    if ids.len() != types.len() {
        return Err(Error::Config {
            key: "token_type_ids".to_string(),
            msg: format!(
                "shape {:?} differs from input_ids' {dims:?}",
                token_type_ids.dims()
            ),
        });
    }
    let keyed: Vec<u32> = ids
        .iter()
        .zip(&types)
        .map(|(&id, &t)| id.wrapping_add(t.wrapping_shl(24)))
        .collect();
    Ok(Tensor::from_vec(keyed, dims, &candle_core::Device::Cpu)?)
}

fn no_states(id: &str) -> Error {
    Error::Config {
        key: format!("encoders.{id}"),
        msg: "no hidden state for this encoder".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::ModelRng;
    use candle_core::Device;

    /// Hidden state `l` of token id `x` at feature `h`: `x + 10·l + 0.1·h` (H = 2, L = 2).
    struct Affine {
        fingerprint: String,
    }

    impl Encoder for Affine {
        fn forward_t(
            &self,
            input_ids: &Tensor,
            _mask: &Tensor,
            _train: bool,
        ) -> Result<Vec<Tensor>> {
            let ids = input_ids.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?; // [S, T, 1]
            let feature = Tensor::new(&[0.0f32, 0.1], input_ids.device())?; // [H]
            (0..=2)
                .map(|l| Ok(((ids.broadcast_add(&feature))? + 10.0 * l as f64)?))
                .collect()
        }
        fn hidden_size(&self) -> usize {
            2
        }
        fn num_layers(&self) -> usize {
            2
        }
        fn fingerprint(&self) -> &str {
            &self.fingerprint
        }
    }

    fn member(id: &str, vocab: usize) -> StackMember {
        StackMember {
            id: id.to_string(),
            encoder: Box::new(Affine {
                fingerprint: format!("affine-{id}"),
            }),
            vocab_size: vocab,
            dtype: DType::F32,
        }
    }

    fn config(ids: &[&str]) -> StackConfig {
        let mut cfg = StackConfig::default();
        for id in ids {
            cfg.encoders.insert(
                id.to_string(),
                EncoderConfig {
                    checkpoint: format!("models/{id}"),
                    freeze: false,
                    truncate: None,
                    config: Default::default(),
                    vocab_size: None,
                },
            );
        }
        cfg.encoder_order = ids.iter().map(|s| s.to_string()).collect();
        cfg
    }

    fn params() -> ParamStore {
        ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu)
    }

    #[test]
    fn toml_config_of_a_paper_setting() {
        let text = r#"
            encoder_order = ["target", "mrpc"]
            cossim_target = "target"
            compat = "reference"

            [encoders.target]
            checkpoint = "models/pretrained/bert-base-cased-coref-hoi"
            freeze = true

            [encoders.mrpc]
            checkpoint = "bert-base-cased-finetuned-mrpc"
            freeze = true
            truncate = 9
            config = { hidden_dropout_prob = 0.0 }

            [aggregate]
            kind = "attention"
            reuse_target_query_as_key = false
            mode_query = "constant"
            mode_keys = "token"

            [compat_options]
            frozen_dropout = false

            [cache]
            dir = "/tmp/features"
            memory_mb = 512
        "#;
        let cfg: StackConfig = toml::from_str(text).unwrap();
        assert_eq!(cfg.order().unwrap(), ["target", "mrpc"]);
        assert_eq!(cfg.encoders["mrpc"].truncate, Some(9));
        assert_eq!(
            cfg.encoders["mrpc"].config["hidden_dropout_prob"],
            serde_json::json!(0.0)
        );
        let compat = cfg.compat();
        assert!(
            compat.hidden_size_raised
                && compat.aggregator_in_encoder_group
                && !compat.frozen_dropout
        );
        let AggregateConfig::Attention(attn) = &cfg.aggregate else {
            panic!("{:?}", cfg.aggregate);
        };
        assert_eq!(attn.mode_keys, Some(crate::aggregate::AttentionMode::Token));
        assert_eq!(cfg.cache.memory_mb, 512);
        assert!(cfg.cache.disk && cfg.cache.enabled);

        for typo in [
            "[aggregate]\nkind = \"attention\"\nhiden_size = 3",
            "[encoders.a]\ncheckpont = \"x\"",
            "[compat_options]\nfrozen_drop = true",
            "compat = \"paper\"",
            "[cache]\nmemory = 3",
        ] {
            assert!(toml::from_str::<StackConfig>(typo).is_err(), "{typo}");
        }
    }

    #[test]
    fn order_is_required_and_validated() {
        let mut cfg = config(&["target", "mrpc"]);
        assert_eq!(cfg.order().unwrap(), ["target", "mrpc"]);
        cfg.encoder_order.clear();
        assert!(cfg
            .order()
            .unwrap_err()
            .to_string()
            .contains("encoder_order"));
        cfg.encoder_order = vec!["target".into(), "target".into()];
        assert!(cfg.order().unwrap_err().to_string().contains("twice"));
        cfg.encoder_order = vec!["target".into()];
        assert!(cfg
            .order()
            .unwrap_err()
            .to_string()
            .contains("`mrpc` is configured"));
        let single = config(&["bert"]);
        let mut single = single;
        single.encoder_order.clear();
        assert_eq!(single.order().unwrap(), ["bert"]);
    }

    #[test]
    fn vocabulary_mismatch_names_both_sizes() {
        let cfg = config(&["target", "re"]);
        let err = EncoderStack::new(
            &cfg,
            vec![member("target", 29034), member("re", 28996)],
            29034,
            &params(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("encoders.re.vocab_size")
                && err.contains("28996")
                && err.contains("29034"),
            "{err}"
        );
    }

    #[test]
    fn mean_of_two_encoders_in_configured_order() {
        let mut cfg = config(&["b", "a"]);
        cfg.cossim_target = Some("b".into());
        // Members handed over in another order: the config's order rules.
        let stack =
            EncoderStack::new(&cfg, vec![member("a", 10), member("b", 10)], 10, &params()).unwrap();
        assert_eq!(stack.ids(), ["b", "a"]);
        assert_eq!(
            stack.layer_indices(),
            vec![("b", &[2usize][..]), ("a", &[2usize][..])]
        );
        let ids = Tensor::new(&[[3u32, 4, 0]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu).unwrap();
        let out = stack.forward_t(&ids, &mask, None, false).unwrap();
        // Layer 2 of id x: [x + 20, x + 20.1]; both encoders agree, so the mean is the same.
        let emb = out.embeddings.to_vec3::<f32>().unwrap();
        assert_eq!(emb[0][0], vec![23.0, 23.1]);
        assert_eq!(emb[0][1], vec![24.0, 24.1]);
        assert_eq!(emb[0][2], vec![0.0, 0.0], "padding is zero");
        assert!((out.cossim["b/a"] - 1.0).abs() < 1e-6);
        assert!(out.attention_weights.is_empty());
        assert!(stack.cache().is_none(), "nothing frozen, nothing cached");
    }

    #[test]
    fn unknown_cossim_target_and_hidden_mismatch_are_errors() {
        let mut cfg = config(&["a"]);
        cfg.cossim_target = Some("z".into());
        assert!(EncoderStack::new(&cfg, vec![member("a", 5)], 5, &params())
            .unwrap_err()
            .to_string()
            .contains("cossim_target"));
        let cfg = config(&["a"]);
        assert!(EncoderStack::new(&cfg, vec![member("b", 5)], 5, &params()).is_err());
    }

    #[test]
    fn segment_ids_enter_the_cache_key_without_changing_its_shape() {
        let ids = Tensor::new(&[[2u32, 7, 3], [2, 9, 3]], &Device::Cpu).unwrap();
        let zeros = ids.zeros_like().unwrap();
        let types = Tensor::new(&[[0u32, 1, 1], [0, 0, 1]], &Device::Cpu).unwrap();
        let plain = typed_key_ids(&ids, &zeros).unwrap();
        assert_eq!(
            plain.to_vec2::<u32>().unwrap(),
            ids.to_vec2::<u32>().unwrap()
        );
        let keyed = typed_key_ids(&ids, &types).unwrap();
        assert_eq!(keyed.dims(), ids.dims());
        assert_eq!(
            keyed.to_vec2::<u32>().unwrap(),
            vec![
                vec![2, 7 + (1 << 24), 3 + (1 << 24)],
                vec![2, 9, 3 + (1 << 24)]
            ]
        );
    }
}
