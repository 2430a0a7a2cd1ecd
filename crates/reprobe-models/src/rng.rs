//! The one seedable random number generator behind every dropout mask and weight initialisation.
//!
//! candle's CPU backend cannot be seeded (`Device::set_seed` fails on CPU), so random tensors are drawn
//! on the host from a ChaCha8 stream and copied to the device. The stream position is part of the
//! state, so a resumed run draws exactly the numbers an uninterrupted one would have drawn.
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A shared handle on one seeded random stream; clones draw from the same stream.
#[derive(Debug, Clone)]
pub struct ModelRng {
    inner: Arc<Mutex<(u64, ChaCha8Rng)>>,
}

/// The serialisable position of a [`ModelRng`] stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The seed the stream was created with.
    pub seed: u64,
    /// How many 32-bit words have been drawn.
    pub word_pos: u128,
}

impl ModelRng {
    /// A new stream from `seed`.
    pub fn new(seed: u64) -> Self {
        ModelRng {
            inner: Arc::new(Mutex::new((seed, ChaCha8Rng::seed_from_u64(seed)))),
        }
    }

    /// Where the stream is, for checkpoints.
    pub fn state(&self) -> RngState {
        let guard = self.lock();
        RngState {
            seed: guard.0,
            word_pos: guard.1.get_word_pos(),
        }
    }

    /// Puts the stream back where `state` says (in place, so every clone follows).
    pub fn restore(&self, state: RngState) {
        let mut guard = self.lock();
        let mut rng = ChaCha8Rng::seed_from_u64(state.seed);
        rng.set_word_pos(state.word_pos);
        *guard = (state.seed, rng);
    }

    /// A child stream seeded from this one (for work that must not shift the main stream).
    pub fn fork(&self) -> ModelRng {
        let seed: u64 = self.lock().1.random();
        ModelRng::new(seed)
    }

    /// `n` samples uniform in `[0, 1)`.
    pub fn uniform_vec(&self, n: usize) -> Vec<f32> {
        let rng = &mut self.lock().1;
        (0..n).map(|_| rng.random::<f32>()).collect()
    }

    /// `n` samples from N(mean, std²) (Box–Muller).
    pub fn normal_vec(&self, n: usize, mean: f64, std: f64) -> Vec<f32> {
        let rng = &mut self.lock().1;
        let mut out = Vec::with_capacity(n + 1);
        while out.len() < n {
            let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
            let u2: f64 = rng.random::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let theta = 2.0 * std::f64::consts::PI * u2;
            out.push((mean + std * r * theta.cos()) as f32);
            out.push((mean + std * r * theta.sin()) as f32);
        }
        out.truncate(n);
        out
    }

    /// A tensor of N(mean, std²) samples (f32, then cast to `dtype`).
    pub fn normal<S: Into<Shape>>(
        &self,
        shape: S,
        mean: f64,
        std: f64,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let data = self.normal_vec(shape.elem_count(), mean, std);
        Ok(Tensor::from_vec(data, shape, device)?.to_dtype(dtype)?)
    }

    /// A tensor uniform in `[lo, hi)` (f32, then cast to `dtype`).
    pub fn uniform<S: Into<Shape>>(
        &self,
        shape: S,
        lo: f64,
        hi: f64,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let data: Vec<f32> = self
            .uniform_vec(shape.elem_count())
            .into_iter()
            .map(|u| (lo + (hi - lo) * u as f64) as f32)
            .collect();
        Ok(Tensor::from_vec(data, shape, device)?.to_dtype(dtype)?)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, ChaCha8Rng)> {
        // A poisoned lock only means another thread panicked mid-draw; the stream itself is still valid.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_replays_the_stream() {
        let rng = ModelRng::new(7);
        let _ = rng.uniform_vec(13);
        let state = rng.state();
        let a = rng.uniform_vec(5);
        rng.restore(state);
        let b = rng.uniform_vec(5);
        assert_eq!(a, b);
        assert_eq!(state.seed, 7);
    }

    #[test]
    fn normal_has_the_asked_moments() {
        let rng = ModelRng::new(1);
        let xs = rng.normal_vec(200_000, 0.5, 0.02);
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 1e-3, "{mean}");
        assert!((var.sqrt() - 0.02).abs() < 1e-3, "{}", var.sqrt());
    }
}
