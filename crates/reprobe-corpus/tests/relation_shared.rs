//! The relation readers on the SemEval-2010 Task 8 release in `../shared` (every record of both files,
//! their quirks), and the marked model inputs against `transformers` with the markers as added special
//! tokens (fixture made by `scripts/golden/relation_tokens.py`). Each test skips with a printed reason
//! when `../shared` or a tokenizer folder is absent.
mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reprobe_corpus::markers::{encode_relation, marker_tokens, MarkerIds};
use reprobe_corpus::readers::{read_relations, RelationExample};
use reprobe_corpus::SubwordTokenizer;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn semeval(split: &str) -> Option<PathBuf> {
    let path = util::shared_dir()?
        .join("data/semeval2010_task8")
        .join(format!("{split}.txt"));
    if path.is_file() {
        Some(path)
    } else {
        util::skip("shared", &format!("{} is absent", path.display()));
        None
    }
}

fn by_id(examples: &[RelationExample]) -> BTreeMap<&str, &RelationExample> {
    examples.iter().map(|e| (e.id.as_str(), e)).collect()
}

#[test]
fn semeval_release_reads_whole_with_its_quirks() {
    let (Some(train), Some(test)) = (semeval("train"), semeval("test")) else {
        return;
    };
    let train = read_relations(&train).unwrap();
    let test = read_relations(&test).unwrap();
    assert_eq!((train.len(), test.len()), (8000, 2717));
    assert_eq!((train[0].id.as_str(), test[0].id.as_str()), ("1", "8001"));
    let mut labels: Vec<&str> = train.iter().filter_map(|e| e.label.as_deref()).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 19);
    let count = |l: &str| {
        train
            .iter()
            .filter(|e| e.label.as_deref() == Some(l))
            .count()
    };
    assert_eq!(
        (count("Other"), count("Entity-Destination(e2,e1)")),
        (1410, 1)
    );
    assert!(
        train
            .iter()
            .chain(&test)
            .all(|e| e.head.end <= e.tail.start),
        "e1 comes first"
    );
    // Tags glued to a word become a space; a glued closing tag before punctuation stays.
    let train_ids = by_id(&train);
    let test_ids = by_id(&test);
    let glued = [
        (&train_ids, "213", "doves moles", "moles"),
        (&train_ids, "2740", "The staff in", "staff"),
        (&train_ids, "4612", "sheet of neurons", "neurons"),
        (&train_ids, "4784", "When the coil", "coil"),
        (&train_ids, "6373", "of a bird", "bird"),
        (&test_ids, "8411", "continuum bath", "bath"),
        (&test_ids, "9867", "inside a caisson", "caisson"),
    ];
    for (ids, id, context, argument) in glued {
        let e = ids[id];
        assert!(e.text.contains(context), "{id}: {}", e.text);
        assert!([e.head_text(), e.tail_text()].contains(&argument), "{id}");
    }
    // Only the outer quotes go; inner ones stay.
    assert!(train_ids["629"]
        .text
        .starts_with("\"Just like real baseball,\" he told the card"));
    assert_eq!(train_ids["18"].head_text(), "factory");
    assert!(train_ids["18"].text.contains("factory's products"));
    assert_eq!(train_ids["1"].tail_text(), "elements");
}

#[test]
fn marked_inputs_equal_transformers_with_added_markers() {
    let (Some(train_path), Some(test_path)) = (semeval("train"), semeval("test")) else {
        return;
    };
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relation_tokens.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut folders = Vec::new();
    if let Some(dir) = util::bert_base_cased() {
        folders.push(("bert-base-cased", dir));
    }
    if let Some(dir) = util::minilm() {
        folders.push(("all-MiniLM-L6-v2", dir));
    }
    let splits = [
        ("train", read_relations(&train_path).unwrap()),
        ("test", read_relations(&test_path).unwrap()),
    ];
    for (name, dir) in folders {
        let want = &fixture[name];
        let mut tok = SubwordTokenizer::from_dir(&dir).unwrap();
        let markers = marker_tokens(&[]);
        let ids = tok.add_special_tokens(&markers).unwrap();
        for (marker, id) in markers.iter().zip(&ids) {
            assert_eq!(want["marker_ids"][marker], *id, "{name}: {marker}");
        }
        assert_eq!(want["len"], tok.len_with_added(), "{name}: len(tokenizer)");
        let marker_ids = MarkerIds::new(&tok, &[]).unwrap();
        for (split, examples) in &splits {
            let mut digest = Sha256::new();
            for e in examples {
                let enc = encode_relation(e, &tok, &marker_ids, 512).unwrap();
                assert!(!enc.trimmed);
                let ids = &enc.input.input_ids;
                let line: Vec<String> = ids.iter().map(u32::to_string).collect();
                digest.update(format!("{}\t{}\n", e.id, line.join(" ")));
                if let Some(expected) = want["examples"].get(&e.id) {
                    let expected: Vec<u32> = serde_json::from_value(expected.clone()).unwrap();
                    assert_eq!(ids, &expected, "{name}: record {}", e.id);
                }
            }
            let got = format!("{:x}", digest.finalize());
            assert_eq!(
                want["digests"][split], got,
                "{name}: the {split} inputs differ from transformers'"
            );
        }
    }
}
