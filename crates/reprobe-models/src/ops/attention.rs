//! Multi-head scaled dot-product attention with an additive key mask and dropout on the probabilities,
//! as one node: per row of the batch and head, `softmax(scale · Q Kᵀ + mask) ∘ dropout × V`.
//!
//! The heads are read and written in place as column blocks of `[B, T, H]` (no transposed copies). The
//! probabilities (before dropout) are kept for the backward pass, as transformers keeps them.
use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{dot, exp, matmul, max, parallel, simd_kernel, slice, sum, view, Strides};
use crate::Result;

/// The attention context of `query`, `key` and `value` over `num_heads` heads.
///
/// `key_bias` is added to every score of a key (0 on tokens, a large negative value on padding);
/// `dropout` holds the multipliers of the probabilities (see [`crate::dropout::Dropout::mask_values`]).
///
/// # Shapes
/// - `query`, `key`, `value`: `[B, T, H]`, `H = num_heads · d_head`
/// - `key_bias`: `B · T` values; `dropout`: `B · num_heads · T · T` values (`[B, heads, query, key]`)
/// - output: `[B, T, H]`, the heads side by side as transformers concatenates them
pub(crate) fn attention(
    query: &Tensor,
    key: &Tensor,
    value: &Tensor,
    num_heads: usize,
    key_bias: Arc<Vec<f32>>,
    dropout: Option<Vec<f32>>,
) -> Result<Tensor> {
    let op = Attention {
        num_heads,
        key_bias,
        dropout,
        probs: Mutex::new(None),
    };
    Ok(query
        .contiguous()?
        .apply_op3(&key.contiguous()?, &value.contiguous()?, op)?)
}

struct Attention {
    num_heads: usize,
    key_bias: Arc<Vec<f32>>,
    dropout: Option<Vec<f32>>,
    /// The softmax probabilities `[B, heads, T, T]` of the forward pass, before dropout.
    probs: Mutex<Option<Vec<f32>>>,
}

/// Sizes of one call.
#[derive(Clone, Copy)]
struct Dims {
    t: usize,
    h: usize,
    heads: usize,
    dh: usize,
    scale: f32,
}

impl Dims {
    /// Strides of one head's `[T, d_head]` block inside a row's `[T, H]`.
    fn head(&self) -> Strides {
        Strides { rs: self.h, cs: 1 }
    }

    /// Strides of the transpose of one head's block.
    fn head_t(&self) -> Strides {
        Strides { rs: 1, cs: self.h }
    }
}

impl Attention {
    fn dims(&self, shape: &Shape) -> candle_core::Result<(usize, Dims)> {
        let (b, t, h) = shape.dims3()?;
        if self.num_heads == 0 || h % self.num_heads != 0 {
            candle_core::bail!(
                "fused-attention: hidden size {h} and {} heads",
                self.num_heads
            )
        }
        if self.key_bias.len() != b * t {
            candle_core::bail!(
                "fused-attention: {} key mask values for [{b}, {t}]",
                self.key_bias.len()
            )
        }
        if let Some(d) = &self.dropout {
            if d.len() != b * self.num_heads * t * t {
                candle_core::bail!("fused-attention: {} dropout values", d.len())
            }
        }
        let dh = h / self.num_heads;
        Ok((
            b,
            Dims {
                t,
                h,
                heads: self.num_heads,
                dh,
                scale: 1.0 / (dh as f32).sqrt(),
            },
        ))
    }

