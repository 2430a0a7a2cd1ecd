//! Cropping of long training documents to `max_training_sentences` segments (SPEC §3.2, §9.1–9.3).
//!
//! The caller decides when to crop (in training only: SPEC §9.2 — the reference also crops at evaluation)
//! and draws the segment offset (uniform in `0..=S − max`, redrawn every epoch like the reference or once
//! like coref-hoi: SPEC §9.3). It then keeps the returned token range of the document embeddings (or the
//! returned segment range of the encoder input).
use std::ops::Range;

use super::config::GoldCrop;
use super::{CorefGold, CorefInputs};
use crate::{Error, Result};

/// A document cut to a window of segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CroppedDocument {
    /// The kept segments, in the segment numbering of the full document.
    pub segments: Range<usize>,
    /// The kept subtokens, in the subtoken numbering of the full document.
    pub tokens: Range<usize>,
    /// The inputs of the kept subtokens; segment ids renumbered from 0.
    pub inputs: CorefInputs,
    /// The gold mentions of the window, shifted to it (see [`crop_document`]).
    pub gold: Option<CorefGold>,
}

/// The length of every segment, from `segment_of_token` (which must be `0, 0, …, 1, 1, …`: every id from 0
/// up, non-decreasing, none skipped).
pub fn segment_lengths(segment_of_token: &[u32]) -> Result<Vec<usize>> {
    let mut lengths: Vec<usize> = Vec::new();
    for (t, &seg) in segment_of_token.iter().enumerate() {
        let seg = seg as usize;
        if seg + 1 == lengths.len() {
            lengths[seg] += 1;
        } else if seg == lengths.len() {
            lengths.push(1);
        } else {
            return Err(Error::Input {
                what: format!("inputs.segment_of_token[{t}]"),
                msg: format!(
                    "segment id {seg} after segment {}: ids must count up from 0 without gaps",
                    lengths.len() as i64 - 1
                ),
            });
        }
    }
    Ok(lengths)
}

