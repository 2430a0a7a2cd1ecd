//! Checkpoints of a run folder: `checkpoints/last/` (weights, optimiser state, loop state and random
//! stream, for resuming) and `checkpoints/best/` (the weights with the best `val/f1`, for evaluation).
//!
//! A checkpoint folder is written under a temporary name and then swapped in, so a kill at any moment
//! leaves either the old or the new checkpoint, never a mix (`last.old` is picked up if a kill fell
//! between the two renames).
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use reprobe_models::optim::OptimizerSet;
use reprobe_models::rng::RngState;

use super::backbone::Backbone;
use crate::fsutil;
use crate::run_dir::{CHECKPOINTS_DIR, CONFIG_FILE, LABELS_FILE};

/// File of the weights in a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File of the loop state in a checkpoint folder.
pub const STATE_FILE: &str = "state.json";

/// Where the training loop is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub global_step: usize,
    /// The best epoch so far (1-based) and its `val/f1`.
    pub best: Option<(usize, f64)>,
    /// Epochs since the best one.
    pub epochs_since_best: usize,
    /// The model's random stream after the last completed epoch.
    pub rng: RngState,
    /// Seconds spent training so far (epochs completed).
    pub train_seconds: f64,
}

/// The checkpoint folders of a run folder.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    root: PathBuf,
    labels: Option<Vec<String>>,
}

impl Checkpoints {
    /// The `checkpoints/` folder of `run_dir`.
    pub fn new(run_dir: &Path) -> Self {
        Checkpoints {
            root: run_dir.join(CHECKPOINTS_DIR),
            labels: None,
        }
    }

    /// Every checkpoint written also holds the task's label list (`labels.json`).
    pub fn with_labels(mut self, labels: Option<&[String]>) -> Self {
        self.labels = labels.map(<[String]>::to_vec);
        self
    }

    /// `checkpoints/<name>/`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The last checkpoint's folder, if a complete one exists.
    pub fn last(&self) -> Option<PathBuf> {
        ["last", "last.old"]
            .iter()
            .map(|n| self.root.join(n))
            .find(|d| d.join(STATE_FILE).exists() && d.join(WEIGHTS_FILE).exists())
    }

    /// Writes `checkpoints/last/`: weights, optimiser state and loop state.
    pub fn save_last(
        &self,
        model: &Backbone,
        optim: &OptimizerSet,
        state: &TrainState,
        config_toml: &str,
    ) -> Result<()> {
        self.save_dir("last", |dir| {
            model.params.save(&dir.join(WEIGHTS_FILE))?;
            optim.save(dir)?;
            fsutil::write_json_atomic(&dir.join(STATE_FILE), state)?;
            fsutil::write_atomic(&dir.join(CONFIG_FILE), config_toml.as_bytes())
        })
    }

    /// Writes `checkpoints/<name>/` with the weights, the config and the scores of that epoch.
    pub fn save_weights(
        &self,
        name: &str,
        model: &Backbone,
        scores: &serde_json::Value,
        config_toml: &str,
    ) -> Result<()> {
        self.save_dir(name, |dir| {
            model.params.save(&dir.join(WEIGHTS_FILE))?;
            fsutil::write_json_atomic(&dir.join("scores.json"), scores)?;
            fsutil::write_atomic(&dir.join(CONFIG_FILE), config_toml.as_bytes())
        })
    }

    /// Restores weights, optimiser and random stream from the last checkpoint; returns the loop state.
    pub fn resume(&self, model: &Backbone, optim: &mut OptimizerSet) -> Result<Option<TrainState>> {
        let Some(dir) = self.last() else {
            return Ok(None);
        };
        let state: TrainState = fsutil::read_json(&dir.join(STATE_FILE))?;
        model
            .params
            .load(&dir.join(WEIGHTS_FILE))
            .with_context(|| format!("cannot resume from {}", dir.display()))?;
        optim
            .load(&dir)
            .with_context(|| format!("cannot resume from {}", dir.display()))?;
        model.rng.restore(state.rng);
        Ok(Some(state))
    }

    fn save_dir(&self, name: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        let target = self.root.join(name);
        let tmp = self.root.join(format!("{name}.tmp"));
        let old = self.root.join(format!("{name}.old"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)
                .with_context(|| format!("cannot remove {}", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        write(&tmp)?;
        if let Some(labels) = &self.labels {
            fsutil::write_json_atomic(&tmp.join(LABELS_FILE), labels)?;
        }
        if old.exists() {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("cannot remove {}", old.display()))?;
        }
        if target.exists() {
            std::fs::rename(&target, &old)
                .with_context(|| format!("cannot move {}", target.display()))?;
        }
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot move {} into place", tmp.display()))?;
        if old.exists() {
            std::fs::remove_dir_all(&old)
                .with_context(|| format!("cannot remove {}", old.display()))?;
        }
        Ok(())
    }
}

/// Loads the weights of a checkpoint folder (or of a run folder's best checkpoint) into `model`.
pub fn load_weights(model: &Backbone, dir: &Path) -> Result<()> {
    let path = dir.join(WEIGHTS_FILE);
    if !path.exists() {
        bail!(
            "{} has no {WEIGHTS_FILE}: is it a checkpoint folder?",
            dir.display()
        );
    }
    model
        .params
        .load(&path)
        .with_context(|| format!("cannot load the weights of {}", dir.display()))
}
