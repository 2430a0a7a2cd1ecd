//! Loading a trained model back from a run folder or a checkpoint folder.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::backbone::Backbone;
use super::checkpoint::{load_weights, WEIGHTS_FILE};
use crate::config::overrides::parse_override;
use crate::config::{load::apply_overrides, resolve_table, Resolved};
use crate::fsutil;
use crate::run_dir::{RunDir, CONFIG_FILE, LABELS_FILE};
use crate::tasks::Task;

/// A model with trained weights and the config it was trained with.
pub struct TrainedModel<T> {
    /// The encoders and aggregator, weights loaded.
    pub backbone: Backbone,
    /// The task with its head, weights loaded.
    pub task: T,
    /// The run's resolved config.
    pub resolved: Resolved,
    /// The checkpoint folder the weights came from.
    pub checkpoint: PathBuf,
    /// The run folder (where evaluation outputs go by default).
    pub run_dir: PathBuf,
}

/// The checkpoint folder of `path`: a run folder's `checkpoints/best/`, or `path` itself when it holds
/// the weights.
pub fn find_checkpoint(path: &Path) -> Result<(PathBuf, PathBuf)> {
    if path.join(WEIGHTS_FILE).exists() {
        // checkpoints/<name>/ → the run folder is two levels up.
        let run_dir = path
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| path.to_path_buf());
        return Ok((path.to_path_buf(), run_dir));
    }
    let best = RunDir::new(path).best_checkpoint();
    if best.join(WEIGHTS_FILE).exists() {
        return Ok((best, path.to_path_buf()));
    }
    bail!(
        "{} is neither a run folder with checkpoints/best/ nor a checkpoint folder with {WEIGHTS_FILE} (has the run finished an epoch?)",
        path.display()
    )
}

/// The resolved config of a run or checkpoint folder (`device` overrides the device), with the folders.
pub fn load_config(path: &Path, device: Option<&str>) -> Result<(Resolved, PathBuf, PathBuf)> {
    let (checkpoint, run_dir) = find_checkpoint(path)?;
    let config_path = checkpoint.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let mut table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", config_path.display()))?;
    let overrides = match device {
        Some(d) => vec![parse_override(&format!("device={d}"))?],
        None => vec![],
    };
    apply_overrides(&mut table, &overrides)?;
    let resolved = resolve_table(table, &config_path.display().to_string(), &overrides)?;
    Ok((resolved, checkpoint, run_dir))
}

/// Builds the model of a run or checkpoint folder for task `T` and loads its weights (and labels).
pub fn load_trained<T: Task>(path: &Path, device: Option<&str>) -> Result<TrainedModel<T>> {
    let (resolved, checkpoint, run_dir) = load_config(path, device)?;
    let labels_path = checkpoint.join(LABELS_FILE);
    let labels: Option<Vec<String>> = if labels_path.exists() {
        Some(fsutil::read_json(&labels_path)?)
    } else {
        None
    };
    let backbone = Backbone::build(&resolved.config)?;
    let task = T::build(&resolved.config, &backbone, labels)?;
    load_weights(&backbone, &checkpoint)?;
    Ok(TrainedModel {
        backbone,
        task,
        resolved,
        checkpoint,
        run_dir,
    })
}
