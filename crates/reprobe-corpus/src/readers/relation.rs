//! Relation classification examples: a sentence with two marked arguments and, in labelled files, the
//! relation between them. Read from the SemEval-2010 Task 8 release format ([`super::semeval`]), TACRED
//! JSON or JSON lines ([`super::tacred`]), or JSON lines of marked text (what `reprobe predict` reads).
//!
//! [`read_relations`] tells the formats apart by their first non-blank character: `[` is a TACRED JSON
//! array, `{` JSON lines, anything else the SemEval release format. A JSON line with `token` is a TACRED
//! record; one with `text` holds SemEval-style tags, `{"id": "a1", "text": "The <e1>child</e1> was in the
//! <e2>cradle</e2>.", "label": …, "head_type": …, "tail_type": …}` (all but `text` optional).
//!
//! Every example keeps its sentence as one text with the byte ranges of its two arguments. The ranges
//! always fall where BERT's pre-tokenizer splits (white space or punctuation): tags glued inside a word
//! (`doves<e2>moles</e2>`) are replaced by a space ([`parse_marked_text`]), and TACRED's tokens are joined
//! by spaces. So tokenizing the pieces between the ranges gives the subtokens of the whole sentence with
//! markers inserted, as the reference's marker taskmodule and a Hugging Face tokenizer with the markers
//! as added tokens do.
use std::ops::Range;
use std::path::Path;

use super::columns::read_utf8;
use crate::error::{Error, Result};

/// One sentence with two marked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationExample {
    /// The record's id (SemEval: the number before the TAB; TACRED: `id`, else the record number).
    pub id: String,
    /// The sentence without argument tags (TACRED: the tokens joined by single spaces).
    pub text: String,
    /// Byte range of the head argument in `text` (SemEval `e1`, TACRED subject).
    pub head: Range<usize>,
    /// Byte range of the tail argument in `text` (SemEval `e2`, TACRED object).
    pub tail: Range<usize>,
    /// The head's entity type (TACRED `subj_type`), if known.
    pub head_type: Option<String>,
    /// The tail's entity type (TACRED `obj_type`), if known.
    pub tail_type: Option<String>,
    /// The relation (SemEval's directed label, TACRED's `relation`); `None` in unlabelled files.
    pub label: Option<String>,
    /// Where the record is, for messages: `line 5`, `record 3`.
    pub at: String,
}

impl RelationExample {
    /// The head argument's text.
    pub fn head_text(&self) -> &str {
        &self.text[self.head.clone()]
    }

    /// The tail argument's text.
    pub fn tail_text(&self) -> &str {
        &self.text[self.tail.clone()]
    }

