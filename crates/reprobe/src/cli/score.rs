//! `reprobe score KEY RESPONSE`: the official CoNLL-2012 coreference scorer (reference v8.01 semantics).
//!
//! Reads both files with the corpus crate's CoNLL-2012 reader (any number of columns, the coreference
//! brackets in the last one), pairs their documents as the reference does, scores every document with
//! `reprobe-metrics` and prints the totals as text close to the reference's output or as one JSON object.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use reprobe_corpus::readers::Conll2012Reader;
use reprobe_corpus::{Document, Span};
use reprobe_metrics::coref::format::{perl_number, perl_percent};
use reprobe_metrics::{
    pair_documents, BlancCounts, CorefCounts, CorefEvaluator, Counts, Metric, MetricSet,
};
use serde::Serialize;

const EXAMPLES: &str = "\
Examples:
  reprobe score key.v4_gold_conll response.conll
  reprobe score key.v4_gold_conll response.conll --metric muc,bcub,ceafe --format json
  reprobe score --task ner gold.conll predicted.conll --format json
  reprobe score --task squad ../shared/data/squad2/dev.json predictions.json --format json
  reprobe score --task semeval2010 ../shared/data/semeval2010_task8/test.txt predictions.txt
  reprobe score --task tacred test.json predictions.txt --format json";

/// Score a response CoNLL-2012 file against a key file with the official coreference metrics.
///
/// The numbers are those of the reference scorer v8.01 (MUC, B3, CEAFm, CEAFe, BLANC) plus LEA, with
/// its rules: documents matched by `#begin document` id and part (a key document missing from the
/// response scores as an empty response, response-only documents are ignored), exact mention
/// boundaries, and a response span repeated in several clusters kept in the cluster read first.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ScoreArgs {
    /// The key (gold) CoNLL-2012 file.
    key: PathBuf,
    /// The response (system output) CoNLL-2012 file.
    response: PathBuf,
    /// Metrics to compute: `all`, or a comma-separated list of muc, bcub, ceafm, ceafe, blanc, lea.
    #[arg(long, default_value = "all", value_parser = parse_metrics)]
    metric: MetricSet,
    /// Output: `text` (close to the reference scorer's) or `json` (one object).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// What the files hold: `coref` (CoNLL-2012 files) or `ner` (column files, token first and IOB2 tag
    /// last, the same sentences in both: entity-level micro and per-type P/R/F1 with tp/fp/fn);
    /// `semeval2010` (`id<TAB>label` lines in any order; the key may be the release file: the official
    /// macro F1 with directionality, accuracy, per relation) or `tacred` (one label per line in the key's
    /// order, or a TACRED JSON key: micro P/R/F1 without no_relation).
    /// `squad` (or `squad2`): a SQuAD 2.0 JSON key and the official `{"id": "answer"}` predictions, scored
    /// with the official exact match and F1 and the HasAns/NoAns split (0–100, the official keys).
    #[arg(long, value_enum, default_value_t = ScoreTask::Coref)]
    task: ScoreTask,
}

/// The tasks `reprobe score` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScoreTask {
    Coref,
    Ner,
    #[value(name = "squad", alias = "squad2")]
    Squad,
    #[value(name = "semeval2010", alias = "semeval")]
    Semeval2010,
    Tacred,
}

/// Output format of `reprobe score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn parse_metrics(spec: &str) -> Result<MetricSet, String> {
    MetricSet::parse(spec).map_err(|e| e.to_string())
}

