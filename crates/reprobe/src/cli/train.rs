//! `reprobe train`: one run, or with `--multirun` a sweep over every combination of the swept overrides.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::sweep::{launch, LaunchArgs};
use crate::config::overrides::{parse_override, Override};
use crate::config::{config_sweeps, resolve, Resolved};
use crate::sweep::{self, Sweep};
use crate::timestamp;
use crate::train::dev_run::fast_dev_run;
use crate::train::fit::fit;

/// Train and evaluate a model: a coreference probe, or a source task (NER, pair classification).
///
/// CONFIG is a TOML file (see configs/coref/, configs/ner/, configs/pair/; `task` chooses); each OVERRIDE is `key=value` in the style of Hydra:
/// `seed=3`, `train.max_epochs=2`, `encoders.mrpc.truncate=9`, lists `[a,b]`, maps `{id:path}`,
/// `'quoted strings'`, `~key` to delete a key. With --multirun, `key=v1,v2,v3` and `seed=range(1,6)`
/// sweep over every combination, --jobs at a time; running the same command again resumes the sweep.
///
/// A run writes runs/<name>/<timestamp>/ (or --run-dir): config.toml, metrics.jsonl, log.txt,
/// checkpoints/{best,last}/ and result.json (labels.json for NER and classification). Training again with the same --run-dir resumes from the last
/// checkpoint.
///
/// Examples:
///   reprobe train configs/coref/ontogum_minilm_frozen.toml
///   reprobe train configs/coref/ontogum_minilm_frozen.toml seed=1,2,3 train.max_epochs=2 --multirun --jobs 2
///   reprobe train configs/coref/paper/table_c_truncation.toml --print-config
///   reprobe train configs/pair/mrpc_minilm.toml --run-dir runs/mrpc_minilm/main
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct TrainArgs {
    /// The config file.
    config: PathBuf,
    /// `key=value` overrides.
    #[arg(value_name = "OVERRIDE")]
    overrides: Vec<String>,
    /// The run folder (default runs/<name>/<timestamp>/); an existing one with a checkpoint is resumed.
    #[arg(long, value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// Print the resolved config and exit.
    #[arg(long)]
    print_config: bool,
    /// Check the config end to end in seconds and keep nothing: two training steps on two examples, a dev
    /// pass on two, checkpoints saved and loaded back, in a temporary folder; prints a summary. With
    /// --multirun, every job of the sweep.
    #[arg(long)]
    fast_dev_run: bool,
    /// Sweep over every combination of comma-separated override values.
    #[arg(long, short = 'm')]
    multirun: bool,
    /// The sweep folder (default: runs/sweeps/<name>/<timestamp>/, or the unfinished sweep of the same
    /// command there).
    #[arg(long, value_name = "DIR")]
    sweep_dir: Option<PathBuf>,
    #[command(flatten)]
    launch: LaunchArgs,
    /// Run on this device (overrides the config's `device`), e.g. `cuda:0`.
    #[arg(long, value_name = "DEVICE")]
    device: Option<String>,
}

/// Runs `reprobe train`.
pub fn run(args: TrainArgs) -> Result<ExitCode> {
    let mut overrides: Vec<Override> = args
        .overrides
        .iter()
        .map(|a| parse_override(a))
        .collect::<Result<_>>()?;
    if let Some(device) = &args.device {
        overrides.push(parse_override(&format!("device={device}"))?);
    }
    if args.fast_dev_run && !args.print_config {
        return fast_dev_runs(&args, &overrides);
    }
    if args.multirun {
        return run_sweep(&args, &overrides);
    }
    let resolved = resolve(&args.config, &overrides)?;
    if args.print_config {
        print!("{}", resolved.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    let run_dir = args.run_dir.clone().unwrap_or_else(|| {
        PathBuf::from("runs")
            .join(&resolved.config.name)
            .join(timestamp::folder_name_now())
    });
    fit(&resolved, &run_dir)?;
    Ok(ExitCode::SUCCESS)
}

/// `--fast-dev-run`: the run, or with --multirun every job of the sweep, as a fast dev run.
fn fast_dev_runs(args: &TrainArgs, given: &[Override]) -> Result<ExitCode> {
    if !args.multirun {
        fast_dev_run(&args.config, given)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut overrides = config_sweeps(&args.config, given)?;
    overrides.extend(given.iter().cloned());
    for (assignment, job_overrides) in sweep::expand(&overrides)? {
        let label: Vec<String> = assignment.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("# job: {}", label.join(" "));
        fast_dev_run(&args.config, &job_overrides)
            .with_context(|| format!("in the sweep job {}", label.join(" ")))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_sweep(args: &TrainArgs, given: &[Override]) -> Result<ExitCode> {
    // The config's own `[sweep]` table first, then the command line (which wins on a shared key).
    let mut overrides = config_sweeps(&args.config, given)?;
    overrides.extend(given.iter().cloned());
    let overrides = &overrides[..];
    let expanded = sweep::expand(overrides)?;
    // Resolve every job's config first: a typo fails before any job runs.
    let mut jobs = Vec::with_capacity(expanded.len());
    let mut name = String::new();
    for (assignment, job_overrides) in &expanded {
        let resolved: Resolved = resolve(&args.config, job_overrides).with_context(|| {
            let label: Vec<String> = assignment.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("in the sweep job {}", label.join(" "))
        })?;
        name = resolved.config.name.clone();
        jobs.push((assignment.clone(), resolved.to_toml()));
    }
    if args.print_config {
        for (assignment, toml) in &jobs {
            let label: Vec<String> = assignment.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("# job: {}\n{toml}", label.join(" "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let probe = Sweep::probe(&name, &args.config, overrides);
    let parent = PathBuf::from("runs").join("sweeps").join(&name);
    let dir = match &args.sweep_dir {
        Some(dir) => dir.clone(),
        None => sweep::find_same_sweep(&parent, &probe)
            .unwrap_or_else(|| parent.join(timestamp::folder_name_now())),
    };
    let sweep = if dir.join(sweep::SWEEP_FILE).exists() {
        let existing = Sweep::load(&dir)?;
        if !existing.same_command(&probe) {
            bail!(
                "{} holds a sweep of another command ({} {}); use another --sweep-dir",
                dir.display(),
                existing.config.display(),
                existing.overrides.join(" ")
            );
        }
        println!("resuming the sweep in {}", dir.display());
        existing
    } else {
        println!("new sweep of {} jobs in {}", jobs.len(), dir.display());
        sweep::create(&dir, &name, &args.config, overrides, jobs)?
    };
    launch(&dir, sweep, &args.launch)
}
