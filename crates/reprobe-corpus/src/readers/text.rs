//! Plain text → [`Document`]s, for predicting on raw text (`reprobe predict`).
//!
//! A file is one document (id = the file stem, part 0), or, with [`TextReader::split_blocks`], one part
//! per blank-line-separated block (parts 0, 1, … of the file stem's id). Every word keeps its byte range
//! in the original text ([`TextDocument::offsets`]), so predictions can be shown on the text as written.
//!
//! # Word tokenizer (rule based, English)
//! Whitespace separates chunks; from each chunk
//! 1. leading opening quotes and brackets (`" “ ‘ ' « ( [ {` …) are split off one by one;
//! 2. trailing closing quotes and brackets, `, ; : ! ?`, and a final `.` (or `...` / `…` as one token) are
//!    split off one by one, except the final `.` of an abbreviation: a known one (`Mr.`, `Dr.`, `etc.`,
//!    `e.g.`, `Jan.`, `Inc.`, …, case-insensitive), a dotted acronym (`U.S.`, `i.e.`, `a.m.`) or a
//!    one-letter initial (`J.`);
//! 3. what remains is split at dashes (`—`, `–`, `--`, each a token), and clitics are split off as in the
//!    Penn Treebank and OntoNotes: `n't`, `'s`, `'re`, `'ve`, `'ll`, `'d`, `'m` (also with `’`), so
//!    `don't` → `do n't`, `John's` → `John 's`.
//!
//! Hyphens, periods and commas inside a chunk stay (`well-known`, `3.14`, `1,000`, `example.com`).
//!
//! # Sentence splitter
//! A sentence ends after `.`, `!`, `?`, `...` or `…` split off by rule 2 (so never after an
//! abbreviation), together with the closing quotes and brackets of the same chunk, unless the next word
//! starts with a lower-case letter (`“Stop!” she said.` is one sentence); a blank line always ends a
//! sentence. An abbreviation at the very end of a sentence
//! (`… in the U.S. Then …`) therefore does not end it: a known limit of the rule.
use std::ops::Range;
use std::path::Path;

use crate::document::{genre_of, Document};
use crate::error::{Error, Result};

/// Abbreviations (lower case, without the final period) whose period stays attached.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "cf",
    "inc", "ltd", "co", "corp", "no", "nos", "vol", "fig", "figs", "p", "pp", "ed", "eds", "gen",
    "col", "lt", "sgt", "capt", "cmdr", "adm", "gov", "sen", "rep", "rev", "hon", "pres", "supt",
    "messrs", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "approx", "dept", "est", "al", "ave", "blvd", "rd", "govt", "univ", "assn", "bros", "op", "ch",
    "sec",
];

fn is_opener(c: char) -> bool {
    matches!(
        c,
        '"' | '“' | '‘' | '\'' | '«' | '‹' | '(' | '[' | '{' | '<' | '`' | '„'
    )
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '”' | '’' | '\'' | '»' | '›' | ')' | ']' | '}' | '>'
    )
}

/// `core` ends with `.`; is it an abbreviation whose period stays?
fn is_abbreviation(core: &str) -> bool {
    let Some(stem) = core.strip_suffix('.') else {
        return false;
    };
    if stem.is_empty() {
        return false;
    }
    if ABBREVIATIONS.contains(&stem.to_lowercase().as_str()) {
        return true;
    }
    // One-letter initial: "J."
    let mut chars = stem.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return c.is_uppercase();
    }
    // Dotted acronym: "U.S", "a.m", "i.e" — single letters separated by periods.
    let pieces: Vec<&str> = stem.split('.').collect();
    pieces.len() >= 2
        && pieces
            .iter()
            .all(|p| p.chars().count() == 1 && p.chars().all(char::is_alphabetic))
}

/// Clitic suffixes split off a word (lower case; `’` is mapped to `'` before comparing).
const CLITICS: &[&str] = &["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"];

