//! Forward and backward time of one training step of a tuned MiniLM-shaped BERT (random weights) on CPU.
//!
//! ```text
//! MIMALLOC_PURGE_DELAY=-1 RAYON_NUM_THREADS=1 cargo bench -p reprobe-models --bench bert_step -- [BATCH] [SEQ] [REPS]
//! ```
//! Defaults: batch 32, 80 subtokens per row (rows padded from SEQ/2 to SEQ tokens, as a batch of MRPC pairs),
//! 5 timed repetitions after one warm-up. Prints the median forward and backward milliseconds (wall clock and
//! CPU time of the process), their ratio, and the bytes allocated in each. Run directly, the binary needs
//! `--bench` among its arguments: without it, it is the smoke test that `cargo test --all-targets` runs, one
//! step of a small model.
//! `benches/hf_bert_step.py` times transformers' `BertModel` on the same shapes.
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

// The allocator of the `reprobe` binary (which also keeps freed pages: run with MIMALLOC_PURGE_DELAY=-1),
// counting the bytes allocated.
#[global_allocator]
static GLOBAL: Counting = Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards every call to mimalloc unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        mimalloc::MiMalloc.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        mimalloc::MiMalloc.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        mimalloc::MiMalloc.realloc(ptr, layout, new_size)
    }
}

fn gib_allocated() -> f64 {
    ALLOCATED.load(Ordering::Relaxed) as f64 / (1u64 << 30) as f64
}

use candle_core::{DType, Device, Tensor};
use reprobe_models::encoders::{BertConfig, BertEncoder, BertOptions, Encoder, Tuning};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .filter(|a| !a.starts_with("--"))
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// CPU milliseconds of the whole process so far (user + system, all threads; 10 ms resolution), from
/// `/proc/self/stat`: the time a busy machine lends us, unlike the wall clock.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    // Fields after the name start at field 3; utime and stime are fields 14 and 15 (clock ticks of 10 ms).
    let fields: Vec<f64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    fields
        .get(11)
        .zip(fields.get(12))
        .map_or(f64::NAN, |(u, s)| (u + s) * 10.0)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() -> reprobe_models::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this once as a smoke test, on a
    // small model.
    let benching = std::env::args().any(|a| a == "--bench");
    let (batch, seq, reps) = if benching {
        (arg(1, 32), arg(2, 80), arg(3, 5))
    } else {
        (2, 8, 1)
    };
    let config = if benching {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 384,
            num_hidden_layers: 6,
            num_attention_heads: 12,
            intermediate_size: 1536,
            max_position_embeddings: 512,
            ..BertConfig::default()
        }
    } else {
        BertConfig {
            vocab_size: 30000,
            hidden_size: 24,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 40,
            max_position_embeddings: 16,
            ..BertConfig::default()
        }
    };
    let hidden = config.hidden_size;
    let dev = Device::Cpu;
    let params = ParamStore::new(ModelRng::new(0), DType::F32, dev.clone());
    let options = BertOptions {
        tuning: Tuning::Tuned {
            params: params.clone(),
            prefix: "e.".into(),
        },
        ..BertOptions::default()
    };
    let model = BertEncoder::random(&config, &options)?;
    let rng = ModelRng::new(1);
    // Row r has seq/2 + (r · seq/2) / batch real tokens.
    let lengths: Vec<usize> = (0..batch)
        .map(|r| (seq / 2 + (r * seq / 2) / batch.max(1)).max(1))
        .collect();
    let ids: Vec<u32> = rng
        .uniform_vec(batch * seq)
        .into_iter()
        .map(|u| 1000 + (u * 28000.0) as u32)
        .collect();
    let mask: Vec<u32> = (0..batch * seq)
        .map(|i| u32::from(i % seq < lengths[i / seq]))
        .collect();
    let types: Vec<u32> = (0..batch * seq)
        .map(|i| u32::from(i % seq >= seq / 3))
        .collect();
    let ids = Tensor::from_vec(ids, (batch, seq), &dev)?;
    let mask = Tensor::from_vec(mask, (batch, seq), &dev)?;
    let types = Tensor::from_vec(types, (batch, seq), &dev)?;
    let upstream = rng.normal((batch, seq, hidden), 0.0, 1.0, DType::F32, &dev)?;

    let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
    let (mut fwd_cpu, mut bwd_cpu) = (Vec::new(), Vec::new());
    let (mut fwd_gib, mut bwd_gib) = (0.0, 0.0);
    for rep in 0..=reps {
        let a0 = gib_allocated();
        let c0 = cpu_ms();
        let t0 = Instant::now();
        let hs = model.forward_typed(&ids, Some(&types), &mask, true)?;
        let loss = (&hs[model.num_layers()] * &upstream)?.sum_all()?;
        let t1 = Instant::now();
        let c1 = cpu_ms();
        let a1 = gib_allocated();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        let c2 = cpu_ms();
        let a2 = gib_allocated();
        drop(grads);
        if rep > 0 {
            fwd_gib = a1 - a0;
            bwd_gib = a2 - a1;
            fwd.push((t1 - t0).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            fwd_cpu.push(c1 - c0);
            bwd_cpu.push(c2 - c1);
        }
    }
    let (f, b) = (median(fwd), median(bwd));
    let (fc, bc) = (median(fwd_cpu), median(bwd_cpu));
    println!(
        "batch {batch} × {seq}, threads {}: forward {f:.1} ms, backward {b:.1} ms, backward/forward {:.2}; \
         CPU time: forward {fc:.0} ms, backward {bc:.0} ms; \
         allocated per step: forward {fwd_gib:.2} GiB, backward {bwd_gib:.2} GiB",
        candle_core::utils::get_num_threads(),
        b / f
    );
    Ok(())
}
