//! Entity markers for relation classification (SPEC §5, the reference's marker taskmodule): the model
//! input of a [`RelationExample`] is its sentence with `[H] … [/H]` around the head argument and
//! `[T] … [/T]` around the tail, and, with entity types (TACRED), the typed markers appended:
//!
//! ```text
//! [CLS] … [H] head … [/H] … [T] tail … [/T] … [SEP]                         (SemEval-2010 Task 8)
//! [CLS] … [H] head … [/H] … [T] tail … [/T] … [SEP] [H=ORG] [SEP] [T=PERSON] [SEP]   (TACRED)
//! ```
//!
//! The markers are special tokens added to the tokenizer ([`marker_tokens`] lists them in the
//! reference's order: sorted, so `[/H] [/T] [H=…]… [H] [T=…]… [T]`) and rows added to every encoder's
//! word embeddings. Segment ids are all 0.
//!
//! Too long for `max_len`: the words before the first argument and after the second are cut, keeping a
//! window centred on the arguments (as the reference's `max_window`); what lies from the first marker to
//! the last must fit, else the example is an error that names it.
use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::readers::RelationExample;
use crate::sequence::ClassificationInput;
use crate::tokenize::SubwordTokenizer;

/// Opens the head argument.
pub const HEAD_START: &str = "[H]";
/// Closes the head argument.
pub const HEAD_END: &str = "[/H]";
/// Opens the tail argument.
pub const TAIL_START: &str = "[T]";
/// Closes the tail argument.
pub const TAIL_END: &str = "[/T]";

/// The typed marker of the head (`head = true`) or tail with entity type `kind`: `[H=ORGANIZATION]`.
pub fn typed_marker(head: bool, kind: &str) -> String {
    format!("[{}={kind}]", if head { "H" } else { "T" })
}

/// Every marker token, sorted as the reference adds them: the four argument markers and, for each of
/// `entity_types`, `[H=TYPE]` and `[T=TYPE]` (4 + 2·17 = 38 with TACRED's 17 types).
pub fn marker_tokens(entity_types: &[String]) -> Vec<String> {
    let mut tokens: Vec<String> = [HEAD_START, HEAD_END, TAIL_START, TAIL_END]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for kind in entity_types {
        tokens.push(typed_marker(true, kind));
        tokens.push(typed_marker(false, kind));
    }
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The ids of the markers in a tokenizer that has them ([`SubwordTokenizer::add_special_tokens`]).
#[derive(Debug, Clone)]
pub struct MarkerIds {
    head: (u32, u32),
    tail: (u32, u32),
    typed: HashMap<String, u32>,
    sep: u32,
    cls: u32,
}

impl MarkerIds {
    /// Looks the markers of `entity_types` up in `tokenizer`; an error names a missing one.
    pub fn new(tokenizer: &SubwordTokenizer, entity_types: &[String]) -> Result<Self> {
        let id = |t: &str| {
            tokenizer.token_to_id(t).ok_or_else(|| Error::Tokenizer {
                path: tokenizer.dir().to_path_buf(),
                msg: format!(
                    "the marker {t} is not a token; add the markers to the tokenizer first"
                ),
            })
        };
        let mut typed = HashMap::new();
        for kind in entity_types {
            for head in [true, false] {
                let marker = typed_marker(head, kind);
                typed.insert(marker.clone(), id(&marker)?);
            }
        }
        Ok(MarkerIds {
            head: (id(HEAD_START)?, id(HEAD_END)?),
            tail: (id(TAIL_START)?, id(TAIL_END)?),
            typed,
            sep: tokenizer.sep().id,
            cls: tokenizer.cls().id,
        })
    }

    /// Whether typed markers are appended.
    pub fn typed(&self) -> bool {
        !self.typed.is_empty()
    }
}

/// A relation example encoded, and whether words around its arguments were cut to fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationInput {
    /// The ids and segment ids.
    pub input: ClassificationInput,
    /// Words outside the arguments were cut.
    pub trimmed: bool,
}

