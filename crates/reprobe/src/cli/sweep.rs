//! `reprobe sweep`: resume a sweep, run one of its jobs (what a local job process or a Slurm array task
//! runs), or show its state.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use super::train::{launch, Launcher};
use crate::config::overrides::parse_override;
use crate::config::resolve_table;
use crate::run_dir::RunDir;
use crate::sweep::runner::EXIT_JOB_BUSY;
use crate::sweep::Sweep;
use crate::train::fit::{fit, RunBusy};

/// Resume a sweep, run one of its jobs, or show its state.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: SweepCommand,
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Run the unfinished jobs of a sweep folder (interrupted ones resume from their last checkpoint).
    Resume {
        /// The sweep folder (holds sweep.json).
        dir: PathBuf,
        /// Jobs at once.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// GPUs to share among jobs, one job per device.
        #[arg(long, value_delimiter = ',')]
        devices: Vec<usize>,
        /// Where jobs run.
        #[arg(long, value_enum, default_value_t = Launcher::Local)]
        launcher: Launcher,
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
        SweepCommand::Resume {
            dir,
            jobs,
            devices,
            launcher,
        } => {
            let sweep = Sweep::load(&dir)?;
            launch(&dir, &sweep, launcher, jobs, &devices)
        }
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
        SweepCommand::Status { dir } => {
            let sweep = Sweep::load(&dir)?;
            let mut done = 0;
            for (i, job) in sweep.jobs.iter().enumerate() {
                let finished = RunDir::new(sweep.job_dir(&dir, i)).is_finished();
                done += usize::from(finished);
                let state = if finished {
                    "done".to_string()
                } else {
                    format!("{:?}", job.state).to_lowercase()
                };
                println!("{:>4}  {:<8} {}  {}", i, state, job.dir, job.label());
            }
            println!("{done}/{} jobs finished", sweep.jobs.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}
