//! Measures what the frozen-feature cache saves: a bert-base-sized random encoder, frozen, over
//! documents of 1–3 segments of 384 subtokens, one epoch without the cache, then a first epoch that
//! fills it, a second epoch from memory, and a "later run" (new cache object, no memory) from disk.
//!
//! ```text
//! cargo run --release -p reprobe-models --example cache_speedup [DOCS] [SEG_LEN]   # defaults 20 384
//! ```
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use reprobe_models::cache::CacheConfig;
use reprobe_models::encoders::stack::{EncoderStack, StackConfig, StackMember};
use reprobe_models::encoders::{BertConfig, BertEncoder, BertOptions};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

fn documents(
    count: usize,
    seg_len: usize,
) -> reprobe_models::Result<Vec<(String, Tensor, Tensor)>> {
    let rng = ModelRng::new(11);
    let mut docs = Vec::with_capacity(count);
    for doc in 0..count {
        let segments = 1 + doc % 3;
        let real_in_last = seg_len / 2 + (doc * 37) % (seg_len / 2);
        let mut ids = Vec::with_capacity(segments * seg_len);
        let mut mask = Vec::with_capacity(segments * seg_len);
        for seg in 0..segments {
            let real = if seg + 1 == segments {
                real_in_last
            } else {
                seg_len
            };
            for (pos, u) in rng.uniform_vec(seg_len).into_iter().enumerate() {
                let id = if pos >= real {
                    0
                } else {
                    1000 + (u * 28000.0) as u32
                };
                ids.push(id);
                mask.push(u32::from(pos < real));
            }
        }
        docs.push((
            format!("doc{doc}"),
            Tensor::from_vec(ids, (segments, seg_len), &Device::Cpu)?,
            Tensor::from_vec(mask, (segments, seg_len), &Device::Cpu)?,
        ));
    }
    Ok(docs)
}

fn stack(cfg: &StackConfig) -> reprobe_models::Result<EncoderStack> {
    let options = BertOptions {
        rng: ModelRng::new(5),
        ..BertOptions::default()
    };
    let encoder = BertEncoder::random(&BertConfig::default(), &options)?;
    let member = StackMember {
        id: "target".into(),
        vocab_size: encoder.vocab_size(),
        dtype: DType::F32,
        encoder: Box::new(encoder),
    };
    let params = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
    EncoderStack::new(cfg, vec![member], 28996, &params)
}

fn epoch(stack: &EncoderStack, docs: &[(String, Tensor, Tensor)]) -> reprobe_models::Result<f64> {
    let started = Instant::now();
    for (key, ids, mask) in docs {
        let out = stack.forward_t(ids, mask, Some(key), true)?;
        // Touch the result so nothing is skipped.
        out.embeddings.sum_all()?.to_scalar::<f32>()?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> reprobe_models::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let count = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let seg_len = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(384);
    let docs = documents(count, seg_len)?;
    let segments: usize = docs.iter().map(|(_, ids, _)| ids.dims()[0]).sum();
    let dir = std::env::temp_dir().join(format!("reprobe-cache-speedup-{}", std::process::id()));
    let mut cfg = StackConfig::default();
    cfg.encoders.insert(
        "target".into(),
        reprobe_models::encoders::stack::EncoderConfig {
            checkpoint: "random bert-base".into(),
            freeze: true,
            truncate: None,
            config: Default::default(),
            vocab_size: None,
        },
    );
    println!("{count} documents, {segments} segments of {seg_len} subtokens, bert-base-sized random encoder (frozen), CPU");

    let mut uncached_cfg = cfg.clone();
    uncached_cfg.cache.enabled = false;
    let uncached = stack(&uncached_cfg)?;
    let compute = epoch(&uncached, &docs)?;
    println!(
        "epoch without cache:             {compute:8.2} s ({:.3} s per segment)",
        compute / segments as f64
    );

    cfg.cache = CacheConfig {
        dir: dir.clone(),
        memory_mb: 4096,
        ..CacheConfig::default()
    };
    let cached = stack(&cfg)?;
    let fill = epoch(&cached, &docs)?;
    println!("first epoch (compute + write):   {fill:8.2} s");
    let memory = epoch(&cached, &docs)?;
    println!(
        "second epoch (memory hits):      {memory:8.4} s  speed-up ×{:.0}",
        compute / memory
    );
    println!("  {}", cached.cache_summary().unwrap_or_default());

    cfg.cache.memory_mb = 0;
    let later = stack(&cfg)?;
    let disk = epoch(&later, &docs)?;
    println!(
        "later run (disk hits, mmap):     {disk:8.4} s  speed-up ×{:.0}",
        compute / disk
    );
    println!("  {}", later.cache_summary().unwrap_or_default());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