/// Runs `reprobe score`.
pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    if args.task == ScoreTask::Ner {
        super::sentence_tasks::score_ner(&args.key, &args.response, args.format == Format::Json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.task == ScoreTask::Squad {
        super::qa::score_squad(&args.key, &args.response, args.format == Format::Json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if matches!(args.task, ScoreTask::Semeval2010 | ScoreTask::Tacred) {
        let json = args.format == Format::Json;
        match args.task {
            ScoreTask::Semeval2010 => {
                super::relation::score_semeval(&args.key, &args.response, json)?
            }
            _ => super::relation::score_tacred(&args.key, &args.response, json)?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let scored = score_files(&args.key, &args.response, args.metric)?;
    for warning in &scored.warnings {
        eprintln!("warning: {warning}");
    }
    let out = match args.format {
        Format::Text => text_report(&scored.totals, args.metric),
        Format::Json => {
            serde_json::to_string(&JsonReport::new(&scored.totals, args.metric))? + "\n"
        }
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The result of scoring two files.
pub struct Scored {
    /// Counts summed over the key's documents.
    pub totals: CorefCounts,
    /// One line per document with repeated mentions.
    pub warnings: Vec<String>,
}

/// Reads `key` and `response`, pairs their documents and scores them with `metrics`.
pub fn score_files(key: &Path, response: &Path, metrics: MetricSet) -> anyhow::Result<Scored> {
    // The two files are read in parallel: reading takes most of the time of `reprobe score`.
    let (key_docs, response_docs) = std::thread::scope(|scope| {
        let response_docs = scope.spawn(|| read(response, true));
        let key_docs = read(key, false);
        let response_docs = response_docs
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (key_docs, response_docs)
    });
    let key_docs = key_docs.context("cannot read the key file")?;
    let response_docs = response_docs.context("cannot read the response file")?;
    let mut evaluator = CorefEvaluator::with_metrics(metrics);
    let mut warnings = Vec::new();
    if response_docs.is_empty() {
        warnings.push(format!(
            "the response file {} is empty: scored as predicting nothing (every metric 0), as the \
             reference scorer does",
            response.display()
        ));
    }
    let empty: Vec<Vec<Span>> = Vec::new();
    let pairs = pair_documents(
        key_docs.into_iter().map(|d| ((d.id.clone(), d.part), d)),
        response_docs
            .into_iter()
            .map(|d| ((d.id.clone(), d.part), d)),
    );
    for ((id, part), key_doc, response_doc) in pairs {
        let response_clusters = response_doc.as_ref().map_or(&empty, |d| &d.clusters);
        let doc = evaluator.add_document(&key_doc.clusters, response_clusters);
        let name = format!("({id}); part {part:03}");
        if !doc.repeated_key_mentions.is_empty() {
            warnings.push(format!(
                "{name}: the key repeats {} (kept in every cluster, as the reference scorer does)",
                spans(&doc.repeated_key_mentions)
            ));
        }
        if !doc.repeated_response_mentions.is_empty() {
            let n = doc.repeated_response_mentions.len();
            let refused = if n > 10 {
                " (the reference scorer refuses files with more than 10)"
            } else {
                ""
            };
            warnings.push(format!(
                "{name}: {n} repeated response mention(s) removed, the copy in the cluster read first kept{refused}: {}",
                spans(&doc.repeated_response_mentions)
            ));
        }
    }
    Ok(Scored {
        totals: evaluator.totals(),
        warnings,
    })
}

fn read(path: &Path, allow_empty: bool) -> anyhow::Result<Vec<Document>> {
    // The scorer needs only the last column: accept system files with fewer than the 12 gold columns.
    // An empty (or blank) response is read as no documents; an empty key stays an error.
    Ok(Conll2012Reader::new("bc")
        .min_columns(1)
        .allow_empty(allow_empty)
        .read(path)?
        .into_documents())
}

fn spans(spans: &[Span]) -> String {
    let shown: Vec<String> = spans
        .iter()
        .take(10)
        .map(|s| format!("words {}-{}", s.start, s.end))
        .collect();
    let more = if spans.len() > 10 {
        format!(" and {} more", spans.len() - 10)
    } else {
        String::new()
    };
    shown.join(", ") + &more
}

/// One line of the reference's `ShowRPF`: `Recall: (n / d) r%\tPrecision: (n / d) p%\tF1: f%`.
fn rpf_line(counts: &Counts) -> String {
    format!(
        "Recall: ({} / {}) {}%\tPrecision: ({} / {}) {}%\tF1: {}%",
        perl_number(counts.recall_num),
        perl_number(counts.recall_den),
        perl_percent(counts.recall()),
        perl_number(counts.precision_num),
        perl_number(counts.precision_den),
        perl_percent(counts.precision()),
        perl_percent(counts.f1()),
    )
}

const RULE: &str = "--------------------------------------------------------------------------";

/// The totals in the reference scorer's layout (`scorer.pl all KEY RESPONSE none`), LEA and the CoNLL
/// F1 added at the end.
pub fn text_report(totals: &CorefCounts, metrics: MetricSet) -> String {
    let mut out = String::new();
    for metric in metrics.iter() {
        let _ = writeln!(out, "\nMETRIC {metric}:\n");
        let _ = writeln!(
            out,
            "Identification of Mentions: {}\n{RULE}",
            rpf_line(&totals.mentions)
        );
        if metric == Metric::Blanc {
            let blanc = totals.blanc.unwrap_or_default();
            let s = blanc.scores();
            let _ = writeln!(out, "\nCoreference:");
            let _ = writeln!(out, "Coreference links: {}\n{RULE}", rpf_line(&blanc.coref));
            let _ = writeln!(
                out,
                "Non-coreference links: {}\n{RULE}",
                rpf_line(&blanc.non_coref)
            );
            let _ = writeln!(
                out,
                "BLANC: Recall: ({} / 1) {}%\tPrecision: ({} / 1) {}%\tF1: {}%\n{RULE}",
                perl_number(s.recall),
                perl_percent(s.recall),
                perl_number(s.precision),
                perl_percent(s.precision),
                perl_percent(s.f1),
            );
        } else {
            let counts = totals.get(metric).copied().unwrap_or_default();
            let _ = writeln!(out, "Coreference: {}\n{RULE}", rpf_line(&counts));
        }
    }
    if let Some(conll) = totals.conll_f1() {
        let _ = writeln!(
            out,
            "\nCoNLL F1 (mean of MUC, B3 and CEAFe F1): {:.2}",
            100.0 * conll
        );
    }
    out
}

/// One metric in the JSON output (recall, precision and F1 as fractions in [0, 1]).
#[derive(Debug, Serialize)]
struct JsonMetric {
    recall_num: f64,
    recall_den: f64,
    precision_num: f64,
    precision_den: f64,
    recall: f64,
    precision: f64,
    f1: f64,
}

impl JsonMetric {
    fn new(counts: &Counts) -> Self {
        let s = counts.scores();
        JsonMetric {
            recall_num: counts.recall_num,
            recall_den: counts.recall_den,
            precision_num: counts.precision_num,
            precision_den: counts.precision_den,
            recall: s.recall,
            precision: s.precision,
            f1: s.f1,
        }
    }
}

/// BLANC in the JSON output: recall and precision over 1 (the mean of the two sides, as the reference
/// prints them), F1, and the link counts of each side that the reference prints on its
/// `Coreference links:` and `Non-coreference links:` lines.
#[derive(Debug, Serialize)]
struct JsonBlanc {
    recall_num: f64,
    recall_den: f64,
    precision_num: f64,
    precision_den: f64,
    recall: f64,
    precision: f64,
    f1: f64,
    coref_recall_num: f64,
    coref_recall_den: f64,
    coref_precision_num: f64,
    coref_precision_den: f64,
    noncoref_recall_num: f64,
    noncoref_recall_den: f64,
    noncoref_precision_num: f64,
    noncoref_precision_den: f64,
}

impl JsonBlanc {
    fn new(blanc: &BlancCounts) -> Self {
        let s = blanc.scores();
        JsonBlanc {
            recall_num: s.recall,
            recall_den: 1.0,
            precision_num: s.precision,
            precision_den: 1.0,
            recall: s.recall,
            precision: s.precision,
            f1: s.f1,
            coref_recall_num: blanc.coref.recall_num,
            coref_recall_den: blanc.coref.recall_den,
            coref_precision_num: blanc.coref.precision_num,
            coref_precision_den: blanc.coref.precision_den,
            noncoref_recall_num: blanc.non_coref.recall_num,
            noncoref_recall_den: blanc.non_coref.recall_den,
            noncoref_precision_num: blanc.non_coref.precision_num,
            noncoref_precision_den: blanc.non_coref.precision_den,
        }
    }
}

/// The JSON output: the metrics asked for, then mentions and the CoNLL F1 (0–100) when MUC, B3 and
/// CEAFe are all there. BLANC's `recall_num`/`precision_num` are its recall and precision over 1, as
/// the reference prints them, followed by the link counts of both sides (`coref_*`, `noncoref_*`).
#[derive(Debug, Serialize)]
pub struct JsonReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    muc: Option<JsonMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bcub: Option<JsonMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ceafm: Option<JsonMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ceafe: Option<JsonMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blanc: Option<JsonBlanc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lea: Option<JsonMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mentions: Option<JsonMetric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conll_f1: Option<f64>,
}

impl JsonReport {
    pub fn new(totals: &CorefCounts, metrics: MetricSet) -> Self {
        let metric = |m: Metric| {
            metrics
                .contains(m)
                .then(|| JsonMetric::new(&totals.get(m).copied().unwrap_or_default()))
        };
        let blanc = metrics
            .contains(Metric::Blanc)
            .then(|| JsonBlanc::new(&totals.blanc.unwrap_or_default()));
        let conll = metrics.has_conll();
        JsonReport {
            muc: metric(Metric::Muc),
            bcub: metric(Metric::Bcub),
            ceafm: metric(Metric::Ceafm),
            ceafe: metric(Metric::Ceafe),
            blanc,
            lea: metric(Metric::Lea),
            mentions: conll.then(|| JsonMetric::new(&totals.mentions)),
            conll_f1: totals.conll_f1().filter(|_| conll).map(|f| 100.0 * f),
        }
    }
}
