//! `reprobe predict`: coreference clusters for raw text, CoNLL-2012 or prepared jsonlines, with a trained
//! model.
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;

use reprobe_corpus::readers::conll2012::Conll2012Reader;
use reprobe_corpus::readers::jsonlines::read_jsonlines;
use reprobe_corpus::readers::text::TextReader;
use reprobe_corpus::writers::conll2012::write_with_key;
use reprobe_corpus::{write_atomic, Cluster, PreparedDocument};

use crate::config::TaskKind;
use crate::progress::Progress;
use crate::tasks::coref::data::{is_jsonlines, prepare_all, to_model_document, to_word_clusters};
use crate::tasks::coref::CorefTask;
use crate::train::load::{load_config, load_trained};

/// Predict with a trained model: coreference clusters, entities (NER) or labels (classification).
///
/// NER runs: a column file gives a column file of predicted tags; raw text (one sentence per line) gives
/// JSON lines of entities with their text, type and character offsets. Classification runs: a GLUE TSV
/// (with or without a label column) gives JSON lines with the label and its probability.
///
/// INPUT is raw text (one document per file, or per blank-line-separated block with --blocks; we split
/// sentences and words), a CoNLL-2012 file (`*_gold_conll`, `*.conll`) or prepared `*.jsonlines`. The output
/// is JSON lines, one document per line: `doc_key`, `words`, `sentences` (word index ranges), `clusters`
/// (mentions as word spans with their text; for raw text also their character offsets). With
/// `--format conll` and a CoNLL input, the output is that file with our clusters in its last column, line for
/// line, ready for `reprobe score`.
///
/// Examples:
///   reprobe predict runs/quickstart/2026-11-25_10-00-00 notes.txt --out notes.coref.jsonl
///   reprobe predict runs/probe/x ../shared/data/ontogum/dev.english.v4_gold_conll --format conll --out dev.pred.conll
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PredictArgs {
    /// A run folder (its best checkpoint is used) or a checkpoint folder.
    run: PathBuf,
    /// The documents.
    input: PathBuf,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    format: OutputFormat,
    /// Raw text: one document per blank-line-separated block instead of one per file.
    #[arg(long)]
    blocks: bool,
    /// Run on this device, e.g. `cuda:0`.
    #[arg(long)]
    device: Option<String>,
}

/// Output formats of `reprobe predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// JSON lines with words, sentences and clusters.
    Jsonl,
    /// CoNLL-2012 lined up with a CoNLL input.
    Conll,
}

enum Input {
    Text(Vec<reprobe_corpus::readers::text::TextDocument>),
    Conll(reprobe_corpus::readers::conll2012::ConllFile),
    Jsonl(Vec<PreparedDocument>),
}

fn is_conll(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with("_conll") || name.ends_with(".conll")
}

