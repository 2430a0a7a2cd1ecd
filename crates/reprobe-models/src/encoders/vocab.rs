//! Word embeddings for tokens added to a tokenizer (the entity markers of relation classification):
//! every encoder of a stack must have a row for every id of the shared tokenizer, added tokens included,
//! as the reference's `tokenizer_vocab_size = len(tokenizer)` resizes every encoder (SPEC §5; its RE
//! encoder has 28,996 + 38 = 29,034 rows).
//!
//! [`grow_to_tokenizer`] sets each encoder's `vocab_size` option before the stack is loaded; the loader
//! ([`crate::encoders::BertEncoder::load`]) then appends the new rows, drawn from N(0,
//! `initializer_range`²) from the run's seed. A checkpoint that already has the rows (an exported relation
//! model, whose tokenizer holds the markers) is left as it is, so its trained marker embeddings are used.
use super::checkpoint::Checkpoint;
use super::hub;
use super::stack::StackConfig;
use crate::Result;

/// The rows of word embeddings the checkpoint `name_or_dir` holds (its `config.json` `vocab_size` with
/// `overrides` applied, which the loader checks against the weights).
pub fn checkpoint_vocab_size(
    name_or_dir: &str,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> Result<usize> {
    let dir = hub::resolve(name_or_dir)?;
    Ok(Checkpoint::open(&dir)?.config(overrides)?.vocab_size)
}

/// Raises the `vocab_size` of every encoder of `stack` whose checkpoint (or configured `vocab_size`)
/// has fewer than `tokenizer_len` rows to `tokenizer_len`; returns the ids of the encoders that grow.
pub fn grow_to_tokenizer(stack: &mut StackConfig, tokenizer_len: usize) -> Result<Vec<String>> {
    let mut grown = Vec::new();
    for (id, encoder) in stack.encoders.iter_mut() {
        let rows = match encoder.vocab_size {
            Some(rows) => rows,
            None => checkpoint_vocab_size(&encoder.checkpoint, &encoder.config)?,
        };
        if rows < tokenizer_len {
            encoder.vocab_size = Some(tokenizer_len);
            grown.push(id.clone());
        }
    }
    Ok(grown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::stack::EncoderConfig;
    use std::path::Path;

    fn checkpoint(dir: &Path, vocab: usize) {
        std::fs::write(
            dir.join("config.json"),
            format!(
                r#"{{"model_type": "bert", "vocab_size": {vocab}, "hidden_size": 8, "num_hidden_layers": 1,
                    "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 8}}"#
            ),
        )
        .unwrap();
        std::fs::write(dir.join("model.safetensors"), b"").unwrap();
    }

    #[test]
    fn only_encoders_with_too_few_rows_grow() {
        let small = tempfile::tempdir().unwrap();
        let large = tempfile::tempdir().unwrap();
        checkpoint(small.path(), 30);
        checkpoint(large.path(), 34);
        let encoder = |dir: &Path, vocab_size: Option<usize>| EncoderConfig {
            checkpoint: dir.display().to_string(),
            freeze: false,
            truncate: None,
            config: Default::default(),
            vocab_size,
        };
        let mut stack = StackConfig::default();
        stack
            .encoders
            .insert("a".into(), encoder(small.path(), None));
        stack
            .encoders
            .insert("b".into(), encoder(large.path(), None));
        stack
            .encoders
            .insert("c".into(), encoder(small.path(), Some(40)));
        assert_eq!(grow_to_tokenizer(&mut stack, 34).unwrap(), ["a"]);
        assert_eq!(stack.encoders["a"].vocab_size, Some(34));
        assert_eq!(stack.encoders["b"].vocab_size, None);
        assert_eq!(stack.encoders["c"].vocab_size, Some(40));
    }
}
