//! A label per sequence from its `[CLS]` embedding, as transformers' `BertForSequenceClassification`
//! (with the pooler) and the reference's relation-classification head (without it, SPEC §5).
//!
//! ```text
//! embeddings [B, T, H] ──► [CLS] row [B, H] ──► (pooler: tanh(head.pooler.dense Linear(H, H))) ──► dropout
//!                      ──► head.classifier Linear(H, L) ──► logits [B, L] ──► loss: mean CE
//!                                                                        └─► decode: label id + softmax
//! ```
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use reprobe_models::heads::{Head, SequenceClassificationConfig, SequenceClassificationHead};
//! use reprobe_models::{params::ParamStore, rng::ModelRng};
//!
//! let params = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
//! let cfg = SequenceClassificationConfig { num_labels: 2, dropout: 0.1, pooler: true };
//! let head = SequenceClassificationHead::new(&cfg, 8, &params, None)?;
//! let embeddings = Tensor::ones((3, 5, 8), DType::F32, &Device::Cpu)?; // [B, T, H]
//! let gold = Tensor::new(&[0u32, 1, 1], &Device::Cpu)?; // [B]
//! let out = head.forward_eval(&embeddings, Some(&gold))?;
//! assert_eq!(out.logits.dims(), &[3, 2]);
//! let predictions = SequenceClassificationHead::decode(&out)?;
//! assert_eq!(Head::decode(&head, &out)?, predictions); // the same through the `Head` trait
//! assert_eq!(predictions[0].probabilities.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use candle_core::{DType, IndexOp, Tensor, D};
use serde::{Deserialize, Serialize};

use super::layers::{cross_entropy, softmax_last_dim, Linear};
use super::token_classification::{check_hidden_size, check_labels_and_dropout, check_width};
use super::{Head, PARAM_PREFIX};
use crate::dropout::Dropout;
use crate::params::ParamStore;
use crate::{Error, Result};

/// `[head]` of a sequence classification task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceClassificationConfig {
    /// `L`, the number of labels (e.g. 42 TACRED relations). Required, at least 1.
    pub num_labels: usize,
    /// Dropout probability before the classifier. Default: 0.1 (SPEC §5).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Put transformers' `BertPooler` (`tanh(Linear(H, H))` of `[CLS]`) before the dropout, as
    /// `BertForSequenceClassification` does; off, the classifier reads `[CLS]` directly, as the reference's
    /// relation-classification head (SPEC §5). Default: true.
    #[serde(default = "default_pooler")]
    pub pooler: bool,
}

fn default_dropout() -> f64 {
    0.1
}

fn default_pooler() -> bool {
    true
}

impl SequenceClassificationConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<()> {
        check_labels_and_dropout(self.num_labels, self.dropout)
    }
}

/// What [`SequenceClassificationHead`] computes for a batch.
#[derive(Debug, Clone)]
pub struct SequenceClassificationOutput {
    /// The score of every label for every sequence. `[B, L]`
    pub logits: Tensor,
    /// The mean cross-entropy over the sequences (a scalar), when gold was given.
    pub loss: Option<Tensor>,
}

/// The decoded prediction of one sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct SequencePrediction {
    /// The arg-max label id (the first maximum on ties).
    pub label: u32,
    /// The softmax probability of every label. `[L]`
    pub probabilities: Vec<f32>,
}

/// `[CLS]` (+ pooler) → dropout → linear: parameters `head.pooler.dense.{weight [H, H], bias [H]}` (with
/// the pooler) and `head.classifier.{weight [L, H], bias [L]}`.
#[derive(Debug, Clone)]
pub struct SequenceClassificationHead {
    cfg: SequenceClassificationConfig,
    hidden_size: usize,
    dropout: Dropout,
    pooler: Option<Linear>,
    classifier: Linear,
}

