//! Runs the jobs of a sweep on this machine, `--jobs N` at a time, each in its own process.
//!
//! Each job runs as `reprobe sweep run-job DIR INDEX` (the same entry point a Slurm array task uses). Its standard
//! output and error (progress, warnings, the error that ended it) go to `job-XXX/output.txt`; the run's own
//! `log.txt` beside it holds only the log lines. On Linux a job process dies with the sweep process
//! (`PR_SET_PDEATHSIG`), and a job takes a lock on its folder, so a restarted sweep never runs a job twice at once.
//! A job is done exactly when its `result.json` exists.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::{JobState, Sweep};
use crate::run_dir::RunDir;

/// Exit code of `run-job` when another process holds the job's lock.
pub const EXIT_JOB_BUSY: i32 = 75;

/// A job process's standard output and error, in its folder.
pub const JOB_OUTPUT_FILE: &str = "output.txt";

/// How to run jobs locally.
#[derive(Debug, Clone)]
pub struct LocalRunner {
    /// The program to start (normally this executable).
    pub program: PathBuf,
    /// Arguments before `DIR INDEX` (normally `["sweep", "run-job"]`).
    pub args: Vec<String>,
    /// Jobs at once.
    pub parallel: usize,
    /// Devices to hand out, one per running job (`cuda:0`, `cuda:1`); empty = CPU for every job.
    pub devices: Vec<String>,
    /// CPU threads per job (`RAYON_NUM_THREADS`); 0 = leave the default.
    pub threads_per_job: usize,
}

/// What a local run of a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Jobs finished before this run started.
    pub already_done: usize,
    /// Jobs finished by this run.
    pub finished: usize,
    /// Jobs that failed in this run.
    pub failed: Vec<usize>,
    /// The first job that failed in this run, with its error and the last lines of its `output.txt` (what the
    /// sweep prints at its end, so that a failure is seen without opening the job folder).
    pub first_failure: Option<String>,
}

struct Running {
    index: usize,
    child: Child,
    device: Option<String>,
    started: Instant,
}

impl LocalRunner {
    /// Runs every unfinished job of the sweep in `dir`, updating `sweep.json` as jobs start and end.
    pub fn run(&self, dir: &Path) -> Result<RunReport> {
        // Jobs run in the sweep's working folder, which need not be this one.
        let dir = &dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let mut sweep = Sweep::load(dir)?;
        let mut report = RunReport::default();
        let mut queue = VecDeque::new();
        for i in 0..sweep.jobs.len() {
            if RunDir::new(sweep.job_dir(dir, i)).is_finished() {
                sweep.jobs[i].state = JobState::Done;
                report.already_done += 1;
            } else {
                queue.push_back(i);
            }
        }
        sweep.save(dir)?;
        let bar = ProgressBar::new(sweep.jobs.len() as u64).with_style(
            ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} jobs ({eta} left) {msg}",
            )
            .expect("static template"),
        );
        bar.set_prefix(format!("sweep {}", sweep.name));
        bar.set_position(report.already_done as u64);
        let parallel = if self.devices.is_empty() {
            self.parallel.max(1)
        } else {
            self.parallel.max(1).min(self.devices.len())
        };
        let mut free_devices: Vec<String> = self.devices.iter().rev().cloned().collect();
        let mut running: Vec<Running> = Vec::new();
        while !queue.is_empty() || !running.is_empty() {
            while running.len() < parallel {
                let Some(index) = queue.pop_front() else {
                    break;
                };
                let device = free_devices.pop();
                let child = self.spawn(dir, &sweep, index, device.as_deref())?;
                let job = &mut sweep.jobs[index];
                job.state = JobState::Running;
                job.attempts += 1;
                job.device = device.clone();
                job.started_unix_ms = Some(unix_ms_now());
                job.ended_unix_ms = None;
                sweep.save(dir)?;
                bar.set_message(format!(
                    "started {} ({})",
                    sweep.jobs[index].dir,
                    sweep.jobs[index].label()
                ));
                running.push(Running {
                    index,
                    child,
                    device,
                    started: Instant::now(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
            let mut still = Vec::with_capacity(running.len());
            for mut job in running {
                match job.child.try_wait().context("cannot poll a job process")? {
                    None => still.push(job),
                    Some(status) => {
                        if let Some(d) = job.device.take() {
                            free_devices.push(d);
                        }
                        let j = &mut sweep.jobs[job.index];
                        j.ended_unix_ms = Some(unix_ms_now());
                        let done = RunDir::new(dir.join(&j.dir)).is_finished();
                        if done {
                            j.state = JobState::Done;
                            j.error = None;
                            report.finished += 1;
                            bar.inc(1);
                            bar.println(format!(
                                "{} done in {:.0?} ({})",
                                j.dir,
                                job.started.elapsed(),
                                j.label()
                            ));
                        } else if status.code() == Some(EXIT_JOB_BUSY) {
                            // Another process runs it (an earlier sweep's job still ending): try again later.
                            j.state = JobState::Pending;
                            queue.push_back(job.index);
                            std::thread::sleep(Duration::from_secs(1));
                        } else {
                            j.state = JobState::Failed;
                            let output = dir.join(&j.dir).join(JOB_OUTPUT_FILE);
                            j.error = Some(format!(
                                "{status}; last lines of {}:\n{}",
                                output.display(),
                                tail(&output, 5)
                            ));
                            report.failed.push(job.index);
                            if report.first_failure.is_none() {
                                report.first_failure = Some(format!(
                                    "{} ({}) failed: {}",
                                    j.dir,
                                    j.label(),
                                    j.error.as_deref().unwrap_or_default()
                                ));
                            }
                            bar.println(format!(
                                "{} FAILED ({status}); see {}",
                                j.dir,
                                output.display()
                            ));
                        }
                        sweep.save(dir)?;
                    }
                }
            }
            running = still;
        }
        bar.finish_and_clear();
        if let Some(message) = failure_message(&report) {
            eprintln!("{message}");
        }
        Ok(report)
    }

    fn spawn(
        &self,
        dir: &Path,
        sweep: &Sweep,
        index: usize,
        device: Option<&str>,
    ) -> Result<Child> {
        let job_dir = sweep.job_dir(dir, index);
        let output_path = job_dir.join(JOB_OUTPUT_FILE);
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&output_path)
            .with_context(|| format!("cannot open {}", output_path.display()))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).arg(dir).arg(index.to_string());
        if let Some(workdir) = &sweep.workdir {
            cmd.current_dir(workdir);
        }
        if let Some(d) = device {
            cmd.arg("--device").arg(d);
        }
        if self.threads_per_job > 0 {
            cmd.env("RAYON_NUM_THREADS", self.threads_per_job.to_string());
        }
        cmd.stdin(Stdio::null())
            .stdout(output.try_clone().context("cannot share the output file")?)
            .stderr(output);
        die_with_parent(&mut cmd);
        cmd.spawn()
            .with_context(|| format!("cannot start {} for job {index}", self.program.display()))
    }
}

