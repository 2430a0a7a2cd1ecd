//! Task heads on top of the (aggregated) token embeddings.
//!
//! - [`coref`]: the coref-hoi span-ranking coreference head (SPEC §3.3–3.5).

pub mod coref;
