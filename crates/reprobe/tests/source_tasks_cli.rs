//! The source tasks end to end on the tiny random BERT of the models crate (3 layers, hidden 32): NER and
//! pair classification learn a synthetic rule (checked by value), `evaluate`, `predict`, `score --task ner`,
//! `export` to a Hugging Face folder, and that folder (and the run folder itself) coming back as the frozen
//! encoder of a coreference probe.
use std::path::{Path, PathBuf};

mod util;
use util::{ok, read_json, reprobe, task_config, tiny_coref_probe};

const PEOPLE: [&str; 4] = ["anna", "bob", "carla", "dieter"];
const PLACES: [&str; 3] = ["paris", "rome", "oslo"];
const OTHER: [&str; 8] = ["the", "saw", "in", "went", "to", "and", "met", "today"];

/// The tiny random BERT with a lower-case vocabulary of the synthetic words.
fn tiny_bert(root: &Path) -> PathBuf {
    let mut vocab: Vec<&str> = vec![
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "good", "bad",
    ];
    vocab.extend(PEOPLE);
    vocab.extend(PLACES);
    vocab.extend(OTHER);
    util::tiny_bert(root, &vocab)
}

/// Sentences where a person name is `B-PER` (two names in a row: `B-PER I-PER`) and a place `B-LOC`.
fn ner_file(path: &Path, n: usize) {
    let mut text = String::from("-DOCSTART-\tO\n\n");
    for i in 0..n {
        let person = PEOPLE[i % 4];
        let place = PLACES[i % 3];
        let rows: Vec<(&str, &str)> = if i % 2 == 0 {
            vec![
                (person, "B-PER"),
                ("went", "O"),
                ("to", "O"),
                (place, "B-LOC"),
                (OTHER[i % 8], "O"),
            ]
        } else {
            vec![
                ("the", "O"),
                (person, "B-PER"),
                (PEOPLE[(i + 1) % 4], "I-PER"),
                ("met", "O"),
                ("in", "O"),
                (place, "B-LOC"),
            ]
        };
        for (w, t) in rows {
            text.push_str(&format!("{w}\t{t}\n"));
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// Pairs labelled 1 exactly when the first text says `good`.
fn pair_file(path: &Path, n: usize) {
    let mut text = String::from("\u{feff}Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n");
    for i in 0..n {
        let (word, label) = if i % 2 == 0 { ("good", 1) } else { ("bad", 0) };
        text.push_str(&format!(
            "{label}\t{i}\t{}\t{} {word} {} .\t{} went to {} \"today\n",
            i + 1000,
            PEOPLE[i % 4],
            PLACES[i % 3],
            PEOPLE[(i + 1) % 4],
            PLACES[(i + 2) % 3]
        ));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn ner_learns_evaluates_predicts_scores_and_exports() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let data = root.join("ner.conll");
    ner_file(&data, 24);
    let cfg = task_config(
        root,
        "ner",
        &format!(
            "task = \"ner\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\nfreeze = true\ntruncate = 1\n[head]\ndropout = 0.0\n[optim]\ntask_learning_rate = 0.05\nwarmup_ratio = 0.0\n[train]\nmax_epochs = 20\npatience = 0\nbatch_size = 8\n",
            d = data.display(),
            c = ckpt.display()
        ),
    );
    let run = root.join("run");
    ok(&reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    let result = read_json(&run.join("result.json"));
    let f1 = result["val/f1"].as_f64().unwrap();
    assert!(
        f1 > 0.9,
        "the tagger learns word → tag on its training set: F1 {f1}"
    );
    assert!(result["val/token_f1"].as_f64().unwrap() > 0.9);
    let labels = read_json(&run.join("labels.json"));
    assert_eq!(
        labels,
        serde_json::json!(["O", "B-LOC", "I-LOC", "B-PER", "I-PER"])
    );

    // evaluate writes scores and a column file of predictions, which `score --task ner` reads back.
    let out = root.join("eval");
    ok(&reprobe(&[
        "evaluate",
        run.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let scores = read_json(&out.join("scores.json"));
    assert!(
        (scores["micro"]["f1"].as_f64().unwrap() - f1).abs() < 1e-9,
        "{scores}"
    );
    let scored = ok(&reprobe(&[
        "score",
        "--task",
        "ner",
        data.to_str().unwrap(),
        out.join("predictions.conll").to_str().unwrap(),
        "--format",
        "json",
    ]));
    let scored: serde_json::Value = serde_json::from_str(scored.lines().next().unwrap()).unwrap();
    assert_eq!(scored["micro"]["f1"], scores["micro"]["f1"]);
    assert_eq!(scored["micro"]["tp"], scores["micro"]["tp"]);

    // Raw text: entities with their character offsets.
    let text = root.join("story.txt");
    std::fs::write(&text, "Anna went to  Paris today\n").unwrap();
    let predicted = root.join("story.ner.jsonl");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        text.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
    ]));
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&predicted)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let entities: Vec<(String, String, u64)> = line["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["text"].as_str().unwrap().to_string(),
                e["char_start"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entities,
        vec![
            ("PER".into(), "Anna".into(), 0),
            ("LOC".into(), "Paris".into(), 14)
        ]
    );

    // Export: a BertForTokenClassification folder with the labels.
    let exported = root.join("exported");
    ok(&reprobe(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]));
    let config = read_json(&exported.join("config.json"));
    assert_eq!(config["architectures"][0], "BertForTokenClassification");
    assert_eq!(config["id2label"]["3"], "B-PER");
    assert!(exported.join("model.safetensors").exists() && exported.join("vocab.txt").exists());
    let again = reprobe(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(
        !again.status.success(),
        "an existing export is not overwritten"
    );
}

#[test]
fn pair_classification_learns_and_comes_back_as_a_coref_encoder() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let data = root.join("pairs.tsv");
    pair_file(&data, 32);
    let cfg = task_config(
        root,
        "pair",
        &format!(
            "task = \"pair_classification\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\nfreeze = false\n[head]\ndropout = 0.0\n[optim]\nbert_learning_rate = 3e-3\ntask_learning_rate = 3e-3\n[train]\nmax_epochs = 12\npatience = 0\nbatch_size = 8\n",
            d = data.display(),
            c = ckpt.display()
        ),
    );
    let run = root.join("run");
    ok(&reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    let result = read_json(&run.join("result.json"));
    let accuracy = result["val/accuracy"].as_f64().unwrap();
    assert!(
        accuracy >= 0.9,
        "the classifier learns `good` → 1: accuracy {accuracy}"
    );

    let predicted = root.join("pairs.pred.jsonl");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        data.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
    ]));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&predicted)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 32);
    let right = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| l["label"] == if i % 2 == 0 { "1" } else { "0" })
        .count();
    assert!(right as f64 / 32.0 >= 0.9, "{right} of 32 right");
    assert!(lines
        .iter()
        .all(|l| l["probability"].as_f64().unwrap() >= 0.5));

    // The run folder as the frozen encoder of a coreference probe: exported once, head weights ignored.
    let (coref_run, _) = tiny_coref_probe(root, &run, 3, 2);
    assert!(coref_run.join("result.json").exists());
    let exported: Vec<_> = std::fs::read_dir(run.join("export")).unwrap().collect();
    assert_eq!(exported.len(), 1, "the encoder was exported once");
    let export_dir = exported[0].as_ref().unwrap().path();
    let config = read_json(&export_dir.join("config.json"));
    assert_eq!(config["architectures"][0], "BertModel");
    // The classification export has the head; used as a checkpoint, its head weights are named and left out.
    let task_export = root.join("pair-export");
    ok(&reprobe(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        task_export.to_str().unwrap(),
    ]));
    assert_eq!(
        read_json(&task_export.join("config.json"))["architectures"][0],
        "BertForSequenceClassification"
    );
    // The same probe's config (tiny_coref_probe wrote it to root/coref.toml) over the classification export.
    let coref2 = std::fs::read_to_string(root.join("coref.toml"))
        .unwrap()
        .replace(run.to_str().unwrap(), task_export.to_str().unwrap());
    let coref2_path = root.join("coref2.toml");
    std::fs::write(&coref2_path, coref2).unwrap();
    let printed2 = ok(&reprobe(&[
        "train",
        coref2_path.to_str().unwrap(),
        "--run-dir",
        root.join("coref-run2").to_str().unwrap(),
    ]));
    assert!(
        printed2.contains("ignoring 2 head weight(s)") && printed2.contains("classifier.weight"),
        "{printed2}"
    );
}

#[test]
fn bad_source_task_files_name_the_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let bad = root.join("bad.conll");
    std::fs::write(&bad, "anna\tB-PER\nwent\nto\tO\n").unwrap();
    let cfg = task_config(
        root,
        "bad",
        &format!(
            "task = \"ner\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\n[encoders.enc]\ncheckpoint = \"{c}\"\n",
            d = bad.display(),
            c = ckpt.display()
        ),
    );
    let out = reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        root.join("r").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("bad.conll") && err.contains('2'), "{err}");

    let tsv = root.join("bad.tsv");
    std::fs::write(
        &tsv,
        "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tonly three\n",
    )
    .unwrap();
    let cfg = task_config(
        root,
        "badtsv",
        &format!(
            "task = \"pair_classification\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\n[encoders.enc]\ncheckpoint = \"{c}\"\n",
            d = tsv.display(),
            c = ckpt.display()
        ),
    );
    let out = reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        root.join("r2").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("bad.tsv") && err.contains('2'), "{err}");
    assert!(!root.join("r2/result.json").exists());
}
