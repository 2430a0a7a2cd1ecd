//! `evaluate`, `predict` and `score --task ner` for the sentence-level tasks (NER, pair classification).
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use reprobe_corpus::readers::columns::{read_columns, write_columns, TaggedSentence};
use reprobe_corpus::readers::glue::read_glue_tsv;
use reprobe_corpus::sequence::split_words_with_offsets;
use reprobe_corpus::write_atomic;
use reprobe_metrics::ner::{extract_entities, EntityCounts};

use crate::config::TaskKind;
use crate::fsutil;
use crate::progress::Progress;
use crate::tasks::ner::{read_sentences, NerTask};
use crate::tasks::pair::PairTask;
use crate::tasks::{Scored, Task};
use crate::train::load::{load_trained, TrainedModel};

/// `reprobe evaluate` of a NER or classification run: scores to `out/scores.json` and the console,
/// predictions beside them.
pub fn evaluate(
    task: TaskKind,
    run: &Path,
    data: &Path,
    split: &str,
    out: Option<&Path>,
    device: Option<&str>,
) -> Result<()> {
    match task {
        TaskKind::Ner => {
            let trained = load_trained::<NerTask>(run, device)?;
            let out = out_dir(&trained, out, split)?;
            let (_, eval) = evaluate_file(&trained, data, "windows")?;
            let rows: Vec<(Vec<String>, Vec<String>)> = eval
                .sentences
                .iter()
                .map(|s| (s.words.clone(), s.predicted.clone()))
                .collect();
            write_columns(
                &out.join("predictions.conll"),
                rows.iter().map(|(w, t)| (w.as_slice(), t.as_slice())),
            )?;
            let report = eval.entities.report();
            let mut json = serde_json::to_value(&report)?;
            json["token_f1"] = json!(eval.tokens.f1());
            finish(&trained, &out, split, eval.scores(split), json)
        }
        TaskKind::PairClassification => {
            let trained = load_trained::<PairTask>(run, device)?;
            let out = out_dir(&trained, out, split)?;
            let (examples, eval) = evaluate_file(&trained, data, "examples")?;
            let labels = trained.task.label_list();
            let lines: Vec<serde_json::Value> = examples
                .iter()
                .zip(&eval.predictions)
                .map(|(e, p)| {
                    json!({"id": e.text.id, "gold": e.text.label, "label": labels[p.label as usize],
                           "probability": p.probabilities[p.label as usize]})
                })
                .collect();
            write_jsonl(&out.join("predictions.jsonl"), &lines)?;
            let per_label: BTreeMap<&str, _> = eval
                .counts
                .per_label()
                .into_iter()
                .map(|(l, s)| (labels[l].as_str(), s))
                .collect();
            let json = json!({"accuracy": eval.counts.accuracy(), "per_label": per_label});
            finish(&trained, &out, split, eval.scores(split), json)
        }
        TaskKind::RelationClassification => {
            super::relation::evaluate(run, data, split, out, device)
        }
        TaskKind::ExtractiveQa => super::qa::evaluate(run, data, split, out, device),
        TaskKind::Coref => unreachable!("coreference is evaluated by cli::evaluate"),
    }
}

/// Reads `data` with the task's reader and evaluates the trained model on it (no dropout, no gradient).
pub(super) fn evaluate_file<T: Task>(
    trained: &TrainedModel<T>,
    data: &Path,
    unit: &'static str,
) -> Result<(Vec<T::Example>, T::Evaluation)> {
    let (examples, summary) = trained.task.read_split(&trained.backbone, data, None)?;
    println!("evaluating {} on {summary}", trained.checkpoint.display());
    let bar = Progress::counting(examples.len(), "evaluate", unit);
    let eval = trained.task.evaluate(
        &trained.backbone,
        &examples,
        &mut ChaCha8Rng::seed_from_u64(0),
        &bar,
    )?;
    bar.finish();
    Ok((examples, eval))
}

pub(super) fn out_dir<T>(
    trained: &TrainedModel<T>,
    out: Option<&Path>,
    split: &str,
) -> Result<PathBuf> {
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| trained.run_dir.join("eval").join(split));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    Ok(out)
}

pub(super) fn finish<T>(
    trained: &TrainedModel<T>,
    out: &Path,
    split: &str,
    scores: BTreeMap<String, f64>,
    mut json: serde_json::Value,
) -> Result<()> {
    for (k, v) in &scores {
        println!(
            "{k:<24} {:>8.2}",
            v * if k.ends_with("loss") { 1.0 } else { 100.0 }
        );
    }
    json["scores"] = json!(scores);
    json["split"] = json!(split);
    json["checkpoint"] = json!(trained.checkpoint.display().to_string());
    fsutil::write_json_atomic(&out.join("scores.json"), &json)?;
    println!("scores and predictions in {}", out.display());
    Ok(())
}

pub(super) fn write_jsonl(path: &Path, lines: &[serde_json::Value]) -> Result<()> {
    let mut text = String::new();
    for line in lines {
        text.push_str(&serde_json::to_string(line)?);
        text.push('\n');
    }
    write_atomic(path, |w| {
        w.write_all(text.as_bytes())
            .map_err(|e| reprobe_corpus::Error::Write {
                path: path.to_path_buf(),
                source: e,
            })
    })
    .with_context(|| format!("cannot write {}", path.display()))
}

