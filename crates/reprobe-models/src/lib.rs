//! Transformer encoders, the encoder stack, task heads and optimisers on candle.
//!
//! ```text
//! subtoken ids ──► encoders (BERT, every layer) ──► aggregate (mean/sum/concat/attention) ──► heads (coref)
//!                       ▲ feature cache for frozen encoders                                    │
//!                                                            optim (AdamW groups, schedules) ◄─┘ loss
//! ```
//!
//! Heads: [`heads::coref`], [`heads::token_classification`], [`heads::sequence_classification`], all behind
//! [`heads::Head`]. A trained encoder (+ head) is written back as a Hugging Face folder by [`export`].
//!
//! This crate reads and writes weights and the feature cache; it has no file formats for documents and no
//! train loop.
#![deny(missing_docs)]

pub mod aggregate;
pub mod cache;
pub mod dropout;
pub mod encoders;
mod error;
pub mod export;
pub mod heads;
mod ops;
pub mod optim;
pub mod params;
pub mod rng;

pub use error::{Error, Result};
