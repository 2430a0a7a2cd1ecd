//! How a sweep launches its jobs: `--devices` without `--jobs` runs one job per device at once, and
//! `sweep resume` launches a sweep as it was last launched (`--jobs`, `--devices`, `--launcher`) unless told
//! otherwise.
//!
//! The devices are GPU ordinals that a CPU build cannot open, so every job ends quickly with that error; what is
//! checked is the schedule the sweep recorded in `sweep.json` (each job's device and the times the sweep started it
//! and saw it end), which is the same with or without GPUs. The Slurm launcher runs against stand-ins for `sbatch`
//! and `squeue` (scripts/slurm_check.sh runs a real Slurm).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod util;
use util::{read_json, repo};

/// A 4-seed sweep config over the tiny corpus and the tiny random BERT.
fn config(root: &Path) -> PathBuf {
    let text = format!(
        r#"name = "launch"
seed = 1

[data]
train = "{data}/train.english.v4_gold_conll"
dev = "{data}/dev.english.v4_gold_conll"

[encoders.enc]
checkpoint = "{ckpt}"
freeze = true

[train]
max_epochs = 1

[cache]
dir = "{cache}"
"#,
        data = repo().join("data/tiny").display(),
        ckpt = repo()
            .join("crates/reprobe-models/tests/fixtures/bert/tiny")
            .display(),
        cache = root.join("cache").display(),
    );
    let path = root.join("launch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs reprobe with `bin` first on the PATH (for the stand-in `sbatch`).
fn reprobe_with_path(bin: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .env("PATH", path)
        .output()
        .expect("the reprobe binary runs");
    // Jobs that cannot open their GPU fail (exit 1); anything else (a usage error, a panic) is a bug.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "reprobe {args:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A folder with stand-ins for `sbatch` and `squeue`: `sbatch` appends its arguments to `calls.txt` beside the
/// folder and answers job ids 4242, 4243, ...; `squeue --jobs ID` prints the lines of `queue.txt` (`ID TASK
/// STATE`, what `--format=%F %K %T` prints) that are about array ID.
fn fake_slurm(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let r = root.display();
    let sbatch = format!(
        "#!/bin/sh\necho \"$@\" >> {r}/calls.txt\nn=$(cat {r}/last_id 2>/dev/null || echo 4241)\n\
         n=$((n + 1)); echo $n > {r}/last_id\n\
         case \" $* \" in *\" --parsable \"*) echo $n;; *) echo \"Submitted batch job $n\";; esac\n"
    );
    let squeue = format!(
        "#!/bin/sh\nfor id; do :; done\nawk -v id=\"$id\" '$1 == id' {r}/queue.txt 2>/dev/null\nexit 0\n"
    );
    use std::os::unix::fs::PermissionsExt;
    for (name, text) in [("sbatch", sbatch), ("squeue", squeue)] {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// What `sweep.json` recorded of each job's last attempt.
#[derive(Debug)]
struct Attempt {
    device: Option<String>,
    started: u64,
    ended: u64,
}

fn attempts(dir: &Path) -> Vec<Attempt> {
    read_json(&dir.join("sweep.json"))["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| Attempt {
            device: j["device"].as_str().map(str::to_string),
            started: j["started_unix_ms"].as_u64().expect("a start time"),
            ended: j["ended_unix_ms"].as_u64().expect("an end time"),
        })
        .collect()
}

/// The most jobs that ran at once: the largest number of attempts whose [started, ended) intervals share an
/// instant. The sweep starts a job only after it has seen the one before it end, so this is exact, not timing.
fn most_at_once(attempts: &[Attempt]) -> usize {
    attempts
        .iter()
        .map(|a| {
            attempts
                .iter()
                .filter(|b| b.started <= a.started && a.started < b.ended)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn devices_of(attempts: &[Attempt]) -> Vec<Option<&str>> {
    let mut devices: Vec<Option<&str>> = attempts.iter().map(|a| a.device.as_deref()).collect();
    devices.sort();
    devices
}

#[test]
fn devices_without_jobs_run_one_job_per_device_at_once() {
    let root = tempfile::tempdir().unwrap();
    let cfg = config(root.path());
    let dir = root.path().join("sweep");
    let bin = fake_slurm(root.path());
    let out = reprobe_with_path(
        &bin,
        &[
            "train",
            cfg.to_str().unwrap(),
            "seed=1,2,3,4",
            "--multirun",
            "--devices",
            "0,1,2,3",
            "--sweep-dir",
            dir.to_str().unwrap(),
        ],
    );
    let jobs = attempts(&dir);
    assert_eq!(
        most_at_once(&jobs),
        4,
        "{jobs:?}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        devices_of(&jobs),
        [
            Some("cuda:0"),
            Some("cuda:1"),
            Some("cuda:2"),
            Some("cuda:3")
        ]
    );
}

#[test]
fn resume_launches_as_the_sweep_was_launched_unless_told_otherwise() {
    let root = tempfile::tempdir().unwrap();
    let cfg = config(root.path());
    let dir = root.path().join("sweep");
    let d = dir.to_str().unwrap();
    let bin = fake_slurm(root.path());
    let cfg = cfg.to_str().unwrap();
    reprobe_with_path(
        &bin,
        &[
            "train",
            cfg,
            "seed=1,2,3,4",
            "--multirun",
            "--jobs",
            "2",
            "--devices",
            "0,1,2",
            "--sweep-dir",
            d,
        ],
    );
    assert_eq!(most_at_once(&attempts(&dir)), 2);

    // No flags: 2 at once on the same devices again.
    reprobe_with_path(&bin, &["sweep", "resume", d]);
    let jobs = attempts(&dir);
    assert_eq!(most_at_once(&jobs), 2, "{jobs:?}");
    assert!(
        jobs.iter()
            .all(|j| matches!(j.device.as_deref(), Some("cuda:0" | "cuda:1" | "cuda:2"))),
        "{jobs:?}"
    );

    // An explicit flag wins, and is what the next resume remembers.
    reprobe_with_path(&bin, &["sweep", "resume", d, "--jobs", "1"]);
    assert_eq!(most_at_once(&attempts(&dir)), 1);
    let launch = &read_json(&dir.join("sweep.json"))["launch"];
    assert_eq!(
        launch,
        &serde_json::json!({"launcher": "local", "jobs": 1, "devices": [0, 1, 2]})
    );

    // The launcher is remembered too: after one resume through Slurm, a plain resume submits again.
    let calls = root.path().join("calls.txt");
    reprobe_with_path(&bin, &["sweep", "resume", d, "--launcher", "slurm"]);
    let submitted = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(submitted.lines().count(), 1, "{submitted}");
    let before = read_json(&dir.join("sweep.json"));
    reprobe_with_path(&bin, &["sweep", "resume", d]);
    let submitted = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(submitted.lines().count(), 2, "{submitted}");
    assert!(
        submitted.lines().all(|l| l.ends_with("slurm/submit.sh")),
        "{submitted}"
    );
    // Nothing ran here: the jobs' recorded attempts are those of the last local resume.
    assert_eq!(before["jobs"], read_json(&dir.join("sweep.json"))["jobs"]);
}

#[test]
fn a_slurm_resume_leaves_out_what_slurm_still_holds() {
    let root = tempfile::tempdir().unwrap();
    let cfg = config(root.path());
    let dir = root.path().join("sweep");
    let d = dir.to_str().unwrap();
    let bin = fake_slurm(root.path());
    let submit = dir.join("slurm/submit.sh");
    let array_line = || {
        std::fs::read_to_string(&submit)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("#SBATCH --array="))
            .unwrap()
            .to_string()
    };
    let calls = || std::fs::read_to_string(root.path().join("calls.txt")).unwrap();
    let out = reprobe_with_path(
        &bin,
        &[
            "train",
            cfg.to_str().unwrap(),
            "seed=1,2,3,4",
            "slurm.max_parallel=2",
            "--multirun",
            "--launcher",
            "slurm",
            "--sweep-dir",
            d,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Submitted batch job 4242\n"), "{stdout}");
    assert_eq!(array_line(), "#SBATCH --array=0-3%2");
    assert_eq!(
        calls(),
        format!("--parsable {}\n", submit.canonicalize().unwrap().display())
    );

    // Array 4242 still runs job 1 and holds job 3; job 0 finished; job 2 was cancelled.
    std::fs::write(
        root.path().join("queue.txt"),
        "4242 1 RUNNING\n4242 3 PENDING\n",
    )
    .unwrap();
    std::fs::write(dir.join("job-000/result.json"), r#"{"val/f1": 0.5}"#).unwrap();
    let status = reprobe_with_path(&bin, &["sweep", "status", d]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("job-001  slurm 4242_1 RUNNING"), "{status}");
    assert!(status.contains("job-003  slurm 4242_3 PENDING"), "{status}");
    assert!(status.contains("job-000  done"), "{status}");
    assert!(status.contains("job-002  pending"), "{status}");
    let out = reprobe_with_path(&bin, &["sweep", "resume", d]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "still in Slurm, not submitted again: job-001 (4242_1 RUNNING), job-003 (4242_3 PENDING)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Submitted batch job 4243\n"), "{stdout}");
    assert_eq!(array_line(), "#SBATCH --array=2%2");
    assert_eq!(
        read_json(&dir.join("sweep.json"))["slurm_arrays"],
        serde_json::json!([4242, 4243])
    );

    // Everything unfinished is still in Slurm: nothing is submitted.
    std::fs::write(
        root.path().join("queue.txt"),
        "4242 1 RUNNING\n4243 2 RUNNING\n4242 3 RUNNING\n",
    )
    .unwrap();
    reprobe_with_path(&bin, &["sweep", "resume", d]);
    assert_eq!(calls().lines().count(), 2);

    // Every job finished: the resume submits nothing and writes the summary.
    std::fs::remove_file(root.path().join("queue.txt")).unwrap();
    for i in 1..4 {
        std::fs::write(
            dir.join(format!("job-00{i}/result.json")),
            r#"{"val/f1": 0.5}"#,
        )
        .unwrap();
    }
    let out = reprobe_with_path(&bin, &["sweep", "resume", d]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("every job of"), "{stdout}");
    assert_eq!(calls().lines().count(), 2);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("| 4 |"),
        "one row of n = 4 runs expected: {summary}"
    );
}
