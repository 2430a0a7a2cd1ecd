//! Transformer encoders built from Hugging Face checkpoints.
//!
//! Every encoder returns the output of **every** kept layer, as `output_hidden_states=True` does in
//! transformers: index 0 is the embedding output, index `i` the output of layer `i`. A truncated encoder
//! (SPEC §2.1, `truncate = k`) has `k + 1` hidden states and never loads the layers above `k`.
use candle_core::Tensor;

pub mod bert;
pub mod checkpoint;
pub mod config;
pub mod hub;
pub mod stack;
pub mod vocab;

pub use bert::{BertEncoder, BertOptions, Tuning};
pub use checkpoint::{Checkpoint, WeightFile, WeightFormat};
pub use config::{BertConfig, HiddenAct};

use crate::Result;

/// A token encoder: subtoken ids in, one `[B, T, H]` tensor per layer out.
pub trait Encoder: Send + Sync {
    /// Runs the encoder; dropout is active only when `train` is true.
    ///
    /// # Shapes
    /// - `input_ids`: `[B, T]` (u32)
    /// - `attention_mask`: `[B, T]` (1 = token, 0 = padding; u32 or f32)
    /// - output: `num_layers() + 1` tensors of `[B, T, H]`
    fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>>;

    /// [`Encoder::forward_t`] with segment (token type) ids, as BERT takes them for sentence pairs.
    /// `None` is segment 0 everywhere, exactly `forward_t`. Encoders without segment embeddings refuse
    /// `Some`.
    ///
    /// # Shapes
    /// - `token_type_ids`: `[B, T]` (u32), like `input_ids`
    fn forward_typed(
        &self,
        input_ids: &Tensor,
        token_type_ids: Option<&Tensor>,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Vec<Tensor>> {
        match token_type_ids {
            None => self.forward_t(input_ids, attention_mask, train),
            Some(_) => Err(crate::Error::Config {
                key: "token_type_ids".into(),
                msg: "this encoder has no segment embeddings".into(),
            }),
        }
    }

    /// `H`, the width of every hidden state.
    fn hidden_size(&self) -> usize;

    /// Number of transformer layers kept (after truncation).
    fn num_layers(&self) -> usize;

    /// A stable identifier of the weights and architecture (content hash of the checkpoint, truncation,
    /// vocabulary size): equal fingerprints give equal outputs. The feature cache keys on it.
    fn fingerprint(&self) -> &str;

    /// The encoder as a [`BertEncoder`] when it is one (to export or inspect its weights); `None` by
    /// default.
    fn as_bert(&self) -> Option<&BertEncoder> {
        None
    }
}
