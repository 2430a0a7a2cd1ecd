//! Aggregation of several encoders' token embeddings into one (SPEC §2.2, §2.3).
//!
//! ```text
//! encoder 0 (target) ─ hidden states ─┐
//! encoder 1          ─ hidden states ─┼─► Aggregator ─► [B, T, D_out]  (+ attention weights [B, T, M])
//! encoder M-1        ─ hidden states ─┘
//! ```
//!
//! A config's `kind = "..."` selects the variant ([`AggregateConfig`]): [`mean`], [`sum`], [`concat`](mod@concat)
//! (a learned `Linear(M·H → H)`) or [`attention`] (a learned attention over the encoders, per token).
//! Every aggregator gets, per encoder in stack order, the hidden states it asked for (oldest first, see
//! [`AggregateConfig::last_n_layers`]) and the padding mask `[B, T]`.
//!
//! Learned parameters live in the [`ParamStore`] under [`AGGREGATE_PREFIX`] (`aggregate.`), so the
//! optimiser can give them a group of their own (SPEC §9.5; [`Compat::aggregator_in_encoder_group`]
//! restores the reference's placement in the encoder group). Their names follow the reference's
//! state dict (`aggregate.linear.weight`, `aggregate.query.weight`, `aggregate.keys.1.bias`,
//! `aggregate.values.0.weight`), except that a key projection shared with the query exists once, as
//! `aggregate.query.*`.
//!
//! Where the reference misbehaves (SPEC §9.6–9.9) the default is fixed and a named option of
//! [`CompatOptions`] restores the reference; `compat = "reference"` ([`CompatPreset::Reference`]) turns
//! them all on.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use reprobe_models::aggregate::{AggregateConfig, Compat};
//! use reprobe_models::params::ParamStore;
//! use reprobe_models::rng::ModelRng;
//!
//! # fn main() -> reprobe_models::Result<()> {
//! // The paper's 2024 attention: a learned constant query, token keys, softmax over the encoders.
//! let cfg: AggregateConfig = serde_json::from_str(
//!     r#"{"kind": "attention", "mode": "constant2token", "reuse_target_query_as_key": false}"#,
//! )
//! .expect("valid config");
//! let params = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
//! let ids = ["target".to_string(), "mrpc".to_string()];
//! let aggregator = cfg.build(&ids, 8, &Compat::default(), &params)?;
//! let target = Tensor::ones((2, 5, 8), DType::F32, &Device::Cpu)?; // [B, T, H]
//! let mrpc = Tensor::zeros((2, 5, 8), DType::F32, &Device::Cpu)?;
//! let mask = Tensor::ones((2, 5), DType::U32, &Device::Cpu)?;
//! let out = aggregator.forward(&[vec![target], vec![mrpc]], &mask)?;
//! assert_eq!(out.embeddings.dims(), &[2, 5, 8]);
//! assert_eq!(out.attention.map(|a| a.dims().to_vec()), Some(vec![2, 5, 2]));
//! assert!(params.all().iter().all(|(name, _)| name.starts_with("aggregate.")));
//! # Ok(())
//! # }
//! ```
use candle_core::{DType, Tensor, D};
use serde::{Deserialize, Serialize};

use crate::params::{Init, ParamStore};
use crate::{Error, Result};

pub mod attention;
pub mod compat;
pub mod concat;
pub mod mean;
mod reduce;
pub mod sum;

pub use attention::{AttentionAggregator, AttentionConfig, AttentionMode, QueryIdx};
pub use compat::{Compat, CompatOptions, CompatPreset};
pub use concat::{ConcatAggregator, ConcatConfig};
pub use mean::{MeanAggregator, MeanConfig};
pub use sum::{SumAggregator, SumConfig};

/// The name prefix of every aggregator parameter in the [`ParamStore`].
pub const AGGREGATE_PREFIX: &str = "aggregate.";

/// `torch.nn.functional.normalize`'s default `eps`: norms are clamped to at least this (SPEC §2.2).
pub const L2_NORMALIZE_EPS: f64 = 1e-12;

