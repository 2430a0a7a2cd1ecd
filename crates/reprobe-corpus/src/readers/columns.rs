//! CoNLL-style column files with IOB2 tags (the NER source task), and the NER column of CoNLL-2012 files.
//!
//! # Column files ([`read_columns`], [`write_columns`])
//! The layout of WNUT-17 and CoNLL-2003: one word per line, columns separated by tabs or spaces, the word
//! in the **first** column and its tag in the **last** (columns between, such as POS or chunk tags, are
//! ignored); a blank line (or one of only tabs and spaces) ends a sentence; `-DOCSTART-` lines are
//! skipped; a sentence without words is not emitted. A UTF-8 byte-order mark at the start, `\r\n` line
//! ends and a missing final blank line are accepted.
//!
//! Tags must be IOB2 in form: `O`, `B-X` or `I-X` with a non-empty type `X`. The order of tags is not
//! checked: an `I-X` after `O` or after another type is kept as written (the WNUT-17 files have none;
//! seqeval-style scorers read it as the start of an entity).
//!
//! # CoNLL-2012 NER ([`read_conll2012_ner`])
//! In a `*_gold_conll` file the word is column 4 (index 3) and the named entities are column 11 (index
//! 10), as brackets over the words of a sentence: `(PERSON*` opens an entity, `*` continues (or is
//! outside one), `*)` closes it, `(PERSON)` is a one-word entity. They are turned into IOB2 tags
//! (`B-PERSON`, `I-PERSON`, `O`). `-` and `_` are read as `*`. OntoNotes entities do not nest; an entity
//! opened inside another is an error. This is a small parser of its own, independent of
//! [`crate::readers::conll2012`] (whose [`crate::Document`] carries no NER).
//!
//! # Label set ([`label_set`])
//! `O` first, then `B-X`, `I-X` for each entity type `X` in sorted order: the label ids of the
//! reference's token-classification taskmodule (SPEC §5).
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use crate::atomic::{write_atomic, write_error};
use crate::error::{Error, Result};

/// A sentence with one tag per word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedSentence {
    /// The words, as written in the file.
    pub words: Vec<String>,
    /// One IOB2 tag per word (`O`, `B-X`, `I-X`).
    pub tags: Vec<String>,
    /// The 1-based line of the file where its first word is.
    pub line: usize,
}

/// The 0-based column of the named entities in the CoNLL-2012 gold layout (column 11).
pub const CONLL2012_NER_COLUMN: usize = 10;

/// The 0-based column of the word in the CoNLL-2012 gold layout (column 4).
const CONLL2012_WORD_COLUMN: usize = 3;

/// Reads a file as UTF-8; invalid UTF-8 is an [`Error::Parse`] naming the line. A byte-order mark is
/// kept ([`numbered_lines`] skips it).
pub(crate) fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        Error::parse(
            path,
            line,
            format!(
                "not valid UTF-8 (byte {}); convert the file to UTF-8",
                valid.len()
            ),
        )
    })?;
    Ok(text)
}

/// The lines of `text` with their 1-based numbers, without `\n` and one `\r` before it; a byte-order
/// mark at the start is skipped.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(idx, line)| (idx + 1, line))
}

/// The columns of a line, separated by runs of ASCII tabs and spaces.
fn columns(line: &str) -> Vec<&str> {
    line.split([' ', '\t']).filter(|c| !c.is_empty()).collect()
}

/// The entity type of a `B-X` or `I-X` tag; `None` for `O` and anything else.
pub fn entity_type(tag: &str) -> Option<&str> {
    tag.strip_prefix("B-")
        .or_else(|| tag.strip_prefix("I-"))
        .filter(|kind| !kind.is_empty())
}

/// Checks that `tag` is `O`, `B-X` or `I-X` with a non-empty `X`.
fn check_iob2(tag: &str) -> std::result::Result<(), String> {
    if tag == "O" || entity_type(tag).is_some() {
        Ok(())
    } else {
        Err(format!(
            "tag {tag:?} is not IOB2: expected `O`, `B-TYPE` or `I-TYPE` \
             (convert IOB1 or BIOES files to IOB2 first)"
        ))
    }
}

