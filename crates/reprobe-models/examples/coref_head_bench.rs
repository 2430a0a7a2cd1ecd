//! Time of one training step of the coref head alone (forward, backward, clipping + Adam step) and of an
//! evaluation forward, on a synthetic document shaped like OntoGUM's: 384-subtoken segments of whole
//! sentences of 8–40 subtokens, three speakers, 80 gold mentions in 20 clusters.
//!
//! ```text
//! cargo run --release -p reprobe-models --example coref_head_bench -- [H] [FFNN] [N] [ITERS]
//! cargo run --release -p reprobe-models --example coref_head_bench -- 384 1000 1100 3   # MiniLM frozen
//! cargo run --release -p reprobe-models --example coref_head_bench -- 768 3000 1100 3   # bert-base, paper
//! ```
use std::time::{Duration, Instant};

use candle_core::{DType, Device};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reprobe_models::heads::coref::{CorefConfig, CorefGold, CorefHead, CorefInputs};
use reprobe_models::optim::{OptimConfig, OptimizerSet};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;

fn document(n: usize, seg_len: usize, rng: &mut ChaCha8Rng) -> (CorefInputs, CorefGold) {
    let mut sentence_map = Vec::with_capacity(n);
    let mut speaker_ids = Vec::with_capacity(n);
    let mut segment_of_token = Vec::with_capacity(n);
    let mut sentences: Vec<(usize, usize)> = Vec::new(); // content token ranges (inclusive)
    let mut sent = 0u32;
    let mut seg = 0u32;
    'outer: while sentence_map.len() < n {
        // [CLS]
        sentence_map.push(sent);
        speaker_ids.push(1);
        segment_of_token.push(seg);
        let mut used = 1;
        loop {
            let len = rng.random_range(8..=40usize);
            if used + len + 1 > seg_len {
                break;
            }
            let speaker = rng.random_range(2..5u32);
            let start = sentence_map.len();
            for _ in 0..len {
                if sentence_map.len() + 1 >= n {
                    break;
                }
                sentence_map.push(sent);
                speaker_ids.push(speaker);
                segment_of_token.push(seg);
            }
            sentences.push((start, sentence_map.len() - 1));
            sent += 1;
            used += len;
            if sentence_map.len() + 1 >= n {
                sentence_map.push(sent);
                speaker_ids.push(1);
                segment_of_token.push(seg);
                break 'outer;
            }
        }
        // [SEP]
        sentence_map.push(sent);
        speaker_ids.push(1);
        segment_of_token.push(seg);
        seg += 1;
    }
    let mut clusters: Vec<Vec<(usize, usize)>> = vec![Vec::new(); 20];
    let mut seen = std::collections::HashSet::new();
    for m in 0..80 {
        let (s, e) = sentences[rng.random_range(0..sentences.len())];
        let start = rng.random_range(s..=e);
        let end = (start + rng.random_range(0..3usize)).min(e);
        if seen.insert((start, end)) {
            clusters[m % 20].push((start, end));
        }
    }
    let inputs = CorefInputs {
        sentence_map,
        speaker_ids,
        segment_of_token,
        genre: 5,
    };
    (inputs, CorefGold::from_clusters(&clusters))
}

