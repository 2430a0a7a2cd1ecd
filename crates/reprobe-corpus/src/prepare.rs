//! [`Document`] → [`PreparedDocument`]: the coref-hoi preprocessing (`preprocess.py`, SPEC §6.2–6.4).
//!
//! 1. Every word is normalised (`/.` → `.`, `/?` → `?`, `normalize_word`) and tokenized on its own.
//! 2. The subtokens are cut into segments of at most `seg_len` subtokens with `[CLS]`/`[SEP]`
//!    ([`crate::segment`]).
//! 3. Maps and fields as the reference builds them:
//!    - `subtoken_map`: word index of every subtoken; `[CLS]` maps to the last word of the previous
//!      segment (0 for the first), `[SEP]` to the last word of its own segment;
//!    - `sentence_map`: `[CLS]` and each content subtoken get the current sentence id, which goes up
//!      after a sentence's last subtoken, so `[SEP]` and the next `[CLS]` belong to the **next** sentence
//!      when a segment ends a sentence (the reference's quirk, kept);
//!    - `speakers`: `[SPL]` for `[CLS]`/`[SEP]`, the word's speaker column (`-` where none) otherwise;
//!    - `clusters`: the CoNLL mentions in flat subtoken indices (`[CLS]`/`[SEP]` counted), from the first
//!      subtoken of the first word to the last subtoken of the last word;
//!    - clusters that share a mention are merged, as the reference merges them ("Merging clusters
//!      (shouldn't happen very often)"); counted in [`PrepareStats::merged_clusters`].
//!
//! # Deviations from the reference (SPEC §9.17), each counted in [`PrepareStats`]
//! - A word that tokenizes to nothing (only control or zero-width characters) becomes `[UNK]`; the
//!   reference gives it no subtoken and thereby shifts `token_end` and the mentions after it.
//! - A word longer than a whole segment is cut inside (see [`crate::segment`]); the reference crashes.
//!   Every subtoken of such a word keeps the word's speaker (the reference would give the pieces after
//!   the cut the `[SPL]` of the new segment's `[CLS]`, had it not crashed).
//! - Mentions inside a cluster are sorted by (start, end); the reference writes Python set order.
//!   Clusters are in the scorer's order of the CoNLL file ([`Document::clusters`]), a merged cluster at
//!   the place of its first part; the reference orders them by first completed mention. Neither order
//!   carries meaning (the training code and the metrics treat clusters as sets).
//! - A cluster overlapping two earlier clusters merges all three; the reference merges it into one of
//!   them and then fails its own "each mention unique" assertion.
use std::collections::BTreeSet;

use crate::document::{Document, PreparedDocument};
use crate::error::{Error, Result};
use crate::segment::split_into_segments;
use crate::tokenize::SubwordTokenizer;

/// Counts over prepared documents (add them up with `+=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareStats {
    /// Documents (CoNLL parts).
    pub documents: usize,
    /// Segments.
    pub segments: usize,
    /// Subtokens, `[CLS]`/`[SEP]` included.
    pub subtokens: usize,
    /// Mentions after merging (a mention repeated in one cluster counts once).
    pub mentions: usize,
    /// Clusters after merging.
    pub clusters: usize,
    /// Clusters absorbed into another because they share a mention.
    pub merged_clusters: usize,
    /// Words that tokenized to nothing and were written as `[UNK]`.
    pub empty_words: usize,
    /// Segments that end at a word end because no sentence end fitted.
    pub token_end_splits: usize,
    /// Segments that end inside a word because no word end fitted.
    pub forced_splits: usize,
    /// One line per unusual event (empty word, forced split, merge), naming the document.
    pub warnings: Vec<String>,
}

impl std::ops::AddAssign for PrepareStats {
    fn add_assign(&mut self, other: Self) {
        self.documents += other.documents;
        self.segments += other.segments;
        self.subtokens += other.subtokens;
        self.mentions += other.mentions;
        self.clusters += other.clusters;
        self.merged_clusters += other.merged_clusters;
        self.empty_words += other.empty_words;
        self.token_end_splits += other.token_end_splits;
        self.forced_splits += other.forced_splits;
        self.warnings.extend(other.warnings);
    }
}

/// The reference's `normalize_word` for English: `/.` → `.` and `/?` → `?` (whole word only).
pub fn normalize_word(word: &str) -> &str {
    match word {
        "/." => ".",
        "/?" => "?",
        other => other,
    }
}

