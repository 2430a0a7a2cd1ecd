//! Building blocks shared by the task heads: a linear layer, coref-hoi's FFNN, a stable softmax,
//! `log Σ exp` and the mean cross-entropy of classification heads.
//!
//! Every layer takes the **full** parameter name (`head.classifier`, `head.span_emb_score_ffnn`): its
//! tensors are `{name}.weight` and `{name}.bias` in the [`ParamStore`], as in a PyTorch state dict.
use candle_core::{DType, Tensor, D};

use crate::dropout::Dropout;
use crate::params::{Init, ParamStore};
use crate::{Error, Result};

/// A linear layer `y = x Wᵀ + b`, as `torch.nn.Linear`, initialised as coref-hoi and transformers'
/// `_init_weights` with `initializer_range = 0.02` do: weight N(0, 0.02), bias 0.
#[derive(Debug, Clone)]
pub struct Linear {
    /// The weight. `[out, in]`
    pub w: Tensor,
    /// The bias. `[out]`
    pub b: Tensor,
}

impl Linear {
    /// Creates (or takes, when they exist) the parameters `{name}.weight` (`[out_dim, in_dim]`,
    /// N(0, 0.02)) and `{name}.bias` (`[out_dim]`, zeros) in `params`, weight first.
    pub fn new(params: &ParamStore, name: &str, in_dim: usize, out_dim: usize) -> Result<Self> {
        let w = params.get_or_init(
            &format!("{name}.weight"),
            (out_dim, in_dim),
            Init::Normal(0.02),
        )?;
        let b = params.get_or_init(&format!("{name}.bias"), out_dim, Init::Zeros)?;
        Ok(Linear { w, b })
    }

    /// The same weights, cut from the autograd graph (sharing storage).
    pub fn detached(&self) -> Self {
        Linear {
            w: self.w.detach(),
            b: self.b.detach(),
        }
    }

    /// `x Wᵀ + b` on a matrix.
    ///
    /// # Shapes
    /// - `x`: `[R, in]`; output: `[R, out]`
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.w.t()?)?.broadcast_add(&self.b)?)
    }

    /// `x Wᵀ + b` over the last dimension of a tensor of any rank ≥ 1 (rows flattened, then reshaped).
    ///
    /// # Shapes
    /// - `x`: `[..., in]`; output: `[..., out]`
    pub fn forward_nd(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let Some((&in_dim, lead)) = dims.split_last() else {
            return Err(Error::Input {
                what: "linear input".to_string(),
                msg: "a scalar has no feature dimension".to_string(),
            });
        };
        let rows: usize = lead.iter().product();
        let out = self.forward(&x.reshape((rows, in_dim))?)?; // [R, out]
        let mut out_shape = lead.to_vec();
        out_shape.push(self.w.dim(0)?);
        Ok(out.reshape(out_shape)?) // [..., out]
    }

    /// The columns of the weight that act on each consecutive input block of the given widths.
    ///
    /// # Shapes
    /// - output: one `[out, width]` per width
    pub fn weight_blocks(&self, widths: &[usize]) -> Result<Vec<Tensor>> {
        let mut blocks = Vec::with_capacity(widths.len());
        let mut offset = 0;
        for &width in widths {
            let block = self.w.narrow(1, offset, width)?; // [out, width]
                                                          // CPU gemm takes any strides; cuBLAS wants a contiguous operand.
            let block = if self.w.device().is_cpu() {
                block
            } else {
                block.contiguous()?
            };
            blocks.push(block);
            offset += width;
        }
        Ok(blocks)
    }
}

/// coref-hoi's `make_ffnn`: `(Linear → ReLU → Dropout) × depth → Linear`, parameters named as the
/// `nn.Sequential` indices (`{name}.0`, `{name}.3`, …, `{name}.{3·depth}`).
#[derive(Debug, Clone)]
pub struct Ffnn {
    /// The hidden layers (at least one).
    pub hidden: Vec<Linear>,
    /// The output layer.
    pub out: Linear,
}

impl Ffnn {
    /// Parameters `{name}.{3i}.{weight,bias}`, created in layer order. `hidden_sizes` must not be empty
    /// for [`Ffnn::first`] and the forward passes (coref validates `ffnn_depth ≥ 1`).
    pub fn new(
        params: &ParamStore,
        name: &str,
        in_dim: usize,
        hidden_sizes: &[usize],
        out_dim: usize,
    ) -> Result<Self> {
        let mut hidden = Vec::with_capacity(hidden_sizes.len());
        let mut dim = in_dim;
        for (i, &size) in hidden_sizes.iter().enumerate() {
            hidden.push(Linear::new(
                params,
                &format!("{name}.{}", 3 * i),
                dim,
                size,
            )?);
            dim = size;
        }
        let out = Linear::new(
            params,
            &format!("{name}.{}", 3 * hidden_sizes.len()),
            dim,
            out_dim,
        )?;
        Ok(Ffnn { hidden, out })
    }

    /// The same weights, cut from the autograd graph (sharing storage).
    pub fn detached(&self) -> Self {
        Ffnn {
            hidden: self.hidden.iter().map(Linear::detached).collect(),
            out: self.out.detached(),
        }
    }

    /// The first layer (the one whose weight is split by input block).
    ///
    /// # Panics
    /// If the FFNN was built without hidden layers.
    pub fn first(&self) -> &Linear {
        &self.hidden[0]
    }

