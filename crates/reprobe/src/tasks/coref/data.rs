//! Documents for the model: a split read from a CoNLL-2012 file (prepared on the fly with the run's
//! tokenizer) or a prepared `*.jsonlines`, then turned into the plain arrays the encoder stack and the head
//! take (SPEC §3.1).
use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;

use reprobe_corpus::readers::jsonlines::read_jsonlines;
use reprobe_corpus::{
    prepare_document, read_conll2012, Document, PrepareStats, PreparedDocument, SubwordTokenizer,
};
use reprobe_models::heads::coref::{CorefGold, CorefInputs};

use crate::config::schema::DataConfig;

/// One document ready for the model.
#[derive(Debug, Clone)]
pub struct ModelDocument {
    /// `ID_PART`.
    pub doc_key: String,
    /// Subtoken ids per segment (no padding). `[S][T_s]`
    pub segments: Vec<Vec<u32>>,
    /// The head's per-subtoken inputs. `[N]`
    pub inputs: CorefInputs,
    /// Gold clusters as subtoken spans (ends inclusive).
    pub gold_clusters: Vec<Vec<(usize, usize)>>,
    /// The prepared document (words, maps) for mapping predictions back to words.
    pub prepared: PreparedDocument,
}

impl ModelDocument {
    /// `N`, the number of subtokens.
    pub fn num_subtokens(&self) -> usize {
        self.inputs.len()
    }

    /// The gold in the head's form.
    pub fn gold(&self) -> CorefGold {
        CorefGold::from_clusters(&self.gold_clusters)
    }
}

/// A split as read: the prepared documents and, for CoNLL input, the word-level documents.
#[derive(Debug, Clone)]
pub struct Split {
    /// Documents ready for the model, in file order.
    pub docs: Vec<ModelDocument>,
    /// Preparation counts (CoNLL input only).
    pub stats: Option<PrepareStats>,
}

/// Whether a path is a prepared jsonlines file (by extension).
pub fn is_jsonlines(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonlines" | "jsonl")
    )
}

