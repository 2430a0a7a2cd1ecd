//! Makes the CoNLL files of the golden scorer fixtures (used by `scripts/golden/scorer_golden.sh`).
//!
//! ```text
//! conll_fixture synth SEED NUM_DOCS OUT              a synthetic key file
//! conll_fixture perturb KEY SEED MAX_REPEATS DOCS OUT a response made from KEY (DOCS: 1 = also drop one
//!                                                    document, add an extra one and reorder)
//! ```
//! The perturbation is the one the tests and the benchmark apply (`tests/util/conll.rs`).
#[path = "../tests/util/conll.rs"]
mod conll;

use std::process::ExitCode;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("conll_fixture: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let number = |s: &str| s.parse::<u64>().map_err(|e| format!("`{s}`: {e}"));
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["synth", seed, num_docs, out] => {
            let text = conll::synthetic_key(number(seed)?, number(num_docs)? as usize);
            std::fs::write(out, text).map_err(|e| format!("cannot write {out}: {e}"))
        }
        ["perturb", key, seed, max_repeats, docs, out] => {
            let key_text =
                std::fs::read_to_string(key).map_err(|e| format!("cannot read {key}: {e}"))?;
            let perturbation = conll::Perturbation {
                seed: number(seed)?,
                max_repeats: number(max_repeats)? as usize,
                documents: *docs == "1",
            };
            let text =
                conll::perturb_file(&key_text, perturbation).map_err(|e| format!("{key}: {e}"))?;
            std::fs::write(out, text).map_err(|e| format!("cannot write {out}: {e}"))
        }
        _ => Err(
            "usage: conll_fixture synth SEED NUM_DOCS OUT | perturb KEY SEED MAX_REPEATS DOCS OUT"
                .into(),
        ),
    }
}
