//! SQuAD 2.0 exact match and F1 against the official evaluation logic.
//!
//! `tests/fixtures/squad/official.json` is made by `scripts/golden/squad_metric.py` with transformers'
//! `squad_metrics.py` (the official `evaluate-v2.0.py` logic): awkward (gold, prediction) pairs with their
//! normalisations, exact and F1, and question sets (hand-made, and 1,000 real SQuAD 2.0 dev questions
//! against perturbed predictions) with the official dictionary, also under a no-answer threshold.
use std::collections::BTreeMap;
use std::path::Path;

use reprobe_metrics::squad::{exact_match, f1, normalize_answer, SquadEvaluator, SquadReport};
use serde::Deserialize;

/// Python sums the scores in the same order; only the last bits of a mean can differ.
const TOLERANCE: f64 = 1e-9;

#[derive(Deserialize)]
struct Fixture {
    pairs: Vec<Pair>,
    sets: Vec<Set>,
}

#[derive(Deserialize)]
struct Pair {
    gold: String,
    prediction: String,
    normalized_gold: String,
    normalized_prediction: String,
    exact: u8,
    f1: f64,
}

#[derive(Deserialize)]
struct Set {
    name: String,
    questions: Vec<Question>,
    threshold: Option<f64>,
    expected: serde_json::Value,
    exact_raw: BTreeMap<String, f64>,
    f1_raw: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct Question {
    id: String,
    answers: Vec<String>,
    prediction: String,
    na_prob: Option<f64>,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/squad/official.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/golden/squad_metric.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn normalisation_exact_and_f1_equal_the_official_functions() {
    let fixture = fixture();
    assert!(fixture.pairs.len() >= 25);
    for p in &fixture.pairs {
        let case = format!("{:?} vs {:?}", p.gold, p.prediction);
        assert_eq!(normalize_answer(&p.gold), p.normalized_gold, "{case}");
        assert_eq!(
            normalize_answer(&p.prediction),
            p.normalized_prediction,
            "{case}"
        );
        assert_eq!(
            u8::from(exact_match(&p.gold, &p.prediction)),
            p.exact,
            "{case}"
        );
        let got = f1(&p.gold, &p.prediction);
        assert!((got - p.f1).abs() < 1e-12, "{case}: F1 {got} vs {}", p.f1);
    }
}

#[test]
fn question_sets_give_the_official_dictionary() {
    let fixture = fixture();
    assert!(fixture.sets.iter().any(|s| s.questions.len() >= 1000));
    for set in &fixture.sets {
        let mut evaluator = SquadEvaluator::new();
        for q in &set.questions {
            let (exact, f1) = match (q.na_prob, set.threshold) {
                (Some(p), Some(t)) => evaluator.add_thresholded(&q.answers, &q.prediction, p, t),
                _ => evaluator.add(&q.answers, &q.prediction),
            };
            assert_eq!(exact, set.exact_raw[&q.id], "{}: {} exact", set.name, q.id);
            assert!(
                (f1 - set.f1_raw[&q.id]).abs() < 1e-12,
                "{}: {} F1 {f1} vs {}",
                set.name,
                q.id,
                set.f1_raw[&q.id]
            );
        }
        let ours = serde_json::to_value(evaluator.report()).unwrap();
        let want = set.expected.as_object().unwrap();
        let keys: Vec<&String> = ours.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            want.keys().collect::<Vec<_>>(),
            "{}: the same keys in the same order",
            set.name
        );
        for (key, value) in want {
            let (a, b) = (ours[key].as_f64().unwrap(), value.as_f64().unwrap());
            assert!(
                (a - b).abs() < TOLERANCE,
                "{}: {key} {a} vs official {b}",
                set.name
            );
        }
        // The report reads back from its JSON.
        let back: SquadReport = serde_json::from_value(ours).unwrap();
        assert_eq!(back, evaluator.report());
    }
}
