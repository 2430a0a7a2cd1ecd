//! The aggregate of finished runs: one row per setting, for each metric its mean, sample standard deviation
//! (ddof = 1, as pandas' `describe()` in the reference's multirun aggregation, SPEC §7), min, max and n.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::fsutil;

/// Mean, sample std, min, max and count of one metric over the runs of one setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); `None` for a single run.
    pub std: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Number of runs.
    pub n: usize,
}

impl Stat {
    /// The statistics of `values` (at least one).
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stat {
            mean,
            std,
            min,
            max,
            n,
        })
    }
}

/// One finished run to aggregate: its setting (the grouping keys and their values) and its final metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Grouping key → value, e.g. `aggregate.kind` → `attention`.
    pub setting: Vec<(String, String)>,
    /// Metric name → value (from `result.json`).
    pub metrics: BTreeMap<String, f64>,
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Grouping key → value.
    pub setting: Vec<(String, String)>,
    /// Metric name → statistics.
    pub metrics: BTreeMap<String, Stat>,
}

/// The summary: grouping keys and rows in the order settings first appear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The keys rows are grouped by.
    pub keys: Vec<String>,
    /// One row per distinct setting.
    pub rows: Vec<Row>,
}

/// Groups runs by setting and computes the statistics of every metric (the seed is what varies within a setting,
/// not a metric, so it gets no column).
pub fn summarize(keys: &[String], runs: &[RunResult]) -> Summary {
    let mut order: Vec<Vec<(String, String)>> = Vec::new();
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<&RunResult>> = BTreeMap::new();
    for run in runs {
        if !groups.contains_key(&run.setting) {
            order.push(run.setting.clone());
        }
        groups.entry(run.setting.clone()).or_default().push(run);
    }
    let rows = order
        .into_iter()
        .map(|setting| {
            let members = &groups[&setting];
            let names: std::collections::BTreeSet<&String> = members
                .iter()
                .flat_map(|r| r.metrics.keys())
                .filter(|name| !super::is_seed_key(name))
                .collect();
            let metrics = names
                .into_iter()
                .filter_map(|name| {
                    let values: Vec<f64> = members
                        .iter()
                        .filter_map(|r| r.metrics.get(name).copied())
                        .collect();
                    Stat::of(&values).map(|s| (name.clone(), s))
                })
                .collect();
            Row { setting, metrics }
        })
        .collect();
    Summary {
        keys: keys.to_vec(),
        rows,
    }
}

impl Summary {
    /// Metric names present in any row, with `preferred` ones first in the given order.
    pub fn metric_names(&self, preferred: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| r.metrics.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut out: Vec<String> = preferred
            .iter()
            .filter(|p| all.iter().any(|a| a == *p))
            .map(|p| p.to_string())
            .collect();
        all.retain(|a| !out.contains(a));
        out.extend(all);
        out
    }

    /// A Markdown table: setting columns, `n`, then `mean ± std` per metric.
    pub fn to_markdown(&self, metrics: &[String]) -> String {
        let mut out = String::new();
        let mut header: Vec<String> = self.keys.clone();
        if header.is_empty() {
            header.push("setting".into());
        }
        header.push("n".into());
        header.extend(metrics.iter().cloned());
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            header.iter().map(|_| "---|").collect::<String>()
        );
        for row in &self.rows {
            let mut cells: Vec<String> = if self.keys.is_empty() {
                vec!["(all runs)".into()]
            } else {
                self.keys.iter().map(|k| lookup(&row.setting, k)).collect()
            };
            let n = row.metrics.values().map(|s| s.n).max().unwrap_or(0);
            cells.push(n.to_string());
            for m in metrics {
                cells.push(match row.metrics.get(m) {
                    Some(Stat {
                        mean,
                        std: Some(std),
                        ..
                    }) => format!("{} ± {}", fmt4(*mean), fmt4(*std)),
                    Some(Stat {
                        mean, std: None, ..
                    }) => fmt4(*mean),
                    None => "–".into(),
                });
            }
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }

