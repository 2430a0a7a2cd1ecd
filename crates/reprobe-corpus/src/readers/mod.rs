//! Readers: files → documents. One file per format.
//!
//! - [`conll2012`]: CoNLL-2012 `*_gold_conll` files → [`crate::Document`]s (word level).
//! - [`jsonlines`]: coref-hoi `*.jsonlines` files → [`crate::PreparedDocument`]s (subtoken level).
pub mod conll2012;
pub mod jsonlines;

pub use conll2012::{read_conll2012, Conll2012Reader, ConllFile, ConllPart, GOLD_COLUMNS};
pub use jsonlines::{parse_jsonlines, read_jsonlines};