/// Splits a word without outer punctuation at dashes and clitics; pushes byte ranges (relative + `base`).
fn split_inner(word: &str, base: usize, out: &mut Vec<Range<usize>>) {
    // Dashes first.
    let mut start = 0;
    let mut idx = 0;
    let bytes = word.as_bytes();
    while idx < word.len() {
        let rest = &word[idx..];
        let dash_len = if rest.starts_with('—') || rest.starts_with('–') {
            rest.chars().next().map_or(1, char::len_utf8)
        } else if bytes.get(idx) == Some(&b'-') && bytes.get(idx + 1) == Some(&b'-') {
            2
        } else {
            0
        };
        if dash_len > 0 {
            split_clitics(&word[start..idx], base + start, out);
            out.push(base + idx..base + idx + dash_len);
            idx += dash_len;
            start = idx;
        } else {
            idx += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    split_clitics(&word[start..], base + start, out);
}

fn split_clitics(word: &str, base: usize, out: &mut Vec<Range<usize>>) {
    if word.is_empty() {
        return;
    }
    let normalized: String = word.to_lowercase().replace('’', "'");
    for clitic in CLITICS {
        if normalized.len() > clitic.len() && normalized.ends_with(clitic) {
            // Byte length of the clitic in the original word (`’` is 3 bytes, `'` is 1).
            let clitic_chars = clitic.chars().count();
            let split = word
                .char_indices()
                .rev()
                .nth(clitic_chars - 1)
                .map_or(0, |(pos, _)| pos);
            if split > 0 {
                out.push(base..base + split);
                out.push(base + split..base + word.len());
                return;
            }
        }
    }
    out.push(base..base + word.len());
}

/// One token of a chunk: its byte range and whether it ends a sentence / may follow a sentence end.
#[derive(Debug, Clone)]
struct Token {
    range: Range<usize>,
    terminal: bool,
    closer: bool,
    chunk: usize,
    /// The token starts with a lower-case letter (then it continues the sentence).
    first_lowercase: bool,
}

/// The text of `range` (absolute byte offsets) inside `chunk`, which starts at byte `base`.
fn text_of<'a>(chunk: &'a str, base: usize, range: &Range<usize>) -> &'a str {
    chunk
        .get(range.start - base..range.end - base)
        .unwrap_or("")
}

/// Tokenizes one whitespace-free chunk starting at byte `base` of the text.
fn tokenize_chunk(chunk: &str, base: usize, chunk_idx: usize, out: &mut Vec<Token>) {
    let mut s = 0;
    let mut e = chunk.len();
    let mut leading = Vec::new();
    while let Some(c) = chunk[s..e].chars().next() {
        if is_opener(c) && s + c.len_utf8() <= e {
            leading.push(s..s + c.len_utf8());
            s += c.len_utf8();
        } else {
            break;
        }
    }
    // Trailing pieces, collected from the end: (range, terminal, closer).
    let mut trailing: Vec<(Range<usize>, bool, bool)> = Vec::new();
    while s < e {
        let core = &chunk[s..e];
        if core.ends_with("...") && core.len() > 3 || core == "..." {
            trailing.push((e - 3..e, true, false));
            e -= 3;
            continue;
        }
        let Some(c) = core.chars().next_back() else {
            break;
        };
        let len = c.len_utf8();
        if core.len() == len && trailing.is_empty() && leading.is_empty() {
            // A chunk that is a single punctuation character: keep it as the word.
            break;
        }
        match c {
            '.' if is_abbreviation(core) => break,
            '.' | '!' | '?' | '…' => trailing.push((e - len..e, true, false)),
            ',' | ';' | ':' => trailing.push((e - len..e, false, false)),
            c if is_closer(c) => trailing.push((e - len..e, false, true)),
            _ => break,
        }
        e -= len;
    }
    for range in leading {
        out.push(Token {
            range: base + range.start..base + range.end,
            terminal: false,
            closer: false,
            chunk: chunk_idx,
            first_lowercase: false,
        });
    }
    if s < e {
        let mut inner = Vec::new();
        split_inner(&chunk[s..e], base + s, &mut inner);
        let single_char_terminal = e - s == chunk[s..e].chars().next().map_or(0, char::len_utf8)
            && matches!(&chunk[s..e], "." | "!" | "?" | "…");
        for range in inner {
            let first_lowercase = text_of(chunk, base, &range)
                .chars()
                .next()
                .is_some_and(char::is_lowercase);
            out.push(Token {
                range,
                terminal: single_char_terminal,
                closer: false,
                chunk: chunk_idx,
                first_lowercase,
            });
        }
    }
    for (range, terminal, closer) in trailing.into_iter().rev() {
        out.push(Token {
            range: base + range.start..base + range.end,
            terminal,
            closer,
            chunk: chunk_idx,
            first_lowercase: false,
        });
    }
}

/// A document read from plain text, with the byte range of every word in that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDocument {
    /// The words, sentences and (empty) clusters.
    pub document: Document,
    /// Byte range `[start, end)` of each word in [`TextDocument::text`].
    pub offsets: Vec<Range<usize>>,
    /// The text the offsets point into (the whole file, also when split into blocks).
    pub text: std::sync::Arc<str>,
}

impl TextDocument {
    /// Character (Unicode scalar) ranges `[start, end)` of each word in [`TextDocument::text`].
    pub fn char_offsets(&self) -> Vec<Range<usize>> {
        let mut byte_to_char = vec![0usize; self.text.len() + 1];
        let mut char_idx = 0;
        for (byte_idx, c) in self.text.char_indices() {
            for slot in byte_to_char.iter_mut().skip(byte_idx).take(c.len_utf8()) {
                *slot = char_idx;
            }
            char_idx += 1;
        }
        if let Some(last) = byte_to_char.last_mut() {
            *last = char_idx;
        }
        self.offsets
            .iter()
            .map(|r| byte_to_char[r.start]..byte_to_char[r.end])
            .collect()
    }
}

