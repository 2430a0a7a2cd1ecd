//! Evaluation of a model on a split: the loss and the official CoNLL-2012 metrics on subtoken spans
//! (`reprobe-metrics`, the same core as `reprobe score`), and the predicted clusters.
use std::collections::BTreeMap;

use crate::progress::Progress;
use anyhow::Result;

use reprobe_metrics::{CorefCounts, CorefEvaluator, MetricSet};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::data::ModelDocument;
use super::CorefTask;
use crate::tasks::Scored;
use crate::train::backbone::Backbone;

/// What an evaluation gives.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Mean over documents of the per-document loss (the reference's `val/loss`, SPEC §3.4).
    pub loss: f64,
    /// The metric counts summed over documents.
    pub counts: CorefCounts,
    /// Predicted clusters per document (subtoken spans, ends inclusive), in document order.
    pub predictions: Vec<Vec<Vec<(usize, usize)>>>,
    /// Mean attention weight per encoder over the split (attention aggregation only).
    pub attention: BTreeMap<String, f64>,
    /// Mean cosine similarity per encoder pair (with `cossim_target`).
    pub cossim: BTreeMap<String, f64>,
}

impl Scored for Evaluation {
    /// The scores under `prefix` (`val`, `test`): `f1` is the CoNLL F1 as a fraction (the reference's
    /// `val/f1`), then each metric's F1, recall and precision, the mention scores and the loss.
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        out.insert(format!("{prefix}/loss"), self.loss);
        if let Some(f1) = self.counts.conll_f1() {
            out.insert(format!("{prefix}/f1"), f1);
        }
        let mut put = |name: &str, counts: Option<&reprobe_metrics::Counts>| {
            if let Some(c) = counts {
                let s = c.scores();
                out.insert(format!("{prefix}/{name}_f1"), s.f1);
                out.insert(format!("{prefix}/{name}_recall"), s.recall);
                out.insert(format!("{prefix}/{name}_precision"), s.precision);
            }
        };
        put("muc", self.counts.muc.as_ref());
        put("bcub", self.counts.bcub.as_ref());
        put("ceafe", self.counts.ceafe.as_ref());
        put("ceafm", self.counts.ceafm.as_ref());
        put("lea", self.counts.lea.as_ref());
        put("mention", Some(&self.counts.mentions));
        for (k, v) in &self.attention {
            out.insert(format!("attention/{k}"), *v);
        }
        for (k, v) in &self.cossim {
            out.insert(format!("cossim/{k}"), *v);
        }
        out
    }
}

/// Runs the model in evaluation mode (no dropout) over `docs` and scores its clusters against the gold.
/// `crop` crops long documents as in training (only for the reference's behaviour, SPEC §9.2); `offsets`
/// gives the crop offset of each document then.
pub fn evaluate(
    task: &CorefTask,
    backbone: &Backbone,
    docs: &[ModelDocument],
    metrics: MetricSet,
    crop: Option<(usize, &[usize])>,
    progress: &Progress,
) -> Result<Evaluation> {
    let mut evaluator = CorefEvaluator::with_metrics(metrics);
    let mut loss_sum = 0.0;
    let mut predictions = Vec::with_capacity(docs.len());
    let mut attention: BTreeMap<String, f64> = BTreeMap::new();
    let mut cossim: BTreeMap<String, f64> = BTreeMap::new();
    for (i, doc) in docs.iter().enumerate() {
        let doc_crop = crop.map(|(max, offsets)| (max, offsets[i]));
        let fwd = task.forward(backbone, doc, doc_crop, true, false)?;
        if let Some(loss) = &fwd.output.loss {
            loss_sum += loss.to_scalar::<f32>()? as f64;
        }
        // Predicted spans are relative to the kept window when cropped: shift them back.
        let shift = fwd.token_offset;
        let predicted: Vec<Vec<(usize, usize)>> = fwd
            .output
            .decode()?
            .into_iter()
            .map(|c| c.into_iter().map(|(s, e)| (s + shift, e + shift)).collect())
            .collect();
        evaluator.add_document(&doc.gold_clusters, &predicted);
        predictions.push(predicted);
        for (k, v) in &fwd.stack.attention_weights {
            *attention.entry(k.clone()).or_default() += v / docs.len() as f64;
        }
        for (k, v) in &fwd.stack.cossim {
            *cossim.entry(k.clone()).or_default() += v / docs.len() as f64;
        }
        progress.inc();
    }
    Ok(Evaluation {
        loss: loss_sum / docs.len().max(1) as f64,
        counts: evaluator.totals(),
        predictions,
        attention,
        cossim,
    })
}

/// Crop offsets for evaluation documents (only used with the `crop_at_eval` compatibility option).
pub fn eval_crop_offsets(
    docs: &[ModelDocument],
    max_segments: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    docs.iter()
        .map(|d| {
            if d.segments.len() > max_segments {
                rng.random_range(0..=d.segments.len() - max_segments)
            } else {
                0
            }
        })
        .collect()
}
