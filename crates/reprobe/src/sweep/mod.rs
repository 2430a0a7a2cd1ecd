//! Sweeps (`--multirun`): the cartesian product of swept overrides, one job folder each, run in parallel,
//! resumable, aggregated into a table of mean ± std per setting.
//!
//! A sweep folder holds:
//! ```text
//! sweep.json          the job list and each job's state (rewritten atomically by the sweep process only)
//! job-000/ ...        one run folder per job: config.toml (resolved), metrics.jsonl, checkpoints/, result.json
//! summary.{json,csv,md}  the aggregate over finished jobs
//! ```
//! A job is finished exactly when its `result.json` exists (written atomically as a run's last act), so killing
//! the sweep at any moment loses no finished result; a restarted sweep resumes unfinished jobs from their last
//! checkpoint.
pub mod runner;
pub mod slurm;
pub mod summary;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use toml::Value;

pub use crate::config::overrides::display_value;
use crate::config::overrides::{Override, OverrideAction};
use crate::fsutil;

/// File name of the sweep state.
pub const SWEEP_FILE: &str = "sweep.json";

/// The state of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Not started yet.
    Pending,
    /// Started by a sweep process (which may have been killed since).
    Running,
    /// Finished: its `result.json` exists.
    Done,
    /// Its last attempt failed; the error is recorded. A restarted sweep tries it again.
    Failed,
}

/// One job of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// 0-based position in the sweep.
    pub index: usize,
    /// The job's folder, relative to the sweep folder (`job-000`).
    pub dir: String,
    /// The swept `key=value` pairs that define this job.
    pub assignment: Vec<(String, String)>,
    /// Current state.
    pub state: JobState,
    /// The last error, for failed jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many times a sweep process started this job.
    #[serde(default)]
    pub attempts: u32,
    /// The device the local launcher gave the job's last attempt (`cuda:1`); none = the config's `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// When the local launcher started the job's last attempt (Unix time in milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_ms: Option<u64>,
    /// When the local launcher saw the job's last attempt end (Unix time in milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_unix_ms: Option<u64>,
}

impl Job {
    /// `seed=1 aggregate.kind=mean` style label.
    pub fn label(&self) -> String {
        self.assignment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The assignment without the seed: the "setting" that rows of the summary group by.
    pub fn setting(&self) -> Vec<(String, String)> {
        self.assignment
            .iter()
            .filter(|(k, _)| !is_seed_key(k))
            .cloned()
            .collect()
    }
}

/// Whether a key is the run seed (excluded from the settings a summary groups by).
pub fn is_seed_key(key: &str) -> bool {
    key == "seed"
}

/// The whole sweep state, as stored in `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The config's `name`.
    pub name: String,
    /// The config file the sweep was made from.
    pub config: PathBuf,
    /// The command-line overrides as given (swept and fixed).
    pub overrides: Vec<String>,
    /// The swept keys, in command-line order.
    pub swept_keys: Vec<String>,
    /// When the sweep was created (RFC 3339, UTC).
    pub created: String,
    /// The working folder of the command that made the sweep. Jobs run there (locally and under Slurm), so that
    /// relative paths in their configs mean what they meant then, wherever the sweep is resumed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<PathBuf>,
    /// The jobs.
    pub jobs: Vec<Job>,
    /// How the sweep was last launched (`sweep resume` launches it the same way unless told otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<LaunchSettings>,
    /// The Slurm job ids of the arrays submitted for this sweep, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slurm_arrays: Vec<u64>,
}

/// Where sweep jobs run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Launcher {
    /// On this machine, `--jobs` at a time (or one per `--devices` entry).
    #[default]
    Local,
    /// As a Slurm job array (`sbatch --array`).
    Slurm,
}

/// How a sweep's jobs are launched: `--launcher`, `--jobs`, `--devices`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSettings {
    /// Where the jobs run.
    pub launcher: Launcher,
    /// Jobs at once on this machine; unset = one per device, or one without devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// GPU ordinals to share among jobs, one running job per device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<usize>,
}

impl LaunchSettings {
    /// The settings given on a command line (`None` or empty = not given) over `saved` ones (those a sweep was
    /// last launched with), over the defaults.
    pub fn given_over(
        saved: Option<&LaunchSettings>,
        launcher: Option<Launcher>,
        jobs: Option<usize>,
        devices: &[usize],
    ) -> LaunchSettings {
        let saved = saved.cloned().unwrap_or_default();
        LaunchSettings {
            launcher: launcher.unwrap_or(saved.launcher),
            jobs: jobs.or(saved.jobs),
            devices: if devices.is_empty() {
                saved.devices
            } else {
                devices.to_vec()
            },
        }
    }

