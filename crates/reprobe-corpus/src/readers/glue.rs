//! GLUE-style TSV files → [`TextExample`]s: MRPC (the paraphrase source task) and other sentence or
//! sentence-pair classification files.
//!
//! # Format
//! UTF-8 (a byte-order mark at the start is skipped, as MRPC's files have one), `\n` or `\r\n` line ends,
//! a header row, then one example per row. Fields are split on **TAB only**, with no CSV quoting: MRPC's
//! sentences contain unbalanced `"`, which a CSV reader would join across rows. Every row must have as
//! many fields as the header; empty lines are skipped. Fields are kept as written (no trimming).
//!
//! # Columns
//! Recognised by name, case-insensitive, surrounding spaces ignored ([`ACCEPTED_COLUMNS`]):
//! - the first text: `sentence`, `text`, `sentence1`, `#1 String` (MRPC); required;
//! - the second text: `sentence2`, `#2 String` (MRPC); optional (single-sentence files);
//! - the label: `label`, `Quality` (MRPC); optional (a file to predict on has none: `label` is `None`);
//! - the id: `id`, `index`, `idx`, or MRPC's `#1 ID` and `#2 ID`, joined as `"#1 ID-#2 ID"`
//!   (`702876-702977`); without any, the 0-based index of the row among the data rows.
//!
//! So MRPC's header `Quality, #1 ID, #2 ID, #1 String, #2 String` and GLUE's `sentence, label` (SST-2)
//! or `index, sentence1, sentence2, label` (e.g. RTE), TAB-separated, all read. Any other column name is
//! an error listing these names, so that a typo or an unsupported file is not read half-way.
use std::path::Path;

use super::columns::{numbered_lines, read_utf8};
use crate::error::{Error, Result};

/// One classification example: one text or a pair, and its label when the file has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextExample {
    /// The id (module doc, "Columns").
    pub id: String,
    /// The first (or only) text.
    pub text_a: String,
    /// The second text of a pair.
    pub text_b: Option<String>,
    /// The label as written (MRPC: `"0"` or `"1"`); `None` when the file has no label column.
    pub label: Option<String>,
    /// The 1-based line of the row in the file.
    pub line: usize,
}

/// What a column of a GLUE TSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Id,
    FirstId,
    SecondId,
    TextA,
    TextB,
    Label,
}

impl Role {
    fn describe(self) -> &'static str {
        match self {
            Role::Id => "the id",
            Role::FirstId => "the id of the first text",
            Role::SecondId => "the id of the second text",
            Role::TextA => "the first text",
            Role::TextB => "the second text",
            Role::Label => "the label",
        }
    }
}

/// The column names understood in a header (lower case) and what they hold.
const COLUMNS: [(&str, Role); 13] = [
    ("id", Role::Id),
    ("index", Role::Id),
    ("idx", Role::Id),
    ("#1 id", Role::FirstId),
    ("#2 id", Role::SecondId),
    ("sentence", Role::TextA),
    ("text", Role::TextA),
    ("sentence1", Role::TextA),
    ("#1 string", Role::TextA),
    ("sentence2", Role::TextB),
    ("#2 string", Role::TextB),
    ("label", Role::Label),
    ("quality", Role::Label),
];

/// The column names a header may use (case-insensitive), as written in error messages.
pub const ACCEPTED_COLUMNS: &str = "id, index, idx, #1 ID, #2 ID, sentence, text, sentence1, \
    #1 String, sentence2, #2 String, label, Quality";

/// Where each role is in a row.
#[derive(Debug, Default)]
struct Layout {
    fields: usize,
    id: Option<usize>,
    first_id: Option<usize>,
    second_id: Option<usize>,
    text_a: Option<usize>,
    text_b: Option<usize>,
    label: Option<usize>,
}

impl Layout {
    fn slot(&mut self, role: Role) -> &mut Option<usize> {
        match role {
            Role::Id => &mut self.id,
            Role::FirstId => &mut self.first_id,
            Role::SecondId => &mut self.second_id,
            Role::TextA => &mut self.text_a,
            Role::TextB => &mut self.text_b,
            Role::Label => &mut self.label,
        }
    }

    /// Reads the header row; `Err` holds the message.
    fn from_header(header: &str) -> std::result::Result<Layout, String> {
        let names: Vec<&str> = header.split('\t').collect();
        let mut layout = Layout {
            fields: names.len(),
            ..Layout::default()
        };
        for (idx, name) in names.iter().enumerate() {
            let key = name.trim().to_lowercase();
            let Some(&(_, role)) = COLUMNS.iter().find(|(known, _)| *known == key) else {
                return Err(format!(
                    "header column {} {name:?} is not recognised; accepted column names (case-insensitive, \
                     TAB-separated): {ACCEPTED_COLUMNS}",
                    idx + 1
                ));
            };
            let slot = layout.slot(role);
            if let Some(before) = *slot {
                return Err(format!(
                    "header columns {} {:?} and {} {name:?} both hold {}",
                    before + 1,
                    names[before],
                    idx + 1,
                    role.describe()
                ));
            }
            *slot = Some(idx);
        }
        if layout.text_a.is_none() {
            return Err(format!(
                "no text column in the header {header:?}; expected one of sentence, text, sentence1, \
                 #1 String (accepted column names: {ACCEPTED_COLUMNS})"
            ));
        }
        Ok(layout)
    }

