//! Sentence and sentence-pair classification (paraphrase, MRPC): GLUE TSV files, `[CLS] a [SEP] b [SEP]`
//! with segment ids, the pooled `[CLS]` → dropout → linear (as `BertForSequenceClassification`), accuracy
//! and the F1 of the positive class as GLUE reports MRPC (`val/f1`; macro F1 over the labels when there
//! are more than two).
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use reprobe_corpus::readers::glue::{read_glue_tsv, TextExample};
use reprobe_corpus::sequence::{encode_pair, ClassificationInput};
use reprobe_metrics::classification::ClassCounts;
use reprobe_models::encoders::{hub, Checkpoint};
use reprobe_models::heads::sequence_classification::{
    SequenceClassificationConfig, SequenceClassificationHead, SequenceClassificationOutput,
    SequencePrediction,
};

use super::batch::Batching;
use super::{percent, Scored, Task};
use crate::config::{HeadConfig, RunConfig};
use crate::progress::Progress;
use crate::train::backbone::Backbone;

/// Labels that name the positive class of a binary task, in order of preference.
const POSITIVE_LABELS: [&str; 5] = ["1", "true", "yes", "positive", "entailment"];

/// The classifier over the stack, and its labels.
pub struct PairTask {
    /// The head.
    pub head: SequenceClassificationHead,
    labels: Vec<String>,
    label_ids: HashMap<String, usize>,
    positive: Option<usize>,
    max_len: usize,
    batching: Batching,
}

/// One text or pair, encoded.
#[derive(Debug, Clone)]
pub struct PairExample {
    /// The row as read.
    pub text: TextExample,
    /// Its model input.
    pub input: ClassificationInput,
    /// Its label id, when the file has labels.
    pub label: Option<u32>,
    /// `path:line`, for messages.
    pub origin: String,
}

/// An evaluation: counts per label, the loss, the predictions.
pub struct PairEvaluation {
    /// Gold/predicted label counts.
    pub counts: ClassCounts<usize>,
    /// Mean loss over batches.
    pub loss: f64,
    /// The label list.
    pub labels: Vec<String>,
    /// The positive class of a binary task.
    pub positive: Option<usize>,
    /// Predictions in example order.
    pub predictions: Vec<SequencePrediction>,
}

impl Scored for PairEvaluation {
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        out.insert(format!("{prefix}/loss"), self.loss);
        out.insert(format!("{prefix}/accuracy"), self.counts.accuracy());
        match self.positive {
            Some(positive) => {
                let s = self.counts.scores_of(&positive);
                out.insert(format!("{prefix}/f1"), s.f1);
                out.insert(format!("{prefix}/precision"), s.precision);
                out.insert(format!("{prefix}/recall"), s.recall);
            }
            None => {
                let all: Vec<usize> = (0..self.labels.len()).collect();
                let refs: Vec<&usize> = all.iter().collect();
                if let Ok(f1) = self.counts.macro_f1(&refs) {
                    out.insert(format!("{prefix}/f1"), f1);
                }
            }
        }
        out
    }
}

impl PairTask {
    /// Encodes rows (labels checked against the model's when `with_gold`).
    pub fn encode(
        &self,
        backbone: &Backbone,
        rows: Vec<TextExample>,
        with_gold: bool,
        origin: &Path,
    ) -> Result<Vec<PairExample>> {
        rows.into_iter()
            .map(|text| {
                let at = format!("{}:{}", origin.display(), text.line);
                let input = encode_pair(
                    &text.text_a,
                    text.text_b.as_deref(),
                    &backbone.tokenizer,
                    self.max_len,
                )
                .with_context(|| format!("{at}: cannot encode the row"))?;
                let label = match (&text.label, with_gold) {
                    (Some(l), true) => match self.label_ids.get(l) {
                        Some(&id) => Some(id as u32),
                        None => bail!(
                            "{at}: label {l:?} is not one the model knows ({})",
                            self.labels.join(", ")
                        ),
                    },
                    (None, true) => bail!("{at}: the row has no label"),
                    (_, false) => None,
                };
                Ok(PairExample {
                    text,
                    input,
                    label,
                    origin: at,
                })
            })
            .collect()
    }

