//! Classification metrics of the source tasks: accuracy, P/R/F1 of one class, per label, macro and
//! micro over a chosen label set, with scikit-learn's definitions.
//!
//! | number | definition | used for |
//! |---|---|---|
//! | [`ClassCounts::accuracy`] | correct / examples (`sklearn.metrics.accuracy_score`) | GLUE MRPC |
//! | [`ClassCounts::scores_of`] | P/R/F1 with one label as the positive class (`f1_score(pos_label=…)`) | GLUE MRPC (F1 of class 1) |
//! | [`ClassCounts::per_label`] | P/R/F1 and tp/fp/fn of every label seen (`precision_recall_fscore_support(average=None)`) | reports |
//! | [`ClassCounts::macro_scores`] | unweighted mean of the per-label P, R and F1 over a given label list (`average='macro', labels=…`) | SemEval-2010 Task 8's official macro F1 |
//! | [`ClassCounts::micro_excluding`] | P/R/F1 of the pooled tp/fp/fn of every label but a negative one (`average='micro', labels=all but it`) | TACRED |
//! | [`ClassCounts::tacred_micro`] | the same counts with the conventions of the official TACRED scorer | TACRED, as papers report it |
//!
//! A ratio whose denominator is 0 is 0 (scikit-learn's `zero_division="warn"`, which also returns 0);
//! F1 is `2·P·R / (P + R)`, 0 when `P + R = 0`. scikit-learn writes F1 as `2·tp / (2·tp + fp + fn)`,
//! the same number up to the last bit or two of an `f64`. The golden test
//! (`tests/classification_sklearn.rs`) checks every number against scikit-learn itself.
//!
//! Labels are of any ordered type: `&str` or `String` for relation names, integers for GLUE labels.
//! Lookups take anything the label type borrows as (a `&str` for `String` labels).
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

/// What can go wrong when classification metrics are fed or asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassificationError {
    /// Gold and predicted labels are not equally many.
    #[error(
        "{gold} gold labels but {predicted} predicted labels (expected one prediction per example)"
    )]
    LengthMismatch {
        /// Number of gold labels.
        gold: usize,
        /// Number of predicted labels.
        predicted: usize,
    },
    /// A macro average over no label was asked for.
    #[error("a macro average needs at least one label, got an empty label list")]
    NoLabels,
}

/// True positives, false positives and false negatives of one class (or of several pooled).
///
/// Serialized as `{"tp", "fp", "fn"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrfCounts {
    /// Predicted as the class and gold is the class.
    #[serde(rename = "tp")]
    pub true_pos: u64,
    /// Predicted as the class but gold is another.
    #[serde(rename = "fp")]
    pub false_pos: u64,
    /// Gold is the class but predicted as another.
    #[serde(rename = "fn")]
    pub false_neg: u64,
}

/// Precision, recall and F1 (fractions in `[0, 1]`) with the counts they come from.
///
/// Serialized as `{"precision", "recall", "f1", "tp", "fp", "fn"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PrfScores {
    /// `tp / (tp + fp)`, 0 when nothing was predicted as the class.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the gold has no example of the class.
    pub recall: f64,
    /// `2·P·R / (P + R)`, 0 when `P + R = 0`.
    pub f1: f64,
    /// The counts.
    #[serde(flatten)]
    pub counts: PrfCounts,
}

/// Unweighted means of per-label precision, recall and F1 over a label list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MacroScores {
    /// Mean of the per-label precisions.
    pub precision: f64,
    /// Mean of the per-label recalls.
    pub recall: f64,
    /// Mean of the per-label F1s (not the F1 of the mean P and R).
    pub f1: f64,
}

impl PrfCounts {
    /// Counts from tp, fp and fn.
    pub fn new(true_pos: u64, false_pos: u64, false_neg: u64) -> Self {
        PrfCounts {
            true_pos,
            false_pos,
            false_neg,
        }
    }