    /// The example of one data row (`row`: 0-based among data rows), already split on TAB.
    fn example(&self, fields: &[&str], row: usize, line: usize) -> TextExample {
        let field = |idx: Option<usize>| idx.map(|i| fields[i].to_string());
        let id = match (field(self.id), field(self.first_id), field(self.second_id)) {
            (Some(id), _, _) => id,
            (None, Some(first), Some(second)) => format!("{first}-{second}"),
            (None, Some(one), None) | (None, None, Some(one)) => one,
            (None, None, None) => row.to_string(),
        };
        TextExample {
            id,
            text_a: field(self.text_a).unwrap_or_default(),
            text_b: field(self.text_b),
            label: field(self.label),
            line,
        }
    }
}

/// Reads a GLUE-style TSV file (module doc).
pub fn read_glue_tsv(path: &Path) -> Result<Vec<TextExample>> {
    parse_glue_tsv(&read_utf8(path)?, path)
}

/// Parses the text of a GLUE-style TSV file (module doc); `origin` is used in error messages only.
pub fn parse_glue_tsv(text: &str, origin: &Path) -> Result<Vec<TextExample>> {
    let mut lines = numbered_lines(text).filter(|(_, line)| !line.is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(Error::parse(
            origin,
            1,
            format!("empty file: expected a header row of TAB-separated column names ({ACCEPTED_COLUMNS})"),
        ));
    };
    let layout =
        Layout::from_header(header).map_err(|msg| Error::parse(origin, header_line, msg))?;
    let mut examples = Vec::new();
    for (row, (line_no, line)) in lines.enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != layout.fields {
            return Err(Error::parse(
                origin,
                line_no,
                format!(
                    "expected {} TAB-separated fields as in the header, found {} (fields are split on TAB \
                     only, without CSV quoting)",
                    layout.fields,
                    fields.len()
                ),
            ));
        }
        examples.push(layout.example(&fields, row, line_no));
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> &'static Path {
        Path::new("dev.tsv")
    }

    #[test]
    fn mrpc_header_with_bom_and_unbalanced_quotes() {
        let text = "\u{feff}Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n\
                    1\t702876\t702977\t\"The witness, he said.\tReferring to him as \"the witness\".\r\n\
                    0\t2108705\t2108831\tYucaipa owned it.\tYucaipa bought it.\r\n";
        let examples = parse_glue_tsv(text, origin()).unwrap();
        assert_eq!(
            examples,
            vec![
                TextExample {
                    id: "702876-702977".into(),
                    text_a: "\"The witness, he said.".into(),
                    text_b: Some("Referring to him as \"the witness\".".into()),
                    label: Some("1".into()),
                    line: 2,
                },
                TextExample {
                    id: "2108705-2108831".into(),
                    text_a: "Yucaipa owned it.".into(),
                    text_b: Some("Yucaipa bought it.".into()),
                    label: Some("0".into()),
                    line: 3,
                },
            ]
        );
    }

    #[test]
    fn generic_headers_single_sentence_and_unlabelled_pairs() {
        let single = parse_glue_tsv("sentence\tlabel\nit 's fine \t1\n\n", origin()).unwrap();
        assert_eq!(
            single,
            vec![TextExample {
                id: "0".into(),
                text_a: "it 's fine ".into(),
                text_b: None,
                label: Some("1".into()),
                line: 2,
            }]
        );
        let pairs = parse_glue_tsv("ID\tSentence1\tSentence2\nq7\ta\tb\n", origin()).unwrap();
        assert_eq!(pairs[0].id, "q7");
        assert_eq!(pairs[0].text_b.as_deref(), Some("b"));
        assert_eq!(pairs[0].label, None);
    }

    #[test]
    fn errors_name_file_line_and_what_is_expected() {
        let err = parse_glue_tsv("sentence\tlabel\na\t1\nb\n", origin()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dev.tsv:3: expected 2 TAB-separated fields as in the header, found 1 (fields are split on TAB \
             only, without CSV quoting)"
        );
        let err = parse_glue_tsv("sentence\tgold\n", origin()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "dev.tsv:1: header column 2 \"gold\" is not recognised; accepted column names \
                 (case-insensitive, TAB-separated): {ACCEPTED_COLUMNS}"
            )
        );
        let err = parse_glue_tsv("label\tid\n", origin())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("dev.tsv:1: no text column in the header"),
            "{err}"
        );
        let err = parse_glue_tsv("text\tsentence\n", origin())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "dev.tsv:1: header columns 1 \"text\" and 2 \"sentence\" both hold the first text"
        );
        let err = parse_glue_tsv("\n", origin()).unwrap_err().to_string();
        assert!(err.starts_with("dev.tsv:1: empty file"), "{err}");
    }
}