    fn forward(
        &self,
        backbone: &Backbone,
        batch: &[&PairExample],
        with_gold: bool,
        train: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let rows: Vec<Vec<u32>> = batch.iter().map(|e| e.input.input_ids.clone()).collect();
        let types: Vec<Vec<u32>> = batch
            .iter()
            .map(|e| e.input.token_type_ids.clone())
            .collect();
        let (encoded, _mask) =
            backbone.encode_rows(&rows, Some(&types), self.batching.cache_key(), train)?; // [B, T, D]
        let labels = if with_gold {
            let ids: Vec<u32> = batch
                .iter()
                .map(|e| e.label.context("an example without a label"))
                .collect::<Result<_>>()?;
            Some(Tensor::new(ids, &backbone.device)?) // [B]
        } else {
            None
        };
        let output = if train {
            self.head
                .forward_t(&encoded.embeddings, labels.as_ref(), true)?
        } else {
            self.head
                .forward_eval(&encoded.embeddings, labels.as_ref())?
        };
        Ok((output.logits, output.loss))
    }

    /// Label and probabilities of every example, with the mean loss when gold is known.
    pub fn predict(
        &self,
        backbone: &Backbone,
        examples: &[PairExample],
        with_gold: bool,
        progress: &Progress,
    ) -> Result<(Vec<SequencePrediction>, f64)> {
        let mut out = Vec::with_capacity(examples.len());
        let loss = self.batching.evaluate(
            examples,
            |batch| self.forward(backbone, batch, with_gold, false),
            |_, logits| {
                let output = SequenceClassificationOutput { logits, loss: None };
                for prediction in SequenceClassificationHead::decode(&output)? {
                    out.push(prediction);
                    progress.inc();
                }
                Ok(())
            },
        )?;
        Ok((out, loss))
    }

    /// The label list of the head.
    pub fn label_list(&self) -> &[String] {
        &self.labels
    }
}

/// The positive class of a binary label set (`1`, `true`, … or else the second label), none otherwise.
fn positive_label(labels: &[String]) -> Option<usize> {
    if labels.len() != 2 {
        return None;
    }
    POSITIVE_LABELS
        .iter()
        .find_map(|p| labels.iter().position(|l| l.eq_ignore_ascii_case(p)))
        .or(Some(1))
}

impl Task for PairTask {
    type Example = PairExample;
    type Evaluation = PairEvaluation;

    fn training_labels(cfg: &RunConfig) -> Result<Option<Vec<String>>> {
        let Some(path) = &cfg.data.train else {
            bail!("`data.train` is not set")
        };
        let rows = read_glue_tsv(path)?;
        let mut labels: Vec<String> = Vec::new();
        for row in &rows {
            match &row.label {
                Some(l) if !labels.contains(l) => labels.push(l.clone()),
                Some(_) => {}
                None => bail!(
                    "{}:{}: a training row without a label",
                    path.display(),
                    row.line
                ),
            }
        }
        labels.sort();
        if labels.len() < 2 {
            bail!(
                "{} has {} distinct label(s): nothing to learn",
                path.display(),
                labels.len()
            );
        }
        Ok(Some(labels))
    }

