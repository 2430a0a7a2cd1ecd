//! Dropout that is real in training and the identity in evaluation, with seeded masks.
use candle_core::Tensor;

use crate::rng::ModelRng;
use crate::Result;

/// Inverted dropout (as `torch.nn.Dropout`): in training, zero each element with probability `p` and
/// scale the rest by `1 / (1 - p)`; in evaluation, return the input unchanged.
#[derive(Debug, Clone)]
pub struct Dropout {
    p: f32,
    rng: ModelRng,
}

impl Dropout {
    /// Dropout with probability `p` drawing its masks from `rng`.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1)`; configs are validated before models are built.
    pub fn new(p: f32, rng: ModelRng) -> Self {
        assert!(
            (0.0..1.0).contains(&p),
            "dropout probability {p} not in [0, 1)"
        );
        Dropout { p, rng }
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Applies dropout when `train` is true.
    ///
    /// # Shapes
    /// - `xs`: any; output: same shape and dtype.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let Some(mask) = self.mask_values(xs.elem_count(), train) else {
            return Ok(xs.clone());
        };
        let mask = Tensor::from_vec(mask, xs.shape(), xs.device())?.to_dtype(xs.dtype())?;
        Ok(xs.mul(&mask)?)
    }

    /// The multipliers [`Dropout::forward_t`] would apply to a tensor of `n` elements (row-major): each 0
    /// or `1 / (1 - p)`, drawn from the same stream in the same order; `None` when nothing is dropped
    /// (evaluation, or `p = 0`). For fused kernels that apply the mask themselves.
    pub fn mask_values(&self, n: usize, train: bool) -> Option<Vec<f32>> {
        if !train || self.p == 0.0 {
            return None;
        }
        let scale = 1.0 / (1.0 - self.p);
        Some(
            self.rng
                .uniform_vec(n)
                .into_iter()
                .map(|u| if u < self.p { 0.0 } else { scale })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn eval_is_identity_and_train_scales_kept_elements() {
        let x = Tensor::ones((1000,), candle_core::DType::F32, &Device::Cpu).unwrap();
        let d = Dropout::new(0.25, ModelRng::new(3));
        let y = d.forward_t(&x, false).unwrap();
        assert_eq!(y.to_vec1::<f32>().unwrap(), x.to_vec1::<f32>().unwrap());
        let y = d.forward_t(&x, true).unwrap().to_vec1::<f32>().unwrap();
        let kept = y.iter().filter(|&&v| v != 0.0).count();
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        assert!((650..850).contains(&kept), "{kept}");
    }
}
