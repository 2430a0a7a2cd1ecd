//! Span representations, mention scores, coarse and fine antecedent scores (SPEC §3.3).
//!
//! Two exact re-arrangements make this much cheaper than the reference on a CPU:
//!
//! 1. **Split first layers.** The first linear layer of an FFNN on a concatenation `[x₁; x₂; …]` equals
//!    `Σ_b W_b x_b + b`. Where a block depends only on a token or a span, its product is computed once per
//!    token/span and gathered, instead of once per candidate/pair:
//!    - `span_emb_score_ffnn` on `g_c = [doc_start; doc_end; w_emb; h_c]`: `W_start·doc` and `W_end·doc` per
//!      token (`[N, F]`, gathered to `[C, F]`), `W_head·doc` per token then attention-weighted per span
//!      (`h_c` is linear in `doc`), only the width block per candidate. This is exact because nothing
//!      random sits between `g` and that layer except the width-embedding dropout, which is applied to
//!      `w_emb` itself before the product (SPEC §3.3, §3.7: no dropout on `doc` or `h_c`).
//!    - `coref_score_ffnn` on `[g_i; g_j; g_i∘g_j; φ]`: `W_a g` and `W_b g` per top span (`[K, F]`, the
//!      latter gathered to `[K·A, F]`), only `W_c (g_i∘g_j)` and `W_d φ` per pair. Exact: `g` has no
//!      dropout on that path (only `φ` has, and it stays per pair).
//! 2. **Local head attention.** The head-word attention of a span only sees its own (≤ W) tokens. The
//!    reference builds a `[C, N]` log-mask and multiplies `[C, N] × [N, H]`. The fused CPU path
//!    (`fused.rs`) takes the `[C, W]` softmax weights of each span's own tokens and sums the `W·doc`
//!    rows of those tokens inside its kernel. The generic path (`span_attention`, also used for the `K`
//!    top spans' `h` in H-space) groups the spans by `start / HEAD_BLOCK` and lets each group attend over
//!    a window of `HEAD_BLOCK + W − 1` tokens, as one batched `[G, R, L] × [G, L, D]` product: for
//!    N = 1,100, W = 30 that is `L = 45` columns per span instead of 1,100, with no `[C, N]` tensor. On
//!    the benchmark document (C = 15,300, H = 384, F = 1000) the whole mention scoring takes 0.13 s;
//!    the reference's dense attention plus unsplit first layer take 0.65 s (forward only).
//!
//! The big FFNNs themselves run as fused kernels on the CPU (see `fused.rs`).
use candle_core::{DType, Device, Tensor};

use super::buckets::bucket_distance;
use super::fused::{self, MentionLayout, PairIndex};
use super::{index_tensor, CorefHead, CorefInputs};
use crate::heads::layers::{softmax_last_dim, Ffnn};
use crate::Result;

/// Spans whose start falls in the same block of this many tokens share one attention window.
pub const HEAD_BLOCK: usize = 16;

