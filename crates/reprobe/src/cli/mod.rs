//! Subcommands: one file each.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod prepare;

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
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Prepare(args) => prepare::run(args).map(|()| ExitCode::SUCCESS),
    }
}
