//! The accumulator: documents in, per-document counts out, corpus totals and CoNLL F1 at the end.
use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use super::bcub::bcub;
use super::blanc::blanc;
use super::ceaf::{ceaf, CeafKind};
use super::counts::{BlancCounts, Counts};
use super::lea::lea;
use super::mentions::identify_mentions;
use super::muc::muc;
use super::{Metric, MetricSet};

/// The counts of every computed metric, for one document or summed over documents.
///
/// Metrics that were not asked for are `None` (and absent from the serialised form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorefCounts {
    /// Mention identification (strict boundaries); always computed.
    pub mentions: Counts,
    /// MUC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muc: Option<Counts>,
    /// B³.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcub: Option<Counts>,
    /// CEAFm (mention-based CEAF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceafm: Option<Counts>,
    /// CEAFe (entity-based CEAF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceafe: Option<Counts>,
    /// BLANC's coreference and non-coreference link counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blanc: Option<BlancCounts>,
    /// LEA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lea: Option<Counts>,
}

impl CorefCounts {
    /// Adds another document's counts to these; a metric missing on either side stays as it is here
    /// when `other` lacks it, and is taken from `other` when only `other` has it.
    pub fn add(&mut self, other: &CorefCounts) {
        fn merge(total: &mut Option<Counts>, doc: &Option<Counts>) {
            if let Some(doc) = doc {
                total.get_or_insert_with(Counts::default).add(doc);
            }
        }
        self.mentions.add(&other.mentions);
        merge(&mut self.muc, &other.muc);
        merge(&mut self.bcub, &other.bcub);
        merge(&mut self.ceafm, &other.ceafm);
        merge(&mut self.ceafe, &other.ceafe);
        merge(&mut self.lea, &other.lea);
        if let Some(doc) = &other.blanc {
            self.blanc.get_or_insert_with(BlancCounts::default).add(doc);
        }
    }

    /// The counts of one metric other than BLANC (whose counts are [`CorefCounts::blanc`]).
    pub fn get(&self, metric: Metric) -> Option<&Counts> {
        match metric {
            Metric::Muc => self.muc.as_ref(),
            Metric::Bcub => self.bcub.as_ref(),
            Metric::Ceafm => self.ceafm.as_ref(),
            Metric::Ceafe => self.ceafe.as_ref(),
            Metric::Lea => self.lea.as_ref(),
            Metric::Blanc => None,
        }
    }

    /// CoNLL F1 = (F1_MUC + F1_B³ + F1_CEAFe) / 3 as a **fraction in [0, 1]** (multiply by 100 for the
    /// papers' scale), each F1 from the summed counts; `None` unless all three were computed.
    pub fn conll_f1(&self) -> Option<f64> {
        Some((self.muc?.f1() + self.bcub?.f1() + self.ceafe?.f1()) / 3.0)
    }
}

/// The counts of one document and the repeated mentions found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentCounts<M> {
    /// The document's counts.
    pub counts: CorefCounts,
    /// Key mentions whose span the key already had (kept, as the reference keeps them).
    pub repeated_key_mentions: Vec<M>,
    /// Response mentions removed because an earlier response mention had the same span and that span
    /// is a key mention (the reference's "Repeated mention in the response"; it refuses files with more
    /// than 10, we accept them and let the caller warn).
    pub repeated_response_mentions: Vec<M>,
}

