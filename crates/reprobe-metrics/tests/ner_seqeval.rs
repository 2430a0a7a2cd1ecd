//! Entity-level NER scores against seqeval, token-level scores against scikit-learn.
//!
//! `tests/fixtures/ner/seqeval.json` is made by `scripts/golden/ner_seqeval.py` with the real `seqeval`
//! (default mode) and scikit-learn: hand-made awkward tag sequences, a seeded random corpus and WNUT-17
//! dev gold against a deterministic perturbation of it (the tags are in the fixture). Counts must be
//! equal, ratios within 1e-12.
use std::collections::BTreeMap;
use std::path::Path;

use reprobe_metrics::classification::PrfScores;
use reprobe_metrics::ner::{EntityCounts, TokenMicroF1};
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
    micro: PrfScores,
    per_type: BTreeMap<String, PrfScores>,
    token: Token,
}

#[derive(Deserialize)]
struct Token {
    ignore: String,
    correct: u64,
    counted: u64,
    f1: f64,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ner/seqeval.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/golden/ner_seqeval.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tags(sentence: &str) -> Vec<&str> {
    sentence.split_whitespace().collect()
}

fn assert_scores(case: &str, what: &str, ours: &PrfScores, expected: &PrfScores) {
    assert_eq!(ours.counts, expected.counts, "{case} {what}: tp/fp/fn");
    for (name, a, b) in [
        ("precision", ours.precision, expected.precision),
        ("recall", ours.recall, expected.recall),
        ("f1", ours.f1, expected.f1),
    ] {
        assert!(
            (a - b).abs() <= TOLERANCE,
            "{case} {what} {name}: ours {a} seqeval {b}"
        );
    }
}

fn entity_counts(case: &Case) -> EntityCounts {
    let mut counts = EntityCounts::new();
    for (gold, pred) in case.gold.iter().zip(&case.pred) {
        counts.add_sentence(&tags(gold), &tags(pred)).unwrap();
    }
    counts
}

#[test]
fn fixture_covers_the_awkward_cases() {
    let names: Vec<String> = fixture().cases.into_iter().map(|c| c.name).collect();
    for name in [
        "i_after_o",
        "type_switch_in_run",
        "entity_at_sentence_end",
        "empty_sentences",
        "i_at_sentence_start",
        "consecutive_b",
        "all_o_sentence",
        "no_predicted_entity",
        "random_300",
        "wnut17_dev_perturbed",
    ] {
        assert!(names.iter().any(|n| n == name), "missing case {name}");
    }
}

#[test]
fn entity_scores_equal_seqeval() {
    for case in fixture().cases {
        let report = entity_counts(&case).report();
        assert_scores(&case.name, "micro", &report.micro, &case.micro);
        let ours: Vec<&String> = report.per_type.keys().collect();
        let theirs: Vec<&String> = case.per_type.keys().collect();
        assert_eq!(ours, theirs, "{}: types", case.name);
        for (kind, expected) in &case.per_type {
            assert_scores(&case.name, kind, &report.per_type[kind], expected);
        }
    }
}

#[test]
fn token_micro_f1_equals_sklearn() {
    for case in fixture().cases {
        let mut metric = TokenMicroF1::new(&case.token.ignore);
        for (gold, pred) in case.gold.iter().zip(&case.pred) {
            metric.add_sentence(&tags(gold), &tags(pred)).unwrap();
        }
        assert_eq!(
            (metric.correct(), metric.counted()),
            (case.token.correct, case.token.counted),
            "{}",
            case.name
        );
        assert!(
            (metric.f1() - case.token.f1).abs() <= TOLERANCE,
            "{}: ours {} sklearn {}",
            case.name,
            metric.f1(),
            case.token.f1
        );
    }
}

#[test]
fn report_serializes_to_the_documented_shape() {
    let case = fixture()
        .cases
        .into_iter()
        .find(|c| c.name == "wnut17_dev_perturbed")
        .unwrap();
    let json = serde_json::to_value(entity_counts(&case).report()).unwrap();
    for key in ["precision", "recall", "f1", "tp", "fp", "fn"] {
        assert!(json["micro"][key].is_number(), "micro.{key}");
        assert!(json["per_type"]["person"][key].is_number(), "person.{key}");
    }
}