    /// Number of predictions of the class: `tp + fp`.
    pub fn predicted(&self) -> u64 {
        self.true_pos + self.false_pos
    }

    /// Number of gold examples of the class (scikit-learn's and seqeval's "support"): `tp + fn`.
    pub fn gold(&self) -> u64 {
        self.true_pos + self.false_neg
    }

    /// `tp / (tp + fp)`, 0 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.true_pos, self.predicted())
    }

    /// `tp / (tp + fn)`, 0 when there is no gold example.
    pub fn recall(&self) -> f64 {
        ratio(self.true_pos, self.gold())
    }

    /// `2·P·R / (P + R)`, 0 when `P + R = 0`.
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }

    /// Precision, recall and F1 with these counts.
    pub fn scores(&self) -> PrfScores {
        PrfScores {
            precision: self.precision(),
            recall: self.recall(),
            f1: self.f1(),
            counts: *self,
        }
    }
}

impl AddAssign for PrfCounts {
    fn add_assign(&mut self, other: PrfCounts) {
        self.true_pos += other.true_pos;
        self.false_pos += other.false_pos;
        self.false_neg += other.false_neg;
    }
}

/// `num / den`, 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Harmonic mean of precision and recall, 0 when both are 0 (seqeval's and conlleval's formula).
pub(crate) fn f1(precision: f64, recall: f64) -> f64 {
    let denominator = precision + recall;
    if denominator == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / denominator
    }
}

/// How often one label was gold, predicted, and both at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LabelTally {
    gold: u64,
    predicted: u64,
    correct: u64,
}

impl LabelTally {
    fn counts(&self) -> PrfCounts {
        PrfCounts::new(
            self.correct,
            self.predicted - self.correct,
            self.gold - self.correct,
        )
    }
}

/// Accumulates (gold, predicted) label pairs and answers every classification metric from them.
///
/// ```
/// use reprobe_metrics::classification::ClassCounts;
///
/// // GLUE MRPC: accuracy and F1 of class 1.
/// let mut counts = ClassCounts::new();
/// counts.add_all(&[1, 0, 1, 1, 0], &[1, 0, 0, 1, 1]).unwrap();
/// assert_eq!(counts.accuracy(), 0.6);
/// let positive = counts.scores_of(&1);
/// assert_eq!((positive.precision, positive.recall), (2.0 / 3.0, 2.0 / 3.0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCounts<L: Ord> {
    tallies: BTreeMap<L, LabelTally>,
    examples: u64,
    correct: u64,
}

impl<L: Ord> Default for ClassCounts<L> {
    fn default() -> Self {
        ClassCounts {
            tallies: BTreeMap::new(),
            examples: 0,
            correct: 0,
        }
    }
}

impl<L: Ord + Clone> ClassCounts<L> {
    /// No example yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one example.
    pub fn add(&mut self, gold: L, predicted: L) {
        self.examples += 1;
        if gold == predicted {
            self.correct += 1;
            self.tallies.entry(gold.clone()).or_default().correct += 1;
        }
        self.tallies.entry(gold).or_default().gold += 1;
        self.tallies.entry(predicted).or_default().predicted += 1;
    }

    /// Adds the examples of two parallel slices; nothing is added when their lengths differ.
    pub fn add_all(&mut self, gold: &[L], predicted: &[L]) -> Result<(), ClassificationError> {
        if gold.len() != predicted.len() {
            return Err(ClassificationError::LengthMismatch {
                gold: gold.len(),
                predicted: predicted.len(),
            });
        }
        for (g, p) in gold.iter().zip(predicted) {
            self.add(g.clone(), p.clone());
        }
        Ok(())
    }

    /// Number of examples added.
    pub fn examples(&self) -> u64 {
        self.examples
    }

