//! Adam and AdamW with PyTorch's semantics (`torch.optim.Adam` / `torch.optim.AdamW`, single-tensor
//! implementation), one optimiser per parameter group with its own learning-rate schedule.
//!
//! Per parameter with a gradient `g` (PyTorch skips parameters without one, and so do we; each parameter
//! keeps its own step count):
//! ```text
//! g ← g · grad_scale                                  (the clipping coefficient, see clip.rs)
//! Adam with weight decay wd (L2):  g ← g + wd · p
//! t ← t + 1;  m ← lerp(m, g, 1 − β₁);  v ← β₂ v + (1 − β₂) g²
//! AdamW (decoupled):  p ← p · (1 − lr · wd)
//! p ← p − (lr / (1 − β₁ᵗ)) · m / (sqrt(v) / sqrt(1 − β₂ᵗ) + eps)
//! ```
//! `lr` is the group's `base_lr · schedule.factor(s)`, `s` the number of steps the group has taken.
//!
//! On the CPU, contiguous f32 parameters are updated in place by three fused kernels (`kernels.rs`);
//! elsewhere (CUDA) the same formulas run as tensor operations.
use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use super::clip::{self, ClipInfo};
use super::kernels;
use super::schedule::Schedule;
use crate::{Error, Result};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdamKind {
    /// `torch.optim.Adam`: weight decay, if any, is an L2 term added to the gradient.
    Adam,
    /// `torch.optim.AdamW`: decoupled weight decay `p ← p·(1 − lr·wd)` before the Adam update.
    AdamW,
}

/// Hyper-parameters of one optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// Adam or AdamW.
    pub kind: AdamKind,
    /// The learning rate before the schedule.
    pub base_lr: f64,
    /// `β₁` (torch default 0.9).
    pub beta1: f64,
    /// `β₂` (torch default 0.999).
    pub beta2: f64,
    /// `eps`, added to `sqrt(v̂)` (coref-hoi: 1e-6).
    pub eps: f64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
}

/// One parameter of a group and its weight decay.
#[derive(Debug, Clone)]
pub struct GroupParam {
    /// Its name in the [`crate::params::ParamStore`].
    pub name: String,
    /// The parameter.
    pub var: Var,
    /// Its weight decay (0 for the exempt ones).
    pub weight_decay: f64,
}

/// The Adam state of one parameter.
#[derive(Debug, Clone)]
struct ParamState {
    step: u64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

/// The part of an optimiser's state that is not tensors, saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerMeta {
    /// The group's name.
    pub name: String,
    /// Its settings.
    pub settings: AdamSettings,
    /// Steps taken by the group (the schedule position).
    pub schedule_step: usize,
    /// Per parameter: its weight decay and its Adam step count (absent = never updated).
    pub params: BTreeMap<String, ParamMeta>,
}

/// The saved step count and weight decay of one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamMeta {
    /// Its weight decay.
    pub weight_decay: f64,
    /// Adam steps taken (0 = no state yet).
    pub step: u64,
}

/// One Adam/AdamW optimiser over a group of parameters, with its schedule (one `torch.optim` optimiser
/// plus its `LambdaLR`).
#[derive(Debug, Clone)]
pub struct AdamOptimizer {
    name: String,
    settings: AdamSettings,
    params: Vec<GroupParam>,
    states: Vec<Option<ParamState>>,
    schedule_step: usize,
}

