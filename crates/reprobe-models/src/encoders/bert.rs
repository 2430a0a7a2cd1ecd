//! BERT (Devlin et al., 2019, <https://arxiv.org/abs/1810.04805>) as transformers' `BertModel`, returning
//! every hidden state, with real dropout in training.
//!
//! Mirrors `modeling_bert.py` of transformers
//! (<https://github.com/huggingface/transformers/blob/main/src/transformers/models/bert/modeling_bert.py>):
//! `BertEmbeddings` (word + position + token type 0, LayerNorm, dropout), then `BertLayer`s (self-attention
//! with an additive padding mask on the keys and dropout on the attention probabilities; output dense,
//! dropout, residual LayerNorm; intermediate activation; output dense, dropout, residual LayerNorm). The
//! pooler is not built. The struct tree is the checkpoint's name tree (SPEC §2.1, §2.2).
//!
//! Differences from the reference, all deliberate:
//! - The attention runs one segment at a time on strided views of Q, K and V (no copies on CPU), with Q
//!   scaled by `1/sqrt(d_head)` before the product instead of the scores after it: the same numbers up to
//!   f32 rounding (checked against transformers within 1e-5).
//! - Softmax and LayerNorm are computed in f32 whatever the model dtype (numerically safe bf16/f16).
//! - On CPU, candle 0.11 has no bf16 matrix product: bf16 matmuls are computed in f32 and rounded back
//!   (weights and activations stay bf16 between operations). On CUDA they run in bf16.
//! - The exact GELU is computed with a fast f32 approximation of `erf` on CPU (error ≤ 1e-7·|x|,
//!   see `ops/gelu.rs`).
//! - When no gradient is needed (a frozen encoder, or evaluation) f32 LayerNorm and softmax use candle's
//!   fused kernels. A tuned encoder in training runs in f32 on CPU on the fused kernels of `crate::ops`
//!   (linear + GELU + dropout, LayerNorm + dropout, the whole attention with its dropout, each with a
//!   hand-written backward pass), elsewhere on differentiable two-pass versions built from candle ops. The
//!   dropout masks are drawn in the same order on every path.
use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{DType, Device, IndexOp, Tensor, D};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::checkpoint::{hex, Checkpoint, WeightFile};
use super::config::{BertConfig, HiddenAct};
use super::hub;
use super::Encoder;
use crate::dropout::Dropout;
use crate::ops;
use crate::params::ParamStore;
use crate::rng::ModelRng;
use crate::{Error, Result};

/// Whether an encoder learns.
#[derive(Debug, Clone, Default)]
pub enum Tuning {
    /// Plain tensors, no gradient: the paper's frozen encoders (`freeze_models`, SPEC §2.1).
    #[default]
    Frozen,
    /// Every weight becomes a trainable `Var` in `params`, named `{prefix}{canonical HF name}`, e.g.
    /// `encoders.target.encoder.layer.0.attention.self.query.weight`.
    Tuned {
        /// The store the weights are registered in.
        params: ParamStore,
        /// The name prefix, usually `encoders.{id}.`.
        prefix: String,
    },
}

/// How to build a [`BertEncoder`].
#[derive(Debug, Clone)]
pub struct BertOptions {
    /// Keep only the first `k` layers (SPEC §2.1 `truncate_models`); the others are never read.
    /// `None` keeps all.
    pub truncate: Option<usize>,
    /// Weights and activations dtype (default f32; bf16 and f16 are accepted).
    pub dtype: DType,
    /// Where the model runs (default CPU).
    pub device: Device,
    /// `config.json` keys replaced before the model is built (the reference's `pretrained_configs`).
    pub config_overrides: Map<String, Value>,
    /// Grow the word embeddings to this many rows, as `resize_token_embeddings` (SPEC §2.1
    /// `tokenizer_vocab_size`); see [`BertEncoder::load`] for the initialisation of the new rows.
    pub vocab_size: Option<usize>,
    /// Frozen or tuned.
    pub tuning: Tuning,
    /// The random stream of the dropout masks (and of new vocabulary rows). Clones of a `ModelRng`
    /// share one stream, so two encoders built from clones of the same options draw different masks.
    pub rng: ModelRng,
}

impl Default for BertOptions {
    fn default() -> Self {
        BertOptions {
            truncate: None,
            dtype: DType::F32,
            device: Device::Cpu,
            config_overrides: Map::new(),
            vocab_size: None,
            tuning: Tuning::Frozen,
            rng: ModelRng::new(0),
        }
    }
}

/// How a forward pass computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// No gradient: candle's fused forward kernels (frozen encoders, evaluation).
    Inference,
    /// Gradients through candle's composed ops (dtypes other than f32, devices other than the CPU).
    Composed,
    /// Gradients through the fused f32 CPU kernels of `crate::ops`.
    Fused,
}

impl Path {
    /// Whether the composed ops must carry gradients (candle's fused forward kernels have no backward).
    fn differentiable(self) -> bool {
        self != Path::Inference
    }
}

/// A linear layer `y = x Wᵀ + b` with a `[out, in]` weight, as `torch.nn.Linear`.
#[derive(Debug, Clone)]
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// # Shapes
    /// - `xs`: `[..., in]`, contiguous; output `[..., out]`
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let dims = xs.dims().to_vec();
        let (in_dim, lead) = match dims.split_last() {
            Some((&in_dim, lead)) => (in_dim, lead.to_vec()),
            None => return Err(candle_core::Error::Msg("linear on a scalar".into()).into()),
        };
        let rows: usize = lead.iter().product();
        let out_dim = self.weight.dim(0)?;
        let xs2 = xs.reshape((rows, in_dim))?; // [R, in]
        let ys = matmul(&xs2, &self.weight.t()?)?.broadcast_add(&self.bias)?; // [R, out]
        let mut out_shape = lead;
        out_shape.push(out_dim);
        Ok(ys.reshape(out_shape)?)
    }

    /// `mask ∘ act(x Wᵀ + b)` as one fused node (f32 on CPU), `act` the exact GELU when `gelu` is set,
    /// `mask` dropout multipliers.
    ///
    /// # Shapes
    /// - `xs`: `[..., in]`; `mask`: one value per output; output `[..., out]`
    fn fused(&self, xs: &Tensor, gelu: bool, mask: Option<Vec<f32>>) -> Result<Tensor> {
        ops::linear(xs, &self.weight, &self.bias, gelu, mask)
    }
}

