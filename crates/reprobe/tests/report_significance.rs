//! `reprobe report --baseline`: Welch's t-test against `scipy.stats.ttest_ind(equal_var=False)`, the paired
//! bootstrap against numpy's percentiles given the same resampled indices (exactly) and against
//! `scipy.stats.bootstrap` with its own (within Monte-Carlo error), per-document counts made by coref-hoi's
//! `metrics.py` (fixtures: `scripts/golden/significance_scipy.py`); a coverage check of the interval on a
//! population with a known difference; and the command end to end on run folders made from the fixture.
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use reprobe::report::significance::{
    paired_bootstrap, pool_runs, welch_t_test, ConllCounts, Resamples,
};
use reprobe_metrics::Counts;

mod util;
use util::{read_json, repo, reprobe};

fn fixture(name: &str) -> Value {
    read_json(
        &repo()
            .join("crates/reprobe/tests/fixtures/significance")
            .join(name),
    )
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// `|got − want| ≤ 1e-9 · max(|want|, 1e-6)`: nine digits, and below 1e-15 for p-values near 0.
fn assert_close(what: &str, got: f64, want: f64) {
    let tol = 1e-9 * want.abs().max(1e-6);
    assert!(
        (got - want).abs() <= tol,
        "{what}: {got} vs SciPy {want} (diff {:e})",
        got - want
    );
}

fn assert_welch(name: &str, base: &[f64], other: &[f64], want: &Value) {
    let w = welch_t_test(base, other).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_close(&format!("{name}: t"), w.t, want["t"].as_f64().unwrap());
    assert_close(&format!("{name}: df"), w.df, want["df"].as_f64().unwrap());
    assert_close(&format!("{name}: p"), w.p, want["p"].as_f64().unwrap());
}

#[test]
fn welch_t_test_equals_scipy() {
    let cases = fixture("welch.json")["cases"].as_array().unwrap().clone();
    assert!(cases.len() >= 18);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        assert_welch(
            name,
            &floats(&case["base"]),
            &floats(&case["other"]),
            &case["expected"],
        );
    }
}

/// coref-hoi's `{p_num, p_den, r_num, r_den}` as [`Counts`].
fn counts(v: &Value) -> Counts {
    let f = |k: &str| v[k].as_f64().unwrap();
    Counts::new(f("r_num"), f("r_den"), f("p_num"), f("p_den"))
}

fn conll(doc: &Value) -> ConllCounts {
    ConllCounts {
        muc: counts(&doc["muc"]),
        bcub: counts(&doc["bcub"]),
        ceafe: counts(&doc["ceafe"]),
    }
}

