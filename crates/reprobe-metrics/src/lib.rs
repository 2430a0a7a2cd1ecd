//! CoNLL-2012 coreference metrics with the semantics of the official reference scorer v8.01.
//!
//! ```text
//! key clusters ─┐                                       ┌─► MUC, B³, CEAFm, CEAFe, BLANC, LEA counts
//!               ├─► identify_mentions ──► Chains ───────┤   (per document: recall/precision num/den)
//! response ─────┘   (exact boundaries, repeats removed) └─► mention identification
//!                                                              │ summed over documents
//!                                         CorefEvaluator ◄─────┘ totals(), conll_f1()
//! ```
//!
//! Every number the project reports rests on this crate: it reproduces the reference scorer
//! (conll/reference-coreference-scorers v8.01, Pradhan et al. 2014) count for count, including its
//! handling of repeated mentions, missing documents and mentions outside the key; [`coref`] lists
//! these rules with the papers that define each metric. The principal types are [`CorefEvaluator`]
//! (the accumulator), [`CorefCounts`] (raw counts of every metric) and [`Counts`] (one metric's recall
//! and precision numerators and denominators, with [`Counts::scores`]).
//!
//! It works on clusters of spans of any type that identifies a span exactly, so the same core serves
//! `reprobe score` (word spans read from CoNLL files by `reprobe-corpus`) and the in-training
//! evaluation (subtoken spans of gold and predicted clusters, one document at a time):
//!
//! ```
//! use reprobe_metrics::{CorefEvaluator, MetricSet};
//!
//! // During validation: only what val/f1 needs.
//! let mut evaluator = CorefEvaluator::with_metrics(MetricSet::conll());
//! // One document: gold and predicted clusters as inclusive (start, end) subtoken indices.
//! let gold: Vec<Vec<(usize, usize)>> = vec![vec![(1, 2), (7, 7)], vec![(4, 5), (9, 9), (12, 13)]];
//! let predicted: Vec<Vec<(usize, usize)>> = vec![vec![(1, 2), (7, 7), (9, 9)], vec![(12, 13)]];
//! let doc = evaluator.add_document(&gold, &predicted);
//! // MUC: one correct link ((1,2)–(7,7)) of 1 + 2 gold links and 2 + 0 predicted links.
//! let muc = doc.counts.muc.unwrap();
//! assert_eq!((muc.recall_num, muc.recall_den, muc.precision_den), (1.0, 3.0, 2.0));
//! // ... more documents ...
//! let val_f1 = evaluator.conll_f1().unwrap(); // a fraction in [0, 1]
//! assert!(val_f1 > 0.0 && val_f1 < 1.0);
//! ```
//!
//! This crate parses no file and holds no tensor: readers live in `reprobe-corpus`, the `reprobe score`
//! command in the binary.
//!
//! Beside coreference, the source tasks have their metrics: [`ner`] (entity-level P/R/F1 read as
//! `seqeval` reads IOB2 tags, and the reference's token-level micro F1) and [`classification`]
//! (accuracy, P/R/F1 of one class, per-label, macro and micro averages as scikit-learn computes them,
//! and the TACRED scorer's micro score).
//! Relation classification has [`relation`]: TACRED's official micro score and SemEval-2010 Task 8's
//! official macro F1 (directionality taken into account).
//! Extractive QA has [`squad`]: the official SQuAD 2.0 exact match and F1 with the HasAns/NoAns split.
#![deny(missing_docs)]

pub mod classification;
pub mod coref;
pub mod coref_hoi;
mod error;
pub mod ner;
pub mod relation;
pub mod squad;

pub use coref::{
    pair_documents, score_document, BlancCounts, CorefCounts, CorefEvaluator, Counts,
    DocumentCounts, Metric, MetricSet, Scores,
};
pub use coref_hoi::CorefHoiEvaluator;
pub use error::{Error, Result};
