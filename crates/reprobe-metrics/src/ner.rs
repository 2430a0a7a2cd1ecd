//! Named-entity metrics: entity-level P/R/F1 as `seqeval` computes them, and the reference's token-level
//! micro F1 (SPEC §1.5, §5).
//!
//! # Entities: seqeval's default mode
//!
//! [`extract_entities`] reads a tag sequence as `seqeval.metrics.sequence_labeling.get_entities` does
//! (seqeval 1.2.2, default mode, `suffix=False`; the reading of conlleval.pl), not as its `strict`
//! mode:
//!
//! - a tag is a prefix `B`, `I`, `E`, `S` or `O`, then for the first four `-TYPE` (`B-PER`); a bare `B`,
//!   `I`, `E`, `S` (or `B-`) has the type `_`, as in seqeval;
//! - an entity starts at `B-X` and `S-X`; at `I-X`/`E-X` after `O`, `E-*` or `S-*`; and at any tag
//!   whose type differs from the previous tag's, so an `I-X` that follows no `B-X`/`I-X` opens an entity
//!   (`O I-LOC` → `LOC`) and a type switch inside a run splits it (`B-PER I-LOC` → `PER`, `LOC`);
//! - an entity ends before `B`, `S` and `O`, after `E` and `S`, at a type change, and at the end of the
//!   sentence; so `B-X B-X` are two entities, and with IOBES input `B-X E-X` is one and `S-X` is one;
//! - any other tag (`PER`, `.`, `X-PER`, `O-PER`) is refused with [`NerError::MalformedTag`]: seqeval
//!   only warns ("seems not to be NE tag") and then reads its first character as the prefix.
//!
//! Entities are compared within their sentence: identical spans in different sentences are different
//! entities (seqeval joins the sentences with an `O` between them, which is the same thing). For each
//! type tp = entities in both gold and prediction (same type, start and end), fp = predicted only,
//! fn = gold only; micro scores pool the counts of all types. P is 0 when nothing was predicted, R is 0
//! when the gold has nothing, F1 is `2·P·R / (P + R)` and 0 when `P + R = 0`: seqeval's numbers with its
//! default `zero_division="warn"` (which returns 0), with its formulas, so the golden test
//! (`tests/ner_seqeval.rs`) finds the same counts and ratios within 1e-12.
//!
//! # Tokens: the reference's `val/f1`
//!
//! The reference logs, for its NER models, torchmetrics' `F1Score(task="multiclass", average="micro",
//! ignore_index=0)` with label 0 = `O`: tokens whose gold label is `O` are dropped, and micro F1 over
//! the rest, whose fp and fn are both the number of wrong tokens, equals the accuracy on them
//! ([`TokenMicroF1`]; SPEC §1.5, §5, §9 item 12). A wrong `B-X`/`I-X` on a gold-`O` token costs nothing.
//!
//! ```
//! use reprobe_metrics::ner::{token_micro_f1, EntityCounts};
//!
//! let gold = ["B-PER", "I-PER", "O", "B-LOC"];
//! let pred = ["B-PER", "I-PER", "B-ORG", "I-LOC"];
//! let mut counts = EntityCounts::new();
//! counts.add_sentence(&gold, &pred).unwrap();
//! let micro = counts.micro();
//! // PER matches; LOC (3, 3) is found, as `I-LOC` after `B-ORG` opens an entity; ORG is spurious.
//! assert_eq!((micro.counts.true_pos, micro.counts.false_pos, micro.counts.false_neg), (2, 1, 0));
//! // Tokens: of the three gold non-O tokens, `I-LOC` for `B-LOC` is wrong (though the entity is
//! // right); the spurious `B-ORG` sits on a gold `O` token and costs nothing.
//! assert_eq!(token_micro_f1(&gold, &pred, "O").unwrap(), 2.0 / 3.0);
//! ```
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::classification::{PrfCounts, PrfScores};

/// What can go wrong when NER metrics are fed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NerError {
    /// A sentence's gold and predicted tag sequences differ in length.
    #[error("sentence {sentence}: {gold} gold tags but {predicted} predicted tags (expected one tag per token)")]
    LengthMismatch {
        /// Index of the sentence among those added (0-based).
        sentence: usize,
        /// Number of gold tags.
        gold: usize,
        /// Number of predicted tags.
        predicted: usize,
    },
    /// A tag is neither `O` nor `B`/`I`/`E`/`S` optionally followed by `-TYPE`.
    #[error("sentence {sentence}, token {token}: {side} tag `{tag}` is not an IOB2/IOBES tag (expected O, B-TYPE, I-TYPE, E-TYPE or S-TYPE)")]
    MalformedTag {
        /// Index of the sentence among those added (0-based).
        sentence: usize,
        /// Index of the token in the sentence (0-based).
        token: usize,
        /// `gold` or `predicted`.
        side: &'static str,
        /// The tag.
        tag: String,
    },
}

