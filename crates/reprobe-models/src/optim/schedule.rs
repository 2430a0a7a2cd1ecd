//! Learning-rate schedules: the `LambdaLR` factors of SPEC §3.6, exactly as coref-hoi writes them.
//!
//! `LambdaLR` semantics: the learning rate of optimiser step `t` (0-based: the first step is `t = 0`) is
//! `base_lr · factor(t)`; the schedule advances once per step. So with a warm-up the very first step of the
//! encoders has learning rate 0, as in the reference.
use serde::{Deserialize, Serialize};

/// A learning-rate factor as a function of the step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Always 1.
    Constant,
    /// The encoders' schedule: `t / max(1, W)` for `t < W`, then `max(0, (T − t) / max(1, T − W))`.
    WarmupLinear {
        /// `W`, the warm-up steps (`int(T · warmup_ratio)`, see [`Schedule::warmup_linear`]).
        warmup_steps: usize,
        /// `T`, the total number of optimiser steps of the run.
        total_steps: usize,
    },
    /// The task schedule: `max(0, (T − t) / max(1, T))`.
    Linear {
        /// `T`, the total number of optimiser steps of the run.
        total_steps: usize,
    },
}

impl Schedule {
    /// The warm-up schedule with `W = int(T · warmup_ratio)` (truncation, as Python's `int`).
    pub fn warmup_linear(total_steps: usize, warmup_ratio: f64) -> Schedule {
        let warmup = total_steps as f64 * warmup_ratio;
        let warmup_steps = if warmup.is_finite() && warmup > 0.0 {
            warmup as usize
        } else {
            0
        };
        Schedule::WarmupLinear {
            warmup_steps,
            total_steps,
        }
    }

    /// The factor of step `t`.
    pub fn factor(&self, t: usize) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::WarmupLinear {
                warmup_steps,
                total_steps,
            } => {
                if t < warmup_steps {
                    t as f64 / warmup_steps.max(1) as f64
                } else {
                    let left = total_steps as f64 - t as f64;
                    let span = (total_steps as f64 - warmup_steps as f64).max(1.0);
                    (left / span).max(0.0)
                }
            }
            Schedule::Linear { total_steps } => {
                ((total_steps as f64 - t as f64) / total_steps.max(1) as f64).max(0.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_by_hand() {
        let s = Schedule::warmup_linear(100, 0.1);
        assert_eq!(
            s,
            Schedule::WarmupLinear {
                warmup_steps: 10,
                total_steps: 100
            }
        );
        assert_eq!(s.factor(0), 0.0);
        assert_eq!(s.factor(5), 0.5);
        assert_eq!(s.factor(10), 1.0);
        assert_eq!(s.factor(55), 0.5);
        assert_eq!(s.factor(100), 0.0);
        assert_eq!(s.factor(150), 0.0);
        let t = Schedule::Linear { total_steps: 8 };
        assert_eq!(t.factor(0), 1.0);
        assert_eq!(t.factor(2), 0.75);
        assert_eq!(t.factor(9), 0.0);
        assert_eq!(Schedule::Constant.factor(123), 1.0);
        // int(280_200 · 0.1) = 28_020 (SPEC §3.6); int(7 · 0.1) = 0 → no warm-up, span T − 0.
        assert_eq!(
            Schedule::warmup_linear(280_200, 0.1),
            Schedule::WarmupLinear {
                warmup_steps: 28_020,
                total_steps: 280_200
            }
        );
        let z = Schedule::warmup_linear(7, 0.1);
        assert_eq!(z.factor(0), 1.0);
        assert!((z.factor(3) - 4.0 / 7.0).abs() < 1e-15);
    }

    #[test]
    fn serde_round_trip() {
        let s = Schedule::Linear { total_steps: 5 };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"kind":"linear","total_steps":5}"#);
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
    }
}