impl SequenceClassificationHead {
    /// Creates (or takes, when they exist) the parameters in `params` after validating `cfg`.
    ///
    /// The pooler (only with `cfg.pooler`) starts from `pooler_init` = `(weight [H, H], bias [H])` when
    /// given, e.g. a checkpoint's pretrained pooler ([`crate::encoders::Checkpoint::pooler`]), as
    /// `BertForSequenceClassification.from_pretrained` does; otherwise, like the classifier, from
    /// N(0, 0.02) weights and zero biases (transformers' `_init_weights` with `initializer_range = 0.02`).
    /// `pooler_init` is not used without `cfg.pooler`, nor when the store already holds the pooler. The
    /// dropout draws its masks from `params.rng()`. `hidden_size` is `H`, the width of the embeddings.
    pub fn new(
        cfg: &SequenceClassificationConfig,
        hidden_size: usize,
        params: &ParamStore,
        pooler_init: Option<(Tensor, Tensor)>,
    ) -> Result<Self> {
        cfg.validate()?;
        check_hidden_size(hidden_size)?;
        let h = hidden_size;
        let pooler_name = format!("{PARAM_PREFIX}pooler.dense");
        let pooler = if cfg.pooler {
            if let Some((w, b)) = pooler_init {
                for (what, tensor, shape) in [("weight", &w, vec![h, h]), ("bias", &b, vec![h])] {
                    if tensor.dims() != shape.as_slice() {
                        return Err(Error::Input {
                            what: format!("pooler_init.{what}"),
                            msg: format!(
                                "shape {:?}, the head needs {shape:?} (hidden size {h})",
                                tensor.dims()
                            ),
                        });
                    }
                    let name = format!("{pooler_name}.{what}");
                    let exists = params.with_prefix(&name).iter().any(|(n, _)| *n == name);
                    if !exists {
                        let value = tensor
                            .to_dtype(params.dtype())?
                            .to_device(params.device())?;
                        params.insert(&name, &value)?;
                    }
                }
            }
            Some(Linear::new(params, &pooler_name, h, h)?)
        } else {
            None
        };
        let classifier = Linear::new(
            params,
            &format!("{PARAM_PREFIX}classifier"),
            h,
            cfg.num_labels,
        )?;
        Ok(SequenceClassificationHead {
            cfg: cfg.clone(),
            hidden_size,
            dropout: Dropout::new(cfg.dropout as f32, params.rng().clone()),
            pooler,
            classifier,
        })
    }

    /// The configuration the head was built with.
    pub fn config(&self) -> &SequenceClassificationConfig {
        &self.cfg
    }

    /// The pooler's current `(weight [H, H], bias [H])`, `None` without a pooler.
    pub fn pooler(&self) -> Option<(Tensor, Tensor)> {
        self.pooler.as_ref().map(|p| (p.w.detach(), p.b.detach()))
    }

    /// The classifier's current `(weight [L, H], bias [L])`, e.g. for [`crate::export`].
    pub fn classifier(&self) -> (Tensor, Tensor) {
        (self.classifier.w.detach(), self.classifier.b.detach())
    }