/// For each span `(s, e)`: `Σ_{t=s..e} softmax_t(alpha[s..=e]) · values[t]` (the head-word attention of
/// SPEC §3.3), block-wise (see the module doc): no `[S, N]` mask is ever built.
///
/// # Shapes
/// - `values`: `[N, D]`, `alpha`: `[N]`; output: `[S, D]` in the order of `spans`
pub(crate) fn span_attention(
    values: &Tensor,
    alpha: &Tensor,
    spans: &[(usize, usize)],
) -> Result<Tensor> {
    let (n, d) = values.dims2()?;
    let device = values.device();
    if spans.is_empty() {
        return Ok(Tensor::zeros((0, d), values.dtype(), device)?);
    }
    let max_len = spans.iter().map(|&(s, e)| e + 1 - s).max().unwrap_or(1);
    let window = HEAD_BLOCK + max_len - 1; // L
                                           // Consecutive spans with the same start block share a window starting at block · HEAD_BLOCK.
    let mut blocks: Vec<(usize, Vec<usize>)> = Vec::new(); // (window start, span ids)
    for (i, &(s, _)) in spans.iter().enumerate() {
        let lo = s / HEAD_BLOCK * HEAD_BLOCK;
        match blocks.last_mut() {
            Some((block_lo, ids)) if *block_lo == lo => ids.push(i),
            _ => blocks.push((lo, vec![i])),
        }
    }
    let g = blocks.len();
    let r = blocks.iter().map(|(_, ids)| ids.len()).max().unwrap_or(1);
    let mut token_idx = Vec::with_capacity(g * window);
    let mut mask = vec![f32::NEG_INFINITY; g * r * window];
    let mut row_of_span = vec![0usize; spans.len()];
    for (bi, (lo, ids)) in blocks.iter().enumerate() {
        token_idx.extend((0..window).map(|l| (lo + l).min(n - 1)));
        for row in 0..r {
            let base = (bi * r + row) * window;
            match ids.get(row) {
                Some(&span_id) => {
                    let (s, e) = spans[span_id];
                    for t in s..=e {
                        mask[base + t - lo] = 0.0;
                    }
                    row_of_span[span_id] = bi * r + row;
                }
                // A padding row attends to one token so that its softmax stays finite; it is dropped.
                None => mask[base] = 0.0,
            }
        }
    }
    let token_idx = index_tensor(&token_idx, device)?; // [G·L]
    let values_blk = values
        .index_select(&token_idx, 0)?
        .reshape((g, window, d))?; // [G, L, D]
    let alpha_blk = alpha.index_select(&token_idx, 0)?.reshape((g, 1, window))?; // [G, 1, L]
    let mask = Tensor::from_vec(mask, (g, r, window), device)?.to_dtype(values.dtype())?; // [G, R, L]
    let weights = softmax_last_dim(&mask.broadcast_add(&alpha_blk)?)?; // [G, R, L]
    let summed = weights.matmul(&values_blk)?.reshape((g * r, d))?; // [G·R, D]
    Ok(summed.index_select(&index_tensor(&row_of_span, device)?, 0)?) // [S, D]
}

/// What the mention scorer computed that the span representations reuse.
#[derive(Debug, Clone)]
pub(crate) struct MentionScores {
    /// Mention score of every candidate (width prior included). `[C]`
    pub scores: Tensor,
    /// The width embedding of every candidate after dropout, when `use_features`. `[C, f]`
    pub width_emb: Option<Tensor>,
    /// Head-word attention logit of every token (1 for all without `model_heads`). `[N]`
    pub alpha: Tensor,
}

/// The coarse antecedent scores kept for each top span.
#[derive(Debug, Clone)]
pub(crate) struct CoarseAntecedents {
    /// `[K][A]` indices into the top spans, best first.
    pub antecedent_indices: Vec<Vec<usize>>,
    /// `[K][A]` true where the antecedent is an earlier span.
    pub antecedent_mask: Vec<Vec<bool>>,
    /// The antecedent indices, flat, on the device. `[K·A]`
    pub antecedent_flat: Tensor,
    /// The coarse scores of the kept pairs (`−∞` where masked). `[K, A]`
    pub top_fast_scores: Tensor,
}

impl CorefHead {
    /// Span representations are never materialised for the `C` candidates: only their mention scores,
    /// with the first layer split as described in the module doc (SPEC §3.3 "mention score").
    ///
    /// # Shapes
    /// - `doc`: `[N, H]`; output scores `[C]`
    pub(crate) fn mention_scores(
        &self,
        doc: &Tensor,
        candidates: &[(usize, usize)],
        train: bool,
    ) -> Result<MentionScores> {
        let (_, h) = doc.dims2()?;
        if self.fused && fused::usable(doc) && self.cfg.ffnn_depth == 1 {
            return self.mention_scores_fused(doc, candidates, train);
        }
        let device = doc.device();
        let starts: Vec<usize> = candidates.iter().map(|&(s, _)| s).collect();
        let ends: Vec<usize> = candidates.iter().map(|&(_, e)| e).collect();
        let widths: Vec<usize> = candidates.iter().map(|&(s, e)| e - s).collect();
        let starts = index_tensor(&starts, device)?; // [C]
        let ends = index_tensor(&ends, device)?; // [C]
        let widths = index_tensor(&widths, device)?; // [C]

        let alpha = self.head_logits(doc)?; // [N]
        let width_emb = self.width_embeddings(&widths, train)?; // [C, f]

        // First layer of span_emb_score_ffnn on g = [doc_start; doc_end; w_emb; h], block by block.
        let first = self.span_emb_score_ffnn.first();
        let blocks = self.mention_weight_blocks(h, width_emb.is_some())?;
        let (w_start, w_end, w_head) = (&blocks[0], &blocks[1], &blocks[blocks.len() - 1]);
        let start_part = doc.matmul(&w_start.t()?)?.index_select(&starts, 0)?; // [C, F]
        let end_part = doc.matmul(&w_end.t()?)?.index_select(&ends, 0)?; // [C, F]
        let head_proj = doc.matmul(&w_head.t()?)?; // [N, F]
        let head_part = span_attention(&head_proj, &alpha, candidates)?; // [C, F]
        let mut pre = start_part.add(&end_part)?; // [C, F]
        if let Some(width_emb) = &width_emb {
            pre = pre.add(&width_emb.matmul(&blocks[2].t()?)?)?; // [C, F]
        }
        let pre = pre.add(&head_part)?.broadcast_add(&first.b)?; // [C, F]
        let scores = self
            .span_emb_score_ffnn
            .forward_from_first(&pre, &self.dropout, train)?; // [C]
        let scores = self.add_width_prior(scores, &widths, train)?; // [C]
        Ok(MentionScores {
            scores,
            width_emb,
            alpha,
        })
    }