fn subtokens(tokenizer: &SubwordTokenizer, text: &str) -> Result<Vec<u32>> {
    let mut ids = tokenizer.encode_line(text)?.ids;
    ids.pop();
    ids.remove(0);
    Ok(ids)
}

/// Encodes `example` (module documentation) in at most `max_len` ids. With typed markers the example
/// must have both entity types, and each must have its markers. Errors say what to change; the caller
/// adds which record it is.
pub fn encode_relation(
    example: &RelationExample,
    tokenizer: &SubwordTokenizer,
    markers: &MarkerIds,
    max_len: usize,
) -> Result<RelationInput> {
    let fail = |msg: String| Error::Argument {
        name: "relation example",
        msg,
    };
    let mut args = [
        (example.head.clone(), markers.head),
        (example.tail.clone(), markers.tail),
    ];
    args.sort_by_key(|(r, _)| r.start);
    let [(first, first_marks), (second, second_marks)] = args;
    if first.end > second.start {
        return Err(fail("the two arguments overlap".into()));
    }
    let text = &example.text;
    let before = subtokens(tokenizer, &text[..first.start])?;
    let mut middle = vec![first_marks.0];
    let first_ids = subtokens(tokenizer, &text[first.clone()])?;
    let second_ids = subtokens(tokenizer, &text[second.clone()])?;
    if first_ids.is_empty() || second_ids.is_empty() {
        return Err(fail("an argument has no subtoken".into()));
    }
    middle.extend(first_ids);
    middle.push(first_marks.1);
    middle.extend(subtokens(tokenizer, &text[first.end..second.start])?);
    middle.push(second_marks.0);
    middle.extend(second_ids);
    middle.push(second_marks.1);
    let after = subtokens(tokenizer, &text[second.end..])?;

    let mut appended = Vec::new();
    if markers.typed() {
        for (head, kind) in [(true, &example.head_type), (false, &example.tail_type)] {
            let role = if head { "head" } else { "tail" };
            let Some(kind) = kind else {
                return Err(fail(format!(
                    "the {role} has no entity type, and typed markers need one"
                )));
            };
            let marker = typed_marker(head, kind);
            let Some(&id) = markers.typed.get(&marker) else {
                return Err(fail(format!(
                    "the {role}'s entity type {kind:?} has no marker {marker}: list it in head.entity_types"
                )));
            };
            appended.extend([id, markers.sep]);
        }
    }
    let fixed = 2 + appended.len(); // [CLS], [SEP], typed markers with their [SEP]s
    if fixed + middle.len() > max_len {
        return Err(fail(format!(
            "the arguments and the words between them take {} subtokens with their markers; with {fixed} special tokens that exceeds the maximum length {max_len} (data.seg_len)",
            middle.len()
        )));
    }
    let room = max_len - fixed - middle.len();
    let trimmed = before.len() + after.len() > room;
    // A window centred on the arguments: each side gets half the room, a side that needs less gives the
    // rest to the other.
    let keep_after = after
        .len()
        .min(room.saturating_sub(before.len()).max(room / 2));
    let keep_before = before.len().min(room - keep_after);
    let mut input_ids = Vec::with_capacity(max_len);
    input_ids.push(markers.cls);
    input_ids.extend_from_slice(&before[before.len() - keep_before..]);
    input_ids.extend(middle);
    input_ids.extend_from_slice(&after[..keep_after]);
    input_ids.push(markers.sep);
    input_ids.extend(appended);
    let token_type_ids = vec![0; input_ids.len()];
    Ok(RelationInput {
        input: ClassificationInput {
            input_ids,
            token_type_ids,
        },
        trimmed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::parse_marked_text;

    fn tokenizer(dir: &std::path::Path, types: &[String]) -> SubwordTokenizer {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\nd\ne\nx\ny\n";
        std::fs::write(dir.join("vocab.txt"), vocab).unwrap();
        let mut tok = SubwordTokenizer::from_dir(dir).unwrap();
        tok.add_special_tokens(&marker_tokens(types)).unwrap();
        tok
    }

    fn example(marked: &str, types: Option<(&str, &str)>) -> RelationExample {
        let (text, head, tail) = parse_marked_text(marked).unwrap();
        RelationExample {
            id: "1".into(),
            text,
            head,
            tail,
            head_type: types.map(|t| t.0.to_string()),
            tail_type: types.map(|t| t.1.to_string()),
            label: None,
            at: "line 1".into(),
        }
    }

    fn tokens(tok: &SubwordTokenizer, ids: &[u32]) -> String {
        let vocab: HashMap<u32, String> = (0..tok.len_with_added() as u32)
            .filter_map(|id| {
                [
                    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e", "x", "y",
                ]
                .iter()
                .chain(["[/H]", "[/T]", "[H=P]", "[H]", "[T=P]", "[T]"].iter())
                .find(|t| tok.token_to_id(t) == Some(id))
                .map(|t| (id, t.to_string()))
            })
            .collect();
        ids.iter()
            .map(|i| vocab[i].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn reference_marker_order() {
        let types = ["ORG".to_string(), "PER".to_string()];
        assert_eq!(
            marker_tokens(&types),
            ["[/H]", "[/T]", "[H=ORG]", "[H=PER]", "[H]", "[T=ORG]", "[T=PER]", "[T]"]
        );
        assert_eq!(marker_tokens(&[]), ["[/H]", "[/T]", "[H]", "[T]"]);
    }

    #[test]
    fn markers_around_arguments_in_either_order() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path(), &[]);
        let m = MarkerIds::new(&tok, &[]).unwrap();
        let e = example("a <e1>b c</e1> d <e2>e</e2> x", None);
        let enc = encode_relation(&e, &tok, &m, 64).unwrap();
        assert_eq!(
            tokens(&tok, &enc.input.input_ids),
            "[CLS] a [H] b c [/H] d [T] e [/T] x [SEP]"
        );
        assert!(!enc.trimmed && enc.input.token_type_ids.iter().all(|&t| t == 0));
        let e = example("<e2>a</e2> <e1>b</e1>", None);
        let enc = encode_relation(&e, &tok, &m, 64).unwrap();
        assert_eq!(
            tokens(&tok, &enc.input.input_ids),
            "[CLS] [T] a [/T] [H] b [/H] [SEP]"
        );
    }

    #[test]
    fn typed_markers_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let types = vec!["P".to_string()];
        let tok = tokenizer(dir.path(), &types);
        let m = MarkerIds::new(&tok, &types).unwrap();
        let e = example("<e1>a</e1> b <e2>c</e2>", Some(("P", "P")));
        let enc = encode_relation(&e, &tok, &m, 64).unwrap();
        assert_eq!(
            tokens(&tok, &enc.input.input_ids),
            "[CLS] [H] a [/H] b [T] c [/T] [SEP] [H=P] [SEP] [T=P] [SEP]"
        );
        let unknown = example("<e1>a</e1> b <e2>c</e2>", Some(("P", "Q")));
        let err = encode_relation(&unknown, &tok, &m, 64)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"Q\" has no marker [T=Q]"), "{err}");
    }

    #[test]
    fn long_inputs_keep_a_window_around_the_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tokenizer(dir.path(), &[]);
        let m = MarkerIds::new(&tok, &[]).unwrap();
        let e = example("a b c d <e1>x</e1> <e2>y</e2> a b", None);
        // [CLS] + 6 marked ids + [SEP] = 8. Max 11: room 3, the right side gets half (1), the left the
        // rest (2). Max 9: room 1, the left side gets the odd id.
        let enc = encode_relation(&e, &tok, &m, 11).unwrap();
        assert!(enc.trimmed);
        assert_eq!(
            tokens(&tok, &enc.input.input_ids),
            "[CLS] c d [H] x [/H] [T] y [/T] a [SEP]"
        );
        let enc = encode_relation(&e, &tok, &m, 9).unwrap();
        assert_eq!(
            tokens(&tok, &enc.input.input_ids),
            "[CLS] d [H] x [/H] [T] y [/T] [SEP]"
        );
        let err = encode_relation(&e, &tok, &m, 7).unwrap_err().to_string();
        assert!(err.contains("exceeds the maximum length 7"), "{err}");
    }
}
