//! Progress of long work: an indicatif bar (rate and ETA) on a terminal, and a plain line about once a minute
//! otherwise (sweep job logs, `nohup`), so a log always shows where a run is.
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(60);

/// A counter of documents (or other units) with a bar or plain lines.
pub struct Progress {
    bar: ProgressBar,
    plain: Option<Mutex<Instant>>,
    prefix: String,
    unit: &'static str,
    started: Instant,
}

impl Progress {
    /// Progress over `len` documents, labelled `prefix` (e.g. `epoch 3/27`).
    pub fn new(len: usize, prefix: &str) -> Self {
        Self::counting(len, prefix, "docs")
    }

    /// Progress that shows nothing (benchmarks).
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            plain: None,
            prefix: String::new(),
            unit: "docs",
            started: Instant::now(),
        }
    }

    /// Progress over `len` things called `unit` (`docs`, `steps`, `examples`).
    pub fn counting(len: usize, prefix: &str, unit: &'static str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            Some(len as u64),
            if terminal { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
        )
        .with_style(
            ProgressStyle::with_template(&format!(
                "{{prefix:>12}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit} {{per_sec}} ETA {{eta}} {{msg}}"
            ))
            .expect("static template"),
        );
        bar.set_prefix(prefix.to_string());
        Progress {
            bar,
            plain: (!terminal).then(|| Mutex::new(Instant::now())),
            prefix: prefix.to_string(),
            unit,
            started: Instant::now(),
        }
    }

    /// One more document (unit) done.
    pub fn inc(&self) {
        self.bar.inc(1);
        if let Some(last) = &self.plain {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= PLAIN_EVERY {
                *last = Instant::now();
                let done = self.bar.position();
                let len = self.bar.length().unwrap_or(done).max(1);
                let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                let eta = (len - done) as f64 / rate.max(1e-9);
                let unit = self.unit;
                eprintln!(
                    "{}: {done}/{len} {unit}, {rate:.2} {unit}/s, ETA {:.0} s {}",
                    self.prefix,
                    eta,
                    self.bar.message()
                );
            }
        }
    }

    /// The text after the counter (e.g. the running loss).
    pub fn set_message(&self, msg: String) {
        self.bar.set_message(msg);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
