//! Aggregation of several encoders' token embeddings into one (SPEC §2.3).
