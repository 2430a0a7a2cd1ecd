//! The official SQuAD 2.0 scores (exact match and F1), as the official evaluation script
//! (`evaluate-v2.0.py`) and its copy in transformers (`transformers/data/metrics/squad_metrics.py`) compute
//! them.
//!
//! | item | official function | definition |
//! |---|---|---|
//! | [`normalize_answer`] | `normalize_answer` | lower case, drop ASCII punctuation, replace the words `a`/`an`/`the` by a space, collapse white space |
//! | [`exact_match`] | `compute_exact` | the normalised texts are equal |
//! | [`f1`] | `compute_f1` | bag-of-tokens F1 of the normalised texts; 1 when both are empty, 0 when only one is |
//! | [`SquadEvaluator`] | `get_raw_scores`, `apply_no_ans_threshold`, `make_eval_dict`, `squad_evaluate` | per question the maximum over its gold answers (those whose normalisation is empty are dropped; none left: the gold is `""`), averaged ×100 over all, answerable (`HasAns`) and unanswerable (`NoAns`) questions |
//!
//! A question is answerable when its key lists at least one answer (`bool(qa["answers"])`), whatever the
//! answers normalise to. The report's JSON keys are the official ones: `exact`, `f1`, `total`,
//! `HasAns_exact`, `HasAns_f1`, `HasAns_total`, `NoAns_exact`, `NoAns_f1`, `NoAns_total` (the `HasAns_*`
//! and `NoAns_*` keys only when there are such questions), values 0–100 as the script prints them.
//!
//! Text handling follows Python 3's `str` semantics: `str.lower()` (Unicode lower case, final sigma
//! included), `string.punctuation` (the 32 ASCII punctuation characters; other punctuation stays), the
//! regex `\b(a|an|the)\b` with Unicode word characters, `str.split()` on Unicode white space (which also
//! splits on the separators U+001C–U+001F). One difference is known: Python's word characters are the
//! letters (L*), numbers (N*) and `_`, Rust's `char::is_alphanumeric` also counts the few marks and
//! symbols with the Unicode property Other_Alphabetic (e.g. Ⓐ, or Indic vowel signs) as letters; an
//! article glued to one of those is kept here and dropped by Python. The golden test
//! (`tests/squad_official.rs`) checks every function against the transformers code.
//!
//! ```
//! use reprobe_metrics::squad::{exact_match, f1, normalize_answer, SquadEvaluator};
//!
//! assert_eq!(normalize_answer("The  Eiffel-Tower!"), "eiffeltower");
//! assert!(exact_match("the Normans", "Normans."));
//! assert!((f1("in the late 1990s", "late 1990s") - 0.8).abs() < 1e-12);
//! let mut scores = SquadEvaluator::new();
//! scores.add(&["France", "in France"], "france"); // answerable, right
//! scores.add(&[] as &[&str], "Paris"); // unanswerable, answered
//! let report = scores.report();
//! assert_eq!((report.exact, report.total), (50.0, 2));
//! assert_eq!(report.has_ans_exact, Some(100.0));
//! assert_eq!(report.no_ans_f1, Some(0.0));
//! ```
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Python's `str.isspace()`: Rust's white space plus the information separators U+001C–U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A word character of Python's Unicode regular expressions (`\w`): alphanumeric or `_`.
fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Replaces every maximal run of word characters that is `a`, `an` or `the` by one space: what
/// `re.sub(r"\b(a|an|the)\b", " ", text)` does (a match must start and end at word boundaries, so it is
/// always a whole run).
fn remove_articles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if matches!(word.as_str(), "a" | "an" | "the") {
            out.push(' ');
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_word_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The official answer normalisation: lower case, no ASCII punctuation, no articles, white space
/// collapsed to single spaces (none at either end).
pub fn normalize_answer(text: &str) -> String {
    let lower = text.to_lowercase();
    let no_punc: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    let no_articles = remove_articles(&no_punc);
    no_articles
        .split(is_python_space)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tokens F1 counts: the normalised text split on white space (`get_tokens`).
pub fn answer_tokens(text: &str) -> Vec<String> {
    normalize_answer(text)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// `compute_exact`: the normalised texts are equal.
pub fn exact_match(gold: &str, predicted: &str) -> bool {
    normalize_answer(gold) == normalize_answer(predicted)
}

/// `compute_f1`: the F1 of the two bags of tokens; when either is empty, 1 if both are, else 0.
pub fn f1(gold: &str, predicted: &str) -> f64 {
    let gold = answer_tokens(gold);
    let predicted = answer_tokens(predicted);
    if gold.is_empty() || predicted.is_empty() {
        return f64::from(u8::from(gold == predicted));
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &gold {
        *counts.entry(t).or_default() += 1;
    }
    let mut same = 0usize;
    for t in &predicted {
        if let Some(n) = counts.get_mut(t.as_str()) {
            if *n > 0 {
                *n -= 1;
                same += 1;
            }
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / predicted.len() as f64;
    let recall = same as f64 / gold.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The exact and F1 scores (each 0 or 1 for exact, in `[0, 1]` for F1) of one prediction against its
/// gold answers, as `get_raw_scores`: the maximum over the gold answers that do not normalise to
/// nothing, or against `""` when none is left (unanswerable questions).
pub fn question_scores<S: AsRef<str>>(gold_answers: &[S], predicted: &str) -> (f64, f64) {
    let kept: Vec<&str> = gold_answers
        .iter()
        .map(AsRef::as_ref)
        .filter(|a| !normalize_answer(a).is_empty())
        .collect();
    let golds: &[&str] = if kept.is_empty() { &[""] } else { &kept };
    let exact = golds
        .iter()
        .map(|g| f64::from(u8::from(exact_match(g, predicted))))
        .fold(0.0, f64::max);
    let f1 = golds.iter().map(|g| f1(g, predicted)).fold(0.0, f64::max);
    (exact, f1)
}

/// Sums of per-question scores of one group of questions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    exact: f64,
    f1: f64,
    total: usize,
}

impl Sums {
    fn add(&mut self, exact: f64, f1: f64) {
        self.exact += exact;
        self.f1 += f1;
        self.total += 1;
    }

    /// `(exact, f1)` ×100, as `make_eval_dict`; `None` for an empty group.
    fn percent(&self) -> Option<(f64, f64)> {
        (self.total > 0).then(|| {
            (
                100.0 * self.exact / self.total as f64,
                100.0 * self.f1 / self.total as f64,
            )
        })
    }
}

/// Accumulates the official SQuAD 2.0 scores question by question.
#[derive(Debug, Clone, Default)]
pub struct SquadEvaluator {
    all: Sums,
    has_ans: Sums,
    no_ans: Sums,
}

/// The official SQuAD 2.0 evaluation dictionary (values 0–100), serialised with the official keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SquadReport {
    /// Mean exact match ×100 over every question.
    pub exact: f64,
    /// Mean F1 ×100 over every question.
    pub f1: f64,
    /// Number of questions.
    pub total: usize,
    /// Mean exact match ×100 over the answerable questions (absent when there are none).
    #[serde(
        rename = "HasAns_exact",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_ans_exact: Option<f64>,
    /// Mean F1 ×100 over the answerable questions.
    #[serde(rename = "HasAns_f1", default, skip_serializing_if = "Option::is_none")]
    pub has_ans_f1: Option<f64>,
    /// Number of answerable questions.
    #[serde(
        rename = "HasAns_total",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_ans_total: Option<usize>,
    /// Mean exact match ×100 over the unanswerable questions (absent when there are none).
    #[serde(
        rename = "NoAns_exact",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_ans_exact: Option<f64>,
    /// Mean F1 ×100 over the unanswerable questions.
    #[serde(rename = "NoAns_f1", default, skip_serializing_if = "Option::is_none")]
    pub no_ans_f1: Option<f64>,
    /// Number of unanswerable questions.
    #[serde(
        rename = "NoAns_total",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_ans_total: Option<usize>,
}

impl SquadEvaluator {
    /// An empty evaluator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scores one question: its gold answers as the key lists them (empty for an unanswerable question)
    /// and the predicted text (`""` for "no answer"). Returns the question's `(exact, f1)`.
    pub fn add<S: AsRef<str>>(&mut self, gold_answers: &[S], predicted: &str) -> (f64, f64) {
        let (exact, f1) = question_scores(gold_answers, predicted);
        self.record(!gold_answers.is_empty(), exact, f1);
        (exact, f1)
    }

    /// [`SquadEvaluator::add`] with the official no-answer threshold (`apply_no_ans_threshold`): when
    /// `no_answer_probability > threshold` the question counts as answered with "no answer" (score 1
    /// exactly when it is unanswerable), whatever the predicted text.
    pub fn add_thresholded<S: AsRef<str>>(
        &mut self,
        gold_answers: &[S],
        predicted: &str,
        no_answer_probability: f64,
        threshold: f64,
    ) -> (f64, f64) {
        let has_answer = !gold_answers.is_empty();
        let (exact, f1) = if no_answer_probability > threshold {
            let s = f64::from(u8::from(!has_answer));
            (s, s)
        } else {
            question_scores(gold_answers, predicted)
        };
        self.record(has_answer, exact, f1);
        (exact, f1)
    }

    fn record(&mut self, has_answer: bool, exact: f64, f1: f64) {
        self.all.add(exact, f1);
        if has_answer {
            self.has_ans.add(exact, f1);
        } else {
            self.no_ans.add(exact, f1);
        }
    }

    /// Number of questions scored.
    pub fn total(&self) -> usize {
        self.all.total
    }

    /// The evaluation dictionary. With no question at all, `exact` and `f1` are 0 (the official script
    /// divides by zero).
    pub fn report(&self) -> SquadReport {
        let (exact, f1) = self.all.percent().unwrap_or((0.0, 0.0));
        let has = self.has_ans.percent();
        let no = self.no_ans.percent();
        SquadReport {
            exact,
            f1,
            total: self.all.total,
            has_ans_exact: has.map(|s| s.0),
            has_ans_f1: has.map(|s| s.1),
            has_ans_total: has.map(|_| self.has_ans.total),
            no_ans_exact: no.map(|s| s.0),
            no_ans_f1: no.map(|s| s.1),
            no_ans_total: no.map(|_| self.no_ans.total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_are_whole_words_only() {
        assert_eq!(
            normalize_answer("a man, an apple and the theatre"),
            "man apple and theatre"
        );
        assert_eq!(normalize_answer("The"), "");
        assert_eq!(normalize_answer("there and anA"), "there and ana");
        // `_` is ASCII punctuation, removed before the articles; an en dash is neither a word character
        // nor removed, so it bounds the articles.
        assert_eq!(normalize_answer("the_a"), "thea");
        assert_eq!(normalize_answer("the\u{2013}a"), "\u{2013}");
    }

    #[test]
    fn f1_counts_repeated_tokens_once_each() {
        // gold: x x y; predicted: x y y → 2 common of 3 and 3.
        let got = f1("x x y", "x y y");
        assert!((got - 2.0 / 3.0).abs() < 1e-12, "{got}");
        assert_eq!(f1("", ""), 1.0);
        assert_eq!(f1("the", ""), 1.0, "`the` normalises to nothing");
        assert_eq!(f1("x", ""), 0.0);
    }

    #[test]
    fn python_white_space_includes_the_separators() {
        assert_eq!(normalize_answer("x\u{1f}y\u{3000}z"), "x y z");
    }
}
