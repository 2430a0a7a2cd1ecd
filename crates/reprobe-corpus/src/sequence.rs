//! Sentences encoded for a BERT-style model: the inputs of the NER (token tagging) and sentence-pair
//! classification source tasks (SPEC §5).
//!
//! ```text
//! encode_tagged             words (+ tags)    ──► windows [CLS] subtokens [SEP], label on 1st subtokens
//! encode_pair               text a (+ text b) ──► [CLS] a [SEP] (b [SEP]), segment ids, truncation
//! split_words_with_offsets  raw text          ──► words with character offsets (BERT basic split)
//! ```
//!
//! Subtokens come from [`SubwordTokenizer`], i.e. the `tokenizers` crate's normalisation, pre-tokenization
//! and WordPiece, so ids equal those of the Python tokenizer of the same folder (checked against the PyPI
//! `tokenizers` package by `tests/source_tasks_shared.rs`). One difference is inherited from
//! [`SubwordTokenizer`]: it composes text to NFC before WordPiece (as the slow `BertTokenizer`), which the
//! fast tokenizer does not; the two differ only on text with decomposed accents (none in MRPC or WNUT-17).
//!
//! What this module does not do: padding and attention masks (the collate step pads to the longest).
use std::collections::HashMap;

use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{
    NormalizedString, Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer,
};

use crate::error::{Error, Result};
use crate::tokenize::SubwordTokenizer;

/// The label of positions the loss ignores (`ignore_index` of PyTorch's cross-entropy): `[CLS]`, `[SEP]`
/// and every subtoken after the first of a word.
pub const IGNORE_LABEL: i64 = -100;

/// One model input of a tagged sentence: `[CLS]`, the subtokens of consecutive words, `[SEP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedWindow {
    /// Token ids, `[CLS]` first and `[SEP]` last; at most `max_len` of them.
    pub input_ids: Vec<u32>,
    /// Per token: the label id of its word on the word's **first** subtoken, [`IGNORE_LABEL`] elsewhere
    /// (later subtokens, `[CLS]`, `[SEP]`), and everywhere when the sentence has no tags.
    pub labels: Vec<i64>,
    /// Per token: the index in the sentence of the word it starts; `None` for later subtokens of a
    /// word, `[CLS]` and `[SEP]` (the first-subtoken positions of HF `word_ids()`).
    pub word_index: Vec<Option<usize>>,
    /// The caller's index of the sentence.
    pub sentence: usize,
    /// The index in the sentence of the first word of this window.
    pub first_word: usize,
}

/// The id of each label: its index in `labels` (e.g. the list of [`crate::readers::label_set`]).
pub fn label_index(labels: &[String]) -> HashMap<String, usize> {
    labels
        .iter()
        .enumerate()
        .map(|(id, label)| (label.clone(), id))
        .collect()
}

/// The subtoken ids of a piece of text, without `[CLS]` and `[SEP]`.
fn subtoken_ids(tokenizer: &SubwordTokenizer, text: &str) -> Result<Vec<u32>> {
    let mut ids = tokenizer.encode_line(text)?.ids;
    ids.pop();
    ids.remove(0);
    Ok(ids)
}

/// The subtoken ids of each word, made to fit a window: a word without subtokens becomes `[UNK]`, a word
/// longer than `budget` subtokens keeps its first `budget`.
fn word_pieces(
    tokenizer: &SubwordTokenizer,
    words: &[String],
    budget: usize,
) -> Result<Vec<Vec<u32>>> {
    words
        .iter()
        .map(|word| {
            let mut ids = subtoken_ids(tokenizer, word)?;
            if ids.is_empty() {
                ids.push(tokenizer.unk().id);
            }
            ids.truncate(budget);
            Ok(ids)
        })
        .collect()
}

/// The label id of each word, or an [`Error::Sentence`] naming the first tag outside the label set.
fn word_labels(
    sentence: usize,
    words: &[String],
    tags: &[String],
    label_ids: &HashMap<String, usize>,
) -> Result<Vec<i64>> {
    if tags.len() != words.len() {
        return Err(Error::Sentence {
            sentence,
            msg: format!("{} words but {} tags", words.len(), tags.len()),
        });
    }
    words
        .iter()
        .zip(tags)
        .enumerate()
        .map(|(idx, (word, tag))| match label_ids.get(tag) {
            Some(&id) => Ok(id as i64),
            None => Err(unknown_tag(sentence, idx, word, tag, label_ids)),
        })
        .collect()
}