/// A matrix product that also works for bf16 on CPU (candle's CPU gemm has no bf16 kernel: computed in
/// f32 and rounded back).
fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype() == DType::BF16 && a.device().is_cpu() {
        let c = a.to_dtype(DType::F32)?.matmul(&b.to_dtype(DType::F32)?)?;
        return Ok(c.to_dtype(DType::BF16)?);
    }
    Ok(a.matmul(b)?)
}

/// LayerNorm over the last dimension, computed in f32.
#[derive(Debug, Clone)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// `differentiable`: two-pass composed ops that carry gradients; otherwise candle's fused kernel
    /// (f32 inputs only; other dtypes always take the composed path).
    ///
    /// # Shapes
    /// - `xs`: `[..., H]`; output: same
    fn forward(&self, xs: &Tensor, differentiable: bool) -> Result<Tensor> {
        let dtype = xs.dtype();
        if !differentiable && dtype == DType::F32 {
            return Ok(candle_nn::ops::layer_norm(
                xs,
                &self.weight,
                &self.bias,
                self.eps as f32,
            )?);
        }
        let x = xs.to_dtype(DType::F32)?;
        let mean = x.mean_keepdim(D::Minus1)?; // [..., 1]
        let centred = x.broadcast_sub(&mean)?; // [..., H]
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?; // [..., 1]
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?; // [..., H]
        let w = self.weight.to_dtype(DType::F32)?;
        let b = self.bias.to_dtype(DType::F32)?;
        Ok(normed
            .broadcast_mul(&w)?
            .broadcast_add(&b)?
            .to_dtype(dtype)?)
    }

    /// `mask ∘ LayerNorm(xs)` as one fused node (f32 on CPU), `mask` dropout multipliers.
    ///
    /// # Shapes
    /// - `xs`: `[..., H]`; `mask`: one value per element; output: as `xs`
    fn fused(&self, xs: &Tensor, mask: Option<Vec<f32>>) -> Result<Tensor> {
        ops::layer_norm(xs, &self.weight, &self.bias, self.eps, mask)
    }
}

/// Softmax over the last dimension in f32, returned in `dtype`.
fn softmax_f32(scores: &Tensor, differentiable: bool, dtype: DType) -> Result<Tensor> {
    let scores = scores.to_dtype(DType::F32)?;
    let probs = if differentiable {
        candle_nn::ops::softmax(&scores, D::Minus1)?
    } else {
        candle_nn::ops::softmax_last_dim(&scores)?
    };
    Ok(probs.to_dtype(dtype)?)
}

fn activation(act: HiddenAct, xs: &Tensor) -> Result<Tensor> {
    Ok(match act {
        HiddenAct::Gelu => ops::gelu_erf(xs)?,
        HiddenAct::GeluNew => xs.gelu()?,
        HiddenAct::QuickGelu => (xs * candle_nn::ops::sigmoid(&(xs * 1.702)?)?)?,
        HiddenAct::Relu => xs.relu()?,
        HiddenAct::Silu => xs.silu()?,
        HiddenAct::Tanh => xs.tanh()?,
    })
}

/// Where weights come from and where they go (plain tensors or `Var`s in a store).
struct Loader<'a> {
    weights: &'a WeightFile,
    dtype: DType,
    device: &'a Device,
    tuning: &'a Tuning,
}

impl Loader<'_> {
    fn register(&self, name: &str, tensor: Tensor) -> Result<Tensor> {
        match self.tuning {
            Tuning::Frozen => Ok(tensor),
            Tuning::Tuned { params, prefix } => params.insert(&format!("{prefix}{name}"), &tensor),
        }
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self.weights.get(name, shape, self.dtype, self.device)?;
        self.register(name, t)
    }

    fn linear(&self, name: &str, in_dim: usize, out_dim: usize) -> Result<Linear> {
        Ok(Linear {
            weight: self.tensor(&format!("{name}.weight"), &[out_dim, in_dim])?,
            bias: self.tensor(&format!("{name}.bias"), &[out_dim])?,
        })
    }

    fn layer_norm(&self, name: &str, dim: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: self.tensor(&format!("{name}.weight"), &[dim])?,
            bias: self.tensor(&format!("{name}.bias"), &[dim])?,
            eps,
        })
    }
}

/// `BertEmbeddings`: word + absolute position + token type 0, LayerNorm, dropout.
#[derive(Debug, Clone)]
struct Embeddings {
    word_embeddings: Tensor,       // [V, H]
    position_embeddings: Tensor,   // [P, H]
    token_type_embeddings: Tensor, // [2, H]
    layer_norm: LayerNorm,
    dropout: Dropout,
}

