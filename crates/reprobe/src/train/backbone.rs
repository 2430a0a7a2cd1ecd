//! What every task shares: the tokenizer, the encoder stack (SPEC §2), one parameter store and one seeded
//! random stream. A task adds its head to the same store (see `crate::tasks`).
use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};

use reprobe_corpus::SubwordTokenizer;
use reprobe_models::encoders::stack::{EncoderStack, StackOutput};
use reprobe_models::encoders::vocab::grow_to_tokenizer;
use reprobe_models::encoders::{hub, Checkpoint};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

use crate::config::RunConfig;
use crate::device::{parse_device, parse_dtype};
use crate::tasks::Task;

/// The tokenizer, the encoders and the aggregator, their parameters and random stream.
pub struct Backbone {
    /// The shared tokenizer of the stack.
    pub tokenizer: SubwordTokenizer,
    /// The encoders and the aggregator.
    pub stack: EncoderStack,
    /// Every trainable parameter (tuned encoders, aggregator, and the head the task adds).
    pub params: ParamStore,
    /// The stream of initialisation and dropout draws (saved in checkpoints).
    pub rng: ModelRng,
    /// Where the model runs.
    pub device: Device,
}

/// A batch of rows through the encoder stack.
pub struct EncodedRows {
    /// The aggregated embeddings, f32. `[B, T, D]`
    pub embeddings: Tensor,
    /// The stack's diagnostics (attention weights, cosine similarities).
    pub stack: StackOutput,
}

impl Backbone {
    /// Loads every encoder of `cfg` (frozen ones as plain tensors, tuned ones as parameters) and builds the
    /// aggregator with fresh parameters drawn from `cfg.seed`.
    pub fn build(cfg: &RunConfig) -> Result<Backbone> {
        let device = parse_device(&cfg.device)?;
        let dtype = parse_dtype(&cfg.dtype)?;
        let mut stack_cfg = cfg.stack_config();
        let order = stack_cfg.order()?;
        for (id, encoder) in stack_cfg.encoders.iter_mut() {
            encoder.checkpoint = crate::cli::export::resolve_run_checkpoint(&encoder.checkpoint)
                .with_context(|| {
                    format!("encoder `{id}`: cannot use run {}", encoder.checkpoint)
                })?;
            note_ignored_weights(id, &encoder.checkpoint);
        }
        let tokenizer_dir = match &cfg.data.tokenizer {
            Some(t) => hub::resolve(t)?,
            None => hub::resolve(&stack_cfg.encoders[&order[0]].checkpoint).with_context(|| {
                format!(
                    "cannot find the tokenizer of encoder `{}` (set `data.tokenizer`)",
                    order[0]
                )
            })?,
        };
        let mut tokenizer = SubwordTokenizer::from_dir(&tokenizer_dir)?;
        let mut tokenizer_ids = tokenizer.vocab_size();
        let added = crate::with_task!(cfg.task, T => T::added_tokens(cfg))?;
        if !added.is_empty() {
            // The task's special tokens (relation markers): new ids, and a word embedding for each in
            // every encoder that lacks them (SPEC §5, `tokenizer_vocab_size`).
            tokenizer.add_special_tokens(&added)?;
            tokenizer_ids = tokenizer.len_with_added();
            grow_to_tokenizer(&mut stack_cfg, tokenizer_ids)?;
        }
        let rng = ModelRng::new(cfg.seed);
        let params = ParamStore::new(rng.clone(), DType::F32, device.clone());
        let stack = EncoderStack::load(&stack_cfg, tokenizer_ids, &params, dtype)
            .with_context(|| format!("cannot build the encoder stack [{}]", order.join(", ")))?;
        Ok(Backbone {
            tokenizer,
            stack,
            params,
            rng,
            device,
        })
    }

    /// Runs rows of subtoken ids (padded here to the longest) through the stack. `cache_key` names the
    /// batch for the frozen-feature cache (`None`: no cache); `token_type_ids` are the segment ids of
    /// sentence pairs.
    ///
    /// # Shapes
    /// - output: `embeddings` `[B, T, D]` f32, `mask` `[B, T]` u32 (1 = real subtoken)
    pub fn encode_rows(
        &self,
        rows: &[Vec<u32>],
        token_type_ids: Option<&[Vec<u32>]>,
        cache_key: Option<&str>,
        train: bool,
    ) -> Result<(EncodedRows, Tensor)> {
        let (input_ids, attention_mask, _) = pad_segments(rows, &self.device)?; // [B, T] ×2
        let types = match token_type_ids {
            Some(types) => Some(pad_segments(types, &self.device)?.0), // [B, T]
            None => None,
        };
        let stack = self.stack.forward_typed(
            &input_ids,
            types.as_ref(),
            &attention_mask,
            cache_key,
            train,
        )?;
        let embeddings = stack.embeddings.to_dtype(DType::F32)?; // [B, T, D]
        Ok((EncodedRows { embeddings, stack }, attention_mask))
    }
}

/// Prints one line naming the tensors of an encoder's checkpoint that are not encoder weights (the head of
/// a task model, its pooler): they are left out, and a reader should know. Silent when the checkpoint
/// cannot be opened here (loading it reports that).
fn note_ignored_weights(id: &str, checkpoint: &str) {
    let Ok(dir) = hub::resolve(checkpoint) else {
        return;
    };
    let Ok(weights) = Checkpoint::open(&dir).and_then(|c| c.weights()) else {
        return;
    };
    let ignored: Vec<&str> = weights
        .ignored()
        .iter()
        .map(String::as_str)
        .filter(|n| !n.starts_with("cls.") && !n.contains("pooler."))
        .collect();
    if !ignored.is_empty() {
        eprintln!(
            "encoder `{id}`: ignoring {} head weight(s) of {}: {}",
            ignored.len(),
            dir.display(),
            ignored.join(", ")
        );
    }
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