/// Runs `reprobe predict`.
pub fn run(args: PredictArgs) -> Result<ExitCode> {
    let (resolved, _, _) = load_config(&args.run, args.device.as_deref())?;
    if resolved.config.task != TaskKind::Coref {
        super::sentence_tasks::predict(
            resolved.config.task,
            &args.run,
            &args.input,
            &args.out,
            args.device.as_deref(),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let trained = load_trained::<CorefTask>(&args.run, args.device.as_deref())?;
    let data_cfg = &trained.resolved.config.data;
    let input = if is_jsonlines(&args.input) {
        Input::Jsonl(read_jsonlines(&args.input)?)
    } else if is_conll(&args.input) {
        Input::Conll(Conll2012Reader::new(&data_cfg.genre_fallback).read(&args.input)?)
    } else {
        Input::Text(
            TextReader::new()
                .split_blocks(args.blocks)
                .genre_fallback(&data_cfg.genre_fallback)
                .read(&args.input)?,
        )
    };
    if args.format == OutputFormat::Conll && !matches!(input, Input::Conll(_)) {
        bail!(
            "--format conll needs a CoNLL-2012 input (to line the output up with); {} is not one",
            args.input.display()
        );
    }
    let tokenizer = &trained.backbone.tokenizer;
    let prepared = match &input {
        Input::Jsonl(docs) => docs.clone(),
        Input::Conll(file) => prepare_all(&file.documents(), tokenizer, data_cfg.seg_len)?.0,
        Input::Text(docs) => {
            let words: Vec<_> = docs.iter().map(|d| d.document.clone()).collect();
            prepare_all(&words, tokenizer, data_cfg.seg_len)?.0
        }
    };
    let bar = Progress::new(prepared.len(), "predict");
    let mut clusters_by_doc: Vec<Vec<Cluster>> = Vec::with_capacity(prepared.len());
    let mut dropped = 0;
    for doc in &prepared {
        let model_doc = to_model_document(doc.clone(), tokenizer, data_cfg)?;
        let fwd = trained
            .task
            .forward(&trained.backbone, &model_doc, None, false, false)?;
        let (words, n) = to_word_clusters(doc, &fwd.output.decode()?);
        dropped += n;
        clusters_by_doc.push(words);
        bar.inc();
    }
    bar.finish();
    match (&input, args.format) {
        (Input::Conll(file), OutputFormat::Conll) => {
            let responses: HashMap<String, Vec<Cluster>> = prepared
                .iter()
                .zip(&clusters_by_doc)
                .map(|(d, c)| (d.doc_key.clone(), c.clone()))
                .collect();
            write_with_key(file, &responses, &args.out)?;
        }
        _ => {
            let mut text = String::new();
            for (i, (doc, clusters)) in prepared.iter().zip(&clusters_by_doc).enumerate() {
                let offsets = match &input {
                    Input::Text(docs) => Some(docs[i].char_offsets()),
                    _ => None,
                };
                text.push_str(&serde_json::to_string(&document_json(
                    doc,
                    clusters,
                    offsets.as_deref(),
                ))?);
                text.push('\n');
            }
            write_atomic(&args.out, |w| {
                w.write_all(text.as_bytes())
                    .map_err(|e| reprobe_corpus::Error::Write {
                        path: args.out.clone(),
                        source: e,
                    })
            })
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        }
    }
    let mentions: usize = clusters_by_doc.iter().flatten().map(Vec::len).sum();
    let clusters: usize = clusters_by_doc.iter().map(Vec::len).sum();
    println!(
        "{} documents, {clusters} clusters, {mentions} mentions{} -> {}",
        prepared.len(),
        if dropped > 0 {
            format!(" ({dropped} predicted spans not on word boundaries dropped)")
        } else {
            String::new()
        },
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// One output line: words, sentences as word ranges, clusters with text (and character offsets).
fn document_json(
    doc: &PreparedDocument,
    clusters: &[Cluster],
    char_offsets: Option<&[std::ops::Range<usize>]>,
) -> serde_json::Value {
    let words = &doc.tokens;
    // Sentence boundaries in words, from the sentence id of each word's first subtoken.
    let mut sentences: Vec<[usize; 2]> = Vec::new();
    let mut last: Option<(usize, usize)> = None; // (sentence id, word)
    let flat: Vec<&String> = doc.sentences.iter().flatten().collect();
    for (i, (&word, &sent)) in doc.subtoken_map.iter().zip(&doc.sentence_map).enumerate() {
        if flat.get(i).is_some_and(|t| *t == "[CLS]" || *t == "[SEP]") {
            continue;
        }
        match last {
            Some((s, _)) if s == sent => {}
            _ => sentences.push([word, word]),
        }
        if let Some(cur) = sentences.last_mut() {
            cur[1] = word + 1;
        }
        last = Some((sent, word));
    }
    let clusters: Vec<Vec<serde_json::Value>> = clusters
        .iter()
        .map(|c| {
            c.iter()
                .map(|span| {
                    let text = words
                        .get(span.start..=span.end)
                        .map(|w| w.join(" "))
                        .unwrap_or_default();
                    let mut m = json!({"start": span.start, "end": span.end, "text": text});
                    if let Some(offsets) = char_offsets {
                        if let (Some(a), Some(b)) = (offsets.get(span.start), offsets.get(span.end))
                        {
                            m["char_start"] = json!(a.start);
                            m["char_end"] = json!(b.end);
                        }
                    }
                    m
                })
                .collect()
        })
        .collect();
    json!({"doc_key": doc.doc_key, "words": words, "sentences": sentences, "clusters": clusters})
}
