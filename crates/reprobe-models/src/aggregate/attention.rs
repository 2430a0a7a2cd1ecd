//! A learned attention over the encoders, per token (SPEC §2.3, `AttentionBasedAggregator`).
//!
//! For every token, a query from the target encoder is compared with one key per encoder; the softmax
//! over the M encoders weights their (projected) values:
//!
//! ```text
//! q  = query(feat(x_t))            token | cls (position 0, broadcast) | constant (projection of 0)
//! k_i = key_i(feat(x_i))           token | cls | constant
//! a  = softmax_i(q · k_i / √D_h)   [B, T, M]
//! out = Σ_i a_i · value_i(feat(x_i))   [B, T, D_out]
//! ```
//!
//! `feat` reads the last n layers ([`super::layer_features`]). The softmax runs over encoders, not
//! tokens, so no padding mask can change a real token's output; padding only matters for the output at
//! padding positions (zeroed, SPEC §9.9) and the logged weight means.
//!
//! # What "fixed" means for the projection flags (SPEC §9.6, §9.7)
//!
//! Each `project_*` flag says whether that projection exists; a missing projection is the identity.
//! - `project_target_key = false` makes the target key the identity, `true` projects it:
//!   `reuse_target_query_as_key` only decides whether that projection is *shared* with the query, which
//!   needs a projected query; otherwise the target key gets its own `Linear`. ("K,V only" then projects
//!   the target key, which the reference silently does not.)
//! - The other encoders' keys and values follow `project_other_keys` / `project_other_values`, which
//!   default to the target's key / value flags: "no projections" learns no projection at all.
//! - `hidden_size` / `output_size` unset take the width the projections need (128 / H when everything is
//!   projected, the input width n·H where an identity is compared or summed); a configured width that
//!   cannot work is an error naming the key, never silently replaced.
//! - `query_idx` may name the target encoder by id (`query_idx = "mrpc"`), equivalent to its position.
//! - `constant` mode with an unprojected query (or key) uses the zero vector: the weights become uniform
//!   where every score is 0. `cls` mode reads position 0 of the n-layer features, so it works with n > 1.
//!
//! The options of [`Compat`] restore the reference: `reuse_ignores_key_flag`, `others_always_projected`,
//! `hidden_size_raised`, `last_n_forces_projections`, `string_query_idx_unmatched`,
//! `interleaved_layer_features`, `include_padding`. The reference crashes for `constant` with an identity
//! and for `cls` with n > 1; those crashes are not reproduced: the fixed behaviour applies.
use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::{
    check_inputs, layer_features, zero_padding, AggregateOutput, Aggregator, Compat, Projection,
};
use crate::params::ParamStore;
use crate::{Error, Result};

/// The default width of queries and keys when every one of them is projected (SPEC §2.3).
pub const DEFAULT_ATTENTION_HIDDEN_SIZE: usize = 128;

/// Where a query or key comes from (SPEC §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionMode {
    /// From each token's own embedding.
    Token,
    /// From the embedding at position 0 (`[CLS]`) of the row, broadcast over the tokens.
    Cls,
    /// From the zero vector: a learned constant (the projection's bias), the same for every token.
    Constant,
}

impl AttentionMode {
    fn parse(word: &str) -> Option<Self> {
        match word {
            "token" => Some(AttentionMode::Token),
            "cls" => Some(AttentionMode::Cls),
            "constant" => Some(AttentionMode::Constant),
            _ => None,
        }
    }
}

/// Which encoder gives the query: its position in the stack or its id (SPEC §2.3, §9.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueryIdx {
    /// Position in the stack order (0 = the first encoder).
    Index(usize),
    /// The encoder's id (`[encoders.<id>]`).
    Id(String),
}

impl Default for QueryIdx {
    fn default() -> Self {
        QueryIdx::Index(0)
    }
}

