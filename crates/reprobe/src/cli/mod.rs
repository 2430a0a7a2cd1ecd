//! Subcommands: one file each.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod embed;
mod evaluate;
pub mod export;
mod predict;
mod prepare;
mod qa;
mod relation;
mod report;
pub mod score;
mod sentence_tasks;
mod sweep;
mod train;
mod view;

/// Reverse probing: coreference probes and source tasks (NER, sentence-pair classification) over stacks of
/// frozen or tuned transformer encoders.
#[derive(Debug, Parser)]
#[command(name = "reprobe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tokenize and segment CoNLL-2012 files into coref-hoi jsonlines.
    Prepare(prepare::PrepareArgs),
    /// Train and evaluate a coreference probe or a source task (one run, or a sweep with --multirun).
    Train(train::TrainArgs),
    /// Score a trained model on a file with the official metrics (CoNLL-2012 for coref, NER or classification).
    Evaluate(evaluate::EvaluateArgs),
    /// Predict with a trained model: coreference clusters, entities or labels.
    Predict(predict::PredictArgs),
    /// Score a response file against a key file (coreference metrics, or NER entity scores with --task ner).
    Score(score::ScoreArgs),
    // About and long help (the comparison with --baseline, examples): ReportArgs's doc comment.
    Report(report::ReportArgs),
    /// Export a trained run as a Hugging Face model folder (transformers loads it).
    Export(export::ExportArgs),
    /// Resume a sweep, run one of its jobs, or show its state.
    Sweep(sweep::SweepArgs),
    /// Measure training and evaluation speed of a config.
    Bench(bench::BenchArgs),
    /// Write an encoder's hidden states for lines of text or prepared documents to a safetensors file.
    Embed(embed::EmbedArgs),
    /// One HTML page of coreference or NER predictions with their errors against a key.
    View(view::ViewArgs),
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Prepare(args) => prepare::run(args).map(|()| ExitCode::SUCCESS),
        Command::Train(args) => train::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Score(args) => score::run(args),
        Command::Report(args) => report::run(args),
        Command::Export(args) => export::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Embed(args) => embed::run(args).map(|()| ExitCode::SUCCESS),
        Command::View(args) => view::run(args),
    }
}
