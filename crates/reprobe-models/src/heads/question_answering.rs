//! Extractive question answering, as transformers' `BertForQuestionAnswering` and the reference's QA head
//! (SPEC §5): `Linear(H, 2)` on every position gives a start and an end logit; the loss is the mean of
//! the cross-entropies of the gold start and end positions over the positions of the window,
//! `(CE(start) + CE(end)) / 2`. An unanswerable question (or a window without the answer) has `[CLS]`
//! (position 0) as start and end.
//!
//! ```text
//! embeddings [B, T, H] ──► head.qa_outputs Linear(H, 2) ──► start_logits, end_logits [B, T]
//!                                  (padding positions: −10⁴) ├─► loss: (CE(start) + CE(end)) / 2
//!                                                            └─► decode: the logits of each row's real positions
//! ```
//!
//! One difference from transformers: padding positions get −10⁴ added before the softmax, so the loss does
//! not depend on how far a batch is padded (transformers pads to `max_length` and lets padding take part).
//! No dropout, as `BertForQuestionAnswering` has none on top of the encoder.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use reprobe_models::heads::QuestionAnsweringHead;
//! use reprobe_models::{params::ParamStore, rng::ModelRng};
//!
//! let params = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
//! let head = QuestionAnsweringHead::new(8, &params)?;
//! let embeddings = Tensor::ones((2, 5, 8), DType::F32, &Device::Cpu)?; // [B, T, H]
//! let mask = Tensor::new(&[[1u32, 1, 1, 1, 1], [1, 1, 1, 0, 0]], &Device::Cpu)?; // [B, T]
//! let gold = Tensor::new(&[[2u32, 3], [0, 0]], &Device::Cpu)?; // [B, 2]: start, end
//! let out = head.forward_t(&embeddings, &mask, Some(&gold))?;
//! assert_eq!(out.start_logits.dims(), &[2, 5]);
//! let rows = QuestionAnsweringHead::decode(&out)?; // real positions only
//! assert_eq!((rows[0].0.len(), rows[1].0.len()), (5, 3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use candle_core::{DType, Tensor, D};

use super::layers::{cross_entropy, Linear};
use super::token_classification::{check_hidden_size, check_width};
use super::{Head, PARAM_PREFIX};
use crate::params::ParamStore;
use crate::{Error, Result};

/// Added to the logits of padding positions.
const PADDING_LOGIT: f64 = -1e4;

/// What [`QuestionAnsweringHead`] computes for a batch.
#[derive(Debug, Clone)]
pub struct QuestionAnsweringOutput {
    /// The start logit of every position (padding: about −10⁴). `[B, T]`
    pub start_logits: Tensor,
    /// The end logit of every position. `[B, T]`
    pub end_logits: Tensor,
    /// The number of real positions of each row (from the mask). `[B]`
    pub lengths: Vec<usize>,
    /// `(CE(start) + CE(end)) / 2`, each the mean over the batch (a scalar), when gold was given.
    pub loss: Option<Tensor>,
}

/// The start/end classifier: parameters `head.qa_outputs.weight` `[2, H]` and `head.qa_outputs.bias`
/// `[2]` (row 0 start, row 1 end, as transformers' `qa_outputs`).
#[derive(Debug, Clone)]
pub struct QuestionAnsweringHead {
    hidden_size: usize,
    qa_outputs: Linear,
}

impl QuestionAnsweringHead {
    /// Creates (or takes, when they exist) `head.qa_outputs` in `params` (weight N(0, 0.02), bias 0, as
    /// transformers' `_init_weights`). Only the head is initialised: the encoders keep their weights
    /// (unlike the reference, SPEC §9.11).
    pub fn new(hidden_size: usize, params: &ParamStore) -> Result<Self> {
        check_hidden_size(hidden_size)?;
        let qa_outputs = Linear::new(params, &format!("{PARAM_PREFIX}qa_outputs"), hidden_size, 2)?;
        Ok(QuestionAnsweringHead {
            hidden_size,
            qa_outputs,
        })
    }

    /// The classifier's current `(weight [2, H], bias [2])`, e.g. for [`crate::export`].
    pub fn qa_outputs(&self) -> (Tensor, Tensor) {
        (self.qa_outputs.w.detach(), self.qa_outputs.b.detach())
    }

    /// Logits, and the loss when `gold` is given.
    ///
    /// # Shapes
    /// - `embeddings`: `[B, T, H]` in the parameters' dtype
    /// - `mask`: `[B, T]`, any integer dtype, 1 for real positions and 0 for padding
    /// - `gold`: `[B, 2]`, any integer dtype: the start and end position of each row (real positions)
    /// - output: logits `[B, T]` each, loss a scalar
    pub fn forward_t(
        &self,
        embeddings: &Tensor,
        mask: &Tensor,
        gold: Option<&Tensor>,
    ) -> Result<QuestionAnsweringOutput> {
        self.forward_with(&self.qa_outputs, embeddings, mask, gold)
    }

