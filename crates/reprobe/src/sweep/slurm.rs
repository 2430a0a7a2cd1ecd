//! `--launcher slurm`: one `sbatch --array` script for the unfinished jobs of a sweep; each array task runs
//! `reprobe sweep run-job DIR $SLURM_ARRAY_TASK_ID` (task id = job index). The arrays' job ids are kept in
//! `sweep.json`, so that a resume does not submit again what Slurm still holds, and `sweep status` shows it.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::Sweep;
use crate::config::schema::SlurmConfig;
use crate::fsutil;
use crate::run_dir::RunDir;

/// What [`submit_unfinished`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// Every job has its result: nothing to submit.
    AllFinished,
    /// Every unfinished job is still pending or running in an earlier array: nothing submitted again.
    AllQueued,
    /// An array was submitted: its Slurm job id.
    Submitted(u64),
    /// `sbatch` is not on this machine: the script was written, and the command to submit it printed.
    Written(PathBuf),
}

/// Submits the unfinished jobs of the sweep in `dir` as one array, leaving out those an earlier array of the
/// sweep still holds (pending or running: submitting them again would run them twice), and records the new
/// array's job id in `sweep.json`.
pub fn submit_unfinished(
    dir: &Path,
    sweep: &mut Sweep,
    exe: &Path,
    cfg: &SlurmConfig,
) -> Result<Submission> {
    let queued = queued_jobs(sweep);
    if !queued.is_empty() {
        let list: Vec<String> = queued
            .iter()
            .map(|(i, task)| format!("{} ({task})", sweep.jobs[*i].dir))
            .collect();
        println!("still in Slurm, not submitted again: {}", list.join(", "));
    }
    let todo: Vec<usize> = (0..sweep.jobs.len())
        .filter(|&i| !RunDir::new(sweep.job_dir(dir, i)).is_finished())
        .collect();
    if todo.is_empty() {
        return Ok(Submission::AllFinished);
    }
    let todo: Vec<usize> = todo
        .into_iter()
        .filter(|i| !queued.contains_key(i))
        .collect();
    if todo.is_empty() {
        return Ok(Submission::AllQueued);
    }
    let script = write_script(dir, sweep, exe, cfg, &todo)?;
    println!("wrote {}", script.display());
    let Some(id) = submit(&script)? else {
        return Ok(Submission::Written(script));
    };
    sweep.slurm_arrays.push(id);
    sweep.save(dir)?;
    Ok(Submission::Submitted(id))
}

/// Writes `DIR/slurm/submit.sh`, an array over the jobs `todo`, and returns its path.
fn write_script(
    dir: &Path,
    sweep: &Sweep,
    exe: &Path,
    cfg: &SlurmConfig,
    todo: &[usize],
) -> Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let slurm_dir = dir.join("slurm");
    std::fs::create_dir_all(&slurm_dir)
        .with_context(|| format!("cannot create {}", slurm_dir.display()))?;
    let script = render(&dir, sweep, exe, cfg, todo);
    let path = slurm_dir.join("submit.sh");
    fsutil::write_atomic(&path, script.as_bytes())?;
    Ok(path)
}

fn render(dir: &Path, sweep: &Sweep, exe: &Path, cfg: &SlurmConfig, todo: &[usize]) -> String {
    let mut array = compress_ranges(todo);
    if let Some(n) = cfg.max_parallel {
        array.push_str(&format!("%{n}"));
    }
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "#SBATCH --job-name={}",
            sbatch_quote(&format!(
                "reprobe-{}",
                sweep.name.replace(char::is_whitespace, "_")
            ))
        ),
        format!("#SBATCH --array={array}"),
        format!(
            "#SBATCH --output={}",
            sbatch_quote(&format!("{}/slurm/%A_%a.log", dir.display()))
        ),
    ];
    if let Some(workdir) = &sweep.workdir {
        lines.push(format!(
            "#SBATCH --chdir={}",
            sbatch_quote(&workdir.display().to_string())
        ));
    }
    if let Some(p) = &cfg.partition {
        lines.push(format!("#SBATCH --partition={p}"));
    }
    if let Some(t) = &cfg.time {
        lines.push(format!("#SBATCH --time={t}"));
    }
    if cfg.gpus > 0 {
        lines.push(format!("#SBATCH --gres=gpu:{}", cfg.gpus));
    }
    if let Some(c) = cfg.cpus_per_task {
        lines.push(format!("#SBATCH --cpus-per-task={c}"));
    }
    if let Some(m) = &cfg.mem {
        lines.push(format!("#SBATCH --mem={m}"));
    }
    lines.extend(cfg.extra.iter().cloned());
    lines.push(String::new());
    lines.push("set -euo pipefail".to_string());
    // CPU threads: those Slurm allocated to the task, not every core of the node.
    lines.push(
        "export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-1}}".to_string(),
    );
    let device = if cfg.gpus > 0 { " --device cuda:0" } else { "" };
    lines.push(format!(
        "exec {} sweep run-job {} \"$SLURM_ARRAY_TASK_ID\"{device}",
        shell_quote(&exe.display().to_string()),
        shell_quote(&dir.display().to_string())
    ));
    lines.push(String::new());
    lines.join("\n")
}

