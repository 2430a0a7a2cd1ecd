//! A label per subtoken, as transformers' `BertForTokenClassification` and the reference's NER head
//! (SPEC §5): `dropout(0.1) → Linear(H, L)`, cross-entropy over the positions whose label is not −100.
//!
//! ```text
//! embeddings [B, T, H] ──► dropout ──► head.classifier Linear(H, L) ──► logits [B, T, L]
//!                                                                   ├─► loss: mean CE over labels ≠ −100
//!                                                                   └─► decode: argmax label id per position
//! ```
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use reprobe_models::heads::{Head, TokenClassificationConfig, TokenClassificationHead};
//! use reprobe_models::{params::ParamStore, rng::ModelRng};
//!
//! let params = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
//! let cfg = TokenClassificationConfig { num_labels: 3, dropout: 0.1 };
//! let head = TokenClassificationHead::new(&cfg, 8, &params)?;
//! let embeddings = Tensor::ones((2, 4, 8), DType::F32, &Device::Cpu)?; // [B, T, H]
//! let labels = Tensor::new(&[[-100i64, 0, 2, -100], [-100, 1, -100, -100]], &Device::Cpu)?; // [B, T]
//! let out = head.forward_t(&embeddings, Some(&labels), true)?;
//! assert_eq!(out.logits.dims(), &[2, 4, 3]);
//! let loss = TokenClassificationHead::loss(&out).unwrap(); // a scalar to back-propagate
//! let predicted = TokenClassificationHead::decode(&out)?; // [B][T] label ids
//! // The same through the `Head` trait, as a generic train loop calls it:
//! let again = Head::forward_eval(&head, &embeddings, &(), Some(&labels))?;
//! assert_eq!(head.decode(&again)?, TokenClassificationHead::decode(&again)?);
//! assert_eq!(predicted.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

use super::layers::{cross_entropy, Linear};
use super::{Head, PARAM_PREFIX};
use crate::dropout::Dropout;
use crate::params::ParamStore;
use crate::{Error, Result};

/// The label that marks a position without a gold label (special tokens, padding, non-first
/// subtokens), as `torch.nn.CrossEntropyLoss`'s default `ignore_index`.
pub const IGNORE_INDEX: i64 = -100;

/// `[head]` of a token classification task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClassificationConfig {
    /// `L`, the number of labels (e.g. 37 BIO labels for OntoNotes NER). Required, at least 1.
    pub num_labels: usize,
    /// Dropout probability on the embeddings before the classifier. Default: 0.1 (SPEC §5).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
}

fn default_dropout() -> f64 {
    0.1
}

impl TokenClassificationConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<()> {
        check_labels_and_dropout(self.num_labels, self.dropout)
    }
}

/// The shared checks of the classification head configs.
pub(crate) fn check_labels_and_dropout(num_labels: usize, dropout: f64) -> Result<()> {
    if num_labels == 0 {
        return Err(Error::Config {
            key: "head.num_labels".to_string(),
            msg: "at least one label is needed".to_string(),
        });
    }
    if !(0.0..1.0).contains(&dropout) {
        return Err(Error::Config {
            key: "head.dropout".to_string(),
            msg: format!("{dropout} is not a probability in [0, 1)"),
        });
    }
    Ok(())
}

/// What [`TokenClassificationHead`] computes for a batch.
#[derive(Debug, Clone)]
pub struct TokenClassificationOutput {
    /// The score of every label at every position. `[B, T, L]`
    pub logits: Tensor,
    /// The mean cross-entropy over the labelled positions (a scalar), when gold was given.
    pub loss: Option<Tensor>,
}

/// A linear tagger: parameters `head.classifier.weight` `[L, H]` and `head.classifier.bias` `[L]`.
#[derive(Debug, Clone)]
pub struct TokenClassificationHead {
    cfg: TokenClassificationConfig,
    hidden_size: usize,
    dropout: Dropout,
    classifier: Linear,
}

