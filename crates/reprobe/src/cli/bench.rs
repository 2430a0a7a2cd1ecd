//! `reprobe bench`: training and evaluation speed of a config, measured after a warm-up.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Tensor, Var};
use clap::{Args, ValueEnum};
use serde::Serialize;

use reprobe_models::optim::OptimizerSet;

use crate::config::overrides::{parse_override, Override};
use crate::config::resolve;
use crate::config::TaskKind;
use crate::tasks::coref::data::{load_split, ModelDocument};
use crate::tasks::coref::CorefTask;
use crate::tasks::Task;
use crate::train::backbone::Backbone;

/// Measure training and evaluation speed of a config.
///
/// Trains on the first --warmup + --train-docs training documents (one optimiser step each; the first
/// --warmup steps are not timed) and evaluates --eval-docs dev documents, then prints documents/s,
/// subtokens/s and the milliseconds per step spent in the encoder forward pass, the encoder backward pass,
/// the head (forward + backward) and the optimiser, plus the peak memory. Frozen encoders read the feature
/// cache like in training; pass `cache.enabled=false` to time them computing. Overrides as in `reprobe train`.
///
/// For the sentence-level tasks (`ner`, `pair_classification`) a step is one batch of `train.batch_size`
/// examples: --train-docs and --warmup count batches, --eval-docs batches of dev examples, and the rates
/// are examples/s; training is also reported per CPU second of the process (user + system, all threads),
/// which a busy machine disturbs less than the wall clock.
///
/// Example:
///   reprobe bench configs/coref/ontogum_minilm.toml --train-docs 20 --eval-docs 20 --format json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct BenchArgs {
    /// The config file.
    config: PathBuf,
    /// `key=value` overrides.
    #[arg(value_name = "OVERRIDE")]
    overrides: Vec<String>,
    /// Timed training steps (documents; batches for sentence-level tasks).
    #[arg(long, default_value_t = 20)]
    train_docs: usize,
    /// Timed evaluation documents (batches of examples for sentence-level tasks).
    #[arg(long, default_value_t = 20)]
    eval_docs: usize,
    /// Untimed training steps first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    format: BenchFormat,
    /// Run on this device, e.g. `cuda:0`.
    #[arg(long)]
    device: Option<String>,
}

/// Output formats of `reprobe bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    /// A table for people.
    Text,
    /// One JSON object for scripts.
    Json,
}

/// The measurements.
#[derive(Debug, Default, Serialize)]
pub struct BenchResult {
    /// The device.
    pub device: String,
    /// The encoders' dtype.
    pub dtype: String,
    /// Timed training documents.
    pub train_docs: usize,
    /// Training documents per second.
    pub train_docs_per_s: f64,
    /// Training subtokens per second.
    pub train_subtokens_per_s: f64,
    /// Mean milliseconds per step in the encoder stack's forward pass (frozen encoders: cache reads).
    pub ms_encoder_forward: f64,
    /// Mean milliseconds per step in the backward pass through the encoders (0 when all are frozen).
    pub ms_encoder_backward: f64,
    /// Mean milliseconds per step in the head, forward and backward.
    pub ms_head: f64,
    /// Mean milliseconds per step in clipping and the optimiser updates.
    pub ms_optimizer: f64,
    /// Timed evaluation documents (batches of examples for sentence-level tasks).
    pub eval_docs: usize,
    /// Evaluation documents per second.
    pub eval_docs_per_s: f64,
    /// Evaluation subtokens per second.
    pub eval_subtokens_per_s: f64,
    /// Peak resident memory of the process in MiB (Linux `VmHWM`).
    pub peak_rss_mib: Option<f64>,
}

