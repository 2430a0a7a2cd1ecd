//! The training loop of every task (SPEC §3.6, §7): one batch per step (one document for coref), every epoch followed by an evaluation on the
//! dev split, early stopping on `val/f1`, best and last checkpoints, resuming after a kill.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use reprobe_models::optim::OptimizerSet;

use super::backbone::Backbone;
use super::checkpoint::{load_weights, Checkpoints, TrainState};
use crate::config::{LoggerKind, Resolved};
use crate::fsutil;
use crate::progress::Progress;
use crate::report::documents::DevDocuments;
use crate::run_dir::{RunDir, BEST_CHECKPOINT};
use crate::tasks::{Scored, Task};
use crate::tensorboard::EventWriter;

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

/// The splits of a run.
pub struct RunData<E> {
    /// Training examples.
    pub train: Vec<E>,
    /// Dev examples (evaluated every epoch).
    pub dev: Vec<E>,
    /// Test examples, when configured.
    pub test: Option<Vec<E>>,
}

impl<E> RunData<E> {
    /// The first `limit` examples of each split (all of them with `None`).
    pub fn limited(mut self, limit: Option<usize>) -> Self {
        if let Some(n) = limit {
            self.train.truncate(n);
            self.dev.truncate(n);
            if let Some(test) = &mut self.test {
                test.truncate(n);
            }
        }
        self
    }
}

/// Trains the run described by `resolved` in `run_dir`, resuming from its last checkpoint if it has one.
/// Returns the content of `result.json`.
pub fn fit(resolved: &Resolved, run_dir: &Path) -> Result<Value> {
    fit_limited(resolved, run_dir, None)
}

/// [`fit`] on the first `limit` examples of each split, taken after a dev split is held out of the
/// training file (`reprobe train --fast-dev-run`); `None` is [`fit`].
pub fn fit_limited(resolved: &Resolved, run_dir: &Path, limit: Option<usize>) -> Result<Value> {
    crate::with_task!(resolved.config.task, T => fit_task::<T>(resolved, run_dir, limit))
}

