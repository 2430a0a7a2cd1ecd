//! Coreference documents, from files to model segments: the first two stages of the reprobe data flow
//! (DESIGN.md, "documents ──► subtokens").
//!
//! ```text
//! CoNLL-2012 file ──► Document (words, sentences, speakers, clusters as word spans)      readers::conll2012
//! plain text     ──►   "        (+ byte offsets of every word)                         readers::text
//!                          │ tokenize (SubwordTokenizer: WordPiece, `tokenizers` crate)    tokenize
//!                          │ segment (≤ seg_len subtokens, [CLS]/[SEP])                    segment
//!                          ▼                                                               prepare
//!                    PreparedDocument (coref-hoi jsonlines: segments, sentence_map,
//!                                      subtoken_map, clusters as flat subtoken spans)      readers/writers::jsonlines
//! clusters ──► CoNLL-2012 response aligned with a key file, or a minimal file           writers::conll2012
//!
//! source tasks: IOB2 column file ──► TaggedSentence (words, tags)                        readers::columns
//!               GLUE TSV (MRPC)  ──► TextExample (text a, text b, label)                readers::glue
//!               SemEval / TACRED ──► RelationExample (text, two arguments, label)       readers::relation
//!                                ──► marked input [H] … [/H] … [T] … [/T]               markers
//!               SQuAD 2.0 JSON   ──► SquadQuestion ──► QA windows; logits ──► answers    readers::squad, qa
//!               ──► model inputs: tagged windows, sentence pairs (SubwordTokenizer)      sequence
//! ```
//!
//! Principal types: [`Document`] (word level, what the scorer sees), [`PreparedDocument`] (subtoken
//! level, what the model sees), [`SubwordTokenizer`], [`PrepareStats`]. Every span is a [`Span`] with an
//! **inclusive** end, as in the CoNLL brackets and the jsonlines clusters. Errors are [`Error`]; each names
//! the file and line (readers), the tokenizer folder, or the document key.
//!
//! The behaviour follows the reference preprocessing (coref-hoi `preprocess.py`, SPEC §6) and, for the
//! coreference brackets, the official scorer v8.01; deviations are stated on the items concerned.
//!
//! ```
//! use reprobe_corpus::{prepare_document, readers::Conll2012Reader, SubwordTokenizer};
//! # let dir = tempfile::tempdir().unwrap();
//! # std::fs::write(dir.path().join("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\njohn\nleft\n.\nhe\n").unwrap();
//! let conll = "#begin document (nw/demo); part 000\n\
//!              d 0 0 John - - - - - - * (0)\n\
//!              d 0 1 left - - - - - - * -\n\
//!              d 0 2 . - - - - - - * -\n\
//!              \n\
//!              d 0 0 He - - - - - - * (0)\n\
//!              \n\
//!              #end document\n";
//! let doc = Conll2012Reader::new("bc").parse("demo.conll", conll.as_bytes())?.into_documents().remove(0);
//! let tokenizer = SubwordTokenizer::from_dir(dir.path())?; // vocab.txt, lower-cased by default
//! let (prepared, stats) = prepare_document(&doc, &tokenizer, 384)?;
//! assert_eq!(prepared.sentences, vec![vec!["[CLS]", "john", "left", ".", "he", "[SEP]"]]);
//! assert_eq!(prepared.clusters, vec![vec![[1, 1], [4, 4]]]);
//! assert_eq!(prepared.sentence_map, vec![0, 0, 0, 0, 1, 2]);
//! assert_eq!((stats.segments, stats.subtokens), (1, 6));
//! # Ok::<(), reprobe_corpus::Error>(())
//! ```
//!
//! What this crate does not do: tensors, models, metrics (`reprobe-metrics` scores the clusters read
//! here), and downloading tokenizers (a tokenizer is a local folder).
#![deny(missing_docs)]

pub mod atomic;
pub mod document;
pub mod error;
pub mod markers;
pub mod prepare;
pub mod qa;
pub mod readers;
pub mod segment;
pub mod sequence;
pub mod tokenize;
pub mod writers;

pub use atomic::write_atomic;
pub use document::{genre_of, Cluster, Document, PreparedDocument, Span, ONTONOTES_GENRES};
pub use error::{Error, Result};
pub use prepare::{prepare_document, PrepareStats};
pub use readers::conll2012::read_conll2012;
pub use sequence::{
    encode_pair, encode_tagged, label_index, split_words_with_offsets, ClassificationInput,
    TaggedWindow, IGNORE_LABEL,
};
pub use tokenize::{Encoded, SpecialToken, SubwordTokenizer};
