//! `reprobe report --baseline SETTING`: every setting against a baseline setting. Per setting the difference
//! of its mean metric to the baseline's, a 95 % confidence interval of the difference from a paired
//! bootstrap over the dev documents (coreference `val/f1` only; see [`super::significance`]) and Welch's
//! t-test over the runs' (seeds') values; as a table (Markdown, CSV, JSON) and in the HTML page and plot.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, Result};
use serde::Serialize;

use super::documents::DevDocuments;
use super::plots::label;
use super::significance::{
    paired_bootstrap, pool_runs, welch_t_test, BootstrapCi, ConllCounts, Resamples, Welch,
};
use super::{key_value, RunRecord};
use crate::config::input_error;
use crate::fsutil;
use crate::run_dir::RunDir;
use crate::sweep::summary::Summary;

/// The metric the paired bootstrap can recompute from per-document counts (CoNLL F1).
pub const BOOTSTRAP_METRIC: &str = "val/f1";

/// How to compare.
#[derive(Debug, Clone)]
pub struct BaselineOptions {
    /// The baseline setting as given on the command line (`key=value, ...` or a value).
    pub spec: String,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resampled indices.
    pub seed: u64,
}

/// One setting against the baseline (the baseline's own row has no difference).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Grouping key → value.
    pub setting: Vec<(String, String)>,
    /// Finished runs with the metric.
    pub n: usize,
    /// Mean of the metric over those runs.
    pub mean: f64,
    /// `mean − baseline mean`; `None` on the baseline's row.
    pub delta: Option<f64>,
    /// The paired-bootstrap interval of the difference, where it could be computed.
    pub bootstrap: Option<BootstrapCi>,
    /// Welch's t-test over the runs' values, where it is defined.
    pub welch: Option<Welch>,
    /// Why a column is empty.
    pub notes: Vec<String>,
}

/// The comparison of every setting of a report with its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Significance {
    /// The compared metric.
    pub metric: String,
    /// The grouping keys.
    pub keys: Vec<String>,
    /// Index of the baseline in `rows`.
    pub baseline: usize,
    /// Bootstrap resamples and their seed.
    pub resamples: usize,
    /// Seed of the resampled document indices.
    pub seed: u64,
    /// Dev documents the bootstrap resamples (`None` when it could not run at all).
    pub documents: Option<usize>,
    /// One row per setting, in the summary's order.
    pub rows: Vec<Comparison>,
    /// Remarks about the whole comparison (why no bootstrap, for instance).
    pub notes: Vec<String>,
}

/// A setting's per-document CoNLL counts, summed over its runs, or why there are none.
type Pooled = Result<PooledDocuments, String>;

/// Per dev document (in dev-file order), its key and its counts summed over a setting's runs.
struct PooledDocuments {
    doc_keys: Vec<String>,
    counts: Vec<ConllCounts>,
}

