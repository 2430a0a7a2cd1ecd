//! The relation-classification scores against their official definitions.
//!
//! SemEval-2010 Task 8: `tests/fixtures/semeval2010/` holds the sample key and answer files of the
//! official scorer release (`SemEval2010_task8_scorer-v1.2/answer_key{1,3,5}.txt`,
//! `proposed_answer{1,3,5}.txt`, CC BY 3.0, Hendrickx et al. 2010; CRLF as released for 1 and 3) and the
//! official evaluation (iii) section of the outputs that `semeval2010_task8_scorer-v1.2.pl` gives on them
//! (`result_scores{1,3,5}.txt` of the release, cut to that section). They have skipped examples, wrong
//! directions, predictions of types missing from the key and a key without `Other`. Every count must be
//! equal and every percentage equal at the scorer's two decimals. Then hand-derived cases (derivations in
//! the comments) with direction errors and `Other` predictions, exact to 1e-12.
//!
//! TACRED: hand-derived cases of the official scorer's `score` (precision 1 without a non-`no_relation`
//! prediction, `no_relation` predictions and gold, wrong relations).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reprobe_metrics::relation::{tacred_score, SemEvalCounts, SemEvalReport, TACRED_NO_RELATION};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/semeval2010")
        .join(name)
}

/// `id<TAB>label` lines (CRLF or LF), as the scorer reads them.
fn answers(name: &str) -> Vec<(u64, String)> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .map(|line| {
            let (id, label) = line.trim_end_matches('\r').split_once('\t').unwrap();
            (id.parse().unwrap(), label.to_string())
        })
        .collect()
}

fn score(key: &[(u64, String)], proposed: &[(u64, String)]) -> SemEvalReport {
    let by_id: BTreeMap<u64, &str> = proposed.iter().map(|(i, l)| (*i, l.as_str())).collect();
    let mut counts = SemEvalCounts::new();
    for (id, gold) in key {
        counts.add(gold, by_id.get(id).copied());
    }
    counts.report()
}

/// One relation row of the official section: `Cause-Effect :    P =    2/(   2 +   1) =  66.67%     R =
/// 2/   6 =  33.33%     F1 =  44.44%` → (name, correct, proposed, wrong direction, gold, P, R, F1).
type Row = (String, u64, u64, u64, u64, f64, f64, f64);

