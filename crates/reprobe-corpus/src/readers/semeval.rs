//! SemEval-2010 Task 8 files: the release format → [`RelationExample`]s, and the scorer's answer files.
//!
//! # Release format (`TRAIN_FILE.TXT`, `TEST_FILE_FULL.TXT`)
//! ASCII, CRLF (LF also read). One record per sentence:
//!
//! ```text
//! 15<TAB>"They saw that the <e1>equipment</e1> was put inside rollout <e2>drawers</e2>, which …"
//! Content-Container(e1,e2)
//! Comment: the drawer contains the equipment, …
//! <blank line>
//! ```
//!
//! The id is a number; only the outermost pair of quotes is removed (sentences contain quotes of their
//! own: `""Any time," he told her …"`); the tags are read by [`parse_marked_text`] (`e1` is the head).
//! The label line and the `Comment:` line follow; the test file as released for the systems
//! (`TEST_FILE.txt`) has neither, and is read without labels. A record whose next line is its comment
//! (no label), a label that is not one of the 19, a line that fits nowhere, or a file that labels some
//! records and not others is an error naming the line.
//!
//! # Answer files (`id<TAB>label`, the scorer's input)
//! [`parse_answers`]: one `id<TAB>label` per line, any order, as `semeval2010_task8_scorer-v1.2.pl`
//! reads them (CRLF or LF; blank lines are not allowed by the scorer and are skipped here). Labels must
//! be among the 19; ids must be unique.
use std::path::Path;

use super::columns::numbered_lines;
use super::relation::{parse_marked_text, RelationExample};
use crate::error::{Error, Result};

/// The nine relations of SemEval-2010 Task 8; each is a label in both directions, plus `Other`.
pub const SEMEVAL_RELATIONS: [&str; 9] = [
    "Cause-Effect",
    "Component-Whole",
    "Content-Container",
    "Entity-Destination",
    "Entity-Origin",
    "Instrument-Agency",
    "Member-Collection",
    "Message-Topic",
    "Product-Producer",
];

/// Whether `label` is one of the 19 labels (`Other`, or one of [`SEMEVAL_RELATIONS`] with `(e1,e2)` or
/// `(e2,e1)`).
pub fn is_semeval_label(label: &str) -> bool {
    label == "Other"
        || SEMEVAL_RELATIONS.iter().any(|r| {
            label
                .strip_prefix(r)
                .is_some_and(|d| d == "(e1,e2)" || d == "(e2,e1)")
        })
}

/// `id<TAB>"sentence"`, if `line` has that form.
fn sentence_line(line: &str) -> Option<(&str, &str)> {
    let (id, rest) = line.split_once('\t')?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some((id, rest))
}

/// Parses the release format; `path` names the file in errors.
pub fn parse_semeval(path: &Path, text: &str) -> Result<Vec<RelationExample>> {
    let lines: Vec<(usize, &str)> = numbered_lines(text).collect();
    let mut out: Vec<RelationExample> = Vec::new();
    let mut first_labelled: Option<bool> = None;
    let mut i = 0;
    while i < lines.len() {
        let (no, line) = lines[i];
        i += 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((id, quoted)) = sentence_line(line) else {
            return Err(Error::parse(
                path,
                no,
                format!(
                    "expected a sentence line `<id><TAB>\"<sentence>\"`, got {:?}",
                    shorten(line)
                ),
            ));
        };
        let sentence = quoted
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| {
                Error::parse(path, no, "the sentence must be enclosed in double quotes")
            })?;
        let (text, head, tail) = parse_marked_text(sentence)
            .map_err(|msg| Error::parse(path, no, format!("record {id}: {msg}")))?;
        // The label line, then the comment line, when the file has them.
        let mut label = None;
        if let Some(&(label_no, next)) = lines.get(i) {
            let next = next.trim_end();
            if next.starts_with("Comment:") {
                return Err(Error::parse(
                    path,
                    label_no,
                    format!("record {id} has no label line: its comment follows the sentence"),
                ));
            }
            if !next.is_empty() && sentence_line(next).is_none() {
                if !is_semeval_label(next) {
                    return Err(Error::parse(
                        path,
                        label_no,
                        format!(
                            "record {id}: {next:?} is not a SemEval-2010 Task 8 label (Other, or one of {} with (e1,e2) or (e2,e1))",
                            SEMEVAL_RELATIONS.join(", ")
                        ),
                    ));
                }
                label = Some(next.to_string());
                i += 1;
                if lines.get(i).is_some_and(|(_, l)| l.starts_with("Comment:")) {
                    i += 1;
                }
            }
        }
        match first_labelled {
            None => first_labelled = Some(label.is_some()),
            Some(labelled) if labelled != label.is_some() => {
                return Err(Error::parse(
                    path,
                    no,
                    format!(
                        "record {id} {} but the file's first record {}; a file is labelled throughout or not at all",
                        if label.is_some() { "has a label line" } else { "has no label line" },
                        if labelled { "has one" } else { "has none" }
                    ),
                ))
            }
            Some(_) => {}
        }
        out.push(RelationExample {
            id: id.to_string(),
            text,
            head,
            tail,
            head_type: None,
            tail_type: None,
            label,
            at: format!("line {no}"),
        });
    }
    if out.is_empty() {
        return Err(Error::parse(path, 1, "no record in the file"));
    }
    Ok(out)
}