/// A setting of the fixture: per run (seed), per document, its counts.
fn runs_of(setting: &Value) -> Vec<Vec<ConllCounts>> {
    setting["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run.as_array().unwrap().iter().map(conll).collect())
        .collect()
}

#[test]
fn bootstrap_equals_numpy_given_the_same_indices_and_scipy_with_its_own() {
    let fx = fixture("bootstrap.json");
    let rows: Vec<Vec<usize>> = fx["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let given = Resamples::from_rows(&rows).unwrap();
    let documents = fx["documents"].as_u64().unwrap() as usize;
    assert_eq!((given.len(), given.documents()), (1000, documents));
    let own = Resamples::draw(documents, 10_000, 1);
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let want = &case["expected"];
        let base = &fx["settings"][case["base"].as_str().unwrap()];
        let other = &fx["settings"][case["other"].as_str().unwrap()];
        let (pb, po) = (pool_runs(&runs_of(base)), pool_runs(&runs_of(other)));
        // Each run's corpus F1 from its summed counts is the val/f1 metrics.py gives.
        for (setting, f1s) in [
            (base, floats(&base["val_f1"])),
            (other, floats(&other["val_f1"])),
        ] {
            for (run, f1) in runs_of(setting).iter().zip(f1s) {
                let all = pool_runs(&run.iter().map(|d| vec![*d]).collect::<Vec<_>>());
                assert_close(&format!("{name}: run F1"), all[0].f1(), f1);
            }
        }
        let ci = paired_bootstrap(&pb, &po, &given, 0.95).unwrap();
        // Same indices, same sums in the same order, the same percentile rule: the same numbers.
        assert_eq!(ci.low, want["ci_low"].as_f64().unwrap(), "{name}: CI low");
        assert_eq!(
            ci.high,
            want["ci_high"].as_f64().unwrap(),
            "{name}: CI high"
        );
        assert_eq!(
            ci.pooled_delta,
            want["pooled_delta"].as_f64().unwrap(),
            "{name}: pooled Δ"
        );
        assert_welch(
            name,
            &floats(&base["val_f1"]),
            &floats(&other["val_f1"]),
            &want["welch"],
        );
        // Our own 10,000 resamples against scipy.stats.bootstrap's 10,000: the endpoints' Monte-Carlo
        // error is ~2 % of the interval's width; allow 6 %.
        let ci = paired_bootstrap(&pb, &po, &own, 0.95).unwrap();
        let scipy = floats(&want["scipy_bootstrap_ci"]);
        let slack = 0.06 * (scipy[1] - scipy[0]);
        assert!(
            (ci.low - scipy[0]).abs() <= slack && (ci.high - scipy[1]).abs() <= slack,
            "{name}: [{}, {}] vs scipy.stats.bootstrap {scipy:?}",
            ci.low,
            ci.high
        );
    }
}

/// Random counts of a document whose scores are near `quality` (numerators ≤ denominators).
fn random_document(rng: &mut ChaCha8Rng, quality: f64) -> ConllCounts {
    let mut metric = || {
        let r_den = rng.random_range(5..40) as f64;
        let p_den = (r_den * rng.random_range(0.7..1.3)).round().max(1.0);
        let q = (quality + rng.random_range(-0.25..0.25)).clamp(0.0, 1.0);
        let q2 = (q + rng.random_range(-0.1..0.1)).clamp(0.0, 1.0);
        Counts::new((r_den * q).round(), r_den, (p_den * q2).round(), p_den)
    };
    ConllCounts {
        muc: metric(),
        bcub: metric(),
        ceafe: metric(),
    }
}

/// The 95 % interval covers the population's difference in about 95 % of samples: 200 samples of 40
/// documents from a population of 2,000 where the other setting is better on most documents by a varying
/// amount (the paired structure: both settings' counts of a document are correlated through its quality).
#[test]
fn the_interval_covers_a_known_difference_about_95_percent_of_the_time() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut base, mut other) = (Vec::new(), Vec::new());
    for _ in 0..2000 {
        let quality = rng.random_range(0.3..0.8);
        let gain = rng.random_range(0.0..0.15);
        base.push(random_document(&mut rng, quality));
        other.push(random_document(&mut rng, quality + gain));
    }
    let total = |docs: &[ConllCounts]| {
        let mut t = ConllCounts::default();
        docs.iter().for_each(|d| t.add(d));
        t.f1()
    };
    let truth = total(&other) - total(&base);
    assert!(truth > 0.02, "{truth}");
    let (samples, size) = (200, 40);
    let resamples = Resamples::draw(size, 1000, 3);
    let mut covered = 0;
    let mut excludes_zero = 0;
    for _ in 0..samples {
        let picks: Vec<usize> = (0..size).map(|_| rng.random_range(0..2000)).collect();
        let b: Vec<ConllCounts> = picks.iter().map(|&i| base[i]).collect();
        let o: Vec<ConllCounts> = picks.iter().map(|&i| other[i]).collect();
        let ci = paired_bootstrap(&b, &o, &resamples, 0.95).unwrap();
        covered += usize::from(ci.low <= truth && truth <= ci.high);
        excludes_zero += usize::from(ci.low > 0.0);
    }
    let coverage = covered as f64 / samples as f64;
    assert!((0.89..=0.99).contains(&coverage), "coverage {coverage}");
    // A gain of this size is detected in most samples of 40 documents.
    assert!(
        excludes_zero > samples * 3 / 4,
        "{excludes_zero} of {samples}"
    );
}

/// Run folders for the settings of the fixture: `encoders.enc.truncate` = the setting's drop rate in
/// percent, a result with the fixture's val/f1 and the per-document counts (with `mentions` counts, which
/// the bootstrap does not use).
fn fixture_runs(root: &Path, settings: &[&str]) -> Vec<PathBuf> {
    let fx = fixture("bootstrap.json");
    let mut dirs = Vec::new();
    for name in settings {
        let setting = &fx["settings"][name];
        let truncate = (setting["drop"].as_f64().unwrap() * 100.0).round() as i64;
        let seeds = setting["seeds"].as_array().unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            let dir = root.join(format!("t{truncate}_s{seed}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("config.toml"),
                format!("seed = {seed}\n[encoders.enc]\ntruncate = {truncate}\n"),
            )
            .unwrap();
            let val_f1 = setting["val_f1"][i].as_f64().unwrap();
            let result = json!({"val/f1": val_f1, "best_epoch": 2, "seed": seed});
            std::fs::write(dir.join("result.json"), result.to_string()).unwrap();
            let zero = json!({"recall_num": 0.0, "recall_den": 0.0, "precision_num": 0.0, "precision_den": 0.0});
            let documents: Vec<Value> = setting["documents"][i]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(d, doc)| {
                    let c = |m: &str| {
                        let k = counts(&doc[m]);
                        json!({"recall_num": k.recall_num, "recall_den": k.recall_den,
                               "precision_num": k.precision_num, "precision_den": k.precision_den})
                    };
                    json!({"doc_key": format!("doc_{d}"), "counts": {"mentions": zero, "muc": c("muc"),
                           "bcub": c("bcub"), "ceafe": c("ceafe")}})
                })
                .collect();
            let file = json!({"epoch": 2, "documents": documents});
            std::fs::write(dir.join("dev_documents.json"), file.to_string()).unwrap();
            dirs.push(dir);
        }
    }
    dirs
}

