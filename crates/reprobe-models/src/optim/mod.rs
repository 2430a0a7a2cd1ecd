//! Optimisers, learning-rate schedules and gradient clipping (SPEC §3.6).
//!
//! The parameters of a [`ParamStore`] are split by name into three groups, each one optimiser with its own
//! schedule and its own gradient clipping:
//!
//! | group | names | optimiser | lr | weight decay | schedule |
//! |---|---|---|---|---|---|
//! | `encoders` | `encoders.*` | AdamW | `bert_learning_rate` | `adam_weight_decay`, 0 for names containing `bias` or `LayerNorm.weight` | warm-up then linear decay |
//! | `aggregate` | `aggregate.*` | AdamW | `aggregate_learning_rate` (default: `bert_learning_rate`) | as encoders | as encoders |
//! | `task` | everything else (`head.*`) | Adam | `task_learning_rate` | 0 | linear decay |
//!
//! The reference puts the aggregator in the encoders' optimiser (SPEC §9.5); here it is its own group with,
//! by default, the same settings, so the reference's behaviour is the default and its learning rate can
//! be set apart.
//!
//! One training step, as the reference does it (zero grads → backward → per group: clip, step → schedules
//! step):
//! ```no_run
//! # use reprobe_models::optim::{OptimConfig, OptimizerSet};
//! # fn demo(store: &reprobe_models::params::ParamStore, loss: candle_core::Tensor) -> reprobe_models::Result<()> {
//! let mut optimizers = OptimizerSet::new(store, &OptimConfig::default(), 1000)?;
//! let grads = loss.backward()?;
//! let clipped = optimizers.clip_and_step(&grads)?; // one ClipInfo per group
//! # Ok(()) }
//! ```
pub mod adamw;
pub mod clip;
mod kernels;
pub mod schedule;

use std::collections::HashMap;
use std::path::Path;

use candle_core::backprop::GradStore;
use serde::{Deserialize, Serialize};

pub use adamw::{AdamKind, AdamOptimizer, AdamSettings, GroupParam, OptimizerMeta, ParamMeta};
pub use clip::{clip_grad_norm, clip_info, ClipInfo};
pub use schedule::Schedule;

use crate::params::{save_tensors_atomically, ParamStore};
use crate::{Error, Result};

/// Parameters whose name starts with this belong to the encoders group.
pub const ENCODER_PREFIX: &str = "encoders.";
/// Parameters whose name starts with this belong to the aggregate group.
pub const AGGREGATE_PREFIX: &str = "aggregate.";

/// True for the parameters the reference exempts from weight decay: names containing `bias` or
/// `LayerNorm.weight` (Hugging Face BERT names its layer norms `…LayerNorm.weight` / `…LayerNorm.bias`).
pub fn is_weight_decay_exempt(name: &str) -> bool {
    name.contains("bias") || name.contains("LayerNorm.weight")
}

/// The optimisation keys of SPEC §3.9, with the reference's names; defaults are the paper runs' values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    /// Base learning rate of the encoders group (AdamW). Default 1e-5.
    pub bert_learning_rate: f64,
    /// Base learning rate of the task group (Adam): the head. Default 1e-4 (the paper runs; coref-hoi 2e-4).
    pub task_learning_rate: f64,
    /// Base learning rate of the aggregate group (AdamW); unset = `bert_learning_rate`, the reference's
    /// behaviour (SPEC §9.5).
    pub aggregate_learning_rate: Option<f64>,
    /// `eps` of every optimiser. Default 1e-6.
    pub adam_eps: f64,
    /// Weight decay of the encoders and aggregate groups (names with `bias` / `LayerNorm.weight` exempt).
    /// Default 0.01.
    pub adam_weight_decay: f64,
    /// `β₁` of every optimiser. Default 0.9.
    pub adam_beta1: f64,
    /// `β₂` of every optimiser. Default 0.999.
    pub adam_beta2: f64,
    /// Warm-up steps of the encoders and aggregate groups, as a fraction of all steps
    /// (`W = int(T · warmup_ratio)`). Default 0.1.
    pub warmup_ratio: f64,
    /// Maximum global gradient norm per group (`clip_grad_norm_`); 0 or less switches clipping off.
    /// Default 1.0.
    pub gradient_clip_val: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            bert_learning_rate: 1e-5,
            task_learning_rate: 1e-4,
            aggregate_learning_rate: None,
            adam_eps: 1e-6,
            adam_weight_decay: 0.01,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            warmup_ratio: 0.1,
            gradient_clip_val: 1.0,
        }
    }
}

