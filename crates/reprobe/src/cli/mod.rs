//! Subcommands: one file each.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod predict;
mod prepare;
mod sweep;
mod train;

/// Reverse probing: coreference probes over stacks of frozen or tuned transformer encoders.
#[derive(Debug, Parser)]
#[command(name = "reprobe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Prepare(prepare::PrepareArgs),
    Train(train::TrainArgs),
    Predict(predict::PredictArgs),
    Sweep(sweep::SweepArgs),
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Prepare(args) => prepare::run(args).map(|()| ExitCode::SUCCESS),
        Command::Train(args) => train::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Sweep(args) => sweep::run(args),
    }
}
