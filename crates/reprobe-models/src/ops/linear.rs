//! `mask ∘ act(x Wᵀ + b)`: a linear layer with an optional exact GELU and an optional dropout mask, as one
//! node whose backward pass is three matrix products and a column sum.
use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{matmul, parallel, parallelism, simd_kernel, slice, view, Strides};
use super::gelu;
use crate::Result;

/// `mask ∘ act(xs Wᵀ + b)` with `act` the exact GELU when `gelu` is set, the identity otherwise, and
/// `mask` the dropout multipliers when given (see [`crate::dropout::Dropout::mask_values`]).
///
/// # Shapes
/// - `xs`: `[..., in]`; `weight`: `[out, in]`; `bias`: `[out]`; `mask`: `rows · out` values
/// - output: `[..., out]`
pub(crate) fn linear(
    xs: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    gelu: bool,
    mask: Option<Vec<f32>>,
) -> Result<Tensor> {
    let op = Linear {
        gelu,
        mask,
        pre_activation: Mutex::new(None),
    };
    Ok(xs
        .contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?)
}

struct Linear {
    gelu: bool,
    mask: Option<Vec<f32>>,
    /// `x Wᵀ + b`, kept by the forward pass for the GELU's derivative.
    pre_activation: Mutex<Option<Vec<f32>>>,
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "fused-linear"
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
        let (out_dim, in_dim) = w_l.shape().dims2()?;
        let dims = xs_l.dims();
        if dims.last() != Some(&in_dim) || b.len() != out_dim {
            candle_core::bail!(
                "fused-linear: input {dims:?}, weight {:?}, bias {:?}",
                w_l.dims(),
                b_l.dims()
            )
        }
        let rows = x.len() / in_dim;
        let mut y: Vec<f32> = Vec::with_capacity(rows * out_dim);
        for _ in 0..rows {
            y.extend_from_slice(b);
        }
        matmul(
            (rows, out_dim, in_dim),
            &mut y,
            Strides::rows(out_dim),
            x,
            Strides::rows(in_dim),
            w,
            Strides::transposed(in_dim),
            1.0,
            true,
            parallelism(),
        ); // [rows, out] = b + x Wᵀ
        if let Some(mask) = &self.mask {
            if mask.len() != y.len() {
                candle_core::bail!(
                    "fused-linear: {} mask values for {} outputs",
                    mask.len(),
                    y.len()
                )
            }
        }
        let out = if self.gelu {
            let mut act = vec![0f32; y.len()];
            let mask = self.mask.as_deref();
            if parallel() {
                let chunks = act.par_chunks_mut(CHUNK).zip(y.par_chunks(CHUNK));
                chunks.enumerate().for_each(|(c, (a, p))| {
                    gelu_forward(a, p, mask.map(|m| &m[c * CHUNK..c * CHUNK + a.len()]))
                });
            } else {
                gelu_forward(&mut act, &y, mask);
            }
            *self
                .pre_activation
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(y);
            act
        } else {
            match &self.mask {
                Some(mask) if parallel() => y
                    .par_chunks_mut(CHUNK)
                    .zip(mask.par_chunks(CHUNK))
                    .for_each(|(y, m)| local_gradient(y, Some(m), None)),
                Some(mask) => local_gradient(&mut y, Some(mask), None),
                None => {}
            }
            y
        };
        let mut shape = dims.to_vec();
        *shape.last_mut().expect("checked above") = out_dim;
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }

    fn bwd(
        &self,
        xs: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (out_dim, in_dim) = weight.dims2()?;
        let grad = grad.contiguous()?;
        let (g, x, w) = (view(&grad)?, view(xs)?, view(weight)?);
        let (g, x, w) = (g.as_slice(), x.as_slice(), w.as_slice());
        let rows = x.len() / in_dim;
        // The gradient with respect to x Wᵀ + b: through the mask and the activation.
        let pre = self
            .pre_activation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if self.gelu && pre.is_none() {
            candle_core::bail!("fused-linear: backward without a forward pass")
        }
        let local: Option<Vec<f32>> = match (&*pre, &self.mask) {
            (None, None) => None,
            (pre, mask) => {
                let mut d = g.to_vec();
                let (pre, mask) = (pre.as_deref(), mask.as_deref());
                if parallel() {
                    d.par_chunks_mut(CHUNK).enumerate().for_each(|(c, d)| {
                        let range = c * CHUNK..c * CHUNK + d.len();
                        local_gradient(d, mask.map(|m| &m[range.clone()]), pre.map(|p| &p[range]))
                    });
                } else {
                    local_gradient(&mut d, mask, pre);
                }
                Some(d)
            }
        };
        let g = local.as_deref().unwrap_or(g); // [rows, out]

        let mut dx = vec![0f32; rows * in_dim];
        matmul(
            (rows, in_dim, out_dim),
            &mut dx,
            Strides::rows(in_dim),
            g,
            Strides::rows(out_dim),
            w,
            Strides::rows(in_dim),
            1.0,
            false,
            parallelism(),
        ); // [rows, in] = g W
        let mut dw = vec![0f32; out_dim * in_dim];
        matmul(
            (out_dim, in_dim, rows),
            &mut dw,
            Strides::rows(in_dim),
            g,
            Strides::transposed(out_dim),
            x,
            Strides::rows(in_dim),
            1.0,
            false,
            parallelism(),
        ); // [out, in] = gᵀ x
        let db = column_sums(g, out_dim);
        let dev = xs.device();
        Ok((
            Some(Tensor::from_vec(dx, xs.shape(), dev)?),
            Some(Tensor::from_vec(dw, weight.shape(), dev)?),
            Some(Tensor::from_vec(db, bias.shape(), dev)?),
        ))
    }
}

/// Elements per parallel task of the element-wise loops.
const CHUNK: usize = 1 << 14;

/// The sums of the columns of a row-major matrix with `cols` columns.
pub(super) fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let add = |mut acc: Vec<f32>, row: &[f32]| {
        add_assign(&mut acc, row);
        acc
    };
    if !parallel() {
        return m.chunks(cols).fold(vec![0f32; cols], add);
    }
    m.par_chunks(cols * 64)
        .map(|block| block.chunks(cols).fold(vec![0f32; cols], add))
        .reduce(|| vec![0f32; cols], |a, b| add(a, &b))
}

simd_kernel! {
    /// `out = gelu(pre)`, times `mask` when given.
    fn gelu_forward(out: &mut [f32], pre: &[f32], mask: Option<&[f32]>) {
        for (o, &p) in out.iter_mut().zip(pre) {
            *o = gelu::gelu(p);
        }
        if let Some(m) = mask {
            for (o, m) in out.iter_mut().zip(m) {
                *o *= m;
            }
        }
    }
}

simd_kernel! {
    /// `d ∘= mask` and `d ∘= gelu'(pre)`, each when given: a gradient through the dropout mask and the
    /// activation (or, without `pre`, the mask applied in the forward pass).
    fn local_gradient(d: &mut [f32], mask: Option<&[f32]>, pre: Option<&[f32]>) {
        if let Some(m) = mask {
            for (d, m) in d.iter_mut().zip(m) {
                *d *= m;
            }
        }
        if let Some(p) = pre {
            for (d, &p) in d.iter_mut().zip(p) {
                *d *= gelu::gelu_derivative(p);
            }
        }
    }
}

simd_kernel! {
    /// `acc += row`.
    fn add_assign(acc: &mut [f32], row: &[f32]) {
        for (a, r) in acc.iter_mut().zip(row) {
            *a += r;
        }
    }
}