impl OptimConfig {
    /// Checks every value, naming the key at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, msg: String| {
            Err(Error::Config {
                key: key.to_string(),
                msg,
            })
        };
        for (key, v) in [
            ("bert_learning_rate", self.bert_learning_rate),
            ("task_learning_rate", self.task_learning_rate),
            (
                "aggregate_learning_rate",
                self.aggregate_learning_rate.unwrap_or(0.0),
            ),
            ("adam_eps", self.adam_eps),
            ("adam_weight_decay", self.adam_weight_decay),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(key, format!("{v} is not a number ≥ 0"));
            }
        }
        for (key, v) in [
            ("adam_beta1", self.adam_beta1),
            ("adam_beta2", self.adam_beta2),
        ] {
            if !(0.0..1.0).contains(&v) {
                return bad(key, format!("{v} is not in [0, 1)"));
            }
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad(
                "warmup_ratio",
                format!("{} is not in [0, 1]", self.warmup_ratio),
            );
        }
        if !self.gradient_clip_val.is_finite() {
            return bad("gradient_clip_val", "must be a finite number".to_string());
        }
        Ok(())
    }
}

/// The three optimisers of a run (encoders, aggregate, task) and the clipping threshold.
#[derive(Debug, Clone)]
pub struct OptimizerSet {
    /// The groups, in the order encoders, aggregate, task. A group may have no parameters (frozen
    /// encoders, no aggregator).
    pub groups: Vec<AdamOptimizer>,
    /// Clip each group's gradients to this global norm; `None` = no clipping.
    pub max_grad_norm: Option<f64>,
    /// The store the groups' parameters come from: its half compute copies are refreshed after a step.
    store: ParamStore,
}

impl OptimizerSet {
    /// The groups of the table above over the parameters of `store`, for a run of `total_steps`
    /// optimiser steps (the schedules' `T`, SPEC §3.6: `max_epochs · documents per epoch`).
    pub fn new(store: &ParamStore, cfg: &OptimConfig, total_steps: usize) -> Result<Self> {
        Self::with_grouping(store, cfg, total_steps, false)
    }

    /// As [`OptimizerSet::new`]; with `aggregate_in_encoders` the aggregator's parameters join the encoders
    /// group instead of forming their own (the reference's `base_models` grouping, SPEC §9.5: one gradient
    /// clipping norm over encoders and aggregator; the aggregate group is then empty).
    pub fn with_grouping(
        store: &ParamStore,
        cfg: &OptimConfig,
        total_steps: usize,
        aggregate_in_encoders: bool,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut encoders = Vec::new();
        let mut aggregate = Vec::new();
        let mut task = Vec::new();
        for (name, var) in store.all() {
            let decayed = |name: &str| {
                if is_weight_decay_exempt(name) {
                    0.0
                } else {
                    cfg.adam_weight_decay
                }
            };
            if name.starts_with(ENCODER_PREFIX) {
                let weight_decay = decayed(&name);
                encoders.push(GroupParam {
                    name,
                    var,
                    weight_decay,
                });
            } else if name.starts_with(AGGREGATE_PREFIX) {
                let weight_decay = decayed(&name);
                let group = if aggregate_in_encoders {
                    &mut encoders
                } else {
                    &mut aggregate
                };
                group.push(GroupParam {
                    name,
                    var,
                    weight_decay,
                });
            } else {
                task.push(GroupParam {
                    name,
                    var,
                    weight_decay: 0.0,
                });
            }
        }
        let warmup = Schedule::warmup_linear(total_steps, cfg.warmup_ratio);
        let settings = |kind, base_lr, schedule| AdamSettings {
            kind,
            base_lr,
            beta1: cfg.adam_beta1,
            beta2: cfg.adam_beta2,
            eps: cfg.adam_eps,
            schedule,
        };
        let groups = vec![
            AdamOptimizer::new(
                "encoders",
                settings(AdamKind::AdamW, cfg.bert_learning_rate, warmup),
                encoders,
            )?,
            AdamOptimizer::new(
                "aggregate",
                settings(
                    AdamKind::AdamW,
                    cfg.aggregate_learning_rate
                        .unwrap_or(cfg.bert_learning_rate),
                    warmup,
                ),
                aggregate,
            )?,
            AdamOptimizer::new(
                "task",
                settings(
                    AdamKind::Adam,
                    cfg.task_learning_rate,
                    Schedule::Linear { total_steps },
                ),
                task,
            )?,
        ];
        Ok(OptimizerSet {
            groups,
            max_grad_norm: (cfg.gradient_clip_val > 0.0).then_some(cfg.gradient_clip_val),
            store: store.clone(),
        })
    }

