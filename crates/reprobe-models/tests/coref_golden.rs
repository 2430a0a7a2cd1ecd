//! The coref head against the original coref-hoi code: `scripts/golden/coref_hoi_model_golden.py` runs
//! coref-hoi's own `model.py` (`CorefModel.get_predictions_and_loss`, `get_predicted_clusters`, in
//! `../shared/reference/coref-hoi/`) on the fixture's tiny weights and document with a stub encoder:
//! candidate spans, mention scores, pruning (with crossing rejections and, in case2, the reference's
//! padding), coarse-only and coarse + fine antecedent scores, the three losses, gradients and decoding.
//! Same weights, same document, evaluation mode. Checked in f64 (to ~1e-9: any formula difference shows)
//! and in f32 (the production dtype, to 1e-5 on scores and losses, 1e-4 on gradients).
mod util;

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use reprobe_models::heads::coref::{
    CorefConfig, CorefGold, CorefHead, CorefInputs, CorefOutput, LossType,
};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use serde_json::Value;
use util::f64_values;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/coref")
        .join(name)
}

struct Case {
    record: Value,
    cfg: CorefConfig,
    hidden: usize,
    inputs: CorefInputs,
    gold: CorefGold,
    tensors: HashMap<String, Tensor>,
}

fn pairs(v: &Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = p.as_array().unwrap();
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn load(name: &str) -> Case {
    let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    let cfg: CorefConfig = serde_json::from_value(record["config"].clone()).unwrap();
    let hidden = record["hidden_size"].as_u64().unwrap() as usize;
    let i = &record["inputs"];
    let inputs = CorefInputs {
        sentence_map: u32s(&i["sentence_map"]),
        speaker_ids: u32s(&i["speaker_ids"]),
        segment_of_token: u32s(&i["segment_of_token"]),
        genre: i["genre"].as_u64().unwrap() as u32,
    };
    let gold = CorefGold {
        spans: pairs(&record["gold"]["spans"]),
        cluster_ids: u32s(&record["gold"]["cluster_ids"]),
    };
    let tensors = candle_core::safetensors::load(
        fixture(&format!("{name}.tensors.safetensors")),
        &Device::Cpu,
    )
    .unwrap();
    Case {
        record,
        cfg,
        hidden,
        inputs,
        gold,
        tensors,
    }
}

/// `|got − want| ≤ tol · (1 + |want|)` element-wise, infinities equal.
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        if w.is_infinite() {
            assert_eq!(g, w, "{what}[{i}]");
            continue;
        }
        let err = (g - w).abs() / (1.0 + w.abs());
        worst = worst.max(err);
        assert!(
            err <= tol,
            "{what}[{i}]: {g} vs {w} (relative error {err:.3e} > {tol:.0e})"
        );
    }
    eprintln!("{what}: worst relative error {worst:.2e}");
}

