//! `evaluate`, `predict` and `score --task semeval2010|tacred` for relation classification.
//!
//! | command | writes |
//! |---|---|
//! | `evaluate RUN --data FILE` | `scores.json` (the official numbers, per-label scores), `predictions.jsonl`, and `predictions.txt` in the dataset's answer format: `id<TAB>label` (SemEval, what its scorer reads) or one label per line (TACRED) |
//! | `predict RUN INPUT --out FILE` | JSON lines `{"id", "text" (arguments tagged <e1>/<e2>), "label", "probability"}` |
//! | `score --task semeval2010 KEY PRED` | the official evaluation (iii) of `semeval2010_task8_scorer-v1.2.pl`; KEY is an answer file or the release file |
//! | `score --task tacred KEY PRED` | TACRED's official micro P/R/F1; one label per line in the key's order (KEY may also be a TACRED JSON file) |
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::json;

use reprobe_corpus::readers::read_relations;
use reprobe_corpus::readers::semeval::parse_answers;
use reprobe_corpus::write_atomic;
use reprobe_metrics::relation::{tacred_score, SemEvalCounts, SemEvalReport, TACRED_NO_RELATION};

use super::sentence_tasks::{evaluate_file, finish, out_dir, write_jsonl};
use crate::progress::Progress;
use crate::tasks::relation::RelationTask;
use crate::train::load::load_trained;

fn read_utf8_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The tags `predict` writes around the head (`e1`) and tail (`e2`).
const TAGS: ((&str, &str), (&str, &str)) = (("<e1>", "</e1>"), ("<e2>", "</e2>"));

/// `reprobe evaluate` of a relation run.
pub fn evaluate(
    run: &Path,
    data: &Path,
    split: &str,
    out: Option<&Path>,
    device: Option<&str>,
) -> Result<()> {
    let trained = load_trained::<RelationTask>(run, device)?;
    let out = out_dir(&trained, out, split)?;
    let (items, eval) = evaluate_file(&trained, data, "examples")?;
    let labels = trained.task.label_list();
    let lines: Vec<serde_json::Value> = items
        .iter()
        .zip(&eval.predictions)
        .map(|(e, p)| {
            json!({"id": e.example.id, "gold": e.example.label, "label": labels[p.label as usize],
                   "probability": p.probabilities[p.label as usize]})
        })
        .collect();
    write_jsonl(&out.join("predictions.jsonl"), &lines)?;
    let answers: String = items
        .iter()
        .zip(&eval.predictions)
        .map(|(e, p)| {
            let label = &labels[p.label as usize];
            if trained.task.is_semeval() {
                format!("{}\t{label}\n", e.example.id)
            } else {
                format!("{label}\n")
            }
        })
        .collect();
    write_text(&out.join("predictions.txt"), &answers)?;
    let json = match &eval.semeval {
        Some(report) => semeval_json(report),
        None => json!({"precision": eval.micro.precision, "recall": eval.micro.recall,
                       "f1": eval.micro.f1, "accuracy": eval.counts.accuracy()}),
    };
    finish(
        &trained,
        &out,
        split,
        crate::tasks::Scored::scores(&eval, split),
        json,
    )
}

/// `reprobe predict` of a relation run on a relation file (marked-text JSON lines, TACRED, SemEval).
pub fn predict(run: &Path, input: &Path, out: &Path, device: Option<&str>) -> Result<()> {
    let trained = load_trained::<RelationTask>(run, device)?;
    let examples = read_relations(input)?;
    let (items, _) = trained
        .task
        .encode(&trained.backbone, examples, false, input)?;
    let bar = Progress::counting(items.len(), "predict", "examples");
    let (predictions, _) = trained
        .task
        .predict(&trained.backbone, &items, false, &bar)?;
    bar.finish();
    let labels = trained.task.label_list();
    let lines: Vec<serde_json::Value> = items
        .iter()
        .zip(&predictions)
        .map(|(e, p)| {
            json!({"id": e.example.id, "text": e.example.marked(TAGS.0, TAGS.1),
                   "label": labels[p.label as usize], "probability": p.probabilities[p.label as usize]})
        })
        .collect();
    write_jsonl(out, &lines)?;
    println!("{} examples -> {}", lines.len(), out.display());
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| {
        std::io::Write::write_all(w, text.as_bytes()).map_err(|e| reprobe_corpus::Error::Write {
            path: path.to_path_buf(),
            source: e,
        })
    })
    .with_context(|| format!("cannot write {}", path.display()))
}

/// The JSON of `score --task semeval2010` and of a SemEval evaluation.
fn semeval_json(report: &SemEvalReport) -> serde_json::Value {
    let per_label: BTreeMap<&str, serde_json::Value> = report
        .per_label
        .iter()
        .map(|(l, s)| {
            (l.as_str(), json!({"precision": s.precision, "recall": s.recall, "f1": s.f1,
                                "tp": s.counts.true_pos, "fp": s.counts.false_pos, "fn": s.counts.false_neg}))
        })
        .collect();
    json!({
        "official_f1": report.official_f1,
        "accuracy": report.accuracy,
        "macro_precision": report.macro_precision,
        "macro_recall": report.macro_recall,
        "micro": {"precision": report.micro.precision, "recall": report.micro.recall, "f1": report.micro.f1},
        "coverage": report.coverage,
        "per_label": per_label,
    })
}