/// The `eps` of the reference's `CosineSimilarity(dim=-1, eps=1e-6)` (SPEC §2.2).
pub const COSSIM_EPS: f64 = 1e-6;

/// Which aggregator combines the encoders, selected by `kind` (SPEC §2.3). Default: `mean`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AggregateConfig {
    /// The mean over encoders (no parameters).
    Mean(MeanConfig),
    /// The sum over encoders (no parameters).
    Sum(SumConfig),
    /// Concatenation followed by a learned `Linear(M·H → H)`.
    Concat(ConcatConfig),
    /// A learned attention over the encoders, per token.
    Attention(AttentionConfig),
}

impl Default for AggregateConfig {
    fn default() -> Self {
        AggregateConfig::Mean(MeanConfig::default())
    }
}

impl AggregateConfig {
    /// How many hidden states per encoder the aggregator reads: `use_outputs_from_last_n_layers` for
    /// `attention`, 1 (the last layer) otherwise.
    pub fn last_n_layers(&self) -> usize {
        match self {
            AggregateConfig::Attention(cfg) => cfg.use_outputs_from_last_n_layers,
            _ => 1,
        }
    }

    /// The indices (into an encoder's `num_layers + 1` hidden states, 0 = embedding output) that the
    /// aggregator reads from an encoder with `num_layers` transformer layers, oldest first.
    ///
    /// Fixed (default): the last n transformer layers, `num_layers - n + 1 ..= num_layers`; n larger
    /// than `num_layers` is an error unless `layers_include_embeddings` lets the embedding output count
    /// as a layer. With [`Compat::reference_layer_indexing`], the last n of the `num_layers + 1` hidden
    /// states, as the reference's `hidden_states[-n:]` (SPEC §9.8).
    pub fn layer_indices(
        &self,
        encoder_id: &str,
        num_layers: usize,
        compat: &Compat,
    ) -> Result<Vec<usize>> {
        let n = self.last_n_layers();
        let with_embeddings = match self {
            AggregateConfig::Attention(cfg) => cfg.layers_include_embeddings,
            _ => false,
        } || compat.reference_layer_indexing;
        let available = if with_embeddings {
            num_layers + 1
        } else {
            num_layers
        };
        if n == 0 || n > available {
            let hint = if with_embeddings {
                String::new()
            } else {
                " (set `aggregate.layers_include_embeddings = true` to count the embedding output as a layer)"
                    .to_string()
            };
            return Err(Error::Config {
                key: "aggregate.use_outputs_from_last_n_layers".to_string(),
                msg: format!(
                    "{n} layers asked, but encoder `{encoder_id}` has {num_layers} transformer layers{hint}"
                ),
            });
        }
        Ok((num_layers + 1 - n..=num_layers).collect())
    }

    /// Builds the aggregator for `model_ids` (stack order, the first is the target) of width `hidden_size`,
    /// registering its parameters in `params` under [`AGGREGATE_PREFIX`].
    pub fn build(
        &self,
        model_ids: &[String],
        hidden_size: usize,
        compat: &Compat,
        params: &ParamStore,
    ) -> Result<Box<dyn Aggregator>> {
        if model_ids.is_empty() {
            return Err(Error::Config {
                key: "encoders".to_string(),
                msg: "at least one encoder is needed".to_string(),
            });
        }
        Ok(match self {
            AggregateConfig::Mean(_) => {
                Box::new(MeanAggregator::new(model_ids.len(), hidden_size, *compat))
            }
            AggregateConfig::Sum(_) => {
                Box::new(SumAggregator::new(model_ids.len(), hidden_size, *compat))
            }
            AggregateConfig::Concat(_) => Box::new(ConcatAggregator::new(
                model_ids.len(),
                hidden_size,
                *compat,
                params,
            )?),
            AggregateConfig::Attention(cfg) => Box::new(AttentionAggregator::new(
                cfg,
                model_ids,
                hidden_size,
                *compat,
                params,
            )?),
        })
    }
}

