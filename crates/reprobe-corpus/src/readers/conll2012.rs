//! CoNLL-2012 `*_gold_conll` / `*.conll` reader, with the bracket semantics of the official scorer v8.01.
//!
//! Layout (SPEC §6.2): `#begin document (ID); part NNN` … `#end document`; one word per line, columns
//! separated by tabs or runs of spaces; sentences separated by blank lines; the word in column 4
//! (index 3), the speaker in column 10 (index 9, `-` = none), the coreference brackets in the **last**
//! column. A file may hold several parts, and several parts of one document id, but not the same id and
//! part twice (an error naming both lines: the scorer would silently score only one of them).
//!
//! `#begin document (ID);` (or `(ID)`) without `part N`, as the reference scorer's own test files and
//! other tools write it, is read as part 0. The scorer matches documents by the whole text after
//! `#begin document`, so key and response written alike match there and here; unlike the scorer,
//! `(ID);`, `(ID); ` (trailing white space) and `(ID); part 000` are one document here.
//!
//! # Brackets
//! A coreference cell is `-` (or `_`), or parts `(N)`, `(N` and `N)`, usually joined by `|`. The cell is
//! read as `GetCoreference` in `lib/CorScorer.pm` of the reference scorer v8.01 reads it, because that
//! scorer is the oracle of the metrics: by pattern matching on the whole cell, so that parts need no `|`
//! between them (`(1(2`, `1)2)`, `(3)(4`): first every double antecedent `(N+D)` is removed (discarded,
//! as the scorer discards them), then every `(N)`, then every `(N`, then every `N)`, each time the
//! leftmost match of the rest of the cell; `N)` closes the most recent unclosed `(N` of the same `N`.
//! What is left must be `|` separators only: anything else is refused as a malformed cell, where the
//! scorer would silently ignore it.
//!
//! Entity ids are numbers: `07` and `7` are the same entity, as in the reference preprocessing (which
//! keys clusters by integer) and everywhere in reprobe. The scorer v8.01 keys them as strings and would
//! see two entities; no corpus we know writes zero-padded ids.
//!
//! [`Document::clusters`] is in the scorer's entity order: the order in which each id is first seen while
//! reading the cells in that order. Mentions inside a cluster are in the order they are completed (a
//! `(N)` when read, a multi-word mention when closed). The metrics rely on both orders for the scorer's
//! rule on repeated mentions.
//!
//! # Deviations from the reference readers (stated here once)
//! - Columns are split on ASCII tabs and spaces only. `preprocess.py` splits on any Unicode whitespace
//!   (`str.split()`), the scorer on tabs only; none of the shared corpora has other whitespace inside a
//!   line, and a word holding a no-break space stays one word here.
//! - Lines end at `\n`; one trailing `\r` is dropped; a UTF-8 byte-order mark at the start is skipped.
//! - The word is kept as written: the reference's `/.` → `.` and `/?` → `?` happens in
//!   [`crate::prepare`] (SPEC §6.2), so that writing a document back gives the same words.
//! - A sentence is closed by a blank line, by `#end document` or by the end of the part, so the last
//!   sentence of a part always ends there. `preprocess.py` leaves the last word of a part that lacks the
//!   final blank line without a sentence end (none of the shared files lacks it).
//! - Malformed input is an error naming file, line and problem, where the Python and Perl readers crash,
//!   loop or silently skip. Control characters (NUL included; a tab is a separator) inside a line are
//!   refused: they would reach the tokenizer (which drops them) or the scorer unseen.
//! - An empty file (nothing but blank lines) is an error, unless [`Conll2012Reader::allow_empty`] is
//!   set: `reprobe score` reads an empty response as one that predicts nothing, as the scorer does.
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::document::{genre_of, Document, Span};
use crate::error::{Error, Result};

/// The number of columns of the OntoNotes gold layout: what [`crate::prepare`] needs (speaker = column
/// index 9) and what the reader requires by default.
pub const GOLD_COLUMNS: usize = 12;

/// Reads CoNLL-2012 files into [`Document`]s.
///
/// ```
/// use reprobe_corpus::readers::Conll2012Reader;
/// let text = "#begin document (nw/demo); part 000\n\
///             d 0 0 John - - - - - - * (0)\n\
///             d 0 1 left - - - - - - * -\n\
///             \n\
///             #end document\n";
/// let file = Conll2012Reader::new("bc").parse("demo.conll", text.as_bytes()).unwrap();
/// let doc = &file.parts[0].document;
/// assert_eq!(doc.doc_key(), "nw/demo_0");
/// assert_eq!(doc.genre, "nw");
/// assert_eq!(doc.clusters, vec![vec![reprobe_corpus::Span::new(0, 0)]]);
/// ```
#[derive(Debug, Clone)]
pub struct Conll2012Reader {
    genre_fallback: String,
    min_columns: usize,
    allow_empty: bool,
}