/// Prepares one document: tokenize, segment, map (see the module documentation).
///
/// Errors when `seg_len < 3`, the tokenizer fails, or the document's spans are inconsistent with its
/// words.
pub fn prepare_document(
    doc: &Document,
    tokenizer: &SubwordTokenizer,
    seg_len: usize,
) -> Result<(PreparedDocument, PrepareStats)> {
    let doc_key = doc.doc_key();
    let doc_error = |msg: String| Error::Document {
        doc_key: doc_key.clone(),
        msg,
    };
    let mut stats = PrepareStats {
        documents: 1,
        ..PrepareStats::default()
    };

    // 1. Tokenize every word; flags and maps over content subtokens (no [CLS]/[SEP]).
    let mut tokens = Vec::with_capacity(doc.words.len());
    let mut subtokens: Vec<String> = Vec::new();
    let mut subtoken_word: Vec<usize> = Vec::new();
    let mut token_end: Vec<bool> = Vec::new();
    let mut first_subtok: Vec<usize> = Vec::with_capacity(doc.words.len());
    for (word_idx, word) in doc.words.iter().enumerate() {
        let word = normalize_word(word);
        let mut pieces = tokenizer.tokenize_word(word)?;
        if pieces.is_empty() {
            stats.empty_words += 1;
            stats.warnings.push(format!(
                "{doc_key}: word {word_idx} {word:?} tokenizes to nothing; written as {}",
                tokenizer.unk().token
            ));
            pieces.push(tokenizer.unk().token.clone());
        }
        first_subtok.push(subtokens.len());
        let n = pieces.len();
        for (piece_idx, piece) in pieces.into_iter().enumerate() {
            subtokens.push(piece);
            subtoken_word.push(word_idx);
            token_end.push(piece_idx + 1 == n);
        }
        tokens.push(word.to_string());
    }
    let mut sentence_end = vec![false; subtokens.len()];
    for range in &doc.sentences {
        if range.start >= range.end {
            continue;
        }
        // The last subtoken of the sentence's last word.
        let last_word = range.end - 1;
        let last = first_subtok
            .get(last_word + 1)
            .copied()
            .unwrap_or(subtokens.len())
            .checked_sub(1)
            .filter(|_| last_word < doc.words.len())
            .ok_or_else(|| doc_error(format!("sentence {range:?} ends past the last word")))?;
        sentence_end[last] = true;
    }

    // 2. Segments.
    let seg = split_into_segments(&sentence_end, &token_end, seg_len)?;
    stats.token_end_splits = seg.token_end_splits;
    stats.forced_splits = seg.forced_splits;
    if seg.forced_splits > 0 {
        stats.warnings.push(format!(
            "{doc_key}: {} segment(s) cut inside a word (a word longer than {} subtokens)",
            seg.forced_splits,
            seg_len - 2
        ));
    }

    // 3. Segments with [CLS]/[SEP], speakers, subtoken_map, sentence_map, and the flat index of every
    //    content subtoken.
    let cls = &tokenizer.cls().token;
    let sep = &tokenizer.sep().token;
    let mut sentences = Vec::with_capacity(seg.segments.len());
    let mut speakers = Vec::with_capacity(seg.segments.len());
    let n_flat = subtokens.len() + 2 * seg.segments.len();
    let mut subtoken_map = Vec::with_capacity(n_flat);
    let mut sentence_map = Vec::with_capacity(n_flat);
    let mut flat_of_subtok = vec![0usize; subtokens.len()];
    let mut prev_word = 0;
    let mut sent_idx = 0;
    for range in &seg.segments {
        let mut segment = Vec::with_capacity(range.len() + 2);
        let mut seg_speakers = Vec::with_capacity(range.len() + 2);
        segment.push(cls.clone());
        seg_speakers.push("[SPL]".to_string());
        subtoken_map.push(prev_word);
        sentence_map.push(sent_idx);
        for subtok_idx in range.clone() {
            flat_of_subtok[subtok_idx] = subtoken_map.len();
            let word_idx = subtoken_word[subtok_idx];
            segment.push(subtokens[subtok_idx].clone());
            let speaker = doc
                .speakers
                .get(word_idx)
                .and_then(Option::as_deref)
                .unwrap_or("-");
            seg_speakers.push(speaker.to_string());
            subtoken_map.push(word_idx);
            sentence_map.push(sent_idx);
            sent_idx += usize::from(sentence_end[subtok_idx]);
        }
        // Segments are never empty: each holds at least one content subtoken.
        let last_word = range.clone().last().map_or(prev_word, |i| subtoken_word[i]);
        segment.push(sep.clone());
        seg_speakers.push("[SPL]".to_string());
        subtoken_map.push(last_word);
        sentence_map.push(sent_idx);
        prev_word = last_word;
        sentences.push(segment);
        speakers.push(seg_speakers);
    }

    // 4. Clusters in flat subtoken indices, de-duplicated, merged where they share a mention.
    let last_subtok_of_word = |word_idx: usize| -> usize {
        first_subtok
            .get(word_idx + 1)
            .copied()
            .unwrap_or(subtokens.len())
            - 1
    };
    let mut flat_clusters: Vec<BTreeSet<[usize; 2]>> = Vec::with_capacity(doc.clusters.len());
    for (cluster_idx, cluster) in doc.clusters.iter().enumerate() {
        let mut mentions = BTreeSet::new();
        for span in cluster {
            if span.start > span.end || span.end >= doc.words.len() {
                return Err(doc_error(format!(
                    "mention [{}, {}] of cluster {cluster_idx} is outside the {} words",
                    span.start,
                    span.end,
                    doc.words.len()
                )));
            }
            let start = flat_of_subtok[first_subtok[span.start]];
            let end = flat_of_subtok[last_subtok_of_word(span.end)];
            mentions.insert([start, end]);
        }
        if !mentions.is_empty() {
            flat_clusters.push(mentions);
        }
    }
    let before = flat_clusters.len();
    let merged = merge_overlapping(flat_clusters);
    stats.merged_clusters = before - merged.len();
    if stats.merged_clusters > 0 {
        stats.warnings.push(format!(
            "{doc_key}: {} cluster(s) merged into others because they share a mention",
            stats.merged_clusters
        ));
    }
    let clusters: Vec<Vec<[usize; 2]>> = merged
        .into_iter()
        .map(|c| c.into_iter().collect())
        .collect();

    stats.segments = sentences.len();
    stats.subtokens = subtoken_map.len();
    stats.clusters = clusters.len();
    stats.mentions = clusters.iter().map(Vec::len).sum();
    let prepared = PreparedDocument {
        doc_key: doc_key.clone(),
        tokens,
        sentences,
        speakers,
        constituents: Vec::new(),
        ner: Vec::new(),
        clusters,
        sentence_map,
        subtoken_map,
        pronouns: Vec::new(),
        genre: Some(doc.genre.clone()),
    };
    prepared.validate().map_err(doc_error)?;
    Ok((prepared, stats))
}

