//! Times what `reprobe score KEY RESPONSE --metric all` does, in process: read both CoNLL files with
//! the corpus reader, pair the documents, score every metric, sum. KEY is each shared dev file,
//! RESPONSE a perturbed copy made here (the golden fixtures' perturbation, seed 1, written to a
//! temporary file so that reading it is timed too). Skips with a message when `../shared` is absent.
//!
//! `cargo bench -p reprobe-metrics` (plain `harness = false` timing: best and median of 30 runs, or
//! `REPROBE_BENCH_RUNS`); under `cargo test --all-targets` it runs once, as a smoke test.
#[path = "../tests/util/conll.rs"]
mod conll;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reprobe_corpus::readers::Conll2012Reader;
use reprobe_corpus::{Document, Span};
use reprobe_metrics::{pair_documents, CorefEvaluator, MetricSet};

fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("REPROBE_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    dir.join("data").is_dir().then_some(dir)
}

/// One `score --metric all`: returns the CoNLL F1 so the work cannot be optimised away.
fn score(key: &Path, response: &Path) -> f64 {
    let (key_docs, response_docs) = read(key, response);
    score_documents(key_docs, response_docs)
}

/// Reads both files in parallel, as `reprobe score` does.
fn read(key: &Path, response: &Path) -> (Vec<Document>, Vec<Document>) {
    let read_one = |path: &Path| {
        Conll2012Reader::new("bc")
            .min_columns(1)
            .read(path)
            .expect("readable CoNLL file")
            .into_documents()
    };
    std::thread::scope(|scope| {
        let response_docs = scope.spawn(|| read_one(response));
        let key_docs = read_one(key);
        (key_docs, response_docs.join().expect("reader thread"))
    })
}

fn score_documents(key_docs: Vec<Document>, response_docs: Vec<Document>) -> f64 {
    let mut evaluator = CorefEvaluator::with_metrics(MetricSet::all());
    let empty: Vec<Vec<Span>> = Vec::new();
    let pairs = pair_documents(
        key_docs.into_iter().map(|d| ((d.id.clone(), d.part), d)),
        response_docs
            .into_iter()
            .map(|d| ((d.id.clone(), d.part), d)),
    );
    for (_, key_doc, response_doc) in pairs {
        let response_clusters = response_doc.as_ref().map_or(&empty, |d| &d.clusters);
        evaluator.add_document(&key_doc.clusters, response_clusters);
    }
    evaluator.conll_f1().expect("conll f1")
}

fn main() {
    let Some(shared) = shared_dir() else {
        eprintln!("SKIP: ../shared/data is absent (set REPROBE_SHARED_DIR); nothing to benchmark");
        return;
    };
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this once as a smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let runs: usize = std::env::var("REPROBE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 30 } else { 1 });
    let tmp = std::env::temp_dir().join(format!("reprobe-metrics-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    for corpus in ["ontogum", "litbank"] {
        let key = shared.join(format!("data/{corpus}/dev.english.v4_gold_conll"));
        let key_text = std::fs::read_to_string(&key).expect("key");
        let perturbed = conll::perturb_file(
            &key_text,
            conll::Perturbation {
                seed: 1,
                max_repeats: 6,
                documents: true,
            },
        )
        .expect("perturb");
        let response = tmp.join(format!("{corpus}-dev.response"));
        std::fs::write(&response, perturbed).expect("write response");
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut conll_f1 = 0.0;
        score(&key, &response); // warm the page cache
        for _ in 0..runs {
            let start = Instant::now();
            conll_f1 = score(&key, &response);
            times.push(start.elapsed());
        }
        // The two halves: reading both files, and scoring the documents read.
        let mut read_times: Vec<Duration> = Vec::with_capacity(runs);
        let mut score_times: Vec<Duration> = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let (key_docs, response_docs) = read(&key, &response);
            read_times.push(start.elapsed());
            let start = Instant::now();
            conll_f1 = score_documents(key_docs, response_docs);
            score_times.push(start.elapsed());
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let summary = |times: &mut Vec<Duration>| {
            times.sort();
            format!(
                "best {:.2} ms, median {:.2} ms",
                ms(times[0]),
                ms(times[runs / 2])
            )
        };
        println!(
            "score --metric all, {corpus} dev vs perturbed copy ({} KB): {} over {runs} runs (CoNLL F1 {:.2}); \
             reading both files {}, scoring {}",
            key_text.len() / 1024,
            summary(&mut times),
            100.0 * conll_f1,
            summary(&mut read_times),
            summary(&mut score_times),
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