/// `[0,1,2,5,7,8]` → `"0-2,5,7-8"`.
fn compress_ranges(items: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let start = items[i];
        let mut end = start;
        while i + 1 < items.len() && items[i + 1] == end + 1 {
            i += 1;
            end = items[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// A value for an `#SBATCH` line: sbatch splits those lines at white space and cuts them at an unescaped
/// `#` unless the value is in quotes, where a backslash escapes the next character (`get_argument` in
/// sbatch's option parser). Plain paths stay bare.
fn sbatch_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=%".contains(c))
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

/// Submits the script with `sbatch` when it is on the PATH and returns the array's job id; otherwise prints
/// what to run.
fn submit(script: &Path) -> Result<Option<u64>> {
    if !on_path("sbatch") {
        println!(
            "sbatch is not on this machine's PATH; submit the sweep from a Slurm login node with:"
        );
        println!("  sbatch {}", script.display());
        return Ok(None);
    }
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .context("cannot run sbatch")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // `--parsable` prints `ID` or `ID;CLUSTER`.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout
        .trim()
        .split(';')
        .next()
        .and_then(|id| id.parse().ok())
        .with_context(|| {
            format!(
                "sbatch --parsable printed `{}`, not a job id",
                stdout.trim()
            )
        })?;
    println!("Submitted batch job {id}");
    Ok(Some(id))
}

/// The jobs of the sweep that its earlier arrays still hold, pending or running, by index: `17_3 RUNNING`.
/// Empty when `squeue` is not on this machine or Slurm has forgotten the arrays.
pub fn queued_jobs(sweep: &Sweep) -> BTreeMap<usize, String> {
    let mut queued = BTreeMap::new();
    if sweep.slurm_arrays.is_empty() || !on_path("squeue") {
        return queued;
    }
    for array in &sweep.slurm_arrays {
        // One array at a time: squeue refuses a list that holds an id it no longer knows.
        let Ok(out) = Command::new("squeue")
            .args(["--noheader", "--array", "--format=%F %K %T", "--jobs"])
            .arg(array.to_string())
            .output()
        else {
            continue;
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let [id, task, state] = line.split_whitespace().collect::<Vec<_>>()[..] {
                if let Ok(index) = task.parse::<usize>() {
                    if id == array.to_string() && index < sweep.jobs.len() {
                        queued.insert(index, format!("{id}_{task} {state}"));
                    }
                }
            }
        }
    }
    queued
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::overrides::parse_override;
    use crate::sweep::{create, expand};

    #[test]
    fn ranges_compress() {
        assert_eq!(compress_ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(compress_ranges(&[3]), "3");
    }

    #[test]
    fn script_lists_the_jobs_and_cluster_options() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("s");
        let overrides = vec![parse_override("seed=1,2,3,4").unwrap()];
        let jobs = expand(&overrides)
            .unwrap()
            .into_iter()
            .map(|(a, _)| (a, String::new()))
            .collect();
        let sweep = create(&dir, "probe mrpc", Path::new("c.toml"), &overrides, jobs).unwrap();
        let cfg = SlurmConfig {
            partition: Some("gpu".into()),
            time: Some("12:00:00".into()),
            gpus: 1,
            cpus_per_task: Some(8),
            mem: Some("32G".into()),
            max_parallel: Some(2),
            extra: vec!["#SBATCH --account=nlp".into(), "module load cuda".into()],
        };
        let exe = Path::new("/opt/reprobe/bin/reprobe");
        let path = write_script(&dir, &sweep, exe, &cfg, &[0, 2, 3]).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let canon = dir.canonicalize().unwrap();
        let expected = format!(
            "#!/bin/bash\n#SBATCH --job-name=reprobe-probe_mrpc\n#SBATCH --array=0,2-3%2\n\
             #SBATCH --output={d}/slurm/%A_%a.log\n#SBATCH --chdir={w}\n#SBATCH --partition=gpu\n\
             #SBATCH --time=12:00:00\n#SBATCH --gres=gpu:1\n#SBATCH --cpus-per-task=8\n#SBATCH --mem=32G\n\
             #SBATCH --account=nlp\nmodule load cuda\n\nset -euo pipefail\n\
             export RAYON_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-${{SLURM_CPUS_ON_NODE:-1}}}}\n\
             exec /opt/reprobe/bin/reprobe sweep run-job {d} \"$SLURM_ARRAY_TASK_ID\" --device cuda:0\n",
            d = canon.display(),
            w = std::env::current_dir().unwrap().display()
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn sbatch_values_with_spaces_quotes_or_hashes_are_quoted() {
        assert_eq!(
            sbatch_quote("/data/run_1/slurm/%A_%a.log"),
            "/data/run_1/slurm/%A_%a.log"
        );
        assert_eq!(sbatch_quote("/my runs/s"), "\"/my runs/s\"");
        assert_eq!(sbatch_quote(r#"/a"b\c#d"#), r#""/a\"b\\c#d""#);
    }
}
