//! `reprobe sweep`: resume a sweep, run one of its jobs (what a local job process or a Slurm array task
//! runs), or show its state.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::config::overrides::parse_override;
use crate::config::resolve_table;
use crate::report::{grouping_keys, load_runs, summary_of, PREFERRED_METRICS};
use crate::run_dir::RunDir;
use crate::sweep::runner::{LocalRunner, EXIT_JOB_BUSY};
use crate::sweep::slurm::{self, Submission};
use crate::sweep::{LaunchSettings, Launcher, Sweep};
use crate::train::fit::{fit, RunBusy};

/// Resume a sweep, run one of its jobs, or show its state.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: SweepCommand,
}

/// How a sweep's jobs run; each flag left out is taken from the sweep's last launch (`sweep.json`), else its
/// default.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Sweep jobs at once on this machine [default: one per --devices entry, else 1].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// GPUs to share among sweep jobs, one running job per device: `0,1` (each job gets `device = cuda:<i>`).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    devices: Vec<usize>,
    /// Where sweep jobs run [default: local].
    #[arg(long, value_enum)]
    launcher: Option<Launcher>,
}

impl LaunchArgs {
    /// These flags over the settings the sweep was last launched with.
    fn over(&self, saved: Option<&LaunchSettings>) -> LaunchSettings {
        LaunchSettings::given_over(saved, self.launcher, self.jobs, &self.devices)
    }
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Run the unfinished jobs of a sweep folder (interrupted ones resume from their last checkpoint).
    Resume {
        /// The sweep folder (holds sweep.json).
        dir: PathBuf,
        #[command(flatten)]
        launch: LaunchArgs,
    },
    /// Run job INDEX of a sweep (resuming it if it has a checkpoint).
    RunJob {
        /// The sweep folder.
        dir: PathBuf,
        /// The job's index in sweep.json.
        index: usize,
        /// Run on this device, e.g. `cuda:0`.
        #[arg(long)]
        device: Option<String>,
    },
    /// Show the state of every job.
    Status {
        /// The sweep folder.
        dir: PathBuf,
    },
}

/// Runs `reprobe sweep`.
pub fn run(args: SweepArgs) -> Result<ExitCode> {
    match args.command {
        SweepCommand::Resume { dir, launch: args } => launch(&dir, Sweep::load(&dir)?, &args),
        SweepCommand::RunJob { dir, index, device } => {
            let sweep = Sweep::load(&dir)?;
            if index >= sweep.jobs.len() {
                bail!(
                    "{} has {} jobs; there is no job {index}",
                    dir.display(),
                    sweep.jobs.len()
                );
            }
            let job_dir = sweep.job_dir(&dir, index);
            let config_path = RunDir::new(&job_dir).config();
            let text = std::fs::read_to_string(&config_path)
                .with_context(|| format!("cannot read {}", config_path.display()))?;
            let mut table: toml::Table = text
                .parse()
                .with_context(|| format!("{} is not valid TOML", config_path.display()))?;
            let overrides = match device {
                Some(d) => vec![parse_override(&format!("device={d}"))?],
                None => vec![],
            };
            crate::config::load::apply_overrides(&mut table, &overrides)?;
            let resolved = resolve_table(table, &config_path.display().to_string(), &overrides)?;
            println!("job {index}: {}", sweep.jobs[index].label());
            match fit(&resolved, &job_dir) {
                Ok(_) => Ok(ExitCode::SUCCESS),
                // A distinct exit code tells the sweep to try this job again later.
                Err(e) if e.downcast_ref::<RunBusy>().is_some() => {
                    eprintln!("job {index}: {e}");
                    Ok(ExitCode::from(EXIT_JOB_BUSY as u8))
                }
                Err(e) => Err(e),
            }
        }
        SweepCommand::Status { dir } => print_status(&dir),
    }
}

