//! Every metric on the hand-made fixture files, with the expected counts derived by hand below (the
//! golden test compares the same files with the reference scorer; here the numbers come from the
//! definitions, and LEA, which the v8.01 scorer lacks, is checked too).
//!
//! Letters name one-word mentions (a = word 0, b = word 1, ...), as in `scripts/golden/scorer_cases.py`.
mod util;

use reprobe_metrics::{pair_documents, BlancCounts, CorefCounts, CorefEvaluator, Counts};
use util::conll::parse_conll;

fn score_files(case: &str) -> (CorefCounts, usize) {
    let read = |ext: &str| {
        let path = util::fixtures_dir().join(format!("hand/{case}.{ext}"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse_conll(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut evaluator = CorefEvaluator::new();
    let mut repeats = 0;
    let pairs = pair_documents(
        read("key").into_iter().map(|d| (d.name, d.clusters)),
        read("response").into_iter().map(|d| (d.name, d.clusters)),
    );
    for (_, key, response) in pairs {
        repeats += evaluator
            .add_document(&key, &response.unwrap_or_default())
            .repeated_response_mentions
            .len();
    }
    (evaluator.totals(), repeats)
}

fn c(recall_num: f64, recall_den: f64, precision_num: f64, precision_den: f64) -> Counts {
    Counts::new(recall_num, recall_den, precision_num, precision_den)
}

fn assert_close(what: &str, got: Option<Counts>, want: Counts) {
    let got = got.unwrap_or_else(|| panic!("{what} missing"));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(
        close(got.recall_num, want.recall_num)
            && close(got.recall_den, want.recall_den)
            && close(got.precision_num, want.precision_num)
            && close(got.precision_den, want.precision_den),
        "{what}: got {got:?}, want {want:?}"
    );
}

fn assert_blanc(got: Option<BlancCounts>, coref: Counts, non_coref: Counts) {
    let got = got.expect("blanc");
    assert_eq!(got.coref, coref, "BLANC coreference links");
    assert_eq!(got.non_coref, non_coref, "BLANC non-coreference links");
}

#[test]
fn boundary_errors() {
    // Key K1 {[0,1] [5,7]}, K2 {[10,12] [15,15] [20,24]}; response R1 {[0,2] [5,7]},
    // R2 {[11,12] [15,15] [20,23]}: only [5,7] (b) and [15,15] (d) match; x, y, z are the misfits.
    let (t, repeats) = score_files("boundary_errors");
    assert_eq!(repeats, 0);
    // Mentions: 2 matched of 5 key and 5 response spans.
    assert_eq!(t.mentions, c(2.0, 5.0, 2.0, 5.0));
    // MUC: no response chain has two mentions of one key chain; links 1 + 2 on both sides.
    assert_close("muc", t.muc, c(0.0, 3.0, 0.0, 3.0));
    // B³: b in R1 (2) with K1 (2): 1/2 both ways; d in R2 (3) with K2 (3): 1/3 both ways.
    assert_close("bcub", t.bcub, c(5.0 / 6.0, 5.0, 5.0 / 6.0, 5.0));
    // CEAFm: K1–R1 share 1, K2–R2 share 1. CEAFe: 2·1/4 + 2·1/6 = 5/6 of 2 chains each side.
    assert_close("ceafm", t.ceafm, c(2.0, 5.0, 2.0, 5.0));
    assert_close("ceafe", t.ceafe, c(5.0 / 6.0, 2.0, 5.0 / 6.0, 2.0));
    // BLANC: coref links key {ab, cd, ce, de}, response {xb, yd, yz, dz}: none common.
    // Non-coref key {a,b}×{c,d,e} = 6, response {x,b}×{y,d,z} = 6, common b–d.
    assert_blanc(t.blanc, c(0.0, 4.0, 0.0, 4.0), c(1.0, 6.0, 1.0, 6.0));
    // LEA: no key link survives and no response link is a key link.
    assert_close("lea", t.lea, c(0.0, 5.0, 0.0, 5.0));
}

#[test]
fn repeated_mention_in_the_same_cluster() {
    // Key {a}{bc}{def}; response {a}{bcxb}{dy}{z}: the second b is removed, leaving TC-A-4.
    let (t, repeats) = score_files("tc_a_07_duplicate_same_cluster");
    assert_eq!(repeats, 1);
    tc_a_4(&t);
}

#[test]
fn repeated_mention_in_another_cluster() {
    // Key {a}{bc}{def}; response {a}{bcx}{dy}{bz}: b is first read in {bcx}; the copy in {bz} goes.
    let (t, repeats) = score_files("tc_a_08_duplicate_other_cluster");
    assert_eq!(repeats, 1);
    tc_a_4(&t);
}

/// Key {a}{bc}{def}, response {a}{bcx}{dy}{z} (TC-A-4 of Pradhan et al. 2014).
fn tc_a_4(t: &CorefCounts) {
    // Mentions: a b c d matched; 6 key spans; response spans a b c x d y z = 7.
    assert_eq!(t.mentions, c(4.0, 6.0, 4.0, 7.0));
    // MUC: {bcx} holds b–c; key links 0 + 1 + 2 = 3; response links 0 + 2 + 1 + 0 = 3.
    assert_close("muc", t.muc, c(1.0, 3.0, 1.0, 3.0));
    // B³ recall: a 1 + b, c 2·(2/2) + d 1/3 = 10/3 of 6; precision: a 1 + b, c 2·(2/3) + d 1/2
    // = 17/6 of 7 mentions.
    assert_close("bcub", t.bcub, c(10.0 / 3.0, 6.0, 17.0 / 6.0, 7.0));
    // CEAFm: {a}–{a} 1, {bc}–{bcx} 2, {def}–{dy} 1 = 4 of 6 / 7.
    assert_close("ceafm", t.ceafm, c(4.0, 6.0, 4.0, 7.0));
    // CEAFe: 1 + 2·2/5 + 2·1/5 = 2.2 of 3 / 4.
    assert_close("ceafe", t.ceafe, c(2.2, 3.0, 2.2, 4.0));
    // BLANC: response coref {bc, bx, cx, dy}: bc correct of 4 key / 4 response links.
    // Non-coref: key C(6,2) − 4 = 11, response C(7,2) − 4 = 17, common a–b a–c a–d b–d c–d = 5.
    assert_blanc(t.blanc, c(1.0, 4.0, 1.0, 4.0), c(5.0, 11.0, 5.0, 17.0));
    // LEA recall: {a} 1 + {bc} 2·1 + {def} 0 = 3 of 6; precision: {a} 1 + {bcx} 3·(1/3)
    // + {dy} 0 + {z} 0 = 2 of 7.
    assert_close("lea", t.lea, c(3.0, 6.0, 2.0, 7.0));
}

#[test]
fn document_missing_from_the_response() {
    // Key d1 {a}{bc}{def} (answered perfectly) and d2 {ab}{cd} (absent from the response: an empty
    // response). d2 adds key denominators only: 4 mentions, 2 MUC links, 2 chains, BLANC coref ab, cd
    // and non-coref {a,b}×{c,d} = 4.
    let (t, _) = score_files("document_missing_from_response");
    assert_eq!(t.mentions, c(6.0, 10.0, 6.0, 6.0));
    assert_close("muc", t.muc, c(3.0, 5.0, 3.0, 3.0));
    assert_close("bcub", t.bcub, c(6.0, 10.0, 6.0, 6.0));
    assert_close("ceafm", t.ceafm, c(6.0, 10.0, 6.0, 6.0));
    assert_close("ceafe", t.ceafe, c(3.0, 5.0, 3.0, 3.0));
    assert_blanc(t.blanc, c(4.0, 6.0, 4.0, 4.0), c(11.0, 15.0, 11.0, 11.0));
    assert_close("lea", t.lea, c(6.0, 10.0, 6.0, 6.0));
}

#[test]
fn extra_document_in_the_response() {
    // Key d1 {a}{bc}{def}; response d1 identical plus d9, which the key lacks: d9 is ignored.
    let (t, _) = score_files("extra_document_in_response");
    assert_eq!(t.mentions, c(6.0, 6.0, 6.0, 6.0));
    assert_close("muc", t.muc, c(3.0, 3.0, 3.0, 3.0));
    assert_close("bcub", t.bcub, c(6.0, 6.0, 6.0, 6.0));
    assert_close("ceafm", t.ceafm, c(6.0, 6.0, 6.0, 6.0));
    assert_close("ceafe", t.ceafe, c(3.0, 3.0, 3.0, 3.0));
    assert_blanc(t.blanc, c(4.0, 4.0, 4.0, 4.0), c(11.0, 11.0, 11.0, 11.0));
    assert_close("lea", t.lea, c(6.0, 6.0, 6.0, 6.0));
    assert_eq!(t.conll_f1(), Some(1.0));
}

#[test]
fn all_singletons_response() {
    // TC-A-10: key {a}{bc}{def}, response {a}{b}{c}{d}{e}{f}.
    let (t, _) = score_files("tc_a_10_gold_mentions_singletons");
    assert_eq!(t.mentions, c(6.0, 6.0, 6.0, 6.0));
    // MUC: no response link at all.
    assert_close("muc", t.muc, c(0.0, 3.0, 0.0, 0.0));
    // B³ recall 1 + 2·(1/2) + 3·(1/3) = 3 of 6; precision 6 of 6.
    assert_close("bcub", t.bcub, c(3.0, 6.0, 6.0, 6.0));
    // CEAFm: one singleton per key chain: 3 of 6 / 6. CEAFe: 1 + 2/3 + 2/4 = 13/6 of 3 / 6.
    assert_close("ceafm", t.ceafm, c(3.0, 6.0, 3.0, 6.0));
    assert_close("ceafe", t.ceafe, c(13.0 / 6.0, 3.0, 13.0 / 6.0, 6.0));
    // BLANC: no response coref link; non-coref 15 of which the 11 key ones.
    assert_blanc(t.blanc, c(0.0, 4.0, 0.0, 0.0), c(11.0, 11.0, 11.0, 15.0));
    // LEA: only the singleton {a} is resolved on either side.
    assert_close("lea", t.lea, c(1.0, 6.0, 1.0, 6.0));
}

#[test]
fn one_big_cluster_response() {
    // TC-A-11: key {a}{bc}{def}, response {abcdef}.
    let (t, _) = score_files("tc_a_11_gold_mentions_one_cluster");
    // MUC: 6 mentions − 3 key chains = 3 correct of 3 / 5.
    assert_close("muc", t.muc, c(3.0, 3.0, 3.0, 5.0));
    // B³ precision 1/6 + 2·(2/6) + 3·(3/6) = 14/6 of 6.
    assert_close("bcub", t.bcub, c(6.0, 6.0, 14.0 / 6.0, 6.0));
    // CEAF: one response chain aligns with {def}: CEAFm 3, CEAFe 2·3/9 = 2/3.
    assert_close("ceafm", t.ceafm, c(3.0, 6.0, 3.0, 6.0));
    assert_close("ceafe", t.ceafe, c(2.0 / 3.0, 3.0, 2.0 / 3.0, 1.0));
    // BLANC: response coref 15, the 4 key ones among them; no response non-coref link.
    assert_blanc(t.blanc, c(4.0, 4.0, 4.0, 15.0), c(0.0, 11.0, 0.0, 0.0));
    // LEA recall 0 + 2 + 3 = 5 of 6; precision 6·(1 + 3)/15 = 1.6 of 6.
    assert_close("lea", t.lea, c(5.0, 6.0, 1.6, 6.0));
}
