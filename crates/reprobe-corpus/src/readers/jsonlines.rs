//! coref-hoi `*.jsonlines` reader (SPEC §6.4): one [`PreparedDocument`] per non-blank line.
//!
//! Reads the files of the reference preprocessing as they are (no `genre` field; unknown fields are
//! ignored) and ours. Every document is checked with [`PreparedDocument::validate`]; a problem is an
//! error naming the file and the line.
use std::path::Path;

use crate::document::PreparedDocument;
use crate::error::{Error, Result};

/// Reads every document of the jsonlines file `path`.
pub fn read_jsonlines(path: &Path) -> Result<Vec<PreparedDocument>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_jsonlines(path, &bytes)
}

/// Parses the content of a jsonlines file; `path` is used in error messages only.
pub fn parse_jsonlines(path: &Path, bytes: &[u8]) -> Result<Vec<PreparedDocument>> {
    let mut docs = Vec::new();
    for (line_idx, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = line_idx + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = std::str::from_utf8(line).map_err(|e| {
            Error::parse(
                path,
                line_no,
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
            )
        })?;
        let doc: PreparedDocument = serde_json::from_str(text).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            line: line_no,
            source,
        })?;
        doc.validate().map_err(|msg| {
            Error::parse(path, line_no, format!("document {}: {msg}", doc.doc_key))
        })?;
        docs.push(doc);
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writers::jsonlines::to_json_line;

    /// A line as the reference `preprocess.py` writes it (keys in its order, no `genre`).
    const REFERENCE_LINE: &str = r#"{"doc_key": "bc/x_0", "tokens": ["Hi", "there"], "sentences": [["[CLS]", "Hi", "there", "[SEP]"]], "speakers": [["[SPL]", "-", "-", "[SPL]"]], "constituents": [], "ner": [], "clusters": [[[1, 1], [2, 2]]], "sentence_map": [0, 0, 0, 1], "subtoken_map": [0, 0, 1, 1], "pronouns": []}"#;

    #[test]
    fn reads_reference_lines_and_writes_them_back_byte_for_byte() {
        let text = format!("{REFERENCE_LINE}\n\n{REFERENCE_LINE}\n");
        let docs = parse_jsonlines(Path::new("r.jsonlines"), text.as_bytes()).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].doc_key, "bc/x_0");
        assert_eq!(docs[0].clusters, vec![vec![[1, 1], [2, 2]]]);
        assert_eq!(docs[0].genre, None);
        assert_eq!(to_json_line(&docs[0]).unwrap(), REFERENCE_LINE);
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = format!("{REFERENCE_LINE}\n{{\"doc_key\": 3}}\n");
        let err = parse_jsonlines(Path::new("r.jsonlines"), text.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "r.jsonlines:2: invalid JSON document");
        let bad = REFERENCE_LINE.replace("[[1, 1], [2, 2]]", "[[1, 1], [2, 9]]");
        let err = parse_jsonlines(Path::new("r.jsonlines"), bad.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.jsonlines:1: document bc/x_0: mention [2, 9] of cluster 0 is not a span inside the 4 subtokens"
        );
        let bad = REFERENCE_LINE.replace("\"sentence_map\": [0, 0, 0, 1]", "\"sentence_map\": [0]");
        let err = parse_jsonlines(Path::new("r.jsonlines"), bad.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.jsonlines:1: document bc/x_0: `sentence_map` has 1 entries for 4 subtokens"
        );
    }
}
