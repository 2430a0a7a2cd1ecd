//! TACRED files (LDC2018T24 `data/json/{train,dev,test}.json`) → [`RelationExample`]s.
//!
//! A JSON array of records (or JSON lines, one record per line):
//!
//! ```json
//! {"id": "61b3a5c8c9a882dcfcd2", "relation": "org:founded_by",
//!  "token": ["Tom", "Thabane", "resigned", "in", "October", "last", "year", "to", "form", "the", "All", …],
//!  "subj_start": 10, "subj_end": 12, "obj_start": 0, "obj_end": 1,
//!  "subj_type": "ORGANIZATION", "obj_type": "PERSON", …}
//! ```
//!
//! `subj_*` / `obj_*` are inclusive token indices; the subject is the head, the object the tail. The
//! tokens are joined by single spaces, with the Penn Treebank bracket tokens turned back into brackets
//! (`-LRB-` → `(`, `-RRB-` → `)`, `-LSB-` → `[`, `-RSB-` → `]`, `-LCB-` → `{`, `-RCB-` → `}`, any
//! case), as the Hugging Face `tacred` loader does. Other keys (`stanford_pos`, `docid`, …) are ignored.
//! `relation` may be absent (a file to predict on). A span outside the tokens, an empty or reversed span,
//! overlapping arguments, a missing key or a duplicate id is an error naming the file and the record.
use std::ops::Range;
use std::path::Path;

use serde_json::Value;

use super::relation::{record_error, RelationExample};
use crate::error::{Error, Result};

/// Parses a JSON array of TACRED records; `path` names the file in errors.
pub fn parse_tacred_json(path: &Path, text: &str) -> Result<Vec<RelationExample>> {
    let records: Vec<Value> = serde_json::from_str(text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        line: source.line(),
        source,
    })?;
    if records.is_empty() {
        return Err(Error::parse(path, 1, "an empty JSON array: no record"));
    }
    records
        .iter()
        .enumerate()
        .map(|(i, record)| tacred_record(path, &format!("record {}", i + 1), record, i))
        .collect()
}

/// A token as the Hugging Face `tacred` loader gives it back: Penn Treebank brackets undone.
fn ptb_token(token: &str) -> &str {
    match token.to_ascii_lowercase().as_str() {
        "-lrb-" => "(",
        "-rrb-" => ")",
        "-lsb-" => "[",
        "-rsb-" => "]",
        "-lcb-" => "{",
        "-rcb-" => "}",
        _ => token,
    }
}

/// One TACRED record (`at` names it in errors; `index` is its 0-based position, the id when it has none).
pub(crate) fn tacred_record(
    path: &Path,
    at: &str,
    record: &Value,
    index: usize,
) -> Result<RelationExample> {
    let id = match record.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => index.to_string(),
    };
    let named = format!("{at} (id {id})");
    let err = |msg: String| record_error(path, &named, msg);
    let tokens: Vec<&str> = match record.get("token").and_then(Value::as_array) {
        Some(tokens) => tokens
            .iter()
            .map(|t| {
                t.as_str()
                    .map(ptb_token)
                    .ok_or_else(|| err(format!("a token is not a string: {t}")))
            })
            .collect::<Result<_>>()?,
        None => return Err(err("`token` must be an array of strings".into())),
    };
    if tokens.is_empty() {
        return Err(err("`token` is empty".into()));
    }
    let index_of = |key: &str| -> Result<usize> {
        match record.get(key) {
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| err(format!("`{key}` must be a token index, got {v}"))),
            None => Err(err(format!("`{key}` is missing"))),
        }
    };
    let span = |role: &str| -> Result<Range<usize>> {
        let (start, end) = (
            index_of(&format!("{role}_start"))?,
            index_of(&format!("{role}_end"))?,
        );
        if start > end || end >= tokens.len() {
            return Err(err(format!(
                "the {role} span {start}..={end} is not inside the {} tokens (start and end are inclusive indices)",
                tokens.len()
            )));
        }
        Ok(start..end + 1)
    };
    let (subj, obj) = (span("subj")?, span("obj")?);
    if subj.start < obj.end && obj.start < subj.end {
        return Err(err(format!(
            "the subject (tokens {}..={}) and the object (tokens {}..={}) overlap",
            subj.start,
            subj.end - 1,
            obj.start,
            obj.end - 1
        )));
    }
    let string = |key: &str| -> Result<Option<String>> {
        match record.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(err(format!("`{key}` must be a string, got {v}"))),
        }
    };
    // Byte offsets of every token in the text joined by single spaces.
    let mut starts = Vec::with_capacity(tokens.len());
    let mut text = String::new();
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        starts.push(text.len());
        text.push_str(token);
    }
    let bytes = |r: &Range<usize>| starts[r.start]..starts[r.end - 1] + tokens[r.end - 1].len();
    Ok(RelationExample {
        head: bytes(&subj),
        tail: bytes(&obj),
        text,
        head_type: string("subj_type")?,
        tail_type: string("obj_type")?,
        label: string("relation")?,
        id,
        at: at.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use crate::readers::relation::read_relations;

    const RECORD: &str = r#"{"id": "a1", "relation": "org:founded_by", "token": ["-LRB-", "Tom", "Thabane", "-rrb-", "founded", "the", "ABC", "."], "subj_start": 6, "subj_end": 6, "obj_start": 1, "obj_end": 2, "subj_type": "ORGANIZATION", "obj_type": "PERSON", "stanford_pos": []}"#;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn array_and_json_lines_read_the_same() {
        let (_d, array) = write("train.json", &format!("[{RECORD}]"));
        let (_e, lines) = write("train.jsonl", &format!("{RECORD}\n"));
        let a = read_relations(&array).unwrap();
        let b = read_relations(&lines).unwrap();
        assert_eq!(a[0].text, "( Tom Thabane ) founded the ABC .");
        assert_eq!((a[0].head_text(), a[0].tail_text()), ("ABC", "Tom Thabane"));
        assert_eq!(a[0].head_type.as_deref(), Some("ORGANIZATION"));
        assert_eq!(a[0].label.as_deref(), Some("org:founded_by"));
        assert_eq!((a[0].at.as_str(), b[0].at.as_str()), ("record 1", "line 1"));
        assert_eq!(a[0].text, b[0].text);
    }

    #[test]
    fn bad_records_are_named() {
        let bad = |from: &str, to: &str| {
            let (_d, path) = write(
                "x.json",
                &format!(
                    "[{RECORD}, {}]",
                    RECORD.replace("a1", "a2").replace(from, to)
                ),
            );
            read_relations(&path).unwrap_err().to_string()
        };
        let msg = bad("\"subj_end\": 6", "\"subj_end\": 8");
        assert!(
            msg.contains("record 2 (id a2): the subj span 6..=8 is not inside the 8 tokens"),
            "{msg}"
        );
        let msg = bad("\"obj_start\": 1", "\"obj_start\": 3");
        assert!(msg.contains("the obj span 3..=2"), "{msg}");
        let msg = bad(
            "\"subj_start\": 6, \"subj_end\": 6",
            "\"subj_start\": 2, \"subj_end\": 3",
        );
        assert!(msg.contains("overlap"), "{msg}");
        let msg = bad("\"obj_end\": 2, ", "");
        assert!(msg.contains("`obj_end` is missing"), "{msg}");
        let (_d, path) = write("dup.json", &format!("[{RECORD}, {RECORD}]"));
        let msg = read_relations(&path).unwrap_err().to_string();
        assert!(
            msg.contains("record 2")
                && msg.contains("\"a1\" is already the id of the record at record 1"),
            "{msg}"
        );
    }
}