/// (user, system) CPU seconds of this process so far, from /proc/self/stat (Linux; zeros elsewhere).
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which is in parentheses): utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (tick(11), tick(12))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> reprobe_models::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments: H FFNN N ITERS"))
        .collect();
    let hidden = args.first().copied().unwrap_or(384);
    let ffnn = args.get(1).copied().unwrap_or(1000);
    let n = args.get(2).copied().unwrap_or(1100);
    let iters = args.get(3).copied().unwrap_or(3);

    let cfg = CorefConfig {
        ffnn_size: ffnn,
        ..CorefConfig::default()
    };
    let store = ParamStore::new(ModelRng::new(11), DType::F32, Device::Cpu);
    let head = CorefHead::new(&cfg, hidden, &store)?;
    let mut optimizers = OptimizerSet::new(&store, &OptimConfig::default(), 1_000_000)?;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (inputs, gold) = document(n, 384, &mut rng);
    let doc =
        ModelRng::new(3).normal((inputs.len(), hidden), 0.0, 1.0, DType::F32, &Device::Cpu)?;
    println!(
        "H = {hidden}, ffnn = {ffnn}, N = {}, segments = {}, head parameters = {:.1} M, threads = {}",
        inputs.len(),
        inputs.segment_of_token.last().map_or(0, |&s| s + 1),
        store.num_elements() as f64 / 1e6,
        candle_core::utils::get_num_threads(),
    );

    let mut phases: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut totals: Vec<(&'static str, Vec<f64>)> = vec![
        ("train forward", vec![]),
        ("backward", vec![]),
        ("clip + Adam step", vec![]),
        ("train step total", vec![]),
        ("eval forward (no gold)", vec![]),
    ];
    let mut cpu_start = (0.0, 0.0);
    for iter in 0..=iters {
        if iter == 1 {
            cpu_start = cpu_seconds();
        }
        let t0 = Instant::now();
        let (out, timed) = head.forward_t_timed(&doc, &inputs, Some(&gold), true)?;
        let t1 = Instant::now();
        let loss = out.loss.clone().expect("gold given");
        let grads = loss.backward()?;
        let t2 = Instant::now();
        optimizers.clip_and_step(&grads)?;
        let t3 = Instant::now();
        drop(grads);
        let eval = head.forward_eval(&doc, &inputs, None)?;
        let t4 = Instant::now();
        if iter == 0 {
            println!(
                "C = {}, K = {}, A = {}, loss = {:.3}, predicted clusters = {}",
                out.candidates.len(),
                out.top_spans.len(),
                out.antecedent_indices.first().map_or(0, Vec::len),
                loss.to_scalar::<f32>()?,
                eval.decode()?.len()
            );
            continue; // warm-up
        }
        for (i, d) in [t1 - t0, t2 - t1, t3 - t2, t3 - t0, t4 - t3]
            .into_iter()
            .enumerate()
        {
            totals[i].1.push(ms(d));
        }
        for (name, d) in timed {
            match phases.iter_mut().find(|(p, _)| *p == name) {
                Some((_, v)) => v.push(ms(d)),
                None => phases.push((name, vec![ms(d)])),
            }
        }
    }
    let cpu_end = cpu_seconds();
    println!(
        "CPU time per iteration (train step + eval forward): user {:.1} s, system {:.1} s",
        (cpu_end.0 - cpu_start.0) / iters as f64,
        (cpu_end.1 - cpu_start.1) / iters as f64
    );
    // The reference's way for comparison (forward only, once): the head attention through a dense
    // [C, N] log-mask softmax times doc, then the unsplit first layer of span_emb_score_ffnn on the
    // concatenated g = [doc_s; doc_e; w_emb; h] of every candidate.
    let reference_ms = {
        let out = head.forward_t(&doc, &inputs, None, false)?;
        let cands = &out.candidates;
        let (c, n) = (cands.len(), inputs.len());
        let t0 = Instant::now();
        let mut log_mask = vec![f32::NEG_INFINITY; c * n];
        for (i, &(s, e)) in cands.iter().enumerate() {
            for t in s..=e {
                log_mask[i * n + t] = 0.0;
            }
        }
        let alpha = ModelRng::new(9).normal(n, 0.0, 1.0, DType::F32, &Device::Cpu)?;
        let logits = candle_core::Tensor::from_vec(log_mask, (c, n), &Device::Cpu)?
            .broadcast_add(&alpha.unsqueeze(0)?)?;
        let attn = candle_nn::ops::softmax_last_dim(&logits)?;
        let head_emb = attn.matmul(&doc)?; // [C, H]
        let t1 = Instant::now();
        let starts: Vec<u32> = cands.iter().map(|&(s, _)| s as u32).collect();
        let ends: Vec<u32> = cands.iter().map(|&(_, e)| e as u32).collect();
        let starts = candle_core::Tensor::from_vec(starts, c, &Device::Cpu)?;
        let ends = candle_core::Tensor::from_vec(ends, c, &Device::Cpu)?;
        let width = ModelRng::new(8).normal(
            (c, cfg.feature_emb_size),
            0.0,
            1.0,
            DType::F32,
            &Device::Cpu,
        )?;
        let g = candle_core::Tensor::cat(
            &[
                &doc.index_select(&starts, 0)?,
                &doc.index_select(&ends, 0)?,
                &width,
                &head_emb,
            ],
            1,
        )?; // [C, G]
        let w1 = ModelRng::new(7).normal((ffnn, g.dim(1)?), 0.0, 0.02, DType::F32, &Device::Cpu)?;
        let hidden = g.matmul(&w1.t()?)?.relu()?; // [C, F]
        let _ = hidden.sum_all()?.to_scalar::<f32>()?;
        let t2 = Instant::now();
        (ms(t1 - t0), ms(t2 - t1))
    };
    println!("median of {iters} iterations (ms):");
    for (name, v) in totals {
        println!("  {name:<26} {:>9.1}", median(v));
    }
    println!(
        "  reference-style mention scoring, forward only: dense [C, N] head attention {:.1} + unsplit first layer {:.1}",
        reference_ms.0, reference_ms.1
    );
    println!("  train forward by phase:");
    for (name, v) in phases {
        println!("    {name:<24} {:>9.1}", median(v));
    }
    Ok(())
}