/// `kind = "attention"` (SPEC §2.3); field names and defaults as the reference's
/// `AttentionBasedAggregator`, plus three options of our own (`project_other_keys`,
/// `project_other_values`, `layers_include_embeddings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttentionConfig {
    /// Width `D_h` of queries and keys. Default: unset = 128 when the query and every key are projected,
    /// else the input width the unprojected ones have (SPEC §2.3; §9.6: never silently changed).
    pub hidden_size: Option<usize>,
    /// Width `D_out` of the values and of the output. Default: unset = H when every value is projected,
    /// else the input width (SPEC §2.3; §9.6).
    pub output_size: Option<usize>,
    /// The target encoder giving the query, by position or id. Default: 0 (SPEC §2.3; §9.7).
    pub query_idx: QueryIdx,
    /// Query and key modes together, `"<query>2<keys>"` with `token`, `cls`, `constant`.
    /// Default: `"token2token"` (SPEC §2.3).
    pub mode: String,
    /// Query mode; overrides the first half of `mode` when set. Default: unset (SPEC §2.3).
    pub mode_query: Option<AttentionMode>,
    /// Key mode; overrides the second half of `mode` when set. Default: unset (SPEC §2.3).
    pub mode_keys: Option<AttentionMode>,
    /// Project the target's query with a `Linear(D_in → D_h)`. Default: true (SPEC §2.3, §2.4).
    pub project_target_query: bool,
    /// Project the target's key. Default: true (SPEC §2.3; §9.6 for how it combines with reuse).
    pub project_target_key: bool,
    /// Project the target's value with a `Linear(D_in → D_out)`. Default: true (SPEC §2.3).
    pub project_target_value: bool,
    /// Project the other encoders' keys. Default: unset = as `project_target_key` (ours, SPEC §9.6; the
    /// reference always projects them: [`Compat::others_always_projected`]).
    pub project_other_keys: Option<bool>,
    /// Project the other encoders' values. Default: unset = as `project_target_value` (ours, SPEC §9.6).
    pub project_other_values: Option<bool>,
    /// Share the target's query projection as its key projection. Default: true (SPEC §2.3, §9.6).
    pub reuse_target_query_as_key: bool,
    /// Read the last n layers of every encoder, side by side (`D_in = n·H`). Default: 1 (SPEC §2.3, §9.8).
    pub use_outputs_from_last_n_layers: usize,
    /// Let the embedding output count as a layer, so n may reach `num_layers + 1`. Default: false
    /// (ours, SPEC §9.8; the reference always counts it: [`Compat::reference_layer_indexing`]).
    pub layers_include_embeddings: bool,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        AttentionConfig {
            hidden_size: None,
            output_size: None,
            query_idx: QueryIdx::Index(0),
            mode: "token2token".to_string(),
            mode_query: None,
            mode_keys: None,
            project_target_query: true,
            project_target_key: true,
            project_target_value: true,
            project_other_keys: None,
            project_other_values: None,
            reuse_target_query_as_key: true,
            use_outputs_from_last_n_layers: 1,
            layers_include_embeddings: false,
        }
    }
}

/// The key projection of one encoder.
#[derive(Debug, Clone)]
enum KeyProjection {
    /// The query's projection (`reuse_target_query_as_key`).
    SharedWithQuery,
    /// A projection of its own (or the identity).
    Own(Projection),
}

/// The attention aggregator of SPEC §2.3, built from an [`AttentionConfig`] and the [`Compat`] options.
#[derive(Debug, Clone)]
pub struct AttentionAggregator {
    model_ids: Vec<String>,
    hidden_size: usize,
    n_last: usize,
    target: usize,
    mode_query: AttentionMode,
    mode_keys: AttentionMode,
    d_in: usize,
    d_h: usize,
    d_out: usize,
    query: Projection,
    keys: Vec<KeyProjection>,
    values: Vec<Projection>,
    compat: Compat,
}

fn config_error(key: &str, msg: String) -> Error {
    Error::Config {
        key: format!("aggregate.{key}"),
        msg,
    }
}

