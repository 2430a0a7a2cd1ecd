//! Relation classification (SPEC §5, the reference's TACRED source task; SemEval-2010 Task 8 as its freely
//! licensed stand-in): a sentence with its two arguments marked `[H] … [/H]` and `[T] … [/T]` (and, with
//! `head.entity_types`, TACRED's typed markers appended), the aggregated `[CLS]` (through the pooler,
//! as `BertForSequenceClassification`, unless `head.pooler = false`, the reference's raw `[CLS]`) →
//! dropout → linear; cross-entropy.
//!
//! The markers are special tokens added to the tokenizer and rows added to every encoder's word
//! embeddings ([`Task::added_tokens`], applied by the backbone). Labels: the negative label first
//! (`no_relation` or `Other`), then the others sorted, as the reference numbers them.
//!
//! `val/f1` is the dataset's official number: SemEval's macro F1 with directionality (its labels are the
//! 19 directed ones), otherwise TACRED's micro F1 without the negative label. SemEval has no dev split:
//! without `data.dev` a deterministic 10 % of the training file is held out ([`held_out_indices`]).
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use reprobe_corpus::markers::{encode_relation, marker_tokens, MarkerIds};
use reprobe_corpus::readers::{read_relations, RelationExample};
use reprobe_corpus::sequence::ClassificationInput;
use reprobe_metrics::classification::{ClassCounts, PrfScores};
use reprobe_metrics::relation::{
    is_semeval_label_set, SemEvalCounts, SemEvalReport, SEMEVAL_OTHER, TACRED_NO_RELATION,
};
use reprobe_models::heads::sequence_classification::{
    SequenceClassificationConfig, SequenceClassificationHead, SequenceClassificationOutput,
    SequencePrediction,
};

use super::batch::Batching;
use super::{percent, Scored, Task};
use crate::config::{HeadConfig, RelationHeadConfig, RunConfig};
use crate::progress::Progress;
use crate::train::backbone::Backbone;

/// The seed of the held-out dev split (the reference's `_create_validation_split` seed).
pub const DEV_SPLIT_SEED: u64 = 12345;

/// The share of the training file held out as dev when `data.dev` is not set.
pub const DEV_SPLIT_FRACTION: f64 = 0.1;

/// The classifier over the stack, its labels and markers.
pub struct RelationTask {
    /// The head.
    pub head: SequenceClassificationHead,
    labels: Vec<String>,
    label_ids: HashMap<String, usize>,
    semeval: bool,
    markers: MarkerIds,
    max_len: usize,
    batching: Batching,
}

/// One relation example, encoded.
#[derive(Debug, Clone)]
pub struct RelationItem {
    /// The example as read.
    pub example: RelationExample,
    /// Its model input.
    pub input: ClassificationInput,
    /// Its label id, when known.
    pub label: Option<u32>,
    /// `path: line N` / `path: record N`, for messages.
    pub origin: String,
}

/// An evaluation: the official scores, the loss and the predictions.
pub struct RelationEvaluation {
    /// Label-id counts (accuracy, TACRED's micro score).
    pub counts: ClassCounts<usize>,
    /// SemEval's official evaluation, for SemEval labels.
    pub semeval: Option<SemEvalReport>,
    /// The micro P/R/F1 without the negative label (TACRED's scorer).
    pub micro: PrfScores,
    /// Mean loss over batches.
    pub loss: f64,
    /// Predictions in example order.
    pub predictions: Vec<SequencePrediction>,
}

impl Scored for RelationEvaluation {
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        out.insert(format!("{prefix}/loss"), self.loss);
        out.insert(format!("{prefix}/accuracy"), self.counts.accuracy());
        match &self.semeval {
            Some(s) => {
                out.insert(format!("{prefix}/f1"), s.official_f1);
                out.insert(format!("{prefix}/precision"), s.macro_precision);
                out.insert(format!("{prefix}/recall"), s.macro_recall);
                out.insert(format!("{prefix}/micro_f1"), s.micro.f1);
            }
            None => {
                out.insert(format!("{prefix}/f1"), self.micro.f1);
                out.insert(format!("{prefix}/precision"), self.micro.precision);
                out.insert(format!("{prefix}/recall"), self.micro.recall);
            }
        }
        out
    }
}

/// The relation head options of `cfg`.
fn head_config(cfg: &RunConfig) -> Result<&RelationHeadConfig> {
    match &cfg.head {
        HeadConfig::Relation(h) => Ok(h),
        _ => bail!("`task = \"relation_classification\"` needs the relation options in [head]"),
    }
}

/// The labels of a training file in the reference's order: `no_relation` or `Other` first (the negative
/// label, id 0), then the others sorted.
pub fn ordered_labels(labels: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut labels: Vec<String> = labels.into_iter().collect();
    labels.sort();
    labels.dedup();
    if let Some(pos) = labels
        .iter()
        .position(|l| l == TACRED_NO_RELATION)
        .or_else(|| labels.iter().position(|l| l == SEMEVAL_OTHER))
    {
        let negative = labels.remove(pos);
        labels.insert(0, negative);
    }
    labels
}

