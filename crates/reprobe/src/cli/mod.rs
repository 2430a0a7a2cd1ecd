//! Subcommands: one file each.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod score;

/// Reverse probing: coreference probes over stacks of frozen or tuned transformer encoders.
#[derive(Debug, Parser)]
#[command(name = "reprobe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score a response CoNLL-2012 file against a key file (the official coreference metrics).
    Score(score::ScoreArgs),
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Score(args) => score::run(args),
    }
}