    fn build(cfg: &RunConfig, backbone: &Backbone, labels: Option<Vec<String>>) -> Result<Self> {
        let Some(labels) = labels else {
            bail!("a classification model needs its label list (labels.json of the run)")
        };
        let HeadConfig::Classifier(head_cfg) = &cfg.head else {
            bail!("`task = \"pair_classification\"` needs the classifier options in [head]")
        };
        let pooler_init = if head_cfg.pooler {
            first_encoder_pooler(cfg)?
        } else {
            None
        };
        let head = SequenceClassificationHead::new(
            &SequenceClassificationConfig {
                num_labels: labels.len(),
                dropout: head_cfg.dropout,
                pooler: head_cfg.pooler,
            },
            backbone.stack.output_size(),
            &backbone.params,
            pooler_init,
        )?;
        Ok(PairTask {
            head,
            label_ids: labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i))
                .collect(),
            positive: positive_label(&labels),
            labels,
            max_len: cfg.data.seg_len,
            batching: Batching::of(backbone, cfg.batch_size(), cfg.seed),
        })
    }

    fn labels(&self) -> Option<&[String]> {
        Some(&self.labels)
    }

    fn read_split(
        &self,
        backbone: &Backbone,
        path: &Path,
        limit: Option<usize>,
    ) -> Result<(Vec<PairExample>, String)> {
        let mut rows = read_glue_tsv(path)?;
        if let Some(n) = limit {
            rows.truncate(n);
        }
        if rows.is_empty() {
            bail!("{} holds no example", path.display());
        }
        let examples = self.encode(backbone, rows, true, path)?;
        let subtokens: usize = examples.iter().map(|e| e.input.input_ids.len()).sum();
        let summary = format!(
            "{} examples, {subtokens} subtokens ({})",
            examples.len(),
            path.display()
        );
        Ok((examples, summary))
    }

    fn batches(&self, examples: &[PairExample], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        self.batching.epoch(examples.len(), rng)
    }

    fn loss(
        &self,
        backbone: &Backbone,
        batch: &[&PairExample],
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        match self.forward(backbone, batch, true, true)?.1 {
            Some(loss) => Ok(loss),
            None => bail!("the head returned no loss for {}", self.describe(batch)),
        }
    }

    fn describe(&self, batch: &[&PairExample]) -> String {
        match batch.first() {
            Some(e) => format!("the batch of {} examples from {}", batch.len(), e.origin),
            None => "an empty batch".into(),
        }
    }

    fn evaluate(
        &self,
        backbone: &Backbone,
        examples: &[PairExample],
        _rng: &mut ChaCha8Rng,
        progress: &Progress,
    ) -> Result<PairEvaluation> {
        let (predictions, loss) = self.predict(backbone, examples, true, progress)?;
        let mut counts = ClassCounts::new();
        for (example, p) in examples.iter().zip(&predictions) {
            if let Some(gold) = example.label {
                counts.add(gold as usize, p.label as usize);
            }
        }
        Ok(PairEvaluation {
            counts,
            loss,
            labels: self.labels.clone(),
            positive: self.positive,
            predictions,
        })
    }

    fn epoch_line(&self, line: &BTreeMap<String, Value>) -> String {
        let get = |k: &str| line.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        format!(
            "train/loss {:>7.4}  val/loss {:>7.4}  val/f1 {:.4}  val/accuracy {:.4}  {:.1} examples/s",
            get("train/loss"),
            get("val/loss"),
            get("val/f1"),
            get("val/accuracy"),
            get("train/examples_per_s"),
        )
    }

    fn final_scores(&self, values: &Value) -> String {
        let mut out = format!(
            "  dev F1 {:.2}, accuracy {:.2}\n",
            percent(values, "val/f1"),
            percent(values, "val/accuracy"),
        );
        if values.get("test/f1").is_some() {
            out.push_str(&format!(
                "  test F1 {:.2}, accuracy {:.2}\n",
                percent(values, "test/f1"),
                percent(values, "test/accuracy")
            ));
        }
        out
    }
}

/// The pretrained pooler of the first encoder's checkpoint, if it has one.
pub(crate) fn first_encoder_pooler(cfg: &RunConfig) -> Result<Option<(Tensor, Tensor)>> {
    let stack = cfg.stack_config();
    let order = stack.order()?;
    let first = &stack.encoders[&order[0]];
    let dir = hub::resolve(&first.checkpoint)?;
    Ok(Checkpoint::open(&dir)?.pooler()?)
}
