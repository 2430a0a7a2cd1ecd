//! `reprobe train`, `evaluate`, `predict`, `sweep` and `report` end to end on a tiny random BERT (the
//! transformers-made fixture of the models crate, 3 layers, hidden 32) and the project's tiny corpus:
//! the run folder, resuming a killed run to the same weights, a sweep killed half way that ends with the same
//! results as an uninterrupted one, config errors, and `--fast-dev-run` for every task. With the real
//! MiniLM (skipped visibly without it): training raises dev CoNLL F1 above a floor, and `predict` gives
//! the clusters `evaluate` scored and, on a story, only links a reader would draw.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

mod util;
use util::{read_json, repo, reprobe};

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the reprobe binary starts")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "reprobe failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A checkpoint folder with the tiny random BERT and a 99-entry cased vocabulary made of the tiny corpus's
/// most frequent words, and a config training it on 12 tiny documents with segments of at most 40 subtokens
/// (the model's position limit), so that every document has two segments and is cropped to one in training.
fn setup(root: &Path, freeze: bool, epochs: usize) -> PathBuf {
    let ckpt = root.join("tiny-bert");
    std::fs::create_dir_all(&ckpt).unwrap();
    let fixture = repo().join("crates/reprobe-models/tests/fixtures/bert/tiny");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture.join(f), ckpt.join(f)).unwrap();
    }
    let train = repo().join("data/tiny/train.english.v4_gold_conll");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&train).unwrap().lines() {
        if let Some(word) = line.split('\t').nth(3) {
            *counts.entry(word.to_string()).or_default() += 1;
        }
    }
    let mut words: Vec<(usize, String)> = counts.into_iter().map(|(w, c)| (c, w)).collect();
    words.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    vocab.extend(words.into_iter().map(|(_, w)| w).take(99 - vocab.len()));
    std::fs::write(ckpt.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    std::fs::write(
        ckpt.join("tokenizer_config.json"),
        r#"{"do_lower_case": false}"#,
    )
    .unwrap();
    let config = format!(
        r#"name = "tiny"
seed = 3

[data]
train = "{train}"
dev = "{dev}"
seg_len = 40
max_train_docs = 12
max_eval_docs = 4

[encoders.enc]
checkpoint = "{ckpt}"
freeze = {freeze}

[head]
ffnn_size = 16
feature_emb_size = 4
max_span_width = 5
max_training_sentences = 1

[optim]
bert_learning_rate = 1e-3
task_learning_rate = 1e-3

[train]
max_epochs = {epochs}
patience = 0

[cache]
dir = "{cache}"
"#,
        train = train.display(),
        dev = repo().join("data/tiny/dev.english.v4_gold_conll").display(),
        ckpt = ckpt.display(),
        cache = root.join("cache").display(),
    );
    let path = root.join("tiny.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `metrics.jsonl` without the wall-clock fields.
fn metrics_without_times(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let obj = v.as_object_mut().unwrap();
            obj.retain(|k, _| !k.starts_with("time/") && k != "train/docs_per_s");
            v
        })
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_run_writes_its_folder_and_evaluates_and_predicts() {
    let root = tempfile::tempdir().unwrap();
    let cfg = setup(root.path(), false, 2);
    let run = root.path().join("run");
    let out = ok(&reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    assert!(out.contains("finished (max_epochs): best epoch"), "{out}");
    for f in [
        "config.toml",
        "log.txt",
        "checkpoints/best/model.safetensors",
        "checkpoints/last/optimizer.safetensors",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let lines = metrics_without_times(&run);
    assert_eq!(lines.len(), 2);
    for key in [
        "epoch",
        "train/loss",
        "val/loss",
        "val/f1",
        "val/muc_f1",
        "val/bcub_f1",
        "val/ceafe_f1",
        "val/mention_f1",
        "lr/task",
        "lr/encoders",
    ] {
        assert!(
            lines[1].get(key).is_some(),
            "metrics.jsonl lacks {key}: {}",
            lines[1]
        );
    }
    // SPEC §3.6: T = 2 epochs × 12 documents = 24 steps, W = int(0.1 T) = 2; after epoch 1 (t = 12) the
    // encoders' factor is (T − t)/(T − W) = 12/22 and the task's (T − t)/T = 1/2; after epoch 2 both are 0.
    let lr = |i: usize, g: &str| lines[i][format!("lr/{g}")].as_f64().unwrap();
    assert!(
        (lr(0, "encoders") - 1e-3 * 12.0 / 22.0).abs() < 1e-12,
        "{}",
        lr(0, "encoders")
    );
    assert!(
        (lr(0, "task") - 1e-3 * 0.5).abs() < 1e-12,
        "{}",
        lr(0, "task")
    );
    assert_eq!((lr(1, "encoders"), lr(1, "task")), (0.0, 0.0));
    let result = read_json(&run.join("result.json"));
    assert_eq!(result["epochs_run"], 2);
    let best = result["best_epoch"].as_u64().unwrap() as usize;
    assert_eq!(result["val/f1"], lines[best - 1]["val/f1"]);

    // A finished run folder is not trained again.
    let again = ok(&reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    assert!(again.contains("already holds a finished run"), "{again}");

    let dev = repo().join("data/tiny/dev.english.v4_gold_conll");
    let eval = ok(&reprobe(&[
        "evaluate",
        run.to_str().unwrap(),
        "--data",
        dev.to_str().unwrap(),
    ]));
    assert!(
        eval.contains("METRIC muc") && eval.contains("CoNLL F1"),
        "{eval}"
    );
    let scores = read_json(&run.join("eval/dev/scores.json"));
    for key in [
        "muc", "bcub", "ceafe", "ceafm", "blanc", "lea", "mentions", "conll_f1", "loss",
    ] {
        assert!(scores.get(key).is_some(), "scores.json lacks {key}");
    }
    // The written predictions score the same with `reprobe score`.
    let pred = run.join("eval/dev/predictions.conll");
    let scored = ok(&reprobe(&[
        "score",
        dev.to_str().unwrap(),
        pred.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let scored: serde_json::Value = serde_json::from_str(&scored).unwrap();
    assert_eq!(scored["conll_f1"], scores["conll_f1"]);

    let text = root.path().join("story.txt");
    std::fs::write(
        &text,
        "Maria bought a car . She liked it .\n\nTom called Maria .\n",
    )
    .unwrap();
    let out = root.path().join("story.jsonl");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        text.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--blocks",
    ]));
    let docs: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["words"][0], "Maria");
    assert!(docs[0]["clusters"].is_array() && docs[0]["sentences"].as_array().unwrap().len() == 2);
}

#[test]
fn a_killed_run_resumes_to_the_same_weights() {
    let root = tempfile::tempdir().unwrap();
    let cfg = setup(root.path(), false, 5);
    let cfg = cfg.to_str().unwrap();
    let straight = root.path().join("straight");
    ok(&reprobe(&[
        "train",
        cfg,
        "--run-dir",
        straight.to_str().unwrap(),
    ]));

    let killed = root.path().join("killed");
    let args = ["train", cfg, "--run-dir", killed.to_str().unwrap()];
    let mut child = spawn(&args);
    let state = killed.join("checkpoints/last/state.json");
    wait_for("the first checkpoint", Duration::from_secs(600), || {
        state.exists()
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !killed.join("result.json").exists(),
        "the run ended before it could be killed"
    );
    let out = ok(&reprobe(&args));
    assert!(out.contains("resuming after epoch"), "{out}");

    let a = std::fs::read(straight.join("checkpoints/last/model.safetensors")).unwrap();
    let b = std::fs::read(killed.join("checkpoints/last/model.safetensors")).unwrap();
    assert!(
        a == b,
        "the resumed run's final weights differ from the uninterrupted run's"
    );
    assert_eq!(
        metrics_without_times(&straight),
        metrics_without_times(&killed)
    );
}

/// The per-job results of a sweep folder, without wall-clock fields.
fn job_results(dir: &Path) -> Vec<serde_json::Value> {
    let sweep = read_json(&dir.join("sweep.json"));
    sweep["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let mut r = read_json(&dir.join(j["dir"].as_str().unwrap()).join("result.json"));
            r.as_object_mut().unwrap().remove("train_time_s");
            r
        })
        .collect()
}

#[test]
fn a_sweep_killed_half_way_ends_as_an_uninterrupted_one() {
    let root = tempfile::tempdir().unwrap();
    let cfg = setup(root.path(), true, 2);
    let cfg = cfg.to_str().unwrap();
    let sweep_args = |dir: &Path| -> Vec<String> {
        [
            "train",
            cfg,
            "seed=1,2,3",
            "train.max_epochs=2",
            "--multirun",
            "--jobs",
            "2",
            "--sweep-dir",
            dir.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let straight = root.path().join("straight");
    let args: Vec<String> = sweep_args(&straight);
    let out = ok(&reprobe(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(out.contains("3 jobs finished now"), "{out}");
    // A job's log.txt holds the run's log once; the process output (progress bars) goes to output.txt.
    let job = straight.join("job-000");
    let log = std::fs::read_to_string(job.join("log.txt")).unwrap();
    assert_eq!(log.matches("setup took").count(), 1, "{log}");
    assert!(job.join("output.txt").exists());

    let killed = root.path().join("killed");
    let args = sweep_args(&killed);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn(&args);
    let first_done = || (0..3).any(|i| killed.join(format!("job-00{i}/result.json")).exists());
    wait_for("a first finished job", Duration::from_secs(600), first_done);
    child.kill().unwrap(); // SIGKILL: the job processes die with it
    child.wait().unwrap();
    let done_at_kill = (0..3)
        .filter(|i| killed.join(format!("job-00{i}/result.json")).exists())
        .count();
    assert!(
        done_at_kill < 3,
        "the sweep ended before it could be killed"
    );
    let out = ok(&reprobe(&args));
    assert!(out.contains("resuming the sweep"), "{out}");

    assert_eq!(job_results(&straight), job_results(&killed));
    let md = std::fs::read_to_string(killed.join("summary.md")).unwrap();
    assert!(md.contains(" ± "), "{md}");
    assert!(md.contains("| 3 |"), "one row of n = 3 runs expected: {md}");

    let report = ok(&reprobe(&["report", killed.to_str().unwrap()]));
    assert!(report.contains("3 finished runs of 3"), "{report}");
    for f in ["learning_curves.png", "bars.svg", "summary.csv"] {
        assert!(killed.join("report").join(f).exists(), "{f} missing");
    }
    let status = ok(&reprobe(&["sweep", "status", killed.to_str().unwrap()]));
    assert!(status.contains("3/3 jobs finished"), "{status}");
}

#[test]
fn config_errors_name_the_key_or_the_file() {
    let root = tempfile::tempdir().unwrap();
    let cfg = setup(root.path(), true, 1);
    let cfg = cfg.to_str().unwrap();
    let out = reprobe(&["train", cfg, "train.max_epoch=3", "--print-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("unknown config key `train.max_epoch` (set on the command line); did you mean `train.max_epochs`?"), "{err}");

    let out = reprobe(&["train", cfg, "seed=1,2"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--multirun"));

    let missing = root.path().join("nope.conll");
    let run = root.path().join("r");
    let out = reprobe(&[
        "train",
        cfg,
        &format!("data.dev={}", missing.display()),
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("nope.conll"), "{err}");

    let out = reprobe(&["train", cfg, "aggregate.kind=median", "--print-config"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("aggregate") && err.contains("median"), "{err}");
}

#[test]
fn bench_reports_speed_as_json() {
    let root = tempfile::tempdir().unwrap();
    let cfg = setup(root.path(), false, 1);
    let out = ok(&reprobe(&[
        "bench",
        cfg.to_str().unwrap(),
        "--train-docs",
        "3",
        "--eval-docs",
        "2",
        "--warmup",
        "1",
        "--format",
        "json",
    ]));
    let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (r["train_docs"].as_u64(), r["eval_docs"].as_u64()),
        (Some(3), Some(2))
    );
    for key in [
        "train_docs_per_s",
        "train_subtokens_per_s",
        "ms_encoder_forward",
        "ms_encoder_backward",
        "ms_head",
        "ms_optimizer",
        "eval_docs_per_s",
    ] {
        assert!(r[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {r}");
    }
}

/// Runs the binary in `cwd` with its temporary files (`TMPDIR`) under `tmp`.
fn reprobe_in(cwd: &Path, tmp: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reprobe"))
        .args(args)
        .current_dir(cwd)
        .env("TMPDIR", tmp)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("the reprobe binary runs")
}

/// The entries of a folder (empty when it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// A NER column file and a GLUE pair TSV of `n` examples each, and their configs over the tiny BERT of
/// `setup` (words outside its vocabulary are `[UNK]`: enough to run every code path).
fn source_task_configs(root: &Path, n: usize) -> Vec<PathBuf> {
    let (ner, pair) = (root.join("ner.conll"), root.join("pair.tsv"));
    let mut text = String::from("-DOCSTART-\tO\n\n");
    let mut tsv = String::from("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n");
    for i in 0..n {
        text.push_str(&format!(
            "Maria\tB-PER\nsaw\tO\nTom\tB-PER\nin\tO\nRome\tB-LOC\n{i}\tO\n\n"
        ));
        tsv.push_str(&format!(
            "{}\t{i}\t{}\tMaria saw Tom {i} .\tTom saw Maria .\n",
            i % 2,
            i + 100
        ));
    }
    std::fs::write(&ner, text).unwrap();
    std::fs::write(&pair, tsv).unwrap();
    let ckpt = root.join("tiny-bert");
    [("ner", &ner), ("pair_classification", &pair)]
        .iter()
        .map(|(task, data)| {
            let path = root.join(format!("{task}.toml"));
            let body = format!(
                "name = \"{task}\"\ntask = \"{task}\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\n[cache]\ndir = \"{cache}\"\n",
                d = data.display(),
                c = ckpt.display(),
                cache = root.join("cache").display()
            );
            std::fs::write(&path, body).unwrap();
            path
        })
        .collect()
}

#[test]
fn fast_dev_run_checks_every_task_and_keeps_nothing() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let coref = setup(root, false, 30);
    let mut configs = vec![coref.clone()];
    configs.extend(source_task_configs(root, 6));
    let (work, tmp) = (root.join("work"), root.join("tmp"));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let nothing_kept = |what: &str| {
        assert_eq!(
            entries(&work),
            Vec::<PathBuf>::new(),
            "{what}: left in the working folder"
        );
        assert_eq!(
            entries(&tmp),
            Vec::<PathBuf>::new(),
            "{what}: left in TMPDIR"
        );
        assert!(
            !root.join("cache").exists(),
            "{what}: wrote the config's feature cache"
        );
    };
    for cfg in &configs {
        let out = ok(&reprobe_in(
            &work,
            &tmp,
            &["train", cfg.to_str().unwrap(), "--fast-dev-run"],
        ));
        let what = cfg.file_name().unwrap().to_string_lossy();
        assert!(
            out.contains(&format!("fast dev run of {}", cfg.display())),
            "{what}: {out}"
        );
        assert!(
            out.contains("train: 2 step(s), train/loss "),
            "{what}: {out}"
        );
        assert!(out.contains("dev:   val/f1 "), "{what}: {out}");
        assert!(
            out.contains("checkpoint: saved and loaded back, val/f1 "),
            "{what}: {out}"
        );
        assert!(out.contains("nothing kept"), "{what}: {out}");
        // The run itself went through evaluation on two dev examples, one epoch.
        assert!(out.contains("epoch   1/1"), "{what}: {out}");
        nothing_kept(&what);
    }
    // A sweep: every job, and no sweep folder.
    let out = ok(&reprobe_in(
        &work,
        &tmp,
        &[
            "train",
            coref.to_str().unwrap(),
            "seed=1,2",
            "--multirun",
            "--fast-dev-run",
        ],
    ));
    assert_eq!(out.matches("# job: seed=").count(), 2, "{out}");
    assert_eq!(out.matches("nothing kept").count(), 2, "{out}");
    nothing_kept("the sweep");
    // A broken config fails as the real run would, and leaves nothing either.
    let out = reprobe_in(
        &work,
        &tmp,
        &[
            "train",
            coref.to_str().unwrap(),
            "data.dev=missing.conll",
            "--fast-dev-run",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.conll"));
    nothing_kept("the failed run");
}

/// The MiniLM checkpoint, or a visible skip.
fn minilm() -> Option<PathBuf> {
    let dir = repo().join("models/all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    util::skip(
        "minilm",
        &format!(
            "{} is absent; bash scripts/fetch-minilm.sh fetches it",
            dir.display()
        ),
    );
    None
}

/// The word spans of a `reprobe predict` JSON line's clusters.
fn word_clusters(doc: &serde_json::Value) -> Vec<Vec<(u64, u64)>> {
    doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_array()
                .unwrap()
                .iter()
                .map(|m| (m["start"].as_u64().unwrap(), m["end"].as_u64().unwrap()))
                .collect()
        })
        .collect()
}

/// A frozen MiniLM with a small head on 20 documents of the tiny corpus, 5 epochs (~15 s on one core): dev
/// CoNLL F1 goes from 0.03 untrained (task learning rate 0) to 0.28 (measured), and the model's clusters
/// of `data/tiny/story.txt` are links a reader would draw.
#[test]
fn training_on_the_tiny_corpus_raises_dev_f1_above_a_floor_and_predicts_right_clusters() {
    let Some(minilm) = minilm() else { return };
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let cfg = root.join("probe.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"name = "probe"
seed = 1
[data]
train = "{train}"
dev = "{dev}"
max_train_docs = 20
[encoders.minilm]
checkpoint = "{minilm}"
freeze = true
[head]
ffnn_size = 32
max_span_width = 5
max_top_antecedents = 20
[optim]
task_learning_rate = 3e-3
[train]
max_epochs = 5
patience = 0
[cache]
dir = "{cache}"
"#,
            train = repo()
                .join("data/tiny/train.english.v4_gold_conll")
                .display(),
            dev = repo().join("data/tiny/dev.english.v4_gold_conll").display(),
            minilm = minilm.display(),
            cache = root.join("cache").display(),
        ),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let f1 = |run: &Path, overrides: &[&str]| -> f64 {
        let mut args = vec!["train", cfg, "--run-dir", run.to_str().unwrap()];
        args.extend(overrides);
        ok(&reprobe(&args));
        read_json(&run.join("result.json"))["val/f1"]
            .as_f64()
            .unwrap()
    };
    let untrained = f1(
        &root.join("untrained"),
        &["optim.task_learning_rate=0", "train.max_epochs=1"],
    );
    let run = root.join("run");
    let trained = f1(&run, &[]);
    eprintln!("dev CoNLL F1: untrained {untrained:.4}, trained {trained:.4}");
    assert!(untrained < 0.1, "untrained dev F1 {untrained}");
    assert!(
        trained > 0.2 && trained > untrained + 0.15,
        "dev F1 {trained} after training (untrained {untrained})"
    );

    // "Maria Lopez lived in Lima. One day, she bought a red car from Tom Walsh. He said that the car was
    // very old.\n\nTom called Maria the next morning. She cleaned the car carefully, and he admired her car."
    let out = root.join("story.jsonl");
    let story = repo().join("data/tiny/story.txt");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        story.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let doc: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    let words: Vec<&str> = doc["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        (words[0], words[9], words[15], words[43], words.len()),
        ("Maria", "she", "Tom", "her", 46)
    );
    // The story's entities, by hand (word spans, end inclusive).
    let gold: [&[(u64, u64)]; 3] = [
        &[(0, 1), (9, 9), (29, 29), (34, 34), (43, 43)], // Maria Lopez, she, Maria, She, her
        &[(15, 16), (18, 18), (27, 27), (41, 41)],       // Tom Walsh, He, Tom, he
        &[(11, 13), (21, 22), (36, 37), (43, 44)],       // a red car, the car, the car, her car
    ];
    let predicted = word_clusters(&doc);
    let text = |c: &[(u64, u64)]| -> Vec<String> {
        c.iter()
            .map(|&(s, e)| words[s as usize..=e as usize].join(" "))
            .collect()
    };
    for cluster in &predicted {
        assert!(
            gold.iter().any(|g| cluster.iter().all(|m| g.contains(m))),
            "a predicted cluster joins different entities: {:?}",
            text(cluster)
        );
    }
    let found: usize = predicted.iter().map(|c| c.len() - 1).sum();
    assert!(
        predicted.len() >= 2 && found >= 4,
        "too few links found: {:?}",
        predicted.iter().map(|c| text(c)).collect::<Vec<_>>()
    );
    // `predict` on the dev file gives the clusters `evaluate` wrote, line for line.
    let dev = repo().join("data/tiny/dev.english.v4_gold_conll");
    ok(&reprobe(&[
        "evaluate",
        run.to_str().unwrap(),
        "--data",
        dev.to_str().unwrap(),
    ]));
    let predicted_dev = root.join("dev.pred.conll");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        dev.to_str().unwrap(),
        "--out",
        predicted_dev.to_str().unwrap(),
        "--format",
        "conll",
    ]));
    let last_column = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.rsplit(['\t', ' ']).next().unwrap_or("").to_string())
            .collect()
    };
    let evaluated = last_column(&run.join("eval/dev/predictions.conll"));
    assert_eq!(last_column(&predicted_dev), evaluated);
    assert!(evaluated.iter().filter(|c| c.contains('(')).count() > 20);
    // Character offsets point at the words.
    let text_of_story = std::fs::read_to_string(&story).unwrap();
    for mention in doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c.as_array().unwrap())
    {
        let (a, b) = (
            mention["char_start"].as_u64().unwrap() as usize,
            mention["char_end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&text_of_story[a..b], mention["text"].as_str().unwrap());
    }
}
