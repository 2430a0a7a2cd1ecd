//! Readers: files → documents. One file per format.
//!
//! - [`columns`]: CoNLL-style column files with IOB2 tags, and CoNLL-2012 NER → [`TaggedSentence`]s.
//! - [`conll2012`]: CoNLL-2012 `*_gold_conll` files → [`crate::Document`]s (word level).
//! - [`jsonlines`]: coref-hoi `*.jsonlines` files → [`crate::PreparedDocument`]s (subtoken level).
//! - [`text`]: plain text → [`crate::Document`]s with the byte range of every word.
//! - [`glue`]: GLUE-style TSV files (MRPC) → [`TextExample`]s for sentence (pair) classification.
//! - [`relation`], [`semeval`], [`tacred`]: SemEval-2010 Task 8, TACRED and marked-text JSON lines →
//!   [`RelationExample`]s (a sentence with two marked arguments) for relation classification.
//! - [`squad`]: SQuAD 2.0 JSON → [`SquadQuestion`]s for extractive question answering.
pub mod columns;
pub mod conll2012;
pub mod glue;
pub mod jsonlines;
pub mod relation;
pub mod semeval;
pub mod squad;
pub mod tacred;
pub mod text;

pub use columns::{
    entity_type, label_set, parse_columns, parse_conll2012_ner, read_columns, read_conll2012_ner,
    write_columns, TaggedSentence,
};
pub use conll2012::{read_conll2012, Conll2012Reader, ConllFile, ConllPart, GOLD_COLUMNS};
pub use glue::{parse_glue_tsv, read_glue_tsv, TextExample};
pub use jsonlines::{parse_jsonlines, read_jsonlines};
pub use relation::{parse_marked_text, read_relations, RelationExample};
pub use squad::{read_squad, SquadAnswer, SquadFile, SquadQuestion};
pub use text::{TextDocument, TextReader};
