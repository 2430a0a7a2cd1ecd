//! Reading what `reprobe view` shows: coreference documents and NER sentences, from the files that
//! `reprobe predict` and `reprobe evaluate` write and from key files.
//!
//! The format is read from the content, not the name:
//!
//! | first line | format | task |
//! |---|---|---|
//! | `#begin document ...` | CoNLL-2012 (clusters in the last column; with `--task ner`, the NER column) | coref |
//! | JSON with `subtoken_map` | coref-hoi jsonlines (subtoken clusters, mapped to words) | coref |
//! | JSON with `clusters` | `reprobe predict` JSON lines (`words`, `sentences`, `clusters`) | coref |
//! | JSON with `entities` | `reprobe predict` JSON lines of a NER run on raw text | ner |
//! | anything else | a column file: word first, IOB2 tag last | ner |
//!
//! A folder is read as a `reprobe evaluate` output folder: its `predictions.conll` or
//! `predictions.jsonlines`.
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use serde::Deserialize;

use reprobe_corpus::readers::columns::{parse_columns, parse_conll2012_ner, TaggedSentence};
use reprobe_corpus::readers::jsonlines::parse_jsonlines;
use reprobe_corpus::readers::Conll2012Reader;
use reprobe_corpus::{Cluster, PreparedDocument, Span};

use crate::tasks::coref::data::to_word_clusters;

/// One coreference document: its words, sentences and clusters (word spans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorefDoc {
    /// `ID_PART`, as in coref-hoi jsonlines (`GUM_bio_byron_0`).
    pub doc_key: String,
    /// The words.
    pub words: Vec<String>,
    /// Sentences as end-exclusive word ranges, in order, covering `words`.
    pub sentences: Vec<Range<usize>>,
    /// Clusters of inclusive word spans.
    pub clusters: Vec<Cluster>,
}

/// One NER sentence with one IOB2 tag per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NerSentence {
    /// The words.
    pub words: Vec<String>,
    /// One tag per word.
    pub tags: Vec<String>,
    /// `FILE:LINE` of the sentence, for messages.
    pub origin: String,
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// Coreference documents.
    Coref(Vec<CorefDoc>),
    /// NER sentences.
    Ner(Vec<NerSentence>),
}

/// Which task to read a file as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskChoice {
    /// From the content: CoNLL-2012, coref-hoi jsonlines and `predict` JSON lines with clusters are
    /// coreference; column files and JSON lines with entities are NER.
    Auto,
    /// Coreference.
    Coref,
    /// Named entities.
    Ner,
}

/// The file to read for `path`: itself, or for a folder the predictions `reprobe evaluate` wrote there.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    [
        "predictions.conll",
        "predictions.jsonlines",
        "predictions.jsonl",
    ]
    .iter()
    .map(|name| path.join(name))
    .find(|p| p.is_file())
    .with_context(|| {
        format!(
            "{} is a folder without predictions.conll or predictions.jsonlines (what `reprobe \
                 evaluate` writes): give the predictions file itself",
            path.display()
        )
    })
}

/// Reads `path` (a file or an evaluate folder) as `task`.
pub fn read(path: &Path, task: TaskChoice) -> Result<Loaded> {
    let path = resolve(path)?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let Some(first) = first else {
        bail!("{} is empty: nothing to show", path.display());
    };
    if first.starts_with("#begin document") {
        return match task {
            TaskChoice::Ner => Ok(Loaded::Ner(ner_sentences(
                parse_conll2012_ner(&text, &path)?,
                &path,
            ))),
            _ => conll_docs(&path, &text).map(Loaded::Coref),
        };
    }
    if first.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(first)
            .with_context(|| format!("{}:1: not a JSON object", path.display()))?;
        let has = |key: &str| value.get(key).is_some();
        let loaded = if has("subtoken_map") {
            Loaded::Coref(prepared_docs(&path, &text)?)
        } else if has("clusters") {
            Loaded::Coref(predicted_docs(&path, &text)?)
        } else if has("entities") {
            Loaded::Ner(entity_sentences(&path, &text)?)
        } else {
            bail!(
                "{}:1: JSON lines without `clusters`, `subtoken_map` or `entities`: not coreference or \
                 NER predictions (classification predictions have no spans to show)",
                path.display()
            );
        };
        return check_task(loaded, task, &path);
    }
    let loaded = Loaded::Ner(ner_sentences(parse_columns(&text, &path)?, &path));
    check_task(loaded, task, &path)
}

fn check_task(loaded: Loaded, task: TaskChoice, path: &Path) -> Result<Loaded> {
    match (&loaded, task) {
        (Loaded::Coref(_), TaskChoice::Ner) => bail!(
            "{} holds coreference clusters, not NER tags (--task ner reads column files, NER JSON \
             lines or the NER column of CoNLL-2012 files)",
            path.display()
        ),
        (Loaded::Ner(_), TaskChoice::Coref) => bail!(
            "{} is not a coreference file: expected CoNLL-2012 (`#begin document` first), coref-hoi \
             jsonlines or `reprobe predict` JSON lines",
            path.display()
        ),
        _ => Ok(loaded),
    }
}

