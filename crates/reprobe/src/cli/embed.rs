//! `reprobe embed`: the hidden states of an encoder for lines of text or prepared documents, written
//! to one safetensors file (issue 4, part 5).
use std::path::PathBuf;

use anyhow::{bail, Context};
use candle_core::{DType, Device, Tensor};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use reprobe_corpus::readers::jsonlines::read_jsonlines;
use reprobe_corpus::SubwordTokenizer;
use reprobe_models::encoders::{hub, BertEncoder, BertOptions, Checkpoint};
use reprobe_models::params::save_tensors_atomically;

/// Extract every chosen layer's token embeddings from an encoder.
///
/// Text mode: one input per line, tokenized with the encoder's own tokenizer and wrapped in
/// `[CLS]`/`[SEP]`; tensors `"{line}.layer{k}"` of shape `[tokens, hidden]` (line = 0-based index).
/// Jsonlines mode (coref-hoi prepared documents): every segment of a document runs in one padded batch,
/// padding rows are dropped, tensors `"{doc_key}.layer{k}"` have one row per document subtoken.
/// Layer 0 is the embedding output, layer k the output of transformer layer k; layers above the highest
/// one asked for are not even loaded. Tensors are f32 whatever `--dtype` computes in.
///
/// Example: reprobe embed --encoder models/all-MiniLM-L6-v2 --text-file sentences.txt --layers 0,3,6
/// --out feats.safetensors
#[derive(Debug, Args)]
#[command(after_help = "\
Text mode: tensors \"{line}.layer{k}\" [tokens, hidden], with [CLS] and [SEP] (line = 0-based index).
Jsonlines mode: tensors \"{doc_key}.layer{k}\" [subtokens, hidden], one row per document subtoken.
Layer 0 is the embedding output; tensors are f32.

Example:
  reprobe embed --encoder models/all-MiniLM-L6-v2 --text-file sentences.txt --layers 0,3,6 --out feats.safetensors")]
pub struct EmbedArgs {
    /// A checkpoint folder (config.json + model.safetensors or pytorch_model.bin, and the tokenizer) or a
    /// Hugging Face model id (looked up in the local cache, then downloaded if the network allows).
    #[arg(long, value_name = "NAME_OR_DIR")]
    encoder: String,
    /// A UTF-8 text file, one input per line.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "jsonl",
        required_unless_present = "jsonl"
    )]
    text_file: Option<PathBuf>,
    /// A prepared coref-hoi jsonlines file (`doc_key`, `sentences` of subtokens, ...).
    #[arg(long, value_name = "FILE")]
    jsonl: Option<PathBuf>,
    /// `all`, or a comma-separated list of layer indices (0 = embeddings).
    #[arg(long, default_value = "all")]
    layers: String,
    /// The dtype the encoder computes in.
    #[arg(long, value_enum, default_value_t = DtypeArg::F32)]
    dtype: DtypeArg,
    /// Lines per forward pass in text mode.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// The safetensors file to write (atomically).
    #[arg(long, value_name = "OUT.safetensors")]
    out: PathBuf,
}

/// Compute dtypes offered on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum DtypeArg {
    F32,
    Bf16,
    F16,
}

impl DtypeArg {
    fn dtype(self) -> DType {
        match self {
            DtypeArg::F32 => DType::F32,
            DtypeArg::Bf16 => DType::BF16,
            DtypeArg::F16 => DType::F16,
        }
    }
}

/// Parses `--layers` against a model with `num_layers` transformer layers: sorted, without repeats.
fn parse_layers(spec: &str, num_layers: usize) -> anyhow::Result<Vec<usize>> {
    if spec.trim() == "all" {
        return Ok((0..=num_layers).collect());
    }
    let mut layers = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        let k: usize = part.parse().with_context(|| {
            format!("--layers: `{part}` is not a layer index (use `all` or e.g. `0,6,12`)")
        })?;
        if k > num_layers {
            bail!(
                "--layers: layer {k} does not exist: the encoder has {num_layers} layers (valid indices 0..={num_layers}, 0 = embeddings)"
            );
        }
        layers.push(k);
    }
    layers.sort_unstable();
    layers.dedup();
    Ok(layers)
}

