//! Relation classification scores as the official scorers of the two datasets compute them.
//!
//! | dataset | official number | definition |
//! |---|---|---|
//! | TACRED | micro P/R/F1 without `no_relation` ([`tacred_score`]) | `score` of the TACRED scorer (Zhang et al. 2017): tp = correct non-`no_relation` predictions, precision over the non-`no_relation` predictions (**1** when there is none), recall over the non-`no_relation` gold examples |
//! | SemEval-2010 Task 8 | macro F1 of the "(9+1)-way evaluation with directionality taken into account" ([`SemEvalCounts`]) | what `semeval2010_task8_scorer-v1.2.pl` prints as its official score, below |
//!
//! The SemEval scorer's official evaluation (iii), per relation type `R` (the label without its
//! `(e1,e2)` / `(e2,e1)` direction) among the types of the **key** other than `Other`:
//! - correct(R): examples whose gold type is R and whose prediction is the gold label exactly, direction
//!   included;
//! - P(R) = correct(R) / (predictions of type R, either direction): a prediction of the right type with
//!   the wrong direction counts against P (the scorer's `xDIRx` column, added to the denominator since
//!   v1.2) and against R; 0 when nothing was predicted as R;
//! - R(R) = correct(R) / gold examples of type R (skipped examples included); F1 = 2PR / (P + R), 0 when
//!   P + R = 0;
//! - the official score is the **mean of the per-type F1** over the key's non-`Other` types (macro P and
//!   R are means too; macro F1 is not the F1 of the means). Types that occur only in the predictions are
//!   ignored, and so are predictions whose type is not in the key (the scorer warns about them);
//! - micro: Σ correct / Σ predictions of the key's non-`Other` types, Σ correct / Σ non-`Other` gold;
//! - accuracy: exact label matches (direction and `Other` included) over the key's examples, a skipped
//!   example counting as wrong (the scorer's "considering all skipped examples as Wrong"; with a
//!   prediction for every example it equals its accuracy "for the above confusion matrix").
//!
//! Fractions are in `[0, 1]` here (the scorer prints percentages). `tests/relation_golden.rs` checks
//! [`SemEvalCounts`] against the scorer's own outputs on the release's sample files and against
//! hand-derived cases with direction errors and `Other` predictions.
//!
//! ```
//! use reprobe_metrics::relation::SemEvalCounts;
//!
//! let mut counts = SemEvalCounts::new();
//! counts.add("Cause-Effect(e1,e2)", Some("Cause-Effect(e1,e2)"));
//! counts.add("Cause-Effect(e2,e1)", Some("Cause-Effect(e1,e2)")); // right type, wrong direction
//! counts.add("Other", Some("Other"));
//! let report = counts.report();
//! // Cause-Effect: P = 1/2, R = 1/2, F1 = 1/2; the only type of the key besides Other.
//! assert_eq!(report.official_f1, 0.5);
//! assert_eq!(report.accuracy, 2.0 / 3.0);
//! ```
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classification::{ClassCounts, ClassificationError, PrfCounts, PrfScores};

/// TACRED's negative label.
pub const TACRED_NO_RELATION: &str = "no_relation";

/// SemEval-2010 Task 8's negative label.
pub const SEMEVAL_OTHER: &str = "Other";

/// The relation type of a SemEval-2010 Task 8 label: `Cause-Effect(e1,e2)` → `Cause-Effect` (the scorer's
/// `s/\(e[12],e[12]\)$//`); a label without a direction (`Other`) is returned as it is.
pub fn semeval_relation_type(label: &str) -> &str {
    direction_of(label).map_or(label, |(relation, _)| relation)
}

/// Splits `Rel(e1,e2)` into `("Rel", "(e1,e2)")`; `None` without such a suffix.
fn direction_of(label: &str) -> Option<(&str, &str)> {
    let cut = label.len().checked_sub(7)?;
    let (relation, suffix) = label.split_at_checked(cut)?;
    let b = suffix.as_bytes();
    let arg = |c: u8| c == b'1' || c == b'2';
    let ok = suffix.starts_with("(e")
        && arg(b[2])
        && &suffix[3..5] == ",e"
        && arg(b[5])
        && suffix.ends_with(')');
    ok.then_some((relation, suffix))
}

/// Whether `labels` look like SemEval-2010 Task 8 labels: `Other` and directed labels `Rel(e1,e2)`.
pub fn is_semeval_label_set<S: AsRef<str>>(labels: &[S]) -> bool {
    labels.iter().any(|l| l.as_ref() == SEMEVAL_OTHER)
        && labels
            .iter()
            .all(|l| l.as_ref() == SEMEVAL_OTHER || direction_of(l.as_ref()).is_some())
}

/// TACRED's official micro precision, recall and F1 over the relations other than `negative` (normally
/// [`TACRED_NO_RELATION`]) of parallel gold and predicted labels; see
/// [`ClassCounts::tacred_micro`] for the conventions.
pub fn tacred_score(
    gold: &[&str],
    predicted: &[&str],
    negative: &str,
) -> Result<PrfScores, ClassificationError> {
    let mut counts = ClassCounts::new();
    counts.add_all(gold, predicted)?;
    Ok(counts.tacred_micro(negative))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TypeTally {
    gold: u64,
    predicted: u64,
    correct: u64,
}

/// The tallies of the SemEval-2010 Task 8 scorer's official evaluation (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SemEvalCounts {
    by_type: BTreeMap<String, TypeTally>,
    key_examples: u64,
    predicted_examples: u64,
    correct: u64,
}