    /// Jobs at once on this machine: `--jobs` (at most one per device), else one per device, else one.
    pub fn parallel(&self) -> usize {
        match (self.jobs, self.devices.len()) {
            (Some(jobs), 0) => jobs.max(1),
            (Some(jobs), n) => jobs.clamp(1, n),
            (None, 0) => 1,
            (None, n) => n,
        }
    }

    /// The devices as config values (`cuda:0`, `cuda:1`).
    pub fn device_names(&self) -> Vec<String> {
        self.devices.iter().map(|d| format!("cuda:{d}")).collect()
    }
}

impl Sweep {
    /// A sweep with no jobs that stands for a command, to find an earlier sweep of the same command
    /// ([`find_same_sweep`]).
    pub fn probe(name: &str, config: &Path, overrides: &[Override]) -> Sweep {
        Sweep {
            name: name.to_string(),
            config: config.to_path_buf(),
            overrides: overrides.iter().map(|o| o.raw.clone()).collect(),
            swept_keys: vec![],
            created: String::new(),
            workdir: None,
            jobs: vec![],
            launch: None,
            slurm_arrays: vec![],
        }
    }

    /// Reads `DIR/sweep.json`.
    pub fn load(dir: &Path) -> Result<Sweep> {
        let path = dir.join(SWEEP_FILE);
        if !path.exists() {
            bail!(
                "{} is not a sweep folder: it has no {SWEEP_FILE}",
                dir.display()
            );
        }
        fsutil::read_json(&path)
    }

    /// Writes `DIR/sweep.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        fsutil::write_json_atomic(&dir.join(SWEEP_FILE), self)
    }

    /// Whether two sweeps were made from the same command (same config file, same overrides).
    pub fn same_command(&self, other: &Sweep) -> bool {
        self.config == other.config && self.overrides == other.overrides
    }

    /// The folder of job `index`.
    pub fn job_dir(&self, sweep_dir: &Path, index: usize) -> PathBuf {
        sweep_dir.join(&self.jobs[index].dir)
    }
}

/// A job of an expanded sweep: its swept `key=value` assignment and every single-valued override that makes its
/// config.
pub type ExpandedJob = (Vec<(String, String)>, Vec<Override>);

/// Splits overrides into fixed ones and swept axes, and expands the axes into the cartesian product
/// (the first swept key varies slowest, as in Hydra's basic sweeper). Returns, per job, its assignment and the
/// full list of single-valued overrides that produce its config.
pub fn expand(overrides: &[Override]) -> Result<Vec<ExpandedJob>> {
    let mut fixed = Vec::new();
    let mut axes: Vec<(&Override, &Vec<Value>)> = Vec::new();
    for o in overrides {
        match &o.action {
            OverrideAction::Sweep(values) => {
                if axes.iter().any(|(a, _)| a.path == o.path) {
                    bail!("`{}` is swept twice", o.key());
                }
                axes.push((o, values));
            }
            _ => fixed.push(o.clone()),
        }
    }
    let mut jobs = vec![(Vec::new(), fixed)];
    for (axis, values) in axes {
        let mut next = Vec::with_capacity(jobs.len() * values.len());
        for (assignment, overrides) in &jobs {
            for value in values {
                let mut assignment: Vec<(String, String)> = assignment.clone();
                assignment.push((axis.key(), display_value(value)));
                let mut overrides: Vec<Override> = overrides.clone();
                overrides.push(Override {
                    path: axis.path.clone(),
                    action: OverrideAction::Set(value.clone()),
                    raw: format!("{}={}", axis.key(), display_value(value)),
                });
                next.push((assignment, overrides));
            }
        }
        jobs = next;
    }
    Ok(jobs)
}

/// Writes the initial sweep state and job folders (each with its resolved `config.toml`).
pub fn create(
    dir: &Path,
    name: &str,
    config: &Path,
    overrides: &[Override],
    jobs: Vec<(Vec<(String, String)>, String)>,
) -> Result<Sweep> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create sweep folder {}", dir.display()))?;
    let swept_keys = overrides
        .iter()
        .filter(|o| matches!(o.action, OverrideAction::Sweep(_)))
        .map(Override::key)
        .collect();
    let width = jobs.len().saturating_sub(1).to_string().len().max(3);
    let mut list = Vec::with_capacity(jobs.len());
    for (index, (assignment, config_text)) in jobs.into_iter().enumerate() {
        let job_dir = format!("job-{index:0width$}");
        let path = dir.join(&job_dir);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        fsutil::write_atomic(
            &crate::run_dir::RunDir::new(&path).config(),
            config_text.as_bytes(),
        )?;
        list.push(Job {
            index,
            dir: job_dir,
            assignment,
            state: JobState::Pending,
            error: None,
            attempts: 0,
            device: None,
            started_unix_ms: None,
            ended_unix_ms: None,
        });
    }
    let sweep = Sweep {
        name: name.to_string(),
        config: config.to_path_buf(),
        overrides: overrides.iter().map(|o| o.raw.clone()).collect(),
        swept_keys,
        created: crate::timestamp::rfc3339_now(),
        workdir: Some(std::env::current_dir().context("cannot read the working folder")?),
        jobs: list,
        launch: None,
        slurm_arrays: vec![],
    };
    sweep.save(dir)?;
    Ok(sweep)
}