impl Embeddings {
    /// # Shapes
    /// - `input_ids`: `[B, T]` u32; `token_type_ids`: `[B, T]` u32 (`None`: type 0 everywhere);
    ///   output `[B, T, H]`
    fn forward(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        train: bool,
        path: Path,
    ) -> Result<Tensor> {
        let (b, t) = input_ids.dims2()?;
        let h = self.word_embeddings.dim(1)?;
        let words = self
            .word_embeddings
            .index_select(&input_ids.flatten_all()?, 0)? // [B·T, H]
            .reshape((b, t, h))?; // [B, T, H]
        let positions = self.position_embeddings.narrow(0, 0, t)?; // [T, H]
        let emb = match token_type_ids {
            None => {
                let token_type = self.token_type_embeddings.narrow(0, 0, 1)?; // [1, H] (type 0 everywhere)
                let pos_type = positions.broadcast_add(&token_type)?; // [T, H]
                words.broadcast_add(&pos_type)? // [B, T, H]
            }
            Some(types) => {
                let types = self
                    .token_type_embeddings
                    .index_select(&types.flatten_all()?, 0)? // [B·T, H]
                    .reshape((b, t, h))?; // [B, T, H]
                (words + types)?.broadcast_add(&positions)? // [B, T, H]
            }
        };
        if path == Path::Fused {
            let mask = self.dropout.mask_values(emb.elem_count(), train);
            return self.layer_norm.fused(&emb, mask);
        }
        let emb = self.layer_norm.forward(&emb, path.differentiable())?;
        self.dropout.forward_t(&emb, train)
    }
}

/// `BertSelfAttention` + `BertSelfOutput`.
#[derive(Debug, Clone)]
struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    layer_norm: LayerNorm,
    num_heads: usize,
    head_dim: usize,
    probs_dropout: Dropout,
    hidden_dropout: Dropout,
}

impl Attention {
    /// # Shapes
    /// - `hidden`: `[B, T, H]`
    /// - `mask_bias`: `[B, 1, T]` f32, 0 on tokens and a large negative value on padded keys
    /// - output: `[B, T, H]`
    fn forward(
        &self,
        hidden: &Tensor,
        mask_bias: &Tensor,
        train: bool,
        differentiable: bool,
    ) -> Result<Tensor> {
        let (b, t, h) = hidden.dims3()?;
        let (nh, dh) = (self.num_heads, self.head_dim);
        let scale = 1.0 / (dh as f64).sqrt();
        let query = (self.query.forward(hidden)? * scale)?; // [B, T, H], pre-scaled
        let key = self.key.forward(hidden)?; // [B, T, H]
        let value = self.value.forward(hidden)?; // [B, T, H]
        let on_cpu = hidden.device().is_cpu();
        // Heads as strided views: [T, H] -> [T, nh, dh] -> [nh, T, dh]. candle's CPU gemm takes any row
        // and column strides, so no copy is made; other backends want contiguous operands.
        let heads = |x: &Tensor, seg: usize| -> Result<Tensor> {
            let v = x.i(seg)?.reshape((t, nh, dh))?.transpose(0, 1)?; // [nh, T, dh]
            Ok(if on_cpu { v } else { v.contiguous()? })
        };
        let mut contexts = Vec::with_capacity(b);
        for seg in 0..b {
            let q = heads(&query, seg)?; // [nh, T, dh]
            let k = heads(&key, seg)?; // [nh, T, dh]
            let v = heads(&value, seg)?; // [nh, T, dh]
            let scores = matmul(&q, &k.t()?)?; // [nh, T, T]
            let scores = scores
                .to_dtype(DType::F32)?
                .broadcast_add(&mask_bias.i(seg)?.unsqueeze(0)?)?; // [nh, T, T] + [1, 1, T]
            let probs = softmax_f32(&scores, differentiable, hidden.dtype())?; // [nh, T, T]
            let probs = self.probs_dropout.forward_t(&probs, train)?;
            let context = matmul(&probs, &v)?; // [nh, T, dh]
            contexts.push(context.transpose(0, 1)?.reshape((t, h))?); // [T, H] (the one copy)
        }
        let context = Tensor::stack(&contexts, 0)?; // [B, T, H]
        let out = self.output.forward(&context)?; // [B, T, H]
        let out = self.hidden_dropout.forward_t(&out, train)?;
        self.layer_norm.forward(&(out + hidden)?, differentiable)
    }

    /// [`Attention::forward`] on the fused kernels (f32 on CPU, gradients included).
    ///
    /// # Shapes
    /// - `hidden`: `[B, T, H]`; `key_bias`: `B · T` values, 0 on tokens and a large negative value on
    ///   padded keys; output `[B, T, H]`
    fn forward_fused(
        &self,
        hidden: &Tensor,
        key_bias: &Arc<Vec<f32>>,
        train: bool,
    ) -> Result<Tensor> {
        let (b, t, _) = hidden.dims3()?;
        let query = self.query.fused(hidden, false, None)?; // [B, T, H]
        let key = self.key.fused(hidden, false, None)?; // [B, T, H]
        let value = self.value.fused(hidden, false, None)?; // [B, T, H]
        let probs_mask = self
            .probs_dropout
            .mask_values(b * self.num_heads * t * t, train); // [B, nh, T, T]
        let context = ops::attention(
            &query,
            &key,
            &value,
            self.num_heads,
            key_bias.clone(),
            probs_mask,
        )?; // [B, T, H]
        let mask = self.hidden_dropout.mask_values(hidden.elem_count(), train);
        let out = self.output.fused(&context, false, mask)?; // [B, T, H]
        self.layer_norm.fused(&(out + hidden)?, None)
    }
}

/// `BertLayer`: attention, then `BertIntermediate` and `BertOutput`.
#[derive(Debug, Clone)]
struct Layer {
    attention: Attention,
    intermediate: Linear,
    act: HiddenAct,
    output: Linear,
    layer_norm: LayerNorm,
    hidden_dropout: Dropout,
}

impl Layer {
    /// # Shapes
    /// - `hidden`: `[B, T, H]`, `mask_bias`: `[B, 1, T]`; output `[B, T, H]`
    fn forward(
        &self,
        hidden: &Tensor,
        mask_bias: &Tensor,
        train: bool,
        differentiable: bool,
    ) -> Result<Tensor> {
        let attn = self
            .attention
            .forward(hidden, mask_bias, train, differentiable)?; // [B, T, H]
        let inter = activation(self.act, &self.intermediate.forward(&attn)?)?; // [B, T, I]
        let out = self.output.forward(&inter)?; // [B, T, H]
        let out = self.hidden_dropout.forward_t(&out, train)?;
        self.layer_norm.forward(&(out + attn)?, differentiable)
    }

