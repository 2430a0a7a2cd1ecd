//! Readers: files → documents. One file per format.
//!
//! - [`conll2012`]: CoNLL-2012 `*_gold_conll` files → [`crate::Document`]s (word level).
pub mod conll2012;

pub use conll2012::{read_conll2012, Conll2012Reader, ConllFile, ConllPart, GOLD_COLUMNS};
