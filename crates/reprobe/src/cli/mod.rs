//! Subcommands: one file each.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod embed;

/// Reverse probing: coreference probes over stacks of frozen or tuned transformer encoders.
#[derive(Debug, Parser)]
#[command(name = "reprobe", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write an encoder's hidden states for lines of text or prepared documents to a safetensors file.
    Embed(embed::EmbedArgs),
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Embed(args) => embed::run(args).map(|()| ExitCode::SUCCESS),
    }
}
