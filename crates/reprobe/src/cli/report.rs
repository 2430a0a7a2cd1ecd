//! `reprobe report`: the summary table and plots over one or more sweeps (or single runs), optionally
//! compared with a baseline setting and as one HTML page.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::report::compare::BaselineOptions;
use crate::report::{grouping_keys, load_runs, table_metrics, write_report, ReportOptions};

/// Tables (mean ± std, min, max, n per setting) and plots over sweeps or runs
///
/// Rows group the finished runs by the swept keys other than the seed, or by the --by keys (any config key,
/// e.g. `aggregate.kind` or `encoders.mrpc.truncate`). Writes summary.{md,csv,json} and, where the data
/// has them, learning_curves, bars, attention_weights and truncation plots as SVG and PNG.
///
/// --html also writes report.html: the table (sortable by clicking a header; plain HTML without
/// JavaScript) and every plot, in one file that loads nothing from elsewhere.
///
/// --baseline SETTING compares every other setting with SETTING (`key=value[, key=value]`, a key may be
/// its last part, e.g. `truncate=6`; or just the value when one key groups the rows) and writes
/// significance.{md,csv,json} and a significance plot:
///   Δ     the setting's mean of --metric minus the baseline's (means over runs, i.e. seeds);
///   CI    95 % interval of Δ by a paired bootstrap over the dev documents (coreference val/f1 only):
///         each setting's per-document MUC/B³/CEAFe counts (dev_documents.json of its runs, the best
///         epoch's) are summed over its seeds; each resample draws n documents with replacement, the SAME
///         indices for both settings, and recomputes each setting's corpus CoNLL F1 from the summed
///         counts; the interval is the 2.5th–97.5th percentile of the difference (numpy's linear rule);
///   t, df, p  Welch's t-test (unequal variances, two-sided) over the runs' values of the two settings.
///
/// Examples:
///   reprobe report runs/sweeps/ontogum_minilm_frozen/2026-11-25_20-00-00 --metric val/f1
///   reprobe report runs/sweeps/table_c/2026-11-25_20-00-00 --html --baseline "truncate=12"
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ReportArgs {
    /// Sweep folders (with sweep.json) or run folders (with config.toml).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Group by these config keys instead of the swept ones (repeatable).
    #[arg(long)]
    by: Vec<String>,
    /// The metric of the plots and of the comparison with --baseline.
    #[arg(long, default_value = "val/f1")]
    metric: String,
    /// Output folder; default: the first folder's report/.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write report.html (table and plots in one self-contained page).
    #[arg(long)]
    html: bool,
    /// Compare every setting with this one (e.g. "truncate=6" or "aggregate.kind=mean, truncate=6").
    #[arg(long, value_name = "SETTING")]
    baseline: Option<String>,
    /// Bootstrap resamples of --baseline.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    resamples: u64,
    /// Seed of the bootstrap's resampled documents.
    #[arg(long, default_value_t = 1, value_name = "SEED")]
    bootstrap_seed: u64,
}

/// Runs `reprobe report`.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let (runs, swept) = load_runs(&args.dirs)?;
    let keys = grouping_keys(&args.by, &swept);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::run_dir::RunDir::new(&args.dirs[0]).report());
    let options = ReportOptions {
        metric: args.metric.clone(),
        html: args.html,
        baseline: args.baseline.clone().map(|spec| BaselineOptions {
            spec,
            resamples: args.resamples as usize,
            seed: args.bootstrap_seed,
        }),
    };
    let report = write_report(&runs, &keys, &options, &out)?;
    let finished = runs.iter().filter(|r| r.result.is_some()).count();
    println!("{finished} finished runs of {}\n", runs.len());
    print!(
        "{}",
        report.summary.to_markdown(&table_metrics(&report.summary))
    );
    if let Some(sig) = &report.significance {
        print!("\n{}", sig.to_markdown());
    }
    println!();
    for f in &report.files {
        println!("wrote {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}
