//! Readers: files → documents. One file per format.
//!
//! - [`conll2012`]: CoNLL-2012 `*_gold_conll` files → [`crate::Document`]s (word level).
//! - [`jsonlines`]: coref-hoi `*.jsonlines` files → [`crate::PreparedDocument`]s (subtoken level).
//! - [`text`]: plain text → [`crate::Document`]s with the byte range of every word.
pub mod conll2012;
pub mod jsonlines;
pub mod text;

pub use conll2012::{read_conll2012, Conll2012Reader, ConllFile, ConllPart, GOLD_COLUMNS};
pub use jsonlines::{parse_jsonlines, read_jsonlines};
pub use text::{TextDocument, TextReader};