impl AdamOptimizer {
    /// An optimiser named `name` (used in checkpoints and messages) over `params`.
    pub fn new(name: &str, settings: AdamSettings, params: Vec<GroupParam>) -> Result<Self> {
        let bad = |key: &str, msg: String| Error::Config {
            key: format!("{name}.{key}"),
            msg,
        };
        if !(settings.base_lr.is_finite() && settings.base_lr >= 0.0) {
            return Err(bad(
                "lr",
                format!("{} is not a learning rate", settings.base_lr),
            ));
        }
        for (key, beta) in [("beta1", settings.beta1), ("beta2", settings.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(bad(key, format!("{beta} is not in [0, 1)")));
            }
        }
        if !(settings.eps.is_finite() && settings.eps >= 0.0) {
            return Err(bad("eps", format!("{} is not ≥ 0", settings.eps)));
        }
        for p in &params {
            if !(p.weight_decay.is_finite() && p.weight_decay >= 0.0) {
                return Err(bad(
                    "weight_decay",
                    format!("{} (parameter {}) is not ≥ 0", p.weight_decay, p.name),
                ));
            }
        }
        let states = vec![None; params.len()];
        Ok(AdamOptimizer {
            name: name.to_string(),
            settings,
            params,
            states,
            schedule_step: 0,
        })
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's settings.
    pub fn settings(&self) -> &AdamSettings {
        &self.settings
    }

    /// The group's parameters.
    pub fn params(&self) -> &[GroupParam] {
        &self.params
    }

    /// Steps taken so far (the schedule position).
    pub fn schedule_step(&self) -> usize {
        self.schedule_step
    }

    /// The learning rate the next [`AdamOptimizer::step`] uses.
    pub fn lr(&self) -> f64 {
        self.settings.base_lr * self.settings.schedule.factor(self.schedule_step)
    }

    /// The global L2 norm of the group's gradients (SPEC §3.6, `torch.nn.utils.clip_grad_norm_`) and the
    /// scale `min(1, max_norm / (norm + 1e-6))` to pass to [`AdamOptimizer::step`]. The gradients
    /// themselves are not modified.
    pub fn clip_grad_norm(&self, grads: &GradStore, max_norm: f64) -> Result<ClipInfo> {
        let tensors: Vec<&Tensor> = self
            .params
            .iter()
            .filter_map(|p| grads.get(p.var.as_tensor()))
            .collect();
        clip::clip_info(&tensors, max_norm)
    }

    /// One optimiser step on every parameter of the group that has a gradient in `grads`, each gradient
    /// multiplied by `grad_scale` first (1 for none, or [`ClipInfo::scale`]); then the schedule advances.
    pub fn step(&mut self, grads: &GradStore, grad_scale: f64) -> Result<()> {
        let lr = self.lr();
        let s = self.settings;
        for (param, state) in self.params.iter().zip(self.states.iter_mut()) {
            let Some(grad) = grads.get(param.var.as_tensor()) else {
                continue;
            };
            let p = param.var.as_tensor();
            if grad.shape() != p.shape() {
                return Err(Error::Input {
                    what: format!("gradient of {}", param.name),
                    msg: format!(
                        "shape {:?} for a parameter of shape {:?}",
                        grad.shape(),
                        p.shape()
                    ),
                });
            }
            let state = match state {
                Some(state) => state,
                None => state.insert(ParamState {
                    step: 0,
                    exp_avg: p.zeros_like()?,
                    exp_avg_sq: p.zeros_like()?,
                }),
            };
            state.step += 1;
            let bias_correction1 = 1.0 - s.beta1.powi(state.step as i32);
            let bias_correction2 = 1.0 - s.beta2.powi(state.step as i32);
            let step_size = lr / bias_correction1;
            let bc2_sqrt = bias_correction2.sqrt();
            let (decay_factor, l2) = match s.kind {
                AdamKind::AdamW => (1.0 - lr * param.weight_decay, 0.0),
                AdamKind::Adam => (1.0, param.weight_decay),
            };
            let fast = l2 == 0.0
                && kernels::fast_path(p)
                && kernels::fast_path(&state.exp_avg)
                && kernels::fast_path(&state.exp_avg_sq);
            if fast {
                let grad = if grad.is_contiguous() {
                    grad.clone()
                } else {
                    grad.contiguous()?
                };
                state.exp_avg.inplace_op2(
                    &grad,
                    &kernels::FirstMoment {
                        beta1: s.beta1,
                        grad_scale,
                    },
                )?;
                state.exp_avg_sq.inplace_op2(
                    &grad,
                    &kernels::SecondMoment {
                        beta2: s.beta2,
                        grad_scale,
                    },
                )?;
                p.inplace_op3(
                    &state.exp_avg,
                    &state.exp_avg_sq,
                    &kernels::ParamUpdate {
                        decay_factor,
                        step_size,
                        bias_correction2_sqrt: bc2_sqrt,
                        eps: s.eps,
                    },
                )?;
            } else {
                let mut g = grad.to_dtype(p.dtype())?;
                if grad_scale != 1.0 {
                    g = (g * grad_scale)?;
                }
                if l2 != 0.0 {
                    g = g.add(&(p * l2)?)?;
                }
                // lerp(m, g, w) = m + w·(g − m)
                let m = state
                    .exp_avg
                    .add(&(g.sub(&state.exp_avg)? * (1.0 - s.beta1))?)?;
                let v = ((&state.exp_avg_sq * s.beta2)? + (g.sqr()? * (1.0 - s.beta2))?)?;
                let mut new_p = p.detach();
                if decay_factor != 1.0 {
                    new_p = (new_p * decay_factor)?;
                }
                let denom = ((v.sqrt()? / bc2_sqrt)? + s.eps)?;
                let new_p = new_p.sub(&(m.div(&denom)? * step_size)?)?;
                param.var.set(&new_p)?;
                state.exp_avg = m;
                state.exp_avg_sq = v;
            }
        }
        self.schedule_step += 1;
        Ok(())
    }

    /// The state to checkpoint: the moment tensors, named `{group}.{param}.exp_avg` / `.exp_avg_sq`, and
    /// the rest as [`OptimizerMeta`].
    pub fn state(&self) -> (Vec<(String, Tensor)>, OptimizerMeta) {
        let mut tensors = Vec::new();
        let mut params = BTreeMap::new();
        for (param, state) in self.params.iter().zip(&self.states) {
            let step = state.as_ref().map_or(0, |s| s.step);
            params.insert(
                param.name.clone(),
                ParamMeta {
                    weight_decay: param.weight_decay,
                    step,
                },
            );
            if let Some(state) = state {
                tensors.push((
                    format!("{}.{}.exp_avg", self.name, param.name),
                    state.exp_avg.clone(),
                ));
                tensors.push((
                    format!("{}.{}.exp_avg_sq", self.name, param.name),
                    state.exp_avg_sq.clone(),
                ));
            }
        }
        let meta = OptimizerMeta {
            name: self.name.clone(),
            settings: self.settings,
            schedule_step: self.schedule_step,
            params,
        };
        (tensors, meta)
    }

    /// Restores a state saved by [`AdamOptimizer::state`] (the tensors looked up by name in `tensors`).
    /// The group must have the same parameters; the settings are taken from the saved state only for the
    /// schedule position, the rest must match (a changed learning rate on resume is an error).
    pub fn restore(
        &mut self,
        meta: &OptimizerMeta,
        tensors: &std::collections::HashMap<String, Tensor>,
        source: &std::path::Path,
    ) -> Result<()> {
        let bad = |msg: String| Error::Checkpoint {
            path: source.to_path_buf(),
            msg: format!("optimiser `{}`: {msg}", self.name),
        };
        if meta.settings != self.settings {
            return Err(bad(format!(
                "saved settings {:?} differ from the run's {:?}",
                meta.settings, self.settings
            )));
        }
        if meta.params.len() != self.params.len() {
            return Err(bad(format!(
                "{} parameters saved, the group has {}",
                meta.params.len(),
                self.params.len()
            )));
        }
        let mut states = Vec::with_capacity(self.params.len());
        for param in &self.params {
            let Some(saved) = meta.params.get(&param.name) else {
                return Err(bad(format!("no state for parameter `{}`", param.name)));
            };
            if saved.step == 0 {
                states.push(None);
                continue;
            }
            let p = param.var.as_tensor();
            let get = |suffix: &str| -> Result<Tensor> {
                let key = format!("{}.{}.{suffix}", self.name, param.name);
                let t = tensors
                    .get(&key)
                    .ok_or_else(|| bad(format!("tensor `{key}` is missing")))?;
                if t.shape() != p.shape() {
                    return Err(bad(format!(
                        "tensor `{key}` has shape {:?}, the parameter {:?}",
                        t.shape(),
                        p.shape()
                    )));
                }
                // A fresh, contiguous copy on the parameter's device, so in-place updates own it.
                Ok(t.to_device(p.device())?.to_dtype(p.dtype())?.copy()?)
            };
            states.push(Some(ParamState {
                step: saved.step,
                exp_avg: get("exp_avg")?,
                exp_avg_sq: get("exp_avg_sq")?,
            }));
        }
        self.states = states;
        self.schedule_step = meta.schedule_step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// One AdamW step by hand with an `eps` large enough to show where it is added:
    /// p = 1, g = 0.5, lr = 0.1, wd = 0.1, eps = 0.1 → m̂ = 0.5, v̂ = 0.25,
    /// p = 1·(1 − 0.01) − 0.1 · 0.5 / (0.5 + 0.1) = 0.99 − 0.083333… = 0.906666…
    /// (with eps added to sqrt(v) instead of sqrt(v̂), it would be 0.99 − 0.1·0.5/(0.5 + 3.16)).
    #[test]
    fn eps_is_added_to_the_bias_corrected_root_on_both_paths() {
        for dtype in [DType::F32, DType::F64] {
            let var = Var::new(&[1.0f64], &Device::Cpu)
                .unwrap()
                .as_tensor()
                .to_dtype(dtype)
                .map(|t| Var::from_tensor(&t).unwrap())
                .unwrap();
            let settings = AdamSettings {
                kind: AdamKind::AdamW,
                base_lr: 0.1,
                beta1: 0.9,
                beta2: 0.999,
                eps: 0.1,
                schedule: Schedule::Constant,
            };
            let mut opt = AdamOptimizer::new(
                "g",
                settings,
                vec![GroupParam {
                    name: "w".into(),
                    var: var.clone(),
                    weight_decay: 0.1,
                }],
            )
            .unwrap();
            let mut grads = GradStore::default();
            let g = Tensor::new(&[0.25f64], &Device::Cpu)
                .unwrap()
                .to_dtype(dtype)
                .unwrap();
            grads.insert(var.as_tensor(), g);
            opt.step(&grads, 2.0).unwrap(); // the clipping scale doubles the gradient to 0.5
            let p = var
                .as_tensor()
                .to_dtype(DType::F64)
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()[0];
            let want = 0.99 - 0.1 * 0.5 / 0.6;
            assert!((p - want).abs() < 1e-6, "{dtype:?}: {p} vs {want}");
        }
    }

    /// Three AdamW steps on a parameter of more elements than one piece of the fused kernels' parallel
    /// split, once on a rayon pool of one thread and once on three: the weights are the same bit for bit.
    #[test]
    fn fused_steps_do_not_depend_on_the_number_of_threads() {
        let run = |threads: usize| -> Vec<f32> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let n = 3 * (1 << 15) + 7;
                let init: Vec<f32> = (0..n)
                    .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                    .collect();
                let var = Var::new(init, &Device::Cpu).unwrap();
                let settings = AdamSettings {
                    kind: AdamKind::AdamW,
                    base_lr: 1e-3,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-6,
                    schedule: Schedule::Constant,
                };
                let param = GroupParam {
                    name: "w".into(),
                    var: var.clone(),
                    weight_decay: 0.01,
                };
                let mut opt = AdamOptimizer::new("g", settings, vec![param]).unwrap();
                for step in 0..3 {
                    let g: Vec<f32> = (0..n)
                        .map(|i| ((i * 13 + step * 7) % 29) as f32 / 29.0 - 0.5)
                        .collect();
                    let mut grads = GradStore::default();
                    grads.insert(var.as_tensor(), Tensor::new(g, &Device::Cpu).unwrap());
                    opt.step(&grads, 0.7).unwrap();
                }
                var.as_tensor().to_vec1::<f32>().unwrap()
            })
        };
        let (one, three) = (run(1), run(3));
        assert!(one
            .iter()
            .zip(&three)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_ne!(one[0], -2.0, "the weights moved");
    }
}
