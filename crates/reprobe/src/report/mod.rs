//! `reprobe report`: the summary table over one or more sweeps (or single runs), regrouped by any config key,
//! and the plots: learning curves, a bar chart of the table, attention weights per encoder over epochs, and the
//! score over the truncation layer when a sweep varies a `truncate` key; with a baseline setting, the
//! difference of every setting to it with its confidence interval and test (`compare`, `significance`);
//! and all of it as one self-contained HTML page (`html`).
pub mod compare;
pub mod documents;
pub mod html;
pub mod plots;
pub mod significance;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::load::get_path;
use crate::fsutil;
use crate::run_dir::{RunDir, RESULT_FILE};
use crate::sweep::summary::{summarize, RunResult, Summary};
use crate::sweep::{display_value, is_seed_key, Sweep, SWEEP_FILE};
use compare::{BaselineOptions, Significance};

/// Metric columns shown first in tables, in this order.
pub const PREFERRED_METRICS: &[&str] = &[
    "val/f1",
    "val/muc_f1",
    "val/bcub_f1",
    "val/ceafe_f1",
    "val/mention_f1",
    "val/loss",
    "test/f1",
    "best_epoch",
];

/// One run found in a sweep (or given directly).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The run folder.
    pub dir: PathBuf,
    /// Its resolved config.
    pub config: toml::Table,
    /// The swept assignment (empty for a run given directly).
    pub assignment: Vec<(String, String)>,
    /// Numeric entries of `result.json`; `None` while the run is unfinished.
    pub result: Option<BTreeMap<String, f64>>,
    /// Numeric entries of each line of `metrics.jsonl`, in order.
    pub epochs: Vec<BTreeMap<String, f64>>,
}

/// Reads every run of the given folders: a sweep folder (with `sweep.json`) gives its jobs, a run folder (with
/// `config.toml`) itself.
pub fn load_runs(dirs: &[PathBuf]) -> Result<(Vec<RunRecord>, Vec<String>)> {
    let mut runs = Vec::new();
    let mut swept: Vec<String> = Vec::new();
    for dir in dirs {
        if dir.join(SWEEP_FILE).exists() {
            let sweep = Sweep::load(dir)?;
            for key in &sweep.swept_keys {
                if !swept.contains(key) {
                    swept.push(key.clone());
                }
            }
            for (i, job) in sweep.jobs.iter().enumerate() {
                runs.push(load_run(&sweep.job_dir(dir, i), job.assignment.clone())?);
            }
        } else if RunDir::new(dir).has_config() {
            runs.push(load_run(dir, vec![])?);
        } else {
            bail!(
                "{} is neither a sweep folder (no {SWEEP_FILE}) nor a run folder (no config.toml)",
                dir.display()
            );
        }
    }
    Ok((runs, swept))
}

fn load_run(dir: &Path, assignment: Vec<(String, String)>) -> Result<RunRecord> {
    let run = RunDir::new(dir);
    let config_path = run.config();
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let config: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", config_path.display()))?;
    let result_path = run.result();
    let result = if result_path.exists() {
        Some(numeric(&fsutil::read_json::<serde_json::Value>(
            &result_path,
        )?))
    } else {
        None
    };
    let metrics_path = run.metrics();
    let mut epochs = Vec::new();
    if metrics_path.exists() {
        let text = std::fs::read_to_string(&metrics_path)
            .with_context(|| format!("cannot read {}", metrics_path.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            // A line cut by a kill mid-write is the only bad line possible (appends are synced); skip it.
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(v) => epochs.push(numeric(&v)),
                Err(_) => eprintln!(
                    "warning: {}:{}: unreadable line skipped",
                    metrics_path.display(),
                    i + 1
                ),
            }
        }
    }
    Ok(RunRecord {
        dir: dir.to_path_buf(),
        config,
        assignment,
        result,
        epochs,
    })
}

fn numeric(value: &serde_json::Value) -> BTreeMap<String, f64> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of a dotted key in a run: its swept assignment, else its resolved config.
pub fn key_value(run: &RunRecord, key: &str) -> String {
    if let Some((_, v)) = run.assignment.iter().find(|(k, _)| k == key) {
        return v.clone();
    }
    let path: Vec<String> = key.split('.').map(str::to_string).collect();
    get_path(&run.config, &path)
        .map(display_value)
        .unwrap_or_else(|| "–".into())
}

/// The grouping keys: `by` when given, else every swept key but the seed.
pub fn grouping_keys(by: &[String], swept: &[String]) -> Vec<String> {
    if by.is_empty() {
        swept.iter().filter(|k| !is_seed_key(k)).cloned().collect()
    } else {
        by.to_vec()
    }
}

/// The summary over finished runs, grouped by `keys`.
pub fn summary_of(runs: &[RunRecord], keys: &[String]) -> Summary {
    let results: Vec<RunResult> = runs
        .iter()
        .filter_map(|r| {
            r.result.as_ref().map(|metrics| RunResult {
                setting: keys.iter().map(|k| (k.clone(), key_value(r, k))).collect(),
                metrics: metrics.clone(),
            })
        })
        .collect();
    summarize(keys, &results)
}

/// What a report holds besides the summary and the plots of `metric`.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The metric of the plots and of the comparison with the baseline.
    pub metric: String,
    /// Also write `report.html`.
    pub html: bool,
    /// Compare every setting with this one.
    pub baseline: Option<BaselineOptions>,
}