    /// Logits, and the loss when `labels` are given (what [`Head::forward_t`] does).
    ///
    /// # Shapes
    /// - `embeddings`: `[B, T, H]` in the parameters' dtype, `[CLS]` at position 0
    /// - `labels`: `[B]`, any integer dtype, each below `L`
    /// - output: logits `[B, L]`, loss a scalar
    pub fn forward_t(
        &self,
        embeddings: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Result<SequenceClassificationOutput> {
        self.forward_with(
            self.pooler.as_ref(),
            &self.classifier,
            embeddings,
            labels,
            train,
        )
    }

    /// [`SequenceClassificationHead::forward_t`] with `train = false` on detached parameters and
    /// embeddings: no dropout, no autograd graph (what [`Head::forward_eval`] does).
    pub fn forward_eval(
        &self,
        embeddings: &Tensor,
        labels: Option<&Tensor>,
    ) -> Result<SequenceClassificationOutput> {
        let pooler = self.pooler.as_ref().map(Linear::detached);
        self.forward_with(
            pooler.as_ref(),
            &self.classifier.detached(),
            &embeddings.detach(),
            labels,
            false,
        )
    }

    /// The arg-max label (the first maximum on ties) and the softmax probabilities of every sequence
    /// (what [`Head::decode`] does).
    ///
    /// # Shapes
    /// - output: `[B]` predictions of `[L]` probabilities
    pub fn decode(output: &SequenceClassificationOutput) -> Result<Vec<SequencePrediction>> {
        let labels: Vec<u32> = output.logits.argmax(D::Minus1)?.to_vec1()?; // [B]
        let probs = softmax_last_dim(&output.logits.detach().to_dtype(DType::F32)?)?; // [B, L]
        let probs: Vec<Vec<f32>> = probs.to_vec2()?;
        Ok(labels
            .into_iter()
            .zip(probs)
            .map(|(label, probabilities)| SequencePrediction {
                label,
                probabilities,
            })
            .collect())
    }

    fn forward_with(
        &self,
        pooler: Option<&Linear>,
        classifier: &Linear,
        embeddings: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Result<SequenceClassificationOutput> {
        let (b, t, h) = embeddings.dims3()?;
        check_width(h, self.hidden_size)?;
        if t == 0 {
            return Err(Error::Input {
                what: "embeddings".to_string(),
                msg: "sequences of length 0 have no [CLS] token".to_string(),
            });
        }
        let cls = embeddings.i((.., 0, ..))?.contiguous()?; // [B, H]
        let pooled = match pooler {
            Some(pooler) => pooler.forward(&cls)?.tanh()?, // [B, H]
            None => cls,
        };
        let dropped = self.dropout.forward_t(&pooled, train)?; // [B, H]
        let logits = classifier.forward(&dropped)?; // [B, L]
        let loss = match labels {
            None => None,
            Some(labels) => {
                let targets = sequence_labels(labels, b, self.cfg.num_labels)?; // [B]
                let rows: Vec<usize> = (0..b).collect();
                Some(cross_entropy(&logits, &rows, &targets)?)
            }
        };
        Ok(SequenceClassificationOutput { logits, loss })
    }
}

/// Logits `[B, L]` from embeddings `[B, T, H]` (in the parameters' dtype, `[CLS]` at position 0); with
/// gold labels `[B]` (any integer dtype, each below `L`), the loss.
impl Head for SequenceClassificationHead {
    type Inputs = ();
    /// Label ids `[B]` (any integer dtype).
    type Gold = Tensor;
    type Output = SequenceClassificationOutput;
    /// The arg-max label (the first maximum on ties) and the softmax probabilities of every sequence. `[B]`
    type Decoded = Vec<SequencePrediction>;

    fn forward_t(
        &self,
        embeddings: &Tensor,
        _inputs: &(),
        gold: Option<&Tensor>,
        train: bool,
    ) -> Result<Self::Output> {
        SequenceClassificationHead::forward_t(self, embeddings, gold, train)
    }

    fn forward_eval(
        &self,
        embeddings: &Tensor,
        _inputs: &(),
        gold: Option<&Tensor>,
    ) -> Result<Self::Output> {
        SequenceClassificationHead::forward_eval(self, embeddings, gold)
    }

    fn loss(output: &Self::Output) -> Option<&Tensor> {
        output.loss.as_ref()
    }

    fn decode(&self, output: &Self::Output) -> Result<Self::Decoded> {
        SequenceClassificationHead::decode(output)
    }
}

/// The label of every sequence, checked.
fn sequence_labels(labels: &Tensor, b: usize, num_labels: usize) -> Result<Vec<u32>> {
    if labels.dims() != [b] {
        return Err(Error::Input {
            what: "gold".to_string(),
            msg: format!("labels of shape {:?} for {b} sequences", labels.dims()),
        });
    }
    let host: Vec<i64> = labels.to_dtype(DType::I64)?.to_vec1()?;
    host.iter()
        .enumerate()
        .map(|(i, &label)| {
            if label < 0 || label as usize >= num_labels {
                Err(Error::Input {
                    what: format!("gold[{i}]"),
                    msg: format!("label {label} is not a label id below num_labels = {num_labels}"),
                })
            } else {
                Ok(label as u32)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::ModelRng;
    use candle_core::{Device, Var};

    fn setup(pooler: bool, dropout: f64) -> (ParamStore, SequenceClassificationHead, Var) {
        let params = ParamStore::new(ModelRng::new(3), DType::F64, Device::Cpu);
        let cfg = SequenceClassificationConfig {
            num_labels: 3,
            dropout,
            pooler,
        };
        let head = SequenceClassificationHead::new(&cfg, 4, &params, None).unwrap();
        let emb = ModelRng::new(5)
            .normal((2, 3, 4), 0.0, 1.0, DType::F64, &Device::Cpu)
            .unwrap();
        (params, head, Var::from_tensor(&emb).unwrap())
    }

    fn matvec(w: &[Vec<f64>], b: &[f64], x: &[f64]) -> Vec<f64> {
        w.iter()
            .zip(b)
            .map(|(row, bias)| row.iter().zip(x).map(|(a, c)| a * c).sum::<f64>() + bias)
            .collect()
    }

    #[test]
    fn logits_and_loss_by_hand_with_and_without_pooler() {
        for pooler in [true, false] {
            let (_, head, emb) = setup(pooler, 0.1);
            let gold = Tensor::new(&[2u32, 0], &Device::Cpu).unwrap();
            let out = head.forward_t(emb.as_tensor(), Some(&gold), false).unwrap();
            let x: Vec<Vec<Vec<f64>>> = emb.as_tensor().to_vec3().unwrap();
            let (cw, cb) = head.classifier();
            let (cw, cb): (Vec<Vec<f64>>, Vec<f64>) =
                (cw.to_vec2().unwrap(), cb.to_vec1().unwrap());
            let mut loss = 0.0;
            let logits: Vec<Vec<f64>> = out.logits.to_vec2().unwrap();
            for (row, &y) in [2usize, 0].iter().enumerate() {
                let mut v = x[row][0].clone();
                if let Some((pw, pb)) = head.pooler() {
                    let (pw, pb): (Vec<Vec<f64>>, Vec<f64>) =
                        (pw.to_vec2().unwrap(), pb.to_vec1().unwrap());
                    v = matvec(&pw, &pb, &v).into_iter().map(f64::tanh).collect();
                }
                let want = matvec(&cw, &cb, &v);
                for (g, w) in logits[row].iter().zip(&want) {
                    assert!((g - w).abs() < 1e-12, "pooler {pooler}: {g} vs {w}");
                }
                loss += want.iter().map(|v| v.exp()).sum::<f64>().ln() - want[y];
            }
            let got = out.loss.unwrap().to_scalar::<f64>().unwrap();
            assert!((got - loss / 2.0).abs() < 1e-12, "{got} vs {}", loss / 2.0);
        }
    }

    #[test]
    fn gradients_reach_every_head_parameter_and_only_cls() {
        let (params, head, emb) = setup(true, 0.1);
        let names: Vec<String> = params.all().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "head.classifier.bias",
                "head.classifier.weight",
                "head.pooler.dense.bias",
                "head.pooler.dense.weight"
            ]
        );
        let gold = Tensor::new(&[1u32, 2], &Device::Cpu).unwrap();
        let out = head.forward_t(emb.as_tensor(), Some(&gold), true).unwrap();
        let grads = out.loss.unwrap().backward().unwrap();
        for (name, var) in params.all() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert!(norm > 0.0, "{name} has a zero gradient");
        }
        let g: Vec<Vec<Vec<f64>>> = grads.get(emb.as_tensor()).unwrap().to_vec3().unwrap();
        for row in &g {
            assert!(row[0].iter().any(|&v| v != 0.0));
            assert!(row[1..].iter().flatten().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn eval_has_no_dropout_and_decode_gives_softmax() {
        let (_, head, emb) = setup(true, 0.5);
        let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let a = head.forward_eval(emb.as_tensor(), None).unwrap();
        let b = head.forward_eval(emb.as_tensor(), None).unwrap();
        assert_eq!(values(&a.logits), values(&b.logits));
        let c = head.forward_t(emb.as_tensor(), None, true).unwrap();
        assert_ne!(values(&a.logits), values(&c.logits));
        let pred = SequenceClassificationHead::decode(&a).unwrap();
        let logits: Vec<Vec<f64>> = a.logits.to_vec2().unwrap();
        for (p, row) in pred.iter().zip(&logits) {
            let z: f64 = row.iter().map(|v| v.exp()).sum();
            for (got, v) in p.probabilities.iter().zip(row) {
                assert!((*got as f64 - v.exp() / z).abs() < 1e-6);
            }
            let best = (0..3).fold(0, |m, l| if row[l] > row[m] { l } else { m });
            assert_eq!(p.label as usize, best);
        }
    }

    #[test]
    fn pooler_init_is_used_and_checked() {
        let params = ParamStore::new(ModelRng::new(3), DType::F32, Device::Cpu);
        let cfg = SequenceClassificationConfig {
            num_labels: 2,
            dropout: 0.1,
            pooler: true,
        };
        let w = Tensor::eye(4, DType::F64, &Device::Cpu).unwrap();
        let b = Tensor::full(0.5f64, 4, &Device::Cpu).unwrap();
        let head = SequenceClassificationHead::new(&cfg, 4, &params, Some((w, b.clone()))).unwrap();
        let (pw, pb) = head.pooler().unwrap();
        assert_eq!(pw.dtype(), DType::F32);
        assert_eq!(pw.to_vec2::<f32>().unwrap()[1], vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(pb.to_vec1::<f32>().unwrap(), vec![0.5; 4]);
        let bad = Tensor::zeros((4, 3), DType::F32, &Device::Cpu).unwrap();
        let err = SequenceClassificationHead::new(
            &cfg,
            4,
            &ParamStore::new(ModelRng::new(3), DType::F32, Device::Cpu),
            Some((bad, b)),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("pooler_init.weight"), "{err}");
        let bad_gold = Tensor::new(&[2u32], &Device::Cpu).unwrap();
        let emb = Tensor::zeros((1, 2, 4), DType::F32, &Device::Cpu).unwrap();
        let err = head
            .forward_eval(&emb, Some(&bad_gold))
            .unwrap_err()
            .to_string();
        assert!(err.contains("gold[0]"), "{err}");
    }
}