impl AttentionAggregator {
    /// Builds the aggregator for `model_ids` (stack order) of width `hidden_size` (H), registering its
    /// projections in `params`: `aggregate.query.*`, `aggregate.keys.{i}.*`, `aggregate.values.{i}.*`
    /// (created in this order, as the reference's modules are).
    pub fn new(
        cfg: &AttentionConfig,
        model_ids: &[String],
        hidden_size: usize,
        compat: Compat,
        params: &ParamStore,
    ) -> Result<Self> {
        let models = model_ids.len();
        let n_last = cfg.use_outputs_from_last_n_layers;
        if n_last == 0 {
            return Err(config_error(
                "use_outputs_from_last_n_layers",
                "must be at least 1".to_string(),
            ));
        }
        let (mode_query, mode_keys) = parse_modes(cfg)?;
        let target = match &cfg.query_idx {
            QueryIdx::Index(pos) if *pos < models => *pos,
            QueryIdx::Index(pos) => {
                return Err(config_error(
                    "query_idx",
                    format!(
                        "position {pos} is outside the stack of {models} encoders {model_ids:?}"
                    ),
                ))
            }
            QueryIdx::Id(id) => model_ids.iter().position(|m| m == id).ok_or_else(|| {
                config_error(
                    "query_idx",
                    format!("`{id}` is not one of the encoders {model_ids:?}"),
                )
            })?,
        };
        // SPEC §9.7: a string query_idx never equals the integer position in the reference.
        let unmatched =
            compat.string_query_idx_unmatched && matches!(cfg.query_idx, QueryIdx::Id(_));

        let (mut pq, mut pk, mut pv) = (
            cfg.project_target_query,
            cfg.project_target_key,
            cfg.project_target_value,
        );
        if n_last > 1 && compat.last_n_forces_projections {
            (pq, pk, pv) = (true, true, true);
        }
        let d_in = n_last * hidden_size;

        // Which projection each key and value has (true = Linear), before widths are known.
        let other_key = compat.others_always_projected || cfg.project_other_keys.unwrap_or(pk);
        let other_value = compat.others_always_projected || cfg.project_other_values.unwrap_or(pv);
        #[derive(Clone, Copy, PartialEq)]
        enum KeyPlan {
            Shared,
            Linear,
            Identity,
        }
        let target_key = if unmatched {
            if other_key {
                KeyPlan::Linear
            } else {
                KeyPlan::Identity
            }
        } else if compat.reuse_ignores_key_flag && cfg.reuse_target_query_as_key {
            KeyPlan::Shared
        } else if !pk {
            KeyPlan::Identity
        } else if cfg.reuse_target_query_as_key && pq {
            KeyPlan::Shared
        } else {
            KeyPlan::Linear
        };
        let key_plans: Vec<KeyPlan> = (0..models)
            .map(|pos| {
                if pos == target {
                    target_key
                } else if other_key {
                    KeyPlan::Linear
                } else {
                    KeyPlan::Identity
                }
            })
            .collect();
        let value_plans: Vec<bool> = (0..models)
            .map(|pos| {
                if pos == target && !unmatched {
                    pv
                } else {
                    other_value
                }
            })
            .collect();

        // Widths. An identity query or key compares D_in-wide vectors, an identity value sums them.
        let query_identity = !pq;
        let identity_key = key_plans.contains(&KeyPlan::Identity)
            || (query_identity && key_plans.contains(&KeyPlan::Shared));
        let needs_h_in = query_identity || identity_key;
        let needs_out_in = value_plans.iter().any(|v| !v);
        let (d_h, d_out) = if compat.hidden_size_raised {
            // SPEC §9.6, literally: raised whenever the target query or key flag is off.
            let mut d_h = cfg.hidden_size.unwrap_or(DEFAULT_ATTENTION_HIDDEN_SIZE);
            if !(pq && pk) && d_h != hidden_size {
                d_h = d_in;
            }
            let mut d_out = cfg.output_size.unwrap_or(hidden_size);
            if !pv && d_out != d_in {
                d_out = d_in;
            }
            (d_h, d_out)
        } else {
            let d_h = match cfg.hidden_size {
                None if needs_h_in => d_in,
                None => DEFAULT_ATTENTION_HIDDEN_SIZE,
                Some(h) => h,
            };
            let d_out = match cfg.output_size {
                None if needs_out_in => d_in,
                None => hidden_size,
                Some(o) => o,
            };
            (d_h, d_out)
        };
        if d_h == 0 || d_out == 0 {
            return Err(config_error(
                "hidden_size",
                "widths must be positive".to_string(),
            ));
        }
        if needs_h_in && d_h != d_in {
            return Err(config_error(
                "hidden_size",
                format!(
                    "is {d_h}, but an unprojected query or key has the input width {d_in} (n = {n_last} layers × H = {hidden_size}); \
                     leave hidden_size unset or project every query and key"
                ),
            ));
        }
        if needs_out_in && d_out != d_in {
            return Err(config_error(
                "output_size",
                format!(
                    "is {d_out}, but an unprojected value has the input width {d_in} (n = {n_last} layers × H = {hidden_size}); \
                     leave output_size unset or project every value"
                ),
            ));
        }

        // Parameters, in the reference's module order: query, target key, keys, values.
        let query = if pq {
            Projection::linear(params, "aggregate.query", d_in, d_h)?
        } else {
            Projection::Identity
        };
        let mut own_keys: Vec<Option<Projection>> = vec![None; models];
        if key_plans.get(target) == Some(&KeyPlan::Linear) {
            own_keys[target] = Some(Projection::linear(
                params,
                &format!("aggregate.keys.{target}"),
                d_in,
                d_h,
            )?);
        }
        let mut keys = Vec::with_capacity(models);
        for (pos, plan) in key_plans.iter().enumerate() {
            keys.push(match plan {
                KeyPlan::Shared => KeyProjection::SharedWithQuery,
                KeyPlan::Identity => KeyProjection::Own(Projection::Identity),
                KeyPlan::Linear => match own_keys[pos].take() {
                    Some(projection) => KeyProjection::Own(projection),
                    None => KeyProjection::Own(Projection::linear(
                        params,
                        &format!("aggregate.keys.{pos}"),
                        d_in,
                        d_h,
                    )?),
                },
            });
        }
        let mut values = Vec::with_capacity(models);
        for (pos, projected) in value_plans.iter().enumerate() {
            values.push(if *projected {
                Projection::linear(params, &format!("aggregate.values.{pos}"), d_in, d_out)?
            } else {
                Projection::Identity
            });
        }

        Ok(AttentionAggregator {
            model_ids: model_ids.to_vec(),
            hidden_size,
            n_last,
            target,
            mode_query,
            mode_keys,
            d_in,
            d_h,
            d_out,
            query,
            keys,
            values,
            compat,
        })
    }

