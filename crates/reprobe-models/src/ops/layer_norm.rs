//! `mask ∘ LayerNorm(x)` over the last dimension as one node, with its backward pass in one sweep over
//! the rows (the statistics are recomputed there rather than kept).
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{dot, parallel, simd_kernel, slice, sum, sum_zip, view};
use crate::Result;

/// `mask ∘ ((x - mean) / sqrt(var + eps) · weight + bias)` over the last dimension (biased variance, as
/// `torch.nn.LayerNorm`), with `mask` the dropout multipliers when given.
///
/// # Shapes
/// - `xs`: `[..., H]`; `weight`, `bias`: `[H]`; `mask`: as many values as `xs`; output: as `xs`
pub(crate) fn layer_norm(
    xs: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    mask: Option<Vec<f32>>,
) -> Result<Tensor> {
    let op = LayerNorm {
        eps: eps as f32,
        mask,
    };
    Ok(xs
        .contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?)
}

struct LayerNorm {
    eps: f32,
    mask: Option<Vec<f32>>,
}

/// Rows per parallel task.
const ROWS: usize = 32;

/// The mean and `1 / sqrt(var + eps)` of a row (two passes, in f32).
#[inline(always)]
fn stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let var = sum_zip(row, row, |x, _| (x - mean) * (x - mean)) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xs_l: &Layout,
        w: &CpuStorage,
        w_l: &Layout,
        b: &CpuStorage,
        b_l: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w, b) = (
            slice(xs, xs_l, "the input")?,
            slice(w, w_l, "the weight")?,
            slice(b, b_l, "the bias")?,
        );
        let h = w.len();
        if xs_l.dims().last() != Some(&h) || b.len() != h {
            candle_core::bail!(
                "fused-layer-norm: input {:?}, weight {:?}, bias {:?}",
                xs_l.dims(),
                w_l.dims(),
                b_l.dims()
            )
        }
        if let Some(m) = &self.mask {
            if m.len() != x.len() {
                candle_core::bail!(
                    "fused-layer-norm: {} mask values for {} inputs",
                    m.len(),
                    x.len()
                )
            }
        }
        let mut y = vec![0f32; x.len()];
        let n = ROWS * h;
        let per_block = |(c, (y, x)): (usize, (&mut [f32], &[f32]))| {
            let mask = self.mask.as_deref().map(|m| &m[c * n..c * n + y.len()]);
            normalize_rows(y, x, w, b, mask, self.eps)
        };
        if parallel() {
            let blocks = y.par_chunks_mut(n).zip(x.par_chunks(n));
            blocks.enumerate().for_each(per_block);
        } else {
            y.chunks_mut(n)
                .zip(x.chunks(n))
                .enumerate()
                .for_each(per_block);
        }
        Ok((CpuStorage::F32(y), xs_l.shape().clone()))
    }

    fn bwd(
        &self,
        xs: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (g, x, w) = (view(&grad)?, view(xs)?, view(weight)?);
        let (g, x, w) = (g.as_slice(), x.as_slice(), w.as_slice());
        let h = w.len();
        let mut dx = vec![0f32; x.len()];
        // Per task: dx of its rows, and its partial sums of dweight and dbias.
        let n = ROWS * h;
        // A block of rows: its index, then dx, x and g.
        type Block<'a> = (usize, (&'a mut [f32], (&'a [f32], &'a [f32])));
        let per_block = |(c, (dx, (x, g))): Block| {
            let mask = self.mask.as_deref().map(|m| &m[c * n..c * n + dx.len()]);
            let (mut dw, mut db) = (vec![0f32; h], vec![0f32; h]);
            backward_rows(dx, &mut dw, &mut db, x, g, w, mask, self.eps);
            (dw, db)
        };
        let zeros = || (vec![0f32; h], vec![0f32; h]);
        let add = |(mut aw, mut ab): (Vec<f32>, Vec<f32>), (bw, bb): (Vec<f32>, Vec<f32>)| {
            aw.iter_mut().zip(&bw).for_each(|(a, b)| *a += b);
            ab.iter_mut().zip(&bb).for_each(|(a, b)| *a += b);
            (aw, ab)
        };
        let (dw, db) = if parallel() {
            let blocks = dx
                .par_chunks_mut(n)
                .zip(x.par_chunks(n).zip(g.par_chunks(n)));
            blocks.enumerate().map(per_block).reduce(zeros, add)
        } else {
            let blocks = dx.chunks_mut(n).zip(x.chunks(n).zip(g.chunks(n)));
            blocks.enumerate().map(per_block).fold(zeros(), add)
        };
        let dev = xs.device();
        Ok((
            Some(Tensor::from_vec(dx, xs.shape(), dev)?),
            Some(Tensor::from_vec(dw, weight.shape(), dev)?),
            Some(Tensor::from_vec(db, bias.shape(), dev)?),
        ))
    }
}

simd_kernel! {
    /// `y = mask ∘ LayerNorm(x)` for rows of `w.len()` values.
    fn normalize_rows(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], mask: Option<&[f32]>, eps: f32) {
        let h = w.len();
        for (y, x) in y.chunks_mut(h).zip(x.chunks(h)) {
            let (mean, rstd) = stats(x, eps);
            for (((y, x), w), b) in y.iter_mut().zip(x).zip(w).zip(b) {
                *y = (x - mean) * rstd * w + b;
            }
        }
        if let Some(m) = mask {
            for (y, m) in y.iter_mut().zip(m) {
                *y *= m;
            }
        }
    }
}

simd_kernel! {
    /// The gradient `dx` of rows of `w.len()` values, given the output gradient `g`; adds the rows'
    /// contributions to the weight and bias gradients `dw` and `db`.
    #[allow(clippy::too_many_arguments)]
    fn backward_rows(
        dx: &mut [f32],
        dw: &mut [f32],
        db: &mut [f32],
        x: &[f32],
        g: &[f32],
        w: &[f32],
        mask: Option<&[f32]>,
        eps: f32,
    ) {
        let h = w.len();
        // Per row: the incoming gradient through the mask, the normalised input, and their g·w.
        let (mut gm, mut xhat, mut d) = (vec![0f32; h], vec![0f32; h], vec![0f32; h]);
        let rows = dx.chunks_mut(h).zip(x.chunks(h).zip(g.chunks(h)));
        for (r, (dx, (x, g))) in rows.enumerate() {
            gm.copy_from_slice(g);
            if let Some(m) = mask {
                for (o, m) in gm.iter_mut().zip(&m[r * h..]) {
                    *o *= m;
                }
            }
            let (mean, rstd) = stats(x, eps);
            for (o, x) in xhat.iter_mut().zip(x) {
                *o = (x - mean) * rstd;
            }
            for (o, (g, w)) in d.iter_mut().zip(gm.iter().zip(w)) {
                *o = g * w;
            }
            // dx = rstd · (d - mean(d) - xhat · mean(d · xhat))
            let (mean_d, mean_dx) = (sum(&d) / h as f32, dot(&d, &xhat) / h as f32);
            for ((dx, d), xh) in dx.iter_mut().zip(&d).zip(&xhat) {
                *dx = rstd * (d - mean_d - xh * mean_dx);
            }
            for ((dw, db), (g, xh)) in dw.iter_mut().zip(db.iter_mut()).zip(gm.iter().zip(&xhat)) {
                *dw += g * xh;
                *db += g;
            }
        }
    }
}