fn check(
    name: &str,
    dtype: DType,
    fused: bool,
    tol: f64,
    grad_tol: f64,
    exact_antecedent_order: bool,
) {
    let case = load(name);
    let store = ParamStore::new(ModelRng::new(0), dtype, Device::Cpu);
    let head = CorefHead::new(&case.cfg, case.hidden, &store)
        .unwrap()
        .with_fused_kernels(fused);
    store
        .load(&fixture(&format!("{name}.weights.safetensors")))
        .unwrap();
    let doc = Var::from_tensor(&case.tensors["input.doc"].to_dtype(dtype).unwrap()).unwrap();
    let out = head
        .forward_t(doc.as_tensor(), &case.inputs, Some(&case.gold), false)
        .unwrap();
    let expected = &case.record["expected"];

    assert_eq!(out.candidates, pairs(&expected["candidates"]), "candidates");
    assert_close(
        "candidate_mention_scores",
        &f64_values(&out.candidate_mention_scores),
        &f64_values(&case.tensors["expected.candidate_mention_scores"]),
        tol,
    );
    let want_top: Vec<usize> = expected["top_span_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(out.top_span_indices, want_top, "top span indices");
    assert_eq!(out.top_spans, pairs(&expected["top_spans"]), "top spans");
    assert_eq!(
        out.top_span_labels.as_deref(),
        Some(&u32s(&expected["top_span_labels"])[..]),
        "top span labels"
    );
    assert_close(
        "top_mention_scores",
        &f64_values(&out.top_mention_scores),
        &f64_values(&case.tensors["expected.top_mention_scores"]),
        tol,
    );

    // Antecedents: the real ones must agree (index and score); masked entries are −∞ on both sides.
    let want_idx: Vec<Vec<usize>> = expected["antecedent_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let want_mask: Vec<Vec<bool>> = expected["antecedent_mask"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_bool().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(out.antecedent_mask, want_mask, "antecedent mask");
    let want = Antecedents {
        indices: &want_idx,
        mask: &want_mask,
        exact_order: exact_antecedent_order,
        tol,
    };
    want.check(
        "antecedent_scores",
        &out,
        &case.tensors["expected.antecedent_scores"],
    );
    // The coarse scores alone (fine_grained = false): the same antecedents, the fine part taken away.
    let coarse_cfg = CorefConfig {
        fine_grained: false,
        ..case.cfg.clone()
    };
    let coarse = CorefHead::new(&coarse_cfg, case.hidden, &store)
        .unwrap()
        .with_fused_kernels(fused)
        .forward_t(doc.as_tensor(), &case.inputs, Some(&case.gold), false)
        .unwrap();
    want.check(
        "coarse-only antecedent_scores",
        &coarse,
        &case.tensors["expected.coarse_only_antecedent_scores"],
    );

    let loss = out.loss.as_ref().unwrap();
    let want_loss = expected["loss_marginalized"].as_f64().unwrap();
    assert_close("loss", &f64_values(loss), &[want_loss], tol);

    // Decoding.
    if exact_antecedent_order {
        let want_ants: Vec<Option<usize>> = expected["predicted_antecedents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let v = x.as_i64().unwrap();
                (v >= 0).then_some(v as usize)
            })
            .collect();
        assert_eq!(out.predicted_antecedents().unwrap(), want_ants);
    }
    let want_clusters: Vec<Vec<(usize, usize)>> = expected["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(pairs)
        .collect();
    let clusters = out.decode().unwrap();
    assert!(!clusters.is_empty());
    assert_eq!(clusters, want_clusters, "clusters");

    // Gradients of the loss: the document embeddings and every parameter.
    let grads = loss.backward().unwrap();
    assert_close(
        "grad doc",
        &f64_values(grads.get(doc.as_tensor()).unwrap()),
        &f64_values(&case.tensors["expected.grad.doc"]),
        grad_tol,
    );
    let mut checked = 0;
    for (pname, var) in store.all() {
        let key = format!("expected.grad.{pname}");
        let Some(want) = case.tensors.get(&key) else {
            continue;
        };
        let got = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {pname}"));
        assert_close(
            &format!("grad {pname}"),
            &f64_values(got),
            &f64_values(want),
            grad_tol,
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} parameter gradients compared");

    // The other losses on the same scores.
    let hinge_cfg = CorefConfig {
        loss_type: LossType::Hinge,
        ..case.cfg.clone()
    };
    let hinge = CorefHead::new(&hinge_cfg, case.hidden, &store)
        .unwrap()
        .with_fused_kernels(fused)
        .forward_t(doc.as_tensor(), &case.inputs, Some(&case.gold), false)
        .unwrap();
    assert_close(
        "hinge loss",
        &f64_values(hinge.loss.as_ref().unwrap()),
        &[expected["loss_hinge"].as_f64().unwrap()],
        tol,
    );
    let mention_cfg = CorefConfig {
        mention_loss_coef: 0.5,
        ..case.cfg.clone()
    };
    let with_mention = CorefHead::new(&mention_cfg, case.hidden, &store)
        .unwrap()
        .with_fused_kernels(fused)
        .forward_t(doc.as_tensor(), &case.inputs, Some(&case.gold), false)
        .unwrap();
    assert_close(
        "marginalized + 0.5 mention loss",
        &f64_values(with_mention.loss.as_ref().unwrap()),
        &[expected["loss_marginalized_plus_mention_0_5"]
            .as_f64()
            .unwrap()],
        tol,
    );
}

/// The expected antecedents of every top span, and how to compare a head's scores with them.
struct Antecedents<'a> {
    indices: &'a [Vec<usize>],
    mask: &'a [Vec<bool>],
    /// Compare indices position by position; otherwise (padded copies of one span, whose order among
    /// equal scores is arbitrary) each row as a multiset of (antecedent span, score).
    exact_order: bool,
    tol: f64,
}

impl Antecedents<'_> {
    fn check(&self, what: &str, out: &CorefOutput, want_scores: &Tensor) {
        let got_scores = f64_values(&out.antecedent_scores);
        let want_scores = f64_values(want_scores);
        if self.exact_order {
            for (i, (got, want)) in out.antecedent_indices.iter().zip(self.indices).enumerate() {
                for a in 0..got.len() {
                    if self.mask[i][a] {
                        assert_eq!(got[a], want[a], "{what}: antecedent [{i}][{a}]");
                    }
                }
            }
            assert_close(what, &got_scores, &want_scores, self.tol);
            return;
        }
        let cols = self.indices[0].len() + 1;
        for i in 0..self.indices.len() {
            let row = |idx: &[usize], scores: &[f64]| {
                let mut r: Vec<((usize, usize), f64)> = (0..idx.len())
                    .filter(|&a| self.mask[i][a])
                    .map(|a| (out.top_spans[idx[a]], scores[i * cols + a + 1]))
                    .collect();
                r.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
                r
            };
            let got = row(&out.antecedent_indices[i], &got_scores);
            let want = row(&self.indices[i], &want_scores);
            assert_eq!(
                got.iter().map(|x| x.0).collect::<Vec<_>>(),
                want.iter().map(|x| x.0).collect::<Vec<_>>(),
                "{what}: row {i} antecedent spans"
            );
            assert_close(
                &format!("{what} row {i}"),
                &got.iter().map(|x| x.1).collect::<Vec<_>>(),
                &want.iter().map(|x| x.1).collect::<Vec<_>>(),
                self.tol,
            );
        }
    }
}

/// f64 runs the generic tensor path (the fused kernels are f32-only).
#[test]
fn case1_matches_coref_hoi_in_f64() {
    check("case1", DType::F64, true, 1e-9, 1e-8, true);
}

/// f32 on the CPU runs the fused kernels.
#[test]
fn case1_matches_coref_hoi_in_f32_fused() {
    check("case1", DType::F32, true, 1e-5, 1e-4, true);
}

#[test]
fn case1_matches_coref_hoi_in_f32_generic() {
    check("case1", DType::F32, false, 1e-5, 1e-4, true);
}

#[test]
fn case2_reference_padding_matches_coref_hoi_in_f64() {
    check("case2", DType::F64, true, 1e-9, 1e-8, false);
}

#[test]
fn case2_reference_padding_matches_coref_hoi_in_f32_fused() {
    check("case2", DType::F32, true, 1e-5, 1e-4, false);
}

#[test]
fn case1_fixture_exercises_crossing_and_nesting() {
    let case = load("case1");
    let e = &case.record["expected"];
    assert!(e["crossing_rejections"].as_u64().unwrap() > 0);
    // the gold has a nested pair and a mention wider than max_span_width
    let spans = &case.gold.spans;
    assert!(spans.contains(&(1, 2)) && spans.contains(&(1, 4)));
    assert!(spans
        .iter()
        .any(|&(s, e)| e - s + 1 > case.cfg.max_span_width));
    let case2 = load("case2");
    assert!(case2.record["expected"]["padded"].as_u64().unwrap() > 0);
    assert!(case2.cfg.pad_top_spans);
}
