//! Loading a trained model back from a run folder or a checkpoint folder.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::checkpoint::{load_weights, WEIGHTS_FILE};
use super::model::CorefModel;
use crate::config::overrides::parse_override;
use crate::config::{load::apply_overrides, resolve_table, Resolved};

/// A model with trained weights and the config it was trained with.
pub struct TrainedModel {
    /// The model, weights loaded.
    pub model: CorefModel,
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
    let best = path.join("checkpoints").join("best");
    if best.join(WEIGHTS_FILE).exists() {
        return Ok((best, path.to_path_buf()));
    }
    bail!(
        "{} is neither a run folder with checkpoints/best/ nor a checkpoint folder with {WEIGHTS_FILE} (has the run finished an epoch?)",
        path.display()
    )
}

/// Builds the model of a run or checkpoint folder and loads its weights; `device` overrides the device.
pub fn load_trained(path: &Path, device: Option<&str>) -> Result<TrainedModel> {
    let (checkpoint, run_dir) = find_checkpoint(path)?;
    let config_path = checkpoint.join("config.toml");
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
    let model = CorefModel::build(&resolved.config)?;
    load_weights(&model, &checkpoint)?;
    Ok(TrainedModel {
        model,
        resolved,
        checkpoint,
        run_dir,
    })
}