    /// The head-word attention logit of every token (SPEC §3.3): `mention_token_attn(doc)`, or 1
    /// everywhere (a plain average) without `model_heads`.
    ///
    /// # Shapes
    /// - `doc`: `[N, H]`; output: `[N]`
    fn head_logits(&self, doc: &Tensor) -> Result<Tensor> {
        Ok(match &self.mention_token_attn {
            Some(attn) => attn.forward(doc)?.squeeze(1)?, // [N]
            None => Tensor::ones(doc.dim(0)?, doc.dtype(), doc.device())?, // [N]
        })
    }

    /// The width embedding of every candidate after dropout, when `use_features`.
    ///
    /// # Shapes
    /// - `widths`: `[C]` (`e − s`); output: `[C, f]`
    fn width_embeddings(&self, widths: &Tensor, train: bool) -> Result<Option<Tensor>> {
        match &self.emb_span_width {
            Some(table) => Ok(Some(
                self.dropout
                    .forward_t(&table.index_select(widths, 0)?, train)?,
            )), // [C, f]
            None => Ok(None),
        }
    }

    /// The blocks of the weight of `span_emb_score_ffnn`'s first layer that act on `doc_start`,
    /// `doc_end`, `w_emb` (only `with_width`) and `h` of `g = [doc_start; doc_end; w_emb; h]`, each
    /// `[F, block width]`.
    fn mention_weight_blocks(&self, h: usize, with_width: bool) -> Result<Vec<Tensor>> {
        let mut block_widths = vec![h, h];
        if with_width {
            block_widths.push(self.cfg.feature_emb_size);
        }
        block_widths.push(h);
        self.span_emb_score_ffnn
            .first()
            .weight_blocks(&block_widths)
    }

    /// Adds the width prior `span_width_score_ffnn(emb_span_width_prior)[width]` to the mention scores
    /// when `use_width_prior` (SPEC §3.3).
    ///
    /// # Shapes
    /// - `scores`: `[C]`, `widths`: `[C]`; output: `[C]`
    fn add_width_prior(&self, scores: Tensor, widths: &Tensor, train: bool) -> Result<Tensor> {
        match (&self.span_width_score_ffnn, &self.emb_span_width_prior) {
            (Some(prior_ffnn), Some(prior_emb)) => {
                let width_scores = prior_ffnn.forward_t(prior_emb, &self.dropout, train)?; // [W]
                Ok(scores.add(&width_scores.index_select(widths, 0)?)?) // [C]
            }
            _ => Ok(scores),
        }
    }