/// One entity of a sentence: its type and its tokens `start..=end` (inclusive, as seqeval's
/// `get_entities` returns them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity {
    /// The type (`PER` for `B-PER`; `_` for bare `B`/`I`/`E`/`S` tags).
    pub kind: String,
    /// First token (0-based).
    pub start: usize,
    /// Last token (inclusive).
    pub end: usize,
}

/// The prefix of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    B,
    I,
    E,
    S,
    O,
}

/// A tag split into its prefix and type (`O` has seqeval's type `_`, which no rule reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag<'a> {
    prefix: Prefix,
    kind: &'a str,
}

impl<'a> Tag<'a> {
    /// The state before a sentence's first token.
    const OUTSIDE: Tag<'static> = Tag {
        prefix: Prefix::O,
        kind: "_",
    };

    /// Splits `B-PER` into (`B`, `PER`); `None` for a tag seqeval warns about.
    fn parse(tag: &'a str) -> Option<Self> {
        if tag == "O" {
            return Some(Self::OUTSIDE);
        }
        let mut chars = tag.chars();
        let prefix = match chars.next()? {
            'B' => Prefix::B,
            'I' => Prefix::I,
            'E' => Prefix::E,
            'S' => Prefix::S,
            _ => return None,
        };
        let kind = match chars.as_str() {
            "" => "_",
            rest => rest.strip_prefix('-')?,
        };
        Some(Tag {
            prefix,
            kind: if kind.is_empty() { "_" } else { kind },
        })
    }
}

/// seqeval's `end_of_chunk`: whether an entity ends between `prev` and `tag`.
fn ends_between(prev: Tag, tag: Tag) -> bool {
    use Prefix::*;
    match (prev.prefix, tag.prefix) {
        (O, _) => false,
        (E | S, _) => true,
        (B | I, B | S | O) => true,
        _ => prev.kind != tag.kind,
    }
}

/// seqeval's `start_of_chunk`: whether an entity starts at `tag` after `prev`.
fn starts_at(prev: Tag, tag: Tag) -> bool {
    use Prefix::*;
    match (prev.prefix, tag.prefix) {
        (_, O) => false,
        (_, B | S) => true,
        (O | E | S, I | E) => true,
        _ => prev.kind != tag.kind,
    }
}

/// Parses every tag of a sentence, naming the first malformed one.
fn parse_tags<'a, S: AsRef<str>>(
    tags: &'a [S],
    sentence: usize,
    side: &'static str,
) -> Result<Vec<Tag<'a>>, NerError> {
    tags.iter()
        .enumerate()
        .map(|(token, tag)| {
            Tag::parse(tag.as_ref()).ok_or_else(|| NerError::MalformedTag {
                sentence,
                token,
                side,
                tag: tag.as_ref().to_string(),
            })
        })
        .collect()
}

/// Entities of parsed tags, in order of their end (seqeval's order).
fn chunk(tags: &[Tag]) -> Vec<Entity> {
    let mut entities = Vec::new();
    let mut prev = Tag::OUTSIDE;
    let mut begin = 0;
    // The final `O` closes an entity that runs to the end of the sentence.
    for (i, &tag) in tags.iter().chain([&Tag::OUTSIDE]).enumerate() {
        if ends_between(prev, tag) {
            entities.push(Entity {
                kind: prev.kind.to_string(),
                start: begin,
                end: i - 1,
            });
        }
        if starts_at(prev, tag) {
            begin = i;
        }
        prev = tag;
    }
    entities
}

/// The entities of one sentence's tags in seqeval's default mode (see the module doc).
///
/// A malformed tag is reported as [`NerError::MalformedTag`] of sentence 0, side `tags`.
pub fn extract_entities<S: AsRef<str>>(tags: &[S]) -> Result<Vec<Entity>, NerError> {
    Ok(chunk(&parse_tags(tags, 0, "tags")?))
}

/// Entity-level tp/fp/fn per type, accumulated sentence by sentence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityCounts {
    per_type: BTreeMap<String, PrfCounts>,
    sentences: usize,
}

/// Entity-level scores as JSON: `{"micro": {...}, "per_type": {"PER": {...}, ...}}`, each
/// `{"precision", "recall", "f1", "tp", "fp", "fn"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NerReport {
    /// Scores of the counts pooled over all types.
    pub micro: PrfScores,
    /// Scores of every type seen in the gold or the predictions, by type name.
    pub per_type: BTreeMap<String, PrfScores>,
}

