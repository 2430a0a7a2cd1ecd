//! `reprobe evaluate`: a trained model on a CoNLL-2012 or jsonlines file, scored with the official
//! metrics; the predictions are written next to the scores.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use reprobe_corpus::readers::conll2012::Conll2012Reader;
use reprobe_corpus::writers::conll2012::write_with_key;
use reprobe_corpus::writers::jsonlines::write_jsonlines;
use reprobe_corpus::Cluster;
use reprobe_metrics::MetricSet;

use super::score::{score_files, text_report, JsonReport};
use crate::config::TaskKind;
use crate::fsutil;
use crate::progress::Progress;
use crate::tasks::coref::data::{is_jsonlines, load_split, to_word_clusters};
use crate::tasks::coref::evaluate::evaluate;
use crate::tasks::coref::CorefTask;
use crate::train::load::{load_config, load_trained};

/// Evaluate a trained model on a file with the official CoNLL-2012 metrics (or the task's own metric).
///
/// For a NER run FILE is a column file or `*_gold_conll`: entity P/R/F1 (micro and per type) and the
/// token-level F1, predictions as a column file. For a classification run FILE is a GLUE TSV: accuracy,
/// F1, per-label scores, predictions as JSON lines.
///
/// RUN_OR_CHECKPOINT is a run folder (its best checkpoint is used) or a checkpoint folder. FILE is a
/// CoNLL-2012 file (prepared on the fly with the run's tokenizer) or prepared jsonlines. For a CoNLL file,
/// the predictions are written as a CoNLL file lined up with FILE (predicted subtoken spans map back to
/// words through subtoken_map; spans that do not cover whole words are dropped and counted), and that file
/// is scored against FILE exactly as `reprobe score` does. For jsonlines the clusters are scored on
/// subtoken spans with the same metric core. Scores go to OUT/scores.json (the `reprobe score --format json`
/// schema, plus the loss), predictions to OUT/predictions.{conll,jsonlines}; OUT defaults to
/// RUN/eval/<split>/.
///
/// Example:
///   reprobe evaluate runs/ontogum_minilm_frozen/2026-11-25_20-00-00 --data ../shared/data/ontogum/dev.english.v4_gold_conll
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct EvaluateArgs {
    /// A run folder or a checkpoint folder.
    run_or_checkpoint: PathBuf,
    /// The documents to evaluate on (with gold clusters).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// A name for the split (the output folder and the metric prefix); default: from the file name.
    #[arg(long)]
    split: Option<String>,
    /// The output folder; default RUN/eval/<split>/.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run on this device, e.g. `cuda:0`.
    #[arg(long)]
    device: Option<String>,
}

/// `dev` from `dev.english.v4_gold_conll`, `test` from `test.english.384.jsonlines`.
fn split_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .filter(|n| !n.is_empty())
        .unwrap_or("eval")
        .to_string()
}

/// Runs `reprobe evaluate`.
pub fn run(args: EvaluateArgs) -> Result<ExitCode> {
    let (resolved, _, _) = load_config(&args.run_or_checkpoint, args.device.as_deref())?;
    if resolved.config.task != TaskKind::Coref {
        let split = args.split.clone().unwrap_or_else(|| split_name(&args.data));
        super::sentence_tasks::evaluate(
            resolved.config.task,
            &args.run_or_checkpoint,
            &args.data,
            &split,
            args.out.as_deref(),
            args.device.as_deref(),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let trained = load_trained::<CorefTask>(&args.run_or_checkpoint, args.device.as_deref())?;
    let split = args.split.clone().unwrap_or_else(|| split_name(&args.data));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| trained.run_dir.join("eval").join(&split));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let data_cfg = &trained.resolved.config.data;
    let docs = load_split(&args.data, &trained.backbone.tokenizer, data_cfg, None)?.docs;
    println!(
        "evaluating {} on {} documents of {}",
        trained.checkpoint.display(),
        docs.len(),
        args.data.display()
    );
    let bar = Progress::new(docs.len(), "evaluate");
    let eval = evaluate(
        &trained.task,
        &trained.backbone,
        &docs,
        MetricSet::all(),
        None,
        &bar,
    )?;
    bar.finish();

    let (totals, dropped) = if is_jsonlines(&args.data) {
        let mut prepared: Vec<_> = docs.iter().map(|d| d.prepared.clone()).collect();
        for (doc, clusters) in prepared.iter_mut().zip(&eval.predictions) {
            doc.clusters = clusters
                .iter()
                .map(|c| c.iter().map(|&(s, e)| [s, e]).collect())
                .collect();
        }
        write_jsonlines(&out.join("predictions.jsonlines"), &prepared)?;
        (eval.counts.clone(), 0)
    } else {
        let key = Conll2012Reader::new(&data_cfg.genre_fallback).read(&args.data)?;
        let mut responses: HashMap<String, Vec<Cluster>> = HashMap::new();
        let mut dropped = 0;
        for (doc, clusters) in docs.iter().zip(&eval.predictions) {
            let (words, n) = to_word_clusters(&doc.prepared, clusters);
            dropped += n;
            responses.insert(doc.doc_key.clone(), words);
        }
        let response = out.join("predictions.conll");
        write_with_key(&key, &responses, &response)?;
        let scored = score_files(&args.data, &response, MetricSet::all())?;
        for w in &scored.warnings {
            eprintln!("warning: {w}");
        }
        (scored.totals, dropped)
    };
    print!("{}", text_report(&totals, MetricSet::all()));
    let mut json = serde_json::to_value(JsonReport::new(&totals, MetricSet::all()))?;
    json["loss"] = serde_json::json!(eval.loss);
    json["split"] = serde_json::json!(split);
    json["checkpoint"] = serde_json::json!(trained.checkpoint.display().to_string());
    json["dropped_spans"] = serde_json::json!(dropped);
    fsutil::write_json_atomic(&out.join("scores.json"), &json)?;
    if dropped > 0 {
        println!("{dropped} predicted spans did not cover whole words and were dropped");
    }
    println!(
        "\n{split}: CoNLL F1 {:.2}, loss {:.2}; scores and predictions in {}",
        totals.conll_f1().unwrap_or(0.0) * 100.0,
        eval.loss,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
