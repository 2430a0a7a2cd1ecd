//! `reprobe report`: the summary table and plots over one or more sweeps (or single runs).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::report::{grouping_keys, load_runs, summary_of, write_report, PREFERRED_METRICS};

/// Tables (mean ± std, min, max, n per setting) and plots over sweeps or runs.
///
/// Rows group the finished runs by the swept keys other than the seed, or by the --by keys (any config key,
/// e.g. `aggregate.kind` or `encoders.mrpc.truncate`). Writes summary.{md,csv,json} and, where the data
/// has them, learning_curves, bars, attention_weights and truncation plots as SVG and PNG.
///
/// Example:
///   reprobe report runs/sweeps/ontogum_minilm_frozen/2026-11-25_20-00-00 --metric val/f1
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// Sweep folders (with sweep.json) or run folders (with config.toml).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Group by these config keys instead of the swept ones (repeatable).
    #[arg(long)]
    by: Vec<String>,
    /// The metric of the plots.
    #[arg(long, default_value = "val/f1")]
    metric: String,
    /// Output folder; default: the first folder's report/.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `reprobe report`.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let (runs, swept) = load_runs(&args.dirs)?;
    let keys = grouping_keys(&args.by, &swept);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::run_dir::RunDir::new(&args.dirs[0]).report());
    let written = write_report(&runs, &keys, &args.metric, &out)?;
    let summary = summary_of(&runs, &keys);
    let metrics: Vec<String> = summary
        .metric_names(PREFERRED_METRICS)
        .into_iter()
        .filter(|m| PREFERRED_METRICS.contains(&m.as_str()))
        .collect();
    let finished = runs.iter().filter(|r| r.result.is_some()).count();
    println!("{finished} finished runs of {}\n", runs.len());
    print!("{}", summary.to_markdown(&metrics));
    println!();
    for f in written {
        println!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