/// Reads plain text into documents; see the module documentation for the rules.
#[derive(Debug, Clone)]
pub struct TextReader {
    split_blocks: bool,
    genre_fallback: String,
}

impl Default for TextReader {
    fn default() -> Self {
        TextReader {
            split_blocks: false,
            genre_fallback: "bc".to_string(),
        }
    }
}

impl TextReader {
    /// One document per file, genre fallback `bc`.
    pub fn new() -> Self {
        Self::default()
    }

    /// One document part per blank-line-separated block instead of one per file.
    pub fn split_blocks(mut self, split: bool) -> Self {
        self.split_blocks = split;
        self
    }

    /// The genre of documents whose id does not start with an OntoNotes genre.
    pub fn genre_fallback(mut self, genre: &str) -> Self {
        self.genre_fallback = genre.to_string();
        self
    }

    /// Reads the UTF-8 text file `path`; the document id is its file stem.
    pub fn read(&self, path: &Path) -> Result<Vec<TextDocument>> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let raw = err.as_bytes();
                let line = raw[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
                let line_start = raw[..valid]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                return Err(Error::parse(
                    path,
                    line,
                    format!(
                        "invalid UTF-8 at byte {} of the line (the file must be UTF-8)",
                        valid - line_start + 1
                    ),
                ));
            }
        };
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "text".to_string());
        let docs = self.parse(&id, &text);
        if docs.is_empty() {
            return Err(Error::parse(path, 1, "no words in the file"));
        }
        Ok(docs)
    }

    /// Splits `text` into documents with id `id` (no error: a text without words gives no documents).
    pub fn parse(&self, id: &str, text: &str) -> Vec<TextDocument> {
        let shared: std::sync::Arc<str> = std::sync::Arc::from(text);
        // Paragraphs: byte ranges separated by blank lines.
        let mut paragraphs: Vec<Range<usize>> = Vec::new();
        let mut para_start = 0;
        let mut line_start = 0;
        let mut blank_run = false;
        for (pos, _) in text
            .match_indices('\n')
            .chain(std::iter::once((text.len(), "")))
        {
            let line = &text[line_start..pos];
            if line.trim().is_empty() {
                if !blank_run && line_start > para_start {
                    paragraphs.push(para_start..line_start);
                }
                blank_run = true;
                para_start = pos + 1;
            } else {
                blank_run = false;
            }
            line_start = pos + 1;
        }
        if para_start < text.len() {
            paragraphs.push(para_start..text.len());
        }

        let mut blocks: Vec<Vec<Vec<Token>>> = Vec::new(); // block → sentences → tokens
        let mut chunk_idx = 0;
        for para in paragraphs {
            let mut tokens = Vec::new();
            let para_text = &text[para.clone()];
            let mut pos = 0;
            for chunk in para_text.split(char::is_whitespace) {
                let start = pos;
                pos += chunk.len();
                // the separator (one whitespace char)
                if let Some(c) = para_text[pos..].chars().next() {
                    pos += c.len_utf8();
                }
                if chunk.is_empty() {
                    continue;
                }
                tokenize_chunk(chunk, para.start + start, chunk_idx, &mut tokens);
                chunk_idx += 1;
            }
            if tokens.is_empty() {
                continue;
            }
            let sentences = split_sentences(tokens);
            if self.split_blocks || blocks.is_empty() {
                blocks.push(sentences);
            } else if let Some(block) = blocks.last_mut() {
                block.extend(sentences);
            }
        }

        blocks
            .into_iter()
            .enumerate()
            .map(|(block_idx, sentences)| {
                let mut words = Vec::new();
                let mut offsets = Vec::new();
                let mut ranges = Vec::new();
                for sentence in sentences {
                    let start = words.len();
                    for token in sentence {
                        words.push(text[token.range.clone()].to_string());
                        offsets.push(token.range);
                    }
                    ranges.push(start..words.len());
                }
                let n = words.len();
                TextDocument {
                    document: Document {
                        id: id.to_string(),
                        part: u32::try_from(block_idx).unwrap_or(u32::MAX),
                        words,
                        sentences: ranges,
                        speakers: vec![None; n],
                        genre: genre_of(id, &self.genre_fallback),
                        clusters: Vec::new(),
                    },
                    offsets,
                    text: shared.clone(),
                }
            })
            .collect()
    }
}

