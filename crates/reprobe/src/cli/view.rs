//! `reprobe view`: one self-contained HTML page of coreference or NER predictions and their errors.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::fsutil;
use crate::view::input::TaskChoice;

const EXAMPLES: &str = "\
Examples:
  reprobe view runs/probe/x/eval/dev --key ../shared/data/ontogum/dev.english.v4_gold_conll --out dev.html
  reprobe view notes.coref.jsonl --out notes.html
  reprobe view runs/ner/x/eval/dev/predictions.conll --key ../shared/data/wnut17/dev.conll --out ner.html
  open dev.html#doc=3    (document 3 alone under the table)";

/// Write one HTML page of coreference or NER predictions, with their errors against a key.
///
/// Coreference: each document's text with the mentions as bracketed spans coloured by cluster (nested
/// mentions nest), the key's and the prediction's side by side, and the errors marked: missed and
/// spurious mentions, wrong links (a mention attached only to mentions of other entities), split and
/// merged clusters; a table of the documents, sortable by CoNLL F1, with MUC, B³ and CEAFe per document
/// (the totals are those of `reprobe score KEY PREDICTIONS`). Click a mention to highlight its cluster.
///
/// NER: sentences with their entities coloured by type, key and prediction side by side, errors
/// marked (missed, spurious, wrong type, wrong boundary), in sections of --sentences sentences with
/// their entity P/R/F1.
///
/// INPUT is what `reprobe evaluate` (its output folder, or the predictions.conll or
/// predictions.jsonlines in it) or `reprobe predict` writes: CoNLL-2012, coref-hoi jsonlines,
/// `predict` JSON lines, NER column files. Several inputs are shown one after the other. The format is
/// read from the content (see --task). The page holds its style and script: it opens from disk, sends
/// nothing anywhere and reads with JavaScript off (sorting and highlighting need it).
#[derive(Debug, Args)]
#[command(verbatim_doc_comment, after_help = EXAMPLES)]
pub struct ViewArgs {
    /// Prediction files, or `reprobe evaluate` output folders.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The gold file (CoNLL-2012 or coref-hoi jsonlines for coreference; a column file or CoNLL-2012
    /// for NER); repeat for several. Documents are matched by name, sentences in order.
    #[arg(long, value_name = "FILE")]
    key: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE.html")]
    out: PathBuf,
    /// Read the files as coreference or NER; `auto` tells from the content (a CoNLL-2012 file is read
    /// as coreference, its NER column with `ner`).
    #[arg(long, value_enum, default_value_t = TaskChoice::Auto)]
    task: TaskChoice,
    /// NER: sentences per section of the page.
    #[arg(long, default_value_t = 50, value_name = "N")]
    sentences: usize,
    /// The page's title; default: the first input's name.
    #[arg(long)]
    title: Option<String>,
}

/// Runs `reprobe view`.
pub fn run(args: ViewArgs) -> Result<ExitCode> {
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let keys: Vec<&Path> = args.key.iter().map(PathBuf::as_path).collect();
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| format!("reprobe view: {}", args.inputs[0].display()));
    let page = crate::view::render(&inputs, &keys, args.task, args.sentences, &title)?;
    fsutil::write_atomic(&args.out, page.html.as_bytes())?;
    println!(
        "{} -> {} ({:.1} KB)",
        page.summary,
        args.out.display(),
        page.html.len() as f64 / 1024.0
    );
    Ok(ExitCode::SUCCESS)
}