/// `reprobe predict` of a NER or classification run.
///
/// NER: a column file (or `*_gold_conll`) gives a column file of predicted tags; any other file is raw
/// text, one sentence per non-empty line, and gives JSON lines with the entities' text, type and
/// character offsets. Classification: a TSV of texts or pairs gives JSON lines with the label and its
/// probability.
pub fn predict(
    task: TaskKind,
    run: &Path,
    input: &Path,
    out: &Path,
    device: Option<&str>,
) -> Result<()> {
    match task {
        TaskKind::Ner => {
            let trained = load_trained::<NerTask>(run, device)?;
            let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let columns =
                name.ends_with("conll") || name.ends_with(".bio") || name.ends_with(".iob2");
            let (sentences, offsets) = if columns {
                (read_sentences(input)?, None)
            } else {
                raw_sentences(input)?
            };
            let examples = trained
                .task
                .encode(&trained.backbone, &sentences, false, input)?;
            let bar = Progress::counting(examples.len(), "predict", "windows");
            let (tags, _) = trained
                .task
                .predict(&trained.backbone, &examples, false, &bar)?;
            bar.finish();
            let mut per_sentence: Vec<Vec<String>> = vec![Vec::new(); sentences.len()];
            for (example, t) in examples.iter().zip(tags) {
                per_sentence[example.window.sentence].extend(t);
            }
            match offsets {
                None => write_columns(
                    out,
                    sentences
                        .iter()
                        .zip(&per_sentence)
                        .map(|(s, t)| (s.words.as_slice(), t.as_slice())),
                )?,
                Some(offsets) => {
                    let mut lines = Vec::with_capacity(sentences.len());
                    for ((sentence, tags), (text, offsets)) in
                        sentences.iter().zip(&per_sentence).zip(&offsets)
                    {
                        let entities: Vec<serde_json::Value> = extract_entities(tags)?
                            .into_iter()
                            .map(|e| {
                                let (start, end) = (offsets[e.start].0, offsets[e.end].1);
                                let text: String =
                                    text.chars().skip(start).take(end - start).collect();
                                json!({"type": e.kind, "text": text, "char_start": start,
                                       "char_end": end, "words": [e.start, e.end + 1]})
                            })
                            .collect();
                        lines.push(
                            json!({"text": text, "words": sentence.words, "entities": entities}),
                        );
                    }
                    write_jsonl(out, &lines)?;
                }
            }
            println!("{} sentences -> {}", sentences.len(), out.display());
        }
        TaskKind::PairClassification => {
            let trained = load_trained::<PairTask>(run, device)?;
            let rows = read_glue_tsv(input)?;
            let examples = trained.task.encode(&trained.backbone, rows, false, input)?;
            let bar = Progress::counting(examples.len(), "predict", "examples");
            let (predictions, _) =
                trained
                    .task
                    .predict(&trained.backbone, &examples, false, &bar)?;
            bar.finish();
            let labels = trained.task.label_list();
            let lines: Vec<serde_json::Value> = examples
                .iter()
                .zip(&predictions)
                .map(|(e, p)| {
                    json!({"id": e.text.id, "text_a": e.text.text_a, "text_b": e.text.text_b,
                           "label": labels[p.label as usize], "probability": p.probabilities[p.label as usize]})
                })
                .collect();
            write_jsonl(out, &lines)?;
            println!("{} examples -> {}", lines.len(), out.display());
        }
        TaskKind::RelationClassification => super::relation::predict(run, input, out, device)?,
        TaskKind::ExtractiveQa => super::qa::predict(run, input, out, device)?,
        TaskKind::Coref => unreachable!("coreference is predicted by cli::predict"),
    }
    Ok(())
}

/// Raw text: one sentence per non-empty line, split into words with their character offsets.
#[allow(clippy::type_complexity)]
fn raw_sentences(
    path: &Path,
) -> Result<(
    Vec<TaggedSentence>,
    Option<Vec<(String, Vec<(usize, usize)>)>>,
)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut sentences = Vec::new();
    let mut offsets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let words = split_words_with_offsets(line);
        sentences.push(TaggedSentence {
            tags: vec!["O".into(); words.len()],
            words: words.iter().map(|(w, _, _)| w.clone()).collect(),
            line: i + 1,
        });
        offsets.push((
            line.to_string(),
            words.iter().map(|&(_, s, e)| (s, e)).collect(),
        ));
    }
    if sentences.is_empty() {
        bail!("{} has no text", path.display());
    }
    Ok((sentences, Some(offsets)))
}

/// `reprobe score --task ner GOLD PRED`: entity-level P/R/F1 (micro and per type) of two column files
/// with the same words.
pub fn score_ner(gold: &Path, predicted: &Path, json_output: bool) -> Result<()> {
    let gold_sentences = read_columns(gold)?;
    let pred_sentences = read_columns(predicted)?;
    if gold_sentences.len() != pred_sentences.len() {
        bail!(
            "{} has {} sentences, {} has {}: they must hold the same sentences",
            gold.display(),
            gold_sentences.len(),
            predicted.display(),
            pred_sentences.len()
        );
    }
    let mut counts = EntityCounts::new();
    for (g, p) in gold_sentences.iter().zip(&pred_sentences) {
        if g.words != p.words {
            bail!(
                "the sentence at {}:{} differs from the one at {}:{} (different words)",
                gold.display(),
                g.line,
                predicted.display(),
                p.line
            );
        }
        counts.add_sentence(&g.tags, &p.tags)?;
    }
    let report = counts.report();
    if json_output {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{:<16} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6}",
            "type", "precision", "recall", "f1", "tp", "fp", "fn"
        );
        let rows = report
            .per_type
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .chain(std::iter::once(("micro", &report.micro)));
        for (name, s) in rows {
            println!(
                "{name:<16} {:>9.2} {:>9.2} {:>9.2} {:>6} {:>6} {:>6}",
                s.precision * 100.0,
                s.recall * 100.0,
                s.f1 * 100.0,
                s.counts.true_pos,
                s.counts.false_pos,
                s.counts.false_neg
            );
        }
    }
    Ok(())
}
