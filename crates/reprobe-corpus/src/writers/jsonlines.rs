//! coref-hoi `*.jsonlines` writer (SPEC §6.4): one [`PreparedDocument`] per line.
//!
//! Lines are written as Python's `json.dumps(document)` writes them in the reference `preprocess.py`:
//! `", "` between items, `": "` after keys, every character outside printable ASCII escaped as
//! `\uXXXX` (lower-case hex, surrogate pairs above U+FFFF), keys in the reference order. So a file we
//! write differs from the reference's only where the content differs (see [`crate::prepare`] for the
//! order of mentions inside a cluster).
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::atomic::{write_atomic, write_error};
use crate::document::PreparedDocument;
use crate::error::{Error, Result};

/// A `serde_json` formatter that writes what Python's `json.dumps` (default arguments) writes.
#[derive(Debug, Default, Clone, Copy)]
pub struct PythonJsonFormatter;

impl serde_json::ser::Formatter for PythonJsonFormatter {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json has already escaped `"`, `\` and control characters below U+0020.
        let mut start = 0;
        for (pos, c) in fragment.char_indices() {
            if (' '..='~').contains(&c) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..pos])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = pos + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// One document as one JSON line (without the newline), as the reference writes it.
pub fn to_json_line(doc: &PreparedDocument) -> Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, PythonJsonFormatter);
    doc.serialize(&mut ser).map_err(|e| Error::Document {
        doc_key: doc.doc_key.clone(),
        msg: format!("cannot serialize to JSON: {e}"),
    })?;
    // The formatter only ever writes ASCII.
    String::from_utf8(buf).map_err(|e| Error::Document {
        doc_key: doc.doc_key.clone(),
        msg: format!("JSON is not UTF-8: {e}"),
    })
}

/// Writes `docs` to `w`, one JSON line each.
pub fn write_jsonlines_to<W: Write>(
    w: &mut W,
    docs: &[PreparedDocument],
    path: &Path,
) -> Result<()> {
    for doc in docs {
        let line = to_json_line(doc)?;
        w.write_all(line.as_bytes()).map_err(write_error(path))?;
        w.write_all(b"\n").map_err(write_error(path))?;
    }
    Ok(())
}

/// Writes `docs` to `path` (one JSON line each), atomically: nothing is left under `path` on error.
pub fn write_jsonlines(path: &Path, docs: &[PreparedDocument]) -> Result<()> {
    write_atomic(path, |w| write_jsonlines_to(w, docs, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> PreparedDocument {
        PreparedDocument {
            doc_key: "nw/x_0".into(),
            tokens: vec!["Café".into(), "“Hi”".into(), "𝄞\t\"\\\u{7f}".into()],
            sentences: vec![vec!["[CLS]".into(), "café".into(), "[SEP]".into()]],
            speakers: vec![vec!["[SPL]".into(), "-".into(), "[SPL]".into()]],
            constituents: vec![],
            ner: vec![],
            clusters: vec![vec![[1, 1], [1, 2]], vec![]],
            sentence_map: vec![0, 0, 0],
            subtoken_map: vec![0, 0, 0],
            pronouns: vec![],
            genre: Some("nw".into()),
        }
    }

    #[test]
    fn line_is_what_python_json_dumps_writes() {
        // Python 3.11: json.dumps({"doc_key": "nw/x_0", "tokens": ["Café", "“Hi”", "𝄞\t\"\\\x7f"], ...})
        let expected = r#"{"doc_key": "nw/x_0", "tokens": ["Caf\u00e9", "\u201cHi\u201d", "\ud834\udd1e\t\"\\\u007f"], "sentences": [["[CLS]", "caf\u00e9", "[SEP]"]], "speakers": [["[SPL]", "-", "[SPL]"]], "constituents": [], "ner": [], "clusters": [[[1, 1], [1, 2]], []], "sentence_map": [0, 0, 0], "subtoken_map": [0, 0, 0], "pronouns": [], "genre": "nw"}"#;
        assert_eq!(to_json_line(&doc()).unwrap(), expected);
    }

    #[test]
    fn genre_is_left_out_when_absent() {
        let mut d = doc();
        d.genre = None;
        assert!(to_json_line(&d).unwrap().ends_with(r#""pronouns": []}"#));
    }
}