    /// `D_h`, the width of queries and keys.
    pub fn attention_hidden_size(&self) -> usize {
        self.d_h
    }

    /// `D_in = n·H`, the width of each encoder's features.
    pub fn input_size(&self) -> usize {
        self.d_in
    }

    /// The position of the target (query) encoder.
    pub fn target(&self) -> usize {
        self.target
    }

    /// The encoder ids, in stack order.
    pub fn model_ids(&self) -> &[String] {
        &self.model_ids
    }

    /// One query or key per token from the features of one encoder, by `mode`.
    ///
    /// # Shapes
    /// - `features`: `[B, T, D_in]`; output: `[B, T, D_h]`
    fn project_by_mode(
        &self,
        projection: &Projection,
        features: &Tensor,
        mode: AttentionMode,
    ) -> Result<Tensor> {
        let (b, t, _) = features.dims3()?;
        let width = if projection.is_identity() {
            self.d_in
        } else {
            self.d_h
        };
        let projected = match mode {
            AttentionMode::Token => projection.forward(features)?, // [B, T, D_h]
            AttentionMode::Cls => {
                let cls = features.narrow(1, 0, 1)?; // [B, 1, D_in]
                projection.forward(&cls)?.broadcast_as((b, t, width))? // [B, T, D_h]
            }
            AttentionMode::Constant => {
                let constant =
                    projection.of_zeros(self.d_in, features.dtype(), features.device())?; // [D_h]
                constant
                    .reshape((1, 1, width))?
                    .broadcast_as((b, t, width))? // [B, T, D_h]
            }
        };
        Ok(projected)
    }
}

