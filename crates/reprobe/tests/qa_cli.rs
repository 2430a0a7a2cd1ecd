//! Extractive QA end to end on the tiny random BERT of the models crate (3 layers, hidden 32): the model
//! learns a synthetic SQuAD 2.0 set ("who" → the person, "where" → the place, "when" → no answer; some
//! contexts span two windows), checked by value; `evaluate` writes the official prediction file, which
//! `score --task squad` scores to the same numbers; `predict` gives answers with character offsets;
//! `export` writes a `BertForQuestionAnswering` folder; the run comes back as a frozen coreference encoder;
//! bad SQuAD files name the file and the question.
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

mod util;
use util::{ok, read_json, reprobe, task_config, tiny_coref_probe};

const PEOPLE: [&str; 4] = ["anna", "bob", "carla", "dieter"];
const PLACES: [&str; 3] = ["paris", "rome", "oslo"];
const FILLER: [&str; 6] = ["the", "and", "then", "later", "it", "was"];

/// The tiny random BERT with a lower-case vocabulary of the synthetic words.
fn tiny_bert(root: &Path) -> PathBuf {
    let mut vocab: Vec<&str> = vec![
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "?", "who", "where", "when", "went",
        "to",
    ];
    vocab.extend(PEOPLE);
    vocab.extend(PLACES);
    vocab.extend(FILLER);
    util::tiny_bert(root, &vocab)
}

/// Contexts "… Person went to Place …" (every fourth with 30 filler words first: two windows of 40), three
/// questions each: who (the person), where (the place), when (no answer).
fn squad_file(path: &Path, contexts: usize) {
    let mut paragraphs = Vec::new();
    for i in 0..contexts {
        let person = PEOPLE[i % 4];
        let place = PLACES[i % 3];
        let lead: Vec<&str> = (0..if i % 4 == 3 { 30 } else { i % 3 })
            .map(|k| FILLER[(i + k) % 6])
            .collect();
        let mut context = lead.join(" ");
        if !context.is_empty() {
            context.push(' ');
        }
        let person_at = context.chars().count();
        context.push_str(&format!("{} went to ", capitalise(person)));
        let place_at = context.chars().count();
        context.push_str(&format!(
            "{} . {} {} .",
            capitalise(place),
            FILLER[i % 6],
            FILLER[(i + 2) % 6]
        ));
        paragraphs.push(json!({"context": context, "qas": [
            {"id": format!("q{i}-who"), "question": "Who?", "is_impossible": false,
             "answers": [{"text": capitalise(person), "answer_start": person_at}]},
            {"id": format!("q{i}-where"), "question": "Where?", "is_impossible": false,
             "answers": [{"text": capitalise(place), "answer_start": place_at},
                         {"text": format!("to {}", capitalise(place)), "answer_start": place_at - 3}]},
            {"id": format!("q{i}-when"), "question": "When?", "is_impossible": true, "answers": [],
             "plausible_answers": [{"text": capitalise(person), "answer_start": person_at}]},
        ]}));
    }
    let data =
        json!({"version": "v2.0", "data": [{"title": "Synthetic", "paragraphs": paragraphs}]});
    std::fs::write(path, data.to_string()).unwrap();
}

