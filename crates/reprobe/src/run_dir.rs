//! The run folder: the one place that knows its layout.
//!
//! ```text
//! <run>/config.toml          the fully resolved config
//! <run>/metrics.jsonl        one line of metrics per epoch
//! <run>/result.json          the best epoch's scores; its existence marks a finished run
//! <run>/dev_documents.json   per dev document, the metric counts of the best epoch (coref; for report --baseline)
//! <run>/log.txt              the log lines
//! <run>/labels.json          the label list of a tagging or classification task
//! <run>/checkpoints/<name>/  model.safetensors, config.toml, scores.json (and for `last` the optimiser state)
//! <run>/report/              learning curves
//! <run>/tb/                  TensorBoard event files (one per start of the run)
//! <run>/.lock                held by the process that trains in the folder
//! ```
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The resolved config of a run (also in every checkpoint folder).
pub const CONFIG_FILE: &str = "config.toml";
/// The per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The final result; its existence marks a finished run.
pub const RESULT_FILE: &str = "result.json";
/// Per dev document, the metric counts of the best epoch so far (coreference runs).
pub const DEV_DOCUMENTS_FILE: &str = "dev_documents.json";
/// The log lines.
pub const LOG_FILE: &str = "log.txt";
/// The label list of a tagging or classification task (also in every checkpoint folder).
pub const LABELS_FILE: &str = "labels.json";
/// The checkpoints folder.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The checkpoint with the best selection metric.
pub const BEST_CHECKPOINT: &str = "best";
/// The report folder (plots of the learning curves).
pub const REPORT_DIR: &str = "report";
/// The TensorBoard event files.
pub const TENSORBOARD_DIR: &str = "tb";

/// The paths of one run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run folder at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunDir { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// `metrics.jsonl`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }

    /// `result.json`.
    pub fn result(&self) -> PathBuf {
        self.root.join(RESULT_FILE)
    }

    /// `dev_documents.json`.
    pub fn dev_documents(&self) -> PathBuf {
        self.root.join(DEV_DOCUMENTS_FILE)
    }

    /// `log.txt`.
    pub fn log(&self) -> PathBuf {
        self.root.join(LOG_FILE)
    }

    /// `labels.json`.
    pub fn labels(&self) -> PathBuf {
        self.root.join(LABELS_FILE)
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }

    /// `checkpoints/best/`.
    pub fn best_checkpoint(&self) -> PathBuf {
        self.checkpoints().join(BEST_CHECKPOINT)
    }

    /// `report/`.
    pub fn report(&self) -> PathBuf {
        self.root.join(REPORT_DIR)
    }

    /// `tb/`.
    pub fn tensorboard(&self) -> PathBuf {
        self.root.join(TENSORBOARD_DIR)
    }

    /// Whether the run has finished (`result.json` exists).
    pub fn is_finished(&self) -> bool {
        self.result().exists()
    }

    /// Whether the folder looks like a run folder (it has a `config.toml`).
    pub fn has_config(&self) -> bool {
        self.config().exists()
    }

    /// Takes the exclusive lock of the folder for this process; `Ok(None)` when another process holds it.
    pub fn lock(&self) -> Result<Option<std::fs::File>> {
        let path = self.root.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_folder_cannot_be_locked_twice() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let first = run.lock().unwrap();
        assert!(first.is_some());
        assert!(run.lock().unwrap().is_none());
        drop(first);
        assert!(run.lock().unwrap().is_some());
    }
}