fn parse_modes(cfg: &AttentionConfig) -> Result<(AttentionMode, AttentionMode)> {
    let parsed = cfg
        .mode
        .split_once('2')
        .and_then(|(q, k)| Some((AttentionMode::parse(q)?, AttentionMode::parse(k)?)));
    let (query, keys) = match (parsed, cfg.mode_query, cfg.mode_keys) {
        (_, Some(q), Some(k)) => (q, k),
        (Some((q, k)), mode_query, mode_keys) => (mode_query.unwrap_or(q), mode_keys.unwrap_or(k)),
        (None, _, _) => {
            return Err(config_error(
                "mode",
                format!(
                    "`{}` is not `<query>2<keys>` with token, cls or constant (e.g. `token2token`, `constant2token`)",
                    cfg.mode
                ),
            ))
        }
    };
    Ok((query, keys))
}

impl Aggregator for AttentionAggregator {
    /// # Shapes
    /// - `inputs`: M lists of n `[B, T, H]` (oldest layer first); `attention_mask`: `[B, T]`
    /// - output: `embeddings` `[B, T, D_out]`, `attention` `[B, T, M]`
    fn forward(&self, inputs: &[Vec<Tensor>], attention_mask: &Tensor) -> Result<AggregateOutput> {
        let (b, t) = check_inputs(inputs, self.model_ids.len(), self.n_last, self.hidden_size)?;
        let interleaved = self.compat.interleaved_layer_features;
        let features: Vec<Tensor> = inputs
            .iter()
            .map(|states| layer_features(states, interleaved))
            .collect::<Result<_>>()?; // M × [B, T, D_in]

        let query = self.project_by_mode(&self.query, &features[self.target], self.mode_query)?; // [B, T, D_h]
        let scale = (self.d_h as f64).sqrt();
        let mut scores = Vec::with_capacity(features.len());
        for (key, feature) in self.keys.iter().zip(&features) {
            let key = match key {
                KeyProjection::SharedWithQuery => {
                    self.project_by_mode(&self.query, feature, self.mode_keys)?
                }
                KeyProjection::Own(projection) => {
                    self.project_by_mode(projection, feature, self.mode_keys)?
                }
            }; // [B, T, D_h]
            let score = ((&query * &key)?.sum(D::Minus1)? / scale)?; // [B, T]
            scores.push(score);
        }
        let scores = Tensor::stack(&scores, D::Minus1)?; // [B, T, M]
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?; // [B, T, M]

        let mut aggregated = Tensor::zeros(
            (b, t, self.d_out),
            features[0].dtype(),
            features[0].device(),
        )?; // [B, T, D_out]
        for (pos, (value, feature)) in self.values.iter().zip(&features).enumerate() {
            let value = value.forward(feature)?; // [B, T, D_out]
            let weight = weights.narrow(D::Minus1, pos, 1)?; // [B, T, 1]
            aggregated = (aggregated + value.broadcast_mul(&weight)?)?;
        }
        Ok(AggregateOutput {
            embeddings: zero_padding(aggregated, attention_mask, self.compat.include_padding)?,
            attention: Some(weights),
        })
    }