/// The numbers of a line of the scorer's output (the `1` of `F1` left out).
fn numbers(text: &str) -> Vec<f64> {
    text.replace("F1", "")
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

struct Official {
    rows: Vec<Row>,
    micro: Vec<f64>,
    macro_prf: Vec<f64>,
    accuracy_wrong: Vec<f64>,
    official: f64,
}

fn official(name: &str) -> Official {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let after = |marker: &str| {
        let at = lines.iter().position(|l| l.starts_with(marker)).unwrap();
        lines[at + 1]
    };
    let rows = lines
        .iter()
        .filter(|l| l.contains(" :    P = "))
        .map(|l| {
            let (name, rest) = l.split_once(" :").unwrap();
            let n = numbers(rest);
            let name = name.trim().to_string();
            (
                name,
                n[0] as u64,
                n[1] as u64,
                n[2] as u64,
                n[5] as u64,
                n[3],
                n[6],
                n[7],
            )
        })
        .collect();
    let accuracy = lines
        .iter()
        .find(|l| l.starts_with("Accuracy (considering all skipped examples as Wrong)"))
        .unwrap();
    let last = lines.iter().rev().find(|l| !l.trim().is_empty()).unwrap();
    Official {
        rows,
        micro: numbers(after("Micro-averaged result")),
        macro_prf: numbers(after("MACRO-averaged result")),
        accuracy_wrong: numbers(accuracy.split_once('=').unwrap().1),
        official: numbers(last.split_once("F1 =").unwrap().1)[0],
    }
}

fn percent(x: f64) -> f64 {
    (x * 10000.0).round() / 100.0
}

#[test]
fn semeval_matches_the_official_scorer_on_its_sample_files() {
    for n in [1, 3, 5] {
        let report = score(
            &answers(&format!("answer_key{n}.txt")),
            &answers(&format!("proposed_answer{n}.txt")),
        );
        let want = official(&format!("result_scores{n}.official.txt"));
        let mut relations = 0;
        for (name, correct, proposed, wrong_dir, gold, p, r, f1) in &want.rows {
            if name == "_Other" {
                continue;
            }
            relations += 1;
            let got = &report.per_label[name];
            let c = got.counts;
            assert_eq!(
                (
                    c.true_pos,
                    c.true_pos + c.false_pos,
                    c.true_pos + c.false_neg
                ),
                (*correct, proposed + wrong_dir, *gold),
                "fixture {n}, {name}: correct, predictions of the type, gold"
            );
            assert_eq!(
                (percent(got.precision), percent(got.recall), percent(got.f1)),
                (*p, *r, *f1),
                "fixture {n}, {name}"
            );
        }
        assert_eq!(
            report.per_label.len(),
            relations,
            "fixture {n}: the key's relation types"
        );
        let m = report.micro.counts;
        assert_eq!(
            (
                m.true_pos as f64,
                (m.true_pos + m.false_pos) as f64,
                (m.true_pos + m.false_neg) as f64
            ),
            (want.micro[0], want.micro[1], want.micro[4]),
            "fixture {n}: micro counts"
        );
        assert_eq!(
            (
                percent(report.micro.precision),
                percent(report.micro.recall),
                percent(report.micro.f1)
            ),
            (want.micro[2], want.micro[5], want.micro[6]),
            "fixture {n}: micro"
        );
        assert_eq!(
            (
                percent(report.macro_precision),
                percent(report.macro_recall),
                percent(report.official_f1)
            ),
            (want.macro_prf[0], want.macro_prf[1], want.macro_prf[2]),
            "fixture {n}: macro"
        );
        assert_eq!(percent(report.official_f1), want.official, "fixture {n}");
        assert_eq!(
            percent(report.accuracy),
            want.accuracy_wrong[2],
            "fixture {n}: accuracy, skipped as wrong ({} / {})",
            want.accuracy_wrong[0],
            want.accuracy_wrong[1]
        );
    }
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < 1e-12, "{what}: {got} vs {want}");
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

#[test]
fn semeval_hand_derived_direction_errors_and_other() {
    let cases = [
        ("CE(e1,e2)", "Cause-Effect(e1,e2)"),
        ("CE(e2,e1)", "Cause-Effect(e2,e1)"),
        ("MT(e1,e2)", "Message-Topic(e1,e2)"),
        ("MT(e2,e1)", "Message-Topic(e2,e1)"),
        ("CW(e1,e2)", "Component-Whole(e1,e2)"),
    ];
    let l = |short: &str| {
        cases
            .iter()
            .find(|(s, _)| *s == short)
            .map_or(short, |(_, long)| long)
            .to_string()
    };
    // gold                 predicted
    // 1 CE(e1,e2)           CE(e1,e2)    correct
    // 2 CE(e1,e2)           CE(e2,e1)    Cause-Effect with the wrong direction
    // 3 CE(e2,e1)           Other        missed
    // 4 MT(e1,e2)           MT(e1,e2)    correct
    // 5 MT(e2,e1)           CE(e1,e2)    wrong relation
    // 6 Other               MT(e2,e1)    Other predicted as a relation
    // 7 Other               Other        correct
    // 8 CW(e1,e2)           (skipped)
    let gold = [
        "CE(e1,e2)",
        "CE(e1,e2)",
        "CE(e2,e1)",
        "MT(e1,e2)",
        "MT(e2,e1)",
        "Other",
        "Other",
        "CW(e1,e2)",
    ];
    let pred = [
        Some("CE(e1,e2)"),
        Some("CE(e2,e1)"),
        Some("Other"),
        Some("MT(e1,e2)"),
        Some("CE(e1,e2)"),
        Some("MT(e2,e1)"),
        Some("Other"),
        None,
    ];
    let mut counts = SemEvalCounts::new();
    for (g, p) in gold.iter().zip(pred) {
        counts.add(&l(g), p.map(l).as_deref());
    }
    let r = counts.report();
    // Cause-Effect: gold 1, 2, 3 (3); predictions of the type 1, 2, 5 (3); exact: 1 → P 1/3, R 1/3.
    // Message-Topic: gold 4, 5 (2); predictions 4, 6 (2); exact: 4 → P 1/2, R 1/2.
    // Component-Whole: gold 8 (1, skipped); no prediction → P 0, R 0, F1 0.
    let ce = &r.per_label["Cause-Effect"];
    close(ce.precision, 1.0 / 3.0, "CE P");
    close(ce.recall, 1.0 / 3.0, "CE R");
    close(ce.f1, 1.0 / 3.0, "CE F1");
    let mt = &r.per_label["Message-Topic"];
    close(mt.f1, 0.5, "MT F1");
    assert_eq!(r.per_label["Component-Whole"].f1, 0.0);
    assert_eq!(r.per_label.len(), 3, "Other is not a relation type");
    // Official: (1/3 + 1/2 + 0) / 3 = 5/18. Macro P = macro R = 5/18 too.
    close(r.official_f1, 5.0 / 18.0, "official");
    close(r.macro_precision, 5.0 / 18.0, "macro P");
    // Micro: correct 2 (1, 4) / predictions of CE+MT+CW 5 (1, 2, 5, 4, 6); gold 6 (1, 2, 3, 4, 5, 8).
    close(r.micro.precision, 2.0 / 5.0, "micro P");
    close(r.micro.recall, 2.0 / 6.0, "micro R");
    close(r.micro.f1, f1(0.4, 1.0 / 3.0), "micro F1");
    // Accuracy: exact matches 1, 4, 7 over the 8 key examples (the skipped one is wrong); coverage 7/8.
    close(r.accuracy, 3.0 / 8.0, "accuracy");
    close(r.coverage, 7.0 / 8.0, "coverage");

    // Every prediction Other: every relation type has P = R = F1 = 0; accuracy = share of Other.
    let mut counts = SemEvalCounts::new();
    for g in ["CE(e1,e2)", "Other", "MT(e2,e1)", "Other"] {
        counts.add(&l(g), Some("Other"));
    }
    let r = counts.report();
    assert_eq!(
        (r.official_f1, r.micro.precision, r.micro.recall),
        (0.0, 0.0, 0.0)
    );
    close(r.accuracy, 0.5, "all-Other accuracy");

    // Only direction errors: the 19-way labels are all wrong, so the official score is 0 although the
    // (9+1)-way evaluation that ignores direction would be perfect.
    let mut counts = SemEvalCounts::new();
    counts.add(&l("CE(e1,e2)"), Some(&l("CE(e2,e1)")));
    counts.add(&l("MT(e2,e1)"), Some(&l("MT(e1,e2)")));
    let r = counts.report();
    assert_eq!((r.official_f1, r.accuracy), (0.0, 0.0));
    assert_eq!(r.per_label["Cause-Effect"].counts.false_pos, 1);
    assert_eq!(r.per_label["Cause-Effect"].counts.false_neg, 1);

    // A predicted type absent from the key is ignored (the scorer warns): P of the key's types unchanged.
    let mut counts = SemEvalCounts::new();
    counts.add(&l("CE(e1,e2)"), Some(&l("CE(e1,e2)")));
    counts.add(&l("Other"), Some(&l("CW(e1,e2)")));
    let r = counts.report();
    assert_eq!(r.per_label.keys().collect::<Vec<_>>(), ["Cause-Effect"]);
    close(r.official_f1, 1.0, "official ignores Component-Whole");
    close(r.micro.precision, 1.0, "micro P over the key's types");
}

#[test]
fn tacred_hand_derived() {
    let no = TACRED_NO_RELATION;
    // gold          pred
    // per:title     per:title     correct: guessed +1, gold +1, correct +1
    // per:title     org:founded   wrong relation: guessed +1, gold +1
    // org:founded   no_relation   missed: gold +1
    // no_relation   per:title     spurious: guessed +1
    // no_relation   no_relation   nothing
    // → correct 1, guessed 3, gold 3: P = R = F1 = 1/3.
    let s = tacred_score(
        &["per:title", "per:title", "org:founded", no, no],
        &["per:title", "org:founded", no, "per:title", no],
        no,
    )
    .unwrap();
    close(s.precision, 1.0 / 3.0, "P");
    close(s.recall, 1.0 / 3.0, "R");
    close(s.f1, 1.0 / 3.0, "F1");
    assert_eq!(
        (s.counts.true_pos, s.counts.false_pos, s.counts.false_neg),
        (1, 2, 2)
    );
    // Everything predicted no_relation: the scorer's precision is 1 (nothing guessed), recall 0, F1 0.
    let s = tacred_score(&["per:title", no], &[no, no], no).unwrap();
    assert_eq!((s.precision, s.recall, s.f1), (1.0, 0.0, 0.0));
    // No gold relation but one guessed: P 0 (0 of 1), recall 0 (no gold), F1 0.
    let s = tacred_score(&[no, no], &["per:title", no], no).unwrap();
    assert_eq!((s.precision, s.recall, s.f1), (0.0, 0.0, 0.0));
    // All correct, no_relation included: 1, 1, 1 (no_relation examples do not count).
    let s = tacred_score(&["a", no, "b"], &["a", no, "b"], no).unwrap();
    assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
}