    /// The sentence with `open`/`close` strings around the arguments, e.g. `<e1>`…`</e1>` (what `predict`
    /// writes back).
    pub fn marked(&self, head: (&str, &str), tail: (&str, &str)) -> String {
        let mut spans = [(self.head.clone(), head), (self.tail.clone(), tail)];
        spans.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(self.text.len() + 20);
        let mut at = 0;
        for (range, (open, close)) in spans {
            out.push_str(&self.text[at..range.start]);
            out.push_str(open);
            out.push_str(&self.text[range.clone()]);
            out.push_str(close);
            at = range.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// The error of a record that is not a line of text (a TACRED JSON array element).
pub(crate) fn record_error(path: &Path, at: &str, msg: impl Into<String>) -> Error {
    Error::Record {
        path: path.to_path_buf(),
        record: at.to_string(),
        msg: msg.into(),
    }
}

/// Reads a relation file in any of the formats of the module documentation. Duplicate ids are an error
/// naming both records.
pub fn read_relations(path: &Path) -> Result<Vec<RelationExample>> {
    let text = read_utf8(path)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let examples = match text.trim_start().chars().next() {
        Some('[') => super::tacred::parse_tacred_json(path, text)?,
        Some('{') => parse_relation_jsonl(path, text)?,
        _ => super::semeval::parse_semeval(path, text)?,
    };
    check_unique_ids(path, &examples)?;
    Ok(examples)
}

/// Refuses two records with the same id.
pub(crate) fn check_unique_ids(path: &Path, examples: &[RelationExample]) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for e in examples {
        if let Some(first) = seen.insert(&e.id, &e.at) {
            return Err(record_error(
                path,
                &e.at,
                format!(
                    "id {:?} is already the id of the record at {first}; ids must be unique",
                    e.id
                ),
            ));
        }
    }
    Ok(())
}

/// JSON lines: TACRED records (with `token`) or marked text (with `text`).
fn parse_relation_jsonl(path: &Path, text: &str) -> Result<Vec<RelationExample>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("line {}", i + 1);
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|source| Error::Json {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?;
        let example = if value.get("token").is_some() {
            super::tacred::tacred_record(path, &at, &value, out.len())?
        } else {
            marked_record(path, &at, &value, out.len())?
        };
        out.push(example);
    }
    if out.is_empty() {
        return Err(Error::parse(path, 1, "no record in the file"));
    }
    Ok(out)
}

/// `{"id"?, "text", "label"?, "head_type"?, "tail_type"?}` with `<e1>`/`<e2>` tags in `text`.
fn marked_record(
    path: &Path,
    at: &str,
    value: &serde_json::Value,
    index: usize,
) -> Result<RelationExample> {
    let err = |msg: String| record_error(path, at, msg);
    let Some(object) = value.as_object() else {
        return Err(err("expected a JSON object".into()));
    };
    const KEYS: [&str; 5] = ["id", "text", "label", "head_type", "tail_type"];
    if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(err(format!(
            "unknown key `{unknown}`; a marked-text record has {} (or is a TACRED record with `token`)",
            KEYS.join(", ")
        )));
    }
    let string = |key: &str| -> Result<Option<String>> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) if key == "id" => Ok(Some(n.to_string())),
            Some(other) => Err(err(format!("`{key}` must be a string, got {other}"))),
        }
    };
    let Some(marked) = string("text")? else {
        return Err(err("`text` is missing".into()));
    };
    let (text, head, tail) = parse_marked_text(&marked).map_err(|m| err(m.to_string()))?;
    Ok(RelationExample {
        id: string("id")?.unwrap_or_else(|| index.to_string()),
        text,
        head,
        tail,
        head_type: string("head_type")?,
        tail_type: string("tail_type")?,
        label: string("label")?,
        at: at.to_string(),
    })
}

/// The tags of a marked sentence: `e1` is the head, `e2` the tail.
const TAGS: [&str; 4] = ["<e1>", "</e1>", "<e2>", "</e2>"];