fn conll_docs(path: &Path, text: &str) -> Result<Vec<CorefDoc>> {
    // Four columns are enough: the word is the fourth, the clusters the last.
    let file = Conll2012Reader::new("bc")
        .min_columns(4)
        .parse(path, text.as_bytes())?;
    Ok(file
        .into_documents()
        .into_iter()
        .map(|d| CorefDoc {
            doc_key: d.doc_key(),
            words: d.words,
            sentences: d.sentences,
            clusters: d.clusters,
        })
        .collect())
}

/// One line of `reprobe predict`'s coreference JSON lines.
#[derive(Deserialize)]
struct PredictedLine {
    doc_key: String,
    words: Vec<String>,
    #[serde(default)]
    sentences: Vec<[usize; 2]>,
    clusters: Vec<Vec<PredictedMention>>,
}

#[derive(Deserialize)]
struct PredictedMention {
    start: usize,
    end: usize,
}

fn json_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn predicted_docs(path: &Path, text: &str) -> Result<Vec<CorefDoc>> {
    let mut docs = Vec::new();
    for (line_no, line) in json_lines(text) {
        let at = || format!("{}:{line_no}", path.display());
        let line: PredictedLine = serde_json::from_str(line).with_context(|| {
            format!(
                "{}: not a `reprobe predict` line (doc_key, words, sentences, clusters)",
                at()
            )
        })?;
        let n = line.words.len();
        let sentences: Vec<Range<usize>> = if line.sentences.is_empty() {
            std::iter::once(0..n).collect()
        } else {
            line.sentences.iter().map(|&[s, e]| s..e).collect()
        };
        check_sentences(&sentences, n).map_err(|msg| anyhow::anyhow!("{}: {msg}", at()))?;
        let mut clusters = Vec::with_capacity(line.clusters.len());
        for cluster in &line.clusters {
            let mut spans = Vec::with_capacity(cluster.len());
            for m in cluster {
                if m.start > m.end || m.end >= n {
                    bail!(
                        "{}: mention {}-{} is not a span of the document's {n} words",
                        at(),
                        m.start,
                        m.end
                    );
                }
                spans.push(Span::new(m.start, m.end));
            }
            clusters.push(spans);
        }
        docs.push(CorefDoc {
            doc_key: line.doc_key,
            words: line.words,
            sentences,
            clusters,
        });
    }
    Ok(docs)
}

/// Checks that `sentences` are non-empty, in order, and cover `0..n` exactly.
fn check_sentences(sentences: &[Range<usize>], n: usize) -> std::result::Result<(), String> {
    let mut next = 0;
    for s in sentences {
        if s.start != next || s.end <= s.start {
            return Err(format!(
                "sentence {}..{} does not follow the previous one (which ends at word {next})",
                s.start, s.end
            ));
        }
        next = s.end;
    }
    if next != n {
        return Err(format!("the sentences cover {next} of the {n} words"));
    }
    Ok(())
}

fn prepared_docs(path: &Path, text: &str) -> Result<Vec<CorefDoc>> {
    parse_jsonlines(path, text.as_bytes())?
        .into_iter()
        .map(|doc| {
            if doc.tokens.is_empty() {
                bail!(
                    "{}: document {} has no `tokens` (words): it cannot be shown; view the CoNLL \
                     predictions instead",
                    path.display(),
                    doc.doc_key
                );
            }
            let subtoken_clusters: Vec<Vec<(usize, usize)>> = doc
                .clusters
                .iter()
                .map(|c| c.iter().map(|&[s, e]| (s, e)).collect())
                .collect();
            let (clusters, _) = to_word_clusters(&doc, &subtoken_clusters);
            Ok(CorefDoc {
                sentences: word_sentences(&doc),
                clusters,
                doc_key: doc.doc_key,
                words: doc.tokens,
            })
        })
        .collect()
}

/// The sentences of a prepared document as word ranges: a word belongs to the sentence of its first
/// subtoken.
fn word_sentences(doc: &PreparedDocument) -> Vec<Range<usize>> {
    let flat: Vec<&String> = doc.sentences.iter().flatten().collect();
    let mut sentence_of_word: Vec<Option<usize>> = vec![None; doc.tokens.len()];
    for (i, (&word, &sentence)) in doc.subtoken_map.iter().zip(&doc.sentence_map).enumerate() {
        let special = flat.get(i).is_some_and(|t| *t == "[CLS]" || *t == "[SEP]");
        if !special && word < sentence_of_word.len() && sentence_of_word[word].is_none() {
            sentence_of_word[word] = Some(sentence);
        }
    }
    let mut sentences: Vec<Range<usize>> = Vec::new();
    let mut last = None;
    for (w, sentence) in sentence_of_word.iter().enumerate() {
        match sentences.last_mut() {
            Some(range) if *sentence == last => range.end = w + 1,
            _ => sentences.push(w..w + 1),
        }
        last = *sentence;
    }
    sentences
}

