//! A run's per-document dev counts (`dev_documents.json`): the metric counts of every dev document at the
//! run's best epoch, written by training each time the selection metric improves. They are what the paired
//! bootstrap of `reprobe report --baseline` resamples (coreference runs only: CoNLL F1 is a corpus-level
//! metric, recomputed from counts summed over documents, never an average of per-document F1s).
use std::path::Path;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use reprobe_metrics::CorefCounts;

use crate::fsutil;

/// The counts of one dev document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentCounts {
    /// The document's key (`doc_key` of the jsonlines, `#begin document` name and part of CoNLL).
    pub doc_key: String,
    /// Its counts of every metric (numerators and denominators, summed over documents for corpus scores).
    pub counts: CorefCounts,
}

/// The content of `dev_documents.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevDocuments {
    /// The epoch the counts come from (the best epoch once the run has finished).
    pub epoch: usize,
    /// The documents in dev-file order.
    pub documents: Vec<DocumentCounts>,
}

impl DevDocuments {
    /// Writes the file atomically, one line (a dev set of hundreds of documents stays a few hundred kB).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_vec(self)?;
        text.push(b'\n');
        fsutil::write_atomic(path, &text)
    }

    /// Reads the file of a finished run and checks that it belongs to the run's result: the same epoch as
    /// `best_epoch`, and CoNLL F1 of its summed counts equal to `val_f1` (within 1e-9).
    pub fn read_checked(path: &Path, best_epoch: usize, val_f1: f64) -> Result<DevDocuments> {
        let docs: DevDocuments = fsutil::read_json(path)?;
        if docs.epoch != best_epoch {
            bail!(
                "{} holds epoch {} but the run's best epoch is {best_epoch}",
                path.display(),
                docs.epoch
            );
        }
        let mut total = CorefCounts::default();
        for d in &docs.documents {
            total.add(&d.counts);
        }
        match total.conll_f1() {
            Some(f1) if (f1 - val_f1).abs() <= 1e-9 => Ok(docs),
            Some(f1) => bail!(
                "{}: the CoNLL F1 of its counts is {f1}, the run's val/f1 is {val_f1}",
                path.display()
            ),
            None => bail!("{} lacks MUC, B³ or CEAFe counts", path.display()),
        }
    }
}