/// What an aggregator returns.
#[derive(Debug, Clone)]
pub struct AggregateOutput {
    /// The combined token embeddings, `[B, T, D_out]`; zero at padding unless
    /// [`Compat::include_padding`].
    pub embeddings: Tensor,
    /// The attention weights over the encoders, `[B, T, M]` (rows sum to 1), for `attention` only.
    pub attention: Option<Tensor>,
}

/// Combines the hidden states of M encoders into one embedding per token.
pub trait Aggregator: Send + Sync + std::fmt::Debug {
    /// Runs the aggregator.
    ///
    /// # Shapes
    /// - `inputs`: M lists (stack order) of the hidden states the aggregator asked for
    ///   ([`AggregateConfig::layer_indices`], oldest first), each `[B, T, H]`
    /// - `attention_mask`: `[B, T]`, 1 = token, 0 = padding (any dtype)
    /// - output: `embeddings` `[B, T, D_out]`, `attention` `[B, T, M]`
    fn forward(&self, inputs: &[Vec<Tensor>], attention_mask: &Tensor) -> Result<AggregateOutput>;

    /// `D_out`, the width of the combined embeddings.
    fn output_size(&self) -> usize;
}

/// A projection of the last axis: a learned `Linear(in → out)` or the identity (SPEC §2.3).
#[derive(Debug, Clone)]
pub(crate) enum Projection {
    /// No projection (`torch.nn.Identity`).
    Identity,
    /// `x Wᵀ + b` with `W` `[out, in]`, `b` `[out]`.
    Linear {
        /// `[out, in]`.
        weight: Tensor,
        /// `[out]`.
        bias: Tensor,
    },
}

impl Projection {
    /// A `Linear(in_dim → out_dim)` with PyTorch's default initialisation: `kaiming_uniform_(a=√5)` for
    /// the weight, which is U(±1/√in_dim), and U(±1/√in_dim) for the bias. Registered as `{name}.weight`
    /// and `{name}.bias`.
    pub(crate) fn linear(
        params: &ParamStore,
        name: &str,
        in_dim: usize,
        out_dim: usize,
    ) -> Result<Self> {
        let bound = 1.0 / (in_dim as f64).sqrt();
        let weight = params.get_or_init(
            &format!("{name}.weight"),
            (out_dim, in_dim),
            Init::Uniform(bound),
        )?;
        let bias = params.get_or_init(&format!("{name}.bias"), out_dim, Init::Uniform(bound))?;
        Ok(Projection::Linear { weight, bias })
    }

    /// Applies the projection to the last axis.
    ///
    /// # Shapes
    /// - `xs`: `[B, T, in]`; output: `[B, T, out]`
    pub(crate) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Projection::Identity => Ok(xs.clone()),
            Projection::Linear { weight, bias } => {
                let (b, t, d_in) = xs.dims3()?;
                let flat = xs.contiguous()?.reshape((b * t, d_in))?; // [B·T, in]
                let projected = flat.matmul(&weight.t()?)?.broadcast_add(bias)?; // [B·T, out]
                Ok(projected.reshape((b, t, ()))?) // [B, T, out]
            }
        }
    }

    /// The projection of the zero vector of width `in_dim` (the `constant` mode of SPEC §2.3): the bias
    /// of a `Linear`, the zero vector for the identity.
    ///
    /// # Shapes
    /// - output: `[out]` (`[in_dim]` for the identity)
    pub(crate) fn of_zeros(
        &self,
        in_dim: usize,
        dtype: DType,
        device: &candle_core::Device,
    ) -> Result<Tensor> {
        match self {
            Projection::Identity => Ok(Tensor::zeros(in_dim, dtype, device)?),
            Projection::Linear { bias, .. } => Ok(bias.clone()),
        }
    }

    /// True for the identity.
    pub(crate) fn is_identity(&self) -> bool {
        matches!(self, Projection::Identity)
    }
}