/// Merges clusters that share a mention (transitively), keeping the first cluster's place.
fn merge_overlapping(clusters: Vec<BTreeSet<[usize; 2]>>) -> Vec<BTreeSet<[usize; 2]>> {
    let mut merged: Vec<BTreeSet<[usize; 2]>> = Vec::with_capacity(clusters.len());
    for cluster in clusters {
        // Every earlier merged cluster that shares a mention with this one.
        let hits: Vec<usize> = merged
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.is_disjoint(&cluster))
            .map(|(idx, _)| idx)
            .collect();
        match hits.split_first() {
            None => merged.push(cluster),
            Some((&first, rest)) => {
                // Fold the later hits into the first one (from the back so indices stay valid).
                for &idx in rest.iter().rev() {
                    let absorbed = merged.remove(idx);
                    merged[first].extend(absorbed);
                }
                merged[first].extend(cluster);
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Span;

    fn tokenizer(dir: &std::path::Path) -> SubwordTokenizer {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nman\n##s\nun\n##able\n.\n?\nhe\nsaw\nit\nyes\n";
        std::fs::write(dir.join("vocab.txt"), vocab).unwrap();
        SubwordTokenizer::from_dir(dir).unwrap()
    }

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| w.to_string()).collect()
    }

    fn doc() -> Document {
        // sentence 0: the mans saw unable .   sentence 1: he saw it /?
        Document {
            id: "nw/t".into(),
            part: 1,
            words: words(&["the", "mans", "saw", "unable", ".", "he", "saw", "it", "/?"]),
            sentences: vec![0..5, 5..9],
            speakers: vec![
                Some("A".into()),
                Some("A".into()),
                None,
                None,
                None,
                Some("B".into()),
                None,
                None,
                None,
            ],
            genre: "nw".into(),
            clusters: vec![
                vec![Span::new(0, 1), Span::new(5, 5)],
                vec![Span::new(3, 3), Span::new(7, 7), Span::new(7, 7)],
            ],
        }
    }

    #[test]
    fn one_segment_hand_worked() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        let (p, stats) = prepare_document(&doc(), &tok, 384).unwrap();
        assert_eq!(p.doc_key, "nw/t_1");
        assert_eq!(
            p.tokens,
            words(&["the", "mans", "saw", "unable", ".", "he", "saw", "it", "?"])
        );
        let seg = words(&[
            "[CLS]", "the", "man", "##s", "saw", "un", "##able", ".", "he", "saw", "it", "?",
            "[SEP]",
        ]);
        assert_eq!(p.sentences, vec![seg]);
        assert_eq!(p.subtoken_map, vec![0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7, 8, 8]);
        assert_eq!(p.sentence_map, vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2]);
        let spk = words(&[
            "[SPL]", "A", "A", "A", "-", "-", "-", "-", "B", "-", "-", "-", "[SPL]",
        ]);
        assert_eq!(p.speakers, vec![spk]);
        assert_eq!(
            p.clusters,
            vec![vec![[1, 3], [8, 8]], vec![[5, 6], [10, 10]]]
        );
        assert_eq!(p.genre.as_deref(), Some("nw"));
        let want = PrepareStats {
            documents: 1,
            segments: 1,
            subtokens: 13,
            mentions: 4,
            clusters: 2,
            ..PrepareStats::default()
        };
        assert_eq!(stats, want);
    }

    #[test]
    fn segments_split_at_sentence_ends_with_the_sentence_map_quirk() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        // 7 content subtokens in sentence 0, 4 in sentence 1; seg_len 9 → 7 content subtokens fit.
        let (p, stats) = prepare_document(&doc(), &tok, 9).unwrap();
        assert_eq!(p.sentences.len(), 2);
        assert_eq!(
            p.sentences[1],
            words(&["[CLS]", "he", "saw", "it", "?", "[SEP]"])
        );
        // [CLS] of segment 1 maps to the last word of segment 0; [SEP] to its own last word.
        assert_eq!(
            p.subtoken_map,
            vec![0, 0, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 7, 8, 8]
        );
        // The [SEP] that ends sentence 0 and the next [CLS] already belong to sentence 1.
        assert_eq!(
            p.sentence_map,
            vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2]
        );
        assert_eq!(
            p.clusters,
            vec![vec![[1, 3], [10, 10]], vec![[5, 6], [12, 12]]]
        );
        assert_eq!(
            (stats.segments, stats.subtokens, stats.token_end_splits),
            (2, 15, 0)
        );
    }

    #[test]
    fn word_ends_when_no_sentence_end_fits() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        // seg_len 6 → 4 content subtokens: "the man ##s" | "saw un ##able ." ...
        let (p, stats) = prepare_document(&doc(), &tok, 6).unwrap();
        assert_eq!(
            p.sentences,
            vec![
                words(&["[CLS]", "the", "man", "##s", "saw", "[SEP]"]),
                words(&["[CLS]", "un", "##able", ".", "[SEP]"]),
                words(&["[CLS]", "he", "saw", "it", "?", "[SEP]"]),
            ]
        );
        assert_eq!(stats.token_end_splits, 1);
        assert_eq!(
            p.sentence_map,
            vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2]
        );
    }

    #[test]
    fn shared_mention_merges_clusters() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        let mut d = doc();
        d.clusters = vec![
            vec![Span::new(0, 0)],
            vec![Span::new(2, 2), Span::new(5, 5)],
            vec![Span::new(3, 3), Span::new(0, 0)],
            vec![Span::new(5, 5), Span::new(7, 7)],
        ];
        let (p, stats) = prepare_document(&d, &tok, 384).unwrap();
        assert_eq!(
            p.clusters,
            vec![vec![[1, 1], [5, 6]], vec![[4, 4], [8, 8], [10, 10]]]
        );
        assert_eq!(
            (stats.clusters, stats.mentions, stats.merged_clusters),
            (2, 5, 2)
        );
        // Transitive: a cluster touching both merged groups joins them into one.
        d.clusters.push(vec![Span::new(0, 0), Span::new(7, 7)]);
        let (p, stats) = prepare_document(&d, &tok, 384).unwrap();
        assert_eq!(
            p.clusters,
            vec![vec![[1, 1], [4, 4], [5, 6], [8, 8], [10, 10]]]
        );
        assert_eq!(stats.merged_clusters, 4);
    }

    #[test]
    fn empty_word_becomes_unk_and_forced_split() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        let d = Document {
            id: "x".into(),
            part: 0,
            words: words(&["he", "\u{200b}", "unable"]),
            sentences: std::iter::once(0..3).collect(),
            speakers: vec![None; 3],
            genre: "bc".into(),
            clusters: vec![vec![Span::new(1, 2)]],
        };
        let (p, stats) = prepare_document(&d, &tok, 3).unwrap();
        assert_eq!(stats.empty_words, 1);
        assert_eq!(stats.forced_splits, 1);
        let flat: Vec<&str> = p.sentences.iter().flatten().map(String::as_str).collect();
        assert_eq!(
            flat,
            vec![
                "[CLS]", "he", "[SEP]", "[CLS]", "[UNK]", "[SEP]", "[CLS]", "un", "[SEP]", "[CLS]",
                "##able", "[SEP]"
            ]
        );
        // The mention runs from [UNK] to ##able, across the forced cut.
        assert_eq!(p.clusters, vec![vec![[4, 10]]]);
        assert_eq!(stats.warnings.len(), 2, "{:?}", stats.warnings);
    }

    #[test]
    fn bad_segment_length_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path());
        assert!(prepare_document(&doc(), &tok, 2).is_err());
    }
}
