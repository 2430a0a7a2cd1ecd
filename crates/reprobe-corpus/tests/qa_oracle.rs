//! Extractive QA windows and decoding against transformers (fixtures made by
//! `scripts/golden/squad_qa_features.py`):
//! - windows of real SQuAD 2.0 questions against the fast tokenizer of all-MiniLM-L6-v2 with
//!   `truncation="only_second"`, `stride`, `return_overflowing_tokens`, `return_offsets_mapping` (ids,
//!   segment ids, context offsets) and answer positions from its `char_to_token` (skips without MiniLM);
//! - answers decoded from fixed logits against transformers' SQuAD 2.0 post-processing
//!   (`compute_predictions_logits`): the text and the null odds.
mod util;

use std::path::Path;

use reprobe_corpus::qa::{
    decode_answer, encode_question, ContextTokens, DecodeOptions, WindowOptions, WindowScores,
};
use reprobe_corpus::SubwordTokenizer;
use serde::Deserialize;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/qa")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run scripts/golden/squad_qa_features.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Deserialize)]
struct WindowsFixture {
    cases: Vec<WindowsCase>,
}

#[derive(Deserialize)]
struct WindowsCase {
    id: String,
    question: String,
    context: String,
    answer: Option<(usize, usize)>,
    max_len: usize,
    stride: usize,
    windows: Vec<HfWindow>,
}

#[derive(Deserialize)]
struct HfWindow {
    input_ids: Vec<u32>,
    token_type_ids: Vec<u32>,
    offsets: Vec<Option<(usize, usize)>>,
    target: (u32, u32),
}

#[test]
fn windows_offsets_and_targets_equal_the_fast_tokenizer() {
    let Some(dir) = util::minilm() else { return };
    let tokenizer = SubwordTokenizer::from_dir(&dir).unwrap();
    let fixture: WindowsFixture = fixture("windows_minilm.json");
    let mut windows = 0;
    for case in &fixture.cases {
        let context = ContextTokens::new(&tokenizer, &case.context).unwrap();
        let options = WindowOptions {
            max_len: case.max_len,
            stride: case.stride,
        };
        let ours =
            encode_question(&tokenizer, &case.question, &context, case.answer, options).unwrap();
        assert!(!ours.question_truncated, "{}", case.id);
        assert_eq!(
            ours.windows.len(),
            case.windows.len(),
            "{}: windows",
            case.id
        );
        for (i, (w, hf)) in ours.windows.iter().zip(&case.windows).enumerate() {
            let at = format!("{} window {i}", case.id);
            assert_eq!(w.input_ids, hf.input_ids, "{at}: ids");
            assert_eq!(w.token_type_ids, hf.token_type_ids, "{at}: segment ids");
            assert_eq!(w.offsets, hf.offsets, "{at}: offsets");
            assert_eq!(w.target, hf.target, "{at}: target");
            windows += 1;
        }
    }
    assert!(windows >= 60, "{windows} windows checked");
    let many = fixture
        .cases
        .iter()
        .filter(|c| c.windows.len() >= 3)
        .count();
    let unanswerable = fixture.cases.iter().filter(|c| c.answer.is_none()).count();
    assert!(
        many >= 10 && unanswerable >= 3,
        "{many} long, {unanswerable} unanswerable"
    );
}

#[derive(Deserialize)]
struct DecodeFixture {
    cases: Vec<DecodeCase>,
}

#[derive(Deserialize)]
struct DecodeCase {
    name: String,
    context: String,
    n_best: usize,
    max_answer_len: usize,
    threshold: f64,
    windows: Vec<LogitWindow>,
    text: String,
    null_odds: f64,
}

#[derive(Deserialize)]
struct LogitWindow {
    offsets: Vec<Option<(usize, usize)>>,
    start: Vec<f32>,
    end: Vec<f32>,
}

#[test]
fn decoding_equals_the_squad_v2_post_processing() {
    let fixture: DecodeFixture = fixture("decode.json");
    let (mut answered, mut null) = (0, 0);
    for case in &fixture.cases {
        let windows: Vec<WindowScores<'_>> = case
            .windows
            .iter()
            .map(|w| WindowScores {
                start: &w.start,
                end: &w.end,
                offsets: &w.offsets,
            })
            .collect();
        let options = DecodeOptions {
            n_best: case.n_best,
            max_answer_len: case.max_answer_len,
            null_threshold: case.threshold,
        };
        let decoded = decode_answer(&case.context, &windows, options);
        match decoded.best.as_ref() {
            Some(_) => {
                assert_eq!(decoded.text(), case.text, "{}", case.name);
                let diff = f64::from(decoded.score_diff);
                assert!(
                    (diff - case.null_odds).abs() < 1e-5,
                    "{}: null odds {diff} vs {}",
                    case.name,
                    case.null_odds
                );
            }
            // No valid span: transformers answers its placeholder "empty" unless the null score beats
            // 0 by the threshold; we answer "" (module doc of `qa::decode`).
            None => {
                assert!(
                    case.text == "empty" || case.text.is_empty(),
                    "{}",
                    case.name
                );
                assert_eq!(decoded.text(), "", "{}", case.name);
                assert_eq!(decoded.no_answer_probability, 1.0);
            }
        }
        if decoded.text().is_empty() {
            null += 1;
        } else {
            answered += 1;
        }
    }
    assert!(
        answered >= 20 && null >= 5,
        "{answered} answered, {null} null"
    );
}