fn report(dirs: &[PathBuf], extra: &[&str]) -> std::process::Output {
    let mut args: Vec<&str> = vec!["report"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--by", "encoders.enc.truncate"]);
    args.extend(extra);
    reprobe(&args)
}

#[test]
fn report_baseline_compares_run_folders_with_the_fixtures_numbers() {
    let root = tempfile::tempdir().unwrap();
    let dirs = fixture_runs(root.path(), &["drop 0.30", "drop 0.20", "drop 0.08"]);
    let out = root.path().join("report");
    let args = ["--baseline", "truncate=30", "--out", out.to_str().unwrap()];
    let run = report(&dirs, &args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("paired bootstrap over the 24 dev documents")
            && stdout.contains("| 30 | 3 | 0.5985 | baseline |"),
        "{stdout}"
    );
    let sig = read_json(&out.join("significance.json"));
    assert_eq!(sig["baseline"], 0);
    assert_eq!(
        (sig["resamples"].as_u64(), sig["documents"].as_u64()),
        (Some(10_000), Some(24))
    );
    let fx = fixture("bootstrap.json");
    for (row, case) in [(1, 0), (2, 1)] {
        let want = &fx["cases"][case]["expected"];
        let got = &sig["rows"][row];
        let w = &got["welch"];
        for k in ["t", "df", "p"] {
            assert_close(
                k,
                w[k].as_f64().unwrap(),
                want["welch"][k].as_f64().unwrap(),
            );
        }
        let b = &got["bootstrap"];
        let (low, high, pooled) = (
            b["low"].as_f64().unwrap(),
            b["high"].as_f64().unwrap(),
            b["pooled_delta"].as_f64().unwrap(),
        );
        assert!((pooled - want["pooled_delta"].as_f64().unwrap()).abs() < 1e-12);
        assert!(low < pooled && pooled < high, "{b}");
        let scipy = floats(&want["scipy_bootstrap_ci"]);
        let slack = 0.06 * (scipy[1] - scipy[0]);
        assert!(
            (low - scipy[0]).abs() <= slack && (high - scipy[1]).abs() <= slack,
            "{b} vs {scipy:?}"
        );
        // Δ is the difference of the seed means.
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let name = fx["cases"][case]["other"].as_str().unwrap();
        let delta = mean(floats(&fx["settings"][name]["val_f1"]))
            - mean(floats(&fx["settings"]["drop 0.30"]["val_f1"]));
        assert!((got["delta"].as_f64().unwrap() - delta).abs() < 1e-12);
    }
    let csv = std::fs::read_to_string(out.join("significance.csv")).unwrap();
    assert!(
        csv.starts_with(
            "encoders.enc.truncate,n,mean,delta,ci_low,ci_high,pooled_delta,t,df,p,note\n30,3,"
        ),
        "{csv}"
    );
    for f in ["significance.md", "significance.svg", "significance.png"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // Seeded: a second report gives the same numbers.
    let again = root.path().join("again");
    let run = report(
        &dirs,
        &[
            "--baseline",
            "truncate=30",
            "--out",
            again.to_str().unwrap(),
        ],
    );
    assert!(run.status.success());
    assert_eq!(sig, read_json(&again.join("significance.json")));
}

#[test]
fn report_baseline_explains_what_it_cannot_compute() {
    let root = tempfile::tempdir().unwrap();
    let dirs = fixture_runs(root.path(), &["drop 0.30", "drop 0.08"]);
    // A run without per-document counts (an older run, or another task): no bootstrap for its setting,
    // the t-test still.
    std::fs::remove_file(dirs[3].join("dev_documents.json")).unwrap();
    let out = root.path().join("report");
    let run = report(&dirs, &["--baseline", "30", "--out", out.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sig = read_json(&out.join("significance.json"));
    let row = &sig["rows"][1];
    assert!(
        row["bootstrap"].is_null() && row["welch"]["p"].is_f64(),
        "{row}"
    );
    let notes = row["notes"].to_string();
    assert!(
        notes.contains("no bootstrap") && notes.contains("dev_documents.json is missing"),
        "{notes}"
    );

    // A counts file that does not belong to the run's result is refused, not used.
    let docs = dirs[0].join("dev_documents.json");
    let text = std::fs::read_to_string(&docs)
        .unwrap()
        .replace("\"epoch\":2", "\"epoch\":1");
    std::fs::write(&docs, text).unwrap();
    let run = report(
        &dirs,
        &["--baseline", "truncate=30", "--out", out.to_str().unwrap()],
    );
    assert!(run.status.success());
    let sig = read_json(&out.join("significance.json"));
    assert!(
        sig["notes"].to_string().contains("best epoch is 2"),
        "{}",
        sig["notes"]
    );

    // Another metric: the t-test, and a note why there is no bootstrap.
    let run = report(
        &dirs,
        &[
            "--baseline",
            "truncate=30",
            "--metric",
            "best_epoch",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("no bootstrap: it recomputes CoNLL F1 (val/f1)"),
        "{stdout}"
    );

    // `report --help` says how the interval is made.
    let help = String::from_utf8_lossy(&reprobe(&["report", "--help"]).stdout).into_owned();
    assert!(
        help.contains("paired bootstrap over the dev documents")
            && help.contains("the SAME")
            && help.contains("Welch's t-test"),
        "{help}"
    );

    // A baseline that names no setting is a usage error that lists the settings.
    let run = report(
        &dirs,
        &["--baseline", "truncate=12", "--out", out.to_str().unwrap()],
    );
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("names no setting") && err.contains("\"truncate=30\", \"truncate=8\""),
        "{err}"
    );
}

/// Coreference training writes `dev_documents.json` (the best epoch's per-document counts, which sum to the
/// run's `val/f1`), and `report --baseline` over a sweep of 2 settings × 2 seeds resamples them: the tiny
/// random BERT of the models crate (frozen, its 99-entry vocabulary all `[UNK]` but the specials), 4 tiny
/// documents, 1 epoch.
#[test]
fn training_writes_per_document_counts_that_report_baseline_resamples() {
    let root = tempfile::tempdir().unwrap();
    let ckpt = root.path().join("tiny-bert");
    std::fs::create_dir_all(&ckpt).unwrap();
    let fixture = repo().join("crates/reprobe-models/tests/fixtures/bert/tiny");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture.join(f), ckpt.join(f)).unwrap();
    }
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .map(String::from)
        .to_vec();
    vocab.extend((vocab.len()..99).map(|i| format!("unused{i}")));
    std::fs::write(ckpt.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    let data = repo().join("data/tiny");
    let config = format!(
        "name = \"tiny\"\nseed = 1\n[data]\ntrain = \"{train}\"\ndev = \"{dev}\"\nseg_len = 40\n\
         max_train_docs = 4\nmax_eval_docs = 4\n[encoders.enc]\ncheckpoint = \"{ckpt}\"\nfreeze = true\n\
         [head]\nffnn_size = 8\nfeature_emb_size = 4\nmax_span_width = 5\nmax_training_sentences = 1\n\
         [train]\nmax_epochs = 1\n[cache]\ndir = \"{cache}\"\n",
        train = data.join("train.english.v4_gold_conll").display(),
        dev = data.join("dev.english.v4_gold_conll").display(),
        ckpt = ckpt.display(),
        cache = root.path().join("cache").display(),
    );
    let cfg = root.path().join("tiny.toml");
    std::fs::write(&cfg, config).unwrap();
    let sweep = root.path().join("sweep");
    let run = reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "optim.task_learning_rate=1e-3,2e-3",
        "seed=1,2",
        "--multirun",
        "--jobs",
        "2",
        "--sweep-dir",
        sweep.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for job in 0..4 {
        let dir = sweep.join(format!("job-00{job}"));
        let result = read_json(&dir.join("result.json"));
        let docs = read_json(&dir.join("dev_documents.json"));
        assert_eq!(docs["epoch"], result["best_epoch"]);
        let documents = docs["documents"].as_array().unwrap();
        assert_eq!(documents.len(), 4);
        let mut total = ConllCounts::default();
        for d in documents {
            let c: reprobe_metrics::CorefCounts =
                serde_json::from_value(d["counts"].clone()).unwrap();
            total.add(&ConllCounts::of(&c).unwrap());
        }
        // Summed in document order as the evaluation sums them: the same bits.
        assert_eq!(total.f1(), result["val/f1"].as_f64().unwrap());
    }
    let out = sweep.join("report");
    let run = reprobe(&[
        "report",
        sweep.to_str().unwrap(),
        "--baseline",
        "task_learning_rate=0.001",
        "--resamples",
        "200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let sig = read_json(&out.join("significance.json"));
    assert_eq!(sig["documents"], 4);
    let b = &sig["rows"][1]["bootstrap"];
    assert_eq!(b["resamples"], 200);
    assert!(
        b["low"].as_f64().unwrap() <= b["high"].as_f64().unwrap(),
        "{sig}"
    );
}
