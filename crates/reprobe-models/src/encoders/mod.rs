//! Transformer encoders built from Hugging Face checkpoints.
