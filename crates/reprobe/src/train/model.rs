//! The coreference model of a run: the encoder stack (SPEC §2) and the coref-hoi head (SPEC §3), with one
//! parameter store and one seeded random stream.
use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};

use reprobe_corpus::SubwordTokenizer;
use reprobe_models::encoders::hub;
use reprobe_models::encoders::stack::{EncoderStack, StackOutput};
use std::borrow::Cow;

use reprobe_models::heads::coref::{crop_document, CorefGold, CorefHead, CorefInputs, CorefOutput};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

use super::data::ModelDocument;
use crate::config::RunConfig;
use crate::device::{parse_device, parse_dtype};

/// Everything that computes: tokenizer, encoders, aggregator, head, their parameters and random stream.
pub struct CorefModel {
    /// The shared tokenizer of the stack.
    pub tokenizer: SubwordTokenizer,
    /// The encoders and the aggregator.
    pub stack: EncoderStack,
    /// The coref-hoi head.
    pub head: CorefHead,
    /// Every trainable parameter (tuned encoders, aggregator, head).
    pub params: ParamStore,
    /// The stream of initialisation and dropout draws (saved in checkpoints).
    pub rng: ModelRng,
    /// Where the model runs.
    pub device: Device,
}

/// What one forward pass gives.
pub struct Forward {
    /// The head's scores, loss (with gold) and decoding.
    pub output: CorefOutput,
    /// The encoder stack's diagnostics (attention weights, cosine similarities).
    pub stack: StackOutput,
    /// The subtoken offset of the kept window when the document was cropped (0 otherwise).
    pub token_offset: usize,
    /// Seconds in the encoder stack (encoders, cache, aggregation).
    pub encoder_seconds: f64,
    /// Seconds in the head (forward and loss).
    pub head_seconds: f64,
}

impl CorefModel {
    /// Builds the model of `cfg`: loads every encoder (frozen ones as plain tensors, tuned ones as
    /// parameters), then the aggregator and the head with fresh parameters drawn from `cfg.seed`.
    pub fn build(cfg: &RunConfig) -> Result<CorefModel> {
        let device = parse_device(&cfg.device)?;
        let dtype = parse_dtype(&cfg.dtype)?;
        let stack_cfg = cfg.stack_config();
        let order = stack_cfg.order()?;
        let tokenizer_dir = match &cfg.data.tokenizer {
            Some(t) => hub::resolve(t)?,
            None => hub::resolve(&stack_cfg.encoders[&order[0]].checkpoint).with_context(|| {
                format!(
                    "cannot find the tokenizer of encoder `{}` (set `data.tokenizer`)",
                    order[0]
                )
            })?,
        };
        let tokenizer = SubwordTokenizer::from_dir(&tokenizer_dir)?;
        let rng = ModelRng::new(cfg.seed);
        let params = ParamStore::new(rng.clone(), DType::F32, device.clone());
        let stack = EncoderStack::load(&stack_cfg, tokenizer.vocab_size(), &params, dtype)
            .with_context(|| format!("cannot build the encoder stack [{}]", order.join(", ")))?;
        let head = CorefHead::new(&cfg.head, stack.output_size(), &params)?;
        Ok(CorefModel {
            tokenizer,
            stack,
            head,
            params,
            rng,
            device,
        })
    }

