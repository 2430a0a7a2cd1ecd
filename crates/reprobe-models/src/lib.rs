//! Transformer encoders, the encoder stack, task heads and optimisers on candle.
#![deny(missing_docs)]