    /// [`Layer::forward`] on the fused kernels (f32 on CPU, gradients included); `key_bias` as
    /// [`Attention::forward_fused`] takes it.
    fn forward_fused(
        &self,
        hidden: &Tensor,
        key_bias: &Arc<Vec<f32>>,
        train: bool,
    ) -> Result<Tensor> {
        let attn = self.attention.forward_fused(hidden, key_bias, train)?; // [B, T, H]
        let inter = match self.act {
            HiddenAct::Gelu => self.intermediate.fused(&attn, true, None)?,
            act => activation(act, &self.intermediate.fused(&attn, false, None)?)?,
        }; // [B, T, I]
        let mask = self.hidden_dropout.mask_values(attn.elem_count(), train);
        let out = self.output.fused(&inter, false, mask)?; // [B, T, H]
        self.layer_norm.fused(&(out + attn)?, None)
    }
}

/// A BERT encoder that returns every hidden state (index 0 = embeddings), frozen or tuned.
#[derive(Debug, Clone)]
pub struct BertEncoder {
    config: BertConfig,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    dtype: DType,
    device: Device,
    tuned: bool,
    fingerprint: String,
}

impl BertEncoder {
    /// Resolves `name_or_dir` (a local folder, else a Hugging Face model id through the local cache and
    /// the hub, see [`hub::resolve`]) and loads it.
    pub fn from_pretrained(name_or_dir: &str, options: &BertOptions) -> Result<Self> {
        let dir = hub::resolve(name_or_dir)?;
        Self::load(&Checkpoint::open(&dir)?, options)
    }

    /// Loads a checkpoint folder.
    ///
    /// The configuration is `config.json` with `options.config_overrides` applied; its `vocab_size` must
    /// equal the rows of the stored word embeddings. With `options.vocab_size` larger than that, the
    /// embeddings grow as transformers 4.x's `resize_token_embeddings` did when the reference was run
    /// (2023, before 4.46 made `mean_resizing` the default): the stored rows are kept and each new row is
    /// drawn from N(0, `initializer_range`²), here from `options.rng` (SPEC §2.1). A smaller value is an
    /// error. Layers above `options.truncate` are never read.
    pub fn load(checkpoint: &Checkpoint, options: &BertOptions) -> Result<Self> {
        let config = checkpoint.config(&options.config_overrides)?;
        let weights = checkpoint.weights()?;
        let hash = checkpoint.weights_fingerprint()?;
        Self::build(config, &weights, &hash, options)
    }

    /// A randomly initialised BERT as transformers' `BertPreTrainedModel._init_weights` makes it
    /// (linear and embedding weights N(0, `initializer_range`²) with the padding row of the word
    /// embeddings zeroed, biases 0, LayerNorm 1 and 0), drawn from `options.rng`. For tests and
    /// benchmarks. `options.config_overrides` apply to `config`.
    pub fn random(config: &BertConfig, options: &BertOptions) -> Result<Self> {
        let json = serde_json::to_value(config).map_err(|e| Error::Config {
            key: "config".into(),
            msg: e.to_string(),
        })?;
        let config = BertConfig::from_json_value(
            json,
            &options.config_overrides,
            std::path::Path::new("<random>"),
        )?;
        let kept = options
            .truncate
            .unwrap_or(config.num_hidden_layers)
            .min(config.num_hidden_layers);
        let tensors = random_weights(&config, kept, &options.rng)?;
        let weights = WeightFile::from_tensors(tensors, "<random>");
        let seed = options.rng.state();
        let origin = format!("random-{}-{}", seed.seed, seed.word_pos);
        Self::build(config, &weights, &origin, options)
    }