impl TokenClassificationHead {
    /// Creates (or takes, when they exist) the classifier in `params` (weight N(0, 0.02), bias 0, as
    /// transformers' `_init_weights` with `initializer_range = 0.02`) after validating `cfg`. The dropout
    /// draws its masks from `params.rng()`. `hidden_size` is `H`, the width of the embeddings.
    pub fn new(
        cfg: &TokenClassificationConfig,
        hidden_size: usize,
        params: &ParamStore,
    ) -> Result<Self> {
        cfg.validate()?;
        check_hidden_size(hidden_size)?;
        let classifier = Linear::new(
            params,
            &format!("{PARAM_PREFIX}classifier"),
            hidden_size,
            cfg.num_labels,
        )?;
        Ok(TokenClassificationHead {
            cfg: cfg.clone(),
            hidden_size,
            dropout: Dropout::new(cfg.dropout as f32, params.rng().clone()),
            classifier,
        })
    }

    /// The configuration the head was built with.
    pub fn config(&self) -> &TokenClassificationConfig {
        &self.cfg
    }

    /// The classifier's current `(weight [L, H], bias [L])`, e.g. for [`crate::export`].
    pub fn classifier(&self) -> (Tensor, Tensor) {
        (self.classifier.w.detach(), self.classifier.b.detach())
    }

