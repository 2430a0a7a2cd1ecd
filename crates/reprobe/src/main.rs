//! The `reprobe` command line.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = reprobe::cli::Cli::parse();
    match reprobe::cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