    fn build(
        config: BertConfig,
        weights: &WeightFile,
        weights_hash: &str,
        options: &BertOptions,
    ) -> Result<Self> {
        let keep = match options.truncate {
            None => config.num_hidden_layers,
            Some(k) if k <= config.num_hidden_layers => k,
            Some(k) => {
                return Err(Error::Config {
                    key: "truncate".into(),
                    msg: format!(
                        "{k} layers asked, the model has {}",
                        config.num_hidden_layers
                    ),
                })
            }
        };
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let loader = Loader {
            weights,
            dtype: options.dtype,
            device: &options.device,
            tuning: &options.tuning,
        };
        let hidden_p = config.hidden_dropout_prob as f32;
        let attn_p = config.attention_probs_dropout_prob as f32;
        let rng = &options.rng;

        // Word embeddings, possibly grown (resize_token_embeddings, transformers 4.x).
        let word_name = "embeddings.word_embeddings.weight";
        let stored = weights.shape(word_name)?;
        if stored.len() != 2 || stored[0] != config.vocab_size || stored[1] != h {
            return Err(Error::Checkpoint {
                path: weights.path().to_path_buf(),
                msg: format!(
                    "tensor `{word_name}` has shape {stored:?}, the configuration expects [{}, {h}] (vocab_size, hidden_size)",
                    config.vocab_size
                ),
            });
        }
        let mut word = weights.get_any_shape(word_name, options.dtype, &options.device)?;
        let mut config = config;
        let mut resized = String::new();
        if let Some(new_vocab) = options.vocab_size {
            if new_vocab < config.vocab_size {
                return Err(Error::Config {
                    key: "vocab_size".into(),
                    msg: format!(
                        "{new_vocab} is smaller than the checkpoint's {} rows; only growing is supported",
                        config.vocab_size
                    ),
                });
            }
            if new_vocab > config.vocab_size {
                let state = rng.state();
                resized = format!("-resized{}:{}:{}", new_vocab, state.seed, state.word_pos);
                let extra = rng.normal(
                    (new_vocab - config.vocab_size, h),
                    0.0,
                    config.initializer_range,
                    options.dtype,
                    &options.device,
                )?; // [V' - V, H]
                word = Tensor::cat(&[&word, &extra], 0)?; // [V', H]
                config.vocab_size = new_vocab;
            }
        }
        let embeddings = Embeddings {
            word_embeddings: loader.register(word_name, word)?,
            position_embeddings: loader.tensor(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
            )?,
            token_type_embeddings: loader.tensor(
                "embeddings.token_type_embeddings.weight",
                &[config.type_vocab_size, h],
            )?,
            layer_norm: loader.layer_norm("embeddings.LayerNorm", h, config.layer_norm_eps)?,
            dropout: Dropout::new(hidden_p, rng.clone()),
        };

        let mut layers = Vec::with_capacity(keep);
        for l in 0..keep {
            let p = format!("encoder.layer.{l}");
            let attention = Attention {
                query: loader.linear(&format!("{p}.attention.self.query"), h, h)?,
                key: loader.linear(&format!("{p}.attention.self.key"), h, h)?,
                value: loader.linear(&format!("{p}.attention.self.value"), h, h)?,
                output: loader.linear(&format!("{p}.attention.output.dense"), h, h)?,
                layer_norm: loader.layer_norm(
                    &format!("{p}.attention.output.LayerNorm"),
                    h,
                    config.layer_norm_eps,
                )?,
                num_heads: config.num_attention_heads,
                head_dim: config.head_dim(),
                probs_dropout: Dropout::new(attn_p, rng.clone()),
                hidden_dropout: Dropout::new(hidden_p, rng.clone()),
            };
            layers.push(Layer {
                attention,
                intermediate: loader.linear(&format!("{p}.intermediate.dense"), h, i)?,
                act: config.hidden_act,
                output: loader.linear(&format!("{p}.output.dense"), i, h)?,
                layer_norm: loader.layer_norm(
                    &format!("{p}.output.LayerNorm"),
                    h,
                    config.layer_norm_eps,
                )?,
                hidden_dropout: Dropout::new(hidden_p, rng.clone()),
            });
        }

        let config_json = serde_json::to_string(&config).map_err(|e| Error::Config {
            key: "config".into(),
            msg: e.to_string(),
        })?;
        let config_hash = hex(&Sha256::digest(config_json.as_bytes()));
        let fingerprint = format!(
            "bert-{}-cfg{}-L{keep}-V{}-{:?}{resized}",
            &weights_hash[..weights_hash.len().min(32)],
            &config_hash[..16],
            config.vocab_size,
            options.dtype,
        );
        Ok(BertEncoder {
            config,
            embeddings,
            layers,
            dtype: options.dtype,
            device: options.device.clone(),
            tuned: matches!(options.tuning, Tuning::Tuned { .. }),
            fingerprint,
        })
    }

    /// The configuration the model was built from (after overrides and vocabulary growth; its
    /// `num_hidden_layers` is the checkpoint's, see [`Encoder::num_layers`] for the kept count).
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The dtype of weights and activations.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether the weights are trainable `Var`s.
    pub fn is_tuned(&self) -> bool {
        self.tuned
    }

    /// Rows of the word embedding matrix (the largest valid id plus one).
    pub fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    /// Runs the model; see [`Encoder::forward_t`].
    ///
    /// # Shapes
    /// - `input_ids`: `[B, T]` (u32 or i64), `T ≤ max_position_embeddings`
    /// - `attention_mask`: `[B, T]` (1 = token, 0 = padding; any numeric dtype)
    /// - output: `num_layers() + 1` tensors `[B, T, H]` in the model dtype
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>> {
        self.forward_typed(input_ids, None, attention_mask, train)
    }