    /// `g = [doc_start; doc_end; w_emb; h]` for the top spans (SPEC §3.3), the width embedding with the
    /// dropout mask the mention scorer used, as in the reference (which gathers the rows of one tensor).
    ///
    /// # Shapes
    /// - `doc`: `[N, H]`, `top_idx`: `[K]` candidate indices; output: `[K, G]`
    pub(crate) fn span_embeddings(
        &self,
        doc: &Tensor,
        mention: &MentionScores,
        top_spans: &[(usize, usize)],
        top_idx: &Tensor,
    ) -> Result<Tensor> {
        let device = doc.device();
        let starts: Vec<usize> = top_spans.iter().map(|&(s, _)| s).collect();
        let ends: Vec<usize> = top_spans.iter().map(|&(_, e)| e).collect();
        let mut parts = vec![
            doc.index_select(&index_tensor(&starts, device)?, 0)?, // [K, H]
            doc.index_select(&index_tensor(&ends, device)?, 0)?,   // [K, H]
        ];
        if let Some(width_emb) = &mention.width_emb {
            parts.push(width_emb.index_select(top_idx, 0)?); // [K, f]
        }
        parts.push(span_attention(doc, &mention.alpha, top_spans)?); // [K, H]
        Ok(Tensor::cat(&parts, 1)?) // [K, G]
    }

    /// Coarse scores of every pair of top spans, then the best `A` antecedents of each span
    /// (SPEC §3.3 "coarse antecedent scoring"). Offsets are in units of top-span index.
    ///
    /// `topk` runs on the host; ties (in practice only among the `−∞` of the masked pairs, or between
    /// padded copies) go to the lower index.
    ///
    /// # Shapes
    /// - `top_span_emb`: `[K, G]`, `top_mention_scores`: `[K]`; output `top_fast_scores`: `[K, A]`
    pub(crate) fn coarse_antecedents(
        &self,
        top_span_emb: &Tensor,
        top_mention_scores: &Tensor,
        train: bool,
    ) -> Result<CoarseAntecedents> {
        let (k, _) = top_span_emb.dims2()?;
        let device = top_span_emb.device();
        let dtype = top_span_emb.dtype();
        let a = k.min(self.cfg.max_top_antecedents);

        let source = self
            .dropout
            .forward_t(&self.coarse_bilinear.forward(top_span_emb)?, train)?; // [K, G]
        let target = self.dropout.forward_t(top_span_emb, train)?; // [K, G]
        let pair_coref = source.matmul(&target.t()?)?; // [K, K]
        let mention_sum = top_mention_scores
            .unsqueeze(1)?
            .broadcast_add(&top_mention_scores.unsqueeze(0)?)?; // [K, K]
        let mut fast = mention_sum.add(&pair_coref)?; // [K, K]

        let mut log_mask = Vec::with_capacity(k * k);
        let mut buckets = Vec::with_capacity(k * k);
        for i in 0..k {
            for j in 0..k {
                let offset = i as i64 - j as i64;
                log_mask.push(if offset >= 1 {
                    0.0f32
                } else {
                    f32::NEG_INFINITY
                });
                buckets.push(bucket_distance(offset) as usize);
            }
        }
        let log_mask = Tensor::from_vec(log_mask, (k, k), device)?.to_dtype(dtype)?; // [K, K]
        fast = fast.add(&log_mask)?;
        if let (Some(prior), Some(prior_emb)) = (
            &self.antecedent_distance_score_ffnn,
            &self.emb_antecedent_distance_prior,
        ) {
            let distance_scores = prior
                .forward(&self.dropout.forward_t(prior_emb, train)?)?
                .squeeze(1)?; // [10]
            let bucketed = distance_scores
                .index_select(&index_tensor(&buckets, device)?, 0)?
                .reshape((k, k))?; // [K, K]
            fast = fast.add(&bucketed)?;
        }

        // Top-A per row on the host: descending score, ties to the lower index.
        let fast_host: Vec<f32> = fast.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
        let mut antecedent_indices = Vec::with_capacity(k);
        let mut antecedent_mask = Vec::with_capacity(k);
        let mut flat = Vec::with_capacity(k * a);
        let mut order: Vec<usize> = Vec::with_capacity(k);
        for i in 0..k {
            let row = &fast_host[i * k..(i + 1) * k];
            order.clear();
            order.extend(0..k);
            let cmp = |x: &usize, y: &usize| row[*y].total_cmp(&row[*x]).then(x.cmp(y));
            if a < k {
                order.select_nth_unstable_by(a, cmp);
                order.truncate(a);
            }
            order.sort_unstable_by(cmp);
            antecedent_mask.push(order.iter().map(|&j| j < i).collect::<Vec<bool>>());
            flat.extend_from_slice(&order);
            antecedent_indices.push(order.clone());
        }
        let antecedent_flat = index_tensor(&flat, device)?; // [K·A]
        let top_fast_scores = fast.gather(&antecedent_flat.reshape((k, a))?, 1)?; // [K, A]
        Ok(CoarseAntecedents {
            antecedent_indices,
            antecedent_mask,
            antecedent_flat,
            top_fast_scores,
        })
    }

