//! Gradient-norm clipping as `torch.nn.utils.clip_grad_norm_` (SPEC §3.6): the global L2 norm over a
//! group's gradients, and a scale `min(1, max_norm / (norm + 1e-6))`.
//!
//! The scale is normally handed to [`super::AdamOptimizer::step`], which folds it into its first pass over
//! each gradient (no extra pass, no copy of the gradients); [`clip_grad_norm`] rescales the gradients in
//! a [`GradStore`] for callers that want torch's in-place behaviour.
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};

use super::kernels;
use crate::Result;

/// The result of measuring a group's gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipInfo {
    /// The global L2 norm of the gradients before clipping.
    pub total_norm: f64,
    /// `min(1, max_norm / (total_norm + 1e-6))`: what the gradients are multiplied by. As in torch, a
    /// non-finite norm is not an error: an infinite norm gives 0, a NaN norm gives NaN.
    pub scale: f64,
}

/// The global norm of `grads` and the clipping scale for `max_norm`.
pub fn clip_info(grads: &[&Tensor], max_norm: f64) -> Result<ClipInfo> {
    let mut host_sum = 0f64;
    let mut device_sums: Vec<Tensor> = Vec::new();
    for grad in grads {
        if kernels::fast_path(grad) {
            host_sum += kernels::sum_squares(grad)?;
        } else {
            device_sums.push(grad.to_dtype(DType::F32)?.sqr()?.sum_all()?);
        }
    }
    if !device_sums.is_empty() {
        // One transfer for all the device-side partial sums.
        host_sum += Tensor::stack(&device_sums, 0)?
            .to_dtype(DType::F64)?
            .sum_all()?
            .to_scalar::<f64>()?;
    }
    let total_norm = host_sum.sqrt();
    let scale = (max_norm / (total_norm + 1e-6)).min(1.0);
    Ok(ClipInfo { total_norm, scale })
}

/// Measures the gradients of `params` in `grads` and multiplies them by the clipping scale, in the store.
pub fn clip_grad_norm(
    grads: &mut GradStore,
    params: &[&Tensor],
    max_norm: f64,
) -> Result<ClipInfo> {
    let present: Vec<Tensor> = params
        .iter()
        .filter_map(|p| grads.get(p).cloned())
        .collect();
    let info = clip_info(&present.iter().collect::<Vec<_>>(), max_norm)?;
    if info.scale != 1.0 {
        for p in params {
            if let Some(g) = grads.get(p) {
                let scaled = (g * info.scale)?;
                grads.insert(p, scaled);
            }
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn norm_and_scale_by_hand() {
        let a = Tensor::new(&[3.0f32, 0.0], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[0.0f32], [4.0]], &Device::Cpu).unwrap();
        let info = clip_info(&[&a, &b], 1.0).unwrap();
        assert!((info.total_norm - 5.0).abs() < 1e-12);
        assert!((info.scale - 1.0 / (5.0 + 1e-6)).abs() < 1e-12);
        let info = clip_info(&[&a, &b], 10.0).unwrap();
        assert_eq!(info.scale, 1.0);
        // A non-contiguous gradient takes the generic path and gives the same norm.
        let m = Tensor::new(&[[0.0f32, 4.0], [0.0, 0.0]], &Device::Cpu).unwrap();
        let t = m.t().unwrap();
        assert!(!t.is_contiguous());
        let info = clip_info(&[&a, &t], 1.0).unwrap();
        assert!((info.total_norm - 5.0).abs() < 1e-12);
    }

    #[test]
    fn clip_in_the_store() {
        let x = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        let loss = (x.as_tensor().sqr().unwrap().sum_all().unwrap() * 3.0).unwrap(); // grad = 6x
        let mut grads = loss.backward().unwrap();
        let info = clip_grad_norm(&mut grads, &[x.as_tensor()], 1.0).unwrap();
        let norm = (36.0f64 + 144.0).sqrt();
        assert!((info.total_norm - norm).abs() < 1e-6);
        let g = grads.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        let s = 1.0 / (norm + 1e-6);
        assert!((g[0] as f64 - 6.0 * s).abs() < 1e-6 && (g[1] as f64 - 12.0 * s).abs() < 1e-6);
    }
}