    /// [`BertEncoder::forward_t`] with segment ids (`token_type_ids` `[B, T]`, values below
    /// `type_vocab_size`); `None` is segment 0 everywhere.
    pub fn forward_typed(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>> {
        let (b, t) = input_ids.dims2()?;
        if attention_mask.dims() != [b, t] {
            return Err(Error::Config {
                key: "attention_mask".into(),
                msg: format!(
                    "shape {:?} differs from input_ids' [{b}, {t}]",
                    attention_mask.dims()
                ),
            });
        }
        if t > self.config.max_position_embeddings {
            return Err(Error::Config {
                key: "input_ids".into(),
                msg: format!(
                    "{t} tokens per row, the model has {} positions (max_position_embeddings)",
                    self.config.max_position_embeddings
                ),
            });
        }
        let input_ids = ids_below(
            input_ids,
            self.config.vocab_size,
            "input_ids",
            &self.device,
            |max, rows| {
                format!("token id {max} is outside the vocabulary of {rows} rows (vocab_size)")
            },
        )?;
        let mask_bias = key_mask_bias(attention_mask, &self.device)?; // [B, 1, T]

        let path = if !(self.tuned && train) {
            Path::Inference
        } else if self.dtype == DType::F32 && self.device.is_cpu() {
            Path::Fused
        } else {
            Path::Composed
        };
        let token_type_ids = match token_type_ids {
            Some(types) => Some(self.check_token_types(types, b, t)?),
            None => None,
        };
        self.run(&input_ids, token_type_ids.as_ref(), &mask_bias, train, path)
    }

    /// The embeddings and the layers on `path`.
    ///
    /// # Shapes
    /// - `input_ids`, `token_type_ids`: `[B, T]` u32, checked; `mask_bias`: `[B, 1, T]` f32
    fn run(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        mask_bias: &Tensor,
        train: bool,
        path: Path,
    ) -> Result<Vec<Tensor>> {
        let mut hidden_states = Vec::with_capacity(self.layers.len() + 1);
        let mut hidden = self
            .embeddings
            .forward(input_ids, token_type_ids, train, path)?; // [B, T, H]
        hidden_states.push(hidden.clone());
        let key_bias = match path {
            Path::Fused => Some(Arc::new(mask_bias.flatten_all()?.to_vec1::<f32>()?)), // B·T
            _ => None,
        };
        for layer in &self.layers {
            hidden = match &key_bias {
                Some(key_bias) => layer.forward_fused(&hidden, key_bias, train)?,
                None => layer.forward(&hidden, mask_bias, train, path.differentiable())?,
            }; // [B, T, H]
            hidden_states.push(hidden.clone());
        }
        Ok(hidden_states)
    }

    /// Segment ids as u32 on the model's device, checked against the shape and `type_vocab_size`.
    fn check_token_types(&self, types: &Tensor, b: usize, t: usize) -> Result<Tensor> {
        if types.dims() != [b, t] {
            return Err(Error::Config {
                key: "token_type_ids".into(),
                msg: format!(
                    "shape {:?} differs from input_ids' [{b}, {t}]",
                    types.dims()
                ),
            });
        }
        ids_below(
            types,
            self.config.type_vocab_size,
            "token_type_ids",
            &self.device,
            |max, rows| {
                format!("segment id {max} is outside the model's {rows} segment embeddings (type_vocab_size)")
            },
        )
    }

    /// Every weight under its canonical Hugging Face name (`embeddings.word_embeddings.weight`,
    /// `encoder.layer.0.attention.self.query.weight`, …, `….LayerNorm.weight/bias`; no `bert.` prefix,
    /// no pooler), with its current value (a tuned encoder's `Var`s as trained so far), detached, in the
    /// model dtype and device. Only the kept layers (after truncation) are listed, and the word
    /// embeddings have all their (possibly grown) rows: with these tensors and a configuration whose
    /// `num_hidden_layers` is [`Encoder::num_layers`], transformers' `BertModel` computes this encoder.
    pub fn named_weights(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out: Vec<(String, Tensor)> = Vec::new();
        let mut push = |name: String, t: &Tensor| out.push((name, t.detach()));
        let emb = &self.embeddings;
        push(
            "embeddings.word_embeddings.weight".into(),
            &emb.word_embeddings,
        );
        push(
            "embeddings.position_embeddings.weight".into(),
            &emb.position_embeddings,
        );
        push(
            "embeddings.token_type_embeddings.weight".into(),
            &emb.token_type_embeddings,
        );
        push("embeddings.LayerNorm.weight".into(), &emb.layer_norm.weight);
        push("embeddings.LayerNorm.bias".into(), &emb.layer_norm.bias);
        for (l, layer) in self.layers.iter().enumerate() {
            let p = format!("encoder.layer.{l}");
            let attn = &layer.attention;
            for (name, linear) in [
                (format!("{p}.attention.self.query"), &attn.query),
                (format!("{p}.attention.self.key"), &attn.key),
                (format!("{p}.attention.self.value"), &attn.value),
                (format!("{p}.attention.output.dense"), &attn.output),
                (format!("{p}.intermediate.dense"), &layer.intermediate),
                (format!("{p}.output.dense"), &layer.output),
            ] {
                push(format!("{name}.weight"), &linear.weight);
                push(format!("{name}.bias"), &linear.bias);
            }
            for (name, norm) in [
                (format!("{p}.attention.output.LayerNorm"), &attn.layer_norm),
                (format!("{p}.output.LayerNorm"), &layer.layer_norm),
            ] {
                push(format!("{name}.weight"), &norm.weight);
                push(format!("{name}.bias"), &norm.bias);
            }
        }
        Ok(out)
    }
}

/// The additive mask on keys, as transformers' extended attention mask: 0 where attended, the most negative
/// f32 on padding.
///
/// # Shapes
/// - `attention_mask`: `[B, T]` (1 = token, 0 = padding); output `[B, 1, T]` f32 on `device`
fn key_mask_bias(attention_mask: &Tensor, device: &Device) -> Result<Tensor> {
    let mask = attention_mask.to_dtype(DType::F32)?.to_device(device)?; // [B, T]
    Ok(((mask.ones_like()? - mask)? * f32::MIN as f64)?.unsqueeze(1)?)
}

/// `ids` as u32 on `device`, every value below `rows` (the rows of the embedding they index); otherwise a
/// config error on `key` with `message(largest id, rows)`.
fn ids_below(
    ids: &Tensor,
    rows: usize,
    key: &str,
    device: &Device,
    message: impl Fn(usize, usize) -> String,
) -> Result<Tensor> {
    let ids = ids.to_dtype(DType::U32)?.to_device(device)?;
    if ids.elem_count() > 0 {
        let max = ids.max_all()?.to_scalar::<u32>()? as usize;
        if max >= rows {
            return Err(Error::Config {
                key: key.into(),
                msg: message(max, rows),
            });
        }
    }
    Ok(ids)
}

impl Encoder for BertEncoder {
    fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>> {
        BertEncoder::forward_t(self, input_ids, attention_mask, train)
    }