/// Runs `reprobe bench`.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let mut overrides: Vec<Override> = args
        .overrides
        .iter()
        .map(|a| parse_override(a))
        .collect::<Result<_>>()?;
    if let Some(d) = &args.device {
        overrides.push(parse_override(&format!("device={d}"))?);
    }
    let resolved = resolve(&args.config, &overrides)?;
    if resolved.config.task != TaskKind::Coref {
        return crate::with_task!(resolved.config.task, T => bench_batches::<T>(&args, &resolved));
    }
    let cfg = &resolved.config;
    let backbone = Backbone::build(cfg)?;
    let task = CorefTask::build(cfg, &backbone, None)?;
    let model = (&backbone, &task);
    let need = args.warmup + args.train_docs;
    let Some(train_path) = &cfg.data.train else {
        bail!("`data.train` is not set")
    };
    let train = load_split(train_path, &backbone.tokenizer, &cfg.data, Some(need))?.docs;
    if train.len() < need {
        bail!(
            "{} has {} documents; --warmup + --train-docs asks for {need}",
            train_path.display(),
            train.len()
        );
    }
    let dev_path = cfg.data.dev.as_ref().unwrap_or(train_path);
    let dev = load_split(
        dev_path,
        &backbone.tokenizer,
        &cfg.data,
        Some(args.eval_docs),
    )?
    .docs;
    let mut optim = OptimizerSet::with_grouping(
        &backbone.params,
        &cfg.optim,
        need,
        backbone.stack.aggregator_in_encoder_group(),
    )?;
    let max_segments = task.max_segments();

    let mut result = BenchResult {
        device: cfg.device.clone(),
        dtype: cfg.dtype.clone(),
        ..Default::default()
    };
    let mut timed_subtokens = 0;
    let mut started = Instant::now();
    for (i, doc) in train.iter().enumerate() {
        if i == args.warmup {
            started = Instant::now();
            result = BenchResult {
                device: cfg.device.clone(),
                dtype: cfg.dtype.clone(),
                ..Default::default()
            };
        }
        let t = step(model, &mut optim, doc, max_segments)?;
        if i >= args.warmup {
            timed_subtokens += t.subtokens;
            result.ms_encoder_forward += t.encoder_forward * 1e3;
            result.ms_encoder_backward += t.encoder_backward * 1e3;
            result.ms_head += t.head * 1e3;
            result.ms_optimizer += t.optimizer * 1e3;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let n = args.train_docs.max(1) as f64;
    result.train_docs = args.train_docs;
    result.train_docs_per_s = args.train_docs as f64 / seconds;
    result.train_subtokens_per_s = timed_subtokens as f64 / seconds;
    result.ms_encoder_forward /= n;
    result.ms_encoder_backward /= n;
    result.ms_head /= n;
    result.ms_optimizer /= n;

    let started = Instant::now();
    let mut subtokens = 0;
    for doc in &dev {
        let fwd = task.forward(&backbone, doc, None, true, false)?;
        fwd.output.decode()?;
        subtokens += doc.num_subtokens();
    }
    let seconds = started.elapsed().as_secs_f64();
    result.eval_docs = dev.len();
    result.eval_docs_per_s = dev.len() as f64 / seconds;
    result.eval_subtokens_per_s = subtokens as f64 / seconds;
    result.peak_rss_mib = peak_rss_mib();

    match args.format {
        BenchFormat::Json => println!("{}", serde_json::to_string(&result)?),
        BenchFormat::Text => print!("{}", text(&result)),
    }
    Ok(ExitCode::SUCCESS)
}

struct StepTimes {
    encoder_forward: f64,
    encoder_backward: f64,
    head: f64,
    optimizer: f64,
    subtokens: usize,
}

/// One training step with the backward pass split at the encoder output: the head's gradient with respect
/// to a detached copy of the embeddings, then (with tuned encoders) `Σ embeddings ∘ that gradient` back
/// through the encoders, which gives the encoders exactly their chain-rule gradients.
fn step(
    (backbone, task): (&Backbone, &CorefTask),
    optim: &mut OptimizerSet,
    doc: &ModelDocument,
    max_segments: usize,
) -> Result<StepTimes> {
    let crop = (doc.segments.len() > max_segments).then_some((max_segments, 0));
    let t0 = Instant::now();
    let encoded = task.encode(backbone, doc, crop, true, true)?;
    let encoder_forward = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let detached = Var::from_tensor(&encoded.embeddings.detach())?;
    let output = task.score(backbone, &encoded, detached.as_tensor(), true)?;
    let loss = output.loss.context("the head returned no loss")?;
    let mut grads = loss.backward()?;
    backbone.device.synchronize()?;
    let head = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let tuned = backbone.params.with_prefix("encoders.");
    if !tuned.is_empty() {
        if let Some(upstream) = grads.remove(detached.as_tensor()) {
            let surrogate: Tensor = (encoded.embeddings.clone() * upstream)?.sum_all()?;
            let encoder_grads = surrogate.backward()?;
            for (_, var) in backbone.params.all() {
                if let Some(g) = encoder_grads.get(var.as_tensor()) {
                    grads.insert(var.as_tensor(), g.clone());
                }
            }
        }
    }
    backbone.device.synchronize()?;
    let encoder_backward = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    optim.clip_and_step(&grads)?;
    backbone.device.synchronize()?;
    Ok(StepTimes {
        encoder_forward,
        encoder_backward,
        head,
        optimizer: t0.elapsed().as_secs_f64(),
        subtokens: encoded.inputs.len(),
    })
}

/// The benchmark of a batched (sentence-level) task: training steps of `train.batch_size` examples after
/// `--warmup` steps, then an evaluation pass; examples/s for both.
fn bench_batches<T: Task>(
    args: &BenchArgs,
    resolved: &crate::config::Resolved,
) -> Result<ExitCode> {
    let cfg = &resolved.config;
    let backbone = Backbone::build(cfg)?;
    let task = T::build(cfg, &backbone, T::training_labels(cfg)?)?;
    let Some(train_path) = &cfg.data.train else {
        bail!("`data.train` is not set")
    };
    let batch = cfg.batch_size();
    let need = (args.warmup + args.train_docs) * batch;
    let (train, _) = task.read_split(&backbone, train_path, Some(need))?;
    if train.len() < need {
        bail!(
            "{} has {} examples; (--warmup + --train-docs) × batch size {batch} asks for {need}",
            train_path.display(),
            train.len()
        );
    }
    let dev_path = cfg.data.dev.as_ref().unwrap_or(train_path);
    let (dev, _) = task.read_split(&backbone, dev_path, Some(args.eval_docs * batch))?;
    let mut optim = OptimizerSet::with_grouping(
        &backbone.params,
        &cfg.optim,
        args.warmup + args.train_docs,
        backbone.stack.aggregator_in_encoder_group(),
    )?;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(cfg.seed);
    let batches: Vec<Vec<usize>> = (0..args.warmup + args.train_docs)
        .map(|b| (b * batch..(b + 1) * batch).collect())
        .collect();
    let mut started = Instant::now();
    let mut cpu_started = cpu_seconds();
    for (i, indices) in batches.iter().enumerate() {
        if i == args.warmup {
            backbone.device.synchronize()?;
            started = Instant::now();
            cpu_started = cpu_seconds();
        }
        let examples: Vec<&T::Example> = indices.iter().map(|&j| &train[j]).collect();
        let loss = task.loss(&backbone, &examples, &mut rng)?;
        let grads = loss.backward()?;
        optim.clip_and_step(&grads)?;
    }
    backbone.device.synchronize()?;
    let train_seconds = started.elapsed().as_secs_f64();
    let train_cpu_seconds = cpu_seconds() - cpu_started;
    let trained = args.train_docs * batch;

    let started = Instant::now();
    let progress = crate::progress::Progress::hidden();
    task.evaluate(&backbone, &dev, &mut rng, &progress)?;
    let eval_seconds = started.elapsed().as_secs_f64();
    let result = serde_json::json!({
        "task": cfg.task.name(),
        "device": cfg.device,
        "dtype": cfg.dtype,
        "batch_size": batch,
        "train_examples": trained,
        "train_examples_per_s": trained as f64 / train_seconds,
        "ms_per_step": train_seconds * 1e3 / args.train_docs.max(1) as f64,
        "train_cpu_seconds": train_cpu_seconds,
        "train_examples_per_cpu_s": trained as f64 / train_cpu_seconds,
        "eval_examples": dev.len(),
        "eval_examples_per_s": dev.len() as f64 / eval_seconds,
        "peak_rss_mib": peak_rss_mib(),
    });
    match args.format {
        BenchFormat::Json => println!("{result}"),
        BenchFormat::Text => println!(
            "device {} ({}), task {}, batch {batch}\n\
             training    {:>8.1} examples/s  ({trained} examples after warm-up; {:.1} ms per step; \
             {:.1} examples per CPU second)\n\
             evaluation  {:>8.1} examples/s  ({} examples)\n\
             peak memory {}",
            cfg.device,
            cfg.dtype,
            cfg.task.name(),
            trained as f64 / train_seconds,
            train_seconds * 1e3 / args.train_docs.max(1) as f64,
            trained as f64 / train_cpu_seconds,
            dev.len() as f64 / eval_seconds,
            dev.len(),
            peak_rss_mib()
                .map(|m| format!("{m:.0} MiB resident"))
                .unwrap_or_else(|| "n/a".into()),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// User + system CPU seconds of the whole process so far (all threads), as Python's `time.process_time`.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn text(r: &BenchResult) -> String {
    let step = r.ms_encoder_forward + r.ms_encoder_backward + r.ms_head + r.ms_optimizer;
    format!(
        "device {} ({})\n\
         training    {:>8.2} docs/s  {:>10.0} subtokens/s   ({} documents after warm-up)\n\
         per step    {:>8.1} ms = encoder forward {:.1} + encoder backward {:.1} + head {:.1} + optimiser {:.1}\n\
         evaluation  {:>8.2} docs/s  {:>10.0} subtokens/s   ({} documents)\n\
         peak memory {}\n",
        r.device,
        r.dtype,
        r.train_docs_per_s,
        r.train_subtokens_per_s,
        r.train_docs,
        step,
        r.ms_encoder_forward,
        r.ms_encoder_backward,
        r.ms_head,
        r.ms_optimizer,
        r.eval_docs_per_s,
        r.eval_subtokens_per_s,
        r.eval_docs,
        r.peak_rss_mib.map(|m| format!("{m:.0} MiB resident")).unwrap_or_else(|| "n/a".into()),
    )
}
