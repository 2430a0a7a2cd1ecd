//! The coref-hoi span-ranking coreference head (Xu & Choi 2020), exactly as SPEC §3.3–3.5 describes it.
//!
//! ```text
//! doc [N, H] ──► candidates (spans.rs) ──► span repr. g + mention scores (scoring.rs) ──► top-K pruning (prune.rs)
//!          ──► coarse scores + top-A antecedents ──► fine pair scores (scoring.rs) ──► [K, A+1] antecedent scores
//!          ──► loss (loss.rs, with gold) / greedy clusters (decode.rs)
//! ```
//! Training documents longer than `max_training_sentences` segments are cropped first by the caller with
//! [`crop::crop_document`] (SPEC §3.2, §9.1–9.3).
//!
//! Everything is computed as the reference does it, up to float rounding, with these exact
//! re-arrangements for speed (each documented where it is done):
//! - the first layer of `span_emb_score_ffnn` and of `coref_score_ffnn` is split by input block, so that
//!   the per-token / per-span parts are computed once and gathered instead of once per candidate / pair;
//! - the head-word attention never builds the `[C, N]` mask of the reference: each span attends over its
//!   own (≤ W) tokens;
//! - on the CPU in f32 with `ffnn_depth = 1`, the two large FFNNs run as fused kernels (`fused.rs`) that
//!   never materialise their `[C, F]` / `[K·A, F]` hidden layers; elsewhere (GPU, f64, deeper FFNNs) the
//!   generic tensor path runs; both draw the same dropout masks and compute the same function;
//! - candidate labels come from a hash map instead of an equality matrix.
//!
//! Measured on the shared 2-core CPU (`examples/coref_head_bench.rs`, N = 1,100, H = 384, ffnn 1000): a
//! training step of the head takes about 3.2–3.8 s, an evaluation forward about 0.85–1.0 s. The pair
//! scorer's one unavoidable product (`[K·A, G+P] × [G+P, F]`: 55 GFLOP forward, 110 backward, about
//! 1.1 s) and the other matrix products take about 60 % of the CPU time (perf); the fused kernels about
//! 14 %. Mention scoring takes 0.13–0.17 s where the reference's dense formulation takes 0.65–0.9 s.
//!
//! Deviations (SPEC §9.13): argsort ties go to the lower candidate index; the top spans are not padded
//! with copies unless `pad_top_spans` is set.

pub mod buckets;
pub mod config;
pub mod crop;
pub mod decode;
mod fused;
pub mod loss;
pub mod prune;
pub mod scoring;
pub mod spans;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use candle_core::{DType, Tensor};

pub use config::{CorefConfig, GoldCrop, LossType};
pub use crop::{crop_document, CroppedDocument};

use crate::dropout::Dropout;
use crate::heads::layers::{Ffnn, Linear};
use crate::params::{Init, ParamStore};
use crate::{Error, Result};

/// Prefix of every parameter name of the head in the [`ParamStore`] (`head.`, as every head).
pub const PARAM_PREFIX: &str = super::PARAM_PREFIX;

/// The per-subtoken inputs of one document besides its embeddings (plain data, no corpus types).
///
/// Every vector has one entry per real subtoken of the document (`N`, `[CLS]`/`[SEP]` included, padding
/// dropped), in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorefInputs {
    /// Sentence id of each subtoken (the jsonlines `sentence_map`). `[N]`
    pub sentence_map: Vec<u32>,
    /// Speaker id of each subtoken; only equality matters (same speaker or not). `[N]`
    pub speaker_ids: Vec<u32>,
    /// Index of the model segment each subtoken sits in (0, 0, …, 1, 1, …), non-decreasing. `[N]`
    pub segment_of_token: Vec<u32>,
    /// Genre id of the document, below `num_genres`.
    pub genre: u32,
}

impl CorefInputs {
    /// `N`, the number of subtokens.
    pub fn len(&self) -> usize {
        self.sentence_map.len()
    }

    /// True for a document without subtokens.
    pub fn is_empty(&self) -> bool {
        self.sentence_map.is_empty()
    }