    fn forward_typed(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>> {
        BertEncoder::forward_typed(self, input_ids, token_type_ids, attention_mask, train)
    }

    fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    fn num_layers(&self) -> usize {
        self.layers.len()
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn as_bert(&self) -> Option<&BertEncoder> {
        Some(self)
    }
}

/// The HF-named tensors of a random BERT with `layers` layers (see [`BertEncoder::random`]), in f32 on CPU.
fn random_weights(
    config: &BertConfig,
    layers: usize,
    rng: &ModelRng,
) -> Result<HashMap<String, Tensor>> {
    let (h, i) = (config.hidden_size, config.intermediate_size);
    let std = config.initializer_range;
    let dev = Device::Cpu;
    let mut map = HashMap::new();
    let normal = |shape: (usize, usize)| rng.normal(shape, 0.0, std, DType::F32, &dev);
    let mut word = normal((config.vocab_size, h))?;
    let pad = config.pad_token_id as usize;
    if pad < config.vocab_size {
        // Zero the padding row, as nn.Embedding(padding_idx) + _init_weights.
        let zero = Tensor::zeros((1, h), DType::F32, &dev)?;
        word = word.slice_assign(&[pad..pad + 1, 0..h], &zero)?;
    }
    map.insert("embeddings.word_embeddings.weight".to_string(), word);
    map.insert(
        "embeddings.position_embeddings.weight".to_string(),
        normal((config.max_position_embeddings, h))?,
    );
    map.insert(
        "embeddings.token_type_embeddings.weight".to_string(),
        normal((config.type_vocab_size, h))?,
    );
    let mut layer_norm = |name: String| -> Result<()> {
        map.insert(format!("{name}.weight"), Tensor::ones(h, DType::F32, &dev)?);
        map.insert(format!("{name}.bias"), Tensor::zeros(h, DType::F32, &dev)?);
        Ok(())
    };
    layer_norm("embeddings.LayerNorm".into())?;
    for l in 0..layers {
        layer_norm(format!("encoder.layer.{l}.attention.output.LayerNorm"))?;
        layer_norm(format!("encoder.layer.{l}.output.LayerNorm"))?;
    }
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (name, out_dim, in_dim) in [
            (format!("{p}.attention.self.query"), h, h),
            (format!("{p}.attention.self.key"), h, h),
            (format!("{p}.attention.self.value"), h, h),
            (format!("{p}.attention.output.dense"), h, h),
            (format!("{p}.intermediate.dense"), i, h),
            (format!("{p}.output.dense"), h, i),
        ] {
            map.insert(format!("{name}.weight"), normal((out_dim, in_dim))?);
            map.insert(
                format!("{name}.bias"),
                Tensor::zeros(out_dim, DType::F32, &dev)?,
            );
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> BertConfig {
        BertConfig {
            vocab_size: 50,
            hidden_size: 16,
            num_hidden_layers: 3,
            num_attention_heads: 4,
            intermediate_size: 24,
            max_position_embeddings: 20,
            ..BertConfig::default()
        }
    }

    fn inputs() -> (Tensor, Tensor) {
        let ids = Tensor::new(&[[2u32, 7, 9, 11, 3], [2, 5, 3, 0, 0]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 1, 1, 1], [1, 1, 1, 0, 0]], &Device::Cpu).unwrap();
        (ids, mask)
    }

    #[test]
    fn shapes_truncation_and_padding_independence() {
        let full = BertEncoder::random(&tiny(), &BertOptions::default()).unwrap();
        let (ids, mask) = inputs();
        let hs = full.forward_t(&ids, &mask, false).unwrap();
        assert_eq!(hs.len(), 4);
        assert_eq!(full.num_layers(), 3);
        for h in &hs {
            assert_eq!(h.dims(), &[2, 5, 16]);
        }
        // Row 1 alone, without padding, gives the same real-token states: padded keys are masked.
        let ids1 = Tensor::new(&[[2u32, 5, 3]], &Device::Cpu).unwrap();
        let mask1 = Tensor::new(&[[1u32, 1, 1]], &Device::Cpu).unwrap();
        let hs1 = full.forward_t(&ids1, &mask1, false).unwrap();
        let a = hs[3].i((1, 0..3)).unwrap();
        let b = hs1[3].i(0).unwrap();
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);

        let opts = BertOptions {
            truncate: Some(1),
            ..BertOptions::default()
        };
        let cut = BertEncoder::random(&tiny(), &opts).unwrap();
        assert_eq!(cut.num_layers(), 1);
        assert_ne!(cut.fingerprint(), full.fingerprint());
        let err = BertEncoder::random(
            &tiny(),
            &BertOptions {
                truncate: Some(4),
                ..BertOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("truncate") && err.contains("has 3"), "{err}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        let m = BertEncoder::random(&tiny(), &BertOptions::default()).unwrap();
        let ids = Tensor::new(&[[2u32, 50]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1]], &Device::Cpu).unwrap();
        let err = m.forward_t(&ids, &mask, false).unwrap_err().to_string();
        assert!(err.contains("50") && err.contains("vocab"), "{err}");
        let ids = Tensor::zeros((1, 21), DType::U32, &Device::Cpu).unwrap();
        let err = m
            .forward_t(&ids, &ids.ones_like().unwrap(), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_position_embeddings"), "{err}");
    }

    #[test]
    fn dropout_train_differs_eval_is_deterministic_same_seed_same_train_output() {
        let make = |seed| {
            BertEncoder::random(
                &tiny(),
                &BertOptions {
                    rng: ModelRng::new(seed),
                    ..BertOptions::default()
                },
            )
            .unwrap()
        };
        let (ids, mask) = inputs();
        let last = |m: &BertEncoder, train| {
            m.forward_t(&ids, &mask, train).unwrap()[3]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let (a, b) = (make(1), make(1));
        let eval1 = last(&a, false);
        let train_a = last(&a, true);
        assert_eq!(eval1, last(&a, false));
        assert_ne!(eval1, train_a);
        assert_ne!(train_a, last(&a, true), "a new mask for every call");
        assert_eq!(train_a, last(&b, true), "same seed, same masks");
    }

    #[test]
    fn tuned_weights_are_vars_in_the_store_and_get_gradients() {
        let params = ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu);
        let opts = BertOptions {
            truncate: Some(2),
            tuning: Tuning::Tuned {
                params: params.clone(),
                prefix: "encoders.target.".into(),
            },
            ..BertOptions::default()
        };
        let m = BertEncoder::random(&tiny(), &opts).unwrap();
        let names: Vec<String> = params.all().into_iter().map(|(n, _)| n).collect();
        // 5 embedding tensors + 16 per layer, layer 2 not loaded.
        assert_eq!(names.len(), 5 + 2 * 16);
        assert!(
            names.contains(&"encoders.target.encoder.layer.1.attention.self.query.weight".into())
        );
        assert!(names.contains(&"encoders.target.embeddings.word_embeddings.weight".into()));
        assert!(!names.iter().any(|n| n.contains("layer.2")));
        let (ids, mask) = inputs();
        let hs = m.forward_t(&ids, &mask, true).unwrap();
        let grads = hs[2].sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for (name, var) in params.all() {
            let g = grads.get(var.as_tensor());
            assert!(g.is_some(), "no gradient for {name}");
        }
        // The same weights, frozen and in eval mode (fused kernels), give the same numbers.
        let frozen = BertEncoder::random(
            &tiny(),
            &BertOptions {
                truncate: Some(2),
                ..BertOptions::default()
            },
        )
        .unwrap();
        let a = m.forward_t(&ids, &mask, false).unwrap()[2].clone();
        let b = frozen.forward_t(&ids, &mask, false).unwrap()[2].clone();
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    }

    /// Every parameter's gradient of `Σ_i Σ hidden_i ∘ weight_i` over the real tokens, on `path`, in
    /// training mode (dropout on). `seed` fixes the weights and the dropout stream.
    fn gradients(config: &BertConfig, seed: u64, path: Path) -> Vec<(String, Tensor)> {
        let params = ParamStore::new(ModelRng::new(0), DType::F32, Device::Cpu);
        let opts = BertOptions {
            tuning: Tuning::Tuned {
                params: params.clone(),
                prefix: String::new(),
            },
            rng: ModelRng::new(seed),
            ..BertOptions::default()
        };
        let m = BertEncoder::random(config, &opts).unwrap();
        let (ids, mask) = inputs();
        let types = Tensor::new(&[[0u32, 0, 1, 1, 1], [0, 1, 1, 0, 0]], &Device::Cpu).unwrap();
        let bias = key_mask_bias(&mask, &Device::Cpu).unwrap();
        let hs = m.run(&ids, Some(&types), &bias, true, path).unwrap();
        let real = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap(); // [B, T, 1]
        let rng = ModelRng::new(99);
        let mut loss = Tensor::zeros((), DType::F32, &Device::Cpu).unwrap();
        for h in &hs {
            let w = rng
                .normal(h.dims(), 0.0, 1.0, DType::F32, &Device::Cpu)
                .unwrap();
            let term = h
                .mul(&w)
                .unwrap()
                .broadcast_mul(&real)
                .unwrap()
                .sum_all()
                .unwrap();
            loss = (loss + term).unwrap();
        }
        let grads = loss.backward().unwrap();
        params
            .all()
            .into_iter()
            .map(|(n, v)| (n, grads.get(v.as_tensor()).unwrap().clone()))
            .collect()
    }

    #[test]
    fn fused_kernels_give_the_gradients_of_the_composed_ops_with_dropout_on() {
        for act in [HiddenAct::Gelu, HiddenAct::Relu] {
            let config = BertConfig {
                hidden_act: act,
                hidden_dropout_prob: 0.2,
                attention_probs_dropout_prob: 0.3,
                initializer_range: 0.3,
                ..tiny()
            };
            let fused = gradients(&config, 5, Path::Fused);
            let composed = gradients(&config, 5, Path::Composed);
            assert_eq!(fused.len(), 5 + 3 * 16);
            for ((name, a), (_, b)) in fused.iter().zip(&composed) {
                let scale = b
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
                let diff = diff.to_scalar::<f32>().unwrap();
                assert!(scale > 0.0, "{act:?} {name}: zero gradient");
                assert!(
                    diff <= 1e-5 * scale.max(1.0),
                    "{act:?} {name}: differs by {diff} (largest {scale})"
                );
            }
        }
    }

    #[test]
    fn activations_by_hand() {
        let x = Tensor::new(&[1f32, -2.0], &Device::Cpu).unwrap();
        let at = |act| activation(act, &x).unwrap().to_vec1::<f32>().unwrap();
        // gelu(1) = Φ(1); gelu(-2) = -2 Φ(-2)
        let g = at(HiddenAct::Gelu);
        assert!(
            (g[0] - 0.841_344_7).abs() < 1e-6 && (g[1] + 0.045_500_26).abs() < 1e-6,
            "{g:?}"
        );
        // tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        let g = at(HiddenAct::GeluNew);
        assert!(
            (g[0] - 0.841_192).abs() < 1e-5 && (g[1] + 0.045_402_3).abs() < 1e-5,
            "{g:?}"
        );
        let g = at(HiddenAct::QuickGelu); // x sigmoid(1.702 x)
        assert!(
            (g[0] - 0.845_795).abs() < 1e-5 && (g[1] + 0.064_341_4).abs() < 1e-5,
            "{g:?}"
        );
        let g = at(HiddenAct::Silu); // x sigmoid(x)
        assert!(
            (g[0] - 0.731_059).abs() < 1e-5 && (g[1] + 0.238_406).abs() < 1e-5,
            "{g:?}"
        );
        assert_eq!(at(HiddenAct::Relu), vec![1.0, 0.0]);
        let g = at(HiddenAct::Tanh);
        assert!((g[0] - 0.761_594).abs() < 1e-5, "{g:?}");
    }

    #[test]
    fn bf16_runs_close_to_f32() {
        let f32_model = BertEncoder::random(&tiny(), &BertOptions::default()).unwrap();
        let bf16_model = BertEncoder::random(
            &tiny(),
            &BertOptions {
                dtype: DType::BF16,
                ..BertOptions::default()
            },
        )
        .unwrap();
        let (ids, mask) = inputs();
        let a = &f32_model.forward_t(&ids, &mask, false).unwrap()[3];
        let b = &bf16_model.forward_t(&ids, &mask, false).unwrap()[3];
        assert_eq!(b.dtype(), DType::BF16);
        let diff = (a - b.to_dtype(DType::F32).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 0.1, "{diff}");
    }
}