/// A CoNLL-2012 file as read: every line verbatim (for [`crate::writers::conll2012`]) and the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConllFile {
    /// The file the lines came from (used in error messages).
    pub path: PathBuf,
    /// Every line of the file without its line terminator (`\n`, and one `\r` before it).
    pub lines: Vec<String>,
    /// The `#begin document` … `#end document` blocks, in file order.
    pub parts: Vec<ConllPart>,
}

/// One `#begin document` … `#end document` block of a [`ConllFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConllPart {
    /// The parsed part.
    pub document: Document,
    /// Index into [`ConllFile::lines`] (0-based) of the `#begin document` line.
    pub begin_line: usize,
    /// Index into [`ConllFile::lines`] (0-based) of the `#end document` line.
    pub end_line: usize,
    /// For each word of `document`, the index into [`ConllFile::lines`] (0-based) of its line.
    pub word_lines: Vec<usize>,
    /// For each cluster of `document`, its entity number as written in the file without leading zeros
    /// (`"7"` for `(07)`; `"0"` for `(00)`).
    pub entity_ids: Vec<String>,
}

impl ConllFile {
    /// The parts' documents, cloned, in file order.
    pub fn documents(&self) -> Vec<Document> {
        self.parts.iter().map(|p| p.document.clone()).collect()
    }

    /// The parts' documents, moved out, in file order.
    pub fn into_documents(self) -> Vec<Document> {
        self.parts.into_iter().map(|p| p.document).collect()
    }
}

/// Reads every part of the CoNLL-2012 file `path`, requiring the 12 columns of the gold layout.
///
/// `genre_fallback` is the genre of documents whose id does not start with an OntoNotes genre (see
/// [`genre_of`]; the CLI's default is `bc`).
pub fn read_conll2012(path: &Path, genre_fallback: &str) -> Result<Vec<Document>> {
    Ok(Conll2012Reader::new(genre_fallback)
        .read(path)?
        .into_documents())
}

impl Conll2012Reader {
    /// A reader with the given genre fallback that requires [`GOLD_COLUMNS`] columns per word line.
    pub fn new(genre_fallback: &str) -> Self {
        Conll2012Reader {
            genre_fallback: genre_fallback.to_string(),
            min_columns: GOLD_COLUMNS,
            allow_empty: false,
        }
    }

    /// Whether a file that is empty or holds only blank lines (white space) is read as a file without
    /// documents instead of an error (default: an error). A file with other lines but no
    /// `#begin document` stays an error.
    pub fn allow_empty(mut self, allow_empty: bool) -> Self {
        self.allow_empty = allow_empty;
        self
    }

    /// Sets the number of columns a word line must have (at least 1).
    ///
    /// The scorer needs only the last column; [`crate::prepare`] needs [`GOLD_COLUMNS`]. With fewer than
    /// 4 columns words are read as empty strings, with fewer than 10 speakers as `None`.
    pub fn min_columns(mut self, min_columns: usize) -> Self {
        self.min_columns = min_columns.max(1);
        self
    }

    /// Reads and parses the file at `path`.
    pub fn read(&self, path: &Path) -> Result<ConllFile> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.parse(path, &bytes)
    }

    /// Parses the content of a file; `path` is used in error messages only.
    pub fn parse(&self, path: impl AsRef<Path>, bytes: &[u8]) -> Result<ConllFile> {
        let path = path.as_ref();
        let lines = split_lines(path, bytes)?;
        let mut parts: Vec<ConllPart> = Vec::new();
        let mut current: Option<PartBuilder> = None;
        // (id, part) → 0-based index of its `#begin document` line.
        let mut seen: HashMap<(String, u32), usize> = HashMap::new();
        for (line_idx, line) in lines.iter().enumerate() {
            let line_no = line_idx + 1;
            if line.starts_with("#begin document") {
                if let Some(open) = &current {
                    return Err(Error::parse(
                        path,
                        line_no,
                        format!(
                            "`#begin document` inside the document begun at line {} (missing `#end document`)",
                            open.begin_line + 1
                        ),
                    ));
                }
                let (id, part) = parse_begin(path, line_no, line)?;
                if let Some(&first) = seen.get(&(id.clone(), part)) {
                    return Err(Error::parse(
                        path,
                        line_no,
                        format!(
                            "document ({id}) part {part} again: it was begun at line {} already (two \
                             documents with the same id and part in one file would be scored or \
                             trained as one)",
                            first + 1
                        ),
                    ));
                }
                seen.insert((id.clone(), part), line_idx);
                current = Some(PartBuilder::new(id, part, line_idx));
            } else if line.starts_with("#end document") {
                match current.take() {
                    Some(builder) => {
                        parts.push(builder.finish(path, line_idx, &self.genre_fallback)?)
                    }
                    None => {
                        return Err(Error::parse(
                            path,
                            line_no,
                            "`#end document` without a `#begin document` before it",
                        ))
                    }
                }
            } else if line.trim_matches([' ', '\t']).is_empty() {
                if let Some(builder) = &mut current {
                    builder.end_sentence();
                }
            } else {
                match &mut current {
                    Some(builder) => builder.push_word(path, line_idx, line, self.min_columns)?,
                    None => {
                        return Err(Error::parse(
                            path,
                            line_no,
                            "line outside a document (expected `#begin document (ID); part N`)",
                        ))
                    }
                }
            }
        }
        if let Some(open) = current {
            return Err(Error::parse(
                path,
                open.begin_line + 1,
                format!(
                    "`{}` has no `#end document` before the end of the file",
                    lines[open.begin_line].trim_end()
                ),
            ));
        }
        if parts.is_empty() {
            let blank = lines.iter().all(|l| l.trim().is_empty());
            if blank && self.allow_empty {
                return Ok(ConllFile {
                    path: path.to_path_buf(),
                    lines,
                    parts,
                });
            }
            let msg = if blank {
                "empty file: expected `#begin document (ID); part N`"
            } else {
                "no `#begin document (ID); part N` line in the file"
            };
            return Err(Error::parse(path, 1, msg));
        }
        Ok(ConllFile {
            path: path.to_path_buf(),
            lines,
            parts,
        })
    }
}