    /// The fine-grained pair scores `FFNN_c([g_i; g_j; g_i∘g_j; φ])` of the kept pairs (SPEC §3.3,
    /// `coref_depth = 1`), with `φ = dropout([same speaker; genre; segment distance; antecedent distance])`.
    /// The segment distance is clamped to `[0, max_training_sentences − 1]` (SPEC §3.8).
    ///
    /// # Shapes
    /// - `top_span_emb`: `[K, G]`; output: `[K, A]`
    pub(crate) fn fine_scores(
        &self,
        top_span_emb: &Tensor,
        top_spans: &[(usize, usize)],
        coarse: &CoarseAntecedents,
        inputs: &CorefInputs,
        train: bool,
    ) -> Result<Tensor> {
        let Some(ffnn) = &self.coref_score_ffnn else {
            return Ok(coarse.top_fast_scores.zeros_like()?);
        };
        if self.fused && fused::usable(top_span_emb) && self.cfg.ffnn_depth == 1 {
            return self.fine_scores_fused(ffnn, top_span_emb, top_spans, coarse, inputs, train);
        }
        let (k, g) = top_span_emb.dims2()?;
        let a = coarse.antecedent_indices.first().map_or(0, |row| row.len());
        let device = top_span_emb.device();

        let features = self.pair_features(top_spans, coarse, inputs, device, train)?; // [K·A, P]
        let first = ffnn.first();
        let p = features.as_ref().map_or(0, |f| f.dim(1).unwrap_or(0));
        let mut widths = vec![g, g, g];
        if p > 0 {
            widths.push(p);
        }
        let blocks = first.weight_blocks(&widths)?;
        let target_part = top_span_emb.matmul(&blocks[0].t()?)?; // [K, F]
        let antecedent_part = top_span_emb
            .matmul(&blocks[1].t()?)?
            .index_select(&coarse.antecedent_flat, 0)?; // [K·A, F]
        let antecedent_emb = top_span_emb.index_select(&coarse.antecedent_flat, 0)?; // [K·A, G]
        let similarity = antecedent_emb
            .reshape((k, a, g))?
            .broadcast_mul(&top_span_emb.unsqueeze(1)?)?
            .reshape((k * a, g))?; // [K·A, G]
        let mut pre = similarity.matmul(&blocks[2].t()?)?.add(&antecedent_part)?; // [K·A, F]
        if let Some(features) = &features {
            pre = pre.add(&features.matmul(&blocks[3].t()?)?)?; // [K·A, F]
        }
        let f = pre.dim(1)?;
        let pre = pre
            .reshape((k, a, f))?
            .broadcast_add(&target_part.unsqueeze(1)?)?
            .broadcast_add(&first.b)?
            .reshape((k * a, f))?; // [K·A, F]
        let scores = ffnn.forward_from_first(&pre, &self.dropout, train)?; // [K·A]
        Ok(scores.reshape((k, a))?) // [K, A]
    }