/// The row of `summary` that `spec` names: comma-separated `key=value` parts (a key may be given by its
/// last dotted component, `truncate=6` for `encoders.mrpc.truncate=6`) or bare values, all of which must
/// match exactly one setting.
pub fn find_baseline(spec: &str, summary: &Summary) -> Result<usize> {
    let parts: Vec<(Option<&str>, &str)> = split_top_level(spec)
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (Some(k.trim()), v.trim()),
            None => (None, p.trim()),
        })
        .collect();
    let matches = |setting: &[(String, String)]| {
        parts.iter().all(|(key, value)| {
            setting.iter().any(|(k, v)| {
                v == value && key.is_none_or(|key| k == key || k.ends_with(&format!(".{key}")))
            })
        })
    };
    let found: Vec<usize> = (0..summary.rows.len())
        .filter(|&i| matches(&summary.rows[i].setting))
        .collect();
    let settings = || {
        summary
            .rows
            .iter()
            .map(|r| format!("\"{}\"", label(&r.setting)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match found.as_slice() {
        [i] => Ok(*i),
        [] => Err(input_error(anyhow!(
            "--baseline \"{spec}\" names no setting of the report; the settings are {}",
            settings()
        ))),
        _ => Err(input_error(anyhow!(
            "--baseline \"{spec}\" names {} settings; give key=value for each grouping key ({})",
            found.len(),
            settings()
        ))),
    }
}

/// Splits at commas outside brackets (a value may be a list, `[a, b]`).
fn split_top_level(spec: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in spec.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Compares every setting of `summary` (runs grouped by `keys`) with the one `options.spec` names.
pub fn compare(
    runs: &[RunRecord],
    keys: &[String],
    summary: &Summary,
    metric: &str,
    options: &BaselineOptions,
) -> Result<Significance> {
    let baseline = find_baseline(&options.spec, summary)?;
    // The finished runs of each setting with their metric value, in run order.
    let members: Vec<Vec<(&RunRecord, f64)>> = summary
        .rows
        .iter()
        .map(|row| {
            runs.iter()
                .filter(|r| {
                    keys.iter()
                        .all(|k| lookup(&row.setting, k) == key_value(r, k))
                })
                .filter_map(|r| Some((r, *r.result.as_ref()?.get(metric)?)))
                .collect()
        })
        .collect();
    if members[baseline].is_empty() {
        return Err(input_error(anyhow!(
            "the baseline \"{}\" has no finished run with {metric}",
            label(&summary.rows[baseline].setting)
        )));
    }
    let mut notes = Vec::new();
    // Per setting, its documents' counts pooled over its runs (or why there are none); `None` for a metric
    // the bootstrap cannot recompute.
    let pooled: Option<Vec<Pooled>> = if metric == BOOTSTRAP_METRIC {
        Some(members.iter().map(|m| pooled_documents(m)).collect())
    } else {
        notes.push(format!(
            "no bootstrap: it recomputes CoNLL F1 ({BOOTSTRAP_METRIC}) from per-document counts, not {metric}"
        ));
        None
    };
    let base_docs = match pooled.as_ref().map(|p| &p[baseline]) {
        Some(Ok(base)) => Some(base),
        Some(Err(why)) => {
            notes.push(format!("no bootstrap: baseline: {why}"));
            None
        }
        None => None,
    };
    let resamples =
        base_docs.map(|b| Resamples::draw(b.counts.len(), options.resamples, options.seed));
    let base_values: Vec<f64> = members[baseline].iter().map(|(_, v)| *v).collect();
    let base_mean = mean(&base_values);
    let mut rows = Vec::new();
    for (i, row) in summary.rows.iter().enumerate() {
        let values: Vec<f64> = members[i].iter().map(|(_, v)| *v).collect();
        let mut comparison = Comparison {
            setting: row.setting.clone(),
            n: values.len(),
            mean: mean(&values),
            delta: None,
            bootstrap: None,
            welch: None,
            notes: Vec::new(),
        };
        if i != baseline && !values.is_empty() {
            comparison.delta = Some(comparison.mean - base_mean);
            match welch_t_test(&base_values, &values) {
                Ok(w) => comparison.welch = Some(w),
                Err(why) => comparison.notes.push(why),
            }
            if let (Some(base), Some(resamples), Some(pooled)) = (base_docs, &resamples, &pooled) {
                match &pooled[i] {
                    Ok(other) if other.doc_keys == base.doc_keys => {
                        let ci = paired_bootstrap(&base.counts, &other.counts, resamples, 0.95)?;
                        comparison.bootstrap = Some(ci);
                    }
                    Ok(_) => comparison
                        .notes
                        .push("no bootstrap: its dev documents differ from the baseline's".into()),
                    Err(why) => comparison.notes.push(format!("no bootstrap: {why}")),
                }
            }
        } else if values.is_empty() {
            comparison
                .notes
                .push(format!("no finished run with {metric}"));
        }
        rows.push(comparison);
    }
    Ok(Significance {
        metric: metric.to_string(),
        keys: keys.to_vec(),
        baseline,
        resamples: options.resamples,
        seed: options.seed,
        documents: resamples.as_ref().map(Resamples::documents),
        rows,
        notes,
    })
}

/// The per-document CoNLL counts of a setting's runs, pooled over the runs; an error says why there are
/// none (a run without `dev_documents.json`, one that does not match its result, runs on other documents).
fn pooled_documents(members: &[(&RunRecord, f64)]) -> Pooled {
    let mut doc_keys: Option<Vec<String>> = None;
    let mut per_run = Vec::new();
    for (run, val_f1) in members {
        let path = RunDir::new(&run.dir).dev_documents();
        if !path.exists() {
            return Err(format!(
                "{} is missing (per-document counts: written by coreference training)",
                path.display()
            ));
        }
        let best_epoch = run
            .result
            .as_ref()
            .and_then(|r| r.get("best_epoch"))
            .map_or(0, |e| *e as usize);
        let docs =
            DevDocuments::read_checked(&path, best_epoch, *val_f1).map_err(|e| format!("{e:#}"))?;
        let keys: Vec<String> = docs.documents.iter().map(|d| d.doc_key.clone()).collect();
        match &doc_keys {
            Some(first) if *first != keys => {
                return Err(format!(
                    "{}: other dev documents than its setting's first run",
                    path.display()
                ))
            }
            _ => doc_keys = Some(keys),
        }
        let counts: Option<Vec<ConllCounts>> = docs
            .documents
            .iter()
            .map(|d| ConllCounts::of(&d.counts))
            .collect();
        per_run.push(
            counts.ok_or_else(|| format!("{}: lacks MUC, B³ or CEAFe counts", path.display()))?,
        );
    }
    match doc_keys {
        Some(doc_keys) if !doc_keys.is_empty() => Ok(PooledDocuments {
            doc_keys,
            counts: pool_runs(&per_run),
        }),
        _ => Err("no dev document".into()),
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The value of `key` in a setting, "–" when it has none.
pub(crate) fn lookup(setting: &[(String, String)], key: &str) -> String {
    setting
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "–".into())
}

/// A p-value with 3 significant digits (scientific below 0.001).
pub fn format_p(p: f64) -> String {
    if p < 1e-3 {
        format!("{p:.2e}")
    } else {
        format!("{p:.3}")
    }
}

impl Significance {
    /// The baseline's row.
    pub fn baseline_row(&self) -> &Comparison {
        &self.rows[self.baseline]
    }

    /// One line saying what the columns are.
    pub fn description(&self) -> String {
        let bootstrap = match self.documents {
            Some(n) => format!(
                "95 % CI: paired bootstrap over the {n} dev documents (counts pooled over each setting's seeds, \
                 CoNLL F1 recomputed per resample; {} resamples, seed {})",
                self.resamples, self.seed
            ),
            None => "no bootstrap CI".into(),
        };
        format!(
            "Difference of the mean {} to the baseline ({}); {bootstrap}; Welch's t-test over the runs' values (two-sided p).",
            self.metric,
            label(&self.baseline_row().setting)
        )
    }

    /// The cells of row `i` for the tables: Δ, CI, t, df, p ("baseline" on the baseline's row, "–" where
    /// not available).
    pub fn cells(&self, i: usize) -> [String; 5] {
        let row = &self.rows[i];
        let Some(delta) = row.delta else {
            let first = if i == self.baseline {
                "baseline"
            } else {
                "–"
            };
            return [
                first.into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ];
        };
        let ci = row
            .bootstrap
            .map(|b| format!("[{:+.4}, {:+.4}]", b.low, b.high))
            .unwrap_or_else(|| "–".into());
        let (t, df, p) = match row.welch {
            Some(w) => (format!("{:.3}", w.t), format!("{:.2}", w.df), format_p(w.p)),
            None => ("–".into(), "–".into(), "–".into()),
        };
        [format!("{delta:+.4}"), ci, t, df, p]
    }

    /// The column names matching [`Significance::cells`].
    pub fn headers(&self) -> [String; 5] {
        [
            format!("Δ {}", self.metric),
            "95 % CI of Δ".into(),
            "t".into(),
            "df".into(),
            "p".into(),
        ]
    }

    /// A Markdown table (setting columns, n, mean, Δ, CI, t, df, p), the description above it and the notes
    /// below.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("{}\n\n", self.description());
        let mut header: Vec<String> = if self.keys.is_empty() {
            vec!["setting".into()]
        } else {
            self.keys.clone()
        };
        header.push("n".into());
        header.push(self.metric.clone());
        header.extend(self.headers());
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            header.iter().map(|_| "---|").collect::<String>()
        );
        for (i, row) in self.rows.iter().enumerate() {
            let mut cells: Vec<String> = if self.keys.is_empty() {
                vec![label(&row.setting)]
            } else {
                self.keys.iter().map(|k| lookup(&row.setting, k)).collect()
            };
            cells.push(row.n.to_string());
            cells.push(if row.n > 0 {
                format!("{:.4}", row.mean)
            } else {
                "–".into()
            });
            cells.extend(self.cells(i));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        let notes = self.all_notes();
        if !notes.is_empty() {
            out.push('\n');
            for note in notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    /// Every note: the comparison's, then each row's prefixed by its setting.
    pub fn all_notes(&self) -> Vec<String> {
        let mut out = self.notes.clone();
        for row in &self.rows {
            for note in &row.notes {
                out.push(format!("{}: {note}", label(&row.setting)));
            }
        }
        out
    }

    /// CSV: setting columns, `n, mean, delta, ci_low, ci_high, pooled_delta, t, df, p, note` at full
    /// precision (empty where not available).
    pub fn to_csv(&self) -> String {
        let mut header: Vec<String> = self.keys.iter().map(|k| csv_cell(k)).collect();
        header.extend(
            [
                "n",
                "mean",
                "delta",
                "ci_low",
                "ci_high",
                "pooled_delta",
                "t",
                "df",
                "p",
                "note",
            ]
            .map(String::from),
        );
        let mut out = header.join(",") + "\n";
        let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        for (i, row) in self.rows.iter().enumerate() {
            let mut cells: Vec<String> = self
                .keys
                .iter()
                .map(|k| csv_cell(&lookup(&row.setting, k)))
                .collect();
            let mut notes = row.notes.clone();
            if i == self.baseline {
                notes.insert(0, "baseline".into());
            }
            cells.extend([
                row.n.to_string(),
                num((row.n > 0).then_some(row.mean)),
                num(row.delta),
                num(row.bootstrap.map(|b| b.low)),
                num(row.bootstrap.map(|b| b.high)),
                num(row.bootstrap.map(|b| b.pooled_delta)),
                num(row.welch.map(|w| w.t)),
                num(row.welch.map(|w| w.df)),
                num(row.welch.map(|w| w.p)),
                csv_cell(&notes.join("; ")),
            ]);
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes `significance.{json,csv,md}` into `dir` (atomically); returns the files.
    pub fn write(&self, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
        let files =
            ["significance.json", "significance.csv", "significance.md"].map(|f| dir.join(f));
        fsutil::write_json_atomic(&files[0], self)?;
        fsutil::write_atomic(&files[1], self.to_csv().as_bytes())?;
        fsutil::write_atomic(&files[2], self.to_markdown().as_bytes())?;
        Ok(files.to_vec())
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