    /// Logits, and the loss when `labels` are given (what [`Head::forward_t`] does).
    ///
    /// # Shapes
    /// - `embeddings`: `[B, T, H]` in the parameters' dtype
    /// - `labels`: `[B, T]`, any integer dtype; a label id below `L`, or [`IGNORE_INDEX`] (−100)
    /// - output: logits `[B, T, L]`, loss a scalar
    pub fn forward_t(
        &self,
        embeddings: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Result<TokenClassificationOutput> {
        self.forward_with(&self.classifier, embeddings, labels, train)
    }

    /// [`TokenClassificationHead::forward_t`] with `train = false` on detached parameters and
    /// embeddings: no dropout, no autograd graph (what [`Head::forward_eval`] does).
    pub fn forward_eval(
        &self,
        embeddings: &Tensor,
        labels: Option<&Tensor>,
    ) -> Result<TokenClassificationOutput> {
        self.forward_with(
            &self.classifier.detached(),
            &embeddings.detach(),
            labels,
            false,
        )
    }

    /// The arg-max label id at every position, padding included (the first maximum wins on ties; what
    /// [`Head::decode`] does).
    ///
    /// # Shapes
    /// - output: `[B][T]`
    pub fn decode(output: &TokenClassificationOutput) -> Result<Vec<Vec<u32>>> {
        Ok(output.logits.argmax(candle_core::D::Minus1)?.to_vec2()?)
    }

    fn forward_with(
        &self,
        classifier: &Linear,
        embeddings: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> Result<TokenClassificationOutput> {
        let (b, t, h) = embeddings.dims3()?;
        check_width(h, self.hidden_size)?;
        let dropped = self.dropout.forward_t(embeddings, train)?; // [B, T, H]
        let logits = classifier.forward_nd(&dropped)?; // [B, T, L]
        let loss = match labels {
            None => None,
            Some(labels) => {
                let (rows, targets) = labelled_positions(labels, b, t, self.cfg.num_labels)?; // [R]
                let flat = logits.reshape((b * t, self.cfg.num_labels))?; // [B·T, L]
                Some(cross_entropy(&flat, &rows, &targets)?)
            }
        };
        Ok(TokenClassificationOutput { logits, loss })
    }
}

/// Logits `[B, T, L]` from embeddings `[B, T, H]` (in the parameters' dtype); with gold labels `[B, T]`
/// (any integer dtype; a label id below `L`, or [`IGNORE_INDEX`] = −100 for "no label"), the loss.
impl Head for TokenClassificationHead {
    type Inputs = ();
    /// Label ids `[B, T]` (any integer dtype), −100 = ignored.
    type Gold = Tensor;
    type Output = TokenClassificationOutput;
    /// The arg-max label id per position, padding included (the first maximum wins on ties). `[B][T]`
    type Decoded = Vec<Vec<u32>>;

    fn forward_t(
        &self,
        embeddings: &Tensor,
        _inputs: &(),
        gold: Option<&Tensor>,
        train: bool,
    ) -> Result<Self::Output> {
        TokenClassificationHead::forward_t(self, embeddings, gold, train)
    }

    fn forward_eval(
        &self,
        embeddings: &Tensor,
        _inputs: &(),
        gold: Option<&Tensor>,
    ) -> Result<Self::Output> {
        TokenClassificationHead::forward_eval(self, embeddings, gold)
    }

    fn loss(output: &Self::Output) -> Option<&Tensor> {
        output.loss.as_ref()
    }

    fn decode(&self, output: &Self::Output) -> Result<Self::Decoded> {
        TokenClassificationHead::decode(output)
    }
}

/// The flat positions (`b·T + t`) whose label is not ignored, and their labels.
///
/// # Shapes
/// - `labels`: `[B, T]`; output: `[R]` rows and `[R]` targets
fn labelled_positions(
    labels: &Tensor,
    b: usize,
    t: usize,
    num_labels: usize,
) -> Result<(Vec<usize>, Vec<u32>)> {
    if labels.dims() != [b, t] {
        return Err(Error::Input {
            what: "gold".to_string(),
            msg: format!(
                "labels of shape {:?} for embeddings of [{b}, {t}, H]",
                labels.dims()
            ),
        });
    }
    let host: Vec<Vec<i64>> = labels.to_dtype(DType::I64)?.to_vec2()?;
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for (bi, row) in host.iter().enumerate() {
        for (ti, &label) in row.iter().enumerate() {
            if label == IGNORE_INDEX {
                continue;
            }
            if label < 0 || label as usize >= num_labels {
                return Err(Error::Input {
                    what: format!("gold[{bi}][{ti}]"),
                    msg: format!(
                        "label {label} is neither a label id below num_labels = {num_labels} nor {IGNORE_INDEX} (ignored)"
                    ),
                });
            }
            rows.push(bi * t + ti);
            targets.push(label as u32);
        }
    }
    Ok((rows, targets))
}

pub(crate) fn check_hidden_size(hidden_size: usize) -> Result<()> {
    if hidden_size == 0 {
        return Err(Error::Config {
            key: "hidden_size".to_string(),
            msg: "the encoder width must be at least 1".to_string(),
        });
    }
    Ok(())
}

pub(crate) fn check_width(h: usize, hidden_size: usize) -> Result<()> {
    if h != hidden_size {
        return Err(Error::Input {
            what: "embeddings".to_string(),
            msg: format!("embeddings of width {h}, the head was built for {hidden_size}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::ModelRng;
    use candle_core::{Device, Var};

    fn setup(dropout: f64) -> (ParamStore, TokenClassificationHead, Var) {
        let params = ParamStore::new(ModelRng::new(7), DType::F64, Device::Cpu);
        let cfg = TokenClassificationConfig {
            num_labels: 3,
            dropout,
        };
        let head = TokenClassificationHead::new(&cfg, 4, &params).unwrap();
        let emb = ModelRng::new(11)
            .normal((2, 3, 4), 0.0, 1.0, DType::F64, &Device::Cpu)
            .unwrap();
        (params, head, Var::from_tensor(&emb).unwrap())
    }

    fn labels() -> Tensor {
        Tensor::new(&[[-100i64, 2, 0], [1, -100, -100]], &Device::Cpu).unwrap()
    }

    #[test]
    fn loss_is_the_hand_computed_mean_cross_entropy_over_labelled_positions() {
        let (_, head, emb) = setup(0.1);
        let out = head
            .forward_t(emb.as_tensor(), Some(&labels()), false)
            .unwrap();
        assert_eq!(out.logits.dims(), &[2, 3, 3]);
        let logits: Vec<Vec<Vec<f64>>> = out.logits.to_vec3().unwrap();
        let nll = |row: &[f64], y: usize| row.iter().map(|v| v.exp()).sum::<f64>().ln() - row[y];
        let want = (nll(&logits[0][1], 2) + nll(&logits[0][2], 0) + nll(&logits[1][0], 1)) / 3.0;
        let got = out.loss.unwrap().to_scalar::<f64>().unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn ignored_positions_get_no_gradient_and_params_do() {
        let (params, head, emb) = setup(0.1);
        let out = head
            .forward_t(emb.as_tensor(), Some(&labels()), true)
            .unwrap();
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
        for (bi, ti) in [(0, 0), (1, 1), (1, 2)] {
            assert!(g[bi][ti].iter().all(|&v| v == 0.0), "[{bi}][{ti}]");
        }
        // Whatever sits at the ignored positions, the loss is the same.
        let ignored = Tensor::new(&[[1f64, 0.0, 0.0], [0.0, 1.0, 1.0]], &Device::Cpu).unwrap();
        let shifted = emb
            .as_tensor()
            .broadcast_add(&(ignored.unsqueeze(2).unwrap() * 100.0).unwrap())
            .unwrap();
        let a = head.forward_eval(&shifted, Some(&labels())).unwrap();
        let b = head.forward_eval(emb.as_tensor(), Some(&labels())).unwrap();
        let (a, b) = (
            a.loss.unwrap().to_scalar::<f64>().unwrap(),
            b.loss.unwrap().to_scalar::<f64>().unwrap(),
        );
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn eval_has_no_dropout_train_has() {
        let (_, head, emb) = setup(0.5);
        let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let a = head.forward_eval(emb.as_tensor(), None).unwrap();
        let b = head.forward_eval(emb.as_tensor(), None).unwrap();
        let c = head.forward_t(emb.as_tensor(), None, false).unwrap();
        assert_eq!(values(&a.logits), values(&b.logits));
        assert_eq!(values(&a.logits), values(&c.logits));
        let d = head.forward_t(emb.as_tensor(), None, true).unwrap();
        assert_ne!(values(&a.logits), values(&d.logits));
        // Eval output is cut from the graph.
        let grads = a.logits.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(emb.as_tensor()).is_none());
    }

    #[test]
    fn decode_is_the_argmax_and_bad_labels_are_errors() {
        let (_, head, emb) = setup(0.1);
        let out = head.forward_eval(emb.as_tensor(), None).unwrap();
        let logits: Vec<Vec<Vec<f64>>> = out.logits.to_vec3().unwrap();
        let pred = TokenClassificationHead::decode(&out).unwrap();
        for (b, row) in logits.iter().enumerate() {
            for (t, scores) in row.iter().enumerate() {
                let best = (0..3).fold(0, |m, l| if scores[l] > scores[m] { l } else { m });
                assert_eq!(pred[b][t] as usize, best);
            }
        }
        let bad = Tensor::new(&[[3i64, 0, 0], [0, 0, -1]], &Device::Cpu).unwrap();
        let err = head
            .forward_eval(emb.as_tensor(), Some(&bad))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gold[0][0]") && err.contains("label 3"),
            "{err}"
        );
        let short = Tensor::new(&[[0i64, 0]], &Device::Cpu).unwrap();
        assert!(head.forward_eval(emb.as_tensor(), Some(&short)).is_err());
        let all_ignored = Tensor::full(-100i64, (2, 3), &Device::Cpu).unwrap();
        let out = head
            .forward_t(emb.as_tensor(), Some(&all_ignored), true)
            .unwrap();
        assert_eq!(out.loss.unwrap().to_scalar::<f64>().unwrap(), 0.0);
    }
}
