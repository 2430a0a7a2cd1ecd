//! `evaluate`, `predict` and `score --task squad` for extractive question answering.
//!
//! | command | writes |
//! |---|---|
//! | `evaluate RUN --data FILE` | `scores.json` (the official SQuAD 2.0 keys, 0–100, and `scores` as fractions), `predictions.json` (the official `{"id": "answer"}` file), `null_odds.json` (`{"id": null score − best span score}`), `predictions.jsonl` (answer, offsets, no-answer probability, gold) |
//! | `predict RUN INPUT --out FILE` | JSON lines `{"id", "question", "answer", "char_start", "char_end", "no_answer_probability", "best_span"}` for JSON lines `{"id"?, "question", "context"}` or a SQuAD JSON file |
//! | `score --task squad KEY PRED` | the official SQuAD 2.0 scores of a `{"id": "answer"}` file against a SQuAD JSON key |
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use reprobe_corpus::qa::Decoded;
use reprobe_corpus::readers::squad::{read_squad, SquadQuestion};
use reprobe_metrics::squad::SquadEvaluator;

use super::sentence_tasks::{evaluate_file, finish, out_dir, write_jsonl};
use crate::fsutil;
use crate::progress::Progress;
use crate::tasks::qa::{read_questions, QaPrediction, QaTask};
use crate::tasks::Scored;
use crate::train::load::load_trained;

/// `reprobe evaluate` of a QA run.
pub fn evaluate(
    run: &Path,
    data: &Path,
    split: &str,
    out: Option<&Path>,
    device: Option<&str>,
) -> Result<()> {
    let trained = load_trained::<QaTask>(run, device)?;
    let out = out_dir(&trained, out, split)?;
    let (_, eval) = evaluate_file(&trained, data, "windows")?;
    let answers: BTreeMap<&str, &str> = eval
        .predictions
        .iter()
        .map(|p| (p.question.id.as_str(), p.decoded.text()))
        .collect();
    fsutil::write_json_atomic(&out.join("predictions.json"), &answers)?;
    let odds: BTreeMap<&str, f64> = eval
        .predictions
        .iter()
        .filter(|p| p.decoded.best.is_some())
        .map(|p| (p.question.id.as_str(), f64::from(p.decoded.score_diff)))
        .collect();
    fsutil::write_json_atomic(&out.join("null_odds.json"), &odds)?;
    let lines: Vec<Value> = eval
        .predictions
        .iter()
        .map(|p| {
            let mut line = answer_json(p);
            line["gold"] = json!(p
                .question
                .answers
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>());
            line
        })
        .collect();
    write_jsonl(&out.join("predictions.jsonl"), &lines)?;
    let mut report = serde_json::to_value(eval.squad)?;
    let (start, end) = eval.position_accuracy;
    report["position_f1"] = json!((start + end) / 2.0);
    finish(&trained, &out, split, eval.scores(split), report)
}

/// One answer as a JSON object: the answer ("" for none) with its character offsets (null for none),
/// the no-answer probability, and the best span even when the null score won.
fn answer_json(p: &QaPrediction) -> Value {
    let d: &Decoded = &p.decoded;
    let offsets = d.answer().map(|s| (s.char_start, s.char_end));
    json!({
        "id": p.question.id,
        "question": p.question.question,
        "answer": d.text(),
        "char_start": offsets.map(|o| o.0),
        "char_end": offsets.map(|o| o.1),
        "no_answer_probability": d.no_answer_probability,
        "best_span": d.best.as_ref().map(|s| json!({"text": s.text, "char_start": s.char_start,
                                                    "char_end": s.char_end})),
    })
}

/// The questions of a `predict` input: JSON lines `{"id"?, "question", "context"}` (the id defaults to
/// the line number), or a SQuAD JSON file (`*.json`).
fn read_input(path: &Path) -> Result<Vec<SquadQuestion>> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        return read_questions(path);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut questions = Vec::new();
    let mut ids = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let value: Value =
            serde_json::from_str(line).with_context(|| format!("{at}: not a JSON object"))?;
        let field = |name: &str| -> Result<String> {
            match value.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => bail!("{at}: needs a string field `{name}` (lines are {{\"id\", \"question\", \"context\"}})"),
            }
        };
        let id = match value.get("id") {
            None => (i + 1).to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        if !ids.insert(id.clone()) {
            bail!("{at}: the id {id} is used twice; ids must be unique");
        }
        questions.push(SquadQuestion {
            id,
            title: String::new(),
            question: field("question")?,
            context: Arc::from(field("context")?),
            answers: Vec::new(),
        });
    }
    if questions.is_empty() {
        bail!("{} holds no question", path.display());
    }
    Ok(questions)
}

/// `reprobe predict` of a QA run.
pub fn predict(run: &Path, input: &Path, out: &Path, device: Option<&str>) -> Result<()> {
    let trained = load_trained::<QaTask>(run, device)?;
    let questions = read_input(input)?;
    let (examples, _) = trained.task.encode(&trained.backbone, questions, input)?;
    let bar = Progress::counting(examples.len(), "predict", "windows");
    let (predictions, _, _) = trained
        .task
        .predict(&trained.backbone, &examples, false, &bar)?;
    bar.finish();
    let lines: Vec<Value> = predictions.iter().map(answer_json).collect();
    write_jsonl(out, &lines)?;
    let answered = predictions
        .iter()
        .filter(|p| p.decoded.answer().is_some())
        .count();
    println!(
        "{} questions ({answered} answered) -> {}",
        lines.len(),
        out.display()
    );
    Ok(())
}

/// `reprobe score --task squad KEY PRED`: the official SQuAD 2.0 scores of the prediction file
/// (`{"id": "answer"}`) against the SQuAD JSON key, printed as the official script prints them
/// (`--format json`: on one line). A key question without a prediction counts as answered with ""
/// (no answer); predictions for ids not in the key are ignored; both are reported.
pub fn score_squad(key: &Path, predicted: &Path, json_output: bool) -> Result<()> {
    let questions = read_squad(key)?.questions;
    let text = std::fs::read_to_string(predicted)
        .with_context(|| format!("cannot read {}", predicted.display()))?;
    let answers: BTreeMap<String, Value> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a prediction file (expected one JSON object {{\"question id\": \"answer\"}})",
            predicted.display()
        )
    })?;
    let mut evaluator = SquadEvaluator::new();
    let mut missing = Vec::new();
    for q in &questions {
        let answer = match answers.get(&q.id) {
            Some(Value::String(a)) => a.as_str(),
            Some(other) => bail!(
                "{}: the prediction of question {} is {other}, not a string",
                predicted.display(),
                q.id
            ),
            None => {
                missing.push(q.id.as_str());
                ""
            }
        };
        let golds: Vec<&str> = q.answers.iter().map(|a| a.text.as_str()).collect();
        evaluator.add(&golds, answer);
    }
    let known: HashSet<&str> = questions.iter().map(|q| q.id.as_str()).collect();
    let extra = answers
        .keys()
        .filter(|id| !known.contains(id.as_str()))
        .count();
    if let Some(first) = missing.first() {
        eprintln!(
            "warning: {} of {} questions have no prediction in {} (scored as no answer; first: {first})",
            missing.len(),
            questions.len(),
            predicted.display()
        );
    }
    if extra > 0 {
        eprintln!(
            "warning: {extra} predictions in {} are for ids not in {} (ignored)",
            predicted.display(),
            key.display()
        );
    }
    // The official keys in the official order: one line, or indented as the official script prints them.
    let report = evaluator.report();
    if json_output {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