    fn check(&self, n: usize, num_genres: usize) -> Result<()> {
        for (what, len) in [
            ("inputs.sentence_map", self.sentence_map.len()),
            ("inputs.speaker_ids", self.speaker_ids.len()),
            ("inputs.segment_of_token", self.segment_of_token.len()),
        ] {
            if len != n {
                return Err(Error::Input {
                    what: what.to_string(),
                    msg: format!("has {len} entries for a document of {n} subtokens"),
                });
            }
        }
        if self.genre as usize >= num_genres {
            return Err(Error::Input {
                what: "inputs.genre".to_string(),
                msg: format!(
                    "genre id {} is not below num_genres = {num_genres}",
                    self.genre
                ),
            });
        }
        Ok(())
    }
}

/// The gold mentions of one document: subtoken spans (ends inclusive) and their cluster ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorefGold {
    /// Mentions `(start, end)`, subtoken indices, `end` inclusive. `[G]`
    pub spans: Vec<(usize, usize)>,
    /// Cluster id of each mention, from 1 (0 means "no cluster" and is refused). `[G]`
    pub cluster_ids: Vec<u32>,
}

impl CorefGold {
    /// Gold from clusters of spans: cluster `i` gets id `i + 1`.
    pub fn from_clusters(clusters: &[Vec<(usize, usize)>]) -> Self {
        let mut gold = CorefGold::default();
        for (i, cluster) in clusters.iter().enumerate() {
            for &span in cluster {
                gold.spans.push(span);
                gold.cluster_ids.push(i as u32 + 1);
            }
        }
        gold
    }

    /// Label of every candidate: the cluster id of the gold mention with the same span, 0 if none
    /// (SPEC §3.3). A hash map replaces the reference's `[G, C]` equality matrices.
    ///
    /// The same span twice with two different cluster ids is an error (the reference would add the two
    /// ids up; its data preparation merges such clusters, SPEC §6.3).
    pub fn candidate_labels(&self, candidates: &[(usize, usize)], n: usize) -> Result<Vec<u32>> {
        if self.spans.len() != self.cluster_ids.len() {
            return Err(Error::Input {
                what: "gold".to_string(),
                msg: format!(
                    "{} spans but {} cluster ids",
                    self.spans.len(),
                    self.cluster_ids.len()
                ),
            });
        }
        spans::check_spans(&self.spans, n, "gold.spans")?;
        let mut label_of: HashMap<(usize, usize), u32> = HashMap::with_capacity(self.spans.len());
        for (i, (&span, &id)) in self.spans.iter().zip(&self.cluster_ids).enumerate() {
            if id == 0 {
                return Err(Error::Input {
                    what: format!("gold.cluster_ids[{i}]"),
                    msg: "cluster ids start at 1 (0 means no cluster)".to_string(),
                });
            }
            if let Some(&other) = label_of.get(&span) {
                if other != id {
                    return Err(Error::Input {
                        what: format!("gold.spans[{i}]"),
                        msg: format!(
                            "span {span:?} is in two clusters ({other} and {id}); merge them first"
                        ),
                    });
                }
            }
            label_of.insert(span, id);
        }
        Ok(candidates
            .iter()
            .map(|span| label_of.get(span).copied().unwrap_or(0))
            .collect())
    }
}