    /// Runs one document: encoders on its segments (cropped to `crop = Some((max_segments, offset))` when
    /// given and the document is longer), the aggregator, then the head, with the loss when `with_gold`.
    pub fn forward(
        &self,
        doc: &ModelDocument,
        crop: Option<(usize, usize)>,
        with_gold: bool,
        train: bool,
    ) -> Result<Forward> {
        let started = std::time::Instant::now();
        let encoded = self.encode(doc, crop, with_gold, train)?;
        let encoder_seconds = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let output = self.score(&encoded, &encoded.embeddings, train)?;
        Ok(Forward {
            output,
            stack: encoded.stack,
            token_offset: encoded.token_offset,
            encoder_seconds,
            head_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The first half of [`CorefModel::forward`]: the document's (cropped) inputs through the encoder
    /// stack, as `[N, H]` f32 embeddings of its real subtokens.
    pub fn encode<'a>(
        &self,
        doc: &'a ModelDocument,
        crop: Option<(usize, usize)>,
        with_gold: bool,
        train: bool,
    ) -> Result<Encoded<'a>> {
        let gold = with_gold.then(|| doc.gold());
        let (segments, inputs, gold, token_offset) = match crop {
            Some((max_segments, offset)) if doc.segments.len() > max_segments => {
                let cropped = crop_document(
                    &doc.inputs,
                    gold.as_ref(),
                    max_segments,
                    offset,
                    self.head.config().gold_crop,
                )?;
                (
                    &doc.segments[cropped.segments.clone()],
                    Cow::Owned(cropped.inputs),
                    cropped.gold,
                    cropped.tokens.start,
                )
            }
            _ => (&doc.segments[..], Cow::Borrowed(&doc.inputs), gold, 0),
        };
        let (input_ids, attention_mask, real) = pad_segments(segments, &self.device)?;
        let stack = self
            .stack
            .forward_t(&input_ids, &attention_mask, Some(&doc.doc_key), train)
            .with_context(|| format!("encoding document {}", doc.doc_key))?;
        let (s, t, h) = stack.embeddings.dims3()?;
        // [S, T, H] → [S·T, H] → the real subtokens [N, H], in f32 for the head.
        let embeddings = stack
            .embeddings
            .reshape((s * t, h))?
            .index_select(&real, 0)?
            .to_dtype(DType::F32)?;
        self.device.synchronize()?;
        Ok(Encoded {
            embeddings,
            stack,
            inputs,
            gold,
            token_offset,
            doc_key: &doc.doc_key,
        })
    }

    /// The second half of [`CorefModel::forward`]: the head on `embeddings` (normally
    /// `encoded.embeddings`; the benchmark passes a detached copy to time the backward passes apart).
    pub fn score(
        &self,
        encoded: &Encoded<'_>,
        embeddings: &Tensor,
        train: bool,
    ) -> Result<CorefOutput> {
        let inputs = encoded.inputs.as_ref();
        let gold = encoded.gold.as_ref();
        // Evaluation builds no autograd graph (same numbers as `train = false`).
        let output = if train {
            self.head.forward_t(embeddings, inputs, gold, true)
        } else {
            self.head.forward_eval(embeddings, inputs, gold)
        }
        .with_context(|| format!("scoring document {}", encoded.doc_key))?;
        self.device.synchronize()?;
        Ok(output)
    }
}

/// A document through the encoder stack, ready for the head.
pub struct Encoded<'a> {
    /// The real subtokens' embeddings. `[N, H]` f32
    pub embeddings: Tensor,
    /// The stack's diagnostics.
    pub stack: StackOutput,
    /// The head's inputs (cropped when the document was).
    pub inputs: Cow<'a, CorefInputs>,
    /// The gold (cropped likewise), when asked for.
    pub gold: Option<CorefGold>,
    /// The subtoken offset of the kept window (0 when not cropped).
    pub token_offset: usize,
    /// The document's key (for messages).
    pub doc_key: &'a str,
}

/// Pads segments to the longest one.
///
/// # Shapes
/// - output: `input_ids` `[S, T]` u32, `attention_mask` `[S, T]` u32, `real` `[N]` u32 (flat positions of
///   the real subtokens in `[S·T]`)
pub fn pad_segments(segments: &[Vec<u32>], device: &Device) -> Result<(Tensor, Tensor, Tensor)> {
    let s = segments.len();
    let t = segments.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = vec![0u32; s * t];
    let mut mask = vec![0u32; s * t];
    let mut real = Vec::with_capacity(segments.iter().map(Vec::len).sum());
    for (i, seg) in segments.iter().enumerate() {
        for (j, &id) in seg.iter().enumerate() {
            ids[i * t + j] = id;
            mask[i * t + j] = 1;
            real.push((i * t + j) as u32);
        }
    }
    let n = real.len();
    Ok((
        Tensor::from_vec(ids, (s, t), device)?,
        Tensor::from_vec(mask, (s, t), device)?,
        Tensor::from_vec(real, n, device)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_keeps_real_positions() {
        let (ids, mask, real) = pad_segments(&[vec![2, 5, 3], vec![2, 3]], &Device::Cpu).unwrap();
        assert_eq!(
            ids.to_vec2::<u32>().unwrap(),
            vec![vec![2, 5, 3], vec![2, 3, 0]]
        );
        assert_eq!(
            mask.to_vec2::<u32>().unwrap(),
            vec![vec![1, 1, 1], vec![1, 1, 0]]
        );
        assert_eq!(real.to_vec1::<u32>().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