impl EntityCounts {
    /// No sentence yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sentence's gold and predicted tags; on an error nothing is added (the sentence index
    /// in the error is the number of sentences added before).
    pub fn add_sentence<G: AsRef<str>, P: AsRef<str>>(
        &mut self,
        gold: &[G],
        predicted: &[P],
    ) -> Result<(), NerError> {
        let sentence = self.sentences;
        if gold.len() != predicted.len() {
            return Err(NerError::LengthMismatch {
                sentence,
                gold: gold.len(),
                predicted: predicted.len(),
            });
        }
        let gold = chunk(&parse_tags(gold, sentence, "gold")?);
        let predicted = chunk(&parse_tags(predicted, sentence, "predicted")?);
        self.add_entities(gold, predicted);
        self.sentences += 1;
        Ok(())
    }

    /// Counts one sentence's gold and predicted entities.
    fn add_entities(&mut self, gold: Vec<Entity>, predicted: Vec<Entity>) {
        let gold: BTreeSet<Entity> = gold.into_iter().collect();
        let predicted: BTreeSet<Entity> = predicted.into_iter().collect();
        for entity in gold.difference(&predicted) {
            self.counts_mut(&entity.kind).false_neg += 1;
        }
        for entity in predicted.difference(&gold) {
            self.counts_mut(&entity.kind).false_pos += 1;
        }
        for entity in gold.intersection(&predicted) {
            self.counts_mut(&entity.kind).true_pos += 1;
        }
    }

    fn counts_mut(&mut self, kind: &str) -> &mut PrfCounts {
        self.per_type.entry(kind.to_string()).or_default()
    }

    /// Number of sentences added.
    pub fn sentences(&self) -> usize {
        self.sentences
    }

    /// tp/fp/fn of every type seen in the gold or the predictions.
    pub fn type_counts(&self) -> &BTreeMap<String, PrfCounts> {
        &self.per_type
    }

    /// tp/fp/fn pooled over all types.
    pub fn micro_counts(&self) -> PrfCounts {
        let mut pooled = PrfCounts::default();
        for counts in self.per_type.values() {
            pooled += *counts;
        }
        pooled
    }

    /// Micro precision, recall and F1 (seqeval's `precision_score`, `recall_score`, `f1_score`).
    pub fn micro(&self) -> PrfScores {
        self.micro_counts().scores()
    }

    /// Scores of every type (the rows of seqeval's `classification_report`).
    pub fn per_type(&self) -> BTreeMap<String, PrfScores> {
        self.per_type
            .iter()
            .map(|(kind, counts)| (kind.clone(), counts.scores()))
            .collect()
    }

    /// Micro and per-type scores together, ready to serialize.
    pub fn report(&self) -> NerReport {
        NerReport {
            micro: self.micro(),
            per_type: self.per_type(),
        }
    }
}

/// The reference's token-level NER `val/f1`, accumulated sentence by sentence: tokens whose gold label
/// is the ignored one (`O`) are dropped, and micro F1 over the others is the fraction predicted right.
///
/// Deviation: torchmetrics computes in `float32` on subtokens; this counts in integers and divides in
/// `f64`, over whatever tokens it is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMicroF1 {
    ignore: String,
    correct: u64,
    counted: u64,
    sentences: usize,
}

impl TokenMicroF1 {
    /// An empty accumulator that drops tokens whose gold label is `ignore` (`"O"` in the reference).
    pub fn new(ignore: &str) -> Self {
        TokenMicroF1 {
            ignore: ignore.to_string(),
            correct: 0,
            counted: 0,
            sentences: 0,
        }
    }

    /// Adds one sentence's gold and predicted labels (labels are compared as strings, not parsed); on
    /// a length mismatch nothing is added.
    pub fn add_sentence<G: AsRef<str>, P: AsRef<str>>(
        &mut self,
        gold: &[G],
        predicted: &[P],
    ) -> Result<(), NerError> {
        if gold.len() != predicted.len() {
            return Err(NerError::LengthMismatch {
                sentence: self.sentences,
                gold: gold.len(),
                predicted: predicted.len(),
            });
        }
        for (g, p) in gold.iter().zip(predicted) {
            if g.as_ref() != self.ignore {
                self.counted += 1;
                self.correct += u64::from(g.as_ref() == p.as_ref());
            }
        }
        self.sentences += 1;
        Ok(())
    }

    /// Tokens counted (gold label not ignored).
    pub fn counted(&self) -> u64 {
        self.counted
    }

    /// Counted tokens predicted right.
    pub fn correct(&self) -> u64 {
        self.correct
    }

    /// `correct / counted`; 0 when no token was counted (torchmetrics' `zero_division=0`).
    pub fn f1(&self) -> f64 {
        if self.counted == 0 {
            0.0
        } else {
            self.correct as f64 / self.counted as f64
        }
    }
}

