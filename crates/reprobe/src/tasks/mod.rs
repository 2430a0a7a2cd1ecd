//! The tasks a run can train, behind one interface that the training loop, checkpoints, `evaluate`,
//! `bench`, sweeps and reports use without knowing which task runs.
//!
//! ```text
//! split file ──read_split──► examples ──batches──► loss (head over the backbone) ──► optimiser
//!                                     └─evaluate─► named scores (`f1`, `loss`, …) + predictions
//! ```
//!
//! A task is its head (in `reprobe-models`), its reader (in `reprobe-corpus`), its metric (in
//! `reprobe-metrics`), one file here and its configs. Adding one means a variant of
//! [`crate::config::TaskKind`] and one arm in [`with_task!`].
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::config::RunConfig;
use crate::progress::Progress;
use crate::train::backbone::Backbone;

pub mod batch;
pub mod coref;
pub mod ner;
pub mod pair;
pub mod qa;
pub mod relation;

/// What a task does for the training loop and the commands.
pub trait Task: Sized {
    /// One unit of data: a document (coref), a sentence window (ner) or a text pair (classification).
    type Example: Send + Sync;
    /// The outcome of an evaluation: scores and predictions.
    type Evaluation: Scored;

    /// The label list read from the training split (`None` for tasks without labels). A trained model keeps
    /// it in `labels.json`.
    fn training_labels(cfg: &RunConfig) -> Result<Option<Vec<String>>>;

    /// Special tokens the task adds to the tokenizer before the encoders are loaded (relation
    /// classification's entity markers); every encoder's word embeddings grow to hold them. Default: none.
    fn added_tokens(_cfg: &RunConfig) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Adds the task's head to the backbone's parameter store (after the aggregator, so that initial
    /// draws follow the stack's).
    fn build(cfg: &RunConfig, backbone: &Backbone, labels: Option<Vec<String>>) -> Result<Self>;

    /// The label list of the head, if it has one.
    fn labels(&self) -> Option<&[String]>;

    /// Reads a split file with the backbone's tokenizer; the string is a one-line summary for the log.
    fn read_split(
        &self,
        backbone: &Backbone,
        path: &Path,
        limit: Option<usize>,
    ) -> Result<(Vec<Self::Example>, String)>;

    /// Without `data.dev`: holds a dev split out of the training examples (removed from `train`) and
    /// returns it, or `None` (the default) when the task needs `data.dev`.
    fn held_out_dev(&self, _train: &mut Vec<Self::Example>) -> Option<Vec<Self::Example>> {
        None
    }

    /// The examples of each optimiser step of one epoch, drawn from `rng` (seeded by run seed and epoch).
    fn batches(&self, examples: &[Self::Example], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>>;

    /// The training loss of one batch (dropout on). May draw from `rng` (coref's crop offsets).
    fn loss(
        &self,
        backbone: &Backbone,
        batch: &[&Self::Example],
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor>;

    /// A name for a batch in error messages.
    fn describe(&self, batch: &[&Self::Example]) -> String;

    /// Evaluates (no dropout, no gradient) on `examples`. May draw from `rng` (coref's crop offsets).
    fn evaluate(
        &self,
        backbone: &Backbone,
        examples: &[Self::Example],
        rng: &mut ChaCha8Rng,
        progress: &Progress,
    ) -> Result<Self::Evaluation>;

    /// The score (without prefix) that picks the best epoch and drives early stopping. Default `f1`.
    fn selection_metric(&self) -> &'static str {
        "f1"
    }

    /// What one example is called in rates (`docs` for documents, `examples` otherwise).
    fn unit(&self) -> &'static str {
        "examples"
    }

    /// The console line of one epoch (from its `metrics.jsonl` line).
    fn epoch_line(&self, line: &BTreeMap<String, Value>) -> String;

    /// The scores part of the final summary (from `result.json`).
    fn final_scores(&self, result: &Value) -> String;
}

/// An evaluation's scores under a prefix (`val`, `test`).
pub trait Scored {
    /// `{prefix}/f1`, `{prefix}/loss`, …
    fn scores(&self, prefix: &str) -> BTreeMap<String, f64>;

    /// The metric counts of each document, from which `f1` is recomputed for the paired bootstrap of
    /// `reprobe report --baseline` (coreference; `None` for tasks without them).
    fn document_counts(&self) -> Option<&[crate::report::documents::DocumentCounts]> {
        None
    }
}

/// A metric of a JSON object (`result.json`) as a percentage (NaN when absent).
pub fn percent(values: &Value, key: &str) -> f64 {
    values.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN) * 100.0
}

/// Runs `$body` with `$T` bound to the task type of `$kind` (a [`crate::config::TaskKind`]).
#[macro_export]
macro_rules! with_task {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            $crate::config::TaskKind::Coref => {
                type $T = $crate::tasks::coref::CorefTask;
                $body
            }
            $crate::config::TaskKind::Ner => {
                type $T = $crate::tasks::ner::NerTask;
                $body
            }
            $crate::config::TaskKind::PairClassification => {
                type $T = $crate::tasks::pair::PairTask;
                $body
            }
            $crate::config::TaskKind::ExtractiveQa => {
                type $T = $crate::tasks::qa::QaTask;
                $body
            }
            $crate::config::TaskKind::RelationClassification => {
                type $T = $crate::tasks::relation::RelationTask;
                $body
            }
        }
    };
}