fn fit_task<T: Task>(resolved: &Resolved, run_dir: &Path, limit: Option<usize>) -> Result<Value> {
    let cfg = &resolved.config;
    let run = RunDir::new(run_dir);
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create run folder {}", run_dir.display()))?;
    let Some(_lock) = run.lock()? else {
        return Err(RunBusy(run_dir.to_path_buf()).into());
    };
    if run.is_finished() {
        println!(
            "{} already holds a finished run; its result:",
            run_dir.display()
        );
        return fsutil::read_json(&run.result());
    }
    let config_toml = resolved.to_toml();
    let config_path = run.config();
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
    let backbone = Backbone::build(cfg)?;
    let labels = T::training_labels(cfg)?;
    if let Some(labels) = &labels {
        fsutil::write_json_atomic(&run.labels(), labels)?;
        log.line(&format!("labels: {} ({})", labels.len(), labels.join(" ")));
    }
    let task = T::build(cfg, &backbone, labels)?;
    log.line(&format!(
        "model: {} encoder(s) [{}], {} trainable parameters, device {}",
        backbone.stack.ids().len(),
        backbone.stack.ids().join(", "),
        backbone.params.num_elements(),
        cfg.device
    ));
    let data = load_data(resolved, &task, &backbone, &log)?.limited(limit);
    let mut data_rng = epoch_rng(cfg.seed, 1);
    let steps_per_epoch = task.batches(&data.train, &mut data_rng).len();
    let horizon = cfg.train.lr_horizon_epochs.unwrap_or(cfg.train.max_epochs);
    let mut optim = OptimizerSet::with_grouping(
        &backbone.params,
        &cfg.optim,
        horizon * steps_per_epoch,
        backbone.stack.aggregator_in_encoder_group(),
    )?;
    let checkpoints = Checkpoints::new(run_dir).with_labels(task.labels());
    let mut state = match checkpoints.resume(&backbone, &mut optim)? {
        Some(state) => {
            log.line(&format!(
                "resuming after epoch {} (step {})",
                state.epochs_done, state.global_step
            ));
            truncate_metrics(&run.metrics(), state.epochs_done)?;
            state
        }
        None => {
            let _ = std::fs::remove_file(run.metrics());
            let _ = std::fs::remove_dir_all(run.tensorboard());
            TrainState {
                epochs_done: 0,
                global_step: 0,
                best: None,
                epochs_since_best: 0,
                rng: backbone.rng.state(),
                train_seconds: 0.0,
            }
        }
    };
    // TensorBoard: a new event file per start of the run. Epoch metrics go at the epoch's global step under
    // their metrics.jsonl names; per step, `step/train/loss` and `step/lr/<group>`. A resumed run marks
    // where it goes on, so that TensorBoard drops the older file's steps after the checkpoint.
    let mut tb = if cfg.logger.contains(&LoggerKind::Tensorboard) {
        let mut writer = EventWriter::create(&run.tensorboard())?;
        if state.epochs_done > 0 {
            writer.session_start(state.global_step as u64 + 1)?;
        }
        Some(writer)
    } else {
        None
    };
    log.line(&format!(
        "setup took {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    let selection = format!("val/{}", task.selection_metric());
    let unit = task.unit();
    let mut stopped = "max_epochs";
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
        // The batches and crop offsets of an epoch depend only on (seed, epoch), so a resumed run draws
        // them exactly as an uninterrupted one.
        let mut data_rng = epoch_rng(cfg.seed, epoch);
        let batches = task.batches(&data.train, &mut data_rng);
        let bar = Progress::counting(
            batches.len(),
            &format!("epoch {epoch}/{}", cfg.train.max_epochs),
            if unit == "docs" { "docs" } else { "steps" },
        );
        let mut loss_sum = 0.0;
        for (step, batch) in batches.iter().enumerate() {
            let examples: Vec<&T::Example> = batch.iter().map(|&i| &data.train[i]).collect();
            let loss = task.loss(&backbone, &examples, &mut data_rng)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                bail!(
                    "the loss of {} is {value} at epoch {epoch}: lower the learning rates",
                    task.describe(&examples)
                );
            }
            let grads = loss.backward()?;
            optim.clip_and_step(&grads)?;
            state.global_step += 1;
            loss_sum += value;
            if let Some(tb) = tb.as_mut() {
                let mut scalars = vec![("step/train/loss".to_string(), value)];
                for (group, lr) in optim.learning_rates() {
                    scalars.push((format!("step/lr/{group}"), lr));
                }
                tb.add_scalars(state.global_step as u64, &scalars)?;
            }
            bar.inc();
            bar.set_message(format!("loss {:.2}", loss_sum / (step + 1) as f64));
        }
        bar.finish();
        let train_seconds = epoch_start.elapsed().as_secs_f64();

        let eval_bar = Progress::counting(data.dev.len(), &format!("eval {epoch}"), unit);
        let dev = task.evaluate(&backbone, &data.dev, &mut data_rng, &eval_bar)?;
        eval_bar.finish();

        let val = dev.scores("val");
        let score = val.get(&selection).copied().unwrap_or(0.0);
        let improved = state.best.is_none_or(|(_, best)| score > best);
        state.epochs_done = epoch;
        state.train_seconds += train_seconds;
        if improved {
            state.best = Some((epoch, score));
            state.epochs_since_best = 0;
        } else {
            state.epochs_since_best += 1;
        }
        let mut line = BTreeMap::new();
        line.insert("epoch".to_string(), json!(epoch));
        line.insert("step".to_string(), json!(state.global_step));
        line.insert(
            "train/loss".to_string(),
            json!(loss_sum / batches.len().max(1) as f64),
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
            format!("train/{unit}_per_s"),
            json!(data.train.len() as f64 / train_seconds),
        );
        for (group, lr) in optim.learning_rates() {
            line.insert(format!("lr/{group}"), json!(lr));
        }
        fsutil::append_jsonl(&run.metrics(), &line)?;
        if let Some(tb) = tb.as_mut() {
            let scalars: Vec<(String, f64)> = line
                .iter()
                .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                .collect();
            tb.add_scalars(state.global_step as u64, &scalars)?;
            tb.flush()?;
        }
        log.line(&format!(
            "epoch {epoch:>3}/{}  {}{}{}",
            cfg.train.max_epochs,
            task.epoch_line(&line),
            if improved { "  *best*" } else { "" },
            state
                .best
                .filter(|_| !improved)
                .map(|(e, f)| format!("  (best {f:.4} at epoch {e})"))
                .unwrap_or_default()
        ));
        if epoch == 1 || epoch == cfg.train.max_epochs {
            if let Some(cache) = backbone.stack.cache_summary() {
                log.line(&format!("  {cache}"));
            }
        }

        state.rng = backbone.rng.state();
        let scores = json!(line);
        if improved {
            checkpoints.save_weights(BEST_CHECKPOINT, &backbone, &scores, &config_toml)?;
            // The best epoch's per-document counts, for `reprobe report --baseline`'s bootstrap.
            if let Some(documents) = dev.document_counts() {
                let documents = documents.to_vec();
                DevDocuments { epoch, documents }.write(&run.dev_documents())?;
            }
        }
        if cfg.train.keep_every_epoch {
            checkpoints.save_weights(
                &format!("epoch_{epoch:03}"),
                &backbone,
                &scores,
                &config_toml,
            )?;
        }
        checkpoints.save_last(&backbone, &optim, &state, &config_toml)?;
    }

    let Some((best_epoch, _)) = state.best else {
        bail!("no epoch was completed");
    };
    let best_scores: Value =
        fsutil::read_json(&checkpoints.dir(BEST_CHECKPOINT).join("scores.json"))?;
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
        load_weights(&backbone, &checkpoints.dir(BEST_CHECKPOINT))?;
        let bar = Progress::new(test.len(), "test");
        let mut test_rng = epoch_rng(cfg.seed, 0);
        let eval = task.evaluate(&backbone, test, &mut test_rng, &bar)?;
        bar.finish();
        for (k, v) in eval.scores("test") {
            result.insert(k, json!(v));
        }
    }
    let result = Value::Object(result);
    fsutil::write_json_atomic(&run.result(), &result)?;
    // The learning curves of this run as a picture (a failure to draw is not a failed run).
    match crate::report::load_runs(&[run_dir.to_path_buf()]).and_then(|(runs, _)| {
        crate::report::write_report(
            &runs,
            &[],
            &crate::report::ReportOptions::plots_of(&selection),
            &run.report(),
        )
    }) {
        Ok(_) => {}
        Err(e) => log.line(&format!("warning: no plots for this run: {e:#}")),
    }
    log.line(&format!(
        "\nfinished ({stopped}): best epoch {best_epoch} of {}\n{}  training time {:.1} min; run folder {}",
        state.epochs_done,
        task.final_scores(&result),
        state.train_seconds / 60.0,
        run_dir.display()
    ));
    Ok(result)
}