/// Collects words and tags into sentences.
#[derive(Debug, Default)]
struct SentenceBuilder {
    sentences: Vec<TaggedSentence>,
    words: Vec<String>,
    tags: Vec<String>,
    first_line: usize,
}

impl SentenceBuilder {
    fn push(&mut self, line: usize, word: &str, tag: String) {
        if self.words.is_empty() {
            self.first_line = line;
        }
        self.words.push(word.to_string());
        self.tags.push(tag);
    }

    /// Ends the current sentence, if it has words.
    fn end_sentence(&mut self) {
        if !self.words.is_empty() {
            self.sentences.push(TaggedSentence {
                words: std::mem::take(&mut self.words),
                tags: std::mem::take(&mut self.tags),
                line: self.first_line,
            });
        }
    }

    fn finish(mut self) -> Vec<TaggedSentence> {
        self.end_sentence();
        self.sentences
    }
}

/// Reads a column file (module doc): the word in the first column, its IOB2 tag in the last.
pub fn read_columns(path: &Path) -> Result<Vec<TaggedSentence>> {
    parse_columns(&read_utf8(path)?, path)
}

/// Parses the text of a column file (module doc); `origin` is used in error messages only.
pub fn parse_columns(text: &str, origin: &Path) -> Result<Vec<TaggedSentence>> {
    let mut builder = SentenceBuilder::default();
    for (line_no, line) in numbered_lines(text) {
        let cols = columns(line);
        match cols.as_slice() {
            [] => builder.end_sentence(),
            ["-DOCSTART-", ..] => builder.end_sentence(),
            [word] => {
                return Err(Error::parse(
                    origin,
                    line_no,
                    format!(
                        "only one column ({word:?}): expected the word in the first column and its IOB2 tag \
                         in the last, separated by a tab or spaces"
                    ),
                ))
            }
            [word, .., tag] => {
                check_iob2(tag).map_err(|msg| Error::parse(origin, line_no, msg))?;
                builder.push(line_no, word, tag.to_string());
            }
        }
    }
    Ok(builder.finish())
}

/// Why `text` cannot be a word or tag of a column file, if it cannot.
fn unwritable(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        Some("is empty")
    } else if text.contains([' ', '\t', '\n', '\r']) {
        Some("contains a space, tab or line break, which separate columns and lines")
    } else if text == "-DOCSTART-" {
        Some("is `-DOCSTART-`, which readers skip")
    } else {
        None
    }
}

/// Checks that one sentence can be written and read back unchanged.
fn check_writable(idx: usize, words: &[String], tags: &[String]) -> Result<()> {
    let invalid = |msg: String| Error::Argument {
        name: "sentences",
        msg: format!("sentence {idx}: {msg}"),
    };
    if words.len() != tags.len() {
        return Err(invalid(format!(
            "{} words but {} tags",
            words.len(),
            tags.len()
        )));
    }
    for (word, tag) in words.iter().zip(tags) {
        if let Some(why) = unwritable(word) {
            return Err(invalid(format!("word {word:?} {why}")));
        }
        if let Some(why) = unwritable(tag) {
            return Err(invalid(format!("tag {tag:?} of word {word:?} {why}")));
        }
        check_iob2(tag).map_err(invalid)?;
    }
    Ok(())
}

/// Writes sentences as a column file, atomically: `word<TAB>tag` per line, a blank line after each
/// sentence; sentences without words are left out. What is written reads back unchanged with
/// [`read_columns`], so a word or tag that is empty, holds whitespace or is `-DOCSTART-`, a tag that is
/// not IOB2, or a sentence whose numbers of words and tags differ, is an [`Error::Argument`] and nothing
/// is written.
pub fn write_columns<'a, I>(path: &Path, sentences: I) -> Result<()>
where
    I: IntoIterator<Item = (&'a [String], &'a [String])>,
{
    let sentences: Vec<_> = sentences.into_iter().collect();
    for (idx, (words, tags)) in sentences.iter().enumerate() {
        check_writable(idx, words, tags)?;
    }
    write_atomic(path, |out| {
        for (words, tags) in sentences.iter().filter(|(words, _)| !words.is_empty()) {
            for (word, tag) in words.iter().zip(tags.iter()) {
                writeln!(out, "{word}\t{tag}").map_err(write_error(path))?;
            }
            writeln!(out).map_err(write_error(path))?;
        }
        Ok(())
    })
}