/// Everything the head computes for one document.
#[derive(Debug, Clone)]
pub struct CorefOutput {
    /// Candidate spans `(start, end)` (end inclusive), by start then width. `[C]`
    pub candidates: Vec<(usize, usize)>,
    /// Mention score of every candidate (width prior included). `[C]`
    pub candidate_mention_scores: Tensor,
    /// The kept candidates, as indices into `candidates`, sorted by span. `[K]`
    pub top_span_indices: Vec<usize>,
    /// The kept spans, sorted by `(start, end)`. `[K]`
    pub top_spans: Vec<(usize, usize)>,
    /// Mention scores of the kept spans. `[K]`
    pub top_mention_scores: Tensor,
    /// For each top span, its `A` antecedent candidates as indices into `top_spans`, best coarse score
    /// first. Entries with `antecedent_mask` false are not antecedents (there are fewer than `A` spans
    /// before this one) and have score `−∞`. `[K][A]`
    pub antecedent_indices: Vec<Vec<usize>>,
    /// Whether each entry of `antecedent_indices` is a real (earlier) span. `[K][A]`
    pub antecedent_mask: Vec<Vec<bool>>,
    /// Column 0 is the dummy antecedent (score 0), column `a + 1` the score of `antecedent_indices[i][a]`.
    /// `[K, A+1]`
    pub antecedent_scores: Tensor,
    /// Gold cluster id of each top span (0 = not a gold mention); only with gold. `[K]`
    pub top_span_labels: Option<Vec<u32>>,
    /// The loss (a scalar) when gold was given: summed over the top spans, not normalised (SPEC §3.4).
    pub loss: Option<Tensor>,
}

impl CorefOutput {
    /// The predicted antecedent of each top span (index into `top_spans`), `None` for the dummy
    /// (SPEC §3.5: the first maximum wins, so ties go to the dummy).
    pub fn predicted_antecedents(&self) -> Result<Vec<Option<usize>>> {
        decode::predicted_antecedents(&self.antecedent_indices, &self.antecedent_scores)
    }

    /// Greedy clustering of the predicted antecedent links into clusters of subtoken spans (SPEC §3.5).
    pub fn decode(&self) -> Result<Vec<Vec<(usize, usize)>>> {
        let antecedents = self.predicted_antecedents()?;
        Ok(decode::clusters_from_antecedents(
            &self.top_spans,
            &antecedents,
        ))
    }
}

/// The coref-hoi head: its parameters (under [`PARAM_PREFIX`] in a [`ParamStore`]) and its dropout.
#[derive(Debug, Clone)]
pub struct CorefHead {
    cfg: CorefConfig,
    hidden_size: usize,
    fused: bool,
    dropout: Dropout,
    emb_span_width: Option<Tensor>,
    emb_span_width_prior: Option<Tensor>,
    emb_antecedent_distance_prior: Option<Tensor>,
    emb_genre: Tensor,
    emb_same_speaker: Option<Tensor>,
    emb_segment_distance: Option<Tensor>,
    emb_top_antecedent_distance: Tensor,
    mention_token_attn: Option<Linear>,
    span_emb_score_ffnn: Ffnn,
    span_width_score_ffnn: Option<Ffnn>,
    coarse_bilinear: Linear,
    antecedent_distance_score_ffnn: Option<Linear>,
    coref_score_ffnn: Option<Ffnn>,
}

