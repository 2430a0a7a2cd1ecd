//! Fused CPU kernels with hand-written backward passes, for training a BERT encoder in f32 on CPU.
//!
//! Built from candle's small ops, a tuned encoder's training step spends most of its backward pass
//! outside the matrix products: every op's gradient is a freshly allocated zero tensor plus an added copy,
//! broadcasts are undone by reductions, constant operands (dropout masks, the attention mask) get gradients
//! nobody reads, and attention run one batch row at a time turns each row's slice into a full-size
//! zero-padded gradient. These ops do the work of a BERT sub-layer as one graph node each:
//! - [`linear`]: `mask ∘ act(x Wᵀ + b)`, an optional exact GELU and dropout mask;
//! - [`layer_norm`]: `mask ∘ LayerNorm(x)`;
//! - [`attention`]: multi-head attention with the key mask and dropout on the probabilities.
//!
//! All take f32 CPU tensors; the encoder keeps candle's composed ops for other dtypes and
//! devices. Their gradients are checked against those composed ops (here) and against transformers
//! (`tests/bert_grad_golden.rs`).
mod attention;
mod cpu;
mod gelu;
mod layer_norm;
mod linear;

pub(crate) use attention::attention;
pub(crate) use cpu::parallel;
pub(crate) use gelu::gelu_erf;
pub(crate) use layer_norm::layer_norm;
pub(crate) use linear::linear;
