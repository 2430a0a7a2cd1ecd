//! Attention softmax with the padding mask added in the same pass (f32, CPU, no gradient).
//!
//! The unfused form (`scores + mask`, then candle's `softmax_last_dim`) walks and allocates the
//! `[heads, T, T]` score tensor twice; this op does it once. Used only where no gradient is needed (frozen
//! encoders, evaluation); a tuned encoder in training uses the composed, differentiable softmax.
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::Result;

/// `softmax(scores + mask_bias)` over the last dimension, when both are f32 on CPU; `None` otherwise
/// (the caller falls back to the unfused ops).
///
/// # Shapes
/// - `scores`: `[..., T]`
/// - `mask_bias`: `[T]` (added to every row)
/// - output: like `scores`
pub(crate) fn masked_softmax(scores: &Tensor, mask_bias: &Tensor) -> Result<Option<Tensor>> {
    if scores.dtype() != DType::F32 || mask_bias.dtype() != DType::F32 || !scores.device().is_cpu()
    {
        return Ok(None);
    }
    let scores = scores.contiguous()?;
    let mask_bias = mask_bias.contiguous()?;
    Ok(Some(scores.apply_op2_no_bwd(&mask_bias, &MaskedSoftmax)?))
}

struct MaskedSoftmax;

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(scores), CpuStorage::F32(mask)) = (s1, s2) else {
            candle_core::bail!("masked-softmax: f32 only")
        };
        let (Some((a1, b1)), Some((a2, b2))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("masked-softmax: contiguous inputs only")
        };
        let (scores, mask) = (&scores[a1..b1], &mask[a2..b2]);
        let t = mask.len();
        if l1.dims().last() != Some(&t) {
            candle_core::bail!(
                "masked-softmax: scores {:?} and mask {:?} do not fit",
                l1.dims(),
                l2.dims()
            )
        }
        let mut out = vec![0f32; scores.len()];
        out.par_chunks_mut(t)
            .zip(scores.par_chunks(t))
            .for_each(|(o, s)| {
                let mut max = f32::NEG_INFINITY;
                for ((o, &s), &m) in o.iter_mut().zip(s).zip(mask) {
                    *o = s + m;
                    max = max.max(*o);
                }
                let mut sum = 0f32;
                for o in o.iter_mut() {
                    *o = (*o - max).exp();
                    sum += *o;
                }
                let inv = 1.0 / sum;
                for o in o.iter_mut() {
                    *o *= inv;
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn equals_mask_add_then_softmax() {
        let dev = Device::Cpu;
        let scores = Tensor::new(
            &[
                [[1.0f32, 2.0, 3.0, 0.5], [-1.0, 0.0, 4.0, 2.0]],
                [[0.0, 0.0, 0.0, 9.0], [3.0, 1.0, -2.0, 0.0]],
            ],
            &dev,
        )
        .unwrap(); // [2, 2, 4]
        let mask = Tensor::new(&[0.0f32, 0.0, 0.0, f32::MIN], &dev).unwrap(); // last key is padding
        let fused = masked_softmax(&scores, &mask).unwrap().unwrap();
        let reference =
            candle_nn::ops::softmax_last_dim(&scores.broadcast_add(&mask).unwrap()).unwrap();
        let d = (&fused - &reference)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-7);
        // Hand value: row [1, 2, 3, pad] → e^1, e^2, e^3 over their sum.
        let row = fused
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let z = 1f32.exp() + 2f32.exp() + 3f32.exp();
        assert!(
            (row[2] - 3f32.exp() / z).abs() < 1e-6 && row[3] == 0.0,
            "{row:?}"
        );
    }
}