impl CorefHead {
    /// Creates (or takes, when they already exist) the head's parameters in `params` and validates `cfg`.
    ///
    /// Parameters are named as in coref-hoi with the prefix `head.` (`head.span_emb_score_ffnn.0.weight`,
    /// `head.coarse_bilinear.bias`, `head.emb_genre.weight`, …) and initialised as coref-hoi does
    /// (SPEC §3.7): weights and embeddings N(0, 0.02), biases 0, drawn from the store's seeded stream in
    /// coref-hoi's order. The one dropout module (p = `dropout_rate`) draws its masks from the same
    /// stream (`params.rng()`), so a run is repeatable from its seed and resumable from the stream state.
    ///
    /// `hidden_size` is `H`, the width of the document embeddings given to [`CorefHead::forward_t`].
    pub fn new(cfg: &CorefConfig, hidden_size: usize, params: &ParamStore) -> Result<Self> {
        cfg.validate()?;
        if hidden_size == 0 {
            return Err(Error::Config {
                key: "hidden_size".to_string(),
                msg: "the encoder width must be at least 1".to_string(),
            });
        }
        let f = cfg.feature_emb_size;
        let w = cfg.max_span_width;
        let g = cfg.span_emb_size(hidden_size);
        let emb = |name: &str, rows: usize| -> Result<Tensor> {
            params.get_or_init(
                &format!("{PARAM_PREFIX}{name}.weight"),
                (rows, f),
                Init::Normal(0.02),
            )
        };
        let emb_span_width = cfg
            .use_features
            .then(|| emb("emb_span_width", w))
            .transpose()?;
        let emb_span_width_prior = cfg
            .use_width_prior
            .then(|| emb("emb_span_width_prior", w))
            .transpose()?;
        let emb_antecedent_distance_prior = cfg
            .use_distance_prior
            .then(|| {
                emb(
                    "emb_antecedent_distance_prior",
                    buckets::NUM_DISTANCE_BUCKETS,
                )
            })
            .transpose()?;
        let emb_genre = emb("emb_genre", cfg.num_genres)?;
        let emb_same_speaker = cfg
            .use_metadata
            .then(|| emb("emb_same_speaker", 2))
            .transpose()?;
        let emb_segment_distance = cfg
            .use_segment_distance
            .then(|| emb("emb_segment_distance", cfg.max_training_sentences))
            .transpose()?;
        let emb_top_antecedent_distance =
            emb("emb_top_antecedent_distance", buckets::NUM_DISTANCE_BUCKETS)?;
        let hidden = vec![cfg.ffnn_size; cfg.ffnn_depth];
        let mention_token_attn = cfg
            .model_heads
            .then(|| Linear::new(params, &param("mention_token_attn"), hidden_size, 1))
            .transpose()?;
        let span_emb_score_ffnn = Ffnn::new(params, &param("span_emb_score_ffnn"), g, &hidden, 1)?;
        let span_width_score_ffnn = cfg
            .use_width_prior
            .then(|| Ffnn::new(params, &param("span_width_score_ffnn"), f, &hidden, 1))
            .transpose()?;
        let coarse_bilinear = Linear::new(params, &param("coarse_bilinear"), g, g)?;
        let antecedent_distance_score_ffnn = cfg
            .use_distance_prior
            .then(|| Linear::new(params, &param("antecedent_distance_score_ffnn"), f, 1))
            .transpose()?;
        let coref_score_ffnn = cfg
            .fine_grained
            .then(|| {
                Ffnn::new(
                    params,
                    &param("coref_score_ffnn"),
                    cfg.pair_emb_size(hidden_size),
                    &hidden,
                    1,
                )
            })
            .transpose()?;
        Ok(CorefHead {
            cfg: cfg.clone(),
            hidden_size,
            fused: true,
            dropout: Dropout::new(cfg.dropout_rate as f32, params.rng().clone()),
            emb_span_width,
            emb_span_width_prior,
            emb_antecedent_distance_prior,
            emb_genre,
            emb_same_speaker,
            emb_segment_distance,
            emb_top_antecedent_distance,
            mention_token_attn,
            span_emb_score_ffnn,
            span_width_score_ffnn,
            coarse_bilinear,
            antecedent_distance_score_ffnn,
            coref_score_ffnn,
        })
    }

    /// Whether to use the fused CPU kernels where they apply (f32 on the CPU, `ffnn_depth = 1`; on by
    /// default). Off, the head runs the generic tensor path everywhere, the one it always runs on GPUs;
    /// both compute the same function with the same dropout masks.
    pub fn with_fused_kernels(mut self, on: bool) -> Self {
        self.fused = on;
        self
    }

    /// The configuration the head was built with.
    pub fn config(&self) -> &CorefConfig {
        &self.cfg
    }

    /// `H`, the width of the document embeddings the head expects.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Scores one document and, when `gold` is given, computes the loss (SPEC §3.3–3.4). Dropout is
    /// active only when `train` is true.
    ///
    /// `doc` holds the (aggregated) encoder output of every real subtoken: the caller flattens the
    /// segments and drops the padding, keeping `[CLS]`/`[SEP]` as the reference does. A document too short
    /// for one top span (`K = 0`) gives empty outputs and a zero loss.
    ///
    /// # Shapes
    /// - `doc`: `[N, H]`, the dtype of the head's parameters
    /// - output: see [`CorefOutput`] (`C` candidates, `K` top spans, `A` antecedents)
    pub fn forward_t(
        &self,
        doc: &Tensor,
        inputs: &CorefInputs,
        gold: Option<&CorefGold>,
        train: bool,
    ) -> Result<CorefOutput> {
        self.forward_impl(doc, inputs, gold, train, &mut PhaseTimer::off())
    }

