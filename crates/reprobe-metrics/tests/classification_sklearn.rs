//! Classification metrics against scikit-learn.
//!
//! `tests/fixtures/classification/sklearn.json` is made by `scripts/golden/classification_sklearn.py`:
//! accuracy, per-label, positive-class, macro and micro-without-negative scores of scikit-learn on binary,
//! multiclass, empty-class and all-negative cases, plus the official TACRED scorer's conventions. Counts
//! must be equal, ratios within 1e-12.
use std::collections::BTreeMap;
use std::path::Path;

use reprobe_metrics::classification::{ClassCounts, MacroScores, PrfScores};
use serde::Deserialize;

/// serde_json's default float parsing can be one ulp off, and scikit-learn writes F1 as
/// `2·tp / (2·tp + fp + fn)`: ratios agree to the last bit or two, not always exactly.
const TOLERANCE: f64 = 1e-12;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    gold: Vec<String>,
    pred: Vec<String>,
    accuracy: f64,
    per_label: BTreeMap<String, PrfScores>,
    positive: Labelled,
    #[serde(rename = "macro")]
    macro_avg: Macro,
    micro_excluding: Negative,
    tacred: Negative,
}

#[derive(Deserialize)]
struct Labelled {
    label: String,
    #[serde(flatten)]
    scores: PrfScores,
}

#[derive(Deserialize)]
struct Negative {
    negative: String,
    #[serde(flatten)]
    scores: PrfScores,
}

#[derive(Deserialize)]
struct Macro {
    labels: Vec<String>,
    #[serde(flatten)]
    scores: MacroScores,
}

fn fixture() -> Fixture {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/classification/sklearn.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/golden/classification_sklearn.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn close(case: &str, what: &str, ours: f64, expected: f64) {
    assert!(
        (ours - expected).abs() <= TOLERANCE,
        "{case} {what}: ours {ours} sklearn {expected}"
    );
}

fn assert_scores(case: &str, what: &str, ours: &PrfScores, expected: &PrfScores) {
    assert_eq!(ours.counts, expected.counts, "{case} {what}: tp/fp/fn");
    close(
        case,
        &format!("{what} precision"),
        ours.precision,
        expected.precision,
    );
    close(
        case,
        &format!("{what} recall"),
        ours.recall,
        expected.recall,
    );
    close(case, &format!("{what} f1"), ours.f1, expected.f1);
}

fn counts(case: &Case) -> ClassCounts<String> {
    let mut counts = ClassCounts::new();
    counts.add_all(&case.gold, &case.pred).unwrap();
    counts
}

#[test]
fn accuracy_and_per_label_equal_sklearn() {
    for case in fixture().cases {
        let counts = counts(&case);
        close(&case.name, "accuracy", counts.accuracy(), case.accuracy);
        let ours = counts.per_label();
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            case.per_label.keys().collect::<Vec<_>>(),
            "{}: labels",
            case.name
        );
        for (label, expected) in &case.per_label {
            assert_scores(&case.name, label, &ours[label], expected);
        }
    }
}

#[test]
fn positive_class_equals_sklearn() {
    for case in fixture().cases {
        let ours = counts(&case).scores_of(case.positive.label.as_str());
        assert_scores(&case.name, "positive", &ours, &case.positive.scores);
    }
}

#[test]
fn macro_over_chosen_labels_equals_sklearn() {
    for case in fixture().cases {
        let labels: Vec<&str> = case.macro_avg.labels.iter().map(String::as_str).collect();
        let ours = counts(&case).macro_scores(&labels).unwrap();
        let expected = case.macro_avg.scores;
        close(
            &case.name,
            "macro precision",
            ours.precision,
            expected.precision,
        );
        close(&case.name, "macro recall", ours.recall, expected.recall);
        close(&case.name, "macro f1", ours.f1, expected.f1);
        close(
            &case.name,
            "macro_f1",
            counts(&case).macro_f1(&labels).unwrap(),
            expected.f1,
        );
    }
}

#[test]
fn micro_without_negative_equals_sklearn_and_tacred() {
    for case in fixture().cases {
        let counts = counts(&case);
        let negative = case.micro_excluding.negative.as_str();
        let sk = counts.micro_excluding(negative);
        assert_scores(&case.name, "micro", &sk, &case.micro_excluding.scores);
        let tacred = counts.tacred_micro(case.tacred.negative.as_str());
        assert_scores(&case.name, "tacred", &tacred, &case.tacred.scores);
    }
}

#[test]
fn fixture_covers_the_awkward_cases() {
    let fixture = fixture();
    let all_negative = fixture
        .cases
        .iter()
        .find(|c| c.name == "all_negative_predictions")
        .unwrap();
    // scikit-learn and the TACRED scorer disagree on precision only when nothing is predicted.
    assert_eq!(all_negative.micro_excluding.scores.precision, 0.0);
    assert_eq!(all_negative.tacred.scores.precision, 1.0);
    let empty = fixture
        .cases
        .iter()
        .find(|c| c.name == "empty_and_pred_only_class")
        .unwrap();
    assert!(empty.macro_avg.labels.iter().any(|l| l == "e"));
    assert!(!empty.per_label.contains_key("e"));
}
