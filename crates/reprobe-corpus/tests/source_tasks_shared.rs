//! The source-task readers on the shared corpora (WNUT-17, MRPC, OntoGUM's NER column), and the model
//! encodings against the Python fast tokenizer (fixture made by `scripts/golden/source_task_tokens.py`).
//! Each test skips with a printed reason when `../shared` or a tokenizer folder is absent.
mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reprobe_corpus::readers::{
    label_set, read_columns, read_conll2012_ner, read_glue_tsv, TaggedSentence,
};
use reprobe_corpus::{encode_pair, encode_tagged, label_index, SubwordTokenizer};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A file of `../shared/data`, or `None` after a [`util::skip`].
fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = util::shared_dir()?.join("data").join(relative);
    if path.is_file() {
        Some(path)
    } else {
        util::skip("shared", &format!("{} is absent", path.display()));
        None
    }
}

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/source_task_tokens.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The tokenizers of the fixture that are present here: (fixture key, tokenizer).
fn tokenizers() -> Vec<(&'static str, SubwordTokenizer)> {
    let mut found = Vec::new();
    if let Some(dir) = util::bert_base_cased() {
        found.push(("bert-base-cased", SubwordTokenizer::from_dir(&dir).unwrap()));
    }
    if let Some(dir) = util::minilm() {
        found.push((
            "all-MiniLM-L6-v2",
            SubwordTokenizer::from_dir(&dir).unwrap(),
        ));
    }
    found
}