/// The features an aggregator reads from one encoder: its selected hidden states side by side.
///
/// One state is returned as is. Several are concatenated, feature `l·H + h` for state `l` (oldest
/// first); with `interleaved` (SPEC §9.8, [`Compat::interleaved_layer_features`]) they are stacked on a
/// new last axis and flattened as the reference does, feature `h·n + l`.
///
/// # Shapes
/// - `states`: n tensors `[B, T, H]`; output: `[B, T, n·H]`
pub fn layer_features(states: &[Tensor], interleaved: bool) -> Result<Tensor> {
    match states {
        [] => Err(Error::Config {
            key: "aggregate.use_outputs_from_last_n_layers".to_string(),
            msg: "no hidden state given to the aggregator".to_string(),
        }),
        [one] => Ok(one.clone()),
        _ if interleaved => {
            let stacked = Tensor::stack(states, D::Minus1)?; // [B, T, H, n]
            Ok(stacked.flatten_from(2)?) // [B, T, H·n], feature h·n + l
        }
        _ => Ok(Tensor::cat(states, D::Minus1)?), // [B, T, n·H], feature l·H + h
    }
}

/// L2-normalises the last axis as `torch.nn.functional.normalize(x, p=2, dim=-1)`:
/// `x / max(‖x‖, 1e-12)` (SPEC §2.2, `normalize_embeddings`).
///
/// # Shapes
/// - `xs`: `[..., H]`; output: same
pub fn l2_normalize(xs: &Tensor) -> Result<Tensor> {
    let norm = xs.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?; // [..., 1]
    let norm = norm.clamp(L2_NORMALIZE_EPS, f64::INFINITY)?;
    Ok(xs.broadcast_div(&norm)?)
}

/// The cosine similarity of two embeddings per token, as `torch.nn.CosineSimilarity(dim=-1, eps=1e-6)`:
/// each vector is divided by `max(‖x‖, 1e-6)`, then the dot product is taken.
///
/// # Shapes
/// - `a`, `b`: `[B, T, H]`; output: `[B, T]`
pub fn cosine_similarity(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a_norm = a
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(COSSIM_EPS, f64::INFINITY)?; // [B, T, 1]
    let b_norm = b
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(COSSIM_EPS, f64::INFINITY)?; // [B, T, 1]
    let a_unit = a.broadcast_div(&a_norm)?; // [B, T, H]
    let b_unit = b.broadcast_div(&b_norm)?; // [B, T, H]
    Ok((a_unit * b_unit)?.sum(D::Minus1)?) // [B, T]
}

/// The mean of a per-token quantity (a cosine similarity, an attention weight) over a batch.
///
/// Fixed (default): the mean over the real tokens, each counting once. With `include_padding`
/// (SPEC §9.9, [`Compat::include_padding`]): the reference's `mean_B(mean_T(x))` over every position.
///
/// NaN when the mask has no real token.
///
/// # Shapes
/// - `values`: `[B, T]`; `attention_mask`: `[B, T]`; output: a scalar
pub fn masked_mean(values: &Tensor, attention_mask: &Tensor, include_padding: bool) -> Result<f64> {
    let values = values.to_dtype(DType::F64)?;
    if include_padding {
        return Ok(values
            .mean(D::Minus1)?
            .mean(D::Minus1)?
            .to_scalar::<f64>()?);
    }
    let mask = attention_mask.to_dtype(DType::F64)?; // [B, T]
    let total = (values * &mask)?.sum_all()?.to_scalar::<f64>()?;
    let count = mask.sum_all()?.to_scalar::<f64>()?;
    if count == 0.0 {
        return Ok(f64::NAN);
    }
    Ok(total / count)
}