    fn output_size(&self) -> usize {
        self.d_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::ModelRng;
    use candle_core::{DType, Device};

    fn ids(n: usize) -> Vec<String> {
        ["target", "mrpc", "ner"][..n]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn names(params: &ParamStore) -> Vec<String> {
        params.all().into_iter().map(|(n, _)| n).collect()
    }

    fn build(
        cfg: &AttentionConfig,
        models: usize,
        compat: Compat,
    ) -> Result<(AttentionAggregator, ParamStore)> {
        let params = ParamStore::new(ModelRng::new(0), DType::F64, Device::Cpu);
        let agg = AttentionAggregator::new(cfg, &ids(models), 4, compat, &params)?;
        Ok((agg, params))
    }

    fn t(data: &[f64], dims: (usize, usize, usize)) -> Tensor {
        Tensor::from_vec(data.to_vec(), dims, &Device::Cpu).unwrap()
    }

    fn flat(x: &Tensor) -> Vec<f64> {
        x.flatten_all().unwrap().to_vec1::<f64>().unwrap()
    }

    #[test]
    fn default_is_token2token_with_a_shared_target_key() {
        let (agg, params) = build(&AttentionConfig::default(), 2, Compat::default()).unwrap();
        assert_eq!((agg.attention_hidden_size(), agg.output_size()), (128, 4));
        assert_eq!(
            names(&params),
            [
                "aggregate.keys.1.bias",
                "aggregate.keys.1.weight",
                "aggregate.query.bias",
                "aggregate.query.weight",
                "aggregate.values.0.bias",
                "aggregate.values.0.weight",
                "aggregate.values.1.bias",
                "aggregate.values.1.weight"
            ]
        );
    }

    #[test]
    fn projection_flags_fixed_versus_reference() {
        let kv_only = AttentionConfig {
            project_target_query: false,
            ..AttentionConfig::default()
        };
        // Fixed: the target key really is projected (its own Linear, D_h = D_in since the query is not).
        let (agg, params) = build(&kv_only, 2, Compat::default()).unwrap();
        assert!(names(&params).contains(&"aggregate.keys.0.weight".to_string()));
        assert_eq!(agg.attention_hidden_size(), 4);
        // Reference: reuse makes the target key the (identity) query.
        let (_, params) = build(&kv_only, 2, Compat::reference()).unwrap();
        assert!(!names(&params)
            .iter()
            .any(|n| n.starts_with("aggregate.keys.0")));

        let none = AttentionConfig {
            project_target_query: false,
            project_target_key: false,
            project_target_value: false,
            ..AttentionConfig::default()
        };
        let (_, params) = build(&none, 3, Compat::default()).unwrap();
        assert!(names(&params).is_empty(), "{:?}", names(&params));
        let (_, params) = build(&none, 3, Compat::reference()).unwrap();
        assert_eq!(
            names(&params).len(),
            8,
            "keys 1, 2 and values 1, 2 stay Linear in the reference"
        );

        let q_only = AttentionConfig {
            project_target_key: false,
            project_target_value: false,
            ..AttentionConfig::default()
        };
        let (agg, params) = build(&q_only, 2, Compat::default()).unwrap();
        assert_eq!(
            names(&params),
            ["aggregate.query.bias", "aggregate.query.weight"]
        );
        assert_eq!((agg.attention_hidden_size(), agg.output_size()), (4, 4));
    }

    #[test]
    fn configured_widths_are_checked_not_raised() {
        let cfg = AttentionConfig {
            project_target_query: false,
            hidden_size: Some(16),
            ..AttentionConfig::default()
        };
        let err = build(&cfg, 2, Compat::default()).unwrap_err().to_string();
        assert!(
            err.contains("aggregate.hidden_size") && err.contains("16"),
            "{err}"
        );
        let (agg, _) = build(&cfg, 2, Compat::reference()).unwrap();
        assert_eq!(
            agg.attention_hidden_size(),
            4,
            "the reference raises it silently"
        );
        let cfg = AttentionConfig {
            project_target_value: false,
            output_size: Some(3),
            ..AttentionConfig::default()
        };
        let err = build(&cfg, 2, Compat::default()).unwrap_err().to_string();
        assert!(err.contains("aggregate.output_size"), "{err}");
    }

    #[test]
    fn bad_mode_and_query_idx_name_the_key() {
        let cfg = AttentionConfig {
            mode: "token-token".to_string(),
            ..AttentionConfig::default()
        };
        assert!(build(&cfg, 2, Compat::default())
            .unwrap_err()
            .to_string()
            .contains("aggregate.mode"));
        let cfg = AttentionConfig {
            query_idx: QueryIdx::Id("squad".to_string()),
            ..AttentionConfig::default()
        };
        let err = build(&cfg, 2, Compat::default()).unwrap_err().to_string();
        assert!(
            err.contains("aggregate.query_idx") && err.contains("squad"),
            "{err}"
        );
        let cfg = AttentionConfig {
            query_idx: QueryIdx::Index(2),
            ..AttentionConfig::default()
        };
        assert!(build(&cfg, 2, Compat::default()).is_err());
    }

    /// Every projection learns: the loss reaches the query, the keys and the values through the softmax.
    #[test]
    fn gradients_reach_every_projection() {
        let cfg = AttentionConfig {
            hidden_size: Some(3),
            reuse_target_query_as_key: false,
            ..AttentionConfig::default()
        };
        let (agg, params) = build(&cfg, 2, Compat::default()).unwrap();
        let x0 = t(&[0.3, -1.0, 2.0, 0.5, 1.5, 0.2, -0.7, 0.1], (1, 2, 4));
        let x1 = t(&[1.0, 0.4, -0.2, 0.9, -1.1, 0.6, 0.3, 2.0], (1, 2, 4));
        let mask = Tensor::ones((1, 2), DType::U32, &Device::Cpu).unwrap();
        let out = agg.forward(&[vec![x0], vec![x1]], &mask).unwrap();
        let loss = out.embeddings.sqr().unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in params.all() {
            let grad = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {name}"));
            let norm = grad
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert!(norm > 0.0, "{name}: zero gradient");
        }
        assert_eq!(
            params.all().len(),
            10,
            "weight and bias of query, keys 0 and 1, values 0 and 1"
        );
    }

    /// "No projections" in the fixed mode is a parameter-free attention: q = x_t, k_i = x_i, v_i = x_i.
    #[test]
    fn no_projections_by_hand() {
        let none = AttentionConfig {
            project_target_query: false,
            project_target_key: false,
            project_target_value: false,
            ..AttentionConfig::default()
        };
        let (agg, _) = build(&none, 2, Compat::default()).unwrap();
        // One token, H = 4: x0 = [2, 0, 0, 0], x1 = [0, 2, 0, 0].
        let x0 = t(&[2.0, 0.0, 0.0, 0.0], (1, 1, 4));
        let x1 = t(&[0.0, 2.0, 0.0, 0.0], (1, 1, 4));
        let mask = Tensor::ones((1, 1), DType::U32, &Device::Cpu).unwrap();
        let out = agg.forward(&[vec![x0], vec![x1]], &mask).unwrap();
        // Scores: x0·x0/√4 = 2, x0·x1/2 = 0 → a = [e²/(e²+1), 1/(e²+1)].
        let e2 = 2f64.exp();
        let a = [e2 / (e2 + 1.0), 1.0 / (e2 + 1.0)];
        let weights = flat(out.attention.as_ref().unwrap());
        assert!((weights[0] - a[0]).abs() < 1e-15 && (weights[1] - a[1]).abs() < 1e-15);
        let expected = [2.0 * a[0], 2.0 * a[1], 0.0, 0.0];
        for (got, want) in flat(&out.embeddings).iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        }
    }

    /// `constant` with an unprojected query: the zero query gives uniform weights (the reference crashes).
    #[test]
    fn constant_identity_query_gives_uniform_weights() {
        let cfg = AttentionConfig {
            mode: "constant2token".to_string(),
            project_target_query: false,
            project_target_value: false,
            project_other_values: Some(false),
            ..AttentionConfig::default()
        };
        let (agg, _) = build(&cfg, 2, Compat::default()).unwrap();
        let x0 = t(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0], (1, 2, 4));
        let x1 = t(&[3.0, 2.0, 1.0, 0.0, 9.0, 9.0, 9.0, 9.0], (1, 2, 4));
        let mask = Tensor::from_vec(vec![1u32, 0], (1, 2), &Device::Cpu).unwrap();
        let out = agg.forward(&[vec![x0], vec![x1]], &mask).unwrap();
        assert!(flat(out.attention.as_ref().unwrap())
            .iter()
            .all(|w| (w - 0.5).abs() < 1e-15));
        // Token 0: the mean [2, 2, 2, 2]; token 1 is padding: zero in the fixed mode.
        assert_eq!(
            flat(&out.embeddings),
            vec![2.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    /// The query read by id is the same as the query read by position.
    #[test]
    fn string_query_idx_equals_its_position() {
        let by_pos = AttentionConfig {
            query_idx: QueryIdx::Index(1),
            ..AttentionConfig::default()
        };
        let by_id = AttentionConfig {
            query_idx: QueryIdx::Id("mrpc".to_string()),
            ..AttentionConfig::default()
        };
        let (a, pa) = build(&by_pos, 3, Compat::default()).unwrap();
        let (b, pb) = build(&by_id, 3, Compat::default()).unwrap();
        assert_eq!(names(&pa), names(&pb));
        assert!(
            !names(&pa).iter().any(|n| n.starts_with("aggregate.keys.1")),
            "key 1 is the shared query"
        );
        let xs: Vec<Vec<Tensor>> = (0..3)
            .map(|m| {
                vec![t(
                    &[m as f64, 1.0, -1.0, 0.5, 0.25, m as f64, 2.0, 1.0],
                    (1, 2, 4),
                )]
            })
            .collect();
        let mask = Tensor::ones((1, 2), DType::U32, &Device::Cpu).unwrap();
        assert_eq!(
            flat(&a.forward(&xs, &mask).unwrap().embeddings),
            flat(&b.forward(&xs, &mask).unwrap().embeddings)
        );
        // Reference (§9.7): every encoder gets fresh keys, so keys.1 exists.
        let (_, pc) = build(&by_id, 3, Compat::reference()).unwrap();
        assert!(names(&pc).contains(&"aggregate.keys.1.weight".to_string()));
    }

    /// `cls` mode with n > 1 layers reads position 0 of the concatenated features.
    #[test]
    fn cls_mode_with_two_layers() {
        let cfg = AttentionConfig {
            mode: "cls2cls".to_string(),
            use_outputs_from_last_n_layers: 2,
            ..AttentionConfig::default()
        };
        let (agg, _) = build(&cfg, 2, Compat::default()).unwrap();
        assert_eq!(agg.input_size(), 8);
        let layer = |v: f64| {
            t(
                &[v, 1.0, 2.0, 3.0, -v, 0.0, 1.0, 0.0, 5.0, 5.0, 5.0, 5.0],
                (1, 3, 4),
            )
        };
        let xs = vec![vec![layer(1.0), layer(2.0)], vec![layer(3.0), layer(-1.0)]];
        let mask = Tensor::ones((1, 3), DType::U32, &Device::Cpu).unwrap();
        let out = agg.forward(&xs, &mask).unwrap();
        let w = out.attention.unwrap().to_vec3::<f64>().unwrap();
        // Every token of the row carries the weights computed at position 0.
        assert_eq!(w[0][0], w[0][1]);
        assert_eq!(w[0][0], w[0][2]);
        assert_eq!(out.embeddings.dims(), &[1, 3, 4]);
    }
}