/// An entity opened by `(TYPE*` and not yet closed.
#[derive(Debug)]
struct OpenEntity {
    kind: String,
    line: usize,
}

/// The IOB2 tag of one CoNLL-2012 NER cell, given the entity open before it (updated).
fn ner_tag(
    cell: &str,
    open: &mut Option<OpenEntity>,
    line: usize,
) -> std::result::Result<String, String> {
    let inside = |open: &Option<OpenEntity>| match open {
        Some(entity) => format!("I-{}", entity.kind),
        None => "O".to_string(),
    };
    if matches!(cell, "*" | "-" | "_") {
        return Ok(inside(open));
    }
    if cell == "*)" {
        return match open.take() {
            Some(entity) => Ok(format!("I-{}", entity.kind)),
            None => {
                Err("NER cell `*)` closes no entity: no `(TYPE*` is open in this sentence".into())
            }
        };
    }
    let malformed = || {
        format!(
            "NER cell {cell:?} is not one of `*`, `(TYPE*`, `*)`, `(TYPE)` \
             (column 11 of the gold layout)"
        )
    };
    let body = cell.strip_prefix('(').ok_or_else(malformed)?;
    let (kind, single_word) = match body.strip_suffix(')') {
        Some(kind) => (kind.strip_suffix('*').unwrap_or(kind), true),
        None => (body.strip_suffix('*').ok_or_else(malformed)?, false),
    };
    if kind.is_empty() || kind.contains(['(', ')', '*']) {
        return Err(malformed());
    }
    if let Some(entity) = open {
        return Err(format!(
            "entity ({kind} starts inside ({}* opened at line {}; nested entities are not supported",
            entity.kind, entity.line
        ));
    }
    if !single_word {
        *open = Some(OpenEntity {
            kind: kind.to_string(),
            line,
        });
    }
    Ok(format!("B-{kind}"))
}

/// Reads the NER column of a CoNLL-2012 file as IOB2-tagged sentences (module doc), in file order,
/// over all its documents.
pub fn read_conll2012_ner(path: &Path) -> Result<Vec<TaggedSentence>> {
    parse_conll2012_ner(&read_utf8(path)?, path)
}

/// Parses the text of a CoNLL-2012 file into IOB2-tagged sentences (see [`read_conll2012_ner`]);
/// `origin` is used in error messages only.
pub fn parse_conll2012_ner(text: &str, origin: &Path) -> Result<Vec<TaggedSentence>> {
    let mut builder = SentenceBuilder::default();
    let mut open: Option<OpenEntity> = None;
    let mut last_line = 0;
    for (line_no, line) in numbered_lines(text) {
        last_line = line_no;
        let cols = columns(line);
        let is_marker = line.starts_with("#begin document") || line.starts_with("#end document");
        if cols.is_empty() || is_marker {
            end_ner_sentence(&mut builder, &mut open, origin, line_no)?;
            continue;
        }
        if cols.len() <= CONLL2012_NER_COLUMN {
            return Err(Error::parse(
                origin,
                line_no,
                format!(
                    "{} columns; the NER column is column {} (the CoNLL-2012 gold layout has 12 or more)",
                    cols.len(),
                    CONLL2012_NER_COLUMN + 1
                ),
            ));
        }
        let tag = ner_tag(cols[CONLL2012_NER_COLUMN], &mut open, line_no)
            .map_err(|msg| Error::parse(origin, line_no, msg))?;
        builder.push(line_no, cols[CONLL2012_WORD_COLUMN], tag);
    }
    end_ner_sentence(&mut builder, &mut open, origin, last_line)?;
    Ok(builder.finish())
}