/// SplitMix64's output function (Steele et al. 2014): a well-mixed 64-bit key of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The indices (ascending) of the `round(fraction · n)` (halves up) examples held out as dev: those with the smallest
/// `splitmix64(seed + index)`, ties by index. A function of `n`, `seed` and `fraction` only, so that other
/// code (`scripts/golden/hf_finetune_re.py`) holds out the same examples.
pub fn held_out_indices(n: usize, seed: u64, fraction: f64) -> Vec<usize> {
    let k = (fraction * n as f64).round() as usize;
    let mut keyed: Vec<(u64, usize)> = (0..n)
        .map(|i| (splitmix64(seed.wrapping_add(i as u64)), i))
        .collect();
    keyed.sort_unstable();
    let mut dev: Vec<usize> = keyed[..k.min(n)].iter().map(|&(_, i)| i).collect();
    dev.sort_unstable();
    dev
}

impl RelationTask {
    /// Encodes examples (labels checked against the model's when `with_gold`); errors name the record.
    pub fn encode(
        &self,
        backbone: &Backbone,
        examples: Vec<RelationExample>,
        with_gold: bool,
        origin: &Path,
    ) -> Result<(Vec<RelationItem>, usize)> {
        let mut trimmed = 0;
        let items = examples
            .into_iter()
            .map(|example| {
                let at = format!("{}: {}", origin.display(), example.at);
                let encoded =
                    encode_relation(&example, &backbone.tokenizer, &self.markers, self.max_len)
                        .with_context(|| format!("{at} (id {}): cannot encode", example.id))?;
                trimmed += usize::from(encoded.trimmed);
                let label = match (&example.label, with_gold) {
                    (Some(l), true) => match self.label_ids.get(l) {
                        Some(&id) => Some(id as u32),
                        None => bail!(
                            "{at} (id {}): relation {l:?} is not one the model knows ({})",
                            example.id,
                            self.labels.join(", ")
                        ),
                    },
                    (None, true) => {
                        bail!("{at} (id {}): the record has no relation label", example.id)
                    }
                    (_, false) => None,
                };
                Ok(RelationItem {
                    example,
                    input: encoded.input,
                    label,
                    origin: at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((items, trimmed))
    }

    fn forward(
        &self,
        backbone: &Backbone,
        batch: &[&RelationItem],
        with_gold: bool,
        train: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let rows: Vec<Vec<u32>> = batch.iter().map(|e| e.input.input_ids.clone()).collect();
        let (encoded, _mask) =
            backbone.encode_rows(&rows, None, self.batching.cache_key(), train)?; // [B, T, D]
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
        items: &[RelationItem],
        with_gold: bool,
        progress: &Progress,
    ) -> Result<(Vec<SequencePrediction>, f64)> {
        let mut out = Vec::with_capacity(items.len());
        let loss = self.batching.evaluate(
            items,
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

    /// Whether the labels are SemEval-2010 Task 8's (its official score is then `f1`).
    pub fn is_semeval(&self) -> bool {
        self.semeval
    }
}

impl Task for RelationTask {
    type Example = RelationItem;
    type Evaluation = RelationEvaluation;

    fn training_labels(cfg: &RunConfig) -> Result<Option<Vec<String>>> {
        let Some(path) = &cfg.data.train else {
            bail!("`data.train` is not set")
        };
        let examples = read_relations(path)?;
        let mut labels = Vec::with_capacity(examples.len());
        for e in &examples {
            match &e.label {
                Some(l) => labels.push(l.clone()),
                None => bail!(
                    "{}: {}: a training record without a relation label",
                    path.display(),
                    e.at
                ),
            }
        }
        let labels = ordered_labels(labels);
        if labels.len() < 2 {
            bail!(
                "{} has {} distinct relation(s): nothing to learn",
                path.display(),
                labels.len()
            );
        }
        Ok(Some(labels))
    }

    fn added_tokens(cfg: &RunConfig) -> Result<Vec<String>> {
        Ok(marker_tokens(&head_config(cfg)?.entity_types))
    }

    fn build(cfg: &RunConfig, backbone: &Backbone, labels: Option<Vec<String>>) -> Result<Self> {
        let Some(labels) = labels else {
            bail!("a relation model needs its label list (labels.json of the run)")
        };
        let head_cfg = head_config(cfg)?;
        let pooler_init = if head_cfg.pooler {
            super::pair::first_encoder_pooler(cfg)?
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
        let markers = MarkerIds::new(&backbone.tokenizer, &head_cfg.entity_types)?;
        Ok(RelationTask {
            head,
            label_ids: labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i))
                .collect(),
            semeval: is_semeval_label_set(&labels),
            labels,
            markers,
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
    ) -> Result<(Vec<RelationItem>, String)> {
        let mut examples = read_relations(path)?;
        if let Some(n) = limit {
            examples.truncate(n);
        }
        let (items, trimmed) = self.encode(backbone, examples, true, path)?;
        let subtokens: usize = items.iter().map(|e| e.input.input_ids.len()).sum();
        let cut = if trimmed > 0 {
            format!(
                ", {trimmed} cut to data.seg_len = {} around their arguments",
                self.max_len
            )
        } else {
            String::new()
        };
        let summary = format!(
            "{} examples, {subtokens} subtokens{cut} ({})",
            items.len(),
            path.display()
        );
        Ok((items, summary))
    }

    fn held_out_dev(&self, train: &mut Vec<RelationItem>) -> Option<Vec<RelationItem>> {
        let dev = held_out_indices(train.len(), DEV_SPLIT_SEED, DEV_SPLIT_FRACTION);
        let mut is_dev = vec![false; train.len()];
        for &i in &dev {
            is_dev[i] = true;
        }
        let (held, kept): (Vec<_>, Vec<_>) = std::mem::take(train)
            .into_iter()
            .zip(is_dev)
            .partition(|(_, d)| *d);
        *train = kept.into_iter().map(|(e, _)| e).collect();
        Some(held.into_iter().map(|(e, _)| e).collect())
    }

    fn batches(&self, examples: &[RelationItem], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        self.batching.epoch(examples.len(), rng)
    }

    fn loss(
        &self,
        backbone: &Backbone,
        batch: &[&RelationItem],
        _rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        match self.forward(backbone, batch, true, true)?.1 {
            Some(loss) => Ok(loss),
            None => bail!("the head returned no loss for {}", self.describe(batch)),
        }
    }

    fn describe(&self, batch: &[&RelationItem]) -> String {
        match batch.first() {
            Some(e) => format!("the batch of {} examples from {}", batch.len(), e.origin),
            None => "an empty batch".into(),
        }
    }

    fn evaluate(
        &self,
        backbone: &Backbone,
        examples: &[RelationItem],
        _rng: &mut ChaCha8Rng,
        progress: &Progress,
    ) -> Result<RelationEvaluation> {
        let (predictions, loss) = self.predict(backbone, examples, true, progress)?;
        let mut counts = ClassCounts::new();
        let mut semeval = SemEvalCounts::new();
        for (example, p) in examples.iter().zip(&predictions) {
            if let Some(gold) = example.label {
                counts.add(gold as usize, p.label as usize);
                semeval.add(
                    &self.labels[gold as usize],
                    Some(&self.labels[p.label as usize]),
                );
            }
        }
        Ok(RelationEvaluation {
            micro: counts.tacred_micro(&0),
            semeval: self.semeval.then(|| semeval.report()),
            counts,
            loss,
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
        let what = if self.semeval {
            "official macro F1"
        } else {
            "micro F1"
        };
        let mut out = format!(
            "  dev {what} {:.2}, accuracy {:.2}\n",
            percent(values, "val/f1"),
            percent(values, "val/accuracy"),
        );
        if values.get("test/f1").is_some() {
            out.push_str(&format!(
                "  test {what} {:.2}, accuracy {:.2}\n",
                percent(values, "test/f1"),
                percent(values, "test/accuracy")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_label_first_then_sorted() {
        let labels = |l: &[&str]| ordered_labels(l.iter().map(|s| s.to_string()));
        assert_eq!(
            labels(&["b", "no_relation", "a", "b"]),
            ["no_relation", "a", "b"]
        );
        assert_eq!(
            labels(&["X(e2,e1)", "Other", "X(e1,e2)"]),
            ["Other", "X(e1,e2)", "X(e2,e1)"]
        );
        assert_eq!(labels(&["b", "a"]), ["a", "b"]);
    }

    #[test]
    fn held_out_split_is_a_fixed_tenth() {
        // SplitMix64's published first outputs for seed 0 (state += golden gamma, then mix).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        let dev = held_out_indices(8000, DEV_SPLIT_SEED, DEV_SPLIT_FRACTION);
        assert_eq!(dev.len(), 800);
        // What scripts/golden/hf_finetune_re.py holds out of SemEval's 8,000 training sentences.
        assert_eq!(dev[..8], [11, 16, 26, 33, 35, 45, 92, 100]);
        assert_eq!(dev.iter().sum::<usize>(), 3_185_290);
        assert!(dev.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            dev,
            held_out_indices(8000, DEV_SPLIT_SEED, DEV_SPLIT_FRACTION)
        );
        assert_ne!(dev, held_out_indices(8000, 1, DEV_SPLIT_FRACTION));
        // Halves round up (f64::round), not to even as Python's round().
        assert_eq!(held_out_indices(5, 1, 0.1).len(), 1);
        assert_eq!(held_out_indices(15, 1, 0.1).len(), 2);
        assert!(held_out_indices(4, 1, 0.1).is_empty());
    }
}