    /// Evaluation without an autograd graph: [`CorefHead::forward_t`] with `train = false` on detached
    /// parameters and embeddings, so every intermediate tensor is freed as soon as it is used and nothing
    /// can be back-propagated. For validation (with gold: the loss) and prediction; the numbers are those
    /// of `forward_t(…, false)`.
    pub fn forward_eval(
        &self,
        doc: &Tensor,
        inputs: &CorefInputs,
        gold: Option<&CorefGold>,
    ) -> Result<CorefOutput> {
        self.detached()
            .forward_impl(&doc.detach(), inputs, gold, false, &mut PhaseTimer::off())
    }

    /// A copy of the head whose parameters are cut from the autograd graph (sharing storage).
    fn detached(&self) -> CorefHead {
        let d = |t: &Option<Tensor>| t.as_ref().map(Tensor::detach);
        CorefHead {
            cfg: self.cfg.clone(),
            hidden_size: self.hidden_size,
            fused: self.fused,
            dropout: self.dropout.clone(),
            emb_span_width: d(&self.emb_span_width),
            emb_span_width_prior: d(&self.emb_span_width_prior),
            emb_antecedent_distance_prior: d(&self.emb_antecedent_distance_prior),
            emb_genre: self.emb_genre.detach(),
            emb_same_speaker: d(&self.emb_same_speaker),
            emb_segment_distance: d(&self.emb_segment_distance),
            emb_top_antecedent_distance: self.emb_top_antecedent_distance.detach(),
            mention_token_attn: self.mention_token_attn.as_ref().map(Linear::detached),
            span_emb_score_ffnn: self.span_emb_score_ffnn.detached(),
            span_width_score_ffnn: self.span_width_score_ffnn.as_ref().map(Ffnn::detached),
            coarse_bilinear: self.coarse_bilinear.detached(),
            antecedent_distance_score_ffnn: self
                .antecedent_distance_score_ffnn
                .as_ref()
                .map(Linear::detached),
            coref_score_ffnn: self.coref_score_ffnn.as_ref().map(Ffnn::detached),
        }
    }

