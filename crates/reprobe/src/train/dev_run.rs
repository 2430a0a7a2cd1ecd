//! `reprobe train --fast-dev-run`: a config checked end to end in seconds, before a long run or a sweep
//! (the seed's `+trainer.fast_dev_run=true`).
//!
//! The run is the real one — [`fit_limited`] with every code path: data reading, the feature cache, two
//! optimiser steps, a dev evaluation, metrics and TensorBoard logs, best/last checkpoints, the test
//! split when `train.eval_test` is on, the run's plots — shrunk to two training examples (documents for
//! coreference) at one per step, two dev (and test) examples (also when the dev split is held out of the
//! training file) and one epoch, in a temporary run folder with its own feature cache. The best checkpoint is then loaded back as `reprobe evaluate`
//! loads a run, and evaluated on the same dev examples. Nothing is kept on disk: the folder is removed,
//! whether the run worked or not, and a summary is printed.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use toml::Value as TomlValue;

use super::fit::{epoch_rng, fit_limited, load_data, RunLog};
use super::load::load_trained;
use crate::config::overrides::{Override, OverrideAction};
use crate::config::{resolve, Resolved};
use crate::progress::Progress;
use crate::run_dir::RunDir;
use crate::tasks::{Scored, Task};

/// Training and dev (and test) examples of a fast dev run.
pub const EXAMPLES: usize = 2;

/// The overrides that shrink a run to one epoch of one example per step, with its feature cache in `tmp`;
/// with `dev_file`, also reading only [`EXAMPLES`] training examples (without one, the dev split is held
/// out of the whole training file first, and [`fit_limited`] takes the examples after that).
fn shrinking_overrides(tmp: &Path, dev_file: bool) -> Vec<Override> {
    let set = |key: &str, value: TomlValue| Override {
        path: key.split('.').map(str::to_string).collect(),
        raw: format!("{key}={value}"),
        action: OverrideAction::Set(value),
    };
    let count = TomlValue::Integer(EXAMPLES as i64);
    let mut overrides = vec![
        set("data.max_eval_docs", count.clone()),
        set("train.batch_size", TomlValue::Integer(1)),
        set("train.max_epochs", TomlValue::Integer(1)),
        set("train.min_epochs", TomlValue::Integer(1)),
        set(
            "cache.dir",
            TomlValue::String(tmp.join("cache").display().to_string()),
        ),
    ];
    if dev_file {
        overrides.push(set("data.max_train_docs", count));
    }
    overrides
}

/// Runs `config` with `overrides` as a fast dev run and prints its summary; returns the summary.
pub fn fast_dev_run(config: &Path, overrides: &[Override]) -> Result<String> {
    let started = Instant::now();
    let tmp = TempFolder::create()?;
    let shrunk = |dev_file: bool| -> Result<Resolved> {
        let mut all = overrides.to_vec();
        all.extend(shrinking_overrides(&tmp.0, dev_file));
        resolve(config, &all)
    };
    let mut resolved = shrunk(false)?;
    if resolved.config.data.dev.is_some() {
        resolved = shrunk(true)?;
    }
    let run_dir = tmp.0.join("run");
    let outcome = fit_limited(&resolved, &run_dir, Some(EXAMPLES)).and_then(|result| {
        let reloaded =
            crate::with_task!(resolved.config.task, T => reload::<T>(&resolved, &run_dir))?;
        summary(config, &resolved, &run_dir, &result, &reloaded)
    });
    let removed = tmp.0.display().to_string();
    tmp.remove()?;
    let mut summary = outcome?;
    summary.push_str(&format!(
        "  took {:.1} s; nothing kept ({removed} removed)\n",
        started.elapsed().as_secs_f64(),
    ));
    print!("{summary}");
    Ok(summary)
}

/// A fresh folder under the system's temporary folder, removed when dropped (on every path out of a
/// fast dev run, errors and panics included).
struct TempFolder(PathBuf);

impl TempFolder {
    fn create() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "reprobe-fast-dev-run-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| {
            format!(
                "cannot create the fast dev run's temporary folder {}",
                dir.display()
            )
        })?;
        Ok(TempFolder(dir))
    }

    /// Removes the folder, reporting a failure (dropping it removes it silently).
    fn remove(mut self) -> Result<()> {
        let dir = std::mem::take(&mut self.0);
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The selection metric's key (`val/f1`) and the dev scores of the run's best checkpoint loaded back
/// from its folder.
fn reload<T: Task>(resolved: &Resolved, run_dir: &Path) -> Result<(String, BTreeMap<String, f64>)> {
    let trained =
        load_trained::<T>(run_dir, None).context("cannot load the saved checkpoint back")?;
    // The dev examples exactly as the run read them (a file, or held out of the training file).
    let log = RunLog::new(run_dir);
    let dev = load_data(resolved, &trained.task, &trained.backbone, &log)?
        .limited(Some(EXAMPLES))
        .dev;
    let bar = Progress::new(dev.len(), "reloaded eval");
    let mut rng = epoch_rng(resolved.config.seed, 0);
    let eval = trained
        .task
        .evaluate(&trained.backbone, &dev, &mut rng, &bar)?;
    bar.finish();
    let key = format!("val/{}", trained.task.selection_metric());
    Ok((key, eval.scores("val")))
}

/// The lines the run prints at the end; an error if the checkpoint loaded back scores otherwise.
fn summary(
    config: &Path,
    resolved: &Resolved,
    run_dir: &Path,
    result: &Value,
    (key, reloaded): &(String, BTreeMap<String, f64>),
) -> Result<String> {
    let metrics = std::fs::read_to_string(RunDir::new(run_dir).metrics())
        .context("the run wrote no metrics.jsonl")?;
    let line: Value = serde_json::from_str(metrics.lines().last().unwrap_or(""))
        .context("metrics.jsonl has no epoch line")?;
    let number = |v: &Value, key: &str| v.get(key).and_then(Value::as_f64);
    let shown = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let mut out = format!(
        "fast dev run of {} (task {}): ok\n  train: {} step(s), train/loss {}\n  dev:   {key} {}, val/loss {}\n",
        config.display(),
        resolved.config.task.name(),
        line.get("step").and_then(Value::as_u64).unwrap_or(0),
        shown(number(&line, "train/loss")),
        shown(number(result, key)),
        shown(number(result, "val/loss")),
    );
    let test_key = key.replacen("val/", "test/", 1);
    if let Some(test) = number(result, &test_key) {
        out.push_str(&format!("  test:  {test_key} {test:.4}\n"));
    }
    let (saved, again) = (number(result, key), reloaded.get(key).copied());
    out.push_str(&format!(
        "  checkpoint: saved and loaded back, {key} {}\n",
        shown(again)
    ));
    // Coreference with crop_at_eval crops long dev documents at random offsets: the two evaluations may
    // then see different crops. Otherwise the same weights on the same examples give the same score.
    if !resolved.config.crop_at_eval() {
        if let (Some(a), Some(b)) = (saved, again) {
            if (a - b).abs() > 1e-6 {
                bail!(
                    "the checkpoint loaded back scores {key} {b}, the run scored {a} with the same weights"
                );
            }
        }
    }
    Ok(out)
}