/// Parses an answer file (`id<TAB>label` lines) into `(id, label, line)` in file order.
pub fn parse_answers(path: &Path, text: &str) -> Result<Vec<(String, String, usize)>> {
    let mut out: Vec<(String, String, usize)> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (no, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((id, label)) = sentence_line(line) else {
            return Err(Error::parse(
                path,
                no,
                format!("expected `<id><TAB><label>`, got {:?}", shorten(line)),
            ));
        };
        if !is_semeval_label(label) {
            return Err(Error::parse(
                path,
                no,
                format!("{label:?} is not a SemEval-2010 Task 8 label"),
            ));
        }
        if let Some(first) = seen.insert(id.to_string(), no) {
            return Err(Error::parse(
                path,
                no,
                format!("id {id} is already given on line {first}"),
            ));
        }
        out.push((id.to_string(), label.to_string(), no));
    }
    Ok(out)
}

fn shorten(line: &str) -> String {
    line.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<RelationExample>> {
        parse_semeval(Path::new("t.txt"), text)
    }

    #[test]
    fn records_with_and_without_labels() {
        let text = "1\t\"The <e1>child</e1> was in the <e2>cradle</e2>.\"\r\nContent-Container(e1,e2)\r\nComment:\r\n\r\n2\t\"\"Any time,\" doves<e2>moles</e2> and <e1>x</e1>\"\r\nOther\r\nComment: quotes\r\n\r\n";
        let ex = parse(text).unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].text, "The child was in the cradle.");
        assert_eq!((ex[0].head_text(), ex[0].tail_text()), ("child", "cradle"));
        assert_eq!(ex[0].label.as_deref(), Some("Content-Container(e1,e2)"));
        assert_eq!(ex[1].text, "\"Any time,\" doves moles and x");
        assert_eq!((ex[1].id.as_str(), ex[1].at.as_str()), ("2", "line 5"));
        let unlabelled =
            parse("8001\t\"a <e1>b</e1> <e2>c</e2>\"\n8002\t\"<e1>d</e1> <e2>e</e2>\"\n").unwrap();
        assert!(unlabelled.iter().all(|e| e.label.is_none()));
    }

    #[test]
    fn bad_records_name_the_line() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert!(err("1\t\"a <e1>b</e1> c\"\nOther\n")
            .contains("t.txt:1: record 1: the tag <e2> is missing"));
        assert!(err("1\t\"<e1>b</e1> <e2>c</e2>\"\nComment: x\n")
            .contains("t.txt:2: record 1 has no label line"));
        assert!(err("1\t\"<e1>b</e1> <e2>c</e2>\"\nCause-Effect\n")
            .contains("t.txt:2: record 1: \"Cause-Effect\" is not"));
        assert!(err("1\t<e1>b</e1> <e2>c</e2>\nOther\n")
            .contains("t.txt:1: the sentence must be enclosed"));
        assert!(
            err("1\t\"<e1>b</e1> <e2>c</e2>\"\nOther\n\n2\t\"<e1>b</e1> <e2>c</e2>\"\n")
                .contains("t.txt:4: record 2 has no label line but")
        );
        assert!(err("hello\n").contains("t.txt:1: expected a sentence line"));
        let dup = "1\t\"<e1>b</e1> <e2>c</e2>\"\nOther\n\n1\t\"<e1>b</e1> <e2>c</e2>\"\nOther\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dup.txt");
        std::fs::write(&path, dup).unwrap();
        let msg = crate::readers::relation::read_relations(&path)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("line 4") && msg.contains("already the id of the record at line 1"),
            "{msg}"
        );
    }

    #[test]
    fn answer_files() {
        let path = Path::new("a.txt");
        let ok = parse_answers(path, "2\tOther\r\n1\tCause-Effect(e2,e1)\r\n").unwrap();
        assert_eq!(ok[1], ("1".into(), "Cause-Effect(e2,e1)".into(), 2));
        let err = |t: &str| parse_answers(path, t).unwrap_err().to_string();
        assert!(err("1\tOther\n1\tOther\n").contains("a.txt:2: id 1 is already given on line 1"));
        assert!(err("1\tother\n").contains("a.txt:1: \"other\" is not"));
        assert!(err("1 Other\n").contains("expected `<id><TAB><label>`"));
        assert!(
            is_semeval_label("Product-Producer(e2,e1)")
                && !is_semeval_label("Product-Producer(e1,e1)")
        );
    }
}