    /// The probabilities `p` of one batch row and head, which start at `at` in `[B, heads, T, T]`, after
    /// dropout (written into `out`), or `p` itself without dropout.
    fn dropped<'a>(&self, p: &'a [f32], at: usize, out: &'a mut [f32]) -> &'a [f32] {
        match &self.dropout {
            None => p,
            Some(d) => {
                multiply(out, p, &d[at..at + p.len()]);
                out
            }
        }
    }
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "fused-attention"
    }

    fn cpu_fwd(
        &self,
        q: &CpuStorage,
        q_l: &Layout,
        k: &CpuStorage,
        k_l: &Layout,
        v: &CpuStorage,
        v_l: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if k_l.shape() != q_l.shape() || v_l.shape() != q_l.shape() {
            candle_core::bail!(
                "fused-attention: q {:?}, k {:?}, v {:?}",
                q_l.dims(),
                k_l.dims(),
                v_l.dims()
            )
        }
        let (q, k, v) = (
            slice(q, q_l, "q")?,
            slice(k, k_l, "k")?,
            slice(v, v_l, "v")?,
        );
        let (b, d) = self.dims(q_l.shape())?;
        let (t, h, tt) = (d.t, d.h, d.t * d.t);
        let mut out = vec![0f32; b * t * h];
        let mut probs = vec![0f32; b * d.heads * tt];
        let per_row = |(row, (out, probs)): (usize, (&mut [f32], &mut [f32]))| {
            let span = row * t * h..(row + 1) * t * h;
            let (q, k, v) = (&q[span.clone()], &k[span.clone()], &v[span]);
            let bias = &self.key_bias[row * t..(row + 1) * t];
            let mut scratch = vec![0f32; tt];
            for head in 0..d.heads {
                let p = &mut probs[head * tt..(head + 1) * tt];
                let col = head * d.dh;
                let none = gemm::Parallelism::None;
                // scores = scale · q kᵀ   [T, T]
                let (qs, ks) = (&q[col..], &k[col..]);
                matmul(
                    (t, t, d.dh),
                    p,
                    Strides::rows(t),
                    qs,
                    d.head(),
                    ks,
                    d.head_t(),
                    d.scale,
                    false,
                    none,
                );
                softmax_rows(p, bias);
                let at = (row * d.heads + head) * tt;
                let pd = self.dropped(p, at, &mut scratch);
                // context = dropout(p) v   [T, d_head], written into the head's columns
                matmul(
                    (t, d.dh, t),
                    &mut out[col..],
                    d.head(),
                    pd,
                    Strides::rows(t),
                    &v[col..],
                    d.head(),
                    1.0,
                    false,
                    none,
                );
            }
        };
        if parallel() {
            let rows = out
                .par_chunks_mut(t * h)
                .zip(probs.par_chunks_mut(d.heads * tt));
            rows.enumerate().for_each(per_row);
        } else {
            let rows = out.chunks_mut(t * h).zip(probs.chunks_mut(d.heads * tt));
            rows.enumerate().for_each(per_row);
        }
        *self.probs.lock().unwrap_or_else(|e| e.into_inner()) = Some(probs);
        Ok((CpuStorage::F32(out), q_l.shape().clone()))
    }

    fn bwd(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, d) = self.dims(query.shape())?;
        let grad = grad.contiguous()?;
        let (g, q, k, v) = (view(&grad)?, view(query)?, view(key)?, view(value)?);
        let (g, q, k, v) = (g.as_slice(), q.as_slice(), k.as_slice(), v.as_slice());
        let probs = self.probs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(probs) = probs.as_deref() else {
            candle_core::bail!("fused-attention: backward without a forward pass")
        };
        let (t, h, tt) = (d.t, d.h, d.t * d.t);
        let (mut dq, mut dk, mut dv) = (
            vec![0f32; b * t * h],
            vec![0f32; b * t * h],
            vec![0f32; b * t * h],
        );
        type Grads<'a> = (&'a mut [f32], (&'a mut [f32], &'a mut [f32]));
        let per_row = |(row, (dq, (dk, dv))): (usize, Grads)| {
            let span = row * t * h..(row + 1) * t * h;
            let (g, q, k, v) = (
                &g[span.clone()],
                &q[span.clone()],
                &k[span.clone()],
                &v[span],
            );
            let (mut scratch, mut ds) = (vec![0f32; tt], vec![0f32; tt]);
            for head in 0..d.heads {
                let at = (row * d.heads + head) * tt;
                let p = &probs[at..at + tt];
                let col = head * d.dh;
                let none = gemm::Parallelism::None;
                let pd = self.dropped(p, at, &mut scratch);
                // dv = dropout(p)ᵀ g   [T, d_head]
                matmul(
                    (t, d.dh, t),
                    &mut dv[col..],
                    d.head(),
                    pd,
                    Strides::transposed(t),
                    &g[col..],
                    d.head(),
                    1.0,
                    false,
                    none,
                );
                // d(dropout(p)) = g vᵀ   [T, T]
                matmul(
                    (t, t, d.dh),
                    &mut ds,
                    Strides::rows(t),
                    &g[col..],
                    d.head(),
                    &v[col..],
                    d.head_t(),
                    1.0,
                    false,
                    none,
                );
                // dp = that ∘ dropout; dscores = p ∘ (dp - Σ_key dp ∘ p)
                let mask = self.dropout.as_deref().map(|m| &m[at..at + tt]);
                softmax_backward_rows(&mut ds, p, mask, t);
                // dq = scale · dscores k;  dk = scale · dscoresᵀ q   [T, d_head]
                matmul(
                    (t, d.dh, t),
                    &mut dq[col..],
                    d.head(),
                    &ds,
                    Strides::rows(t),
                    &k[col..],
                    d.head(),
                    d.scale,
                    false,
                    none,
                );
                matmul(
                    (t, d.dh, t),
                    &mut dk[col..],
                    d.head(),
                    &ds,
                    Strides::transposed(t),
                    &q[col..],
                    d.head(),
                    d.scale,
                    false,
                    none,
                );
            }
        };
        let n = t * h;
        if parallel() {
            let rows = dq
                .par_chunks_mut(n)
                .zip(dk.par_chunks_mut(n).zip(dv.par_chunks_mut(n)));
            rows.enumerate().for_each(per_row);
        } else {
            let rows = dq.chunks_mut(n).zip(dk.chunks_mut(n).zip(dv.chunks_mut(n)));
            rows.enumerate().for_each(per_row);
        }
        let (dev, shape) = (query.device(), query.shape());
        Ok((
            Some(Tensor::from_vec(dq, shape, dev)?),
            Some(Tensor::from_vec(dk, shape, dev)?),
            Some(Tensor::from_vec(dv, shape, dev)?),
        ))
    }
}