fn capitalise(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn qa_learns_evaluates_predicts_scores_exports_and_comes_back_as_a_coref_encoder() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let data = root.join("squad.json");
    squad_file(&data, 16);
    let cfg = task_config(
        root,
        "qa",
        &format!(
            "task = \"extractive_qa\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\nfreeze = false\n[head]\ndoc_stride = 8\n[optim]\nbert_learning_rate = 5e-3\ntask_learning_rate = 5e-3\nwarmup_ratio = 0.0\n[train]\nmax_epochs = 150\npatience = 0\nbatch_size = 8\n",
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
        printed.contains("48 questions (32 answerable), 60 windows"),
        "{printed}"
    );
    let result = read_json(&run.join("result.json"));
    let f1 = result["val/f1"].as_f64().unwrap();
    assert!(f1 > 0.9, "the model learns who/where/when: F1 {f1}");
    assert!(result["val/no_ans_f1"].as_f64().unwrap() > 0.9);
    assert!(result["val/position_f1"].as_f64().unwrap() > 0.8);

    // evaluate: the official prediction file, which `score --task squad` scores to the same numbers.
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
        (scores["f1"].as_f64().unwrap() / 100.0 - f1).abs() < 1e-9,
        "{scores}"
    );
    assert_eq!(scores["total"], 48);
    assert_eq!(scores["NoAns_total"], 16);
    let official = read_json(&out.join("predictions.json"));
    assert_eq!(official.as_object().unwrap().len(), 48);
    assert_eq!(official["q0-when"], "");
    let scored = ok(&reprobe(&[
        "score",
        "--task",
        "squad",
        data.to_str().unwrap(),
        out.join("predictions.json").to_str().unwrap(),
        "--format",
        "json",
    ]));
    let scored: Value = serde_json::from_str(scored.lines().next().unwrap()).unwrap();
    for key in ["exact", "f1", "total", "HasAns_f1", "NoAns_exact"] {
        assert_eq!(scored[key], scores[key], "{key}");
    }

    // predict: JSON lines of question and context → answer with character offsets.
    let input = root.join("questions.jsonl");
    let context = "it Carla went to Rome . it the ."; // the context of q10 (learned)
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n",
            json!({"id": "a", "question": "Who?", "context": context}),
            json!({"question": "When?", "context": context})
        ),
    )
    .unwrap();
    let predicted = root.join("answers.jsonl");
    ok(&reprobe(&[
        "predict",
        run.to_str().unwrap(),
        input.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
    ]));
    let answers = lines(&predicted);
    assert_eq!(answers[0]["id"], "a");
    assert_eq!(
        answers[0]["answer"], official["q10-who"],
        "as evaluate answered"
    );
    assert_eq!(answers[0]["answer"], "Carla");
    let (s, e) = (
        answers[0]["char_start"].as_u64().unwrap() as usize,
        answers[0]["char_end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&context[s..e], "Carla");
    assert!(answers[0]["no_answer_probability"].as_f64().unwrap() < 0.5);
    assert_eq!(answers[1]["id"], "2", "ids default to line numbers");
    assert_eq!(answers[1]["answer"], "");
    assert_eq!(answers[1]["char_start"], Value::Null);
    assert!(answers[1]["no_answer_probability"].as_f64().unwrap() > 0.5);

    // export: a BertForQuestionAnswering folder.
    let exported = root.join("exported");
    ok(&reprobe(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]));
    let config_json = read_json(&exported.join("config.json"));
    assert_eq!(config_json["architectures"][0], "BertForQuestionAnswering");
    assert!(exported.join("vocab.txt").exists());

    // The export as the frozen encoder of a coreference probe: the start/end layer is named and left out.
    let (coref_run, printed) = tiny_coref_probe(root, &exported, 3, 2);
    assert!(
        printed.contains("ignoring 2 head weight(s)") && printed.contains("qa_outputs.weight"),
        "{printed}"
    );
    assert!(coref_run.join("result.json").exists());
}

#[test]
fn bad_squad_files_name_the_file_and_question() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let ckpt = tiny_bert(root);
    let config_for = |name: &str, data: &Path| {
        task_config(
            root,
            name,
            &format!(
                "task = \"extractive_qa\"\n[data]\ntrain = \"{d}\"\ndev = \"{d}\"\nseg_len = 40\n[encoders.enc]\ncheckpoint = \"{c}\"\n[head]\ndoc_stride = 8\n[train]\nmax_epochs = 1\n",
                d = data.display(),
                c = ckpt.display()
            ),
        )
    };
    // Duplicate ids: an error naming the file and the id, and no result.
    let dup = root.join("dup.json");
    let qa = json!({"id": "same", "question": "Who?", "answers": []});
    std::fs::write(
        &dup,
        json!({"data": [{"paragraphs": [{"context": "Anna went to Rome .", "qas": [qa, qa]}]}]})
            .to_string(),
    )
    .unwrap();
    let out = reprobe(&[
        "train",
        config_for("dup", &dup).to_str().unwrap(),
        "--run-dir",
        root.join("r1").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("dup.json") && err.contains("question same"),
        "{err}"
    );
    assert!(!root.join("r1/result.json").exists());

    // An answer that does not match its context: a counted warning, the question skipped.
    let bad = root.join("bad.json");
    squad_file(&bad, 2);
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&bad).unwrap()).unwrap();
    value["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = json!(3);
    std::fs::write(&bad, value.to_string()).unwrap();
    let printed = ok(&reprobe(&[
        "train",
        config_for("bad", &bad).to_str().unwrap(),
        "--run-dir",
        root.join("r2").to_str().unwrap(),
    ]));
    assert!(
        printed.contains("1 answer(s) do not match") && printed.contains("question q0-who"),
        "{printed}"
    );
    assert!(printed.contains("5 questions (3 answerable)"), "{printed}");
}
