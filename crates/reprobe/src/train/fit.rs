//! The training loop (SPEC §3.6, §7): one document per step, every epoch followed by an evaluation on the
//! dev split, early stopping on `val/f1`, best and last checkpoints, resuming after a kill.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use reprobe_metrics::MetricSet;
use reprobe_models::optim::OptimizerSet;

use super::checkpoint::{load_weights, Checkpoints, TrainState};
use super::data::{load_split, ModelDocument};
use super::evaluate::evaluate;
use super::model::CorefModel;
use crate::config::Resolved;
use crate::fsutil;
use crate::progress::Progress;
use crate::sweep::runner::{lock_job, RESULT_FILE};

/// File of the per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// The error of a run folder in which another process is training.
#[derive(Debug)]
pub struct RunBusy(pub PathBuf);

impl std::fmt::Display for RunBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "another reprobe process is training in {}",
            self.0.display()
        )
    }
}

impl std::error::Error for RunBusy {}

/// The documents of a run.
pub struct RunData {
    /// Training documents.
    pub train: Vec<ModelDocument>,
    /// Dev documents (evaluated every epoch).
    pub dev: Vec<ModelDocument>,
    /// Test documents, when configured.
    pub test: Option<Vec<ModelDocument>>,
}

/// Trains the run described by `resolved` in `run_dir`, resuming from its last checkpoint if it has one.
/// Returns the content of `result.json`.
pub fn fit(resolved: &Resolved, run_dir: &Path) -> Result<Value> {
    let cfg = &resolved.config;
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create run folder {}", run_dir.display()))?;
    let Some(_lock) = lock_job(run_dir)? else {
        return Err(RunBusy(run_dir.to_path_buf()).into());
    };
    let result_path = run_dir.join(RESULT_FILE);
    if result_path.exists() {
        println!(
            "{} already holds a finished run; its result:",
            run_dir.display()
        );
        return fsutil::read_json(&result_path);
    }
    let config_toml = resolved.to_toml();
    let config_path = run_dir.join("config.toml");
    if config_path.exists() {
        let existing = std::fs::read_to_string(&config_path)
            .with_context(|| format!("cannot read {}", config_path.display()))?;
        if !same_run_config(&existing, &resolved.table)
            && Checkpoints::new(run_dir).last().is_some()
        {
            bail!(
                "{} holds a run with another config; resume it with `reprobe train {}` (no overrides) or use another --run-dir",
                run_dir.display(),
                config_path.display()
            );
        }
    }
    fsutil::write_atomic(&config_path, config_toml.as_bytes())?;
    let log = RunLog::new(run_dir);

    let started = Instant::now();
    let model = CorefModel::build(cfg)?;
    log.line(&format!(
        "model: {} encoder(s) [{}], {} trainable parameters, device {}",
        model.stack.ids().len(),
        model.stack.ids().join(", "),
        model.params.num_elements(),
        cfg.device
    ));
    let data = load_data(resolved, &model, &log)?;
    let steps_per_epoch = data.train.len();
    let horizon = cfg.train.lr_horizon_epochs.unwrap_or(cfg.train.max_epochs);
    let mut optim = OptimizerSet::with_grouping(
        &model.params,
        &cfg.optim,
        horizon * steps_per_epoch,
        model.stack.aggregator_in_encoder_group(),
    )?;
    let checkpoints = Checkpoints::new(run_dir);
    let mut state = match checkpoints.resume(&model, &mut optim)? {
        Some(state) => {
            log.line(&format!(
                "resuming after epoch {} (step {})",
                state.epochs_done, state.global_step
            ));
            truncate_metrics(&run_dir.join(METRICS_FILE), state.epochs_done)?;
            state
        }
        None => {
            let _ = std::fs::remove_file(run_dir.join(METRICS_FILE));
            TrainState {
                epochs_done: 0,
                global_step: 0,
                best: None,
                epochs_since_best: 0,
                rng: model.rng.state(),
                train_seconds: 0.0,
            }
        }
    };
    log.line(&format!(
        "setup took {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    let mut stopped = "max_epochs";
    let max_segments = cfg.head.max_training_sentences;
    while state.epochs_done < cfg.train.max_epochs {
        if cfg.train.patience > 0
            && state.epochs_since_best >= cfg.train.patience
            && state.epochs_done >= cfg.train.min_epochs
        {
            stopped = "early_stopping";
            break;
        }
        let epoch = state.epochs_done + 1;
        let epoch_start = Instant::now();
        // The order and crop offsets of an epoch depend only on (seed, epoch), so a resumed run draws them
        // exactly as an uninterrupted one.
        let mut data_rng = ChaCha8Rng::seed_from_u64(
            cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let mut order: Vec<usize> = (0..data.train.len()).collect();
        order.shuffle(&mut data_rng);
        let bar = Progress::new(
            data.train.len(),
            &format!("epoch {epoch}/{}", cfg.train.max_epochs),
        );
        let mut loss_sum = 0.0;
        for (step, &i) in order.iter().enumerate() {
            let doc = &data.train[i];
            let crop = (doc.segments.len() > max_segments).then(|| {
                (
                    max_segments,
                    data_rng.random_range(0..=doc.segments.len() - max_segments),
                )
            });
            let fwd = model.forward(doc, crop, true, true)?;
            let Some(loss) = fwd.output.loss else {
                bail!(
                    "the head returned no loss for training document {}",
                    doc.doc_key
                )
            };
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                bail!(
                    "the loss of document {} is {value} at epoch {epoch}: lower the learning rates",
                    doc.doc_key
                );
            }
            let grads = loss.backward()?;
            optim.clip_and_step(&grads)?;
            state.global_step += 1;
            loss_sum += value;
            bar.inc();
            bar.set_message(format!("loss {:.2}", loss_sum / (step + 1) as f64));
        }
        bar.finish();
        let train_seconds = epoch_start.elapsed().as_secs_f64();

        let eval_bar = Progress::new(data.dev.len(), &format!("eval {epoch}"));
        let offsets = eval_crop_offsets(&data.dev, max_segments, &mut data_rng);
        let crop = resolved
            .config
            .crop_at_eval()
            .then_some((max_segments, offsets.as_slice()));
        let dev = evaluate(&model, &data.dev, MetricSet::all(), crop, &eval_bar)?;
        eval_bar.finish();

        let val = dev.scores("val");
        let f1 = val.get("val/f1").copied().unwrap_or(0.0);
        let improved = state.best.is_none_or(|(_, best)| f1 > best);
        state.epochs_done = epoch;
        state.train_seconds += train_seconds;
        if improved {
            state.best = Some((epoch, f1));
            state.epochs_since_best = 0;
        } else {
            state.epochs_since_best += 1;
        }
        let mut line = BTreeMap::new();
        line.insert("epoch".to_string(), json!(epoch));
        line.insert("step".to_string(), json!(state.global_step));
        line.insert(
            "train/loss".to_string(),
            json!(loss_sum / data.train.len() as f64),
        );
        for (k, v) in &val {
            line.insert(k.clone(), json!(v));
        }
        line.insert("time/train_s".to_string(), json!(train_seconds));
        line.insert(
            "time/epoch_s".to_string(),
            json!(epoch_start.elapsed().as_secs_f64()),
        );
        line.insert(
            "train/docs_per_s".to_string(),
            json!(data.train.len() as f64 / train_seconds),
        );
        for (group, lr) in optim.learning_rates() {
            line.insert(format!("lr/{group}"), json!(lr));
        }
        fsutil::append_jsonl(&run_dir.join(METRICS_FILE), &line)?;
        log.line(&epoch_summary(
            epoch,
            cfg.train.max_epochs,
            &line,
            state.best,
            improved,
        ));
        if epoch == 1 || epoch == cfg.train.max_epochs {
            if let Some(cache) = model.stack.cache_summary() {
                log.line(&format!("  {cache}"));
            }
        }

        state.rng = model.rng.state();
        let scores = json!(line);
        if improved {
            checkpoints.save_weights("best", &model, &scores, &config_toml)?;
        }
        if cfg.train.keep_every_epoch {
            checkpoints.save_weights(
                &format!("epoch_{epoch:03}"),
                &model,
                &scores,
                &config_toml,
            )?;
        }
        checkpoints.save_last(&model, &optim, &state, &config_toml)?;
    }

    let Some((best_epoch, _)) = state.best else {
        bail!("no epoch was completed");
    };
    let best_scores: Value = fsutil::read_json(&checkpoints.dir("best").join("scores.json"))?;
    let mut result = serde_json::Map::new();
    result.insert("best_epoch".into(), json!(best_epoch));
    result.insert("epochs_run".into(), json!(state.epochs_done));
    result.insert("stopped".into(), json!(stopped));
    result.insert("seed".into(), json!(cfg.seed));
    result.insert("train_time_s".into(), json!(state.train_seconds));
    if let Some(obj) = best_scores.as_object() {
        for (k, v) in obj {
            if k.starts_with("val/") {
                result.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(test) = &data.test {
        load_weights(&model, &checkpoints.dir("best"))?;
        let bar = Progress::new(test.len(), "test");
        let eval = evaluate(&model, test, MetricSet::all(), None, &bar)?;
        bar.finish();
        for (k, v) in eval.scores("test") {
            result.insert(k, json!(v));
        }
    }
    let result = Value::Object(result);
    fsutil::write_json_atomic(&result_path, &result)?;
    // The learning curves of this run as a picture (a failure to draw is not a failed run).
    match crate::report::load_runs(&[run_dir.to_path_buf()]).and_then(|(runs, _)| {
        crate::report::write_report(&runs, &[], "val/f1", &run_dir.join("report"))
    }) {
        Ok(_) => {}
        Err(e) => log.line(&format!("warning: no plots for this run: {e:#}")),
    }
    log.line(&final_summary(run_dir, &result));
    Ok(result)
}

/// Whether a run folder's saved config describes the same run as `table`: equal up to the device, which a
/// resumed run may change (a sweep job can land on another GPU).
fn same_run_config(saved: &str, table: &toml::Table) -> bool {
    let Ok(mut saved) = saved.parse::<toml::Table>() else {
        return false;
    };
    let mut table = table.clone();
    saved.remove("device");
    table.remove("device");
    saved == table
}

/// Reads the splits of the run with the model's tokenizer.
pub fn load_data(resolved: &Resolved, model: &CorefModel, log: &RunLog) -> Result<RunData> {
    let data = &resolved.config.data;
    let Some(train_path) = &data.train else {
        bail!("`data.train` is not set")
    };
    let Some(dev_path) = &data.dev else {
        bail!("`data.dev` is not set")
    };
    let load = |path: &PathBuf, limit: Option<usize>, what: &str| -> Result<Vec<ModelDocument>> {
        let split = load_split(path, &model.tokenizer, data, limit)
            .with_context(|| format!("cannot load the {what} split"))?;
        let subtokens: usize = split.docs.iter().map(ModelDocument::num_subtokens).sum();
        let segments: usize = split.docs.iter().map(|d| d.segments.len()).sum();
        log.line(&format!(
            "{what}: {} documents, {segments} segments, {subtokens} subtokens ({})",
            split.docs.len(),
            path.display()
        ));
        Ok(split.docs)
    };
    let train = load(train_path, data.max_train_docs, "train")?;
    let dev = load(dev_path, data.max_eval_docs, "dev")?;
    let test = match (&data.test, resolved.config.train.eval_test) {
        (Some(path), true) => Some(load(path, data.max_eval_docs, "test")?),
        _ => None,
    };
    Ok(RunData { train, dev, test })
}

/// Crop offsets for evaluation documents (only used with the `crop_at_eval` compatibility option).
fn eval_crop_offsets(
    docs: &[ModelDocument],
    max_segments: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<usize> {
    docs.iter()
        .map(|d| {
            if d.segments.len() > max_segments {
                rng.random_range(0..=d.segments.len() - max_segments)
            } else {
                0
            }
        })
        .collect()
}

/// Keeps the first `epochs` lines of a metrics file (a resumed run redoes the epochs after its checkpoint).
fn truncate_metrics(path: &Path, epochs: usize) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v.get("epoch").and_then(Value::as_u64))
                .is_some_and(|e| e as usize <= epochs)
        })
        .collect();
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    fsutil::write_atomic(path, out.as_bytes())
}

fn epoch_summary(
    epoch: usize,
    max: usize,
    line: &BTreeMap<String, Value>,
    best: Option<(usize, f64)>,
    improved: bool,
) -> String {
    let get = |k: &str| line.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    format!(
        "epoch {epoch:>3}/{max}  train/loss {:>9.2}  val/loss {:>9.2}  val/f1 {:.4} (MUC {:.4} B3 {:.4} CEAFe {:.4}; mentions {:.4})  {:.1} docs/s{}{}",
        get("train/loss"),
        get("val/loss"),
        get("val/f1"),
        get("val/muc_f1"),
        get("val/bcub_f1"),
        get("val/ceafe_f1"),
        get("val/mention_f1"),
        get("train/docs_per_s"),
        if improved { "  *best*" } else { "" },
        best.filter(|_| !improved).map(|(e, f)| format!("  (best {f:.4} at epoch {e})")).unwrap_or_default()
    )
}

fn final_summary(run_dir: &Path, result: &Value) -> String {
    let get = |k: &str| result.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN) * 100.0;
    let mut out = format!(
        "\nfinished ({}): best epoch {} of {}\n  dev CoNLL F1 {:.2}  (MUC {:.2}  B3 {:.2}  CEAFe {:.2}  CEAFm {:.2}  LEA {:.2}; mentions P {:.2} R {:.2} F1 {:.2})\n",
        result.get("stopped").and_then(Value::as_str).unwrap_or("?"),
        result.get("best_epoch").and_then(Value::as_u64).unwrap_or(0),
        result.get("epochs_run").and_then(Value::as_u64).unwrap_or(0),
        get("val/f1"),
        get("val/muc_f1"),
        get("val/bcub_f1"),
        get("val/ceafe_f1"),
        get("val/ceafm_f1"),
        get("val/lea_f1"),
        get("val/mention_precision"),
        get("val/mention_recall"),
        get("val/mention_f1"),
    );
    if result.get("test/f1").is_some() {
        out.push_str(&format!("  test CoNLL F1 {:.2}\n", get("test/f1")));
    }
    out.push_str(&format!(
        "  training time {:.1} min; run folder {}",
        result
            .get("train_time_s")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            / 60.0,
        run_dir.display()
    ));
    out
}

/// Prints a line and appends it to the run folder's `log.txt`.
pub struct RunLog {
    path: PathBuf,
}

impl RunLog {
    /// The log of `run_dir`.
    pub fn new(run_dir: &Path) -> Self {
        RunLog {
            path: run_dir.join("log.txt"),
        }
    }

    /// Prints `text` and appends it to the log (a failure to log is not fatal).
    pub fn line(&self, text: &str) {
        println!("{text}");
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            let _ = writeln!(f, "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_may_resume_on_another_device() {
        let table: toml::Table = "seed = 1\ndevice = \"cuda:0\"\n[train]\nmax_epochs = 2\n"
            .parse()
            .unwrap();
        assert!(same_run_config(
            "seed = 1\ndevice = \"cuda:1\"\n[train]\nmax_epochs = 2\n",
            &table
        ));
        assert!(!same_run_config(
            "seed = 2\ndevice = \"cuda:0\"\n[train]\nmax_epochs = 2\n",
            &table
        ));
        assert!(!same_run_config("not toml [", &table));
    }

    #[test]
    fn truncating_metrics_keeps_completed_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(METRICS_FILE);
        for e in 1..=4 {
            fsutil::append_jsonl(&p, &json!({"epoch": e})).unwrap();
        }
        truncate_metrics(&p, 2).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"epoch\":1}\n{\"epoch\":2}\n"
        );
    }
}