simd_kernel! {
    /// Rows of `bias.len()` scores become `softmax(scores + bias)`.
    fn softmax_rows(p: &mut [f32], bias: &[f32]) {
        for scores in p.chunks_mut(bias.len()) {
            for (s, b) in scores.iter_mut().zip(bias) {
                *s += b;
            }
            let top = max(scores);
            for s in scores.iter_mut() {
                *s = exp(*s - top);
            }
            let total = sum(scores);
            for s in scores.iter_mut() {
                *s /= total;
            }
        }
    }
}

simd_kernel! {
    /// Rows of `t` gradients with respect to the dropped-out probabilities become gradients with respect to
    /// the scores: `ds ∘= mask`, then `p ∘ (ds - Σ_key ds ∘ p)` (`p`: the probabilities, rows of `t`).
    fn softmax_backward_rows(ds: &mut [f32], p: &[f32], mask: Option<&[f32]>, t: usize) {
        if let Some(m) = mask {
            for (d, m) in ds.iter_mut().zip(m) {
                *d *= m;
            }
        }
        for (ds, p) in ds.chunks_mut(t).zip(p.chunks(t)) {
            let dp = dot(ds, p);
            for (d, p) in ds.iter_mut().zip(p) {
                *d = p * (*d - dp);
            }
        }
    }
}

simd_kernel! {
    /// `out = a ∘ b`.
    fn multiply(out: &mut [f32], a: &[f32], b: &[f32]) {
        for (o, (a, b)) in out.iter_mut().zip(a.iter().zip(b)) {
            *o = a * b;
        }
    }
}