impl ReportOptions {
    /// The summary tables and plots of `metric`, nothing else.
    pub fn plots_of(metric: &str) -> Self {
        ReportOptions {
            metric: metric.to_string(),
            html: false,
            baseline: None,
        }
    }
}

/// A written report.
#[derive(Debug)]
pub struct Report {
    /// The summary over settings.
    pub summary: Summary,
    /// The comparison with the baseline, when one was given.
    pub significance: Option<Significance>,
    /// Every file written.
    pub files: Vec<PathBuf>,
}

/// Writes the summary tables, every plot that the data supports and, as `options` asks, the comparison
/// with a baseline and the HTML page into `out`.
pub fn write_report(
    runs: &[RunRecord],
    keys: &[String],
    options: &ReportOptions,
    out: &Path,
) -> Result<Report> {
    let metric = options.metric.as_str();
    let summary = summary_of(runs, keys);
    if summary.rows.is_empty() {
        bail!("no finished run (none has a {RESULT_FILE}) to report on");
    }
    let significance = options
        .baseline
        .as_ref()
        .map(|b| compare::compare(runs, keys, &summary, metric, b))
        .transpose()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    summary.write(out, PREFERRED_METRICS)?;
    let mut files: Vec<PathBuf> = ["summary.json", "summary.csv", "summary.md"]
        .iter()
        .map(|f| out.join(f))
        .collect();
    files.extend(plots::draw_all(runs, keys, &summary, metric, out)?);
    if let Some(sig) = &significance {
        files.extend(sig.write(out)?);
        files.extend(plots::draw_significance(sig, out)?);
    }
    if options.html {
        let page = out.join(html::REPORT_HTML);
        html::write(&page, &summary, significance.as_ref(), metric, &files)?;
        files.push(page);
    }
    Ok(Report {
        summary,
        significance,
        files,
    })
}

/// The metric columns of the console and HTML tables: the [`PREFERRED_METRICS`] present.
pub fn table_metrics(summary: &Summary) -> Vec<String> {
    summary
        .metric_names(PREFERRED_METRICS)
        .into_iter()
        .filter(|m| PREFERRED_METRICS.contains(&m.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::overrides::parse_override;
    use crate::sweep::{create, expand};

    /// A finished fake sweep: 2 settings × 3 seeds, attention weights logged, truncate swept.
    pub(crate) fn fake_sweep(root: &Path) -> PathBuf {
        let dir = root.join("sweep");
        let overrides: Vec<_> = ["encoders.mrpc.truncate=6,9", "seed=1,2,3"]
            .iter()
            .map(|a| parse_override(a).unwrap())
            .collect();
        let jobs = expand(&overrides)
            .unwrap()
            .into_iter()
            .map(|(a, _)| {
                let t = &a[0].1;
                (a.clone(), format!("seed = 1\n[aggregate]\nkind = \"attention\"\n[encoders.mrpc]\ntruncate = {t}\n"))
            })
            .collect();
        let sweep = create(&dir, "fake", Path::new("c.toml"), &overrides, jobs).unwrap();
        for (i, job) in sweep.jobs.iter().enumerate() {
            let jd = dir.join(&job.dir);
            let t: f64 = job.assignment[0].1.parse().unwrap();
            let seed: f64 = job.assignment[1].1.parse().unwrap();
            for epoch in 1..=4 {
                let f1 = 0.3 + 0.05 * epoch as f64 + 0.01 * t + 0.002 * seed;
                let w = 0.5 + 0.05 * epoch as f64;
                let line = serde_json::json!({"epoch": epoch, "val/f1": f1, "train/loss": 10.0 / epoch as f64,
                    "attention/target": w, "attention/mrpc": 1.0 - w});
                crate::fsutil::append_jsonl(&RunDir::new(&jd).metrics(), &line).unwrap();
            }
            if i != 5 {
                let f1 = 0.5 + 0.01 * t + 0.002 * seed;
                crate::fsutil::write_json_atomic(
                    &RunDir::new(&jd).result(),
                    &serde_json::json!({"val/f1": f1, "best_epoch": 4, "stopped": "max_epochs"}),
                )
                .unwrap();
            }
        }
        dir
    }

    #[test]
    fn report_groups_by_swept_keys_and_by_any_config_key() {
        let root = tempfile::tempdir().unwrap();
        let dir = fake_sweep(root.path());
        let (runs, swept) = load_runs(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(runs.len(), 6);
        let keys = grouping_keys(&[], &swept);
        assert_eq!(keys, vec!["encoders.mrpc.truncate".to_string()]);
        let s = summary_of(&runs, &keys);
        assert_eq!(s.rows.len(), 2);
        let f1 = &s.rows[0].metrics["val/f1"];
        // truncate 6, seeds 1..3: 0.5 + 0.06 + 0.002·{1,2,3} → mean 0.564, std 0.002.
        assert_eq!(f1.n, 3);
        assert!((f1.mean - 0.564).abs() < 1e-12 && (f1.std.unwrap() - 0.002).abs() < 1e-12);
        // The unfinished job (truncate 9, seed 3) is left out.
        assert_eq!(s.rows[1].metrics["val/f1"].n, 2);
        // Regroup by a key that is only in the configs.
        let s = summary_of(&runs, &["aggregate.kind".to_string()]);
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.rows[0].setting[0].1, "attention");
        assert_eq!(s.rows[0].metrics["val/f1"].n, 5);
    }

    #[test]
    fn not_a_sweep_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let err = format!("{:#}", load_runs(&[root.path().to_path_buf()]).unwrap_err());
        assert!(err.contains("neither a sweep folder"), "{err}");
    }
}