    /// Fraction of examples predicted correctly; 0 when there is none.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.examples)
    }

    /// Every label seen as gold or predicted, in order.
    pub fn labels(&self) -> impl Iterator<Item = &L> {
        self.tallies.keys()
    }

    /// tp/fp/fn of `label` as the positive class (all zero for a label never seen).
    pub fn counts_of<Q>(&self, label: &Q) -> PrfCounts
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.tallies
            .get(label)
            .map(LabelTally::counts)
            .unwrap_or_default()
    }

    /// Binary precision, recall and F1 of `label` as the positive class, every other label negative
    /// (scikit-learn's `f1_score(..., pos_label=label)` on binary data; its per-label row otherwise).
    pub fn scores_of<Q>(&self, label: &Q) -> PrfScores
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.counts_of(label).scores()
    }

    /// Scores of every label seen as gold or predicted.
    pub fn per_label(&self) -> BTreeMap<L, PrfScores> {
        self.tallies
            .iter()
            .map(|(label, tally)| (label.clone(), tally.counts().scores()))
            .collect()
    }

    /// Unweighted means of per-label precision, recall and F1 over `labels`, which may name labels never
    /// seen (they count with P = R = F1 = 0, as in scikit-learn) and leave out seen ones.
    pub fn macro_scores<Q>(&self, labels: &[&Q]) -> Result<MacroScores, ClassificationError>
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        if labels.is_empty() {
            return Err(ClassificationError::NoLabels);
        }
        let mut sum = MacroScores::default();
        for label in labels {
            let counts = self.counts_of(*label);
            sum.precision += counts.precision();
            sum.recall += counts.recall();
            sum.f1 += counts.f1();
        }
        let n = labels.len() as f64;
        Ok(MacroScores {
            precision: sum.precision / n,
            recall: sum.recall / n,
            f1: sum.f1 / n,
        })
    }

    /// Mean of the per-label F1 over `labels` ([`ClassCounts::macro_scores`]'s F1).
    pub fn macro_f1<Q>(&self, labels: &[&Q]) -> Result<f64, ClassificationError>
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        Ok(self.macro_scores(labels)?.f1)
    }

    /// tp/fp/fn pooled over every label except `negative`: tp = correct predictions of a non-negative
    /// label, fp = non-negative predictions that are wrong, fn = non-negative gold examples missed.
    pub fn pooled_excluding<Q>(&self, negative: &Q) -> PrfCounts
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let mut pooled = PrfCounts::default();
        for (label, tally) in &self.tallies {
            if label.borrow() != negative {
                pooled += tally.counts();
            }
        }
        pooled
    }

    /// Micro P/R/F1 over every label except `negative` (scikit-learn's
    /// `precision_recall_fscore_support(average='micro', labels=<all but negative>)`): precision =
    /// correct non-negative predictions / non-negative predictions, recall = correct / non-negative gold.
    /// Precision is 0 when nothing non-negative was predicted; see [`ClassCounts::tacred_micro`].
    pub fn micro_excluding<Q>(&self, negative: &Q) -> PrfScores
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.pooled_excluding(negative).scores()
    }

    /// [`ClassCounts::micro_excluding`] with the conventions of the official TACRED scorer
    /// (Zhang et al. 2017, `score` in `tacred/utils/scorer.py`): precision is **1** when nothing
    /// non-negative was predicted (scikit-learn says 0); recall 0 without non-negative gold; F1 0 when
    /// `P + R = 0`. Only precision can differ from [`ClassCounts::micro_excluding`], and only then.
    pub fn tacred_micro<Q>(&self, negative: &Q) -> PrfScores
    where
        L: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let counts = self.pooled_excluding(negative);
        let precision = if counts.predicted() == 0 {
            1.0
        } else {
            counts.precision()
        };
        let recall = counts.recall();
        PrfScores {
            precision,
            recall,
            f1: f1(precision, recall),
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(gold: &[&'static str], predicted: &[&'static str]) -> ClassCounts<&'static str> {
        let mut counts = ClassCounts::new();
        counts.add_all(gold, predicted).unwrap();
        counts
    }

    #[test]
    fn length_mismatch_adds_nothing() {
        let mut c = ClassCounts::new();
        let err = c.add_all(&["a", "b"], &["a"]).unwrap_err();
        assert_eq!(
            err,
            ClassificationError::LengthMismatch {
                gold: 2,
                predicted: 1
            }
        );
        assert_eq!(c.examples(), 0);
        assert!(err.to_string().contains("2 gold labels but 1 predicted"));
    }

    #[test]
    fn empty_is_all_zero() {
        let c: ClassCounts<String> = ClassCounts::new();
        assert_eq!(c.accuracy(), 0.0);
        assert_eq!(c.scores_of("x"), PrfScores::default());
        assert_eq!(c.micro_excluding("no_relation"), PrfScores::default());
        assert_eq!(c.tacred_micro("no_relation").precision, 1.0);
        assert_eq!(c.tacred_micro("no_relation").f1, 0.0);
        assert_eq!(c.macro_f1::<str>(&[]), Err(ClassificationError::NoLabels));
    }

    #[test]
    fn hand_counted_relations() {
        // gold:  r1 r1 r2 no no r2
        // pred:  r1 r2 no r2 no r2
        let c = counts(
            &["r1", "r1", "r2", "no", "no", "r2"],
            &["r1", "r2", "no", "r2", "no", "r2"],
        );
        assert_eq!(c.accuracy(), 3.0 / 6.0);
        assert_eq!(c.counts_of("r1"), PrfCounts::new(1, 0, 1));
        assert_eq!(c.counts_of("r2"), PrfCounts::new(1, 2, 1));
        assert_eq!(c.counts_of("no"), PrfCounts::new(1, 1, 1));
        // Pooled non-negative: tp 2, fp 2 (r2 for r1, r2 for no), fn 2 (r1 as r2, r2 as no).
        let micro = c.micro_excluding("no");
        assert_eq!(micro.counts, PrfCounts::new(2, 2, 2));
        assert_eq!((micro.precision, micro.recall, micro.f1), (0.5, 0.5, 0.5));
        let m = c.macro_scores(&["r1", "r2"]).unwrap();
        assert_eq!(m.precision, (1.0 + 1.0 / 3.0) / 2.0);
        assert_eq!(m.recall, 0.5);
        assert_eq!(m.f1, (f1(1.0, 0.5) + f1(1.0 / 3.0, 0.5)) / 2.0);
        // An unseen label pulls the macro mean down.
        let with_unseen = c.macro_f1(&["r1", "r2", "r3"]).unwrap();
        assert_eq!(with_unseen, (f1(1.0, 0.5) + f1(1.0 / 3.0, 0.5)) / 3.0);
    }

    #[test]
    fn all_negative_predictions() {
        let c = counts(&["r1", "no", "r2"], &["no", "no", "no"]);
        let sk = c.micro_excluding("no");
        let tacred = c.tacred_micro("no");
        assert_eq!((sk.precision, sk.recall, sk.f1), (0.0, 0.0, 0.0));
        assert_eq!(
            (tacred.precision, tacred.recall, tacred.f1),
            (1.0, 0.0, 0.0)
        );
        assert_eq!(tacred.counts, PrfCounts::new(0, 0, 2));
    }

    #[test]
    fn string_labels_borrow_as_str() {
        let mut c: ClassCounts<String> = ClassCounts::new();
        c.add("a".into(), "a".into());
        c.add("b".into(), "a".into());
        assert_eq!(c.counts_of("a"), PrfCounts::new(1, 1, 0));
        assert_eq!(c.labels().cloned().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.per_label()["b"].counts, PrfCounts::new(0, 0, 1));
    }

    #[test]
    fn scores_serialize_with_short_count_names() {
        let json = serde_json::to_value(PrfCounts::new(3, 1, 2).scores()).unwrap();
        assert_eq!(json["tp"], 3);
        assert_eq!(json["fp"], 1);
        assert_eq!(json["fn"], 2);
        assert_eq!(json["precision"], 0.75);
        assert_eq!(json["recall"], 0.6);
    }
}