    /// [`QuestionAnsweringHead::forward_t`] on detached parameters and embeddings (no autograd graph).
    pub fn forward_eval(
        &self,
        embeddings: &Tensor,
        mask: &Tensor,
        gold: Option<&Tensor>,
    ) -> Result<QuestionAnsweringOutput> {
        self.forward_with(
            &self.qa_outputs.detached(),
            &embeddings.detach(),
            mask,
            gold,
        )
    }

    /// The start and end logits of the real positions of each row, in f32.
    ///
    /// # Shapes
    /// - output: `[B]` of (`[T_b]`, `[T_b]`)
    pub fn decode(output: &QuestionAnsweringOutput) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        let start: Vec<Vec<f32>> = output.start_logits.to_dtype(DType::F32)?.to_vec2()?;
        let end: Vec<Vec<f32>> = output.end_logits.to_dtype(DType::F32)?.to_vec2()?;
        Ok(start
            .into_iter()
            .zip(end)
            .zip(&output.lengths)
            .map(|((mut s, mut e), &n)| {
                s.truncate(n);
                e.truncate(n);
                (s, e)
            })
            .collect())
    }

    fn forward_with(
        &self,
        qa_outputs: &Linear,
        embeddings: &Tensor,
        mask: &Tensor,
        gold: Option<&Tensor>,
    ) -> Result<QuestionAnsweringOutput> {
        let (b, t, h) = embeddings.dims3()?;
        check_width(h, self.hidden_size)?;
        if mask.dims() != [b, t] {
            return Err(Error::Input {
                what: "mask".to_string(),
                msg: format!(
                    "a mask of shape {:?} for embeddings of [{b}, {t}, H]",
                    mask.dims()
                ),
            });
        }
        let lengths: Vec<usize> = mask
            .to_dtype(DType::U32)?
            .sum(D::Minus1)?
            .to_vec1::<u32>()?
            .into_iter()
            .map(|n| n as usize)
            .collect();
        let logits = qa_outputs.forward_nd(embeddings)?; // [B, T, 2]
        let padding = ((mask.to_dtype(logits.dtype())? - 1.0)? * -PADDING_LOGIT)?; // [B, T]: 0 or −10⁴
        let start_logits = logits.narrow(2, 0, 1)?.squeeze(2)?.add(&padding)?; // [B, T]
        let end_logits = logits.narrow(2, 1, 1)?.squeeze(2)?.add(&padding)?; // [B, T]
        let loss = match gold {
            None => None,
            Some(gold) => {
                let (starts, ends) = gold_positions(gold, &lengths)?;
                let rows: Vec<usize> = (0..b).collect();
                let start = cross_entropy(&start_logits, &rows, &starts)?;
                let end = cross_entropy(&end_logits, &rows, &ends)?;
                Some(((start + end)? / 2.0)?)
            }
        };
        Ok(QuestionAnsweringOutput {
            start_logits,
            end_logits,
            lengths,
            loss,
        })
    }
}

/// The gold start and end positions of each row, checked to be real positions.
fn gold_positions(gold: &Tensor, lengths: &[usize]) -> Result<(Vec<u32>, Vec<u32>)> {
    let b = lengths.len();
    if gold.dims() != [b, 2] {
        return Err(Error::Input {
            what: "gold".to_string(),
            msg: format!(
                "gold of shape {:?}; expected [{b}, 2] (start, end per row)",
                gold.dims()
            ),
        });
    }
    let gold: Vec<Vec<i64>> = gold.to_dtype(DType::I64)?.to_vec2()?;
    let mut starts = Vec::with_capacity(b);
    let mut ends = Vec::with_capacity(b);
    for (row, (pair, &n)) in gold.iter().zip(lengths).enumerate() {
        for &p in pair {
            if p < 0 || p as usize >= n {
                return Err(Error::Input {
                    what: format!("gold[{row}]"),
                    msg: format!("position {p} is not one of the row's {n} real positions"),
                });
            }
        }
        starts.push(pair[0] as u32);
        ends.push(pair[1] as u32);
    }
    Ok((starts, ends))
}

/// Start and end logits `[B, T]` from embeddings `[B, T, H]` and the attention mask `[B, T]`; with gold
/// `[B, 2]` (start, end), the loss.
impl Head for QuestionAnsweringHead {
    /// The attention mask `[B, T]` (1 = real position).
    type Inputs = Tensor;
    /// Start and end positions `[B, 2]`.
    type Gold = Tensor;
    type Output = QuestionAnsweringOutput;
    /// The start and end logits of each row's real positions.
    type Decoded = Vec<(Vec<f32>, Vec<f32>)>;

