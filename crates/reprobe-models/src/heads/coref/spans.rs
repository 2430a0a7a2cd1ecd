//! Candidate spans (SPEC §3.3).
use crate::{Error, Result};

/// Every candidate span `(start, end)` (subtoken indices, `end` inclusive) with
/// `end − start < max_span_width`, `end < N` and `sentence_map[start] == sentence_map[end]`, in the
/// reference's row-major order: by start, then by width.
///
/// As in the reference, only the two ends are compared, so a span is kept when its ends share a sentence id
/// (the ids are non-decreasing in practice, so the span then lies inside one sentence). `[CLS]` and `[SEP]`
/// are ordinary tokens here, as they are in the reference (SPEC §9.13).
pub fn enumerate_candidates(sentence_map: &[u32], max_span_width: usize) -> Vec<(usize, usize)> {
    let n = sentence_map.len();
    let mut spans = Vec::with_capacity(n * max_span_width.min(8));
    for (start, &sent) in sentence_map.iter().enumerate() {
        let last = (start + max_span_width).min(n);
        for (end, &end_sent) in sentence_map.iter().enumerate().take(last).skip(start) {
            if end_sent == sent {
                spans.push((start, end));
            }
        }
    }
    spans
}

/// Checks that every span lies in `[0, n)` with `start <= end`; `what` names the input in the error.
pub(crate) fn check_spans(spans: &[(usize, usize)], n: usize, what: &str) -> Result<()> {
    for (i, &(start, end)) in spans.iter().enumerate() {
        if start > end || end >= n {
            return Err(Error::Input {
                what: format!("{what}[{i}]"),
                msg: format!(
                    "span ({start}, {end}) is not inside the document of {n} subtokens (ends are inclusive)"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sentence_toy_by_hand() {
        // tokens 0 1 2 | 3 4   (two sentences), W = 2
        let spans = enumerate_candidates(&[0, 0, 0, 1, 1], 2);
        assert_eq!(
            spans,
            vec![
                (0, 0),
                (0, 1),
                (1, 1),
                (1, 2),
                (2, 2),
                (3, 3),
                (3, 4),
                (4, 4)
            ]
        );
        // W = 3 adds (0, 2) only: (1, 3) and (2, 4) cross the sentence boundary.
        let spans = enumerate_candidates(&[0, 0, 0, 1, 1], 3);
        assert_eq!(
            spans,
            vec![
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 1),
                (1, 2),
                (2, 2),
                (3, 3),
                (3, 4),
                (4, 4)
            ]
        );
        // W = 1: the singletons.
        assert_eq!(
            enumerate_candidates(&[0, 1, 1], 1),
            vec![(0, 0), (1, 1), (2, 2)]
        );
        assert!(enumerate_candidates(&[], 30).is_empty());
    }

    #[test]
    fn out_of_range_spans_are_named() {
        assert!(check_spans(&[(0, 1), (2, 2)], 3, "gold").is_ok());
        let err = check_spans(&[(0, 1), (2, 3)], 3, "gold.spans")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gold.spans[1]"), "{err}");
        assert!(check_spans(&[(2, 1)], 3, "gold").is_err());
    }
}
