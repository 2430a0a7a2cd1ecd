//! Coreference documents, from files to model segments.
//!
//! ```text
//! CoNLL-2012 file ──► Document (words, sentences, speakers, clusters as word spans)
//!                          │ tokenize (WordPiece, `tokenizers` crate) + segment (≤ seg_len, [CLS]/[SEP])
//!                          ▼
//!                    PreparedDocument (coref-hoi jsonlines: segments, sentence_map, subtoken_map, clusters)
//! ```
//!
//! This crate has no tensors and no model code.
#![deny(missing_docs)]

pub mod atomic;
pub mod document;
pub mod error;
pub mod readers;
pub mod tokenize;
pub mod writers;

pub use atomic::write_atomic;
pub use document::{genre_of, Cluster, Document, PreparedDocument, Span, ONTONOTES_GENRES};
pub use error::{Error, Result};
pub use readers::conll2012::read_conll2012;
pub use tokenize::{Encoded, SpecialToken, SubwordTokenizer};
