//! `prepare` against the reference preprocessing (`scripts/golden/prepare_golden.py`, a step-by-step port
//! of coref-hoi's `preprocess.py` with the slow `BertTokenizer`), field by field, on the shared corpora.
//! Skips when `../shared` or the MiniLM folder is absent.
mod util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reprobe_corpus::readers::jsonlines::parse_jsonlines;
use reprobe_corpus::writers::jsonlines::to_json_line;
use reprobe_corpus::{
    prepare_document, read_conll2012, PrepareStats, PreparedDocument, SubwordTokenizer,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn short_hash<T: serde::Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap();
    format!("{:x}", Sha256::digest(text.as_bytes()))[..16].to_string()
}

fn canonical_clusters(clusters: &[Vec<[usize; 2]>]) -> Vec<Vec<[usize; 2]>> {
    let mut out: Vec<Vec<[usize; 2]>> = clusters
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.sort();
            c
        })
        .collect();
    out.sort();
    out
}

fn cluster_sets(clusters: &[Vec<[usize; 2]>]) -> BTreeSet<BTreeSet<[usize; 2]>> {
    clusters
        .iter()
        .map(|c| c.iter().copied().collect())
        .collect()
}

/// Runs our prepare on `input` and compares with the fixture; returns the totals.
fn check(fixture_name: &str, input: &Path, tokenizer_dir: &Path) -> PrepareStats {
    let fixture_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prepare")
        .join(fixture_name);
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(&fixture_path).unwrap()).unwrap();
    let seg_len = fx["seg_len"].as_u64().unwrap() as usize;
    let tok = SubwordTokenizer::from_dir(tokenizer_dir).unwrap();
    let docs = read_conll2012(input, "bc").unwrap();
    let mut total = PrepareStats::default();
    let mut prepared = Vec::new();
    for doc in &docs {
        let (p, stats) = prepare_document(doc, &tok, seg_len).unwrap();
        total += stats;
        prepared.push(p);
    }

    let expected_docs = fx["documents"].as_array().unwrap();
    assert_eq!(
        prepared.len(),
        expected_docs.len(),
        "{fixture_name}: documents"
    );
    let mut wrong = Vec::new();
    for (ours, want) in prepared.iter().zip(expected_docs) {
        let key = &ours.doc_key;
        assert_eq!(
            key,
            want["doc_key"].as_str().unwrap(),
            "{fixture_name}: document order"
        );
        assert_eq!(ours.genre.as_deref(), Some("bc"));
        let ours_hashes = [
            ("tokens", short_hash(&ours.tokens)),
            ("sentences", short_hash(&ours.sentences)),
            ("speakers", short_hash(&ours.speakers)),
            ("sentence_map", short_hash(&ours.sentence_map)),
            ("subtoken_map", short_hash(&ours.subtoken_map)),
            ("clusters", short_hash(&canonical_clusters(&ours.clusters))),
        ];
        for (field, hash) in ours_hashes {
            if want["hashes"][field].as_str() != Some(hash.as_str()) {
                wrong.push(format!("{key}: {field} differs"));
            }
        }
        if want["segments"].as_u64() != Some(ours.sentences.len() as u64) {
            wrong.push(format!(
                "{key}: {} segments, reference {}",
                ours.sentences.len(),
                want["segments"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{fixture_name}:\n{}", wrong.join("\n"));

    // Documents kept in full: read the reference's line with our reader, compare every field, and check
    // that our writer gives the reference's bytes once the clusters are in the reference's order.
    for line in fx["full_lines"].as_array().unwrap() {
        let line = line.as_str().unwrap();
        let reference = parse_jsonlines(Path::new("reference"), line.as_bytes())
            .unwrap()
            .remove(0);
        let ours = prepared
            .iter()
            .find(|p| p.doc_key == reference.doc_key)
            .unwrap();
        assert_eq!(ours.tokens, reference.tokens, "{}", reference.doc_key);
        assert_eq!(ours.sentences, reference.sentences, "{}", reference.doc_key);
        assert_eq!(ours.speakers, reference.speakers, "{}", reference.doc_key);
        assert_eq!(
            ours.sentence_map, reference.sentence_map,
            "{}",
            reference.doc_key
        );
        assert_eq!(
            ours.subtoken_map, reference.subtoken_map,
            "{}",
            reference.doc_key
        );
        assert_eq!(
            cluster_sets(&ours.clusters),
            cluster_sets(&reference.clusters)
        );
        let same_order = PreparedDocument {
            clusters: reference.clusters.clone(),
            genre: None,
            ..ours.clone()
        };
        assert_eq!(
            to_json_line(&same_order).unwrap(),
            line,
            "{}: bytes",
            reference.doc_key
        );
    }

    let t = &fx["totals"];
    let want = |k: &str| t[k].as_u64().unwrap() as usize;
    assert_eq!(
        (
            total.documents,
            total.segments,
            total.subtokens,
            total.mentions,
            total.clusters,
            total.merged_clusters
        ),
        (
            want("documents"),
            want("segments"),
            want("subtokens"),
            want("mentions"),
            want("clusters"),
            want("merged")
        ),
        "{fixture_name}: totals (documents, segments, subtokens, mentions, clusters, merged)"
    );
    assert_eq!((total.empty_words, total.forced_splits), (0, 0));
    total
}

#[test]
fn ontogum_bert_base_cased_equals_reference() {
    let Some(tok) = util::bert_base_cased() else {
        return;
    };
    for (split, docs, segments, subtokens) in
        [("dev", 30, 97, 31_395), ("train", 177, 629, 200_552)]
    {
        let Some(input) = util::shared_conll("ontogum", split) else {
            return;
        };
        let total = check(
            &format!("ontogum_{split}.bert-base-cased.384.json"),
            &input,
            &tok,
        );
        // The figures of the issue.
        assert_eq!(
            (total.documents, total.segments, total.subtokens),
            (docs, segments, subtokens)
        );
    }
}

#[test]
fn minilm_equals_reference_on_both_corpora() {
    let Some(tok) = util::minilm() else {
        return;
    };
    for (corpus, split) in util::CORPORA {
        let Some(input) = util::shared_conll(corpus, split) else {
            return;
        };
        let total = check(&format!("{corpus}_{split}.minilm.384.json"), &input, &tok);
        if corpus == "ontogum" {
            let want = if split == "dev" {
                (96, 30_680)
            } else {
                (612, 195_049)
            };
            assert_eq!(
                (total.segments, total.subtokens),
                want,
                "issue figures, {split}"
            );
        }
    }
}
