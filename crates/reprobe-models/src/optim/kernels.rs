//! Fused CPU kernels of the optimiser: one pass per moment and one per parameter, in place, instead of a
//! chain of allocating element-wise tensor ops. Only for contiguous f32 tensors on the CPU; everything else
//! goes through the generic tensor path of [`super::adamw`], which computes the same formulas.
//!
//! The arithmetic mirrors PyTorch's single-tensor Adam/AdamW on CPU operation by operation
//! (`lerp_`, `mul_`/`addcmul_`, `sqrt() / bc2_sqrt + eps`, `addcdiv_`), with scalars computed in f64 and
//! applied in f32.
use candle_core::{CpuStorage, CustomOp1, InplaceOp2, InplaceOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::Result;

/// Elements per piece of work when an element-wise pass is split over rayon's threads: large enough that
/// handing a piece over costs nothing next to it, small enough that the biggest tensor (the word
/// embeddings) splits evenly. Each element is computed the same way whatever the split.
const CHUNK: usize = 1 << 15;

/// Runs `f` over matching pieces of `dst` and `src`, on rayon's threads when it has more than one.
fn zip_chunks(dst: &mut [f32], src: &[f32], f: impl Fn(&mut [f32], &[f32]) + Sync) {
    if crate::ops::parallel() && dst.len() > CHUNK {
        dst.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(d, s)| f(d, s));
    } else {
        f(dst, src);
    }
}

/// Runs `f` over matching pieces of `dst`, `a` and `b`, on rayon's threads when it has more than one.
fn zip3_chunks(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    f: impl Fn(&mut [f32], &[f32], &[f32]) + Sync,
) {
    if crate::ops::parallel() && dst.len() > CHUNK {
        dst.par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK))
            .zip(b.par_chunks(CHUNK))
            .for_each(|((d, a), b)| f(d, a, b));
    } else {
        f(dst, a, b);
    }
}

fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{what}: expected f32");
    };
    let Some((from, to)) = layout.contiguous_offsets() else {
        candle_core::bail!("{what}: expected a contiguous tensor");
    };
    Ok(&data[from..to])
}

fn contiguous_f32_mut<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a mut [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{what}: expected f32");
    };
    let Some((from, to)) = layout.contiguous_offsets() else {
        candle_core::bail!("{what}: expected a contiguous tensor");
    };
    Ok(&mut data[from..to])
}

/// True when `t` can go through these kernels.
pub(crate) fn fast_path(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == candle_core::DType::F32 && t.is_contiguous()
}

/// `Σ x²` of a tensor, accumulated in f64, as a one-element f64 tensor.
struct SumSquares;

impl CustomOp1 for SumSquares {
    fn name(&self) -> &'static str {
        "sum-squares"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let data = contiguous_f32(storage, layout, "sum-squares")?;
        // Eight partial sums keep the loop vectorisable without changing the f64 result noticeably.
        let mut acc = [0f64; 8];
        let chunks = data.chunks_exact(8);
        let rest = chunks.remainder();
        for chunk in chunks {
            for (a, &x) in acc.iter_mut().zip(chunk) {
                *a += (x as f64) * (x as f64);
            }
        }
        let mut total: f64 = acc.iter().sum();
        total += rest.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
        Ok((CpuStorage::F64(vec![total]), Shape::from(())))
    }
}

/// `Σ x²` of a contiguous f32 CPU tensor, without a temporary tensor.
pub(crate) fn sum_squares(t: &Tensor) -> Result<f64> {
    Ok(t.apply_op1_no_bwd(&SumSquares)?.to_scalar::<f64>()?)
}

/// First moment: `m ← m + (1 − β₁)·(scale·g − m)` (torch's `exp_avg.lerp_(grad, 1 − β₁)` for
/// `1 − β₁ < 0.5`; `end − (end − m)·β₁` otherwise, as torch's lerp kernel does).
pub(crate) struct FirstMoment {
    pub beta1: f64,
    pub grad_scale: f64,
}

impl InplaceOp2 for FirstMoment {
    fn name(&self) -> &'static str {
        "adam-first-moment"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let m = contiguous_f32_mut(s1, l1, "exp_avg")?;
        let g = contiguous_f32(s2, l2, "grad")?;
        let weight = (1.0 - self.beta1) as f32;
        let scale = self.grad_scale as f32;
        let scaled = self.grad_scale != 1.0;
        let one_minus = 1.0f32 - weight;
        zip_chunks(m, g, |m, g| {
            if weight < 0.5 {
                for (m, &g) in m.iter_mut().zip(g) {
                    let g = if scaled { g * scale } else { g };
                    *m += weight * (g - *m);
                }
            } else {
                for (m, &g) in m.iter_mut().zip(g) {
                    let g = if scaled { g * scale } else { g };
                    *m = g - (g - *m) * one_minus;
                }
            }
        });
        Ok(())
    }
}

/// Second moment: `v ← v·β₂ + (1 − β₂)·g·g` with `g` scaled (torch's `mul_(β₂).addcmul_(g, g, 1 − β₂)`).
pub(crate) struct SecondMoment {
    pub beta2: f64,
    pub grad_scale: f64,
}

impl InplaceOp2 for SecondMoment {
    fn name(&self) -> &'static str {
        "adam-second-moment"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let v = contiguous_f32_mut(s1, l1, "exp_avg_sq")?;
        let g = contiguous_f32(s2, l2, "grad")?;
        let beta2 = self.beta2 as f32;
        let value = (1.0 - self.beta2) as f32;
        let scale = self.grad_scale as f32;
        let scaled = self.grad_scale != 1.0;
        zip_chunks(v, g, |v, g| {
            for (v, &g) in v.iter_mut().zip(g) {
                let g = if scaled { g * scale } else { g };
                *v = *v * beta2 + value * g * g;
            }
        });
        Ok(())
    }
}

/// The parameter update: with decoupled decay `p ← p·(1 − lr·wd)` first, then
/// `p ← p − step_size · m / (sqrt(v) / sqrt(bc₂) + eps)`, `step_size = lr / bc₁`.
pub(crate) struct ParamUpdate {
    pub decay_factor: f64,
    pub step_size: f64,
    pub bias_correction2_sqrt: f64,
    pub eps: f64,
}

impl InplaceOp3 for ParamUpdate {
    fn name(&self) -> &'static str {
        "adam-param-update"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<()> {
        let p = contiguous_f32_mut(s1, l1, "param")?;
        let m = contiguous_f32(s2, l2, "exp_avg")?;
        let v = contiguous_f32(s3, l3, "exp_avg_sq")?;
        let decay = self.decay_factor as f32;
        let neg_step = -self.step_size as f32;
        let bc2_sqrt = self.bias_correction2_sqrt as f32;
        let eps = self.eps as f32;
        let decays = self.decay_factor != 1.0;
        zip3_chunks(p, m, v, |p, m, v| {
            for ((p, &m), &v) in p.iter_mut().zip(m).zip(v) {
                if decays {
                    *p *= decay;
                }
                let denom = v.sqrt() / bc2_sqrt + eps;
                *p += neg_step * m / denom; // torch's addcdiv: self + value · t1 / t2
            }
        });
        Ok(())
    }
}
