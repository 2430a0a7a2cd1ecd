//! `reprobe prepare`: CoNLL-2012 files → coref-hoi jsonlines (SPEC §6), one output per input.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use reprobe_corpus::writers::jsonlines::write_jsonlines;
use reprobe_corpus::{
    prepare_document, read_conll2012, PrepareStats, PreparedDocument, SubwordTokenizer,
};

/// Tokenize and segment CoNLL-2012 files into coref-hoi `*.jsonlines` (the reference preprocessing).
///
/// Each INPUT (`*_gold_conll` / `*.conll`) gives `OUT/<name>.<seg-len>.jsonlines`, where `<name>` is the
/// file name up to `.v4_gold_conll`, `_gold_conll` or `.conll` (`dev.english.v4_gold_conll` →
/// `dev.english.384.jsonlines`). Every input is read and prepared before anything is written; files are
/// written under a temporary name and renamed, so an error leaves no partial output.
///
/// Example:
///   reprobe prepare ../shared/data/ontogum/dev.english.v4_gold_conll \
///       --tokenizer ../shared/tokenizers/bert-base-cased --seg-len 384 --out data/ontogum.384
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PrepareArgs {
    /// CoNLL-2012 files (12 columns; several parts per file allowed).
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Tokenizer folder: tokenizer.json, or vocab.txt with an optional tokenizer_config.json.
    #[arg(long, value_name = "DIR")]
    tokenizer: PathBuf,
    /// Segment length in subtokens, [CLS] and [SEP] included (the paper uses 384).
    #[arg(long, value_name = "N", default_value_t = 384)]
    seg_len: usize,
    /// Output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Genre of documents whose id does not start with an OntoNotes genre (bc bn mz nw pt tc wb).
    #[arg(long, value_name = "GENRE", default_value = "bc")]
    genre_fallback: String,
}

/// The output file name for `input`: the name up to `.v4_gold_conll` / `_gold_conll` / `.conll`, then
/// `.{seg_len}.jsonlines` (as the reference names its outputs).
pub fn output_name(input: &Path, seg_len: usize) -> anyhow::Result<String> {
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a file name in UTF-8", input.display()))?;
    let stem = [".v4_gold_conll", "_gold_conll", ".conll"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    Ok(format!("{stem}.{seg_len}.jsonlines"))
}

fn summary(stats: &PrepareStats) -> String {
    let mut line = format!(
        "{} documents, {} segments, {} subtokens, {} mentions, {} clusters, {} merged",
        stats.documents,
        stats.segments,
        stats.subtokens,
        stats.mentions,
        stats.clusters,
        stats.merged_clusters
    );
    if stats.empty_words > 0 {
        line.push_str(&format!(", {} empty words as [UNK]", stats.empty_words));
    }
    if stats.token_end_splits > 0 {
        line.push_str(&format!(
            ", {} segments cut at a word end",
            stats.token_end_splits
        ));
    }
    if stats.forced_splits > 0 {
        line.push_str(&format!(
            ", {} segments cut inside a word",
            stats.forced_splits
        ));
    }
    line
}

/// Runs `reprobe prepare`.
pub fn run(args: PrepareArgs) -> anyhow::Result<()> {
    if args.seg_len < 3 {
        bail!(
            "--seg-len {} is too small: a segment needs [CLS], [SEP] and at least one subtoken",
            args.seg_len
        );
    }
    let tokenizer = SubwordTokenizer::from_dir(&args.tokenizer).with_context(|| {
        format!(
            "cannot load the tokenizer from {}",
            args.tokenizer.display()
        )
    })?;

    // Output names first, so that a clash fails before any work.
    let mut outputs: Vec<PathBuf> = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        let out = args.out.join(output_name(input, args.seg_len)?);
        if let Some(pos) = outputs.iter().position(|o| *o == out) {
            bail!(
                "{} and {} would both be written to {}",
                args.inputs[pos].display(),
                input.display(),
                out.display()
            );
        }
        outputs.push(out);
    }

    let mut inputs = Vec::with_capacity(args.inputs.len());
    for input in &args.inputs {
        let docs = read_conll2012(input, &args.genre_fallback)
            .with_context(|| format!("cannot read {}", input.display()))?;
        inputs.push(docs);
    }
    let total_docs: usize = inputs.iter().map(Vec::len).sum();
    let bar = ProgressBar::new(total_docs as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} documents, {per_sec}, ETA {eta}")
            .context("progress bar template")?,
    );

    let mut prepared: Vec<(Vec<PreparedDocument>, PrepareStats)> = Vec::with_capacity(inputs.len());
    for (input, docs) in args.inputs.iter().zip(&inputs) {
        let results: Vec<(PreparedDocument, PrepareStats)> = docs
            .par_iter()
            .map(|doc| {
                let out = prepare_document(doc, &tokenizer, args.seg_len);
                bar.inc(1);
                out
            })
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot prepare {}", input.display()))?;
        let mut stats = PrepareStats::default();
        let mut docs_out = Vec::with_capacity(results.len());
        for (doc, doc_stats) in results {
            stats += doc_stats;
            docs_out.push(doc);
        }
        prepared.push((docs_out, stats));
    }
    bar.finish_and_clear();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let mut total = PrepareStats::default();
    for ((docs, stats), out) in prepared.into_iter().zip(&outputs) {
        write_jsonlines(out, &docs).with_context(|| format!("cannot write {}", out.display()))?;
        for warning in &stats.warnings {
            eprintln!("warning: {warning}");
        }
        println!("{}: {}", out.display(), summary(&stats));
        total += stats;
    }
    if outputs.len() > 1 {
        println!("total: {}", summary(&total));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_follow_the_reference() {
        let name = |p: &str| output_name(Path::new(p), 384).unwrap();
        assert_eq!(
            name("data/dev.english.v4_gold_conll"),
            "dev.english.384.jsonlines"
        );
        assert_eq!(name("train_gold_conll"), "train.384.jsonlines");
        assert_eq!(name("/x/test.conll"), "test.384.jsonlines");
        assert_eq!(name("notes.txt"), "notes.txt.384.jsonlines");
    }
}