    /// The whole FFNN with one output, squeezed.
    ///
    /// # Shapes
    /// - `x`: `[R, in]`; output: `[R]`
    pub fn forward_t(&self, x: &Tensor, dropout: &Dropout, train: bool) -> Result<Tensor> {
        let pre = self.first().forward(x)?; // [R, F]
        self.forward_from_first(&pre, dropout, train)
    }

    /// Everything after the first linear layer, given its output (bias included).
    ///
    /// # Shapes
    /// - `pre`: `[R, F]`; output: `[R]`
    pub fn forward_from_first(
        &self,
        pre: &Tensor,
        dropout: &Dropout,
        train: bool,
    ) -> Result<Tensor> {
        let mut x = dropout.forward_t(&pre.relu()?, train)?; // [R, F]
        for layer in &self.hidden[1..] {
            x = dropout.forward_t(&layer.forward(&x)?.relu()?, train)?; // [R, F]
        }
        Ok(self.out.forward(&x)?.squeeze(1)?) // [R]
    }
}

/// Softmax over the last dimension with an exact gradient (the max is a detached constant, as the shift
/// does not change the result). `−∞` entries get weight 0; every row needs one finite entry.
///
/// # Shapes
/// - `xs`: `[..., M]`; output: same
pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    let max = xs.max_keepdim(D::Minus1)?.detach();
    let exp = xs.broadcast_sub(&max)?.exp()?;
    let sum = exp.sum_keepdim(D::Minus1)?;
    Ok(exp.broadcast_div(&sum)?)
}

/// `log Σ exp` over the last dimension of a matrix, the max shifted out as a detached constant (exact
/// gradient).
///
/// # Shapes
/// - `xs`: `[K, M]`; output: `[K]`
pub fn log_sum_exp(xs: &Tensor) -> Result<Tensor> {
    let max = xs.max_keepdim(D::Minus1)?.detach(); // [K, 1]
    let sum = xs.broadcast_sub(&max)?.exp()?.sum_keepdim(D::Minus1)?; // [K, 1]
    Ok(sum.log()?.add(&max)?.squeeze(1)?)
}

/// The mean cross-entropy `−(1/R) Σ_r log softmax(logits_r)[target_r]` of `R` rows, as
/// `torch.nn.CrossEntropyLoss()` (mean reduction). Computed in f32 for half-precision logits (returned
/// in f32 then), in the logits' dtype otherwise.
///
/// With no rows the result is 0 (still attached to `logits`, so a backward pass gives zero gradients),
/// where torch returns NaN (0/0) when every position is ignored.
///
/// # Shapes
/// - `logits`: `[N, L]`; `rows`: indices into the `N` rows, `[R]`; `targets`: one class below `L` per
///   row, `[R]`; output: scalar
///
/// # Panics
/// If `rows` and `targets` differ in length (callers build them together).
pub fn cross_entropy(logits: &Tensor, rows: &[usize], targets: &[u32]) -> Result<Tensor> {
    assert_eq!(rows.len(), targets.len(), "one target per row");
    let logits = match logits.dtype() {
        DType::BF16 | DType::F16 => logits.to_dtype(DType::F32)?,
        _ => logits.clone(),
    };
    if rows.is_empty() {
        return Ok((logits.sum_all()? * 0.0)?);
    }
    let device = logits.device();
    let rows_idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
    let rows_idx = Tensor::from_vec(rows_idx, rows.len(), device)?; // [R]
    let picked = logits.index_select(&rows_idx, 0)?; // [R, L]
    let targets = Tensor::from_vec(targets.to_vec(), (targets.len(), 1), device)?; // [R, 1]
    let target_logit = picked.gather(&targets, 1)?.squeeze(1)?; // [R]
    let nll = log_sum_exp(&picked)?.sub(&target_logit)?; // [R]
    Ok(nll.mean_all()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn ffnn_names_follow_the_sequential_indices() {
        let params = ParamStore::new(crate::rng::ModelRng::new(0), DType::F32, Device::Cpu);
        Ffnn::new(&params, "head.x", 4, &[5, 6], 1).unwrap();
        let names: Vec<String> = params.all().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "head.x.0.bias",
                "head.x.0.weight",
                "head.x.3.bias",
                "head.x.3.weight",
                "head.x.6.bias",
                "head.x.6.weight"
            ]
        );
    }

    #[test]
    fn linear_forward_nd_equals_the_flat_product() {
        let params = ParamStore::new(crate::rng::ModelRng::new(1), DType::F32, Device::Cpu);
        let lin = Linear::new(&params, "head.l", 3, 2).unwrap();
        let x = Tensor::arange(0f32, 24.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 4, 3))
            .unwrap();
        let y = lin.forward_nd(&x).unwrap(); // [2, 4, 2]
        assert_eq!(y.dims(), &[2, 4, 2]);
        let flat = lin.forward(&x.reshape((8, 3)).unwrap()).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            flat.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn cross_entropy_by_hand() {
        let logits = Tensor::new(
            &[[1f64, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0]],
            &Device::Cpu,
        )
        .unwrap();
        let ce = cross_entropy(&logits, &[0, 2], &[1, 0])
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let lse = |r: &[f64]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
        let want = ((lse(&[1.0, 2.0, 0.5]) - 2.0) + (lse(&[2.0, 2.0, 2.0]) - 2.0)) / 2.0;
        assert!((ce - want).abs() < 1e-12, "{ce} vs {want}");
        let none = cross_entropy(&logits, &[], &[]).unwrap();
        assert_eq!(none.to_scalar::<f64>().unwrap(), 0.0);
    }
}