/// One input: its name and its subtoken ids in segments (one segment for a line of text).
struct Input {
    name: String,
    segments: Vec<Vec<u32>>,
}

/// Runs `encoder` on `segments` as one padded batch; per kept layer, the real rows of every segment in
/// order, as one `[N, H]` f32 tensor.
fn embed_segments(
    encoder: &BertEncoder,
    segments: &[Vec<u32>],
    layers: &[usize],
) -> anyhow::Result<Vec<Tensor>> {
    let b = segments.len();
    let t = segments.iter().map(Vec::len).max().unwrap_or(0);
    if t == 0 {
        // A document without subtokens: no rows.
        let h = encoder.config().hidden_size;
        return Ok(layers
            .iter()
            .map(|_| Tensor::zeros((0, h), DType::F32, &Device::Cpu))
            .collect::<candle_core::Result<_>>()?);
    }
    let mut ids = vec![0u32; b * t];
    let mut mask = vec![0u32; b * t];
    for (row, seg) in segments.iter().enumerate() {
        ids[row * t..row * t + seg.len()].copy_from_slice(seg);
        mask[row * t..row * t + seg.len()].fill(1);
    }
    let device = encoder.device();
    let ids = Tensor::from_vec(ids, (b, t), device)?; // [B, T]
    let mask = Tensor::from_vec(mask, (b, t), device)?; // [B, T]
    let hidden = encoder.forward_t(&ids, &mask, false)?; // (L + 1) × [B, T, H]
    let mut out = Vec::with_capacity(layers.len());
    for &k in layers {
        let h = hidden[k].to_dtype(DType::F32)?.to_device(&Device::Cpu)?; // [B, T, H]
        let rows: Vec<Tensor> = segments
            .iter()
            .enumerate()
            .map(|(row, seg)| h.get(row)?.narrow(0, 0, seg.len())) // [len, H]
            .collect::<candle_core::Result<_>>()?;
        out.push(Tensor::cat(&rows, 0)?); // [N, H]
    }
    Ok(out)
}

fn read_inputs(args: &EmbedArgs, tokenizer: &SubwordTokenizer) -> anyhow::Result<Vec<Input>> {
    if let Some(path) = &args.text_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the text file {}", path.display()))?;
        text.lines()
            .enumerate()
            .map(|(line, content)| {
                let enc = tokenizer
                    .encode_line(content)
                    .with_context(|| format!("{}:{}: cannot tokenize", path.display(), line + 1))?;
                Ok(Input {
                    name: line.to_string(),
                    segments: vec![enc.ids],
                })
            })
            .collect()
    } else if let Some(path) = &args.jsonl {
        let docs = read_jsonlines(path)?;
        docs.into_iter()
            .map(|doc| {
                let segments = doc
                    .sentences
                    .iter()
                    .map(|seg| tokenizer.ids(seg))
                    .collect::<reprobe_corpus::Result<Vec<_>>>()
                    .with_context(|| {
                        format!(
                            "{}: document `{}`: subtokens outside the encoder's vocabulary",
                            path.display(),
                            doc.doc_key
                        )
                    })?;
                Ok(Input {
                    name: doc.doc_key,
                    segments,
                })
            })
            .collect()
    } else {
        bail!("give --text-file or --jsonl")
    }
}