/// `(id, label)` of a SemEval key: an answer file, or the release file (labels read from it).
fn semeval_key(path: &Path) -> Result<Vec<(String, String)>> {
    let text = read_utf8_file(path)?;
    let release = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            l.split_once('\t')
                .is_some_and(|(_, rest)| rest.starts_with('"'))
        });
    if release {
        return read_relations(path)?
            .into_iter()
            .map(|e| match e.label {
                Some(label) => Ok((e.id, label)),
                None => bail!(
                    "{}: {}: the key record {} has no label",
                    path.display(),
                    e.at,
                    e.id
                ),
            })
            .collect();
    }
    Ok(parse_answers(path, &text)?
        .into_iter()
        .map(|(id, label, _)| (id, label))
        .collect())
}

/// `reprobe score --task semeval2010 KEY PRED`: the official evaluation of SemEval-2010 Task 8 (a
/// prediction for a subset of the key's ids is allowed, the others count as skipped; an id missing from
/// the key is an error, as in the official scorer).
pub fn score_semeval(key: &Path, predicted: &Path, json_output: bool) -> Result<()> {
    let key_rows = semeval_key(key)?;
    let text = read_utf8_file(predicted)?;
    let predictions: HashMap<String, (String, usize)> = parse_answers(predicted, &text)?
        .into_iter()
        .map(|(id, label, line)| (id, (label, line)))
        .collect();
    let key_ids: HashMap<&str, ()> = key_rows.iter().map(|(id, _)| (id.as_str(), ())).collect();
    if let Some((id, (_, line))) = predictions
        .iter()
        .filter(|(id, _)| !key_ids.contains_key(id.as_str()))
        .min_by_key(|(_, (_, line))| *line)
    {
        bail!(
            "{}:{line}: id {id} is not in the key {}",
            predicted.display(),
            key.display()
        );
    }
    let mut counts = SemEvalCounts::new();
    for (id, gold) in &key_rows {
        counts.add(gold, predictions.get(id).map(|(l, _)| l.as_str()));
    }
    let report = counts.report();
    if json_output {
        println!("{}", serde_json::to_string(&semeval_json(&report))?);
        return Ok(());
    }
    println!("<<< (9+1)-way evaluation with directionality taken into account >>>");
    println!(
        "{:>20} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6}",
        "relation", "precision", "recall", "f1", "tp", "fp", "fn"
    );
    for (relation, s) in &report.per_label {
        println!(
            "{relation:>20} {:>9.2} {:>9.2} {:>9.2} {:>6} {:>6} {:>6}",
            s.precision * 100.0,
            s.recall * 100.0,
            s.f1 * 100.0,
            s.counts.true_pos,
            s.counts.false_pos,
            s.counts.false_neg
        );
    }
    println!(
        "micro (excluding Other): P {:.2}  R {:.2}  F1 {:.2}",
        report.micro.precision * 100.0,
        report.micro.recall * 100.0,
        report.micro.f1 * 100.0
    );
    println!(
        "macro (excluding Other): P {:.2}  R {:.2}  F1 {:.2}",
        report.macro_precision * 100.0,
        report.macro_recall * 100.0,
        report.official_f1 * 100.0
    );
    println!(
        "accuracy {:.2} (skipped as wrong), coverage {:.2}",
        report.accuracy * 100.0,
        report.coverage * 100.0
    );
    println!(
        "official score: macro-averaged F1 = {:.2}%",
        report.official_f1 * 100.0
    );
    Ok(())
}

/// One label per non-empty line, or the `relation`s of a TACRED JSON / JSON lines file.
fn tacred_labels(path: &Path) -> Result<Vec<String>> {
    let text = read_utf8_file(path)?;
    if matches!(text.trim_start().chars().next(), Some('[' | '{')) {
        return read_relations(path)?
            .into_iter()
            .map(|e| {
                e.label.with_context(|| {
                    format!(
                        "{}: {}: the record {} has no relation",
                        path.display(),
                        e.at,
                        e.id
                    )
                })
            })
            .collect();
    }
    Ok(text
        .lines()
        .map(|l| l.trim_end_matches('\r').trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// `reprobe score --task tacred KEY PRED`: TACRED's official micro P/R/F1 without `no_relation`.
pub fn score_tacred(key: &Path, predicted: &Path, json_output: bool) -> Result<()> {
    let gold = tacred_labels(key)?;
    let pred = tacred_labels(predicted)?;
    if gold.len() != pred.len() {
        bail!(
            "{} has {} labels but {} has {}: one prediction per key example, in the key's order",
            key.display(),
            gold.len(),
            predicted.display(),
            pred.len()
        );
    }
    let g: Vec<&str> = gold.iter().map(String::as_str).collect();
    let p: Vec<&str> = pred.iter().map(String::as_str).collect();
    let s = tacred_score(&g, &p, TACRED_NO_RELATION)?;
    if json_output {
        println!(
            "{}",
            json!({"precision": s.precision, "recall": s.recall, "f1": s.f1})
        );
    } else {
        println!("Precision (micro): {:.3}%", s.precision * 100.0);
        println!("   Recall (micro): {:.3}%", s.recall * 100.0);
        println!("       F1 (micro): {:.3}%", s.f1 * 100.0);
    }
    Ok(())
}
