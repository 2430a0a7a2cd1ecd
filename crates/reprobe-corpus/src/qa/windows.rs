//! A question and its context as model windows: `[CLS] question [SEP] context part [SEP]`, the context cut
//! into overlapping parts as Hugging Face's `prepare_train_features` / `prepare_validation_features` (the
//! `run_qa.py` example) cut it with a fast tokenizer (`truncation="only_second"`, `max_length`, `stride`,
//! `return_overflowing_tokens=True`, `return_offsets_mapping=True`).
//!
//! - The context part of a window holds at most `budget = max_len − 3 − question subtokens` subtokens;
//!   parts start at `0, budget − stride, 2·(budget − stride), …` and the last one reaches the end of the
//!   context (the `tokenizers` crate's `Encoding::truncate`), so consecutive parts share `stride` subtokens.
//! - Segment ids: 0 for `[CLS] question [SEP]`, 1 for `context [SEP]`.
//! - Every context subtoken keeps its character range in the context (code points, end exclusive);
//!   question and special tokens have none.
//! - Target: the positions of the first and last subtokens of the answer when the window holds the whole
//!   answer (the subtoken whose range contains the answer's first character, the one that contains its
//!   last), else `[CLS]` (position 0) for both; an unanswerable question has `[CLS]` in every window.
//!
//! Differences from `run_qa.py`, both in edge cases: an answer that starts in the last context subtoken of
//! a window gets that subtoken as start (transformers' loop runs on past the context and marks the final
//! `[SEP]` or padding); a question so long that a window would advance by less than `stride` subtokens is
//! cut to `max_len − 3 − 2·stride` subtokens (transformers raises an error), and counted.
use crate::error::{Error, Result};
use crate::tokenize::SubwordTokenizer;

/// Window length and overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOptions {
    /// Tokens per window, `[CLS]` and both `[SEP]` included (384 in `run_qa.py`).
    pub max_len: usize,
    /// Context subtokens shared by consecutive windows (`doc_stride`, 128 in `run_qa.py`).
    pub stride: usize,
}

impl WindowOptions {
    /// The longest question kept whole: `max_len − 3 − 2·stride` subtokens, so that every window
    /// advances by at least `stride` subtokens.
    pub fn max_question_len(&self) -> usize {
        self.max_len.saturating_sub(3 + 2 * self.stride)
    }

    /// Checks that a question of at least one subtoken fits.
    pub fn validate(&self) -> Result<()> {
        if self.max_question_len() == 0 {
            return Err(Error::Argument {
                name: "stride",
                msg: format!(
                    "a stride of {} leaves no room for the question in windows of {} tokens (need max_len ≥ 2·stride + 4)",
                    self.stride, self.max_len
                ),
            });
        }
        Ok(())
    }
}

/// The subtokens of a context with their character ranges, computed once per paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextTokens {
    /// Subtoken ids.
    pub ids: Vec<u32>,
    /// Per subtoken: its characters in the context `[start, end)`, in code points.
    pub offsets: Vec<(usize, usize)>,
}

impl ContextTokens {
    /// Tokenizes `context` (no special tokens) and converts the tokenizer's byte offsets to characters.
    pub fn new(tokenizer: &SubwordTokenizer, context: &str) -> Result<Self> {
        let encoded = tokenizer.encode_line(context)?;
        let n = encoded.ids.len();
        // The char index of every byte boundary of `context`.
        let mut char_at = vec![0usize; context.len() + 1];
        let mut chars = 0;
        for (byte, c) in context.char_indices() {
            char_at[byte..byte + c.len_utf8()].fill(chars);
            chars += 1;
        }
        char_at[context.len()] = chars;
        let offsets = encoded.offsets[1..n - 1]
            .iter()
            .map(|&(s, e)| (char_at[s.min(context.len())], char_at[e.min(context.len())]))
            .collect();
        Ok(ContextTokens {
            ids: encoded.ids[1..n - 1].to_vec(),
            offsets,
        })
    }
}