/// [`TokenMicroF1`] of one token sequence (or several sentences joined): the fraction of tokens whose
/// gold label is not `ignore` that are predicted right, 0 when there is none.
pub fn token_micro_f1<G: AsRef<str>, P: AsRef<str>>(
    gold: &[G],
    predicted: &[P],
    ignore: &str,
) -> Result<f64, NerError> {
    let mut metric = TokenMicroF1::new(ignore);
    metric.add_sentence(gold, predicted)?;
    Ok(metric.f1())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(tags: &[&str]) -> Vec<(String, usize, usize)> {
        extract_entities(tags)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.start, e.end))
            .collect()
    }

    fn e(kind: &str, start: usize, end: usize) -> (String, usize, usize) {
        (kind.to_string(), start, end)
    }

    #[test]
    fn iob2_odd_cases() {
        assert_eq!(spans(&["O", "I-LOC", "I-LOC"]), [e("LOC", 1, 2)]);
        assert_eq!(spans(&["I-LOC", "O"]), [e("LOC", 0, 0)]);
        assert_eq!(
            spans(&["B-PER", "I-LOC", "I-LOC"]),
            [e("PER", 0, 0), e("LOC", 1, 2)]
        );
        assert_eq!(spans(&["B-X", "B-X"]), [e("X", 0, 0), e("X", 1, 1)]);
        assert_eq!(spans(&["O", "B-X", "I-X"]), [e("X", 1, 2)]);
        assert!(spans(&["O", "O"]).is_empty());
        assert!(spans(&[] as &[&str]).is_empty());
    }

    #[test]
    fn iobes_and_bare_tags_as_seqeval_default() {
        assert_eq!(
            spans(&["S-PER", "B-LOC", "E-LOC", "E-LOC", "I-ORG"]),
            [
                e("PER", 0, 0),
                e("LOC", 1, 2),
                e("LOC", 3, 3),
                e("ORG", 4, 4)
            ]
        );
        assert_eq!(spans(&["B", "I", "O", "B-"]), [e("_", 0, 1), e("_", 3, 3)]);
    }

    #[test]
    fn malformed_tags_are_refused() {
        for tag in ["PER", ".", "X-PER", "O-PER", "BPER", "b-PER", ""] {
            let mut counts = EntityCounts::new();
            counts.add_sentence(&["O"], &["O"]).unwrap();
            let err = counts.add_sentence(&["O", tag], &["O", "O"]).unwrap_err();
            assert_eq!(
                err,
                NerError::MalformedTag {
                    sentence: 1,
                    token: 1,
                    side: "gold",
                    tag: tag.to_string()
                },
                "{tag}"
            );
            assert_eq!(counts.sentences(), 1);
        }
    }

    #[test]
    fn length_mismatch_names_the_sentence() {
        let mut counts = EntityCounts::new();
        counts.add_sentence(&["B-X"], &["O"]).unwrap();
        let err = counts.add_sentence(&["B-X", "O"], &["O"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sentence 1: 2 gold tags but 1 predicted tags (expected one tag per token)"
        );
        assert_eq!(counts.micro_counts(), PrfCounts::new(0, 0, 1));
    }

    #[test]
    fn same_span_in_other_sentence_is_another_entity() {
        let mut counts = EntityCounts::new();
        counts.add_sentence(&["B-X"], &["O"]).unwrap();
        counts.add_sentence(&["O"], &["B-X"]).unwrap();
        assert_eq!(counts.type_counts()["X"], PrfCounts::new(0, 1, 1));
    }

    #[test]
    fn no_prediction_scores_zero() {
        let mut counts = EntityCounts::new();
        counts.add_sentence(&["B-X", "O"], &["O", "O"]).unwrap();
        let micro = counts.micro();
        assert_eq!((micro.precision, micro.recall, micro.f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn report_json_shape() {
        let mut counts = EntityCounts::new();
        counts
            .add_sentence(&["B-PER", "O", "B-LOC"], &["B-PER", "O", "O"])
            .unwrap();
        let json = serde_json::to_value(counts.report()).unwrap();
        assert_eq!(json["micro"]["tp"], 1);
        assert_eq!(json["micro"]["fn"], 1);
        assert_eq!(json["micro"]["precision"], 1.0);
        assert_eq!(json["per_type"]["LOC"]["recall"], 0.0);
        assert_eq!(json["per_type"]["PER"]["f1"], 1.0);
    }

    #[test]
    fn token_f1_drops_gold_outside() {
        let mut metric = TokenMicroF1::new("O");
        metric
            .add_sentence(&["O", "B-X", "I-X", "O"], &["B-Y", "B-X", "O", "O"])
            .unwrap();
        assert_eq!((metric.correct(), metric.counted()), (1, 2));
        assert_eq!(metric.f1(), 0.5);
        assert_eq!(token_micro_f1(&["O"], &["B-X"], "O").unwrap(), 0.0);
        assert!(token_micro_f1(&["O"], &[] as &[&str], "O").is_err());
    }
}