    /// [`CorefHead::mention_scores`] with the fused CPU kernel (`ffnn_depth = 1`): the per-token products
    /// are stacked into one table and every candidate's hidden layer is computed and consumed row by row
    /// (see `fused.rs`); the head attention uses the `[C, W]` softmax weights of each span's own tokens.
    fn mention_scores_fused(
        &self,
        doc: &Tensor,
        candidates: &[(usize, usize)],
        train: bool,
    ) -> Result<MentionScores> {
        let (n, h) = doc.dims2()?;
        let device = doc.device();
        let c = candidates.len();
        let w = self.cfg.max_span_width;
        let widths: Vec<usize> = candidates.iter().map(|&(s, e)| e - s).collect();
        let widths_t = index_tensor(&widths, device)?; // [C]
        let alpha = self.head_logits(doc)?; // [N]
        let width_emb = self.width_embeddings(&widths_t, train)?; // [C, f]
        let first = self.span_emb_score_ffnn.first();
        let out = &self.span_emb_score_ffnn.out;
        let blocks = self.mention_weight_blocks(h, width_emb.is_some())?;
        let mut rows = vec![
            doc.matmul(&blocks[0].t()?)?.broadcast_add(&first.b)?, // [N, F]: start part + b₁
            doc.matmul(&blocks[1].t()?)?,                          // [N, F]: end part
            doc.matmul(&blocks[blocks.len() - 1].t()?)?,           // [N, F]: head part per token
        ];
        if width_emb.is_some() {
            rows.push(blocks[2].t()?); // [f, F]
        }
        rows.push(out.w.clone()); // [1, F]
        let table = Tensor::cat(&rows, 0)?; // [3N + f + 1, F]

        // Head-attention weights over each span's own tokens. [C, W]
        let mut token_idx = Vec::with_capacity(c * w);
        let mut log_mask = Vec::with_capacity(c * w);
        for &(s, e) in candidates {
            for l in 0..w {
                token_idx.push((s + l).min(n - 1));
                log_mask.push(if s + l <= e {
                    0.0f32
                } else {
                    f32::NEG_INFINITY
                });
            }
        }
        let log_mask = Tensor::from_vec(log_mask, (c, w), device)?.to_dtype(doc.dtype())?;
        let logits = alpha
            .index_select(&index_tensor(&token_idx, device)?, 0)?
            .reshape((c, w))?
            .add(&log_mask)?; // [C, W]
        let attn = softmax_last_dim(&logits)?; // [C, W]
        let weights = match &width_emb {
            Some(width_emb) => Tensor::cat(&[&attn, width_emb], 1)?, // [C, W + f]
            None => attn,
        };
        let layout = std::sync::Arc::new(MentionLayout {
            n,
            w,
            f: if width_emb.is_some() {
                self.cfg.feature_emb_size
            } else {
                0
            },
            starts: candidates.iter().map(|&(s, _)| s as u32).collect(),
            ends: candidates.iter().map(|&(_, e)| e as u32).collect(),
        });
        let mask = self.dropout.mask_values(c * self.cfg.ffnn_size, train);
        let scores =
            fused::mention_scores(&table, &weights, &layout, mask)?.broadcast_add(&out.b)?; // [C]
        let scores = self.add_width_prior(scores, &widths_t, train)?; // [C]
        Ok(MentionScores {
            scores,
            width_emb,
            alpha,
        })
    }

    /// [`CorefHead::fine_scores`] with the fused CPU kernels (`ffnn_depth = 1`): `X = [g_i∘g_j; φ]` per
    /// pair, one product `X·W_cdᵀ`, then the rest of the FFNN row by row (see `fused.rs`). `ffnn` is
    /// `coref_score_ffnn`.
    fn fine_scores_fused(
        &self,
        ffnn: &Ffnn,
        top_span_emb: &Tensor,
        top_spans: &[(usize, usize)],
        coarse: &CoarseAntecedents,
        inputs: &CorefInputs,
        train: bool,
    ) -> Result<Tensor> {
        let (k, g) = top_span_emb.dims2()?;
        let a = coarse.antecedent_indices.first().map_or(0, |row| row.len());
        let device = top_span_emb.device();
        let features = self.pair_features(top_spans, coarse, inputs, device, train)?; // [K·A, P]
        let features = match features {
            Some(f) => f,
            None => Tensor::zeros((k * a, 0), top_span_emb.dtype(), device)?,
        };
        let p = features.dim(1)?;
        let ant: Vec<u32> = coarse
            .antecedent_indices
            .iter()
            .flat_map(|row| row.iter().map(|&j| j as u32))
            .collect();
        let index = PairIndex::new(k, a, ant);
        let first = ffnn.first();
        let x = fused::pair_input(top_span_emb, &features, &index)?; // [K·A, G + P]
        let w_cd = first.w.narrow(1, 2 * g, g + p)?; // [F, G + P]
        let y = x.matmul(&w_cd.t()?)?; // [K·A, F]
        let blocks = first.weight_blocks(&[g, g])?;
        let target_part = top_span_emb
            .matmul(&blocks[0].t()?)?
            .broadcast_add(&first.b)?; // [K, F]
        let antecedent_part = top_span_emb.matmul(&blocks[1].t()?)?; // [K, F]
        let parts = Tensor::cat(&[&antecedent_part, &target_part, &ffnn.out.w], 0)?; // [2K + 1, F]
        let mask = self.dropout.mask_values(k * a * self.cfg.ffnn_size, train);
        let scores = fused::pair_scores(&y, &parts, &index, mask)?.broadcast_add(&ffnn.out.b)?; // [K·A]
        Ok(scores.reshape((k, a))?) // [K, A]
    }

