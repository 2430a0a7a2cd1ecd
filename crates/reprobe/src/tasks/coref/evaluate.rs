//! Evaluation of a model on a split: the loss and the official CoNLL-2012 metrics on subtoken spans
//! (`reprobe-metrics`, the same core as `reprobe score`), coref-hoi's simplified scorer (the reference's
//! `val/f1`, SPEC §4.1), and the predicted clusters.
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::progress::Progress;
use anyhow::Result;

use reprobe_metrics::{CorefCounts, CorefEvaluator, CorefHoiEvaluator, MetricSet};
use reprobe_models::heads::coref::GoldCrop;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::data::ModelDocument;
use super::CorefTask;
use crate::report::documents::DocumentCounts;
use crate::tasks::Scored;
use crate::train::backbone::Backbone;

/// What an evaluation gives.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Mean over documents of the per-document loss (the reference's `val/loss`, SPEC §3.4).
    pub loss: f64,
    /// The metric counts summed over documents.
    pub counts: CorefCounts,
    /// coref-hoi's simplified scorer (MUC, B³, CEAFe as `metrics.py` computes them; the reference's
    /// `val/f1`), on the gold the reference scores each document against (see [`reference_gold`]) and
    /// the predicted clusters in the same coordinates.
    pub coref_hoi: CorefHoiEvaluator,
    /// Predicted clusters per document (subtoken spans, ends inclusive), in document order.
    pub predictions: Vec<Vec<Vec<(usize, usize)>>>,
    /// The metric counts of each document, in document order (they sum to `counts`).
    pub documents: Vec<DocumentCounts>,
    /// Mean attention weight per encoder over the split (attention aggregation only).
    pub attention: BTreeMap<String, f64>,
    /// Mean cosine similarity per encoder pair (with `cossim_target`).
    pub cossim: BTreeMap<String, f64>,
}

impl Scored for Evaluation {
    /// The scores under `prefix` (`val`, `test`): `f1` is the official CoNLL F1 as a fraction, then each
    /// metric's F1, recall and precision, the mention scores and the loss; `coref_hoi_f1` is coref-hoi's
    /// simplified CoNLL F1 (what the reference logs as `val/f1`) with `coref_hoi_{muc,bcub,ceafe}_f1`.
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        out.insert(format!("{prefix}/loss"), self.loss);
        if let Some(f1) = self.counts.conll_f1() {
            out.insert(format!("{prefix}/f1"), f1);
        }
        out.insert(format!("{prefix}/coref_hoi_f1"), self.coref_hoi.f1());
        out.insert(
            format!("{prefix}/coref_hoi_muc_f1"),
            self.coref_hoi.muc().f1(),
        );
        out.insert(
            format!("{prefix}/coref_hoi_bcub_f1"),
            self.coref_hoi.bcub().f1(),
        );
        out.insert(
            format!("{prefix}/coref_hoi_ceafe_f1"),
            self.coref_hoi.ceafe().f1(),
        );
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

    fn document_counts(&self) -> Option<&[DocumentCounts]> {
        Some(&self.documents)
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
    let mut coref_hoi = CorefHoiEvaluator::new();
    let gold_crop = task.head.config().gold_crop;
    let mut loss_sum = 0.0;
    let mut predictions = Vec::with_capacity(docs.len());
    let mut documents = Vec::with_capacity(docs.len());
    let mut attention: BTreeMap<String, f64> = BTreeMap::new();
    let mut cossim: BTreeMap<String, f64> = BTreeMap::new();
    for (i, doc) in docs.iter().enumerate() {
        let doc_crop = crop.map(|(max, offsets)| (max, offsets[i]));
        let fwd = task.forward(backbone, doc, doc_crop, true, false)?;
        if let Some(loss) = &fwd.output.loss {
            loss_sum += loss.to_scalar::<f32>()? as f64;
        }
        let in_window = fwd.output.decode()?;
        // The reference scores the window's prediction against the window's gold.
        let window_gold = reference_gold(doc, doc_crop, gold_crop);
        coref_hoi.add_document(&window_gold, &in_window);
        // Predicted spans are relative to the kept window when cropped: shift them back.
        let shift = fwd.token_offset;
        let predicted: Vec<Vec<(usize, usize)>> = in_window
            .into_iter()
            .map(|c| c.into_iter().map(|(s, e)| (s + shift, e + shift)).collect())
            .collect();
        let counts = evaluator
            .add_document(&doc.gold_clusters, &predicted)
            .counts;
        documents.push(DocumentCounts {
            doc_key: doc.doc_key.clone(),
            counts,
        });
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
        coref_hoi,
        predictions,
        documents,
        attention,
        cossim,
    })
}