/// `sweep status`: one line per job (its state, with the Slurm task that holds it and the epochs it has done
/// when unfinished), then how many finished.
fn print_status(dir: &Path) -> Result<ExitCode> {
    let sweep = Sweep::load(dir)?;
    let in_slurm = slurm::queued_jobs(&sweep);
    let mut done = 0;
    for (i, job) in sweep.jobs.iter().enumerate() {
        let run = RunDir::new(sweep.job_dir(dir, i));
        let finished = run.is_finished();
        done += usize::from(finished);
        let mut state = if finished {
            "done".to_string()
        } else if let Some(task) = in_slurm.get(&i) {
            format!("slurm {task}")
        } else {
            format!("{:?}", job.state).to_lowercase()
        };
        let epochs = std::fs::read_to_string(run.metrics())
            .map(|m| m.lines().filter(|l| !l.trim().is_empty()).count())
            .unwrap_or(0);
        if !finished && epochs > 0 {
            state.push_str(&format!(", {epochs} epoch(s) done"));
        }
        println!("{:>4}  {}  {:<24}  {}", i, job.dir, state, job.label());
    }
    println!("{done}/{} jobs finished", sweep.jobs.len());
    Ok(ExitCode::SUCCESS)
}

/// Runs (or submits) the unfinished jobs of the sweep in `dir` as `args` say over how it was last launched
/// (remembered in `sweep.json` for the next resume), then writes and prints its summary.
pub fn launch(dir: &Path, mut sweep: Sweep, args: &LaunchArgs) -> Result<ExitCode> {
    let settings = args.over(sweep.launch.as_ref());
    if sweep.launch.as_ref() != Some(&settings) {
        sweep.launch = Some(settings.clone());
        sweep.save(dir)?;
    }
    let exe = std::env::current_exe().context("cannot find the reprobe executable")?;
    if settings.launcher == Launcher::Slurm {
        let first_job = RunDir::new(sweep.job_dir(dir, 0)).config();
        let cfg = resolve_table(
            std::fs::read_to_string(&first_job)
                .with_context(|| format!("cannot read {}", first_job.display()))?
                .parse()
                .with_context(|| format!("{} is not valid TOML", first_job.display()))?,
            &first_job.display().to_string(),
            &[],
        )?;
        match slurm::submit_unfinished(dir, &mut sweep, &exe, &cfg.config.slurm)? {
            Submission::AllFinished => {
                println!("every job of {} is finished", dir.display());
                print_summary(dir)?;
            }
            Submission::AllQueued | Submission::Submitted(_) => println!(
                "when the arrays have ended, `reprobe sweep resume {}` submits what did not finish, or \
                 writes the summary",
                dir.display()
            ),
            Submission::Written(_) => {}
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let parallel = settings.parallel();
    let devices = settings.device_names();
    if !devices.is_empty() {
        println!("{parallel} job(s) at once on {}", devices.join(", "));
    }
    let runner = LocalRunner {
        program: exe,
        args: vec!["sweep".into(), "run-job".into()],
        parallel,
        devices,
        threads_per_job: (cores / parallel).max(1),
    };
    let report = runner.run(dir)?;
    println!(
        "{} jobs finished now, {} before{}",
        report.finished,
        report.already_done,
        if report.failed.is_empty() {
            String::new()
        } else {
            format!(", {} FAILED: {:?}", report.failed.len(), report.failed)
        }
    );
    print_summary(dir)?;
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes the summary of the sweep in `dir` over its finished jobs and prints it (nothing when none finished).
fn print_summary(dir: &Path) -> Result<()> {
    if let Some(md) = write_sweep_summary(dir)? {
        println!("\n{md}");
        println!("summary: {}/summary.{{md,csv,json}}", dir.display());
    }
    Ok(())
}

/// Writes `summary.{json,csv,md}` of a sweep over its finished jobs; returns the Markdown table.
fn write_sweep_summary(dir: &Path) -> Result<Option<String>> {
    let (runs, swept) = load_runs(&[dir.to_path_buf()])?;
    let keys = grouping_keys(&[], &swept);
    let summary = summary_of(&runs, &keys);
    if summary.rows.is_empty() {
        return Ok(None);
    }
    summary.write(dir, PREFERRED_METRICS)?;
    let metrics: Vec<String> = summary
        .metric_names(PREFERRED_METRICS)
        .into_iter()
        .filter(|m| PREFERRED_METRICS.contains(&m.as_str()))
        .collect();
    Ok(Some(summary.to_markdown(&metrics)))
}