/// Splits `bytes` into lines (without `\n` and one `\r` before it), decoding each as UTF-8.
fn split_lines(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines = Vec::new();
    let mut pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    for (line_idx, piece) in pieces.into_iter().enumerate() {
        let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
        match std::str::from_utf8(piece) {
            Ok(text) => lines.push(text.to_string()),
            Err(err) => {
                return Err(Error::parse(
                    path,
                    line_idx + 1,
                    format!(
                        "invalid UTF-8 at byte {} of the line (the file must be UTF-8)",
                        err.valid_up_to() + 1
                    ),
                ))
            }
        }
    }
    Ok(lines)
}

/// Parses `#begin document (ID); part N` into `(ID, N)`, as the reference regex
/// `#begin document \((.*)\); part (\d+)` does (the id may contain `); part `; the last one splits).
/// Without `part N` (`#begin document (ID);` or `(ID)`, white space after it allowed) the part is 0.
fn parse_begin(path: &Path, line_no: usize, line: &str) -> Result<(String, u32)> {
    let malformed = || {
        Error::parse(
            path,
            line_no,
            format!(
                "malformed `#begin document` line {line:?}: expected `#begin document (ID); part N` \
                 or `#begin document (ID);`"
            ),
        )
    };
    let rest = line
        .strip_prefix("#begin document (")
        .ok_or_else(malformed)?;
    let sep = "); part ";
    let Some(pos) = rest.rfind(sep) else {
        let bare = rest.trim_end_matches([' ', '\t']);
        let id = bare
            .strip_suffix(");")
            .or_else(|| bare.strip_suffix(')'))
            .ok_or_else(malformed)?;
        return Ok((id.to_string(), 0));
    };
    let id = &rest[..pos];
    let after = &rest[pos + sep.len()..];
    let digits_len = after.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, tail) = after.split_at(digits_len);
    if digits.is_empty() || !tail.trim().is_empty() {
        return Err(malformed());
    }
    let part = digits
        .parse::<u32>()
        .map_err(|_| Error::parse(path, line_no, format!("part number {digits} is too large")))?;
    Ok((id.to_string(), part))
}

/// One part being read.
struct PartBuilder {
    id: String,
    part: u32,
    begin_line: usize,
    words: Vec<String>,
    speakers: Vec<Option<String>>,
    sentences: Vec<std::ops::Range<usize>>,
    sentence_start: usize,
    word_lines: Vec<usize>,
    /// Entity id → cluster index, in first-seen order.
    entity_index: HashMap<String, usize>,
    entity_ids: Vec<String>,
    clusters: Vec<Vec<Span>>,
    /// Per cluster, the open multi-word mentions: (start word, 0-based line index).
    open: Vec<Vec<(usize, usize)>>,
}

/// The parts of one coreference cell, grouped as the scorer reads them; ids as written (borrowed from
/// the cell, owned where the scorer's removals join digits into an id the cell does not hold as such).
#[derive(Debug, Default, PartialEq, Eq)]
struct Cell<'a> {
    singles: Vec<Cow<'a, str>>,
    opens: Vec<Cow<'a, str>>,
    closes: Vec<Cow<'a, str>>,
}

/// The patterns `GetCoreference` removes from a cell, in its order.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// `\((\d+\+\d)\)`: a double antecedent, discarded.
    DoubleAntecedent,
    /// `\((\d+)\)`: a one-word mention.
    Single,
    /// `\((\d+)`: the start of a mention.
    Open,
    /// `(\d+)\)`: the end of a mention.
    Close,
}