/// Crops a document of `S` segments to segments `[segment_offset, segment_offset + max_segments)` when
/// `S > max_segments`; returns it whole otherwise (then `segment_offset` is ignored).
///
/// The gold follows `rule`:
/// - [`GoldCrop::Positional`] (coref-hoi): the mentions with `start < window end` and `end ≥ window start`,
///   shifted to the window. coref-hoi keeps the mentions that stick out of the window with out-of-range
///   indices; such a span can never equal a candidate, so it has no effect on the loss, and it is dropped
///   here.
/// - [`GoldCrop::IndexSliced`] (the reference's bug, SPEC §9.1): the mentions sorted by `(start, end)`,
///   sliced by **mention index** `[segment_offset, segment_offset + max_segments)`, shifted by the token
///   offset; of those, the ones outside the window are dropped for the same reason.
pub fn crop_document(
    inputs: &CorefInputs,
    gold: Option<&CorefGold>,
    max_segments: usize,
    segment_offset: usize,
    rule: GoldCrop,
) -> Result<CroppedDocument> {
    let lengths = segment_lengths(&inputs.segment_of_token)?;
    let num_segments = lengths.len();
    if num_segments <= max_segments {
        return Ok(CroppedDocument {
            segments: 0..num_segments,
            tokens: 0..inputs.len(),
            inputs: inputs.clone(),
            gold: gold.cloned(),
        });
    }
    if max_segments == 0 || segment_offset > num_segments - max_segments {
        return Err(Error::Input {
            what: "segment_offset".to_string(),
            msg: format!(
                "offset {segment_offset} with {max_segments} segments kept does not fit a document of {num_segments} segments"
            ),
        });
    }
    let word_offset: usize = lengths[..segment_offset].iter().sum();
    let num_words: usize = lengths[segment_offset..segment_offset + max_segments]
        .iter()
        .sum();
    let tokens = word_offset..word_offset + num_words;
    let cropped_inputs = CorefInputs {
        sentence_map: inputs.sentence_map[tokens.clone()].to_vec(),
        speaker_ids: inputs.speaker_ids[tokens.clone()].to_vec(),
        segment_of_token: inputs.segment_of_token[tokens.clone()]
            .iter()
            .map(|&s| s - segment_offset as u32)
            .collect(),
        genre: inputs.genre,
    };
    let inside = |&(s, e): &(usize, usize)| s >= tokens.start && e < tokens.end;
    let shift = |(s, e): (usize, usize)| (s - word_offset, e - word_offset);
    let cropped_gold = gold.map(|gold| {
        let mut mentions: Vec<((usize, usize), u32)> = gold
            .spans
            .iter()
            .copied()
            .zip(gold.cluster_ids.iter().copied())
            .collect();
        if rule == GoldCrop::IndexSliced {
            mentions.sort();
            let end = (segment_offset + max_segments).min(mentions.len());
            let start = segment_offset.min(end);
            mentions = mentions[start..end].to_vec();
        }
        let mut out = CorefGold::default();
        for (span, id) in mentions {
            if inside(&span) {
                out.spans.push(shift(span));
                out.cluster_ids.push(id);
            }
        }
        out
    });
    Ok(CroppedDocument {
        segments: segment_offset..segment_offset + max_segments,
        tokens,
        inputs: cropped_inputs,
        gold: cropped_gold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4 segments of lengths 3, 2, 4, 3 (tokens 0–2, 3–4, 5–8, 9–11).
    fn doc() -> (CorefInputs, CorefGold) {
        let segs = [3usize, 2, 4, 3];
        let segment_of_token: Vec<u32> = segs
            .iter()
            .enumerate()
            .flat_map(|(s, &len)| std::iter::repeat_n(s as u32, len))
            .collect();
        let inputs = CorefInputs {
            sentence_map: (0..12).map(|t| t / 2).collect(),
            speaker_ids: (0..12).map(|t| t % 3).collect(),
            segment_of_token,
            genre: 2,
        };
        let gold = CorefGold {
            spans: vec![(10, 11), (0, 1), (4, 5), (3, 4), (6, 8), (8, 9), (5, 5)],
            cluster_ids: vec![1, 1, 2, 2, 3, 3, 1],
        };
        (inputs, gold)
    }

    #[test]
    fn positional_filter_keeps_what_lies_in_the_window() {
        let (inputs, gold) = doc();
        // keep segments 1..3 → tokens 3..9
        let c = crop_document(&inputs, Some(&gold), 2, 1, GoldCrop::Positional).unwrap();
        assert_eq!(c.segments, 1..3);
        assert_eq!(c.tokens, 3..9);
        assert_eq!(c.inputs.sentence_map, vec![1, 2, 2, 3, 3, 4]);
        assert_eq!(c.inputs.speaker_ids, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(c.inputs.segment_of_token, vec![0, 0, 1, 1, 1, 1]);
        let g = c.gold.unwrap();
        // (4,5)→(1,2), (3,4)→(0,1), (6,8)→(3,5), (5,5)→(2,2); (8,9) sticks out, (10,11), (0,1) outside.
        assert_eq!(g.spans, vec![(1, 2), (0, 1), (3, 5), (2, 2)]);
        assert_eq!(g.cluster_ids, vec![2, 2, 3, 1]);
    }

    #[test]
    fn index_sliced_compat_reproduces_the_reference_bug() {
        let (inputs, gold) = doc();
        // Sorted mentions: (0,1)#1 (3,4)#2 (4,5)#2 (5,5)#1 (6,8)#3 (8,9)#3 (10,11)#1.
        // Offset 1, 2 segments → mention indices 1..3 = (3,4), (4,5); both inside tokens 3..9.
        let c = crop_document(&inputs, Some(&gold), 2, 1, GoldCrop::IndexSliced).unwrap();
        let g = c.gold.unwrap();
        assert_eq!(g.spans, vec![(0, 1), (1, 2)]);
        assert_eq!(g.cluster_ids, vec![2, 2]);
        // Offset 2 → tokens 5..12, mention indices 2..4 = (4,5) (outside: starts at 4) and (5,5).
        let c = crop_document(&inputs, Some(&gold), 2, 2, GoldCrop::IndexSliced).unwrap();
        assert_eq!(c.tokens, 5..12);
        let g = c.gold.unwrap();
        assert_eq!(g.spans, vec![(0, 0)]);
        assert_eq!(g.cluster_ids, vec![1]);
    }

    #[test]
    fn short_documents_stay_whole_and_bad_offsets_are_refused() {
        let (inputs, gold) = doc();
        let c = crop_document(&inputs, Some(&gold), 4, 3, GoldCrop::Positional).unwrap();
        assert_eq!(c.tokens, 0..12);
        assert_eq!(c.gold.unwrap(), gold);
        let err = crop_document(&inputs, None, 2, 3, GoldCrop::Positional).unwrap_err();
        assert!(err.to_string().contains("segment_offset"), "{err}");
        let bad = CorefInputs {
            segment_of_token: vec![0, 2],
            ..CorefInputs::default()
        };
        assert!(segment_lengths(&bad.segment_of_token).is_err());
        assert_eq!(segment_lengths(&[0, 0, 1, 2, 2]).unwrap(), vec![2, 1, 2]);
    }
}
