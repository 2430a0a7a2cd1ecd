//! Cutting a document's subtokens into model segments (SPEC §6.3, `split_into_segments` of the
//! reference `preprocess.py`).
//!
//! Each segment holds at most `seg_len - 2` content subtokens (room for `[CLS]` and `[SEP]`). A segment
//! ends at the last sentence end that fits; when none fits, at the last word end that fits.
//!
//! Deviation (SPEC §9.17): when neither a sentence end nor a word end fits (one word longer than
//! `seg_len - 2` subtokens), the reference logs an error and then crashes on an empty segment; we cut
//! at the limit, inside the word, and count it in [`Segmentation::forced_splits`].
use std::ops::Range;

use crate::error::{Error, Result};

/// The segments of one document, as ranges of content subtoken indices (`[CLS]`/`[SEP]` not counted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segmentation {
    /// Content subtoken ranges `[start, end)`, in order, covering every subtoken.
    pub segments: Vec<Range<usize>>,
    /// Segments that had to end at a word end because no sentence end fitted (the reference logs
    /// "no sentence end found; split at token end").
    pub token_end_splits: usize,
    /// Segments that had to end inside a word (the reference fails there; see the module doc).
    pub forced_splits: usize,
}

/// Splits `n` subtokens (with their `sentence_end` and `token_end` flags, one per subtoken) into segments
/// of at most `seg_len` subtokens including `[CLS]` and `[SEP]`.
///
/// Errors when `seg_len < 3` or the flag slices differ in length.
pub fn split_into_segments(
    sentence_end: &[bool],
    token_end: &[bool],
    seg_len: usize,
) -> Result<Segmentation> {
    if seg_len < 3 {
        return Err(Error::Argument {
            name: "segment length",
            msg: format!(
                "{seg_len} leaves no room for a subtoken besides [CLS] and [SEP] (need at least 3)"
            ),
        });
    }
    if sentence_end.len() != token_end.len() {
        return Err(Error::Argument {
            name: "segment flags",
            msg: format!(
                "{} sentence-end flags but {} token-end flags",
                sentence_end.len(),
                token_end.len()
            ),
        });
    }
    let n = sentence_end.len();
    let max_content = seg_len - 2;
    let mut out = Segmentation::default();
    let mut cur = 0;
    while cur < n {
        // Inclusive end of the longest segment starting at `cur`.
        let max_end = (cur + max_content - 1).min(n - 1);
        // The last index in cur..=max_end whose flag is set.
        let last_set = |flags: &[bool]| (cur..=max_end).rev().find(|&idx| flags[idx]);
        let end = match last_set(sentence_end) {
            Some(end) => end,
            None => {
                out.token_end_splits += 1;
                match last_set(token_end) {
                    Some(end) => end,
                    None => {
                        out.forced_splits += 1;
                        max_end
                    }
                }
            }
        };
        out.segments.push(cur..end + 1);
        cur = end + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Vec<bool> {
        s.chars().map(|c| c == '1').collect()
    }

    #[test]
    fn prefers_sentence_ends() {
        // 10 subtokens, sentences end at 2, 5, 9; seg_len 7 → at most 5 content subtokens.
        let sent = flags("0010010001");
        let tok = flags("1111111111");
        let seg = split_into_segments(&sent, &tok, 7).unwrap();
        assert_eq!(seg.segments, vec![0..3, 3..6, 6..10]);
        assert_eq!((seg.token_end_splits, seg.forced_splits), (0, 0));
    }

    #[test]
    fn falls_back_to_word_ends_then_anywhere() {
        // One sentence of 8 subtokens; words end at 1, 4, 7; seg_len 5 → 3 content subtokens.
        let sent = flags("00000001");
        let tok = flags("01001001");
        let seg = split_into_segments(&sent, &tok, 5).unwrap();
        assert_eq!(seg.segments, vec![0..2, 2..5, 5..8]);
        assert_eq!((seg.token_end_splits, seg.forced_splits), (2, 0));
        // A word of 4 subtokens with room for 3.
        let seg = split_into_segments(&flags("0001"), &flags("0001"), 5).unwrap();
        assert_eq!(seg.segments, vec![0..3, 3..4]);
        assert_eq!((seg.token_end_splits, seg.forced_splits), (1, 1));
    }

    #[test]
    fn empty_document_and_bad_arguments() {
        assert!(split_into_segments(&[], &[], 384).unwrap().segments.is_empty());
        assert_eq!(
            split_into_segments(&[true], &[true], 2).unwrap_err().to_string(),
            "invalid segment length: 2 leaves no room for a subtoken besides [CLS] and [SEP] (need at least 3)"
        );
    }
}
