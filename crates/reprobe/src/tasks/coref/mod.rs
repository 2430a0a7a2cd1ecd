//! Coreference: documents of CoNLL-2012 or coref-hoi jsonlines, one document per step, the coref-hoi head
//! (SPEC §3), the official CoNLL-2012 metrics.
pub mod data;
pub mod evaluate;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Tensor};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use reprobe_metrics::MetricSet;
use reprobe_models::aggregate::CompatPreset;
use reprobe_models::encoders::stack::StackOutput;
use reprobe_models::heads::coref::{crop_document, CorefGold, CorefHead, CorefInputs, CorefOutput};

use super::{percent, Task};
use crate::config::schema::DataConfig;
use crate::config::RunConfig;
use crate::progress::Progress;
use crate::train::backbone::{pad_segments, Backbone};
use data::{load_split, ModelDocument};
use evaluate::Evaluation;

/// The coref-hoi head and how documents are cropped.
pub struct CorefTask {
    /// The head.
    pub head: CorefHead,
    data: DataConfig,
    max_segments: usize,
    crop_at_eval: bool,
    compat: CompatPreset,
}

/// What one forward pass gives.
pub struct Forward {
    /// The head's scores, loss (with gold) and decoding.
    pub output: CorefOutput,
    /// The encoder stack's diagnostics (attention weights, cosine similarities).
    pub stack: StackOutput,
    /// The subtoken offset of the kept window when the document was cropped (0 otherwise).
    pub token_offset: usize,
    /// Seconds in the encoder stack (encoders, cache, aggregation).
    pub encoder_seconds: f64,
    /// Seconds in the head (forward and loss).
    pub head_seconds: f64,
}

/// A document through the encoder stack, ready for the head.
pub struct Encoded<'a> {
    /// The real subtokens' embeddings. `[N, H]` f32
    pub embeddings: Tensor,
    /// The stack's diagnostics.
    pub stack: StackOutput,
    /// The head's inputs (cropped when the document was).
    pub inputs: Cow<'a, CorefInputs>,
    /// The gold (cropped likewise), when asked for.
    pub gold: Option<CorefGold>,
    /// The subtoken offset of the kept window (0 when not cropped).
    pub token_offset: usize,
    /// The document's key (for messages).
    pub doc_key: &'a str,
}

impl CorefTask {
    /// Runs one document: encoders on its segments (cropped to `crop = Some((max_segments, offset))` when
    /// given and the document is longer), the aggregator, then the head, with the loss when `with_gold`.
    pub fn forward(
        &self,
        backbone: &Backbone,
        doc: &ModelDocument,
        crop: Option<(usize, usize)>,
        with_gold: bool,
        train: bool,
    ) -> Result<Forward> {
        let started = std::time::Instant::now();
        let encoded = self.encode(backbone, doc, crop, with_gold, train)?;
        let encoder_seconds = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let output = self.score(backbone, &encoded, &encoded.embeddings, train)?;
        Ok(Forward {
            output,
            stack: encoded.stack,
            token_offset: encoded.token_offset,
            encoder_seconds,
            head_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The first half of [`CorefTask::forward`]: the document's (cropped) inputs through the encoder
    /// stack, as `[N, H]` f32 embeddings of its real subtokens.
    pub fn encode<'a>(
        &self,
        backbone: &Backbone,
        doc: &'a ModelDocument,
        crop: Option<(usize, usize)>,
        with_gold: bool,
        train: bool,
    ) -> Result<Encoded<'a>> {
        let gold = with_gold.then(|| doc.gold());
        let (segments, inputs, gold, token_offset) = match crop {
            Some((max_segments, offset)) if doc.segments.len() > max_segments => {
                let cropped = crop_document(
                    &doc.inputs,
                    gold.as_ref(),
                    max_segments,
                    offset,
                    self.head.config().gold_crop,
                )?;
                (
                    &doc.segments[cropped.segments.clone()],
                    Cow::Owned(cropped.inputs),
                    cropped.gold,
                    cropped.tokens.start,
                )
            }
            _ => (&doc.segments[..], Cow::Borrowed(&doc.inputs), gold, 0),
        };
        let (input_ids, attention_mask, real) = pad_segments(segments, &backbone.device)?;
        let stack = backbone
            .stack
            .forward_t(&input_ids, &attention_mask, Some(&doc.doc_key), train)
            .with_context(|| format!("encoding document {}", doc.doc_key))?;
        let (s, t, h) = stack.embeddings.dims3()?;
        // [S, T, H] → [S·T, H] → the real subtokens [N, H], in f32 for the head.
        let embeddings = stack
            .embeddings
            .reshape((s * t, h))?
            .index_select(&real, 0)?
            .to_dtype(DType::F32)?;
        backbone.device.synchronize()?;
        Ok(Encoded {
            embeddings,
            stack,
            inputs,
            gold,
            token_offset,
            doc_key: &doc.doc_key,
        })
    }

    /// The second half of [`CorefTask::forward`]: the head on `embeddings` (normally
    /// `encoded.embeddings`; the benchmark passes a detached copy to time the backward passes apart).
    pub fn score(
        &self,
        backbone: &Backbone,
        encoded: &Encoded<'_>,
        embeddings: &Tensor,
        train: bool,
    ) -> Result<CorefOutput> {
        let inputs = encoded.inputs.as_ref();
        let gold = encoded.gold.as_ref();
        // Evaluation builds no autograd graph (same numbers as `train = false`).
        let output = if train {
            self.head.forward_t(embeddings, inputs, gold, true)
        } else {
            self.head.forward_eval(embeddings, inputs, gold)
        }
        .with_context(|| format!("scoring document {}", encoded.doc_key))?;
        backbone.device.synchronize()?;
        Ok(output)
    }

    /// The most segments a training document keeps (`head.max_training_sentences`).
    pub fn max_segments(&self) -> usize {
        self.max_segments
    }

    /// A random crop of a training document longer than [`CorefTask::max_segments`].
    pub fn draw_crop(&self, doc: &ModelDocument, rng: &mut ChaCha8Rng) -> Option<(usize, usize)> {
        let max = self.max_segments;
        (doc.segments.len() > max).then(|| (max, rng.random_range(0..=doc.segments.len() - max)))
    }
}

/// The score that picks the best epoch: coref-hoi's simplified CoNLL F1 (the reference's `val/f1`,
/// logged as `coref_hoi_f1`) under `compat = "reference"`, the official CoNLL F1 (`f1`) otherwise.
pub fn selection_metric(compat: CompatPreset) -> &'static str {
    match compat {
        CompatPreset::Reference => "coref_hoi_f1",
        CompatPreset::None => "f1",
    }
}