/// A sentence with `<e1>…</e1>` and `<e2>…</e2>` (each exactly once, not nested or overlapping, in
/// either order) → the text without tags and the byte ranges of `e1` (head) and `e2` (tail).
///
/// A tag is dropped; where it stood between two characters that are neither white space nor ASCII
/// punctuation (`doves<e2>moles`, `The<e1>staff`) a space takes its place, so that the argument is a
/// word of its own, as the annotation means. Arguments must hold a non-space character; spaces at their
/// edges are left outside them.
pub fn parse_marked_text(
    marked: &str,
) -> std::result::Result<(String, Range<usize>, Range<usize>), String> {
    let mut positions = Vec::with_capacity(4);
    for tag in TAGS {
        let found: Vec<usize> = marked.match_indices(tag).map(|(i, _)| i).collect();
        match found.len() {
            1 => positions.push((found[0], tag)),
            0 => {
                return Err(format!(
                "the tag {tag} is missing (the two arguments are marked <e1>…</e1> and <e2>…</e2>)"
            ))
            }
            n => {
                return Err(format!(
                    "the tag {tag} occurs {n} times; each tag must occur once"
                ))
            }
        }
    }
    positions.sort();
    let order: Vec<&str> = positions.iter().map(|(_, t)| *t).collect();
    let well_formed = matches!(
        order.as_slice(),
        ["<e1>", "</e1>", "<e2>", "</e2>"] | ["<e2>", "</e2>", "<e1>", "</e1>"]
    );
    if !well_formed {
        return Err(format!(
            "the tags come in the order {}; each argument must be closed before the other opens",
            order.join(" ")
        ));
    }
    let mut text = String::with_capacity(marked.len());
    let mut at = 0;
    let mut starts = [0usize; 2];
    let mut ends = [0usize; 2];
    for (pos, tag) in &positions {
        text.push_str(&marked[at..*pos]);
        at = pos + tag.len();
        let before = text.chars().next_back();
        let mut rest = &marked[at..];
        while let Some(tag) = TAGS.iter().find(|t| rest.starts_with(**t)) {
            rest = &rest[tag.len()..];
        }
        if let (Some(b), Some(a)) = (before, rest.chars().next()) {
            let joins = |c: char| !c.is_whitespace() && !c.is_ascii_punctuation();
            if joins(b) && joins(a) {
                text.push(' ');
            }
        }
        let arg = usize::from(tag.contains('2'));
        if tag.starts_with("</") {
            ends[arg] = text.len();
        } else {
            starts[arg] = text.len();
        }
    }
    text.push_str(&marked[at..]);
    let mut ranges = [0, 1].map(|i| starts[i]..ends[i]);
    for (i, range) in ranges.iter_mut().enumerate() {
        let inner = &text[range.clone()];
        let trimmed = inner.trim_start();
        range.start += inner.len() - trimmed.len();
        range.end = range.start + trimmed.trim_end().len();
        if range.start == range.end {
            return Err(format!("argument e{} is empty", i + 1));
        }
    }
    let [head, tail] = ranges;
    Ok((text, head, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (String, String, String) {
        let (text, h, t) = parse_marked_text(s).unwrap();
        (text.clone(), text[h].to_string(), text[t].to_string())
    }

    #[test]
    fn tags_are_removed_and_arguments_located() {
        assert_eq!(
            parse("The <e1>child</e1> was in the <e2>cradle</e2>."),
            (
                "The child was in the cradle.".into(),
                "child".into(),
                "cradle".into()
            )
        );
        // Glued tags become a space only inside a word.
        assert_eq!(
            parse("claws of doves<e2>moles</e2> and The<e1>staff</e1>'s"),
            (
                "claws of doves moles and The staff's".into(),
                "staff".into(),
                "moles".into()
            )
        );
        // e2 first, spaces inside the tags left outside the argument.
        let (text, h, t) = parse_marked_text("a <e2> b </e2> (<e1>c d</e1>)").unwrap();
        assert_eq!(
            (&text[h], &text[t], text.as_str()),
            ("c d", "b", "a  b  (c d)")
        );
        // Adjacent arguments stay apart.
        assert_eq!(
            parse("<e1>a</e1><e2>b</e2>"),
            ("a b".into(), "a".into(), "b".into())
        );
    }

    #[test]
    fn malformed_tags_are_named() {
        let err = |s: &str| parse_marked_text(s).unwrap_err();
        assert!(err("a <e1>b</e1> c").contains("<e2> is missing"));
        assert!(err("<e1>a</e1> <e1>b</e1> <e2>c</e2>").contains("<e1> occurs 2 times"));
        assert!(err("<e1>a <e2>b</e1> c</e2>").contains("order <e1> <e2> </e1> </e2>"));
        assert!(err("<e1> </e1> <e2>c</e2>").contains("argument e1 is empty"));
    }

    #[test]
    fn marked_writes_the_tags_back() {
        let (text, head, tail) = parse_marked_text("x <e2>b</e2> y <e1>a</e1>").unwrap();
        let e = RelationExample {
            id: "1".into(),
            text,
            head,
            tail,
            head_type: None,
            tail_type: None,
            label: None,
            at: "line 1".into(),
        };
        assert_eq!(
            e.marked(("[H]", "[/H]"), ("[T]", "[/T]")),
            "x [T]b[/T] y [H]a[/H]"
        );
        let err = check_unique_ids(Path::new("f.jsonl"), &[e.clone(), e]).unwrap_err();
        assert!(
            err.to_string()
                .contains("already the id of the record at line 1"),
            "{err}"
        );
    }
}
