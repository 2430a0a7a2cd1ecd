//! coref-hoi's simplified scorer against coref-hoi's own `metrics.py`.
//!
//! `tests/fixtures/coref_hoi/metrics.json` is made by `scripts/golden/coref_hoi_metric.py`, which runs the
//! real `metrics.py` of `../shared/reference/coref-hoi/` on hand-made awkward documents (singletons on
//! either side, a span in two clusters, identical clusters, repeated mentions, empty gold or prediction,
//! non-greedy CEAFe alignments) and 50 seeded random ones. Per-document counts, corpus counts, each
//! metric's P/R/F1 and the averages must agree within 1e-12.
use std::path::Path;

use reprobe_metrics::coref_hoi::{HoiCounts, HoiScores};
use reprobe_metrics::CorefHoiEvaluator;
use serde::Deserialize;

/// CEAFe and B³ numerators are sums of fractions; the alignment may be found in another order, and
/// serde_json's float parsing can be an ulp off.
const TOLERANCE: f64 = 1e-12;

type Clusters = Vec<Vec<(usize, usize)>>;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    documents: Vec<Document>,
    per_document: Vec<Metrics<HoiCounts>>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Document {
    gold: Clusters,
    predicted: Clusters,
}

#[derive(Deserialize)]
struct Metrics<T> {
    muc: T,
    bcub: T,
    ceafe: T,
}

#[derive(Deserialize)]
struct WithScores {
    #[serde(flatten)]
    counts: HoiCounts,
    #[serde(flatten)]
    scores: HoiScores,
}

#[derive(Deserialize)]
struct Expected {
    #[serde(flatten)]
    metrics: Metrics<WithScores>,
    #[serde(flatten)]
    average: HoiScores,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coref_hoi/metrics.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/golden/coref_hoi_metric.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn close(what: &str, ours: f64, expected: f64) {
    assert!(
        (ours - expected).abs() <= TOLERANCE,
        "{what}: ours {ours}, metrics.py {expected}"
    );
}

fn assert_counts(what: &str, ours: &HoiCounts, expected: &HoiCounts) {
    close(&format!("{what} p_num"), ours.p_num, expected.p_num);
    close(&format!("{what} p_den"), ours.p_den, expected.p_den);
    close(&format!("{what} r_num"), ours.r_num, expected.r_num);
    close(&format!("{what} r_den"), ours.r_den, expected.r_den);
}

fn assert_scores(what: &str, ours: &HoiScores, expected: &HoiScores) {
    close(
        &format!("{what} precision"),
        ours.precision,
        expected.precision,
    );
    close(&format!("{what} recall"), ours.recall, expected.recall);
    close(&format!("{what} f1"), ours.f1, expected.f1);
}

fn by_name<T>(metrics: &Metrics<T>) -> [(&'static str, &T); 3] {
    [
        ("muc", &metrics.muc),
        ("bcub", &metrics.bcub),
        ("ceafe", &metrics.ceafe),
    ]
}

#[test]
fn fixture_covers_the_awkward_cases() {
    let cases = fixture().cases;
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    for needed in [
        "gold and predicted singletons",
        "predicted span in two clusters",
        "empty prediction",
        "empty gold",
        "50 random documents",
    ] {
        assert!(names.contains(&needed), "missing case {needed}");
    }
}

#[test]
fn document_counts_equal_metrics_py() {
    for case in fixture().cases {
        assert_eq!(
            case.documents.len(),
            case.per_document.len(),
            "{}",
            case.name
        );
        for (i, (doc, expected)) in case.documents.iter().zip(&case.per_document).enumerate() {
            let ours = CorefHoiEvaluator::new().add_document(&doc.gold, &doc.predicted);
            let ours = Metrics {
                muc: ours.muc,
                bcub: ours.bcub,
                ceafe: ours.ceafe,
            };
            for ((name, ours), (_, expected)) in by_name(&ours).into_iter().zip(by_name(expected)) {
                assert_counts(&format!("{} doc {i} {name}", case.name), ours, expected);
            }
        }
    }
}

#[test]
fn corpus_scores_equal_metrics_py() {
    for case in fixture().cases {
        let mut evaluator = CorefHoiEvaluator::new();
        for doc in &case.documents {
            evaluator.add_document(&doc.gold, &doc.predicted);
        }
        assert_eq!(evaluator.documents(), case.documents.len());
        let totals = evaluator.totals();
        let ours = Metrics {
            muc: totals.muc,
            bcub: totals.bcub,
            ceafe: totals.ceafe,
        };
        let expected = &case.expected;
        for ((name, ours), (_, expected)) in
            by_name(&ours).into_iter().zip(by_name(&expected.metrics))
        {
            let what = format!("{} {name}", case.name);
            assert_counts(&what, ours, &expected.counts);
            assert_scores(&what, &ours.scores(), &expected.scores);
        }
        let average = HoiScores {
            precision: evaluator.precision(),
            recall: evaluator.recall(),
            f1: evaluator.f1(),
        };
        assert_scores(
            &format!("{} average", case.name),
            &average,
            &expected.average,
        );
    }
}
