//! The `reprobe` command line.
//!
//! Exit codes: 0 success; 1 a runtime error (a missing or malformed data file, a failed sweep job, a model that
//! does not load); 2 a usage error: the command line itself (clap's errors) or the user's config and overrides
//! (an unknown key, a malformed `key=value`, an invalid value; [`reprobe::config::InputError`]).
use std::process::ExitCode;

use clap::Parser;

// The head allocates large short-lived buffers every step; mimalloc reuses them instead of faulting in fresh
// pages from the system each time (measured: system time per training step 0.6 s → 0.3 s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the same enum position in its v2 and v3; libmimalloc-sys has no name for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed pages for reuse instead of returning them to the system after mimalloc's purge delay (1 s): a
/// training step takes longer than that, so every step would fault in and zero its buffers again (measured on the
/// frozen OntoGUM MiniLM run: 12% of the step in the kernel's page clearing; 0.45 → 0.52 docs/s without purging).
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide allocator option; mimalloc reads it on every purge and allows it at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    }
}

/// Runs candle's own element-wise kernels (additions, the few ops that are not fused) on the calling thread.
/// Candle keeps a second pool of spinning threads for them beside rayon's, which the matrix products and
/// the fused ops use; on a small machine the two pools take the cores from each other (measured on 2 cores,
/// `reprobe bench`: tuned MiniLM on WNUT-17 +13–20 % examples/s, tuned coref on OntoGUM +7 % docs/s).
/// `CANDLE_NUM_THREADS` in the environment still wins.
fn single_candle_pool() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // Before any other thread exists: nothing reads the environment concurrently.
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

fn main() -> ExitCode {
    single_candle_pool();
    keep_freed_pages();
    let args = reprobe::cli::Cli::parse();
    match reprobe::cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if reprobe::config::is_input_error(&err) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