/// Scores one document with the metrics in `metrics` (mention identification is always computed).
///
/// `key` and `response` are the document's clusters, each a list of mentions; a mention is any
/// hashable value that identifies a span exactly (`(start, end)` word or subtoken indices of any
/// integer type, `[usize; 2]`, a span struct). Order matters only as it does for the reference: the
/// first response copy of a repeated key span survives, and fractional sums follow the given order.
pub fn score_document<M, K, R>(key: &[K], response: &[R], metrics: MetricSet) -> DocumentCounts<M>
where
    M: Copy + Eq + Hash,
    K: AsRef<[M]>,
    R: AsRef<[M]>,
{
    let identified = identify_mentions(key, response);
    let chains = &identified.chains;
    let counts = CorefCounts {
        mentions: chains.mention_counts(),
        muc: metrics.contains(Metric::Muc).then(|| muc(chains)),
        bcub: metrics.contains(Metric::Bcub).then(|| bcub(chains)),
        ceafm: metrics
            .contains(Metric::Ceafm)
            .then(|| ceaf(chains, CeafKind::Mention)),
        ceafe: metrics
            .contains(Metric::Ceafe)
            .then(|| ceaf(chains, CeafKind::Entity)),
        blanc: metrics.contains(Metric::Blanc).then(|| blanc(chains)),
        lea: metrics.contains(Metric::Lea).then(|| lea(chains)),
    };
    DocumentCounts {
        counts,
        repeated_key_mentions: identified.repeated_key,
        repeated_response_mentions: identified.repeated_response,
    }
}

/// Accumulates documents and sums their counts (micro-averaging, as the reference scorer does).
///
/// One evaluator serves both uses: `reprobe score` feeds it word spans read from CoNLL files, and the
/// in-training evaluation feeds it the subtoken spans of gold and predicted clusters per document (see
/// the crate docs for an example).
#[derive(Debug, Clone)]
pub struct CorefEvaluator {
    metrics: MetricSet,
    totals: CorefCounts,
    num_documents: usize,
}

impl Default for CorefEvaluator {
    fn default() -> Self {
        Self::new()
    }
}

impl CorefEvaluator {
    /// An evaluator computing every metric.
    pub fn new() -> Self {
        Self::with_metrics(MetricSet::all())
    }

    /// An evaluator computing only `metrics` (plus mention identification).
    pub fn with_metrics(metrics: MetricSet) -> Self {
        CorefEvaluator {
            metrics,
            totals: CorefCounts::default(),
            num_documents: 0,
        }
    }

    /// The metrics this evaluator computes.
    pub fn metrics(&self) -> MetricSet {
        self.metrics
    }

    /// Scores one document, adds its counts to the totals and returns them (see [`score_document`]).
    pub fn add_document<M, K, R>(&mut self, key: &[K], response: &[R]) -> DocumentCounts<M>
    where
        M: Copy + Eq + Hash,
        K: AsRef<[M]>,
        R: AsRef<[M]>,
    {
        let doc = score_document(key, response, self.metrics);
        self.add_counts(&doc.counts);
        doc
    }

    /// Adds counts computed elsewhere (e.g. by [`score_document`] on another thread).
    pub fn add_counts(&mut self, counts: &CorefCounts) {
        self.totals.add(counts);
        self.num_documents += 1;
    }

    /// The counts summed over every document added so far. A metric of [`CorefEvaluator::metrics`] is
    /// `Some` (all zeros) even before the first document.
    pub fn totals(&self) -> CorefCounts {
        let mut totals = self.totals.clone();
        for metric in self.metrics.iter() {
            match metric {
                Metric::Muc => totals.muc.get_or_insert_with(Counts::default),
                Metric::Bcub => totals.bcub.get_or_insert_with(Counts::default),
                Metric::Ceafm => totals.ceafm.get_or_insert_with(Counts::default),
                Metric::Ceafe => totals.ceafe.get_or_insert_with(Counts::default),
                Metric::Lea => totals.lea.get_or_insert_with(Counts::default),
                Metric::Blanc => {
                    totals.blanc.get_or_insert_with(BlancCounts::default);
                    continue;
                }
            };
        }
        totals
    }

    /// Number of documents added.
    pub fn num_documents(&self) -> usize {
        self.num_documents
    }

    /// CoNLL F1 of the totals as a fraction in [0, 1]; `None` unless MUC, B³ and CEAFe are computed.
    pub fn conll_f1(&self) -> Option<f64> {
        self.totals().conll_f1()
    }

