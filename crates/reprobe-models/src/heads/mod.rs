//! Task heads on top of the (aggregated) token embeddings.