    fn forward_t(
        &self,
        embeddings: &Tensor,
        mask: &Tensor,
        gold: Option<&Tensor>,
        _train: bool,
    ) -> Result<Self::Output> {
        QuestionAnsweringHead::forward_t(self, embeddings, mask, gold)
    }

    fn forward_eval(
        &self,
        embeddings: &Tensor,
        mask: &Tensor,
        gold: Option<&Tensor>,
    ) -> Result<Self::Output> {
        QuestionAnsweringHead::forward_eval(self, embeddings, mask, gold)
    }

    fn loss(output: &Self::Output) -> Option<&Tensor> {
        output.loss.as_ref()
    }

    fn decode(&self, output: &Self::Output) -> Result<Self::Decoded> {
        QuestionAnsweringHead::decode(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::ModelRng;
    use candle_core::{Device, Var};

    fn setup() -> (ParamStore, QuestionAnsweringHead, Var, Tensor) {
        let params = ParamStore::new(ModelRng::new(3), DType::F64, Device::Cpu);
        let head = QuestionAnsweringHead::new(4, &params).unwrap();
        let emb = ModelRng::new(5)
            .normal((2, 4, 4), 0.0, 1.0, DType::F64, &Device::Cpu)
            .unwrap();
        let mask = Tensor::new(&[[1u32, 1, 1, 1], [1, 1, 1, 0]], &Device::Cpu).unwrap();
        (params, head, Var::from_tensor(&emb).unwrap(), mask)
    }

    #[test]
    fn loss_is_the_mean_of_start_and_end_cross_entropies_over_real_positions() {
        let (_, head, emb, mask) = setup();
        let gold = Tensor::new(&[[1u32, 3], [2, 2]], &Device::Cpu).unwrap();
        let out = head.forward_t(emb.as_tensor(), &mask, Some(&gold)).unwrap();
        let s: Vec<Vec<f64>> = out.start_logits.to_vec2().unwrap();
        let e: Vec<Vec<f64>> = out.end_logits.to_vec2().unwrap();
        // By hand, padding left out of the softmax.
        let nll = |row: &[f64], y: usize| row.iter().map(|v| v.exp()).sum::<f64>().ln() - row[y];
        let want = ((nll(&s[0], 1) + nll(&s[1][..3], 2)) / 2.0
            + (nll(&e[0], 3) + nll(&e[1][..3], 2)) / 2.0)
            / 2.0;
        let got = out.loss.as_ref().unwrap().to_scalar::<f64>().unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // The logits are the linear layer's: weight row 0 for start, row 1 for end.
        let (w, b) = head.qa_outputs();
        let x: Vec<Vec<Vec<f64>>> = emb.as_tensor().to_vec3().unwrap();
        let w: Vec<Vec<f64>> = w.to_vec2().unwrap();
        let b: Vec<f64> = b.to_vec1().unwrap();
        let dot = |r: usize, v: &[f64]| w[r].iter().zip(v).map(|(a, c)| a * c).sum::<f64>() + b[r];
        assert!((s[1][1] - dot(0, &x[1][1])).abs() < 1e-12);
        assert!((e[0][2] - dot(1, &x[0][2])).abs() < 1e-12);
        assert!(s[1][3] < -9000.0, "padding is pushed down");
        let rows = QuestionAnsweringHead::decode(&out).unwrap();
        assert_eq!((rows[0].0.len(), rows[1].1.len()), (4, 3));
    }

    #[test]
    fn gold_on_padding_or_out_of_range_is_an_error_and_eval_has_no_graph() {
        let (params, head, emb, mask) = setup();
        for bad in [[[0u32, 3], [3, 3]], [[0, 4], [0, 0]]] {
            let gold = Tensor::new(&bad, &Device::Cpu).unwrap();
            let err = head
                .forward_eval(emb.as_tensor(), &mask, Some(&gold))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("gold[") && err.contains("real positions"),
                "{err}"
            );
        }
        let gold = Tensor::new(&[[0u32, 0], [1, 2]], &Device::Cpu).unwrap();
        let out = head.forward_t(emb.as_tensor(), &mask, Some(&gold)).unwrap();
        let grads = out.loss.unwrap().backward().unwrap();
        for (name, var) in params.all() {
            assert!(grads.get(var.as_tensor()).is_some(), "{name}");
        }
        let eval = head.forward_eval(emb.as_tensor(), &mask, None).unwrap();
        let grads = eval.start_logits.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(emb.as_tensor()).is_none());
    }
}
