//! Relation classification end to end on the tiny random BERT of the models crate (3 layers, hidden 32,
//! 99 word embeddings grown by the 4 markers to 103): a SemEval-format set with a learnable rule is learnt
//! (checked by value, dev held out of the training file), `evaluate` writes the official answer file that
//! `score --task semeval2010` reads back, `predict` labels marked-text JSON lines, `export` writes a
//! `BertForSequenceClassification` with the grown vocabulary and the markers in the tokenizer files, and the
//! run folder comes back as the frozen encoder of a coreference probe. TACRED JSON with typed markers and
//! `score --task tacred`; bad records named.
use std::path::{Path, PathBuf};

mod util;
use util::{ok, read_json, reprobe, task_config, tiny_coref_probe};

const PEOPLE: [&str; 4] = ["anna", "bob", "carla", "dieter"];
const PLACES: [&str; 3] = ["paris", "rome", "oslo"];

/// The tiny random BERT with a lower-case vocabulary of the synthetic words, padded to the model's 99 rows
/// so that the markers need new rows.
fn tiny_bert(root: &Path) -> PathBuf {
    let mut vocab: Vec<String> = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "went", "to", "met", "and", "saw",
        "today",
    ]
    .map(String::from)
    .to_vec();
    vocab.extend(PEOPLE.iter().chain(&PLACES).map(|s| s.to_string()));
    let mut filler = 0;
    while vocab.len() < 99 {
        vocab.push(format!("[unused{filler}]"));
        filler += 1;
    }
    util::tiny_bert(root, &vocab)
}

/// The i-th synthetic example: (sentence with tags, label). The relation follows from the sentence's verb
/// and the kinds of its arguments.
fn synthetic(i: usize) -> (String, &'static str) {
    let (p, q, l, m) = (
        PEOPLE[i % 4],
        PEOPLE[(i + 1) % 4],
        PLACES[i % 3],
        PLACES[(i + 1) % 3],
    );
    match i % 4 {
        0 => (
            format!("<e1>{p}</e1> went to <e2>{l}</e2> ."),
            "Entity-Destination(e1,e2)",
        ),
        1 => (
            format!("<e1>{l}</e1> saw <e2>{p}</e2> today ."),
            "Entity-Destination(e2,e1)",
        ),
        2 => (
            format!("<e1>{p}</e1> met <e2>{q}</e2> ."),
            "Member-Collection(e2,e1)",
        ),
        _ => (format!("<e1>{l}</e1> and <e2>{m}</e2> ."), "Other"),
    }
}

/// A SemEval release-format file (CRLF) of `n` synthetic examples, ids from `first`.
fn semeval_file(path: &Path, n: usize, first: usize) {
    let mut text = String::new();
    for i in 0..n {
        let (sentence, label) = synthetic(i);
        text.push_str(&format!(
            "{}\t\"{sentence}\"\r\n{label}\r\nComment:\r\n\r\n",
            first + i
        ));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn semeval_learns_evaluates_predicts_scores_exports_and_feeds_coref() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let data = root.join("train.txt");
    semeval_file(&data, 60, 1);
    let cfg = task_config(
        root,
        "re",
        &format!(
            "task = \"relation_classification\"\n[data]\ntrain = \"{d}\"\ntest = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\nfreeze = false\n[head]\ndropout = 0.0\n[optim]\nbert_learning_rate = 3e-3\ntask_learning_rate = 3e-3\n[train]\nmax_epochs = 30\npatience = 0\nbatch_size = 8\neval_test = true\n",
            d = data.display(),
            c = ckpt.display()
        ),
    );
    let run = root.join("run");
    let printed = ok(&reprobe(&[
        "train",
        cfg.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
    ]));
    assert!(
        printed.contains("6 examples held out of the training file (54 left"),
        "{printed}"
    );
    let labels = read_json(&run.join("labels.json"));
    assert_eq!(
        labels,
        serde_json::json!([
            "Other",
            "Entity-Destination(e1,e2)",
            "Entity-Destination(e2,e1)",
            "Member-Collection(e2,e1)"
        ])
    );
    let result = read_json(&run.join("result.json"));
    let f1 = result["test/f1"].as_f64().unwrap();
    assert!(f1 >= 0.9, "the official macro F1 on the whole file: {f1}");
    assert!(result["val/f1"].as_f64().is_some());

    // evaluate: scores, and the answer file the official scorer (and `score`) reads.
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
        (scores["official_f1"].as_f64().unwrap() - f1).abs() < 1e-9,
        "{scores}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("predictions.txt"))
            .unwrap()
            .lines()
            .count(),
        60
    );
    let scored = ok(&reprobe(&[
        "score",
        "--task",
        "semeval2010",
        data.to_str().unwrap(),
        out.join("predictions.txt").to_str().unwrap(),
        "--format",
        "json",
    ]));
    let scored: serde_json::Value = serde_json::from_str(scored.lines().next().unwrap()).unwrap();
    assert_eq!(scored["official_f1"], scores["official_f1"]);
    assert_eq!(scored["accuracy"], scores["accuracy"]);
    assert!(scored["per_label"]["Entity-Destination"]["f1"]
        .as_f64()
        .is_some());

    // predict: marked-text JSON lines.
    let input = root.join("input.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"x\", \"text\": \"<e1>bob</e1> went to <e2>oslo</e2> .\"}\n{\"text\": \"<e1>rome</e1> and <e2>paris</e2> .\"}\n",
    )
    .unwrap();
    let predicted = root.join("predicted.jsonl");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        input.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
    ]));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&predicted)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["id"], "x");
    assert_eq!(lines[0]["text"], "<e1>bob</e1> went to <e2>oslo</e2> .");
    assert_eq!(lines[0]["label"], "Entity-Destination(e1,e2)");
    assert_eq!(lines[1]["label"], "Other");
    assert!(lines[0]["probability"].as_f64().unwrap() > 0.5);

    // export: BertForSequenceClassification, 99 + 4 word embeddings, markers in the tokenizer files.
    let exported = root.join("exported");
    ok(&reprobe(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]));
    let exported_config = read_json(&exported.join("config.json"));
    assert_eq!(
        exported_config["architectures"][0],
        "BertForSequenceClassification"
    );
    assert_eq!(exported_config["vocab_size"], 103);
    assert_eq!(exported_config["id2label"]["0"], "Other");
    let tok_cfg = read_json(&exported.join("tokenizer_config.json"));
    assert_eq!(tok_cfg["added_tokens_decoder"]["101"]["content"], "[H]");
    assert_eq!(tok_cfg["added_tokens_decoder"]["99"]["content"], "[/H]");

    // The run folder as the frozen encoder of a coreference probe (grown vocabulary and all).
    let (coref_run, _) = tiny_coref_probe(root, &run, 2, 1);
    assert!(coref_run.join("result.json").exists());
    let encoder_export: Vec<_> = std::fs::read_dir(run.join("export")).unwrap().collect();
    let encoder_dir = encoder_export[0].as_ref().unwrap().path();
    let encoder_config = read_json(&encoder_dir.join("config.json"));
    assert_eq!(encoder_config["architectures"][0], "BertModel");
    assert_eq!(encoder_config["vocab_size"], 103);
}