    /// `φ` of every kept pair, after dropout, or `None` when every pair feature is off.
    ///
    /// # Shapes
    /// - output: `[K·A, P]`, `P` = [`super::CorefConfig::pair_feature_size`]
    fn pair_features(
        &self,
        top_spans: &[(usize, usize)],
        coarse: &CoarseAntecedents,
        inputs: &CorefInputs,
        device: &Device,
        train: bool,
    ) -> Result<Option<Tensor>> {
        let rows = coarse
            .antecedent_indices
            .iter()
            .map(Vec::len)
            .sum::<usize>();
        let pairs = || {
            coarse
                .antecedent_indices
                .iter()
                .enumerate()
                .flat_map(|(i, row)| row.iter().map(move |&j| (i, j)))
        };
        let mut parts = Vec::with_capacity(4);
        if let Some(same_speaker) = &self.emb_same_speaker {
            let idx: Vec<usize> = pairs()
                .map(|(i, j)| {
                    let (si, sj) = (top_spans[i].0, top_spans[j].0);
                    usize::from(inputs.speaker_ids[si] == inputs.speaker_ids[sj])
                })
                .collect();
            parts.push(same_speaker.index_select(&index_tensor(&idx, device)?, 0)?); // [K·A, f]
            let genre = vec![inputs.genre as usize; rows];
            parts.push(
                self.emb_genre
                    .index_select(&index_tensor(&genre, device)?, 0)?,
            ); // [K·A, f]
        }
        if let Some(segment_distance) = &self.emb_segment_distance {
            let max = self.cfg.max_training_sentences as i64 - 1;
            let idx: Vec<usize> = pairs()
                .map(|(i, j)| {
                    let seg_i = inputs.segment_of_token[top_spans[i].0] as i64;
                    let seg_j = inputs.segment_of_token[top_spans[j].0] as i64;
                    (seg_i - seg_j).clamp(0, max) as usize
                })
                .collect();
            parts.push(segment_distance.index_select(&index_tensor(&idx, device)?, 0)?);
            // [K·A, f]
        }
        if self.cfg.use_features {
            let idx: Vec<usize> = pairs()
                .map(|(i, j)| bucket_distance(i as i64 - j as i64) as usize)
                .collect();
            parts.push(
                self.emb_top_antecedent_distance
                    .index_select(&index_tensor(&idx, device)?, 0)?,
            ); // [K·A, f]
        }
        if parts.is_empty() {
            return Ok(None);
        }
        let features = Tensor::cat(&parts, 1)?; // [K·A, P]
        Ok(Some(self.dropout.forward_t(&features, train)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_attention_equals_the_dense_masked_softmax() {
        let device = Device::Cpu;
        let n = 40;
        let d = 3;
        let values: Vec<f32> = (0..n * d)
            .map(|i| ((i * 37 % 11) as f32) * 0.3 - 1.0)
            .collect();
        let alpha: Vec<f32> = (0..n).map(|i| ((i * 13 % 7) as f32) * 0.5 - 1.5).collect();
        let values_t = Tensor::from_vec(values.clone(), (n, d), &device).unwrap();
        let alpha_t = Tensor::from_vec(alpha.clone(), n, &device).unwrap();
        // Spans across several blocks, one long, out of order at the end (a padded copy).
        let spans = vec![
            (0, 0),
            (0, 4),
            (3, 5),
            (15, 17),
            (16, 16),
            (17, 39),
            (30, 33),
            (0, 4),
        ];
        let got = span_attention(&values_t, &alpha_t, &spans)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (row, &(s, e)) in got.iter().zip(&spans) {
            let max = alpha[s..=e]
                .iter()
                .cloned()
                .fold(f32::NEG_INFINITY, f32::max);
            let z: f32 = alpha[s..=e].iter().map(|a| (a - max).exp()).sum();
            for col in 0..d {
                let want: f32 = (s..=e)
                    .map(|t| (alpha[t] - max).exp() / z * values[t * d + col])
                    .sum();
                assert!(
                    (row[col] - want).abs() < 1e-5,
                    "{s}..{e}: {} vs {want}",
                    row[col]
                );
            }
        }
    }
}
