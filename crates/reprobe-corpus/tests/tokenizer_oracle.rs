//! Our tokenizer against the slow `transformers.BertTokenizer` on hard strings
//! (fixture made by `scripts/golden/prepare_tokenizer_cases.py`).
mod util;

use std::path::Path;

use reprobe_corpus::SubwordTokenizer;
use serde_json::Value;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer_cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn check(tok: &SubwordTokenizer, expected: &Value, what: &str) {
    let fx = fixture();
    assert_eq!(
        tok.do_lower_case(),
        expected["do_lower_case"].as_bool().unwrap(),
        "{what}"
    );
    let cases = strings(&fx["cases"]);
    let mut wrong = Vec::new();
    for (case, want) in cases.iter().zip(expected["words"].as_array().unwrap()) {
        let got = tok.tokenize_word(case).unwrap();
        if got != strings(want) {
            wrong.push(format!("{case:?}: got {got:?}, want {want}"));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
    let lines = strings(&fx["lines"]);
    for (idx, line) in lines.iter().enumerate() {
        let enc = tok.encode_line(line).unwrap();
        let want = strings(&expected["lines"][idx]);
        assert_eq!(
            enc.tokens[1..enc.tokens.len() - 1],
            want[..],
            "{what}: {line:?}"
        );
        let want_ids: Vec<u32> = expected["line_ids"][idx]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(enc.ids, want_ids, "{what}: ids of {line:?}");
    }
}

#[test]
fn bert_base_cased_vocab_matches_slow_bert_tokenizer() {
    let Some(dir) = util::bert_base_cased() else {
        return;
    };
    let tok = SubwordTokenizer::from_dir(&dir).unwrap();
    assert_eq!(tok.vocab_size(), 28_996);
    assert_eq!(
        (tok.pad().id, tok.unk().id, tok.cls().id, tok.sep().id),
        (0, 100, 101, 102)
    );
    check(&tok, &fixture()["bert-base-cased"], "bert-base-cased");
}

#[test]
fn minilm_tokenizer_json_and_vocab_match_slow_bert_tokenizer() {
    let Some(dir) = util::minilm() else {
        return;
    };
    let expected = &fixture()["all-MiniLM-L6-v2"];
    let from_json = SubwordTokenizer::from_dir(&dir).unwrap();
    assert_eq!(from_json.vocab_size(), 30_522);
    check(&from_json, expected, "MiniLM tokenizer.json");
    // The same folder without tokenizer.json: vocab.txt + tokenizer_config.json.
    let tmp = tempfile::tempdir().unwrap();
    for name in ["vocab.txt", "tokenizer_config.json"] {
        std::fs::copy(dir.join(name), tmp.path().join(name)).unwrap();
    }
    let from_vocab = SubwordTokenizer::from_dir(tmp.path()).unwrap();
    assert_eq!(from_vocab.vocab_size(), 30_522);
    check(&from_vocab, expected, "MiniLM vocab.txt");
    // Truncation and padding (on in MiniLM's tokenizer.json) are off.
    let long = "word ".repeat(300);
    assert_eq!(from_json.encode_line(&long).unwrap().tokens.len(), 302);
}