/// The leftmost match of `pattern` in `cell`: (match start, id range, match end), byte offsets.
fn find_pattern(cell: &[u8], pattern: Pattern) -> Option<(usize, std::ops::Range<usize>, usize)> {
    let digits = |from: usize| {
        cell.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|c| c.is_ascii_digit()).count()
        })
    };
    (0..cell.len()).find_map(|start| match pattern {
        Pattern::DoubleAntecedent | Pattern::Single | Pattern::Open if cell[start] != b'(' => None,
        Pattern::DoubleAntecedent => {
            let n = digits(start + 1);
            let plus = start + 1 + n;
            (n > 0
                && cell.get(plus) == Some(&b'+')
                && cell.get(plus + 1).is_some_and(u8::is_ascii_digit)
                && cell.get(plus + 2) == Some(&b')'))
            .then_some((start, start + 1..plus + 2, plus + 3))
        }
        Pattern::Single => {
            let n = digits(start + 1);
            (n > 0 && cell.get(start + 1 + n) == Some(&b')')).then_some((
                start,
                start + 1..start + 1 + n,
                start + 2 + n,
            ))
        }
        Pattern::Open => {
            let n = digits(start + 1);
            (n > 0).then_some((start, start + 1..start + 1 + n, start + 1 + n))
        }
        Pattern::Close => {
            // Perl's leftmost match: the digits may start anywhere, so `12)` matches at `1`.
            let n = digits(start);
            (n > 0 && cell.get(start + n) == Some(&b')')).then_some((
                start,
                start..start + n,
                start + n + 1,
            ))
        }
    })
}

/// Reads a coreference cell as `GetCoreference` of the scorer v8.01 does (see the module
/// documentation): repeated leftmost matches of each pattern, removed from the cell one at a time (so
/// that parts need no `|` between them). Errors when something other than `|` is left.
fn parse_cell(cell: &str) -> std::result::Result<Cell<'_>, String> {
    let mut out = Cell::default();
    if cell == "-" || cell == "_" {
        return Ok(out);
    }
    // Fast path: `|`-joined well-formed parts, the usual case, read without copying. It gives what the
    // pattern matching gives: the separators keep removed parts from joining into new matches.
    let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let simple = cell.split('|').all(|part| {
        if let Some(inner) = part.strip_prefix('(') {
            if let Some(id) = inner.strip_suffix(')') {
                if is_num(id) {
                    out.singles.push(Cow::Borrowed(id));
                    return true;
                }
                return id
                    .split_once('+')
                    .is_some_and(|(a, b)| is_num(a) && b.len() == 1 && is_num(b));
            }
            if is_num(inner) {
                out.opens.push(Cow::Borrowed(inner));
                return true;
            }
        } else if let Some(id) = part.strip_suffix(')') {
            if is_num(id) {
                out.closes.push(Cow::Borrowed(id));
                return true;
            }
        }
        false
    });
    if simple {
        return Ok(out);
    }
    // The scorer's pattern matching, literally, on a copy of the cell.
    let mut out = Cell::default();
    let mut rest: Vec<u8> = cell.as_bytes().to_vec();
    for pattern in [
        Pattern::DoubleAntecedent,
        Pattern::Single,
        Pattern::Open,
        Pattern::Close,
    ] {
        while let Some((start, id, end)) = find_pattern(&rest, pattern) {
            let id = Cow::Owned(String::from_utf8_lossy(&rest[id]).into_owned());
            rest.drain(start..end);
            match pattern {
                Pattern::DoubleAntecedent => {}
                Pattern::Single => out.singles.push(id),
                Pattern::Open => out.opens.push(id),
                Pattern::Close => out.closes.push(id),
            }
        }
    }
    if let Some(bad) = rest.iter().position(|&b| b != b'|') {
        let left = String::from_utf8_lossy(&rest[bad..]);
        return Err(format!(
            "malformed coreference cell {cell:?}: {left:?} is left after reading its `(N)`, `(N` and \
             `N)` parts (expected `-`, or parts `(N)`, `(N`, `N)`, usually joined by `|`)"
        ));
    }
    Ok(out)
}

impl PartBuilder {
    fn new(id: String, part: u32, begin_line: usize) -> Self {
        PartBuilder {
            id,
            part,
            begin_line,
            words: Vec::new(),
            speakers: Vec::new(),
            sentences: Vec::new(),
            sentence_start: 0,
            word_lines: Vec::new(),
            entity_index: HashMap::new(),
            entity_ids: Vec::new(),
            clusters: Vec::new(),
            open: Vec::new(),
        }
    }