fn ner_sentences(sentences: Vec<TaggedSentence>, path: &Path) -> Vec<NerSentence> {
    sentences
        .into_iter()
        .map(|s| NerSentence {
            origin: format!("{}:{}", path.display(), s.line),
            words: s.words,
            tags: s.tags,
        })
        .collect()
}

/// One line of `reprobe predict`'s NER JSON lines (raw text input).
#[derive(Deserialize)]
struct EntityLine {
    words: Vec<String>,
    entities: Vec<EntityJson>,
}

#[derive(Deserialize)]
struct EntityJson {
    #[serde(rename = "type")]
    kind: String,
    /// End-exclusive word range.
    words: [usize; 2],
}

fn entity_sentences(path: &Path, text: &str) -> Result<Vec<NerSentence>> {
    let mut sentences = Vec::new();
    for (line_no, line) in json_lines(text) {
        let origin = format!("{}:{line_no}", path.display());
        let line: EntityLine = serde_json::from_str(line).with_context(|| {
            format!("{origin}: not a `reprobe predict` NER line (words, entities)")
        })?;
        let mut tags = vec!["O".to_string(); line.words.len()];
        for e in &line.entities {
            let [start, end] = e.words;
            if start >= end || end > tags.len() || tags[start..end].iter().any(|t| t != "O") {
                bail!(
                    "{origin}: entity {} at words {start}..{end} is empty, outside the sentence's {} \
                     words or overlaps another",
                    e.kind,
                    tags.len()
                );
            }
            tags[start] = format!("B-{}", e.kind);
            for tag in &mut tags[start + 1..end] {
                *tag = format!("I-{}", e.kind);
            }
        }
        sentences.push(NerSentence {
            words: line.words,
            tags,
            origin,
        });
    }
    Ok(sentences)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn each_format_is_recognised_by_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let conll = write(
            dir.path(),
            "a.txt",
            "#begin document (d); part 000\nd 0 0 John (0)\nd 0 1 left -\n\nd 0 0 He (0)\n\n#end document\n",
        );
        let Loaded::Coref(docs) = read(&conll, TaskChoice::Auto).unwrap() else {
            panic!("coref expected")
        };
        assert_eq!(docs[0].doc_key, "d_0");
        assert_eq!(docs[0].sentences, vec![0..2, 2..3]);
        assert_eq!(
            docs[0].clusters,
            vec![vec![Span::new(0, 0), Span::new(2, 2)]]
        );

        let jsonl = write(
            dir.path(),
            "b.out",
            r#"{"doc_key":"x","words":["A","b","c"],"sentences":[[0,2],[2,3]],"clusters":[[{"start":0,"end":1,"text":"A b"},{"start":2,"end":2,"text":"c"}]]}"#,
        );
        let Loaded::Coref(docs) = read(&jsonl, TaskChoice::Auto).unwrap() else {
            panic!("coref expected")
        };
        assert_eq!(docs[0].sentences, vec![0..2, 2..3]);
        assert_eq!(
            docs[0].clusters,
            vec![vec![Span::new(0, 1), Span::new(2, 2)]]
        );

        let ner = write(
            dir.path(),
            "c.jsonl",
            r#"{"text":"Ann met Bob Lee","words":["Ann","met","Bob","Lee"],"entities":[{"type":"PER","text":"Bob Lee","char_start":8,"char_end":15,"words":[2,4]}]}"#,
        );
        let Loaded::Ner(sentences) = read(&ner, TaskChoice::Auto).unwrap() else {
            panic!("ner expected")
        };
        assert_eq!(sentences[0].tags, vec!["O", "O", "B-PER", "I-PER"]);

        let columns = write(dir.path(), "d.conll", "Ann B-PER\nleft O\n\nBob B-PER\n");
        let Loaded::Ner(sentences) = read(&columns, TaskChoice::Auto).unwrap() else {
            panic!("ner expected")
        };
        assert_eq!(sentences.len(), 2);
        assert!(sentences[1].origin.ends_with("d.conll:4"));
        let err = read(&columns, TaskChoice::Coref).unwrap_err().to_string();
        assert!(err.contains("not a coreference file"), "{err}");
    }

    #[test]
    fn bad_records_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = write(
            dir.path(),
            "p.jsonl",
            "\n{\"doc_key\":\"x\",\"words\":[\"A\"],\"clusters\":[[{\"start\":0,\"end\":3}]]}\n",
        );
        let err = read(&jsonl, TaskChoice::Auto).unwrap_err().to_string();
        assert!(err.contains("p.jsonl:2: mention 0-3"), "{err}");
        let labels = write(dir.path(), "l.jsonl", "{\"id\":1,\"label\":\"x\"}\n");
        let err = read(&labels, TaskChoice::Auto).unwrap_err().to_string();
        assert!(
            err.contains("l.jsonl:1") && err.contains("no spans"),
            "{err}"
        );
        let err = read(dir.path(), TaskChoice::Auto).unwrap_err().to_string();
        assert!(err.contains("predictions.conll"), "{err}");
    }
}