    /// Per group: clip (when `max_grad_norm` is set) and step; every schedule advances; then the f32
    /// master weights are copied into the half compute copies of a bf16/f16 model. Returns the clipping
    /// measurement of each group (scale 1 without clipping).
    pub fn clip_and_step(&mut self, grads: &GradStore) -> Result<Vec<ClipInfo>> {
        let mut infos = Vec::with_capacity(self.groups.len());
        for group in &mut self.groups {
            let info = match self.max_grad_norm {
                Some(max_norm) => group.clip_grad_norm(grads, max_norm)?,
                None => ClipInfo {
                    total_norm: f64::NAN,
                    scale: 1.0,
                },
            };
            group.step(grads, info.scale)?;
            infos.push(info);
        }
        self.store.refresh_compute_copies()?;
        Ok(infos)
    }

    /// The learning rate each group's next step uses, by group name.
    pub fn learning_rates(&self) -> Vec<(String, f64)> {
        self.groups
            .iter()
            .map(|g| (g.name().to_string(), g.lr()))
            .collect()
    }

    /// Writes the state to `dir/optimizer.safetensors` (moments) and `dir/optimizer.json` (step counts,
    /// schedule positions, settings), each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut tensors = Vec::new();
        let mut metas = Vec::new();
        for group in &self.groups {
            let (t, meta) = group.state();
            tensors.extend(t);
            metas.push(meta);
        }
        save_tensors_atomically(&tensors, &dir.join("optimizer.safetensors"))?;
        let json_path = dir.join("optimizer.json");
        let tmp = dir.join("optimizer.json.tmp");
        let json = serde_json::to_string_pretty(&metas).map_err(|e| Error::Checkpoint {
            path: json_path.clone(),
            msg: format!("cannot serialise the optimiser state: {e}"),
        })?;
        std::fs::write(&tmp, json).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &json_path).map_err(|source| Error::Io {
            path: json_path,
            source,
        })
    }

    /// Restores a state written by [`OptimizerSet::save`] into optimisers built the same way (same
    /// groups, parameters and settings).
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let json_path = dir.join("optimizer.json");
        let text = std::fs::read_to_string(&json_path).map_err(|source| Error::Io {
            path: json_path.clone(),
            source,
        })?;
        let metas: Vec<OptimizerMeta> =
            serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
                path: json_path.clone(),
                msg: format!("not an optimiser state ({e})"),
            })?;
        let tensor_path = dir.join("optimizer.safetensors");
        let device = self
            .groups
            .iter()
            .flat_map(|g| g.params().first())
            .map(|p| p.var.device().clone())
            .next()
            .unwrap_or(candle_core::Device::Cpu);
        let tensors: HashMap<String, candle_core::Tensor> =
            candle_core::safetensors::load(&tensor_path, &device).map_err(|e| {
                Error::Checkpoint {
                    path: tensor_path.clone(),
                    msg: format!("cannot read the optimiser moments ({e})"),
                }
            })?;
        if metas.len() != self.groups.len() {
            return Err(Error::Checkpoint {
                path: json_path,
                msg: format!(
                    "{} optimisers saved, the run has {}",
                    metas.len(),
                    self.groups.len()
                ),
            });
        }
        for (group, meta) in self.groups.iter_mut().zip(&metas) {
            if meta.name != group.name() {
                return Err(Error::Checkpoint {
                    path: json_path,
                    msg: format!(
                        "optimiser `{}` saved where the run has `{}`",
                        meta.name,
                        group.name()
                    ),
                });
            }
            group.restore(meta, &tensors, &json_path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Init;
    use crate::rng::ModelRng;
    use candle_core::{DType, Device};

    #[test]
    fn weight_decay_exemptions_follow_hf_names() {
        assert!(is_weight_decay_exempt(
            "encoders.t.encoder.layer.0.output.LayerNorm.weight"
        ));
        assert!(is_weight_decay_exempt(
            "encoders.t.encoder.layer.0.output.LayerNorm.bias"
        ));
        assert!(is_weight_decay_exempt(
            "encoders.t.embeddings.LayerNorm.weight"
        ));
        assert!(is_weight_decay_exempt(
            "encoders.t.encoder.layer.0.attention.self.query.bias"
        ));
        assert!(!is_weight_decay_exempt(
            "encoders.t.encoder.layer.0.attention.self.query.weight"
        ));
        assert!(!is_weight_decay_exempt(
            "encoders.t.embeddings.word_embeddings.weight"
        ));
    }

    #[test]
    fn reference_grouping_puts_the_aggregator_with_the_encoders() {
        let store = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
        for name in [
            "encoders.a.x.weight",
            "aggregate.query.weight",
            "aggregate.query.bias",
            "head.w",
        ] {
            store.get_or_init(name, 2, Init::Zeros).unwrap();
        }
        let sizes = |set: &OptimizerSet| -> Vec<usize> {
            set.groups.iter().map(|g| g.params().len()).collect()
        };
        let own = OptimizerSet::new(&store, &OptimConfig::default(), 10).unwrap();
        assert_eq!(sizes(&own), vec![1, 2, 1]);
        let shared =
            OptimizerSet::with_grouping(&store, &OptimConfig::default(), 10, true).unwrap();
        assert_eq!(sizes(&shared), vec![3, 0, 1]);
        // By name: aggregate.query.bias (exempt), aggregate.query.weight, encoders.a.x.weight.
        let decays: Vec<f64> = shared.groups[0]
            .params()
            .iter()
            .map(|p| p.weight_decay)
            .collect();
        assert_eq!(decays, vec![0.0, 0.01, 0.01]);
    }

    #[test]
    fn groups_by_name() {
        let store = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
        for name in [
            "encoders.a.encoder.layer.0.attention.self.query.weight",
            "encoders.a.encoder.layer.0.attention.self.query.bias",
            "encoders.a.embeddings.LayerNorm.weight",
            "aggregate.query.weight",
            "aggregate.query.bias",
            "head.coarse_bilinear.weight",
            "head.coarse_bilinear.bias",
        ] {
            store.get_or_init(name, 2, Init::Zeros).unwrap();
        }
        let cfg = OptimConfig {
            aggregate_learning_rate: Some(3e-4),
            ..OptimConfig::default()
        };
        let set = OptimizerSet::new(&store, &cfg, 100).unwrap();
        let summary: Vec<(String, Vec<(String, f64)>)> = set
            .groups
            .iter()
            .map(|g| {
                (
                    g.name().to_string(),
                    g.params()
                        .iter()
                        .map(|p| (p.name.clone(), p.weight_decay))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(summary[0].1.len(), 3);
        assert_eq!(
            summary[0].1,
            vec![
                ("encoders.a.embeddings.LayerNorm.weight".to_string(), 0.0),
                (
                    "encoders.a.encoder.layer.0.attention.self.query.bias".to_string(),
                    0.0
                ),
                (
                    "encoders.a.encoder.layer.0.attention.self.query.weight".to_string(),
                    0.01
                ),
            ]
        );
        assert_eq!(
            summary[1].1,
            vec![
                ("aggregate.query.bias".to_string(), 0.0),
                ("aggregate.query.weight".to_string(), 0.01)
            ]
        );
        assert!(summary[2]
            .1
            .iter()
            .all(|(n, wd)| n.starts_with("head.") && *wd == 0.0));
        assert_eq!(set.groups[0].settings().kind, AdamKind::AdamW);
        assert_eq!(set.groups[2].settings().kind, AdamKind::Adam);
        let lrs = set.learning_rates();
        assert_eq!(lrs[0], ("encoders".to_string(), 0.0)); // warm-up starts at 0
        assert_eq!(lrs[1], ("aggregate".to_string(), 0.0));
        assert_eq!(lrs[2], ("task".to_string(), 1e-4));
        assert_eq!(set.groups[1].settings().base_lr, 3e-4);
    }
}