    /// Forgets every document (the metrics stay).
    pub fn reset(&mut self) {
        self.totals = CorefCounts::default();
        self.num_documents = 0;
    }
}

/// Pairs the documents of a key and a response corpus the way the reference scorer does.
///
/// Documents are matched by id (for CoNLL files, the text after `#begin document `, i.e. id and part).
/// Returns one entry per distinct key id, in order of first appearance, with its response document or
/// `None` when the response lacks it (the reference scores that as an empty response). Response
/// documents absent from the key are ignored; order does not matter. When an id occurs several times
/// in one file, the **last** occurrence is used, as the reference's file index keeps the last offset.
pub fn pair_documents<Id, D>(
    key: impl IntoIterator<Item = (Id, D)>,
    response: impl IntoIterator<Item = (Id, D)>,
) -> Vec<(Id, D, Option<D>)>
where
    Id: Eq + Hash + Clone,
{
    let mut order: Vec<Id> = Vec::new();
    let mut key_docs: HashMap<Id, D> = HashMap::new();
    for (id, doc) in key {
        if key_docs.insert(id.clone(), doc).is_none() {
            order.push(id);
        }
    }
    let mut response_docs: HashMap<Id, D> = response.into_iter().collect();
    order
        .into_iter()
        .filter_map(|id| {
            let key_doc = key_docs.remove(&id)?;
            let response_doc = response_docs.remove(&id);
            Some((id, key_doc, response_doc))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Clusters = Vec<Vec<(usize, usize)>>;

    fn key() -> Clusters {
        // {a} {b c} {d e f} as one-word mentions 0..5.
        vec![
            vec![(0, 0)],
            vec![(1, 1), (2, 2)],
            vec![(3, 3), (4, 4), (5, 5)],
        ]
    }

    #[test]
    fn perfect_response_scores_one_everywhere() {
        let mut evaluator = CorefEvaluator::new();
        let doc = evaluator.add_document(&key(), &key());
        let c = &doc.counts;
        // Mentions 6/6; MUC links 0 + 1 + 2 = 3; B³ 6 mentions; CEAFe 3 chains; BLANC 4 coref and
        // 11 non-coref links; LEA 6.
        assert_eq!(c.mentions, Counts::new(6.0, 6.0, 6.0, 6.0));
        assert_eq!(c.muc, Some(Counts::new(3.0, 3.0, 3.0, 3.0)));
        assert_eq!(c.bcub, Some(Counts::new(6.0, 6.0, 6.0, 6.0)));
        assert_eq!(c.ceafm, Some(Counts::new(6.0, 6.0, 6.0, 6.0)));
        assert_eq!(c.ceafe, Some(Counts::new(3.0, 3.0, 3.0, 3.0)));
        let blanc = c.blanc.unwrap();
        assert_eq!(blanc.coref, Counts::new(4.0, 4.0, 4.0, 4.0));
        assert_eq!(blanc.non_coref, Counts::new(11.0, 11.0, 11.0, 11.0));
        assert_eq!(c.lea, Some(Counts::new(6.0, 6.0, 6.0, 6.0)));
        assert_eq!(evaluator.conll_f1(), Some(1.0));
        assert_eq!(blanc.scores().f1, 1.0);
    }

    #[test]
    fn empty_response_scores_zero_with_key_denominators() {
        let mut evaluator = CorefEvaluator::new();
        let doc = evaluator.add_document::<(usize, usize), _, Vec<_>>(&key(), &[]);
        let c = &doc.counts;
        assert_eq!(c.mentions, Counts::new(0.0, 6.0, 0.0, 0.0));
        assert_eq!(c.muc, Some(Counts::new(0.0, 3.0, 0.0, 0.0)));
        assert_eq!(c.bcub, Some(Counts::new(0.0, 6.0, 0.0, 0.0)));
        assert_eq!(c.ceafm, Some(Counts::new(0.0, 6.0, 0.0, 0.0)));
        assert_eq!(c.ceafe, Some(Counts::new(0.0, 3.0, 0.0, 0.0)));
        let blanc = c.blanc.unwrap();
        assert_eq!(blanc.coref, Counts::new(0.0, 4.0, 0.0, 0.0));
        assert_eq!(blanc.non_coref, Counts::new(0.0, 11.0, 0.0, 0.0));
        assert_eq!(c.lea, Some(Counts::new(0.0, 6.0, 0.0, 0.0)));
        assert_eq!(evaluator.conll_f1(), Some(0.0));
    }

    #[test]
    fn totals_are_micro_averaged() {
        // Doc 1 perfect (MUC 3/3, 3/3); doc 2 key {ab}, response {a}{b}: MUC 0/1, 0/0.
        // Totals 3/4, 3/3: R = 0.75, P = 1, F1 = 6/7 (not the mean of per-document F1s).
        let mut evaluator = CorefEvaluator::with_metrics(MetricSet::from_iter([Metric::Muc]));
        evaluator.add_document(&key(), &key());
        let key2: Clusters = vec![vec![(0, 0), (1, 1)]];
        let resp2: Clusters = vec![vec![(0, 0)], vec![(1, 1)]];
        evaluator.add_document(&key2, &resp2);
        let totals = evaluator.totals();
        let muc = totals.muc.unwrap();
        assert_eq!(muc, Counts::new(3.0, 4.0, 3.0, 3.0));
        assert!((muc.f1() - 6.0 / 7.0).abs() < 1e-15);
        assert_eq!(totals.bcub, None);
        assert_eq!(evaluator.conll_f1(), None);
        assert_eq!(evaluator.num_documents(), 2);
        // Mentions: 6 + 2 of 6 + 2, response 6 + 2.
        assert_eq!(totals.mentions, Counts::new(8.0, 8.0, 8.0, 8.0));
    }

    #[test]
    fn subtoken_spans_of_any_integer_type() {
        let gold: Vec<Vec<[u16; 2]>> = vec![vec![[3, 4], [10, 10]]];
        let pred: Vec<Vec<[u16; 2]>> = vec![vec![[3, 4], [10, 10], [12, 13]]];
        let doc = CorefEvaluator::new().add_document(&gold, &pred);
        // MUC: 1 correct link of 1 key link / 2 response links.
        assert_eq!(doc.counts.muc, Some(Counts::new(1.0, 1.0, 1.0, 2.0)));
    }

    #[test]
    fn pairing_documents_like_the_reference() {
        // Key a, b, a (the last a wins); response c (ignored), b.
        let key = vec![("a", 1), ("b", 2), ("a", 3)];
        let response = vec![("c", 9), ("b", 20)];
        let pairs = pair_documents(key, response);
        assert_eq!(pairs, vec![("a", 3, None), ("b", 2, Some(20))]);
    }

    #[test]
    fn missing_and_extra_documents() {
        // Key docs d1 (perfect in the response) and d2 (missing: scored as an empty response);
        // the response's extra doc d3 is ignored.
        let key_docs = vec![("d1", key()), ("d2", vec![vec![(0, 0), (1, 1)]])];
        let response_docs = vec![("d1", key()), ("d3", vec![vec![(7, 7), (8, 8)]])];
        let mut evaluator = CorefEvaluator::new();
        for (_, key_doc, response_doc) in pair_documents(key_docs, response_docs) {
            evaluator.add_document(&key_doc, &response_doc.unwrap_or_default());
        }
        let totals = evaluator.totals();
        // MUC: 3 + 0 correct of 3 + 1 key links; 3 response links.
        assert_eq!(totals.muc, Some(Counts::new(3.0, 4.0, 3.0, 3.0)));
        // Mentions: 6 of 8 key mentions; 6 response mentions (d3's are not counted).
        assert_eq!(totals.mentions, Counts::new(6.0, 8.0, 6.0, 6.0));
    }
}
