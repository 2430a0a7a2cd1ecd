//! The document model shared by every reader and writer.
//!
//! Two levels, matching the two file formats:
//! - [`Document`]: one part of a CoNLL-2012 document at the **word** level (what the scorer sees).
//! - [`PreparedDocument`]: the same part cut into model segments at the **subtoken** level, exactly the
//!   coref-hoi jsonlines schema (SPEC §6.4).
//!
//! Every span in this crate is a [`Span`] whose `end` is **inclusive**, as in the CoNLL brackets and the
//! jsonlines `clusters` field. Conversions to end-exclusive ranges happen in one place: [`Span::range`].

use serde::{Deserialize, Serialize};

/// A contiguous run of words (or subtokens), both ends **inclusive**: `Span { start: 3, end: 3 }` is one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// Index of the first item.
    pub start: usize,
    /// Index of the last item (inclusive).
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`, both inclusive.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The end-exclusive range `start..end + 1`.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start..self.end + 1
    }

    /// Number of items covered.
    pub fn len(self) -> usize {
        self.end + 1 - self.start
    }

    /// Always false: a span covers at least one item.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// A cluster of coreferent mentions.
pub type Cluster = Vec<Span>;

/// The seven OntoNotes genres, in the order of the reference taskmodule config (SPEC §3.1): the index is the
/// genre id fed to the genre embedding.
pub const ONTONOTES_GENRES: [&str; 7] = ["pt", "bn", "nw", "wb", "tc", "bc", "mz"];

/// Genre of a document id: its first two characters when they are an OntoNotes genre, else `fallback`.
///
/// The reference code maps unknown ids to genre id 0; our default fallback is `"bc"` (see
/// `GenreConfig`), which is what a user of the paper's settings expects for OntoGUM and LitBank ids.
pub fn genre_of(doc_id: &str, fallback: &str) -> String {
    let prefix: String = doc_id.chars().take(2).collect();
    if ONTONOTES_GENRES.contains(&prefix.as_str()) {
        prefix
    } else {
        fallback.to_string()
    }
}

/// One part of a CoNLL-2012 document, at the word level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// The id of `#begin document (ID); part NNN`, e.g. `bc/cctv/00/cctv_0000` or `GUM_bio_byron`.
    pub id: String,
    /// The part number `NNN` as an integer.
    pub part: u32,
    /// Words (column 4 of the CoNLL lines), in order.
    pub words: Vec<String>,
    /// Sentences as end-exclusive word ranges `[start, end)`, in order and covering `words`.
    pub sentences: Vec<std::ops::Range<usize>>,
    /// Speaker of each word (column 10); `None` where the file has `-`.
    pub speakers: Vec<Option<String>>,
    /// Genre: the first two characters of `id` when they are an OntoNotes genre, else the reader's fallback.
    pub genre: String,
    /// Coreference clusters as word spans (inclusive). From the CoNLL reader: in the reference scorer's
    /// entity order (first sight of each id, a cell read as `(N)`, then `(N`, then `N)`), mentions in
    /// the order they are completed; a mention may repeat and may sit in two clusters, as in the file
    /// (see [`crate::readers::conll2012`]).
    pub clusters: Vec<Cluster>,
}

impl Document {
    /// The coref-hoi document key `ID_PART`, e.g. `GUM_academic_discrimination_0` (SPEC §6.2).
    pub fn doc_key(&self) -> String {
        format!("{}_{}", self.id, self.part)
    }

    /// Sentence index of every word.
    pub fn sentence_of_word(&self) -> Vec<usize> {
        let mut out = vec![0; self.words.len()];
        for (sent_idx, range) in self.sentences.iter().enumerate() {
            for word_idx in range.clone() {
                out[word_idx] = sent_idx;
            }
        }
        out
    }
}

/// A document cut into model segments at the subtoken level: one line of a coref-hoi `*.jsonlines` file
/// (SPEC §6.4). Field names, meaning and order are those of the reference preprocessing (`preprocess.py`
/// writes `doc_key, tokens, sentences, speakers, constituents, ner, clusters, sentence_map, subtoken_map,
/// pronouns`); `genre` is ours and comes last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedDocument {
    /// `<doc id>_<part>`.
    pub doc_key: String,
    /// Original words (after the reference's `normalize_word`: `/.` → `.`, `/?` → `?`).
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Segments of WordPiece subtokens, each `[CLS] … [SEP]` and at most `seg_len` long.
    pub sentences: Vec<Vec<String>>,
    /// Speaker per subtoken, parallel to `sentences` (`[SPL]` for `[CLS]`/`[SEP]`, `-` where the CoNLL
    /// file has none).
    pub speakers: Vec<Vec<String>>,
    /// Always empty in the reference output; kept for compatibility.
    #[serde(default)]
    pub constituents: Vec<serde_json::Value>,
    /// Always empty in the reference output; kept for compatibility.
    #[serde(default)]
    pub ner: Vec<serde_json::Value>,
    /// Clusters as inclusive flat subtoken index pairs (`[CLS]`/`[SEP]` counted).
    pub clusters: Vec<Vec<[usize; 2]>>,
    /// Sentence id per flat subtoken.
    pub sentence_map: Vec<usize>,
    /// Word index (into `tokens`) per flat subtoken.
    pub subtoken_map: Vec<usize>,
    /// Always empty in the reference output; kept for compatibility.
    #[serde(default)]
    pub pronouns: Vec<serde_json::Value>,
    /// Genre string; not written by the reference preprocessing (which derives it from `doc_key[:2]`),
    /// so it is optional on reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
}

impl PreparedDocument {
    /// Total number of subtokens, `[CLS]`/`[SEP]` included.
    pub fn num_subtokens(&self) -> usize {
        self.sentences.iter().map(Vec::len).sum()
    }

    /// Checks that the fields fit together: `speakers` has the shape of `sentences`, `sentence_map` and
    /// `subtoken_map` have one entry per subtoken, `subtoken_map` points into `tokens` (when present),
    /// and every mention is a span `start <= end` inside the document. Returns what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.speakers.len() != self.sentences.len() {
            return Err(format!(
                "{} segments in `sentences` but {} in `speakers`",
                self.sentences.len(),
                self.speakers.len()
            ));
        }
        for (seg_idx, (seg, spk)) in self.sentences.iter().zip(&self.speakers).enumerate() {
            if seg.len() != spk.len() {
                return Err(format!(
                    "segment {seg_idx} has {} subtokens but {} speakers",
                    seg.len(),
                    spk.len()
                ));
            }
        }
        let n = self.num_subtokens();
        for (name, len) in [
            ("sentence_map", self.sentence_map.len()),
            ("subtoken_map", self.subtoken_map.len()),
        ] {
            if len != n {
                return Err(format!("`{name}` has {len} entries for {n} subtokens"));
            }
        }
        if !self.tokens.is_empty() {
            if let Some(bad) = self.subtoken_map.iter().find(|&&w| w >= self.tokens.len()) {
                return Err(format!(
                    "`subtoken_map` points to word {bad} of {} tokens",
                    self.tokens.len()
                ));
            }
        }
        for (cluster_idx, cluster) in self.clusters.iter().enumerate() {
            for &[start, end] in cluster {
                if start > end || end >= n {
                    return Err(format!(
                        "mention [{start}, {end}] of cluster {cluster_idx} is not a span inside the {n} subtokens"
                    ));
                }
            }
        }
        Ok(())
    }
}
