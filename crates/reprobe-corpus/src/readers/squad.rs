//! SQuAD 2.0 JSON (the official schema) → [`SquadQuestion`]s for extractive question answering.
//!
//! # Format
//! `{"version": "v2.0", "data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question",
//! "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}`. Other fields (`plausible_answers`, …)
//! are ignored. An unanswerable question has no answers (`is_impossible` itself is not needed: a question
//! is answerable when it lists an answer, as the official evaluation reads it). Train questions have one
//! answer, dev questions several (duplicates included); the official metric takes the best.
//!
//! `answer_start` counts Unicode code points of `context` (Python string indices), not bytes.
//!
//! # Bad input
//! - JSON that does not parse or misses a required field: [`Error::Json`] with the serde message (line and
//!   column);
//! - a question id used twice: [`Error::Record`] naming the file and the id;
//! - an answer whose text is not the context at `answer_start` (or that starts past the end): not an error.
//!   The question is kept in [`SquadFile::questions`] (its answer texts still count for scoring, as the
//!   official script reads only the texts) and listed in [`SquadFile::mismatched`]; training and model
//!   evaluation use [`SquadFile::usable`], which skips it with a counted warning, the common practice
//!   (transformers' `squad_convert_examples_to_features` drops such training examples).
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::{Error, Result};

/// One gold answer: its text and where it starts in the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SquadAnswer {
    /// The answer as written.
    pub text: String,
    /// The first character (code point) of the answer in the context.
    pub start: usize,
}

impl SquadAnswer {
    /// One past the last character of the answer in the context (`start + len(text)` in code points).
    pub fn end(&self) -> usize {
        self.start + self.text.chars().count()
    }
}

/// One question about one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SquadQuestion {
    /// The question id (unique in the file).
    pub id: String,
    /// The article title (empty when absent).
    pub title: String,
    /// The question as written.
    pub question: String,
    /// The paragraph, shared by the questions about it.
    pub context: Arc<str>,
    /// The gold answers; empty for an unanswerable question.
    pub answers: Vec<SquadAnswer>,
}

/// An answer whose offset does not fit its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerMismatch {
    /// The question id.
    pub id: String,
    /// The 0-based index of the answer in the question's list.
    pub answer: usize,
    /// What the context holds there.
    pub msg: String,
}

/// The questions of a SQuAD file, in file order.
#[derive(Debug, Clone, Default)]
pub struct SquadFile {
    /// Every question.
    pub questions: Vec<SquadQuestion>,
    /// The answers whose `answer_start` does not match their text.
    pub mismatched: Vec<AnswerMismatch>,
}

impl SquadFile {
    /// The questions whose answers all match the context, and the mismatches that made the others skip.
    pub fn usable(self) -> (Vec<SquadQuestion>, Vec<AnswerMismatch>) {
        let skip: std::collections::HashSet<&str> =
            self.mismatched.iter().map(|m| m.id.as_str()).collect();
        let questions = self
            .questions
            .iter()
            .filter(|q| !skip.contains(q.id.as_str()))
            .cloned()
            .collect();
        (questions, self.mismatched)
    }
}

#[derive(Deserialize)]
struct RawFile {
    data: Vec<RawArticle>,
}

#[derive(Deserialize)]
struct RawArticle {
    #[serde(default)]
    title: String,
    paragraphs: Vec<RawParagraph>,
}

#[derive(Deserialize)]
struct RawParagraph {
    context: String,
    qas: Vec<RawQuestion>,
}

#[derive(Deserialize)]
struct RawQuestion {
    id: String,
    question: String,
    #[serde(default)]
    answers: Vec<RawAnswer>,
}

#[derive(Deserialize)]
struct RawAnswer {
    text: String,
    answer_start: usize,
}

/// Reads the SQuAD JSON file `path`.
pub fn read_squad(path: &Path) -> Result<SquadFile> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_squad(path, &bytes)
}