/// Milliseconds since the Unix epoch.
fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// What a sweep prints at its end when jobs failed: how many, and the first one's error quoted.
fn failure_message(report: &RunReport) -> Option<String> {
    let first = report.first_failure.as_ref()?;
    let quoted: Vec<String> = first.lines().map(|l| format!("    {l}")).collect();
    Some(format!(
        "{} job(s) FAILED; the first:\n{}",
        report.failed.len(),
        quoted.join("\n")
    ))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::overrides::parse_override;
    use crate::sweep::{create, expand};

    fn sweep_with(n: usize) -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("s");
        let values: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let overrides = vec![parse_override(&format!("seed={}", values.join(","))).unwrap()];
        let jobs = expand(&overrides)
            .unwrap()
            .into_iter()
            .map(|(a, _)| (a, String::new()))
            .collect();
        create(&dir, "t", Path::new("c.toml"), &overrides, jobs).unwrap();
        (root, dir)
    }

    /// A fake job: writes result.json unless the job index is in FAIL.
    fn fake_runner(fail: &str) -> LocalRunner {
        let script = format!(
            r#"idx=$2; d=$(printf '%s/job-%03d' "$1" "$idx"); case " {fail} " in *" $idx "*) echo "loading job $idx"; echo "error: boom in job $idx"; exit 3;; esac; echo '{{"val/f1": 0.5}}' > "$d/result.json""#
        );
        LocalRunner {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script, "fake".into()],
            parallel: 2,
            devices: vec![],
            threads_per_job: 1,
        }
    }

    #[test]
    fn runs_all_jobs_then_skips_finished_ones() {
        let (_root, dir) = sweep_with(3);
        let report = fake_runner("1").run(&dir).unwrap();
        assert_eq!(
            report,
            RunReport {
                already_done: 0,
                finished: 2,
                failed: vec![1],
                first_failure: report.first_failure.clone(),
            }
        );
        let sweep = Sweep::load(&dir).unwrap();
        assert_eq!(sweep.jobs[1].state, JobState::Failed);
        assert!(sweep.jobs[1].error.as_deref().unwrap().contains("boom"));
        // Run again: only the failed job runs.
        let report = fake_runner("").run(&dir).unwrap();
        assert_eq!(
            report,
            RunReport {
                already_done: 2,
                finished: 1,
                failed: vec![],
                first_failure: None,
            }
        );
        assert!(Sweep::load(&dir)
            .unwrap()
            .jobs
            .iter()
            .all(|j| j.state == JobState::Done));
    }

    #[test]
    fn the_first_failed_job_is_quoted() {
        let (_root, dir) = sweep_with(4);
        let mut runner = fake_runner("1 3");
        runner.parallel = 1;
        let report = runner.run(&dir).unwrap();
        assert_eq!(report.failed, vec![1, 3]);
        let first = report.first_failure.clone().unwrap();
        assert!(
            first.starts_with("job-001 (seed=1) failed: exit status: 3"),
            "{first}"
        );
        assert!(first.contains("job-001/output.txt"), "{first}");
        assert!(
            first.contains("loading job 1\nerror: boom in job 1"),
            "{first}"
        );
        assert!(!first.contains("job 3"), "{first}");
        let message = failure_message(&report).unwrap();
        assert!(
            message.starts_with("2 job(s) FAILED; the first:\n    job-001"),
            "{message}"
        );
        assert!(message.contains("\n    error: boom in job 1"), "{message}");
        assert_eq!(failure_message(&RunReport::default()), None);
    }
}