/// Groups a paragraph's tokens into sentences (see the module documentation).
fn split_sentences(tokens: Vec<Token>) -> Vec<Vec<Token>> {
    let mut sentences = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut ending: Option<usize> = None; // chunk of the terminal punctuation seen
    for token in tokens {
        if let Some(end_chunk) = ending {
            let continues = token.terminal
                || (token.closer && token.chunk == end_chunk)
                || token.first_lowercase;
            if !continues {
                sentences.push(std::mem::take(&mut current));
                ending = None;
            }
        }
        if token.terminal {
            ending = Some(token.chunk);
        }
        current.push(token);
    }
    if !current.is_empty() {
        sentences.push(current);
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> Vec<Vec<String>> {
        let docs = TextReader::new().parse("t", text);
        assert_eq!(docs.len(), 1);
        let d = &docs[0].document;
        d.sentences
            .iter()
            .map(|r| d.words[r.clone()].to_vec())
            .collect()
    }

    fn v(s: &[&[&str]]) -> Vec<Vec<String>> {
        s.iter()
            .map(|x| x.iter().map(|w| w.to_string()).collect())
            .collect()
    }

    #[test]
    fn punctuation_abbreviations_and_sentences() {
        assert_eq!(
            words_of("Mr. Smith went to Washington. He didn't stay long!"),
            v(&[
                &["Mr.", "Smith", "went", "to", "Washington", "."],
                &["He", "did", "n't", "stay", "long", "!"],
            ])
        );
        assert_eq!(
            words_of("The U.S. Army (and e.g. NATO) met at 3 p.m. on Jan. 5, 2020."),
            v(&[&[
                "The", "U.S.", "Army", "(", "and", "e.g.", "NATO", ")", "met", "at", "3", "p.m.",
                "on", "Jan.", "5", ",", "2020", "."
            ]])
        );
    }

    #[test]
    fn quotes_brackets_clitics_and_dashes() {
        assert_eq!(
            words_of("“Stop!” she said. 'I can't.' John's dog—a well-known one--barked..."),
            v(&[
                &["“", "Stop", "!", "”", "she", "said", "."],
                &["'", "I", "ca", "n't", ".", "'"],
                &[
                    "John",
                    "'s",
                    "dog",
                    "—",
                    "a",
                    "well-known",
                    "one",
                    "--",
                    "barked",
                    "..."
                ],
            ])
        );
        assert_eq!(
            words_of("He’s [sic] 3.14 (1,000)?"),
            v(&[&["He", "’s", "[", "sic", "]", "3.14", "(", "1,000", ")", "?"]])
        );
    }

    #[test]
    fn offsets_point_into_the_text() {
        let text = "  Café “au lait”.\n\nJ. Doe won’t go.";
        let docs = TextReader::new().parse("demo", text);
        let d = &docs[0];
        let shown: Vec<&str> = d.offsets.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(shown, d.document.words);
        assert_eq!(
            d.document.words,
            ["Café", "“", "au", "lait", "”", ".", "J.", "Doe", "wo", "n’t", "go", "."]
        );
        // The blank line ends the first sentence; the genre falls back (no OntoNotes prefix).
        assert_eq!(d.document.sentences, vec![0..6, 6..12]);
        assert_eq!(d.document.genre, "bc");
        let chars = d.char_offsets();
        assert_eq!(chars[0], 2..6);
        assert_eq!(chars[1], 7..8);
        assert_eq!(
            &text.chars().collect::<Vec<_>>()[chars[9].clone()]
                .iter()
                .collect::<String>(),
            "n’t"
        );
    }

    #[test]
    fn blocks_become_parts() {
        let text = "First doc. Two sentences.\n\n\n  \nSecond doc\n";
        let docs = TextReader::new().split_blocks(true).parse("nw/x", text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].document.doc_key(), "nw/x_0");
        assert_eq!(docs[0].document.sentences, vec![0..3, 3..6]);
        assert_eq!(docs[1].document.doc_key(), "nw/x_1");
        assert_eq!(docs[1].document.words, ["Second", "doc"]);
        assert_eq!(docs[1].document.genre, "nw");
        assert!(TextReader::new().parse("x", " \n\n ").is_empty());
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"ok line\nbad \xff byte\n").unwrap();
        let err = TextReader::new().read(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}:2: invalid UTF-8 at byte 5 of the line (the file must be UTF-8)",
                path.display()
            )
        );
        std::fs::write(&path, "\n \n").unwrap();
        let err = TextReader::new().read(&path).unwrap_err().to_string();
        assert_eq!(err, format!("{}:1: no words in the file", path.display()));
        std::fs::write(&path, "Hello there.").unwrap();
        let docs = TextReader::new().read(&path).unwrap();
        assert_eq!(docs[0].document.doc_key(), "notes_0");
    }
}