/// Parses the content of a SQuAD JSON file; `path` is used in messages only.
pub fn parse_squad(path: &Path, bytes: &[u8]) -> Result<SquadFile> {
    let raw: RawFile = serde_json::from_slice(bytes).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        line: source.line(),
        source,
    })?;
    let mut out = SquadFile::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for article in raw.data {
        for paragraph in article.paragraphs {
            let chars: Vec<char> = paragraph.context.chars().collect();
            let context: Arc<str> = Arc::from(paragraph.context);
            for qa in paragraph.qas {
                let index = out.questions.len();
                if let Some(first) = seen.insert(qa.id.clone(), index) {
                    return Err(Error::Record {
                        path: path.to_path_buf(),
                        record: format!("question {}", qa.id),
                        msg: format!(
                            "the id is used twice (questions {} and {} of the file); ids must be unique",
                            first + 1,
                            index + 1
                        ),
                    });
                }
                let answers: Vec<SquadAnswer> = qa
                    .answers
                    .into_iter()
                    .map(|a| SquadAnswer {
                        text: a.text,
                        start: a.answer_start,
                    })
                    .collect();
                for (i, answer) in answers.iter().enumerate() {
                    if let Some(msg) = mismatch(&chars, answer) {
                        out.mismatched.push(AnswerMismatch {
                            id: qa.id.clone(),
                            answer: i,
                            msg,
                        });
                    }
                }
                out.questions.push(SquadQuestion {
                    id: qa.id,
                    title: article.title.clone(),
                    question: qa.question,
                    context: Arc::clone(&context),
                    answers,
                });
            }
        }
    }
    Ok(out)
}

/// Why `answer` is not the context at its offset, if it is not.
fn mismatch(context: &[char], answer: &SquadAnswer) -> Option<String> {
    let end = answer.end();
    if end > context.len() {
        return Some(format!(
            "answer {:?} at character {} runs past the end of the context ({} characters)",
            answer.text,
            answer.start,
            context.len()
        ));
    }
    let found: String = context[answer.start..end].iter().collect();
    (found != answer.text).then(|| {
        format!(
            "answer {:?} at character {}: the context there reads {found:?}",
            answer.text, answer.start
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SquadFile> {
        parse_squad(Path::new("s.json"), text.as_bytes())
    }

    #[test]
    fn offsets_count_code_points_and_contexts_are_shared() {
        let text = r#"{"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Beyoncé sang in Paris.",
            "qas": [{"id": "a", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 16}], "is_impossible": false},
                    {"plausible_answers": [{"text": "Paris", "answer_start": 16}], "id": "b", "question": "When?", "answers": [], "is_impossible": true}]}]}]}"#;
        let file = parse(text).unwrap();
        assert!(file.mismatched.is_empty());
        let [a, b] = &file.questions[..] else {
            panic!("two questions")
        };
        assert_eq!((a.id.as_str(), a.title.as_str()), ("a", "T"));
        assert_eq!(a.answers[0].end(), 21);
        assert!(b.answers.is_empty());
        assert!(Arc::ptr_eq(&a.context, &b.context));
    }

    #[test]
    fn a_mismatched_answer_is_listed_and_its_question_skipped() {
        let text = r#"{"data": [{"paragraphs": [{"context": "abc def",
            "qas": [{"id": "x", "question": "?", "answers": [{"text": "def", "answer_start": 3}]},
                    {"id": "y", "question": "?", "answers": [{"text": "def", "answer_start": 6}]},
                    {"id": "z", "question": "?", "answers": [{"text": "def", "answer_start": 4}]}]}]}]}"#;
        let file = parse(text).unwrap();
        assert_eq!(file.questions.len(), 3);
        let ids: Vec<&str> = file.mismatched.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["x", "y"]);
        assert!(
            file.mismatched[0].msg.contains("\" de\""),
            "{}",
            file.mismatched[0].msg
        );
        assert!(file.mismatched[1].msg.contains("past the end"));
        let (usable, skipped) = file.usable();
        assert_eq!(usable.len(), 1);
        assert_eq!(usable[0].id, "z");
        assert_eq!(skipped.len(), 2);
    }

    #[test]
    fn duplicate_ids_and_schema_errors_name_the_file() {
        let text = r#"{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q1", "question": "?", "answers": []}]},
            {"context": "d", "qas": [{"id": "q1", "question": "?", "answers": []}]}]}]}"#;
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.contains("s.json") && err.contains("question q1") && err.contains("twice"),
            "{err}"
        );
        let err =
            parse(r#"{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "?"}]}]}]}"#)
                .unwrap_err();
        let msg = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(msg.contains("s.json") && msg.contains("`id`"), "{msg}");
    }
}