/// The random stream of the data of one epoch (shuffling, crop offsets): a function of the seed and the
/// epoch only.
pub(crate) fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Whether a run folder's saved config describes the same run as `table`: equal up to the device, which a
/// resumed run may change (a sweep job can land on another GPU), and the loggers.
fn same_run_config(saved: &str, table: &toml::Table) -> bool {
    let Ok(mut saved) = saved.parse::<toml::Table>() else {
        return false;
    };
    let mut table = table.clone();
    // `logger` does not change the run either (and configs older than it lack it).
    for key in ["device", "logger"] {
        saved.remove(key);
        table.remove(key);
    }
    saved == table
}

/// Reads the splits of the run with the task's reader.
pub fn load_data<T: Task>(
    resolved: &Resolved,
    task: &T,
    backbone: &Backbone,
    log: &RunLog,
) -> Result<RunData<T::Example>> {
    let data = &resolved.config.data;
    let Some(train_path) = &data.train else {
        bail!("`data.train` is not set")
    };
    let load = |path: &PathBuf, limit: Option<usize>, what: &str| -> Result<Vec<T::Example>> {
        let (examples, summary) = task
            .read_split(backbone, path, limit)
            .with_context(|| format!("cannot load the {what} split"))?;
        log.line(&format!("{what}: {summary}"));
        Ok(examples)
    };
    let mut train = load(train_path, data.max_train_docs, "train")?;
    let dev = match &data.dev {
        Some(dev_path) => load(dev_path, data.max_eval_docs, "dev")?,
        None => match task.held_out_dev(&mut train) {
            Some(dev) => {
                log.line(&format!(
                    "dev: {} examples held out of the training file ({} left to train on)",
                    dev.len(),
                    train.len()
                ));
                dev
            }
            None => bail!("`data.dev` is not set"),
        },
    };
    let test = match (&data.test, resolved.config.train.eval_test) {
        (Some(path), true) => Some(load(path, data.max_eval_docs, "test")?),
        _ => None,
    };
    Ok(RunData { train, dev, test })
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

/// Prints a line and appends it to the run folder's `log.txt`.
pub struct RunLog {
    path: PathBuf,
}

impl RunLog {
    /// The log of `run_dir`.
    pub fn new(run_dir: &Path) -> Self {
        RunLog {
            path: RunDir::new(run_dir).log(),
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
        let p = RunDir::new(dir.path()).metrics();
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
