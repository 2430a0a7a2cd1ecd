//! LEA against two oracles outside this project (the reference scorer v8.01 has no LEA):
//! - the expected values of CoVal's own unit tests (the LEA authors' implementation,
//!   `tests/fixtures/lea/coval_unittests.tsv`, transcribed from its `unittests.py`) on the reference
//!   scorer's test cases, singletons included;
//! - `coreference-eval` from PyPI (`scripts/golden/lea_coreference_eval.py`,
//!   `tests/fixtures/lea/coreference_eval.json`) on 61 documents without singletons, count for count.
mod suite;

use std::path::Path;

use reprobe_corpus::readers::Conll2012Reader;
use reprobe_corpus::Document;
use reprobe_metrics::{pair_documents, CorefEvaluator, Counts, Metric, MetricSet};

fn lea_only() -> CorefEvaluator {
    let mut metrics = MetricSet::default();
    metrics.insert(Metric::Lea);
    CorefEvaluator::with_metrics(metrics)
}

fn read(path: &Path, allow_empty: bool) -> Vec<Document> {
    Conll2012Reader::new("bc")
        .min_columns(1)
        .allow_empty(allow_empty)
        .read(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_documents()
}

/// LEA of a key/response file pair, documents paired as `reprobe score` pairs them.
fn lea_of_files(key: &Path, response: &Path) -> Counts {
    let mut evaluator = lea_only();
    let empty = Vec::new();
    let pairs = pair_documents(
        read(key, false)
            .into_iter()
            .map(|d| ((d.id.clone(), d.part), d)),
        read(response, true)
            .into_iter()
            .map(|d| ((d.id.clone(), d.part), d)),
    );
    for (_, key_doc, response_doc) in pairs {
        let response_clusters = response_doc.as_ref().map_or(&empty, |d| &d.clusters);
        evaluator.add_document(&key_doc.clusters, response_clusters);
    }
    evaluator.totals().lea.expect("lea")
}

#[test]
fn lea_equals_covals_unit_tests_on_the_reference_suite_cases() {
    let path = suite::fixtures().join("lea/coval_unittests.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let cases = suite::cases();
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (id, expected) = (cols[0], &cols[1..]);
        let case = cases
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no case {id} in the suite"));
        let (key, response, _) = suite::files(case);
        let lea = lea_of_files(&key, &response);
        let ours = [lea.recall(), lea.precision(), lea.f1()];
        for ((what, expr), got) in ["recall", "precision", "F1"].iter().zip(expected).zip(ours) {
            let want = suite::eval(expr).unwrap();
            assert!(
                (got - want).abs() < 1e-12,
                "{id} LEA {what}: ours {got}, CoVal's unit test {want} ({expr})"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 34);
}

#[test]
fn lea_equals_coreference_eval_count_for_count() {
    let path = suite::fixtures().join("lea/coreference_eval.json");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let clusters = |v: &serde_json::Value| -> Vec<Vec<(u64, u64)>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c.as_array()
                    .unwrap()
                    .iter()
                    .map(|m| (m[0].as_u64().unwrap(), m[1].as_u64().unwrap()))
                    .collect()
            })
            .collect()
    };
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    let mut total = lea_only();
    let cases = fixture["cases"].as_array().unwrap();
    for case in cases {
        let (key, response) = (clusters(&case["key"]), clusters(&case["response"]));
        let mut one = lea_only();
        one.add_document(&key, &response);
        total.add_document(&key, &response);
        let got = one.totals().lea.unwrap();
        let got = [
            got.recall_num,
            got.recall_den,
            got.precision_num,
            got.precision_den,
        ];
        let want = numbers(&case["lea"]);
        assert!(
            got.iter().zip(&want).all(|(g, w)| close(*g, *w)),
            "{}: ours {got:?}, coreference-eval {want:?}",
            case["name"]
        );
    }
    let got = total.totals().lea.unwrap();
    let want = numbers(&fixture["totals"]);
    assert!(
        close(got.recall_num, want[0])
            && close(got.recall_den, want[1])
            && close(got.precision_num, want[2])
            && close(got.precision_den, want[3]),
        "totals: ours {got:?}, coreference-eval {want:?}"
    );
    assert_eq!(cases.len(), 61);
}