/// One model input of a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QaWindow {
    /// `[CLS] question [SEP] context part [SEP]`.
    pub input_ids: Vec<u32>,
    /// 0 up to the first `[SEP]`, 1 after it.
    pub token_type_ids: Vec<u32>,
    /// Per position: the characters of a context subtoken in the context; `None` elsewhere.
    pub offsets: Vec<Option<(usize, usize)>>,
    /// The index of the window among its question's windows.
    pub index: usize,
    /// The answer's first and last positions (inclusive); `(0, 0)` (`[CLS]`) when the window does not
    /// hold the whole answer or the question has none.
    pub target: (u32, u32),
}

/// The windows of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedQuestion {
    /// At least one window.
    pub windows: Vec<QaWindow>,
    /// Whether the question was cut (see the module doc).
    pub question_truncated: bool,
}

/// The windows of `question` over `context` (tokenized by [`ContextTokens::new`]); `answer` is the
/// answer's character range `[start, end)` in the context, `None` for an unanswerable question or
/// unknown gold (prediction).
pub fn encode_question(
    tokenizer: &SubwordTokenizer,
    question: &str,
    context: &ContextTokens,
    answer: Option<(usize, usize)>,
    options: WindowOptions,
) -> Result<EncodedQuestion> {
    options.validate()?;
    let mut question_ids = tokenizer.encode_line(question)?.ids;
    question_ids.pop();
    question_ids.remove(0);
    let question_truncated = question_ids.len() > options.max_question_len();
    question_ids.truncate(options.max_question_len());
    let budget = options.max_len - 3 - question_ids.len();
    let n = context.ids.len();
    let parts: Vec<(usize, usize)> = if n <= budget {
        vec![(0, n)]
    } else {
        let step = budget - options.stride;
        let mut parts = Vec::new();
        let mut start = 0;
        loop {
            let stop = (start + budget).min(n);
            parts.push((start, stop));
            if stop == n {
                break parts;
            }
            start += step;
        }
    };
    let (cls, sep) = (tokenizer.cls().id, tokenizer.sep().id);
    let first_context = question_ids.len() + 2;
    let windows = parts
        .into_iter()
        .enumerate()
        .map(|(index, (a, b))| {
            let mut input_ids = Vec::with_capacity(first_context + b - a + 1);
            input_ids.push(cls);
            input_ids.extend_from_slice(&question_ids);
            input_ids.push(sep);
            input_ids.extend_from_slice(&context.ids[a..b]);
            input_ids.push(sep);
            let mut token_type_ids = vec![0; first_context];
            token_type_ids.resize(input_ids.len(), 1);
            let mut offsets = vec![None; first_context];
            offsets.extend(context.offsets[a..b].iter().copied().map(Some));
            offsets.push(None);
            let target = answer
                .and_then(|range| answer_positions(&context.offsets[a..b], range))
                .map_or((0, 0), |(s, e)| {
                    ((first_context + s) as u32, (first_context + e) as u32)
                });
            QaWindow {
                input_ids,
                token_type_ids,
                offsets,
                index,
                target,
            }
        })
        .collect();
    Ok(EncodedQuestion {
        windows,
        question_truncated,
    })
}