/// Runs the subcommand.
pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let dir = hub::resolve(&args.encoder)?;
    let checkpoint = Checkpoint::open(&dir)?;
    let config = checkpoint.config(&Default::default())?;
    let layers = parse_layers(&args.layers, config.num_hidden_layers)?;
    let top = layers.last().copied().unwrap_or(0);
    let options = BertOptions {
        truncate: Some(top),
        dtype: args.dtype.dtype(),
        ..BertOptions::default()
    };
    let encoder = BertEncoder::load(&checkpoint, &options)
        .with_context(|| format!("cannot load the encoder {}", dir.display()))?;
    let tokenizer = SubwordTokenizer::from_dir(&dir)
        .with_context(|| format!("cannot load the tokenizer of {}", dir.display()))?;
    let inputs = read_inputs(&args, &tokenizer)?;
    let max_len = config.max_position_embeddings;
    if let Some((input, seg)) = inputs
        .iter()
        .flat_map(|i| i.segments.iter().map(move |s| (i, s)))
        .find(|(_, s)| s.len() > max_len)
    {
        bail!(
            "input `{}` has a segment of {} subtokens; the encoder takes at most {max_len} (max_position_embeddings)",
            input.name,
            seg.len()
        );
    }

    let bar = ProgressBar::new(inputs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} inputs, {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    let mut push = |name: &str, per_layer: Vec<Tensor>| {
        for (&k, t) in layers.iter().zip(per_layer) {
            tensors.push((format!("{name}.layer{k}"), t));
        }
    };
    if args.text_file.is_some() {
        // Lines in batches; each line is one row.
        for chunk in inputs.chunks(args.batch_size) {
            let segments: Vec<Vec<u32>> = chunk.iter().map(|i| i.segments[0].clone()).collect();
            let batch = embed_segments(&encoder, &segments, &layers)?; // per layer [ΣN, H]
            let mut start = 0;
            for (input, seg) in chunk.iter().zip(&segments) {
                let per_layer = batch
                    .iter()
                    .map(|t| t.narrow(0, start, seg.len()))
                    .collect::<candle_core::Result<Vec<_>>>()?;
                push(&input.name, per_layer);
                start += seg.len();
                bar.inc(1);
            }
        }
    } else {
        // One document per batch: its segments, padded.
        for input in &inputs {
            let per_layer = embed_segments(&encoder, &input.segments, &layers)
                .with_context(|| format!("document `{}`", input.name))?;
            push(&input.name, per_layer);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = tensors.iter().find(|(n, _)| !seen.insert(n.clone())) {
        bail!("two inputs are named `{dup}` (repeated doc_key?)");
    }
    save_tensors_atomically(&tensors, &args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} tensors ({} inputs × {} layers) to {}",
        tensors.len(),
        inputs.len(),
        layers.len(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprobe_models::encoders::BertConfig;

    #[test]
    fn segments_of_a_batch_equal_segments_alone_and_empty_documents_have_no_rows() {
        let config = BertConfig {
            vocab_size: 30,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 12,
            max_position_embeddings: 16,
            ..BertConfig::default()
        };
        let encoder = BertEncoder::random(&config, &BertOptions::default()).unwrap();
        let segs = vec![vec![1u32, 5, 7, 2], vec![1, 9, 2]];
        let both = embed_segments(&encoder, &segs, &[0, 2]).unwrap();
        assert_eq!(both[1].dims(), &[7, 8]);
        let second = embed_segments(&encoder, &segs[1..], &[2]).unwrap();
        let d = (both[1].narrow(0, 4, 3).unwrap() - &second[0])
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5, "{d}");
        let none = embed_segments(&encoder, &[], &[0, 1]).unwrap();
        assert_eq!(none.len(), 2);
        assert_eq!(none[0].dims(), &[0, 8]);
    }

    #[test]
    fn layer_lists() {
        assert_eq!(parse_layers("all", 2).unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_layers("6, 0,6", 12).unwrap(), vec![0, 6]);
        let err = parse_layers("0,13", 12).unwrap_err().to_string();
        assert!(
            err.contains("layer 13") && err.contains("12 layers"),
            "{err}"
        );
        let err = parse_layers("x", 12).unwrap_err().to_string();
        assert!(err.contains("`x`"), "{err}");
    }
}