/// Ends a sentence of a CoNLL-2012 file at `line`; an entity still open is an error.
fn end_ner_sentence(
    builder: &mut SentenceBuilder,
    open: &mut Option<OpenEntity>,
    origin: &Path,
    line: usize,
) -> Result<()> {
    if let Some(entity) = open.take() {
        return Err(Error::parse(
            origin,
            line,
            format!(
                "the sentence ends while entity ({}* opened at line {} is not closed; end it with `*)` \
                 on its last word",
                entity.kind, entity.line
            ),
        ));
    }
    builder.end_sentence();
    Ok(())
}

/// The label set of tagged sentences: `O`, then `B-X`, `I-X` for each entity type `X` in sorted order
/// (SPEC §5). The index of a label in the list is its id.
pub fn label_set<'a>(sentences: impl IntoIterator<Item = &'a TaggedSentence>) -> Vec<String> {
    let kinds: BTreeSet<&str> = sentences
        .into_iter()
        .flat_map(|s| s.tags.iter())
        .filter_map(|tag| entity_type(tag))
        .collect();
    let mut labels = vec!["O".to_string()];
    for kind in kinds {
        labels.push(format!("B-{kind}"));
        labels.push(format!("I-{kind}"));
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> &'static Path {
        Path::new("test.conll")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_read_first_and_last_column_skip_docstart_and_blank_runs() {
        let text = "\u{feff}-DOCSTART- -X- O O\r\n\r\nEU NNP B-NP B-ORG\r\nrejects\tVBZ\tO\r\n\r\n\r\n  \r\n\
                    Peter B-PER\nBlackburn I-PER";
        let sentences = parse_columns(text, origin()).unwrap();
        assert_eq!(
            sentences,
            vec![
                TaggedSentence {
                    words: strings(&["EU", "rejects"]),
                    tags: strings(&["B-ORG", "O"]),
                    line: 3
                },
                TaggedSentence {
                    words: strings(&["Peter", "Blackburn"]),
                    tags: strings(&["B-PER", "I-PER"]),
                    line: 8
                },
            ]
        );
        assert_eq!(parse_columns("", origin()).unwrap(), vec![]);
    }

    #[test]
    fn columns_errors_name_file_line_and_problem() {
        let err = parse_columns("a\tO\nb\n", origin())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "test.conll:2: only one column (\"b\"): expected the word in the first column and its IOB2 tag \
             in the last, separated by a tab or spaces"
        );
        for bad in ["B-", "E-PER", "S-LOC", "PER", "I_PER", "o"] {
            let err = parse_columns(&format!("a\tO\n\nx\t{bad}\n"), origin())
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("test.conll:3: tag {bad:?} is not IOB2")),
                "{err}"
            );
        }
    }

    #[test]
    fn write_then_read_round_trips_and_bad_input_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.conll");
        let sentences = [
            (
                strings(&["New", "York", "!"]),
                strings(&["B-location", "I-location", "O"]),
            ),
            (vec![], vec![]),
            (strings(&["ok"]), strings(&["O"])),
        ];
        write_columns(&path, sentences.iter().map(|(w, t)| (&w[..], &t[..]))).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "New\tB-location\nYork\tI-location\n!\tO\n\nok\tO\n\n");
        let back = read_columns(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].words.clone(), back[0].tags.clone()), sentences[0]);
        assert_eq!(back[1].line, 5);

        let bad = dir.path().join("bad.conll");
        let words = strings(&["New York"]);
        let tags = strings(&["B-location"]);
        let err = write_columns(&bad, [(&words[..], &tags[..])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid sentences: sentence 0: word \"New York\" contains a space, tab or line break, which \
             separate columns and lines"
        );
        let short = strings(&[]);
        let err = write_columns(&bad, [(&tags[..], &short[..])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid sentences: sentence 0: 1 words but 0 tags"
        );
        assert!(!bad.exists());
    }

    /// A CoNLL-2012 line with word `word` and NER cell `ner`.
    fn gold_line(word: &str, ner: &str) -> String {
        format!("doc 0 0 {word} NNP - - - - - {ner} -\n")
    }

    #[test]
    fn conll2012_ner_brackets_become_iob2() {
        let mut text = String::from("#begin document (nw/x); part 000\n");
        for (word, ner) in [
            ("John", "(PERSON)"),
            ("saw", "*"),
            ("New", "(GPE*"),
            ("York", "*"),
            ("City", "*)"),
        ] {
            text.push_str(&gold_line(word, ner));
        }
        text.push('\n');
        text.push_str(&gold_line("It", "-"));
        text.push_str(&gold_line("rained", "(DATE*)"));
        text.push_str("\n#end document\n");
        let sentences = parse_conll2012_ner(&text, origin()).unwrap();
        assert_eq!(sentences.len(), 2);
        assert_eq!(
            sentences[0].words,
            strings(&["John", "saw", "New", "York", "City"])
        );
        assert_eq!(
            sentences[0].tags,
            strings(&["B-PERSON", "O", "B-GPE", "I-GPE", "I-GPE"])
        );
        assert_eq!((sentences[0].line, sentences[1].line), (2, 8));
        assert_eq!(sentences[1].tags, strings(&["O", "B-DATE"]));
        assert_eq!(
            label_set(&sentences),
            strings(&["O", "B-DATE", "I-DATE", "B-GPE", "I-GPE", "B-PERSON", "I-PERSON"])
        );
    }

    #[test]
    fn conll2012_ner_errors_name_file_line_and_problem() {
        let unclosed = format!("{}{}\n", gold_line("New", "(GPE*"), gold_line("York", "*"));
        assert_eq!(
            parse_conll2012_ner(&unclosed, origin()).unwrap_err().to_string(),
            "test.conll:3: the sentence ends while entity (GPE* opened at line 1 is not closed; end it with \
             `*)` on its last word"
        );
        let unclosed_at_eof = gold_line("New", "(GPE*");
        assert!(parse_conll2012_ner(&unclosed_at_eof, origin())
            .unwrap_err()
            .to_string()
            .contains("entity (GPE* opened at line 1 is not closed"));
        let stray = format!("{}{}", gold_line("a", "*"), gold_line("b", "*)"));
        assert_eq!(
            parse_conll2012_ner(&stray, origin())
                .unwrap_err()
                .to_string(),
            "test.conll:2: NER cell `*)` closes no entity: no `(TYPE*` is open in this sentence"
        );
        let nested = format!("{}{}", gold_line("a", "(ORG*"), gold_line("b", "(GPE)"));
        assert_eq!(
            parse_conll2012_ner(&nested, origin())
                .unwrap_err()
                .to_string(),
            "test.conll:2: entity (GPE starts inside (ORG* opened at line 1; \
             nested entities are not supported"
        );
        let malformed = gold_line("a", "(*");
        assert!(parse_conll2012_ner(&malformed, origin())
            .unwrap_err()
            .to_string()
            .starts_with("test.conll:1: NER cell \"(*\" is not one of"));
        let short = "doc 0 0 word NNP -\n";
        assert_eq!(
            parse_conll2012_ner(short, origin()).unwrap_err().to_string(),
            "test.conll:1: 6 columns; the NER column is column 11 (the CoNLL-2012 gold layout has 12 or more)"
        );
    }

    #[test]
    fn label_set_puts_o_first_then_sorted_types() {
        let sentence = TaggedSentence {
            words: strings(&["a", "b", "c"]),
            tags: strings(&["I-person", "B-corporation", "O"]),
            line: 1,
        };
        assert_eq!(
            label_set([&sentence]),
            strings(&[
                "O",
                "B-corporation",
                "I-corporation",
                "B-person",
                "I-person"
            ])
        );
        assert_eq!(label_set([]), strings(&["O"]));
    }
}