/// Sets the padding positions of an aggregated output to zero (the fixed behaviour of SPEC §9.9),
/// or returns it unchanged with `include_padding`.
///
/// # Shapes
/// - `embeddings`: `[B, T, D]`; `attention_mask`: `[B, T]`; output: `[B, T, D]`
pub(crate) fn zero_padding(
    embeddings: Tensor,
    attention_mask: &Tensor,
    include_padding: bool,
) -> Result<Tensor> {
    if include_padding {
        return Ok(embeddings);
    }
    let mask = attention_mask
        .to_dtype(embeddings.dtype())?
        .unsqueeze(D::Minus1)?; // [B, T, 1]
    Ok(embeddings.broadcast_mul(&mask)?)
}

/// The last hidden state of each encoder, in stack order, after checking with [`check_inputs`] that
/// every encoder gives one state of the same `[B, T, H]`.
///
/// # Shapes
/// - `inputs`: M lists of one `[B, T, H]`; output: M tensors `[B, T, H]`
pub(crate) fn last_states(
    inputs: &[Vec<Tensor>],
    models: usize,
    hidden: usize,
) -> Result<Vec<Tensor>> {
    check_inputs(inputs, models, 1, hidden)?;
    Ok(inputs.iter().map(|states| states[0].clone()).collect())
}

