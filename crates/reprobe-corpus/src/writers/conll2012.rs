//! CoNLL-2012 writer: clusters back into the last column.
//!
//! Two ways to write:
//! - [`render_with_key`] / [`write_with_key`]: a **response** that lines up with a key file line for line.
//!   Every line of the key is copied verbatim except the last column of word lines, which gets the
//!   response's brackets (`-` where none). Documents of the key without a response get `-` everywhere.
//! - [`render_minimal`] / [`write_minimal`]: a file of 12 tab-separated columns from [`Document`]s alone
//!   (id, part, word index in its sentence, word, five `-`, speaker or `-`, `*`, brackets).
//!
//! # Bracket order in a cell
//! Closings first (`N)`, by cluster then inner mention first), then one-word mentions (`(N)`, by cluster),
//! then openings (`(N`, by cluster then outer mention first): the conventional order of coref-hoi's
//! `output_conll`, which the cell-order readers (coref-hoi `preprocess.py`) need when a word both ends
//! and starts mentions of one cluster. The reference scorer reads `(N)`, then `(N`, then `N)` whatever the
//! order; writing the groups by cluster index makes [`crate::readers::conll2012`] give back the same
//! clusters in the same order, mentions in the same order, for any document it has read.
//!
//! A cluster holding two mentions that cross (`[0,2]` and `[1,3]`) or that touch at one word (`[0,2]` and
//! `[2,5]`) cannot be read back by the scorer as written: its last-opened-first-closed pairing (openings
//! before closings within a cell) pairs them differently. That is a limit of the format, not of the writer.
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use crate::atomic::{write_atomic, write_error};
use crate::document::{Cluster, Document};
use crate::error::{Error, Result};
use crate::readers::ConllFile;

/// The coreference cell of each of `num_words` words for `clusters` (cluster `i` is written as id `i`).
///
/// Errors when a span ends before it starts or reaches past the last word; `doc_key` names the document.
pub fn coref_cells(doc_key: &str, num_words: usize, clusters: &[Cluster]) -> Result<Vec<String>> {
    // Per word: (cluster, other end) of mentions that close / open there; clusters of one-word mentions.
    let mut closes: Vec<Vec<(usize, usize)>> = vec![Vec::new(); num_words];
    let mut singles: Vec<Vec<usize>> = vec![Vec::new(); num_words];
    let mut opens: Vec<Vec<(usize, usize)>> = vec![Vec::new(); num_words];
    for (cluster_idx, cluster) in clusters.iter().enumerate() {
        for span in cluster {
            if span.start > span.end || span.end >= num_words {
                return Err(Error::Document {
                    doc_key: doc_key.to_string(),
                    msg: format!(
                        "mention [{}, {}] of cluster {cluster_idx} is not inside the document's {num_words} words",
                        span.start, span.end
                    ),
                });
            }
            if span.start == span.end {
                singles[span.start].push(cluster_idx);
            } else {
                closes[span.end].push((cluster_idx, span.start));
                opens[span.start].push((cluster_idx, span.end));
            }
        }
    }
    let mut cells = Vec::with_capacity(num_words);
    for word_idx in 0..num_words {
        let mut parts: Vec<String> = Vec::new();
        let mut close = std::mem::take(&mut closes[word_idx]);
        // by cluster, then the inner (later-starting) mention first
        close.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        parts.extend(close.iter().map(|(c, _)| format!("{c})")));
        let mut single = std::mem::take(&mut singles[word_idx]);
        single.sort();
        parts.extend(single.iter().map(|c| format!("({c})")));
        let mut open = std::mem::take(&mut opens[word_idx]);
        // by cluster, then the outer (later-ending) mention first
        open.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        parts.extend(open.iter().map(|(c, _)| format!("({c}")));
        cells.push(if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join("|")
        });
    }
    Ok(cells)
}

/// Replaces the last whitespace-separated column of `line` with `cell`, keeping everything else.
fn replace_last_column(line: &str, cell: &str) -> String {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let start = trimmed.rfind([' ', '\t']).map_or(0, |pos| pos + 1);
    format!("{}{}{}", &line[..start], cell, &line[trimmed.len()..])
}