/// The first and last subtokens (indices into `part`) of the answer `[start, end)`, when `part` holds
/// all of it (`run_qa.py`'s rule, the loop kept inside the part).
fn answer_positions(
    part: &[(usize, usize)],
    (start, end): (usize, usize),
) -> Option<(usize, usize)> {
    let (first, last) = (part.first()?, part.last()?);
    if !(first.0 <= start && last.1 >= end) {
        return None;
    }
    let mut s = 0;
    while s < part.len() && part[s].0 <= start {
        s += 1;
    }
    let mut e = part.len() - 1;
    while e > 0 && part[e].1 >= end {
        e -= 1;
    }
    // `e` stops at the last subtoken that ends before the answer does (or at 0 when none does).
    let e = if part[e].1 >= end { e } else { e + 1 };
    Some((s - 1, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer(dir: &std::path::Path) -> SubwordTokenizer {
        let vocab = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "?", "a", "b", "c", "d", "e", "f",
            "g", "h", "café", "##s",
        ];
        std::fs::write(dir.join("vocab.txt"), vocab.join("\n")).unwrap();
        std::fs::write(
            dir.join("tokenizer_config.json"),
            r#"{"do_lower_case": false}"#,
        )
        .unwrap();
        SubwordTokenizer::from_dir(dir).unwrap()
    }

    #[test]
    fn offsets_are_characters() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        let ctx = ContextTokens::new(&tok, "cafés  a").unwrap();
        assert_eq!(ctx.ids, vec![15, 16, 7]);
        assert_eq!(ctx.offsets, vec![(0, 4), (4, 5), (7, 8)]);
    }

    #[test]
    fn windows_overlap_by_stride_and_targets_fall_back_to_cls() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        // 8 context subtokens, question of 2: budget = 12 − 3 − 2 = 7, step 7 − 2 = 5 → parts 0..7, 5..8.
        let ctx = ContextTokens::new(&tok, "a b c d e f g h").unwrap();
        let opts = WindowOptions {
            max_len: 12,
            stride: 2,
        };
        // The answer "g h" (characters 12..15) is whole only in the second part.
        let enc = encode_question(&tok, "who ?", &ctx, Some((12, 15)), opts).unwrap();
        assert!(!enc.question_truncated);
        let [w0, w1] = &enc.windows[..] else {
            panic!("two windows")
        };
        assert_eq!(w0.input_ids, vec![2, 5, 6, 3, 7, 8, 9, 10, 11, 12, 13, 3]);
        assert_eq!(w0.token_type_ids, vec![0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(w0.target, (0, 0));
        assert_eq!(w1.input_ids, vec![2, 5, 6, 3, 12, 13, 14, 3]);
        assert_eq!(w1.offsets[4], Some((10, 11)));
        assert_eq!(w1.offsets[7], None);
        assert_eq!(w1.target, (5, 6));
        assert_eq!((w0.index, w1.index), (0, 1));
        // " g" starts in the space after "f": the start is the last subtoken that starts at or before the
        // answer's first character (f), as in run_qa.py.
        let enc = encode_question(&tok, "who ?", &ctx, Some((11, 13)), opts).unwrap();
        assert_eq!(enc.windows[0].target, (9, 10));
        assert_eq!(enc.windows[1].target, (4, 5));
        // Unanswerable: [CLS] everywhere.
        let enc = encode_question(&tok, "who ?", &ctx, None, opts).unwrap();
        assert!(enc.windows.iter().all(|w| w.target == (0, 0)));
        // "g" is the last context subtoken of the first window: its start stays on it.
        let enc = encode_question(&tok, "who ?", &ctx, Some((12, 13)), opts).unwrap();
        assert_eq!(enc.windows[0].target, (10, 10));
        assert_eq!(enc.windows[1].target, (5, 5));
    }

    #[test]
    fn long_questions_are_cut_and_empty_contexts_give_one_window() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        let opts = WindowOptions {
            max_len: 12,
            stride: 2,
        };
        let ctx = ContextTokens::new(&tok, "").unwrap();
        let enc = encode_question(&tok, "a b c d e f g h", &ctx, None, opts).unwrap();
        assert!(enc.question_truncated);
        assert_eq!(enc.windows.len(), 1);
        assert_eq!(enc.windows[0].input_ids, vec![2, 7, 8, 9, 10, 11, 3, 3]);
        let bad = WindowOptions {
            max_len: 12,
            stride: 5,
        };
        assert!(encode_question(&tok, "a", &ctx, None, bad).is_err());
    }
}