/// The gold clusters the reference's `CorefHoiF1` scores a document against (SPEC §4.1, §3.2), in the
/// subtoken coordinates of the window the head sees. Uncropped (`crop` is `None`, or the document has no
/// more than `crop.0` segments): the document's gold. Cropped to segments `[offset, offset + max)`: the
/// gold mentions, sorted by `(start, end)`, that the reference keeps, shifted by the window's first
/// subtoken, and regrouped by cluster in order of first occurrence:
/// - [`GoldCrop::IndexSliced`] (the reference's bug, SPEC §9.1): mentions `[offset, offset + max)` of the
///   sorted list, wherever they lie;
/// - [`GoldCrop::Positional`] (coref-hoi's rule): the mentions with `start < window end` and
///   `end ≥ window start`.
///
/// Unlike the head's gold (`crop_document`, which drops mentions outside the window because they cannot
/// change the loss), mentions outside the window are **kept** here, as in the reference: they can never
/// be predicted, but they count in the recall denominators and decide which gold clusters are
/// singletons. Their shifted coordinates, negative in the reference, are kept distinct by wrapping
/// subtraction (no predicted span can equal them).
pub fn reference_gold(
    doc: &ModelDocument,
    crop: Option<(usize, usize)>,
    rule: GoldCrop,
) -> Cow<'_, [Vec<(usize, usize)>]> {
    let (max_segments, offset) = match crop {
        Some((max, offset)) if doc.segments.len() > max => (max, offset),
        _ => return Cow::Borrowed(&doc.gold_clusters),
    };
    let segment_of = &doc.inputs.segment_of_token;
    let window_start = segment_of
        .iter()
        .filter(|&&s| (s as usize) < offset)
        .count();
    let window_end = segment_of
        .iter()
        .filter(|&&s| (s as usize) < offset + max_segments)
        .count();
    let mut mentions: Vec<((usize, usize), usize)> = doc
        .gold_clusters
        .iter()
        .enumerate()
        .flat_map(|(id, c)| c.iter().map(move |&span| (span, id)))
        .collect();
    mentions.sort();
    let kept: Vec<((usize, usize), usize)> = match rule {
        GoldCrop::IndexSliced => {
            let end = (offset + max_segments).min(mentions.len());
            mentions[offset.min(end)..end].to_vec()
        }
        GoldCrop::Positional => mentions
            .into_iter()
            .filter(|&((s, e), _)| s < window_end && e >= window_start)
            .collect(),
    };
    let mut slot_of_id: BTreeMap<usize, usize> = BTreeMap::new();
    let mut clusters: Vec<Vec<(usize, usize)>> = Vec::new();
    for ((s, e), id) in kept {
        let slot = *slot_of_id.entry(id).or_insert_with(|| {
            clusters.push(Vec::new());
            clusters.len() - 1
        });
        clusters[slot].push((s.wrapping_sub(window_start), e.wrapping_sub(window_start)));
    }
    Cow::Owned(clusters)
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

#[cfg(test)]
mod tests {
    use super::*;
    use reprobe_corpus::PreparedDocument;
    use reprobe_models::heads::coref::{crop_document, CorefInputs};

    /// 4 segments of lengths 3, 2, 4, 3 (subtokens 0–2, 3–4, 5–8, 9–11) and the gold clusters.
    fn doc(gold_clusters: Vec<Vec<(usize, usize)>>) -> ModelDocument {
        let lengths = [3usize, 2, 4, 3];
        let segment_of_token: Vec<u32> = lengths
            .iter()
            .enumerate()
            .flat_map(|(s, &n)| std::iter::repeat_n(s as u32, n))
            .collect();
        let n = segment_of_token.len();
        ModelDocument {
            doc_key: "bc/x_0".into(),
            segments: lengths.iter().map(|&n| vec![0u32; n]).collect(),
            inputs: CorefInputs {
                sentence_map: vec![0; n],
                speaker_ids: vec![0; n],
                segment_of_token,
                genre: 0,
            },
            gold_clusters,
            prepared: PreparedDocument {
                doc_key: "bc/x_0".into(),
                tokens: vec![],
                sentences: vec![],
                speakers: vec![],
                constituents: vec![],
                ner: vec![],
                clusters: vec![],
                sentence_map: vec![],
                subtoken_map: vec![],
                pronouns: vec![],
                genre: None,
            },
        }
    }

    fn gold() -> Vec<Vec<(usize, usize)>> {
        // Sorted mentions: (0,0)a (1,2)b (3,3)a (4,6)c (5,5)b (7,7)c (8,8)a (10,11)b.
        vec![
            vec![(3, 3), (0, 0), (8, 8)],
            vec![(1, 2), (5, 5), (10, 11)],
            vec![(7, 7), (4, 6)],
        ]
    }

    #[test]
    fn uncropped_documents_keep_their_gold() {
        let d = doc(gold());
        for crop in [None, Some((4, 0)), Some((5, 0))] {
            let g = reference_gold(&d, crop, GoldCrop::IndexSliced);
            assert!(matches!(g, Cow::Borrowed(_)));
            assert_eq!(g.as_ref(), gold().as_slice());
        }
    }

    #[test]
    fn index_sliced_gold_keeps_the_slice_wherever_it_lies() {
        let d = doc(gold());
        // Keep 2 segments from segment 1: subtokens 3–8, the mentions of index 1 and 2 of the sorted
        // list: (1,2) of b, which lies before the window, and (3,3) of a.
        let g = reference_gold(&d, Some((2, 1)), GoldCrop::IndexSliced);
        let before = (1usize.wrapping_sub(3), 2usize.wrapping_sub(3));
        assert_eq!(g.as_ref(), &[vec![before], vec![(0, 0)]]);
        // The head's gold keeps only the part inside the window.
        let head = crop_document(&d.inputs, Some(&d.gold()), 2, 1, GoldCrop::IndexSliced)
            .unwrap()
            .gold
            .unwrap();
        assert_eq!(head.spans, vec![(0, 0)]);
    }

    #[test]
    fn positional_gold_keeps_mentions_that_overlap_the_window() {
        let d = doc(gold());
        // Subtokens 3–8: (3,3) (4,6) (5,5) (7,7) (8,8) inside, shifted by 3; (1,2) and (10,11) outside.
        let g = reference_gold(&d, Some((2, 1)), GoldCrop::Positional);
        assert_eq!(
            g.as_ref(),
            &[vec![(0, 0), (5, 5)], vec![(1, 3), (4, 4)], vec![(2, 2)]]
        );
        // A mention across the window's end is kept, shifted (coref-hoi's rule).
        let d = doc(vec![vec![(0, 0), (8, 10)]]);
        let g = reference_gold(&d, Some((3, 0)), GoldCrop::Positional);
        assert_eq!(g.as_ref(), &[vec![(0, 0), (8, 10)]]);
    }
}