/// The response file for `key`: its lines with the last column of every word line replaced by the
/// brackets of `responses[doc_key]` (word spans of that part; `doc_key` = `ID_PART` as
/// [`Document::doc_key`]).
///
/// Errors when a response names a document that is not in the key, or has a span outside its part.
pub fn render_with_key(
    key: &ConllFile,
    responses: &HashMap<String, Vec<Cluster>>,
) -> Result<String> {
    let known: HashSet<String> = key.parts.iter().map(|p| p.document.doc_key()).collect();
    let mut unknown: Vec<&String> = responses.keys().filter(|k| !known.contains(*k)).collect();
    unknown.sort();
    if let Some(doc_key) = unknown.first() {
        return Err(Error::Document {
            doc_key: doc_key.to_string(),
            msg: format!(
                "has a response but is not in the key file {}",
                key.path.display()
            ),
        });
    }
    let mut replacement: Vec<Option<String>> = vec![None; key.lines.len()];
    let empty = Vec::new();
    for part in &key.parts {
        let doc_key = part.document.doc_key();
        let clusters = responses.get(&doc_key).unwrap_or(&empty);
        let cells = coref_cells(&doc_key, part.word_lines.len(), clusters)?;
        for (&line_idx, cell) in part.word_lines.iter().zip(cells) {
            if let Some(slot) = replacement.get_mut(line_idx) {
                *slot = Some(cell);
            }
        }
    }
    let mut out = String::new();
    for (line, cell) in key.lines.iter().zip(replacement) {
        match cell {
            Some(cell) => out.push_str(&replace_last_column(line, &cell)),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// Writes [`render_with_key`] to `path`, atomically.
pub fn write_with_key(
    key: &ConllFile,
    responses: &HashMap<String, Vec<Cluster>>,
    path: &Path,
) -> Result<()> {
    let text = render_with_key(key, responses)?;
    write_atomic(path, |w| {
        w.write_all(text.as_bytes()).map_err(write_error(path))
    })
}

/// A 12-column CoNLL-2012 file holding `docs` with their clusters (see the module doc).
///
/// Errors when a word is empty or contains whitespace (it would shift the columns), or a span lies
/// outside its document.
pub fn render_minimal(docs: &[Document]) -> Result<String> {
    let mut out = String::new();
    for doc in docs {
        let doc_key = doc.doc_key();
        let cells = coref_cells(&doc_key, doc.words.len(), &doc.clusters)?;
        let mut sentence_of_word = vec![None; doc.words.len()];
        for (sent_idx, range) in doc.sentences.iter().enumerate() {
            for slot in sentence_of_word
                .get_mut(range.clone())
                .into_iter()
                .flatten()
            {
                *slot = Some((sent_idx, range.start));
            }
        }
        out.push_str(&format!(
            "#begin document ({}); part {:03}\n",
            doc.id, doc.part
        ));
        for (word_idx, word) in doc.words.iter().enumerate() {
            if word.is_empty() || word.contains(char::is_whitespace) {
                return Err(Error::Document {
                    doc_key,
                    msg: format!("word {word_idx} ({word:?}) is empty or contains whitespace"),
                });
            }
            // A word outside every sentence is treated as a sentence of its own.
            let (sent_idx, sent_start) =
                sentence_of_word[word_idx].unwrap_or((usize::MAX, word_idx));
            let speaker = doc
                .speakers
                .get(word_idx)
                .and_then(Option::as_deref)
                .unwrap_or("-");
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t-\t-\t-\t-\t-\t{}\t*\t{}\n",
                doc.id,
                doc.part,
                word_idx - sent_start,
                word,
                speaker,
                cells[word_idx]
            ));
            let next_sentence = sentence_of_word
                .get(word_idx + 1)
                .map(|s| s.map(|(idx, _)| idx));
            if next_sentence != Some(Some(sent_idx)) || sent_idx == usize::MAX {
                out.push('\n');
            }
        }
        out.push_str("#end document\n");
    }
    Ok(out)
}

/// Writes [`render_minimal`] to `path`, atomically.
pub fn write_minimal(docs: &[Document], path: &Path) -> Result<()> {
    let text = render_minimal(docs)?;
    write_atomic(path, |w| {
        w.write_all(text.as_bytes()).map_err(write_error(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::Conll2012Reader;
    use crate::Span;

    fn spans(v: &[(usize, usize)]) -> Vec<Span> {
        v.iter().map(|&(s, e)| Span::new(s, e)).collect()
    }

    #[test]
    fn cells_follow_the_conventional_order() {
        let clusters = vec![
            spans(&[(0, 3), (0, 0), (1, 2)]),
            spans(&[(0, 1), (3, 3), (2, 3)]),
        ];
        let cells = coref_cells("d", 5, &clusters).unwrap();
        assert_eq!(cells, vec!["(0)|(0|(1", "1)|(0", "0)|(1", "0)|1)|(1)", "-"]);
    }

    #[test]
    fn out_of_range_span_is_an_error() {
        let err = coref_cells("doc_0", 2, &[spans(&[(1, 2)])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "document doc_0: mention [1, 2] of cluster 0 is not inside the document's 2 words"
        );
    }

    #[test]
    fn replace_last_column_keeps_other_bytes() {
        assert_eq!(replace_last_column("a\tb  (1)", "-"), "a\tb  -");
        assert_eq!(replace_last_column("a b (1)  ", "2)"), "a b 2)  ");
        assert_eq!(replace_last_column("(1)", "-"), "-");
    }

    fn reread(text: &str) -> Vec<Document> {
        Conll2012Reader::new("bc")
            .parse("w.conll", text.as_bytes())
            .unwrap()
            .into_documents()
    }

    #[test]
    fn minimal_file_reads_back_identically() {
        let doc = Document {
            id: "nw/x".into(),
            part: 2,
            words: ["He", "saw", "the", "man", "himself", "."]
                .map(String::from)
                .to_vec(),
            sentences: vec![0..4, 4..6],
            speakers: vec![Some("A".into()), None, None, None, Some("B".into()), None],
            genre: "nw".into(),
            clusters: vec![
                spans(&[(0, 0), (2, 3), (4, 4)]),
                spans(&[(3, 3), (2, 4)]),
                spans(&[(3, 3)]),
            ],
        };
        let text = render_minimal(std::slice::from_ref(&doc)).unwrap();
        assert!(text.starts_with(
            "#begin document (nw/x); part 002\nnw/x\t2\t0\tHe\t-\t-\t-\t-\t-\tA\t*\t(0)\n"
        ));
        assert!(text.contains("\n\nnw/x\t2\t0\thimself\t-\t-\t-\t-\t-\tB\t*\t1)|(0)\n"));
        let back = reread(&text);
        assert_eq!(back, vec![doc]);
    }

    #[test]
    fn key_lines_are_kept_and_cells_replaced() {
        let key = "#begin document (k); part 000\n\
                   k  0  0  I     -  (2)\n\
                   k  0  1  ran   -  -\n\
                   \n\
                   #end document\n\
                   \n\
                   #begin document (k); part 001\n\
                   k\t1\t0\tYes\t-\t(5)\n\
                   \n\
                   #end document\n";
        let file = Conll2012Reader::new("bc")
            .min_columns(6)
            .parse("k.conll", key.as_bytes())
            .unwrap();
        let mut responses = HashMap::new();
        responses.insert("k_0".to_string(), vec![spans(&[(0, 1)])]);
        let out = render_with_key(&file, &responses).unwrap();
        assert_eq!(
            out,
            "#begin document (k); part 000\n\
             k  0  0  I     -  (0\n\
             k  0  1  ran   -  0)\n\
             \n\
             #end document\n\
             \n\
             #begin document (k); part 001\n\
             k\t1\t0\tYes\t-\t-\n\
             \n\
             #end document\n"
        );
        responses.insert("other_0".to_string(), vec![]);
        let err = render_with_key(&file, &responses).unwrap_err();
        assert_eq!(
            err.to_string(),
            "document other_0: has a response but is not in the key file k.conll"
        );
    }
}