/// Reads a split: CoNLL-2012 files are prepared with `tokenizer` (in parallel), jsonlines are taken as
/// they are; both are checked against the tokenizer's vocabulary.
pub fn load_split(
    path: &Path,
    tokenizer: &SubwordTokenizer,
    data: &DataConfig,
    limit: Option<usize>,
) -> Result<Split> {
    let (mut prepared, stats) = if is_jsonlines(path) {
        (read_jsonlines(path)?, None)
    } else {
        let docs = read_conll2012(path, &data.genre_fallback)?;
        let (prepared, stats) = prepare_all(&docs, tokenizer, data.seg_len)
            .with_context(|| format!("cannot prepare {}", path.display()))?;
        (prepared, Some(stats))
    };
    if let Some(n) = limit {
        prepared.truncate(n);
    }
    if prepared.is_empty() {
        bail!("{} holds no document", path.display());
    }
    let docs = prepared
        .into_iter()
        .map(|doc| {
            to_model_document(doc, tokenizer, data)
                .with_context(|| format!("in {}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Split { docs, stats })
}

/// Prepares word-level documents in parallel (document order kept).
pub fn prepare_all(
    docs: &[Document],
    tokenizer: &SubwordTokenizer,
    seg_len: usize,
) -> Result<(Vec<PreparedDocument>, PrepareStats)> {
    let results: Vec<_> = docs
        .par_iter()
        .map(|d| prepare_document(d, tokenizer, seg_len))
        .collect::<std::result::Result<_, _>>()?;
    let mut stats = PrepareStats::default();
    let mut out = Vec::with_capacity(results.len());
    for (doc, s) in results {
        stats += s;
        out.push(doc);
    }
    Ok((out, stats))
}

/// Turns a prepared document into model inputs (SPEC §3.1): subtoken ids per segment, speaker ids
/// (`UNK` 0, `[SPL]` 1, then each new speaker in order), sentence map, segment index per subtoken, genre id.
pub fn to_model_document(
    doc: PreparedDocument,
    tokenizer: &SubwordTokenizer,
    data: &DataConfig,
) -> Result<ModelDocument> {
    let key = doc.doc_key.clone();
    let mut segments = Vec::with_capacity(doc.sentences.len());
    for (s, segment) in doc.sentences.iter().enumerate() {
        let ids = tokenizer.ids(segment).with_context(|| {
            format!(
                "document {key}, segment {s}: a subtoken is not in the vocabulary of {} (was the file prepared with another tokenizer? re-run `reprobe prepare` with this one)",
                tokenizer.dir().display()
            )
        })?;
        segments.push(ids);
    }
    let n: usize = segments.iter().map(Vec::len).sum();
    if doc.sentence_map.len() != n || doc.subtoken_map.len() != n {
        bail!(
            "document {key}: sentence_map has {} and subtoken_map {} entries for {n} subtokens",
            doc.sentence_map.len(),
            doc.subtoken_map.len()
        );
    }
    let mut speaker_ids: HashMap<&str, u32> = HashMap::from([("UNK", 0), ("[SPL]", 1)]);
    let mut speakers = Vec::with_capacity(n);
    for seg in &doc.speakers {
        for spk in seg {
            let next = speaker_ids.len() as u32;
            speakers.push(*speaker_ids.entry(spk.as_str()).or_insert(next));
        }
    }
    if speakers.len() != n {
        bail!(
            "document {key}: {} speakers for {n} subtokens",
            speakers.len()
        );
    }
    let segment_of_token: Vec<u32> = segments
        .iter()
        .enumerate()
        .flat_map(|(s, seg)| std::iter::repeat_n(s as u32, seg.len()))
        .collect();
    let genre_name = doc
        .genre
        .clone()
        .unwrap_or_else(|| reprobe_corpus::genre_of(&key, &data.genre_fallback));
    let genre = data
        .genres
        .iter()
        .position(|g| *g == genre_name)
        .or_else(|| data.genres.iter().position(|g| *g == data.genre_fallback))
        .unwrap_or(0) as u32;
    let mut gold_clusters = Vec::with_capacity(doc.clusters.len());
    for cluster in &doc.clusters {
        let mut spans = Vec::with_capacity(cluster.len());
        for &[s, e] in cluster {
            if s > e || e >= n {
                bail!("document {key}: mention [{s}, {e}] is outside its {n} subtokens");
            }
            spans.push((s, e));
        }
        gold_clusters.push(spans);
    }
    let inputs = CorefInputs {
        sentence_map: doc.sentence_map.iter().map(|&x| x as u32).collect(),
        speaker_ids: speakers,
        segment_of_token,
        genre,
    };
    Ok(ModelDocument {
        doc_key: key,
        segments,
        inputs,
        gold_clusters,
        prepared: doc,
    })
}

/// Subtoken clusters → word clusters through `subtoken_map`. A predicted span whose ends are not the first
/// and last subtokens of words, or that covers `[CLS]`/`[SEP]`, does not map to whole words: it is dropped
/// and counted.
pub fn to_word_clusters(
    doc: &PreparedDocument,
    clusters: &[Vec<(usize, usize)>],
) -> (Vec<Vec<reprobe_corpus::Span>>, usize) {
    let map = &doc.subtoken_map;
    let flat: Vec<&String> = doc.sentences.iter().flatten().collect();
    let special = |i: usize| flat.get(i).is_some_and(|t| *t == "[CLS]" || *t == "[SEP]");
    let starts_word = |i: usize| {
        i < map.len() && !special(i) && (i == 0 || special(i - 1) || map[i - 1] != map[i])
    };
    let ends_word = |i: usize| {
        i < map.len()
            && !special(i)
            && (i + 1 == map.len() || special(i + 1) || map[i + 1] != map[i])
    };
    let mut dropped = 0;
    let mut out = Vec::with_capacity(clusters.len());
    for cluster in clusters {
        let mut words = Vec::with_capacity(cluster.len());
        for &(s, e) in cluster {
            if starts_word(s) && ends_word(e) && !(s..=e).any(special) {
                words.push(reprobe_corpus::Span::new(map[s], map[e]));
            } else {
                dropped += 1;
            }
        }
        // A cluster with fewer than two mappable mentions says nothing about coreference.
        if words.len() > 1 {
            out.push(words);
        } else {
            dropped += words.len();
        }
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared() -> PreparedDocument {
        // Words: "Anna" "likes" "Bob" "." | "She" "waved" ; "likes" = two subtokens.
        PreparedDocument {
            doc_key: "bc/x_0".into(),
            tokens: ["Anna", "likes", "Bob", ".", "She", "waved"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sentences: vec![
                ["[CLS]", "Anna", "like", "##s", "Bob", ".", "[SEP]"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                ["[CLS]", "She", "waved", "[SEP]"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ],
            speakers: vec![
                ["[SPL]", "a", "a", "a", "a", "a", "[SPL]"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                ["[SPL]", "b", "b", "[SPL]"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ],
            clusters: vec![vec![[1, 1], [8, 8]]],
            sentence_map: vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2],
            subtoken_map: vec![0, 0, 1, 1, 2, 3, 3, 3, 4, 5, 5],
            genre: None,
            constituents: vec![],
            ner: vec![],
            pronouns: vec![],
        }
    }

    #[test]
    fn word_clusters_drop_partial_words_and_specials() {
        let doc = prepared();
        // (1,1) Anna, (8,8) She, (2,2) half of "likes", (6,7) SEP+CLS, (2,3) "likes".
        let (words, dropped) =
            to_word_clusters(&doc, &[vec![(1, 1), (8, 8), (2, 2)], vec![(6, 7), (2, 3)]]);
        assert_eq!(
            words,
            vec![vec![
                reprobe_corpus::Span::new(0, 0),
                reprobe_corpus::Span::new(4, 4)
            ]]
        );
        // (2,2) and (6,7) do not map; the second cluster is left with one mention, dropped too.
        assert_eq!(dropped, 3);
    }

    #[test]
    fn model_inputs_from_a_prepared_document() {
        let dir = tempfile::tempdir().unwrap();
        let vocab = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Anna", "like", "##s", "Bob", ".", "She",
            "waved",
        ];
        std::fs::write(dir.path().join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
        let tokenizer = SubwordTokenizer::from_dir(dir.path()).unwrap();
        let doc = to_model_document(prepared(), &tokenizer, &DataConfig::default()).unwrap();
        assert_eq!(
            doc.segments,
            vec![vec![2, 5, 6, 7, 8, 9, 3], vec![2, 10, 11, 3]]
        );
        // UNK = 0, [SPL] = 1, then "a" = 2 and "b" = 3 in order of appearance.
        assert_eq!(
            doc.inputs.speaker_ids,
            vec![1, 2, 2, 2, 2, 2, 1, 1, 3, 3, 1]
        );
        assert_eq!(
            doc.inputs.segment_of_token,
            vec![0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        );
        // genre_of("bc/x_0") = "bc" → id 0 in coref-hoi's order.
        assert_eq!(doc.inputs.genre, 0);
        assert_eq!(doc.gold_clusters, vec![vec![(1, 1), (8, 8)]]);

        let mut bad = prepared();
        bad.sentences[1][1] = "Zebra".into();
        let err = format!(
            "{:#}",
            to_model_document(bad, &tokenizer, &DataConfig::default()).unwrap_err()
        );
        assert!(
            err.contains("segment 1") && err.contains("not in the vocabulary"),
            "{err}"
        );
    }
}
