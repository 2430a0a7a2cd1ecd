//! The `reprobe` command line.
use std::process::ExitCode;

use clap::Parser;

// The head allocates large short-lived buffers every step; mimalloc reuses them instead of faulting in fresh
// pages from the system each time (measured: system time per training step 0.6 s → 0.3 s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
