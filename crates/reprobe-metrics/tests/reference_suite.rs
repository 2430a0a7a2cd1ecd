//! The reference scorer's own test suite (conll/reference-coreference-scorers, `test/`): every expected
//! value of its `CorefMetricTestConfig.pm`, checked as its `test.pl` checks them, on the files read and
//! scored as `reprobe score` reads and scores them (the corpus crate's CoNLL reader, documents paired by
//! id and part, every metric). `tests/fixtures/reference_scorer_suite/README.md` says which files are
//! the suite's own and which are stand-ins.
mod suite;

use std::path::Path;

use reprobe_corpus::readers::Conll2012Reader;
use reprobe_corpus::{Document, Span};
use reprobe_metrics::{pair_documents, CorefEvaluator, Counts};
use suite::PairCounts;

fn read(path: &Path, allow_empty: bool) -> Vec<Document> {
    Conll2012Reader::new("bc")
        .min_columns(1)
        .allow_empty(allow_empty)
        .read(path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_documents()
}

/// What `reprobe score` computes for a pair.
fn score(key: &Path, response: &Path) -> PairCounts {
    let mut evaluator = CorefEvaluator::new();
    let empty: Vec<Vec<Span>> = Vec::new();
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
    let totals = evaluator.totals();
    let raw = |c: &Counts| [c.recall_num, c.recall_den, c.precision_num, c.precision_den];
    let mut out = PairCounts::default();
    for (name, counts) in [
        ("muc", totals.muc),
        ("bcub", totals.bcub),
        ("ceafm", totals.ceafm),
        ("ceafe", totals.ceafe),
        ("mentions", Some(totals.mentions)),
    ] {
        out.metrics
            .insert(name.to_string(), raw(&counts.expect("every metric")));
    }
    let blanc = totals.blanc.expect("blanc");
    out.blanc_coref = raw(&blanc.coref);
    out.blanc_noncoref = raw(&blanc.non_coref);
    out
}

#[test]
fn every_expected_value_of_the_reference_suite() {
    let cases = suite::cases();
    // The committed CorefMetricTestConfig.pm: 39 cases, 3 of them `allow_multi_tag`.
    assert_eq!(cases.len(), 39);
    assert_eq!(cases.iter().filter(|c| c.multi_tag).count(), 3);
    let checked = suite::check_all(score);
    assert!(
        checked.errors.is_empty(),
        "{} mismatches:\n{}",
        checked.errors.len(),
        checked.errors.join("\n")
    );
    // Every (recall, precision, F1) triple of the 36 other cases, and v8.01's raw
    // counts (4 per line, 7 lines) on the 3 others.
    assert_eq!(checked.triples, 91);
    assert_eq!(checked.v801_counts, 3 * 7 * 4);
    eprintln!(
        "reference suite: {} expected (R, P, F1) triples equal within {} ({} on the suite's own files), \
         {} raw counts equal to v8.01's",
        checked.triples,
        suite::TOLERANCE,
        checked.triples_on_original_files,
        checked.v801_counts
    );
}

#[test]
fn suite_expressions_evaluate_as_perl_does() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    assert!(close(
        suite::eval("2*(5/9)*(17/42)/((5/9)+(17/42))").unwrap(),
        0.46831955922865
    ));
    assert!(close(
        suite::eval("1/2 * (1/4 + 1/3)").unwrap(),
        0.291666666666667
    ));
    assert!(close(suite::eval("(4+7/12)/9").unwrap(), 0.509259259259259));
    assert!(suite::eval("1/").is_err());
}

#[test]
fn the_suites_own_files_are_read_as_the_scorer_reads_them() {
    // TC-O.key: `#begin document (LuoTestCase); ` (no part, a trailing space), tab-separated, `(1(2` …
    // `1)2)` (two mentions of words 3-6 without `|`), a trailing tab on the last word line.
    let dir = suite::suite_dir().join("test/DataFiles");
    let key = read(&dir.join("TC-O.key"), false);
    assert_eq!(key.len(), 1);
    assert_eq!((key[0].id.as_str(), key[0].part), ("LuoTestCase", 0));
    assert_eq!(key[0].words.len(), 20);
    assert_eq!(key[0].sentences, vec![0..9, 9..20]);
    let spans = |v: &[(usize, usize)]| v.iter().map(|&(s, e)| Span::new(s, e)).collect::<Vec<_>>();
    let clusters = vec![
        spans(&[(0, 1)]),
        spans(&[(3, 6), (9, 9)]),
        spans(&[(3, 6), (11, 12), (14, 14), (16, 18)]),
    ];
    assert_eq!(key[0].clusters, clusters);
    // The responses: space-separated columns, trailing spaces; TC-O-1 repeats the key.
    let response = read(&dir.join("TC-O-1.response"), true);
    assert_eq!(response[0].clusters, clusters);
    // TC-O-2 has words 3-6 in entity 1 only.
    let response = read(&dir.join("TC-O-2.response"), true);
    let only_once = vec![
        clusters[0].clone(),
        clusters[1].clone(),
        clusters[2][1..].to_vec(),
    ];
    assert_eq!(response[0].clusters, only_once);
}