fn numbers(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap_or(-1))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The digest of the fixture script: one line per example, "<ids>\t<others>\n", sha256 in hex.
fn digest(rows: &[(Vec<i64>, Vec<i64>)]) -> String {
    let mut hasher = Sha256::new();
    for (ids, others) in rows {
        let join = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
        hasher.update(format!("{}\t{}\n", join(ids), join(others)).as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// (sentences, tokens, entities, tag counts) of tagged sentences.
fn tag_stats(sentences: &[TaggedSentence]) -> (usize, usize, usize, BTreeMap<String, usize>) {
    let mut counts = BTreeMap::new();
    for tag in sentences.iter().flat_map(|s| &s.tags) {
        *counts.entry(tag.clone()).or_insert(0) += 1;
    }
    let entities = counts
        .iter()
        .filter(|(tag, _)| tag.starts_with("B-"))
        .map(|(_, n)| n)
        .sum();
    let tokens = sentences.iter().map(|s| s.words.len()).sum();
    (sentences.len(), tokens, entities, counts)
}

#[test]
fn wnut17_counts_tags_and_label_set_match_the_readme() {
    let (Some(train), Some(dev)) = (
        shared_file("wnut17/train.conll"),
        shared_file("wnut17/dev.conll"),
    ) else {
        return;
    };
    let train = read_columns(&train).unwrap();
    let dev = read_columns(&dev).unwrap();
    let (sentences, tokens, entities, counts) = tag_stats(&train);
    assert_eq!((sentences, tokens, entities), (3_394, 62_730, 1_975));
    let expected: BTreeMap<String, usize> = [
        ("O", 59_570),
        ("B-person", 660),
        ("I-person", 335),
        ("B-location", 548),
        ("I-location", 245),
        ("B-group", 264),
        ("I-group", 150),
        ("B-corporation", 221),
        ("I-corporation", 46),
        ("B-product", 142),
        ("I-product", 203),
        ("B-creative-work", 140),
        ("I-creative-work", 206),
    ]
    .into_iter()
    .map(|(tag, n)| (tag.to_string(), n))
    .collect();
    assert_eq!(counts, expected);
    let (sentences, tokens, entities, counts) = tag_stats(&dev);
    assert_eq!(
        (sentences, tokens, entities, counts["O"]),
        (1_009, 15_733, 836, 14_483)
    );
    // README, "Format": train.conll lines 558–560 are `dad O`, `Scooter B-person`, `Braun I-person`.
    let scooter = train
        .iter()
        .find(|s| s.words.iter().any(|w| w == "Scooter"))
        .unwrap();
    let at = scooter.words.iter().position(|w| w == "Scooter").unwrap();
    assert_eq!(scooter.line + at, 559);
    assert_eq!(scooter.tags[at..at + 2], ["B-person", "I-person"]);

    let labels = label_set(train.iter().chain(&dev));
    assert_eq!(
        labels,
        [
            "O",
            "B-corporation",
            "I-corporation",
            "B-creative-work",
            "I-creative-work",
            "B-group",
            "I-group",
            "B-location",
            "I-location",
            "B-person",
            "I-person",
            "B-product",
            "I-product"
        ]
    );
}

#[test]
fn mrpc_counts_and_positive_share_match_the_readme() {
    for (split, pairs, positive) in [("train", 3_668, 2_474), ("dev", 408, 279)] {
        let Some(path) = shared_file(&format!("mrpc/{split}.tsv")) else {
            return;
        };
        let examples = read_glue_tsv(&path).unwrap();
        assert_eq!(examples.len(), pairs, "{split}");
        assert!(examples.iter().all(|e| e.text_b.is_some()));
        let labels: Vec<&str> = examples
            .iter()
            .map(|e| e.label.as_deref().unwrap())
            .collect();
        assert!(labels.iter().all(|l| *l == "0" || *l == "1"), "{split}");
        assert_eq!(
            labels.iter().filter(|l| **l == "1").count(),
            positive,
            "{split}"
        );
        if split == "train" {
            let first = &examples[0];
            assert_eq!((first.id.as_str(), first.line), ("702876-702977", 2));
            assert!(first.text_a.starts_with("Amrozi accused his brother"));
            assert!(first
                .text_b
                .as_deref()
                .unwrap()
                .ends_with("distorting his evidence."));
        }
    }
}

#[test]
fn ontogum_ner_column_is_empty_and_reads_as_all_o() {
    // OntoGUM's column 11 is `*` on every word (it has no OntoNotes NER), so this checks the parser's
    // layout and sentence splitting only; the brackets are tested on inline text in `columns.rs`.
    let Some(path) = util::shared_conll("ontogum", "dev") else {
        return;
    };
    let sentences = read_conll2012_ner(&path).unwrap();
    let (sentences, tokens, entities, counts) = tag_stats(&sentences);
    assert_eq!((sentences, tokens, entities), (1_575, 28_119, 0));
    assert_eq!(counts.keys().collect::<Vec<_>>(), ["O"]);
}

/// The fixture's MRPC pairs as (text a, text b).
fn fixture_pairs(fx: &Value) -> Vec<(String, String)> {
    fx["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["text_a"].as_str().unwrap().into(),
                p["text_b"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn encode_pair_matches_the_python_fast_tokenizer_with_truncation() {
    let fx = fixture();
    let pairs = fixture_pairs(&fx);
    let max_lens: Vec<usize> = numbers(&fx["max_lens"])
        .into_iter()
        .map(|m| m as usize)
        .collect();
    for (name, tok) in tokenizers() {
        let expected = &fx[name];
        for (idx, (a, b)) in pairs.iter().enumerate() {
            for (m_idx, &max_len) in max_lens.iter().enumerate() {
                let want = &expected["pairs"][idx][m_idx];
                let got = encode_pair(a, Some(b), &tok, max_len).unwrap();
                let got_ids: Vec<i64> = got.input_ids.iter().map(|&i| i64::from(i)).collect();
                assert_eq!(
                    got_ids,
                    numbers(&want["input_ids"]),
                    "{name}: pair {idx} at {max_len}"
                );
                let got_types: Vec<i64> =
                    got.token_type_ids.iter().map(|&i| i64::from(i)).collect();
                assert_eq!(
                    got_types,
                    numbers(&want["token_type_ids"]),
                    "{name}: pair {idx} at {max_len}"
                );
            }
            let single = encode_pair(a, None, &tok, 16).unwrap();
            let got_ids: Vec<i64> = single.input_ids.iter().map(|&i| i64::from(i)).collect();
            assert_eq!(
                got_ids,
                numbers(&expected["singles"][idx]["input_ids"]),
                "{name}: single {idx}"
            );
        }
    }
}

#[test]
fn encode_pair_matches_the_python_fast_tokenizer_on_all_of_mrpc() {
    let fx = fixture();
    for (name, tok) in tokenizers() {
        for split in ["train", "dev"] {
            let Some(path) = shared_file(&format!("mrpc/{split}.tsv")) else {
                return;
            };
            let examples = read_glue_tsv(&path).unwrap();
            for max_len in [128, 48] {
                let rows: Vec<(Vec<i64>, Vec<i64>)> = examples
                    .iter()
                    .map(|e| {
                        let enc =
                            encode_pair(&e.text_a, e.text_b.as_deref(), &tok, max_len).unwrap();
                        let widen = |v: &[u32]| v.iter().map(|&i| i64::from(i)).collect();
                        (widen(&enc.input_ids), widen(&enc.token_type_ids))
                    })
                    .collect();
                let key = format!("mrpc/{split}@{max_len}");
                assert_eq!(
                    digest(&rows),
                    fx[name]["digests"][&key].as_str().unwrap(),
                    "{name}: {key}"
                );
            }
        }
    }
}

/// Our encoding of one sentence (one window, no tags) made comparable with HF `word_ids()`: the `[UNK]`
/// we give to words without subtokens is removed (HF gives them no token). Returns (ids, first) where
/// first is the word index on each word's first subtoken and -1 elsewhere.
fn tagged_like_hf(tok: &SubwordTokenizer, words: &[String]) -> (Vec<i64>, Vec<i64>) {
    let windows = encode_tagged(0, words, None, &label_index(&[]), tok, 512).unwrap();
    assert_eq!(windows.len(), 1, "{words:?}");
    let window = &windows[0];
    let mut ids = Vec::new();
    let mut first = Vec::new();
    for (&id, word) in window.input_ids.iter().zip(&window.word_index) {
        if let Some(w) = word {
            if tok.tokenize_word(&words[*w]).unwrap().is_empty() {
                continue;
            }
        }
        ids.push(i64::from(id));
        first.push(word.map_or(-1, |w| w as i64));
    }
    (ids, first)
}

#[test]
fn encode_tagged_alignment_matches_hf_word_ids() {
    let fx = fixture();
    let sentences: Vec<Vec<String>> = fx["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| strings(&s["words"]))
        .collect();
    for (name, tok) in tokenizers() {
        for (idx, words) in sentences.iter().enumerate() {
            let want = &fx[name]["sentences"][idx];
            let (ids, first) = tagged_like_hf(&tok, words);
            assert_eq!(ids, numbers(&want["input_ids"]), "{name}: sentence {idx}");
            assert_eq!(first, numbers(&want["first"]), "{name}: sentence {idx}");
        }
    }
}

#[test]
fn encode_tagged_matches_hf_word_ids_on_all_of_wnut17() {
    let fx = fixture();
    for split in ["train", "dev"] {
        let Some(path) = shared_file(&format!("wnut17/{split}.conll")) else {
            return;
        };
        let sentences = read_columns(&path).unwrap();
        for (name, tok) in tokenizers() {
            let rows: Vec<_> = sentences
                .iter()
                .map(|s| tagged_like_hf(&tok, &s.words))
                .collect();
            let key = format!("wnut17/{split}");
            assert_eq!(
                digest(&rows),
                fx[name]["digests"][&key].as_str().unwrap(),
                "{name}: {key}"
            );
        }
    }
}

#[test]
fn wnut17_encodes_with_labels_on_first_subtokens_in_short_windows() {
    let (Some(path), Some(dir)) = (shared_file("wnut17/dev.conll"), util::bert_base_cased()) else {
        return;
    };
    let tok = SubwordTokenizer::from_dir(&dir).unwrap();
    let sentences = read_columns(&path).unwrap();
    let labels = label_set(&sentences);
    let ids = label_index(&labels);
    let mut windows = 0;
    for (idx, sentence) in sentences.iter().enumerate() {
        let encoded =
            encode_tagged(idx, &sentence.words, Some(&sentence.tags), &ids, &tok, 32).unwrap();
        windows += encoded.len();
        let mut labelled = Vec::new();
        for window in &encoded {
            assert!(window.input_ids.len() <= 32);
            for (label, word) in window.labels.iter().zip(&window.word_index) {
                assert_eq!(*label == -100, word.is_none());
                if let Some(w) = word {
                    labelled.push((*w, labels[*label as usize].clone()));
                }
            }
        }
        let want: Vec<(usize, String)> = sentence.tags.iter().cloned().enumerate().collect();
        assert_eq!(labelled, want, "sentence {idx}");
    }
    assert!(
        windows > sentences.len(),
        "max_len 32 splits some WNUT-17 dev sentences"
    );
}