/// TACRED records: the relation follows from the object's type.
fn tacred_file(path: &Path, n: usize) {
    let records: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let person = i % 2 == 0;
            serde_json::json!({
                "id": format!("r{i}"),
                "relation": if person { "per:met" } else if i % 4 == 1 { "per:visited" } else { "no_relation" },
                "token": [PEOPLE[i % 4], if person { "met" } else { "went" }, "to", if person { PEOPLE[(i + 1) % 4] } else { PLACES[i % 3] }, "."],
                "subj_start": 0, "subj_end": 0, "obj_start": 3, "obj_end": 3,
                "subj_type": "PERSON", "obj_type": if person { "PERSON" } else { "CITY" },
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_string(&records).unwrap()).unwrap();
}

#[test]
fn tacred_with_typed_markers_and_its_scorer() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let data = root.join("train.json");
    tacred_file(&data, 16);
    let cfg = task_config(
        root,
        "tacred",
        &format!(
            "task = \"relation_classification\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\nfreeze = true\n[head]\nentity_types = [\"PERSON\", \"CITY\"]\n[train]\nmax_epochs = 1\nbatch_size = 8\n",
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
    assert_eq!(
        read_json(&run.join("labels.json")),
        serde_json::json!(["no_relation", "per:met", "per:visited"])
    );
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
    let scored = ok(&reprobe(&[
        "score",
        "--task",
        "tacred",
        data.to_str().unwrap(),
        out.join("predictions.txt").to_str().unwrap(),
        "--format",
        "json",
    ]));
    let scored: serde_json::Value = serde_json::from_str(scored.lines().next().unwrap()).unwrap();
    assert_eq!(scored["f1"], scores["f1"]);
    assert_eq!(scored["precision"], scores["precision"]);
    // Typed markers: 4 + 2·2 markers → 99 + 8 rows.
    let exported = root.join("exported");
    ok(&reprobe(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]));
    assert_eq!(read_json(&exported.join("config.json"))["vocab_size"], 107);
    let tok_cfg = read_json(&exported.join("tokenizer_config.json"));
    assert_eq!(
        tok_cfg["added_tokens_decoder"]["102"]["content"],
        "[H=PERSON]"
    );
}

#[test]
fn bad_relation_files_name_the_file_and_record() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let train = |name: &str, data: &Path, head: &str| {
        let cfg = task_config(
            root,
            name,
            &format!(
                "task = \"relation_classification\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\n[encoders.enc]\ncheckpoint = \"{c}\"\n[head]\n{head}\n",
                d = data.display(),
                c = ckpt.display()
            ),
        );
        let out = reprobe(&[
            "train",
            cfg.to_str().unwrap(),
            "--run-dir",
            root.join(name).to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert!(!root.join(name).join("result.json").exists());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let semeval = root.join("bad.txt");
    std::fs::write(
        &semeval,
        "1\t\"<e1>anna</e1> went to <e2>paris</e2> .\"\nOther\nComment:\n\n2\t\"<e1>bob</e1> went to <e2>rome</e2> .\"\nComment:\n",
    )
    .unwrap();
    let err = train("semeval", &semeval, "");
    assert!(
        err.contains("bad.txt:6: record 2 has no label line"),
        "{err}"
    );

    let tacred = root.join("bad.json");
    tacred_file(&tacred, 4);
    let text =
        std::fs::read_to_string(&tacred)
            .unwrap()
            .replacen("\"obj_end\":3", "\"obj_end\":9", 1);
    std::fs::write(&tacred, text).unwrap();
    let err = train("tacred", &tacred, "");
    assert!(
        err.contains("bad.json: record 1 (id r0): the obj span 3..=9 is not inside the 5 tokens"),
        "{err}"
    );

    // A type without its typed marker names the key to set.
    tacred_file(&tacred, 4);
    let err = train("types", &tacred, "entity_types = [\"PERSON\"]");
    assert!(
        err.contains("\"CITY\" has no marker [T=CITY]") && err.contains("head.entity_types"),
        "{err}"
    );
}