    /// CSV: setting columns, then `METRIC_mean, METRIC_std, METRIC_min, METRIC_max, METRIC_n` per metric.
    pub fn to_csv(&self, metrics: &[String]) -> String {
        let mut header: Vec<String> = self.keys.iter().map(|k| csv_cell(k)).collect();
        for m in metrics {
            for s in ["mean", "std", "min", "max", "n"] {
                header.push(csv_cell(&format!("{m}_{s}")));
            }
        }
        let mut out = header.join(",") + "\n";
        for row in &self.rows {
            let mut cells: Vec<String> = self
                .keys
                .iter()
                .map(|k| csv_cell(&lookup(&row.setting, k)))
                .collect();
            for m in metrics {
                match row.metrics.get(m) {
                    Some(s) => {
                        cells.push(s.mean.to_string());
                        cells.push(s.std.map(|v| v.to_string()).unwrap_or_default());
                        cells.push(s.min.to_string());
                        cells.push(s.max.to_string());
                        cells.push(s.n.to_string());
                    }
                    None => cells.extend(std::iter::repeat_n(String::new(), 5)),
                }
            }
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes `summary.json`, `summary.csv` and `summary.md` into `dir` (atomically).
    pub fn write(&self, dir: &Path, preferred: &[&str]) -> Result<()> {
        let metrics = self.metric_names(preferred);
        fsutil::write_json_atomic(&dir.join("summary.json"), self)?;
        fsutil::write_atomic(&dir.join("summary.csv"), self.to_csv(&metrics).as_bytes())?;
        fsutil::write_atomic(
            &dir.join("summary.md"),
            self.to_markdown(&metrics).as_bytes(),
        )
    }
}

fn lookup(setting: &[(String, String)], key: &str) -> String {
    setting
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "–".into())
}

fn fmt4(x: f64) -> String {
    format!("{x:.4}")
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: &str, f1: f64, loss: f64) -> RunResult {
        RunResult {
            setting: vec![("aggregate.kind".into(), kind.into())],
            metrics: [
                ("val/f1".to_string(), f1),
                ("val/loss".to_string(), loss),
                ("seed".to_string(), 1.0),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn sample_std_and_table() {
        // mean of 0.70, 0.72, 0.74 = 0.72; squared deviations 0.0004 + 0 + 0.0004 over n-1 = 2 → var 0.0004, std 0.02.
        let runs = vec![
            run("mean", 0.70, 3.0),
            run("attention", 0.5, 1.0),
            run("mean", 0.72, 2.0),
            run("mean", 0.74, 1.0),
        ];
        let s = summarize(&["aggregate.kind".to_string()], &runs);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0].setting[0].1, "mean");
        let f1 = &s.rows[0].metrics["val/f1"];
        assert!((f1.mean - 0.72).abs() < 1e-12);
        assert!((f1.std.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!((f1.min, f1.max, f1.n), (0.70, 0.74, 3));
        assert_eq!(s.rows[1].metrics["val/f1"].std, None);
        assert!(!s.rows[0].metrics.contains_key("seed"));

        let metrics = s.metric_names(&["val/f1"]);
        assert_eq!(metrics, vec!["val/f1".to_string(), "val/loss".to_string()]);
        let md = s.to_markdown(&metrics);
        assert_eq!(
            md,
            "| aggregate.kind | n | val/f1 | val/loss |\n|---|---|---|---|\n\
             | mean | 3 | 0.7200 ± 0.0200 | 2.0000 ± 1.0000 |\n| attention | 1 | 0.5000 | 1.0000 |\n"
        );
        let csv = s.to_csv(&metrics);
        let first = csv.lines().next().unwrap();
        assert_eq!(
            first,
            "aggregate.kind,val/f1_mean,val/f1_std,val/f1_min,val/f1_max,val/f1_n,val/loss_mean,val/loss_std,val/loss_min,val/loss_max,val/loss_n"
        );
        assert!(csv
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("attention,0.5,,0.5,0.5,1,"));
    }
}