/// Checks that every encoder gives exactly `n` states of the same `[B, T, H]` and returns `(B, T)`.
pub(crate) fn check_inputs(
    inputs: &[Vec<Tensor>],
    models: usize,
    n: usize,
    hidden: usize,
) -> Result<(usize, usize)> {
    if inputs.len() != models {
        return Err(Error::Config {
            key: "encoders".to_string(),
            msg: format!(
                "the aggregator was built for {models} encoders, got {}",
                inputs.len()
            ),
        });
    }
    let mut dims: Option<(usize, usize)> = None;
    for (model_pos, states) in inputs.iter().enumerate() {
        if states.len() != n {
            return Err(Error::Config {
                key: "aggregate.use_outputs_from_last_n_layers".to_string(),
                msg: format!(
                    "encoder #{model_pos} gave {} hidden states, the aggregator reads {n}",
                    states.len()
                ),
            });
        }
        for state in states {
            let (b, t, h) = state.dims3()?;
            if h != hidden || dims.is_some_and(|d| d != (b, t)) {
                return Err(Error::Config {
                    key: "encoders".to_string(),
                    msg: format!(
                        "encoder #{model_pos} gave a hidden state of shape [{b}, {t}, {h}], expected [B, T, {hidden}] like the others"
                    ),
                });
            }
            dims = Some((b, t));
        }
    }
    dims.ok_or_else(|| Error::Config {
        key: "encoders".to_string(),
        msg: "no encoder output given to the aggregator".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t3(data: &[f64], dims: (usize, usize, usize)) -> Tensor {
        Tensor::from_vec(data.to_vec(), dims, &Device::Cpu).unwrap()
    }

    #[test]
    fn layer_features_concatenate_or_interleave() {
        // Two layers, H = 2: layer 0 holds [1, 2], layer 1 holds [10, 20].
        let l0 = t3(&[1.0, 2.0], (1, 1, 2));
        let l1 = t3(&[10.0, 20.0], (1, 1, 2));
        let cat = layer_features(&[l0.clone(), l1.clone()], false).unwrap();
        assert_eq!(
            cat.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            vec![1.0, 2.0, 10.0, 20.0]
        );
        let inter = layer_features(&[l0, l1], true).unwrap();
        assert_eq!(
            inter.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            vec![1.0, 10.0, 2.0, 20.0]
        );
    }

    #[test]
    fn normalize_and_cosine_by_hand() {
        // [3, 4] has norm 5; the zero vector stays zero (clamped norm).
        let x = t3(&[3.0, 4.0, 0.0, 0.0], (1, 2, 2));
        let n = l2_normalize(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert_eq!(n, vec![0.6, 0.8, 0.0, 0.0]);
        // cos([3,4],[4,3]) = 24/25; cos(0, y) = 0.
        let y = t3(&[4.0, 3.0, 1.0, 1.0], (1, 2, 2));
        let c = cosine_similarity(&x, &y)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        assert!((c[0] - 0.96).abs() < 1e-15 && c[1] == 0.0, "{c:?}");
    }

    #[test]
    fn masked_mean_ignores_padding_unless_asked() {
        // Row 0: [1, 2, 3] all real; row 1: [4, 100, 100] with two padding positions.
        let v = Tensor::from_vec(
            vec![1.0f64, 2.0, 3.0, 4.0, 100.0, 100.0],
            (2, 3),
            &Device::Cpu,
        )
        .unwrap();
        let m = Tensor::from_vec(vec![1u32, 1, 1, 1, 0, 0], (2, 3), &Device::Cpu).unwrap();
        // Real tokens: (1+2+3+4)/4 = 2.5.
        assert_eq!(masked_mean(&v, &m, false).unwrap(), 2.5);
        // Reference: mean(2, 68) = 35.
        assert_eq!(masked_mean(&v, &m, true).unwrap(), 35.0);
    }

    #[test]
    fn config_is_selected_by_kind_and_rejects_unknown_fields() {
        let cfg: AggregateConfig = serde_json::from_str(r#"{"kind": "mean"}"#).unwrap();
        assert_eq!(cfg, AggregateConfig::default());
        let cfg: AggregateConfig = serde_json::from_str(
            r#"{"kind": "attention", "mode_query": "constant", "mode_keys": "token",
                "reuse_target_query_as_key": false, "query_idx": "mrpc"}"#,
        )
        .unwrap();
        let AggregateConfig::Attention(attn) = cfg else {
            panic!("not attention: {cfg:?}");
        };
        assert_eq!(attn.mode_query, Some(AttentionMode::Constant));
        assert_eq!(attn.query_idx, QueryIdx::Id("mrpc".to_string()));
        assert!(attn.project_target_key && !attn.reuse_target_query_as_key);
        let cfg: AggregateConfig =
            serde_json::from_str(r#"{"kind": "attention", "query_idx": 1}"#).unwrap();
        assert!(matches!(
            cfg,
            AggregateConfig::Attention(AttentionConfig {
                query_idx: QueryIdx::Index(1),
                ..
            })
        ));
        for bad in [
            r#"{"kind": "attention", "hiden_size": 3}"#,
            r#"{"kind": "mean", "use_outputs_from_last_n_layers": 4}"#,
            r#"{"kind": "max"}"#,
        ] {
            assert!(
                serde_json::from_str::<AggregateConfig>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn layer_indices_fixed_and_reference() {
        let attn = |n: usize, with_emb: bool| {
            AggregateConfig::Attention(AttentionConfig {
                use_outputs_from_last_n_layers: n,
                layers_include_embeddings: with_emb,
                ..AttentionConfig::default()
            })
        };
        let fixed = Compat::default();
        let reference = Compat::reference();
        assert_eq!(
            AggregateConfig::default()
                .layer_indices("a", 12, &fixed)
                .unwrap(),
            vec![12]
        );
        assert_eq!(
            attn(4, false).layer_indices("a", 12, &fixed).unwrap(),
            vec![9, 10, 11, 12]
        );
        // n = 12 on a full model: layers 1..=12 either way.
        assert_eq!(
            attn(12, false).layer_indices("a", 12, &fixed).unwrap(),
            (1..=12).collect::<Vec<_>>()
        );
        // A model truncated to 3 layers with n = 4: an error unless the embedding output may count.
        let err = attn(4, false)
            .layer_indices("mrpc", 3, &fixed)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`mrpc` has 3") && err.contains("layers_include_embeddings"),
            "{err}"
        );
        assert_eq!(
            attn(4, true).layer_indices("a", 3, &fixed).unwrap(),
            vec![0, 1, 2, 3]
        );
        assert_eq!(
            attn(4, false).layer_indices("a", 3, &reference).unwrap(),
            vec![0, 1, 2, 3]
        );
        assert!(attn(5, false).layer_indices("a", 3, &reference).is_err());
    }
}
