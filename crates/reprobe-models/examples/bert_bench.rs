//! Forward time of one 384-subtoken segment in evaluation mode, for all-MiniLM-L6-v2 (if
//! `models/all-MiniLM-L6-v2` exists) and a random bert-base-sized model (12 layers, H 768, 12 heads),
//! plus the time of the matrix products alone (the floor), batching, and the checkpoint fingerprint.
//!
//!     cargo run --release -p reprobe-models --example bert_bench [-- RUNS [minilm|base|all]]
//!     RAYON_NUM_THREADS=1 cargo run --release -p reprobe-models --example bert_bench   # one core
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use reprobe_models::encoders::{BertConfig, BertEncoder, BertOptions, Checkpoint, Encoder};
use sha2::{Digest, Sha256};

fn segment(b: usize, t: usize, vocab: usize) -> (Tensor, Tensor) {
    let ids: Vec<u32> = (0..b * t)
        .map(|i| (i * 7919 % (vocab - 1000) + 1000) as u32)
        .collect();
    let ids = Tensor::from_vec(ids, (b, t), &Device::Cpu).unwrap();
    let mask = Tensor::ones((b, t), DType::U32, &Device::Cpu).unwrap();
    (ids, mask)
}

/// CPU time of the whole process (all threads) in milliseconds, from `/proc/self/stat` (Linux; clock
/// ticks of 10 ms), or `None` elsewhere. Unlike wall time it hardly moves when other processes share the
/// cores, so with one thread (`RAYON_NUM_THREADS=1`) it is the uncontended single-core time.
fn cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

/// Mean and min wall milliseconds of `runs` calls after one warm-up call, and CPU milliseconds per call.
fn time<F: FnMut()>(runs: usize, mut f: F) -> (f64, f64, f64) {
    f();
    let mut all = Vec::with_capacity(runs);
    let cpu0 = cpu_ms().unwrap_or(f64::NAN);
    for _ in 0..runs {
        let start = Instant::now();
        f();
        all.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let cpu = (cpu_ms().unwrap_or(f64::NAN) - cpu0) / runs as f64;
    let mean = all.iter().sum::<f64>() / runs as f64;
    let min = all.iter().cloned().fold(f64::INFINITY, f64::min);
    (mean, min, cpu)
}

fn bench(name: &str, model: &BertEncoder, runs: usize) {
    let c = model.config();
    for b in [1usize, 4] {
        let (ids, mask) = segment(b, 384, c.vocab_size);
        let (mean, min, cpu) = time(runs, || {
            let hs = model.forward_t(&ids, &mask, false).unwrap();
            assert_eq!(hs.len(), model.num_layers() + 1);
        });
        println!(
            "{name}: B={b} T=384 eval forward: wall mean {mean:.1} ms, min {min:.1} ms ({:.1} ms per segment); CPU {cpu:.0} ms per call",
            min / b as f64
        );
    }
    // The floor: the same matrix products alone (Q, K, V, O, FFN in, FFN out, QK^T, PV) for B = 1.
    let (h, i, t, nh) = (
        c.hidden_size,
        c.intermediate_size,
        384,
        c.num_attention_heads,
    );
    let dh = h / nh;
    let x = Tensor::ones((t, h), DType::F32, &Device::Cpu).unwrap();
    let w_hh = Tensor::ones((h, h), DType::F32, &Device::Cpu).unwrap();
    let w_ih = Tensor::ones((i, h), DType::F32, &Device::Cpu).unwrap();
    let w_hi = Tensor::ones((h, i), DType::F32, &Device::Cpu).unwrap();
    let xi = Tensor::ones((t, i), DType::F32, &Device::Cpu).unwrap();
    let q = Tensor::ones((nh, t, dh), DType::F32, &Device::Cpu).unwrap();
    let p = Tensor::ones((nh, t, t), DType::F32, &Device::Cpu).unwrap();
    let (_, mm, mm_cpu) = time(runs, || {
        for _ in 0..model.num_layers() {
            for _ in 0..4 {
                x.matmul(&w_hh.t().unwrap()).unwrap();
            }
            x.matmul(&w_ih.t().unwrap()).unwrap();
            xi.matmul(&w_hi.t().unwrap()).unwrap();
            q.matmul(&q.t().unwrap()).unwrap();
            p.matmul(&q).unwrap();
        }
    });
    let flops = model.num_layers() as f64
        * (2.0 * t as f64 * (4 * h * h + 2 * h * i) as f64 + 4.0 * (t * t * h) as f64);
    println!(
        "{name}: matmuls alone (B=1): wall min {mm:.1} ms = {:.1} GFLOP/s on {:.2} GFLOP; CPU {mm_cpu:.0} ms",
        flops / mm / 1e6,
        flops / 1e9
    );
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let which = std::env::args().nth(2).unwrap_or_else(|| "all".to_string());
    println!("candle threads: {}", candle_core::utils::get_num_threads());
    let minilm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    if which == "base" {
    } else if minilm.join("model.safetensors").is_file() {
        let ckpt = Checkpoint::open(&minilm).unwrap();
        let start = Instant::now();
        let fp = ckpt.weights_fingerprint().unwrap();
        let fp_ms = start.elapsed().as_secs_f64() * 1e3;
        let start = Instant::now();
        let bytes = std::fs::read(ckpt.weights_path()).unwrap();
        let full = Sha256::digest(&bytes);
        let full_ms = start.elapsed().as_secs_f64() * 1e3;
        println!(
            "fingerprint of {} ({:.1} MB): sampled {fp_ms:.1} ms ({}…), full sha256 {full_ms:.1} ms ({:02x}{:02x}…)",
            ckpt.weights_path().display(),
            bytes.len() as f64 / 1e6,
            &fp[..8],
            full[0],
            full[1]
        );
        let start = Instant::now();
        let model = BertEncoder::load(&ckpt, &BertOptions::default()).unwrap();
        println!("MiniLM load: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
        bench("all-MiniLM-L6-v2", &model, runs);
    } else {
        println!("skipping MiniLM: {} is absent", minilm.display());
    }
    if which == "minilm" {
        return;
    }
    let config = BertConfig {
        vocab_size: 28996,
        ..BertConfig::default()
    };
    let model = BertEncoder::random(&config, &BertOptions::default()).unwrap();
    bench("bert-base (random)", &model, runs);
}