fn unknown_tag(
    sentence: usize,
    idx: usize,
    word: &str,
    tag: &str,
    label_ids: &HashMap<String, usize>,
) -> Error {
    let mut known: Vec<(&usize, &String)> =
        label_ids.iter().map(|(label, id)| (id, label)).collect();
    known.sort();
    let known: Vec<&str> = known.iter().map(|(_, label)| label.as_str()).collect();
    Error::Sentence {
        sentence,
        msg: format!(
            "tag {tag:?} of word {idx} ({word:?}) is not in the label set [{}]; build the label set from \
             the training data (readers::label_set) and use the same one for every split",
            known.join(", ")
        ),
    }
}

/// Splits words into windows of at most `budget` subtokens, at word boundaries: greedy, each window
/// takes as many whole words as fit. Every piece must hold at most `budget` subtokens.
fn window_ranges(pieces: &[Vec<u32>], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < pieces.len() {
        let mut end = start;
        let mut used = 0;
        while end < pieces.len() && used + pieces[end].len() <= budget {
            used += pieces[end].len();
            end += 1;
        }
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Encodes a sentence of words (and their tags) for token classification, as windows of at most
/// `max_len` tokens: `[CLS]`, the subtokens of whole words, `[SEP]`.
///
/// - The label id of a word sits on its first subtoken, [`IGNORE_LABEL`] everywhere else (SPEC §5); with
///   `tags: None` (prediction) every label is [`IGNORE_LABEL`]. `label_ids` maps tags to ids
///   ([`label_index`]); a tag outside it is an [`Error::Sentence`] naming the tag and the sentence.
/// - A sentence longer than `max_len - 2` subtokens is split into several windows at word boundaries
///   (greedy: each window takes as many whole words as fit); no word is cut between windows or dropped.
/// - A single word longer than `max_len - 2` subtokens keeps only its first `max_len - 2` subtokens,
///   in a window of its own, with its label on the first.
/// - A word the tokenizer turns into no subtoken (only control characters, zero-width or, when
///   lower-casing strips accents, lone combining marks such as U+FE0F) gets one `[UNK]`, so that every word
///   has a position to predict. HF fast tokenizers give such a word no token at all (it is absent from
///   `word_ids()`); in the Python reference its label is then silently lost.
///
/// A sentence without words gives no window. `max_len` must be at least 3.
pub fn encode_tagged(
    sentence: usize,
    words: &[String],
    tags: Option<&[String]>,
    label_ids: &HashMap<String, usize>,
    tokenizer: &SubwordTokenizer,
    max_len: usize,
) -> Result<Vec<TaggedWindow>> {
    if max_len < 3 {
        return Err(Error::Argument {
            name: "max_len",
            msg: format!(
                "{max_len} leaves no room for a word between [CLS] and [SEP]; use at least 3"
            ),
        });
    }
    let budget = max_len - 2;
    let labels = match tags {
        Some(tags) => word_labels(sentence, words, tags, label_ids)?,
        None => vec![IGNORE_LABEL; words.len()],
    };
    let pieces = word_pieces(tokenizer, words, budget)?;
    let windows = window_ranges(&pieces, budget)
        .into_iter()
        .map(|range| {
            let mut window = TaggedWindow {
                input_ids: vec![tokenizer.cls().id],
                labels: vec![IGNORE_LABEL],
                word_index: vec![None],
                sentence,
                first_word: range.start,
            };
            for word in range {
                for (piece_idx, &id) in pieces[word].iter().enumerate() {
                    let first = piece_idx == 0;
                    window.input_ids.push(id);
                    window
                        .labels
                        .push(if first { labels[word] } else { IGNORE_LABEL });
                    window.word_index.push(first.then_some(word));
                }
            }
            window.input_ids.push(tokenizer.sep().id);
            window.labels.push(IGNORE_LABEL);
            window.word_index.push(None);
            window
        })
        .collect();
    Ok(windows)
}

/// The input of sentence (pair) classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationInput {
    /// `[CLS] a [SEP]`, or `[CLS] a [SEP] b [SEP]` for a pair.
    pub input_ids: Vec<u32>,
    /// Segment ids: 0 for `[CLS] a [SEP]`, 1 for `b [SEP]`.
    pub token_type_ids: Vec<u32>,
}

/// The lengths `(a, b)` that two texts of `len_a` and `len_b` subtokens keep under a budget of `budget`
/// subtokens, as the `tokenizers` crate's `LongestFirst` truncation (HF `truncation=True` with a fast
/// tokenizer): the longer text loses tokens until both are equally long, then both lose tokens; of an odd
/// budget the spare token goes to the text that was longer (to `b` when they were equally long).
///
/// The slow Python tokenizers remove one token at a time from the longer text and, on a tie, from `b`, so
/// they give the spare token to `a` when `b` was longer or as long; that is the only difference.
fn longest_first(len_a: usize, len_b: usize, budget: usize) -> (usize, usize) {
    if len_a + len_b <= budget {
        return (len_a, len_b);
    }
    let short = len_a.min(len_b);
    let (short, long) = if 2 * short <= budget {
        (short, budget - short)
    } else {
        (budget / 2, budget / 2 + budget % 2)
    };
    if len_a > len_b {
        (long, short)
    } else {
        (short, long)
    }
}

/// Encodes one text or a pair for sequence classification: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`,
/// truncated to at most `max_len` tokens as Hugging Face's default `truncation=True` with a fast tokenizer
/// ("longest_first"): tokens are removed from the end of the longer text until both are equally long,
/// then from both; of an odd remainder the spare token goes to the text that was longer (to `b` on a
/// tie). The slow Python tokenizers give it to `a` instead; nothing else differs. `max_len` must be at
/// least 2 for one text, 3 for a pair.
pub fn encode_pair(
    text_a: &str,
    text_b: Option<&str>,
    tokenizer: &SubwordTokenizer,
    max_len: usize,
) -> Result<ClassificationInput> {
    let specials = if text_b.is_some() { 3 } else { 2 };
    if max_len < specials {
        return Err(Error::Argument {
            name: "max_len",
            msg: format!("{max_len} is less than the {specials} special tokens of the input"),
        });
    }
    let budget = max_len - specials;
    let mut ids_a = subtoken_ids(tokenizer, text_a)?;
    let mut ids_b = match text_b {
        Some(text) => subtoken_ids(tokenizer, text)?,
        None => Vec::new(),
    };
    let (keep_a, keep_b) = longest_first(ids_a.len(), ids_b.len(), budget);
    ids_a.truncate(keep_a);
    ids_b.truncate(keep_b);

    let (cls, sep) = (tokenizer.cls().id, tokenizer.sep().id);
    let mut input_ids = Vec::with_capacity(ids_a.len() + ids_b.len() + specials);
    input_ids.push(cls);
    input_ids.extend_from_slice(&ids_a);
    input_ids.push(sep);
    let mut token_type_ids = vec![0; input_ids.len()];
    if text_b.is_some() {
        input_ids.extend_from_slice(&ids_b);
        input_ids.push(sep);
        token_type_ids.resize(input_ids.len(), 1);
    }
    Ok(ClassificationInput {
        input_ids,
        token_type_ids,
    })
}

/// Splits raw text into words as BERT's basic tokenizer does, keeping where each word is: whitespace
/// separates words, and every punctuation character (ASCII punctuation and Unicode `P*`) and CJK
/// ideograph is a word of its own. Control characters are dropped from the split (a word of only control
/// characters disappears). Returns `(word, start, end)` with **character** (code point) offsets into
/// `text`, `end` exclusive; `word` is the text between them as written.
///
/// This is the split of the tokenizer's pre-tokenization (no lower-casing, no accent stripping), done
/// with the `tokenizers` crate's `BertNormalizer` (clean text, CJK) and `BertPreTokenizer`. For English
/// prose, [`crate::readers::TextReader`] is an alternative that keeps `don't`-style clitics and
/// abbreviations as the Penn Treebank does and also splits sentences.
pub fn split_words_with_offsets(text: &str) -> Vec<(String, usize, usize)> {
    let mut normalized = NormalizedString::from(text);
    let clean = BertNormalizer::new(true, true, Some(false), false);
    let chars: Vec<char> = text.chars().collect();
    let mut pre = match clean.normalize(&mut normalized) {
        Ok(()) => PreTokenizedString::from(normalized),
        Err(_) => PreTokenizedString::from(text),
    };
    if BertPreTokenizer.pre_tokenize(&mut pre).is_err() {
        return Vec::new();
    }
    pre.get_splits(OffsetReferential::Original, OffsetType::Char)
        .into_iter()
        .map(|(_, (start, end), _)| (chars[start..end].iter().collect(), start, end))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A tiny uncased vocabulary folder written for the test.
    fn tiny(dir: &Path) -> SubwordTokenizer {
        let vocab = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "man", "##s", "un", "##able", ",",
            ".", "new", "york", "##er", "a", "b", "c", "d", "e", "f",
        ];
        std::fs::write(dir.join("vocab.txt"), vocab.join("\n")).unwrap();
        SubwordTokenizer::from_dir(dir).unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn labels() -> HashMap<String, usize> {
        label_index(&strings(&["O", "B-loc", "I-loc"]))
    }

    const X: i64 = IGNORE_LABEL;

    #[test]
    fn labels_sit_on_first_subtokens_only() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path());
        let words = strings(&["the", "mans", "New", "Yorker"]);
        let tags = strings(&["O", "O", "B-loc", "I-loc"]);
        let windows = encode_tagged(7, &words, Some(&tags), &labels(), &tok, 64).unwrap();
        assert_eq!(windows.len(), 1);
        let w = &windows[0];
        assert_eq!(w.input_ids, vec![2, 5, 6, 7, 12, 13, 14, 3]);
        assert_eq!(w.labels, vec![X, 0, 0, X, 1, 2, X, X]);
        assert_eq!(
            w.word_index,
            vec![None, Some(0), Some(1), None, Some(2), Some(3), None, None]
        );
        assert_eq!((w.sentence, w.first_word), (7, 0));

        let unlabelled = encode_tagged(7, &words, None, &labels(), &tok, 64).unwrap();
        assert_eq!(unlabelled[0].input_ids, w.input_ids);
        assert!(unlabelled[0].labels.iter().all(|&l| l == X));
        assert_eq!(unlabelled[0].word_index, w.word_index);
    }

    #[test]
    fn long_sentences_split_at_word_boundaries_without_losing_words() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path());
        // Subtokens per word: 1, 2, 2, 1, 1 = 7; budget 3 (max_len 5).
        let words = strings(&["a", "mans", "unable", "b", "c"]);
        let tags = strings(&["O", "B-loc", "I-loc", "O", "B-loc"]);
        let windows = encode_tagged(0, &words, Some(&tags), &labels(), &tok, 5).unwrap();
        let ids: Vec<_> = windows.iter().map(|w| w.input_ids.clone()).collect();
        assert_eq!(
            ids,
            vec![vec![2, 15, 6, 7, 3], vec![2, 8, 9, 16, 3], vec![2, 17, 3]]
        );
        let firsts: Vec<_> = windows.iter().map(|w| w.first_word).collect();
        assert_eq!(firsts, vec![0, 2, 4]);
        assert_eq!(windows[1].labels, vec![X, 2, X, 0, X]);
        assert_eq!(
            windows[1].word_index,
            vec![None, Some(2), None, Some(3), None]
        );
        let started: Vec<usize> = windows
            .iter()
            .flat_map(|w| w.word_index.iter().flatten().copied())
            .collect();
        assert_eq!(started, vec![0, 1, 2, 3, 4]);
        assert!(windows.iter().all(|w| w.input_ids.len() <= 5));
    }

    #[test]
    fn overlong_word_keeps_its_first_subtokens_and_empty_word_becomes_unk() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path());
        let words = strings(&["unable", "\u{200b}", "mans"]);
        let tags = strings(&["B-loc", "O", "O"]);
        let windows = encode_tagged(0, &words, Some(&tags), &labels(), &tok, 3).unwrap();
        let ids: Vec<_> = windows.iter().map(|w| w.input_ids.clone()).collect();
        assert_eq!(ids, vec![vec![2, 8, 3], vec![2, 1, 3], vec![2, 6, 3]]);
        assert_eq!(windows[0].labels, vec![X, 1, X]);
        assert_eq!(windows[1].labels, vec![X, 0, X]);
        assert_eq!(windows[1].word_index, vec![None, Some(1), None]);
        assert!(encode_tagged(0, &[], None, &labels(), &tok, 3)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn tagging_errors_name_the_tag_and_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path());
        let words = strings(&["the", "man"]);
        let err = encode_tagged(
            4,
            &words,
            Some(&strings(&["O", "B-per"])),
            &labels(),
            &tok,
            16,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sentence 4: tag \"B-per\" of word 1 (\"man\") is not in the label set [O, B-loc, I-loc]; build \
             the label set from the training data (readers::label_set) and use the same one for every split"
        );
        let err =
            encode_tagged(4, &words, Some(&strings(&["O"])), &labels(), &tok, 16).unwrap_err();
        assert_eq!(err.to_string(), "sentence 4: 2 words but 1 tags");
        let err = encode_tagged(4, &words, None, &labels(), &tok, 2).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid max_len: 2 leaves no room"),
            "{err}"
        );
    }

    #[test]
    fn longest_first_matches_the_tokenizers_crate() {
        assert_eq!(longest_first(3, 4, 10), (3, 4));
        assert_eq!(longest_first(2, 10, 7), (2, 5));
        assert_eq!(longest_first(10, 2, 7), (5, 2));
        assert_eq!(longest_first(10, 6, 7), (4, 3));
        assert_eq!(longest_first(6, 10, 7), (3, 4));
        assert_eq!(longest_first(5, 5, 7), (3, 4));
        assert_eq!(longest_first(12, 10, 6), (3, 3));
        assert_eq!(longest_first(4, 0, 2), (2, 0));
        assert_eq!(longest_first(4, 4, 0), (0, 0));
    }

    #[test]
    fn pairs_get_segments_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny(dir.path());
        let pair = encode_pair("the mans", Some("a b c d e f"), &tok, 64).unwrap();
        assert_eq!(
            pair.input_ids,
            vec![2, 5, 6, 7, 3, 15, 16, 17, 18, 19, 20, 3]
        );
        assert_eq!(
            pair.token_type_ids,
            vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
        );
        let cut = encode_pair("the mans", Some("a b c d e f"), &tok, 9).unwrap();
        assert_eq!(cut.input_ids, vec![2, 5, 6, 7, 3, 15, 16, 17, 3]);
        let both = encode_pair("the mans", Some("a b c d e f"), &tok, 8).unwrap();
        assert_eq!(both.input_ids, vec![2, 5, 6, 3, 15, 16, 17, 3]);
        assert_eq!(both.token_type_ids, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        let single = encode_pair("a b c d", None, &tok, 4).unwrap();
        assert_eq!(single.input_ids, vec![2, 15, 16, 3]);
        assert_eq!(single.token_type_ids, vec![0; 4]);
        let err = encode_pair("a", Some("b"), &tok, 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid max_len: 2 is less than the 3 special tokens of the input"
        );
    }

    #[test]
    fn words_split_at_spaces_and_punctuation_with_char_offsets() {
        let split = split_words_with_offsets("Zoë's  café, (NYC)!\u{200b} 東京");
        let words: Vec<(&str, usize, usize)> =
            split.iter().map(|(w, s, e)| (w.as_str(), *s, *e)).collect();
        assert_eq!(
            words,
            vec![
                ("Zoë", 0, 3),
                ("'", 3, 4),
                ("s", 4, 5),
                ("café", 7, 11),
                (",", 11, 12),
                ("(", 13, 14),
                ("NYC", 14, 17),
                (")", 17, 18),
                ("!", 18, 19),
                ("東", 21, 22),
                ("京", 22, 23),
            ]
        );
        assert!(split_words_with_offsets(" \t\n").is_empty());
    }
}