    /// The cluster index of entity `id`, assigned on first sight (the scorer's `GetIndex`). Ids are
    /// numbers: leading zeros are dropped (`07` is `7`, `00` is `0`), as the reference preprocessing's
    /// `int()` keys them.
    fn entity(&mut self, id: &str) -> usize {
        let trimmed = id.trim_start_matches('0');
        let id = if trimmed.is_empty() { "0" } else { trimmed };
        if let Some(&idx) = self.entity_index.get(id) {
            return idx;
        }
        let idx = self.clusters.len();
        self.entity_index.insert(id.to_string(), idx);
        self.entity_ids.push(id.to_string());
        self.clusters.push(Vec::new());
        self.open.push(Vec::new());
        idx
    }

    fn end_sentence(&mut self) {
        if self.words.len() > self.sentence_start {
            self.sentences.push(self.sentence_start..self.words.len());
            self.sentence_start = self.words.len();
        }
    }

    fn push_word(
        &mut self,
        path: &Path,
        line_idx: usize,
        line: &str,
        min_columns: usize,
    ) -> Result<()> {
        let line_no = line_idx + 1;
        // Control characters are C0 (bytes below 0x20), DEL and C1 (U+0080-U+009F, bytes 0xC2 0x80-0x9F
        // in UTF-8): a byte scan finds candidates, the char scan only runs on a hit.
        let suspect = line
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2);
        if let Some((pos, ch)) = suspect
            .then(|| {
                line.char_indices()
                    .find(|&(_, c)| c.is_control() && c != '\t')
            })
            .flatten()
        {
            let before = &line[..pos];
            let fields = before.split([' ', '\t']).filter(|c| !c.is_empty()).count();
            let column = if before.is_empty() || before.ends_with([' ', '\t']) {
                fields + 1
            } else {
                fields
            };
            return Err(Error::parse(
                path,
                line_no,
                format!(
                    "control character U+{:04X} in column {column} (a word or tag must not hold NUL or \
                     other control characters: the file is corrupt or not plain text)",
                    ch as u32
                ),
            ));
        }
        let columns: Vec<&str> = line.split([' ', '\t']).filter(|c| !c.is_empty()).collect();
        if columns.len() < min_columns {
            return Err(Error::parse(
                path,
                line_no,
                format!(
                    "expected at least {min_columns} columns, found {}",
                    columns.len()
                ),
            ));
        }
        let word_idx = self.words.len();
        let word = columns.get(3).copied().unwrap_or_default();
        let speaker = columns
            .get(9)
            .copied()
            .filter(|s| *s != "-")
            .map(str::to_string);
        // `columns` is non-empty: `min_columns` is at least 1.
        let cell_text = columns.last().copied().unwrap_or("-");
        let cell = parse_cell(cell_text).map_err(|msg| Error::parse(path, line_no, msg))?;
        for id in &cell.singles {
            let idx = self.entity(id);
            self.clusters[idx].push(Span::new(word_idx, word_idx));
        }
        for id in &cell.opens {
            let idx = self.entity(id);
            self.open[idx].push((word_idx, line_idx));
        }
        for id in &cell.closes {
            let idx = self.entity(id);
            match self.open[idx].pop() {
                Some((start, _)) => self.clusters[idx].push(Span::new(start, word_idx)),
                None => {
                    return Err(Error::parse(
                        path,
                        line_no,
                        format!("unbalanced bracket: `{id})` closes a mention of entity {id} that was never opened"),
                    ))
                }
            }
        }
        self.words.push(word.to_string());
        self.speakers.push(speaker);
        self.word_lines.push(line_idx);
        Ok(())
    }

    fn finish(mut self, path: &Path, end_line: usize, genre_fallback: &str) -> Result<ConllPart> {
        let still_open = self
            .open
            .iter()
            .enumerate()
            .flat_map(|(idx, stack)| stack.iter().map(move |&(w, l)| (l, w, idx)))
            .min();
        if let Some((open_line, _, idx)) = still_open {
            let id = &self.entity_ids[idx];
            return Err(Error::parse(
                path,
                end_line + 1,
                format!(
                    "unbalanced bracket: `({id}` opened at line {} is never closed before `#end document`",
                    open_line + 1
                ),
            ));
        }
        self.end_sentence();
        let genre = genre_of(&self.id, genre_fallback);
        Ok(ConllPart {
            document: Document {
                id: self.id,
                part: self.part,
                words: self.words,
                sentences: self.sentences,
                speakers: self.speakers,
                genre,
                clusters: self.clusters,
            },
            begin_line: self.begin_line,
            end_line,
            word_lines: self.word_lines,
            entity_ids: self.entity_ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[&str]) -> String {
        // id part idx word pos parse lemma frame sense speaker ne coref
        let mut cols = vec!["doc", "0", "0"];
        cols.extend_from_slice(cells);
        cols.join("\t")
    }

    fn doc(words: &[(&str, &str)]) -> String {
        let mut text = String::from("#begin document (doc); part 000\n");
        for (word, coref) in words {
            if word.is_empty() {
                text.push('\n');
                continue;
            }
            text.push_str(&line(&[word, "-", "-", "-", "-", "-", "-", "*", coref]));
            text.push('\n');
        }
        text.push_str("\n#end document\n");
        text
    }

    fn parse(text: &str) -> Result<ConllFile> {
        Conll2012Reader::new("bc").parse("t.conll", text.as_bytes())
    }

    fn spans(v: &[(usize, usize)]) -> Vec<Span> {
        v.iter().map(|&(s, e)| Span::new(s, e)).collect()
    }

    #[test]
    fn words_sentences_speakers_genre() {
        let text = "#begin document (bc/cctv/00/cctv_0000); part 003\n\
                    a 3 0 Hello NN * - - - Speaker#1 * -\n\
                    a 3 1 /. . * - - - Speaker#1 * -\n\
                    \n\
                    \n\
                    a 3 0 Bye NN * - - - - * -\n\
                    #end document\n";
        let file = parse(text).unwrap();
        let d = &file.parts[0].document;
        assert_eq!(d.id, "bc/cctv/00/cctv_0000");
        assert_eq!(d.part, 3);
        assert_eq!(d.doc_key(), "bc/cctv/00/cctv_0000_3");
        assert_eq!(d.genre, "bc");
        assert_eq!(d.words, vec!["Hello", "/.", "Bye"]);
        assert_eq!(d.sentences, vec![0..2, 2..3]);
        assert_eq!(
            d.speakers,
            vec![
                Some("Speaker#1".to_string()),
                Some("Speaker#1".to_string()),
                None
            ]
        );
        assert_eq!(file.parts[0].word_lines, vec![1, 2, 5]);
        assert_eq!((file.parts[0].begin_line, file.parts[0].end_line), (0, 6));
    }

    #[test]
    fn genre_fallback_for_unknown_ids() {
        let file = Conll2012Reader::new("nw")
            .parse("t", doc(&[("x", "-")]).as_bytes())
            .unwrap();
        assert_eq!(file.parts[0].document.genre, "nw");
    }

    #[test]
    fn nested_and_same_token_mentions() {
        // word:      0       1        2        3      4
        let text = doc(&[
            ("The", "(1|(2"),
            ("man", "(3)|2)"),
            ("he", "(1)"),
            ("saw", "-"),
            ("it", "1)|(3)|(3)"),
        ]);
        let d = parse(&text).unwrap().parts[0].document.clone();
        // entity order: 1 (word 0, opens group), 2 (word 0), 3 (word 1, singles group)
        assert_eq!(d.clusters.len(), 3);
        assert_eq!(d.clusters[0], spans(&[(2, 2), (0, 4)]));
        assert_eq!(d.clusters[1], spans(&[(0, 1)]));
        assert_eq!(d.clusters[2], spans(&[(1, 1), (4, 4), (4, 4)]));
    }

    #[test]
    fn scorer_group_order_decides_first_seen() {
        // In one cell the scorer reads every (N) before any (N, so entity 5 is seen before entity 4.
        let text = doc(&[("a", "(4|(5)"), ("b", "4)")]);
        let file = parse(&text).unwrap();
        assert_eq!(file.parts[0].entity_ids, vec!["5", "4"]);
        assert_eq!(
            file.parts[0].document.clusters,
            vec![spans(&[(0, 0)]), spans(&[(0, 1)])]
        );
    }

    #[test]
    fn close_pairs_with_most_recent_open_of_same_id() {
        let text = doc(&[("a", "(1"), ("b", "(1"), ("c", "1)"), ("d", "1)")]);
        let d = parse(&text).unwrap().parts[0].document.clone();
        assert_eq!(d.clusters, vec![spans(&[(1, 2), (0, 3)])]);
    }

    #[test]
    fn open_and_close_of_same_id_in_one_cell_read_as_the_scorer_does() {
        // The scorer opens before it closes, so `1)|(1` closes the mention it just opened.
        let text = doc(&[("a", "(1"), ("b", "1)|(1"), ("c", "1)")]);
        let d = parse(&text).unwrap().parts[0].document.clone();
        assert_eq!(d.clusters, vec![spans(&[(1, 1), (0, 2)])]);
    }

    #[test]
    fn zero_padded_ids_are_one_entity_and_double_antecedents_are_discarded() {
        // The reference preprocessing keys entities by integer: `07` and `7` are one entity.
        let text = doc(&[("a", "(07)|(7)|(3+1)"), ("b", "(00"), ("c", "0)")]);
        let file = parse(&text).unwrap();
        assert_eq!(file.parts[0].entity_ids, vec!["7", "0"]);
        assert_eq!(
            file.parts[0].document.clusters,
            vec![spans(&[(0, 0), (0, 0)]), spans(&[(1, 2)])]
        );
    }

    #[test]
    fn begin_line_without_part_is_part_zero() {
        // The reference scorer's own test files: `#begin document (LuoTestCase); ` (trailing space).
        for begin in [
            "#begin document (LuoTestCase); ",
            "#begin document (LuoTestCase);",
            "#begin document (LuoTestCase)",
        ] {
            let text = format!("{begin}\ntest1\t0\t0\ta1\t(0)\n#end document\n");
            let d = Conll2012Reader::new("bc")
                .min_columns(1)
                .parse("t.conll", text.as_bytes())
                .unwrap()
                .parts[0]
                .document
                .clone();
            assert_eq!((d.id.as_str(), d.part), ("LuoTestCase", 0), "{begin:?}");
            assert_eq!(d.clusters, vec![spans(&[(0, 0)])]);
        }
        assert_eq!(
            err("#begin document (x); part 1x\n#end document\n"),
            "t.conll:1: malformed `#begin document` line \"#begin document (x); part 1x\": expected \
             `#begin document (ID); part N` or `#begin document (ID);`"
        );
    }

    #[test]
    fn cells_without_separators_are_read_by_pattern_matching() {
        // As in the scorer's TC-O.key: `(1(2` … `1)2)`, and `(3)(4` … `4)`.
        let text = doc(&[
            ("a", "(1(2"),
            ("b", "(3)(4"),
            ("c", "1)2)"),
            ("d", "4)(5)|(6)"),
        ]);
        let file = parse(&text).unwrap();
        // Singles first ((3), then (5) and (6) on word 3), then opens, then closes.
        assert_eq!(file.parts[0].entity_ids, vec!["1", "2", "3", "4", "5", "6"]);
        assert_eq!(
            file.parts[0].document.clusters,
            vec![
                spans(&[(0, 2)]),
                spans(&[(0, 2)]),
                spans(&[(1, 1)]),
                spans(&[(1, 3)]),
                spans(&[(3, 3)]),
                spans(&[(3, 3)]),
            ]
        );
        // The scorer removes one match at a time: in `(1(2)3)` removing `(2)` joins `(1` and `3)` into
        // `(13)`, a one-word mention of entity 13.
        let file = parse(&doc(&[("a", "(1(2)3)")])).unwrap();
        assert_eq!(file.parts[0].entity_ids, vec!["2", "13"]);
        // Separators alone are left over and accepted; anything else is refused.
        let file = parse(&doc(&[("a", "(1||(2)"), ("b", "1)")])).unwrap();
        assert_eq!(file.parts[0].entity_ids, vec!["2", "1"]);
        assert_eq!(
            err(&doc(&[("a", "(1)x")])),
            "t.conll:2: malformed coreference cell \"(1)x\": \"x\" is left after reading its `(N)`, \
             `(N` and `N)` parts (expected `-`, or parts `(N)`, `(N`, `N)`, usually joined by `|`)"
        );
    }

    #[test]
    fn same_id_and_part_twice_is_an_error_naming_both_lines() {
        let mut text = doc(&[("a", "(0)")]);
        text.push_str(&doc(&[("b", "(0)")]));
        assert_eq!(
            err(&text),
            "t.conll:5: document (doc) part 0 again: it was begun at line 1 already (two documents with \
             the same id and part in one file would be scored or trained as one)"
        );
        // Another part of the same id, or the same part of another id, is fine.
        let mut text = doc(&[("a", "(0)")]);
        text.push_str(&doc(&[("b", "(0)")]).replace("part 000", "part 001"));
        assert_eq!(parse(&text).unwrap().parts.len(), 2);
        // `(doc);` is part 0 too.
        let mut text = doc(&[("a", "(0)")]);
        text.push_str(&doc(&[("b", "(0)")]).replace("(doc); part 000", "(doc);"));
        assert!(err(&text).starts_with("t.conll:5: document (doc) part 0 again"));
    }

    #[test]
    fn control_characters_in_a_word_are_refused() {
        assert_eq!(
            err(&doc(&[("a", "-"), ("b\u{0}c", "-")])),
            "t.conll:3: control character U+0000 in column 4 (a word or tag must not hold NUL or other \
             control characters: the file is corrupt or not plain text)"
        );
        assert!(err(&doc(&[("\u{1b}x", "-")]))
            .starts_with("t.conll:2: control character U+001B in column 4 "));
        assert!(err(&doc(&[("x\u{85}", "-")]))
            .starts_with("t.conll:2: control character U+0085 in column 4 "));
        // A no-break space or a zero-width space is not a control character: kept in the word.
        let d = parse(&doc(&[("a\u{a0}b\u{200b}", "-")])).unwrap().parts[0]
            .document
            .clone();
        assert_eq!(d.words, vec!["a\u{a0}b\u{200b}"]);
    }

    #[test]
    fn empty_files_are_errors_unless_allowed() {
        for text in ["", "\n \n\t\n"] {
            assert_eq!(
                err(text),
                "t.conll:1: empty file: expected `#begin document (ID); part N`"
            );
            let file = Conll2012Reader::new("bc")
                .allow_empty(true)
                .parse("t.conll", text.as_bytes())
                .unwrap();
            assert!(file.parts.is_empty());
        }
        // Lines but no document stay an error.
        assert!(Conll2012Reader::new("bc")
            .allow_empty(true)
            .parse("t.conll", b"x 0 0 a\n")
            .is_err());
    }

    #[test]
    fn several_parts_and_ids() {
        let mut text = doc(&[("a", "(0)")]);
        text.push_str(&doc(&[("b", "-"), ("c", "(0)")]).replace("part 000", "part 001"));
        text.push_str(&doc(&[("d", "-")]).replace("(doc)", "(other)"));
        let file = parse(&text).unwrap();
        let keys: Vec<String> = file.parts.iter().map(|p| p.document.doc_key()).collect();
        assert_eq!(keys, vec!["doc_0", "doc_1", "other_0"]);
        assert_eq!(file.parts[1].document.clusters, vec![spans(&[(1, 1)])]);
        assert_eq!(file.parts[1].word_lines, vec![5, 6]);
    }

    #[test]
    fn spaces_as_separators_and_crlf() {
        let text = "#begin document (x); part 0\r\nx   0 0 Hi  -  - - - - - * (2)  \r\n\r\n#end document\r\n";
        let d = parse(text).unwrap().parts[0].document.clone();
        assert_eq!(d.words, vec!["Hi"]);
        assert_eq!(d.clusters, vec![spans(&[(0, 0)])]);
    }

    #[test]
    fn min_columns_can_be_lowered_for_responses() {
        let text = "#begin document (x); part 0\nx 0 0 Hi (2)\n#end document\n";
        let err = parse(text).unwrap_err().to_string();
        assert_eq!(err, "t.conll:2: expected at least 12 columns, found 5");
        let file = Conll2012Reader::new("bc")
            .min_columns(1)
            .parse("t.conll", text.as_bytes())
            .unwrap();
        assert_eq!(file.parts[0].document.words, vec!["Hi"]);
        assert_eq!(file.parts[0].document.speakers, vec![None]);
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn bad_inputs_name_file_line_and_problem() {
        assert_eq!(
            err(&doc(&[("a", "-"), ("b", "3)")])),
            "t.conll:3: unbalanced bracket: `3)` closes a mention of entity 3 that was never opened"
        );
        assert_eq!(
            err(&doc(&[("a", "(3"), ("b", "-")])),
            "t.conll:5: unbalanced bracket: `(3` opened at line 2 is never closed before `#end document`"
        );
        assert_eq!(
            err("#begin document (x); part 0\n"),
            "t.conll:1: `#begin document (x); part 0` has no `#end document` before the end of the file"
        );
        assert_eq!(
            err("#begin document (x); part 0\n#begin document (y); part 0\n"),
            "t.conll:2: `#begin document` inside the document begun at line 1 (missing `#end document`)"
        );
        assert_eq!(
            err("x 0 0 a\n"),
            "t.conll:1: line outside a document (expected `#begin document (ID); part N`)"
        );
        assert_eq!(
            err("\n#end document\n"),
            "t.conll:2: `#end document` without a `#begin document` before it"
        );
        assert_eq!(
            err(""),
            "t.conll:1: empty file: expected `#begin document (ID); part N`"
        );
        assert_eq!(
            err("\n \n"),
            "t.conll:1: empty file: expected `#begin document (ID); part N`"
        );
        assert_eq!(
            err(&doc(&[("a", "(x")])),
            "t.conll:2: malformed coreference cell \"(x\": \"(x\" is left after reading its `(N)`, `(N` \
             and `N)` parts (expected `-`, or parts `(N)`, `(N`, `N)`, usually joined by `|`)"
        );
        assert_eq!(
            err("#begin document x\n#end document\n"),
            "t.conll:1: malformed `#begin document` line \"#begin document x\": expected `#begin document \
             (ID); part N` or `#begin document (ID);`"
        );
        let mut bytes = doc(&[("a", "-"), ("b", "-")]).into_bytes();
        let pos = bytes.iter().rposition(|&b| b == b'b').unwrap();
        bytes[pos] = 0xff;
        assert_eq!(
            Conll2012Reader::new("bc")
                .parse("t.conll", &bytes)
                .unwrap_err()
                .to_string(),
            "t.conll:3: invalid UTF-8 at byte 9 of the line (the file must be UTF-8)"
        );
    }

    #[test]
    fn begin_line_keeps_greedy_id() {
        let (id, part) =
            parse_begin(Path::new("t"), 1, "#begin document (a); part 1); part 002").unwrap();
        assert_eq!((id.as_str(), part), ("a); part 1", 2));
    }

    #[test]
    fn empty_document_is_allowed() {
        let file = parse("#begin document (x); part 0\n#end document\n").unwrap();
        assert!(file.parts[0].document.words.is_empty());
        assert!(file.parts[0].document.sentences.is_empty());
    }
}