/// The official evaluation's numbers, fractions in `[0, 1]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SemEvalReport {
    /// The official score: the mean of the per-type F1 over the key's types other than `Other`.
    pub official_f1: f64,
    /// Mean of the per-type precisions.
    pub macro_precision: f64,
    /// Mean of the per-type recalls.
    pub macro_recall: f64,
    /// Exact matches (direction included) over the key's examples; a skipped example is wrong.
    pub accuracy: f64,
    /// Examples with a prediction over the key's examples.
    pub coverage: f64,
    /// Pooled counts of the key's non-`Other` types (tp = correct, fp = other predictions of these types,
    /// fn = missed gold examples) with their P/R/F1.
    pub micro: PrfScores,
    /// P/R/F1 (and tp/fp/fn) of every relation type of the key other than `Other`, by type name.
    pub per_label: BTreeMap<String, PrfScores>,
}

impl SemEvalCounts {
    /// No example yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one example of the key with its prediction (`None`: skipped, the system gave no label).
    pub fn add(&mut self, gold: &str, predicted: Option<&str>) {
        self.key_examples += 1;
        let gold_type = semeval_relation_type(gold);
        self.by_type.entry(gold_type.to_string()).or_default().gold += 1;
        let Some(predicted) = predicted else {
            return;
        };
        self.predicted_examples += 1;
        self.by_type
            .entry(semeval_relation_type(predicted).to_string())
            .or_default()
            .predicted += 1;
        if predicted == gold {
            self.correct += 1;
            self.by_type
                .entry(gold_type.to_string())
                .or_default()
                .correct += 1;
        }
    }

    /// Examples of the key added.
    pub fn examples(&self) -> u64 {
        self.key_examples
    }

    /// The scores of the official evaluation. Without a non-`Other` type in the key (where the scorer
    /// divides by zero) the macro numbers are 0.
    pub fn report(&self) -> SemEvalReport {
        let mut per_label = BTreeMap::new();
        let mut pooled = PrfCounts::default();
        for (relation, t) in &self.by_type {
            if t.gold == 0 || relation == SEMEVAL_OTHER {
                continue;
            }
            let counts = PrfCounts::new(t.correct, t.predicted - t.correct, t.gold - t.correct);
            pooled += counts;
            per_label.insert(relation.clone(), counts.scores());
        }
        let n = per_label.len();
        let mean = |f: fn(&PrfScores) -> f64| {
            if n == 0 {
                0.0
            } else {
                per_label.values().map(f).sum::<f64>() / n as f64
            }
        };
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        SemEvalReport {
            official_f1: mean(|s| s.f1),
            macro_precision: mean(|s| s.precision),
            macro_recall: mean(|s| s.recall),
            accuracy: ratio(self.correct, self.key_examples),
            coverage: ratio(self.predicted_examples, self.key_examples),
            micro: pooled.scores(),
            per_label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_types_drop_only_a_direction_suffix() {
        assert_eq!(semeval_relation_type("Cause-Effect(e1,e2)"), "Cause-Effect");
        assert_eq!(semeval_relation_type("Cause-Effect(e2,e1)"), "Cause-Effect");
        assert_eq!(semeval_relation_type("Other"), "Other");
        assert_eq!(semeval_relation_type("X(e3,e1)"), "X(e3,e1)");
        assert_eq!(semeval_relation_type("(e1,e2)"), "");
        assert_eq!(semeval_relation_type("é(e1,e2)"), "é");
        assert_eq!(semeval_relation_type("é"), "é");
        assert!(is_semeval_label_set(&["Other", "A(e1,e2)", "A(e2,e1)"]));
        assert!(!is_semeval_label_set(&["no_relation", "per:title"]));
        assert!(!is_semeval_label_set(&["Other", "per:title"]));
    }

    #[test]
    fn empty_and_other_only_keys_score_zero() {
        assert_eq!(SemEvalCounts::new().report(), SemEvalReport::default());
        let mut c = SemEvalCounts::new();
        c.add("Other", Some("Other"));
        let r = c.report();
        assert_eq!((r.official_f1, r.accuracy), (0.0, 1.0));
        assert!(r.per_label.is_empty());
    }

    #[test]
    fn tacred_score_is_the_official_micro() {
        // gold:  r1 r1 no no r2   pred: r1 r2 r1 no no
        // guessed = 3 (r1, r2, r1), gold = 3 (r1, r1, r2), correct = 1
        let s = tacred_score(
            &["r1", "r1", "no", "no", "r2"],
            &["r1", "r2", "r1", "no", "no"],
            "no",
        )
        .unwrap();
        assert_eq!((s.precision, s.recall), (1.0 / 3.0, 1.0 / 3.0));
        assert!(tacred_score(&["a"], &[], "no").is_err());
    }
}