/// The newest sweep folder under `parent` made by the same command, if any.
pub fn find_same_sweep(parent: &Path, probe: &Sweep) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(parent)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(SWEEP_FILE).exists())
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|dir| Sweep::load(dir).is_ok_and(|s| s.same_command(probe)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::overrides::parse_override;

    fn os(args: &[&str]) -> Vec<Override> {
        args.iter().map(|a| parse_override(a).unwrap()).collect()
    }

    #[test]
    fn cartesian_product_first_key_slowest() {
        let jobs = expand(&os(&[
            "train.max_epochs=2",
            "aggregate.kind=mean,sum",
            "seed=1,2,3",
        ]))
        .unwrap();
        assert_eq!(jobs.len(), 6);
        let labels: Vec<String> = jobs
            .iter()
            .map(|(a, _)| {
                a.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(labels[0], "aggregate.kind=mean seed=1");
        assert_eq!(labels[2], "aggregate.kind=mean seed=3");
        assert_eq!(labels[3], "aggregate.kind=sum seed=1");
        // Every job keeps the fixed override and gets single-valued ones for the swept keys.
        for (_, overrides) in &jobs {
            assert_eq!(overrides.len(), 3);
            assert!(overrides
                .iter()
                .all(|o| matches!(o.action, OverrideAction::Set(_))));
            assert_eq!(overrides[0].raw, "train.max_epochs=2");
        }
        let job = Job {
            index: 0,
            dir: "job-000".into(),
            assignment: jobs[4].0.clone(),
            state: JobState::Pending,
            error: None,
            attempts: 0,
            device: None,
            started_unix_ms: None,
            ended_unix_ms: None,
        };
        assert_eq!(
            job.setting(),
            vec![("aggregate.kind".to_string(), "sum".to_string())]
        );
    }

    #[test]
    fn launch_flags_given_win_over_saved_ones_and_devices_set_the_parallelism() {
        let saved = LaunchSettings {
            launcher: Launcher::Slurm,
            jobs: Some(2),
            devices: vec![0, 1, 2],
        };
        assert_eq!(
            LaunchSettings::given_over(Some(&saved), None, None, &[]),
            saved
        );
        let given = LaunchSettings::given_over(Some(&saved), Some(Launcher::Local), None, &[4]);
        assert_eq!(
            given,
            LaunchSettings {
                launcher: Launcher::Local,
                jobs: Some(2),
                devices: vec![4],
            }
        );
        let parallel = |jobs, devices: &[usize]| {
            LaunchSettings::given_over(None, None, jobs, devices).parallel()
        };
        assert_eq!(parallel(None, &[]), 1);
        assert_eq!(parallel(Some(3), &[]), 3);
        assert_eq!(parallel(None, &[0, 1, 2, 3]), 4);
        assert_eq!(parallel(Some(2), &[0, 1, 2, 3]), 2);
        assert_eq!(parallel(Some(8), &[0, 1]), 2);
    }

    #[test]
    fn no_sweep_is_one_job_and_double_sweep_is_an_error() {
        assert_eq!(expand(&os(&["seed=1"])).unwrap().len(), 1);
        assert!(expand(&os(&["seed=1,2", "seed=3,4"])).is_err());
    }

    #[test]
    fn create_load_and_find_again() {
        let root = tempfile::tempdir().unwrap();
        let overrides = os(&["seed=1,2"]);
        let jobs = expand(&overrides)
            .unwrap()
            .into_iter()
            .map(|(a, _)| (a, "seed = 1\n".to_string()))
            .collect();
        let dir = root.path().join("2026-01-01_00-00-00");
        let sweep = create(&dir, "x", Path::new("c.toml"), &overrides, jobs).unwrap();
        assert!(dir.join("job-000/config.toml").exists());
        assert_eq!(Sweep::load(&dir).unwrap(), sweep);
        assert_eq!(find_same_sweep(root.path(), &sweep), Some(dir));
        let mut other = sweep.clone();
        other.overrides = vec!["seed=1,2,3".into()];
        assert_eq!(find_same_sweep(root.path(), &other), None);
    }
}
