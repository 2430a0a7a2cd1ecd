//! What [`mean`](super::mean) and [`sum`](super::sum) share (SPEC §2.3, `aggregate_mean`,
//! `aggregate_sum`): the encoders' last hidden states stacked on a new last axis, `stack(e, -1)`, and
//! reduced over it.
use candle_core::{Tensor, D};

use super::{last_states, zero_padding, AggregateOutput, Compat};
use crate::Result;

/// How the encoder axis is reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduction {
    /// `stack(e, -1).mean(-1)`
    Mean,
    /// `stack(e, -1).sum(-1)`
    Sum,
}

/// A parameter-free reduction of `models` encoders of width `hidden_size`.
#[derive(Debug, Clone)]
pub(crate) struct Reduce {
    pub reduction: Reduction,
    pub models: usize,
    pub hidden_size: usize,
    pub compat: Compat,
}

impl Reduce {
    /// # Shapes
    /// - `inputs`: M lists of one `[B, T, H]`; output `[B, T, H]`, no attention
    pub fn forward(
        &self,
        inputs: &[Vec<Tensor>],
        attention_mask: &Tensor,
    ) -> Result<AggregateOutput> {
        let last = last_states(inputs, self.models, self.hidden_size)?; // M × [B, T, H]
        let stacked = Tensor::stack(&last, D::Minus1)?; // [B, T, H, M]
        let reduced = match self.reduction {
            Reduction::Mean => stacked.mean(D::Minus1)?, // [B, T, H]
            Reduction::Sum => stacked.sum(D::Minus1)?,   // [B, T, H]
        };
        Ok(AggregateOutput {
            embeddings: zero_padding(reduced, attention_mask, self.compat.include_padding)?,
            attention: None,
        })
    }
}
