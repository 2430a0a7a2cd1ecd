//! Task heads on top of the (aggregated) token embeddings.
//!
//! - [`coref`]: the coref-hoi span-ranking coreference head (SPEC §3.3–3.5);
//! - [`token_classification`]: a linear tagger per subtoken, as `BertForTokenClassification` (SPEC §5);
//! - [`sequence_classification`]: `[CLS]` (+ pooler) → linear, as `BertForSequenceClassification` (SPEC §5);
//! - [`question_answering`]: start/end logits per subtoken, as `BertForQuestionAnswering` (SPEC §5);
//! - [`layers`]: the linear layer, FFNN, softmax and cross-entropy they share.
//!
//! Every head implements [`Head`], so a train loop is written once: embeddings in, scores (and a loss
//! with gold) out, then decoded predictions. Head parameters live in the [`crate::params::ParamStore`]
//! under [`PARAM_PREFIX`].
use candle_core::Tensor;

use crate::Result;

pub mod coref;
pub mod layers;
pub mod question_answering;
pub mod sequence_classification;
pub mod token_classification;

pub use question_answering::{QuestionAnsweringHead, QuestionAnsweringOutput};
pub use sequence_classification::{
    SequenceClassificationConfig, SequenceClassificationHead, SequenceClassificationOutput,
    SequencePrediction,
};
pub use token_classification::{
    TokenClassificationConfig, TokenClassificationHead, TokenClassificationOutput,
};

/// Prefix of every head parameter name in the [`crate::params::ParamStore`].
pub const PARAM_PREFIX: &str = "head.";

/// A task head: embeddings (plus per-batch inputs) → scores, a loss when gold is given, predictions.
pub trait Head {
    /// Per-batch inputs besides the embeddings (e.g. coref's sentence map and speakers; `()` for the
    /// classification heads).
    type Inputs;
    /// The gold annotation of a batch.
    type Gold;
    /// What a forward pass computes: the scores, plus the loss when gold was given.
    type Output;
    /// The predictions decoded from an [`Head::Output`].
    type Decoded;

    /// Scores a batch; with `gold`, also the loss. Dropout is active only when `train` is true.
    fn forward_t(
        &self,
        embeddings: &Tensor,
        inputs: &Self::Inputs,
        gold: Option<&Self::Gold>,
        train: bool,
    ) -> Result<Self::Output>;

    /// Evaluation: the numbers of `forward_t(…, false)` without an autograd graph (no dropout, nothing
    /// can be back-propagated).
    fn forward_eval(
        &self,
        embeddings: &Tensor,
        inputs: &Self::Inputs,
        gold: Option<&Self::Gold>,
    ) -> Result<Self::Output>;

    /// The scalar loss of an output, when gold was given.
    fn loss(output: &Self::Output) -> Option<&Tensor>;

    /// The predictions of an output.
    fn decode(&self, output: &Self::Output) -> Result<Self::Decoded>;
}

impl Head for coref::CorefHead {
    type Inputs = coref::CorefInputs;
    type Gold = coref::CorefGold;
    type Output = coref::CorefOutput;
    /// Clusters of subtoken spans (ends inclusive), see [`coref::CorefOutput::decode`].
    type Decoded = Vec<Vec<(usize, usize)>>;

    /// [`coref::CorefHead::forward_t`]; `embeddings` is the document `[N, H]`.
    fn forward_t(
        &self,
        embeddings: &Tensor,
        inputs: &Self::Inputs,
        gold: Option<&Self::Gold>,
        train: bool,
    ) -> Result<Self::Output> {
        coref::CorefHead::forward_t(self, embeddings, inputs, gold, train)
    }

    /// [`coref::CorefHead::forward_eval`].
    fn forward_eval(
        &self,
        embeddings: &Tensor,
        inputs: &Self::Inputs,
        gold: Option<&Self::Gold>,
    ) -> Result<Self::Output> {
        coref::CorefHead::forward_eval(self, embeddings, inputs, gold)
    }

    fn loss(output: &Self::Output) -> Option<&Tensor> {
        output.loss.as_ref()
    }

    fn decode(&self, output: &Self::Output) -> Result<Self::Decoded> {
        output.decode()
    }
}