impl Task for CorefTask {
    type Example = ModelDocument;
    type Evaluation = Evaluation;

    fn training_labels(_cfg: &RunConfig) -> Result<Option<Vec<String>>> {
        Ok(None)
    }

    fn build(cfg: &RunConfig, backbone: &Backbone, _labels: Option<Vec<String>>) -> Result<Self> {
        let head_cfg = cfg.coref_head()?;
        let head = CorefHead::new(head_cfg, backbone.stack.output_size(), &backbone.params)?;
        Ok(CorefTask {
            head,
            data: cfg.data.clone(),
            max_segments: head_cfg.max_training_sentences,
            crop_at_eval: cfg.crop_at_eval(),
            compat: cfg.compat,
        })
    }

    fn labels(&self) -> Option<&[String]> {
        None
    }

    fn selection_metric(&self) -> &'static str {
        selection_metric(self.compat)
    }

    fn read_split(
        &self,
        backbone: &Backbone,
        path: &Path,
        limit: Option<usize>,
    ) -> Result<(Vec<ModelDocument>, String)> {
        let split = load_split(path, &backbone.tokenizer, &self.data, limit)?;
        let subtokens: usize = split.docs.iter().map(ModelDocument::num_subtokens).sum();
        let segments: usize = split.docs.iter().map(|d| d.segments.len()).sum();
        let summary = format!(
            "{} documents, {segments} segments, {subtokens} subtokens ({})",
            split.docs.len(),
            path.display()
        );
        Ok((split.docs, summary))
    }

    fn batches(&self, examples: &[ModelDocument], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..examples.len()).collect();
        order.shuffle(rng);
        order.into_iter().map(|i| vec![i]).collect()
    }

    fn loss(
        &self,
        backbone: &Backbone,
        batch: &[&ModelDocument],
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor> {
        let [doc] = batch else {
            bail!(
                "coreference trains one document per step, got {}",
                batch.len()
            )
        };
        let crop = self.draw_crop(doc, rng);
        let fwd = self.forward(backbone, doc, crop, true, true)?;
        match fwd.output.loss {
            Some(loss) => Ok(loss),
            None => bail!(
                "the head returned no loss for training document {}",
                doc.doc_key
            ),
        }
    }

    fn describe(&self, batch: &[&ModelDocument]) -> String {
        let keys: Vec<&str> = batch.iter().map(|d| d.doc_key.as_str()).collect();
        format!("document {}", keys.join(", "))
    }

    fn evaluate(
        &self,
        backbone: &Backbone,
        examples: &[ModelDocument],
        rng: &mut ChaCha8Rng,
        progress: &Progress,
    ) -> Result<Evaluation> {
        // The offsets are drawn whether or not they are used, so the random stream does not depend on it.
        let offsets = evaluate::eval_crop_offsets(examples, self.max_segments, rng);
        let crop = self
            .crop_at_eval
            .then_some((self.max_segments, offsets.as_slice()));
        evaluate::evaluate(self, backbone, examples, MetricSet::all(), crop, progress)
    }

    fn unit(&self) -> &'static str {
        "docs"
    }

    fn epoch_line(&self, line: &BTreeMap<String, Value>) -> String {
        let get = |k: &str| line.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        format!(
            "train/loss {:>9.2}  val/loss {:>9.2}  val/f1 {:.4} (MUC {:.4} B3 {:.4} CEAFe {:.4}; mentions {:.4})  {:.1} docs/s",
            get("train/loss"),
            get("val/loss"),
            get("val/f1"),
            get("val/muc_f1"),
            get("val/bcub_f1"),
            get("val/ceafe_f1"),
            get("val/mention_f1"),
            get("train/docs_per_s"),
        )
    }

    fn final_scores(&self, values: &Value) -> String {
        let get = |k: &str| percent(values, k);
        let mut out = format!(
            "  dev CoNLL F1 {:.2}  (MUC {:.2}  B3 {:.2}  CEAFe {:.2}  CEAFm {:.2}  LEA {:.2}; mentions P {:.2} R {:.2} F1 {:.2})\n",
            get("val/f1"),
            get("val/muc_f1"),
            get("val/bcub_f1"),
            get("val/ceafe_f1"),
            get("val/ceafm_f1"),
            get("val/lea_f1"),
            get("val/mention_precision"),
            get("val/mention_recall"),
            get("val/mention_f1"),
        );
        if values.get("test/f1").is_some() {
            out.push_str(&format!("  test CoNLL F1 {:.2}\n", get("test/f1")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_runs_select_on_coref_hoi_f1() {
        assert_eq!(selection_metric(CompatPreset::Reference), "coref_hoi_f1");
        assert_eq!(selection_metric(CompatPreset::None), "f1");
        assert_eq!(selection_metric(CompatPreset::default()), "f1");
    }
}