    /// [`CorefHead::forward_t`], also returning the wall time of each phase (for benchmarks and progress
    /// reports). On an asynchronous device (CUDA) a phase's time is only the time to queue its kernels,
    /// except where the phase reads results back to the host (pruning, top-k).
    pub fn forward_t_timed(
        &self,
        doc: &Tensor,
        inputs: &CorefInputs,
        gold: Option<&CorefGold>,
        train: bool,
    ) -> Result<(CorefOutput, Vec<(&'static str, Duration)>)> {
        let mut timer = PhaseTimer::on();
        let out = self.forward_impl(doc, inputs, gold, train, &mut timer)?;
        Ok((out, timer.phases))
    }

    fn forward_impl(
        &self,
        doc: &Tensor,
        inputs: &CorefInputs,
        gold: Option<&CorefGold>,
        train: bool,
        timer: &mut PhaseTimer,
    ) -> Result<CorefOutput> {
        let (n, h) = doc.dims2()?;
        if h != self.hidden_size {
            return Err(Error::Input {
                what: "doc".to_string(),
                msg: format!(
                    "embeddings of width {h}, the head was built for {}",
                    self.hidden_size
                ),
            });
        }
        inputs.check(n, self.cfg.num_genres)?;
        let device = doc.device();

        // Candidates and their labels (host). [C]
        let candidates = spans::enumerate_candidates(&inputs.sentence_map, self.cfg.max_span_width);
        let candidate_labels = gold
            .map(|g| g.candidate_labels(&candidates, n))
            .transpose()?;
        timer.mark("candidates");

        // Mention scores of every candidate, and what the span representations reuse.
        let mention = self.mention_scores(doc, &candidates, train)?;
        let candidate_mention_scores = mention.scores.clone(); // [C]
        timer.mark("mention scores");

        // Top-span pruning (host, greedy non-crossing).
        let k = prune::num_top_spans(n, self.cfg.top_span_ratio, self.cfg.max_num_extracted_spans);
        let scores_host: Vec<f32> = candidate_mention_scores.to_dtype(DType::F32)?.to_vec1()?;
        let top_span_indices =
            prune::extract_top_spans(&scores_host, &candidates, k, self.cfg.pad_top_spans);
        let top_spans: Vec<(usize, usize)> =
            top_span_indices.iter().map(|&c| candidates[c]).collect();
        let top_span_labels = candidate_labels.as_ref().map(|labels| {
            top_span_indices
                .iter()
                .map(|&c| labels[c])
                .collect::<Vec<u32>>()
        });
        let k = top_spans.len();
        timer.mark("pruning");
        if k == 0 {
            let empty = Tensor::zeros(0, doc.dtype(), device)?;
            return Ok(CorefOutput {
                candidates,
                candidate_mention_scores,
                top_span_indices,
                top_spans,
                top_mention_scores: empty,
                antecedent_indices: Vec::new(),
                antecedent_mask: Vec::new(),
                antecedent_scores: Tensor::zeros((0, 1), doc.dtype(), device)?,
                top_span_labels,
                loss: gold
                    .map(|_| Tensor::zeros((), doc.dtype(), device))
                    .transpose()?,
            });
        }
        let top_idx = index_tensor(&top_span_indices, device)?; // [K]
        let top_mention_scores = candidate_mention_scores.index_select(&top_idx, 0)?; // [K]
        let top_span_emb = self.span_embeddings(doc, &mention, &top_spans, &top_idx)?; // [K, G]
        timer.mark("span embeddings");

        // Coarse scores and the top-A antecedents of each span.
        let coarse = self.coarse_antecedents(&top_span_emb, &top_mention_scores, train)?;
        timer.mark("coarse scores + top-k");

        // Fine-grained pair scores on top of the coarse ones. [K, A]
        let pair_scores = if self.coref_score_ffnn.is_some() {
            let slow = self.fine_scores(&top_span_emb, &top_spans, &coarse, inputs, train)?;
            slow.add(&coarse.top_fast_scores)?
        } else {
            coarse.top_fast_scores.clone()
        };
        let dummy = Tensor::zeros((k, 1), pair_scores.dtype(), device)?;
        let antecedent_scores = Tensor::cat(&[&dummy, &pair_scores], 1)?; // [K, A+1]
        timer.mark("fine scores");

        let loss = match &top_span_labels {
            Some(labels) => Some(loss::coref_loss(
                &self.cfg,
                &antecedent_scores,
                &coarse.antecedent_indices,
                &coarse.antecedent_mask,
                labels,
                &top_mention_scores,
            )?),
            None => None,
        };
        timer.mark("loss");
        Ok(CorefOutput {
            candidates,
            candidate_mention_scores,
            top_span_indices,
            top_spans,
            top_mention_scores,
            antecedent_indices: coarse.antecedent_indices,
            antecedent_mask: coarse.antecedent_mask,
            antecedent_scores,
            top_span_labels,
            loss,
        })
    }
}

/// Wall time per phase of a forward pass, when switched on.
struct PhaseTimer {
    last: Option<Instant>,
    phases: Vec<(&'static str, Duration)>,
}

impl PhaseTimer {
    fn off() -> Self {
        PhaseTimer {
            last: None,
            phases: Vec::new(),
        }
    }

    fn on() -> Self {
        PhaseTimer {
            last: Some(Instant::now()),
            phases: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        if let Some(last) = self.last {
            let now = Instant::now();
            self.phases.push((phase, now - last));
            self.last = Some(now);
        }
    }
}

/// The full parameter name of a layer of the head: `head.{name}`.
fn param(name: &str) -> String {
    format!("{PARAM_PREFIX}{name}")
}

/// A `u32` index tensor on `device`.
pub(crate) fn index_tensor(indices: &[usize], device: &candle_core::Device) -> Result<Tensor> {
    let data: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
    Ok(Tensor::from_vec(data, indices.len(), device)?)
}
