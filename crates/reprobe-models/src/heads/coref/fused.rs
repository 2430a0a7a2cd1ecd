//! Fused CPU kernels for the two large FFNNs of the head (one hidden layer, f32, CPU only).
//!
//! candle builds every step of `relu(Σ parts + b) ∘ mask · w₂` as a separate `[rows, F]` tensor and its
//! backward allocates about three more per step; with `rows` = 22,000 pairs or 15,000 candidates that is
//! gigabytes of memory traffic per document. These custom ops compute the same formulas row by row:
//!
//! - [`pair_input`]: `X[r] = [g[i(r)] ∘ g[ant(r)]; φ[r]]`, the per-pair input of the one product that
//!   must stay a matrix product (`X · W_cdᵀ`);
//! - [`pair_scores`]: `s[r] = relu(Y[r] + B[ant(r)] + A[i(r)]) ∘ mask[r] · w₂` from that product `Y`, the
//!   per-span parts `A = g·W_aᵀ + b₁`, `B = g·W_bᵀ` and the output weights;
//! - [`mention_scores`]: `s[c] = relu(T[s] + T[N+e] + Σ_l w[c,l]·T[2N+s+l] + Σ_k u[c,k]·T[3N+k]) ∘ mask[c] · w₂`,
//!   where `T` stacks the per-token products `doc·W_startᵀ + b₁`, `doc·W_endᵀ`, `doc·W_headᵀ`, the width
//!   block `W_widthᵀ` and `w₂`; `w` are the head-attention weights and `u` the (dropped-out) width
//!   embedding of each candidate. No `[C, F]` tensor is ever built: the backward recomputes a row's
//!   pre-activation where it needs it.
//!
//! The dropout mask is drawn by [`crate::dropout::Dropout::mask_values`], the same numbers the unfused
//! path draws, so both paths compute the same function; `tests` checks them against each other, values
//! and gradients. Work is split into a fixed number of row chunks and reduced in chunk order, so results
//! do not depend on the number of threads.
use std::ops::Range;
use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};

/// Rows are processed in this many chunks whatever the number of threads.
const CHUNKS: usize = 16;

/// True when the fused kernels can run on `t`'s device and dtype.
pub(crate) fn usable(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

fn f32s<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("{what}: the fused coref kernels need f32");
    };
    let Some((from, to)) = l.contiguous_offsets() else {
        candle_core::bail!("{what}: the fused coref kernels need a contiguous tensor");
    };
    Ok(&data[from..to])
}

/// Runs `f` on consecutive row ranges of `0..rows` (at most [`CHUNKS`], split at the multiples of
/// `align`), each with its rows of `out` (`cols` values per row; `cols = 0` for no output), on up to
/// candle's thread count. Results come back in row order.
fn run_chunks<T: Send>(
    rows: usize,
    align: usize,
    out: &mut [f32],
    cols: usize,
    f: impl Fn(Range<usize>, &mut [f32]) -> T + Sync,
) -> Vec<T> {
    let align = align.max(1);
    let chunk = rows.div_ceil(CHUNKS).div_ceil(align).max(1) * align;
    let mut pieces: Vec<(Range<usize>, &mut [f32])> = Vec::new();
    let mut rest = out;
    let mut start = 0;
    while start < rows {
        let end = (start + chunk).min(rows);
        let (head, tail) = std::mem::take(&mut rest).split_at_mut((end - start) * cols);
        pieces.push((start..end, head));
        rest = tail;
        start = end;
    }
    let threads = candle_core::utils::get_num_threads()
        .min(pieces.len())
        .max(1);
    if threads == 1 {
        return pieces.into_iter().map(|(r, o)| f(r, o)).collect();
    }
    let count = pieces.len();
    type Piece<'a> = (usize, Range<usize>, &'a mut [f32]);
    let mut buckets: Vec<Vec<Piece<'_>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, (r, o)) in pieces.into_iter().enumerate() {
        buckets[i % threads].push((i, r, o));
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|bucket| {
                scope.spawn(move || {
                    bucket
                        .into_iter()
                        .map(|(i, r, o)| (i, f(r, o)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
        for handle in handles {
            let done = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, value) in done {
                results[i] = Some(value);
            }
        }
        results.into_iter().flatten().collect()
    })
}

/// `dst += src`
#[inline]
fn add_to(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// `dst += w · src`
#[inline]
fn axpy(dst: &mut [f32], w: f32, src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += w * s;
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight lanes keep the loop vectorised.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut total: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        total += x * y;
    }
    total
}

/// `dst += a ∘ b`
#[inline]
fn add_product(dst: &mut [f32], a: &[f32], b: &[f32]) {
    for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
        *d += a * b;
    }
}

/// Row `row` (of width `f`) of a dropout mask, if any.
#[inline]
fn mask_row(mask: Option<&[f32]>, row: usize, f: usize) -> Option<&[f32]> {
    mask.map(|m| &m[row * f..(row + 1) * f])
}

/// The output of a one-hidden-layer FFNN from its pre-activation: `relu(pre) ∘ mask · w₂` (without
/// the output bias).
#[inline]
fn relu_dot(pre: &[f32], mask: Option<&[f32]>, w2: &[f32]) -> f32 {
    let mut s = 0f32;
    match mask {
        Some(m) => {
            for ((x, m), w) in pre.iter().zip(m).zip(w2) {
                s += x.max(0.0) * m * w;
            }
        }
        None => {
            for (x, w) in pre.iter().zip(w2) {
                s += x.max(0.0) * w;
            }
        }
    }
    s
}

/// The backward of [`relu_dot`] for an output gradient `g`: sets `dpre = g · w₂ ∘ mask ∘ 1[pre > 0]`
/// and adds `g · relu(pre) ∘ mask` to `dw2`.
#[inline]
fn relu_dot_grad(
    pre: &[f32],
    mask: Option<&[f32]>,
    w2: &[f32],
    g: f32,
    dpre: &mut [f32],
    dw2: &mut [f32],
) {
    for t in 0..pre.len() {
        let x = pre[t];
        let m = mask.map_or(1.0, |m| m[t]);
        if x > 0.0 {
            dpre[t] = g * w2[t] * m;
            dw2[t] += g * x * m;
        } else {
            dpre[t] = 0.0;
        }
    }
}

/// `s[row] = relu(pre(row)) ∘ mask[row] · w₂` for `rows` rows of width `f`, where `pre(row, buf)`
/// writes the pre-activation of `row` into `buf`: the forward of both fused FFNNs.
fn ffnn_scores(
    rows: usize,
    f: usize,
    w2: &[f32],
    mask: Option<&[f32]>,
    pre: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0f32; rows];
    run_chunks(rows, 1, &mut out, 1, |range, o| {
        let mut buf = vec![0f32; f];
        for (local, row) in range.enumerate() {
            pre(row, &mut buf);
            o[local] = relu_dot(&buf, mask_row(mask, row, f), w2);
        }
    });
    out
}

/// The pairs `(i, ant)` of the kept antecedents, row-major (`r = i·A + a`), and the pairs grouped by
/// antecedent (for the scatter-free backward).
#[derive(Debug)]
pub(crate) struct PairIndex {
    /// Antecedents per span.
    pub a: usize,
    /// `ant[r]`, the antecedent (top-span index) of pair `r`. `[K·A]`
    pub ant: Vec<u32>,
    /// Pairs grouped by antecedent: the pairs whose antecedent is `k` are
    /// `by_ant[by_ant_start[k]..by_ant_start[k + 1]]`.
    by_ant: Vec<u32>,
    by_ant_start: Vec<usize>,
}

impl PairIndex {
    pub fn new(k: usize, a: usize, ant: Vec<u32>) -> Arc<Self> {
        let mut counts = vec![0usize; k + 1];
        for &j in &ant {
            counts[j as usize + 1] += 1;
        }
        for t in 1..=k {
            counts[t] += counts[t - 1];
        }
        let mut fill = counts.clone();
        let mut by_ant = vec![0u32; ant.len()];
        for (r, &j) in ant.iter().enumerate() {
            by_ant[fill[j as usize]] = r as u32;
            fill[j as usize] += 1;
        }
        Arc::new(PairIndex {
            a,
            ant,
            by_ant,
            by_ant_start: counts,
        })
    }

    fn k(&self) -> usize {
        self.by_ant_start.len() - 1
    }
}

// ----------------------------------------------------------------------------------------------------
// pair_input

struct PairInput {
    index: Arc<PairIndex>,
}

impl PairInput {
    fn forward(&self, g: &[f32], gcols: usize, phi: &[f32], pcols: usize) -> Vec<f32> {
        let p = self.index.ant.len();
        let cols = gcols + pcols;
        let mut out = vec![0f32; p * cols];
        let a = self.index.a;
        let ant = &self.index.ant;
        run_chunks(p, 1, &mut out, cols, |rows, o| {
            for (local, r) in rows.enumerate() {
                let (i, j) = (r / a, ant[r] as usize);
                let row = &mut o[local * cols..(local + 1) * cols];
                let (xs, xf) = row.split_at_mut(gcols);
                let (gi, gj) = (
                    &g[i * gcols..(i + 1) * gcols],
                    &g[j * gcols..(j + 1) * gcols],
                );
                for ((x, a), b) in xs.iter_mut().zip(gi).zip(gj) {
                    *x = a * b;
                }
                xf.copy_from_slice(&phi[r * pcols..(r + 1) * pcols]);
            }
        });
        out
    }
}

impl CustomOp2 for PairInput {
    fn name(&self) -> &'static str {
        "coref-pair-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, gcols) = l1.shape().dims2()?;
        let (p, pcols) = l2.shape().dims2()?;
        let g = f32s(s1, l1, "pair-input g")?;
        let phi = f32s(s2, l2, "pair-input phi")?;
        let out = self.forward(g, gcols, phi, pcols);
        Ok((CpuStorage::F32(out), Shape::from((p, gcols + pcols))))
    }

    fn bwd(
        &self,
        g: &Tensor,
        phi: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (_, gcols) = g.dims2()?;
        let (_, pcols) = phi.dims2()?;
        let grad = grad.contiguous()?;
        let dg = grad.apply_op2_no_bwd(
            g,
            &PairInputGrad {
                index: self.index.clone(),
            },
        )?;
        let dphi = if pcols > 0 {
            Some(grad.narrow(1, gcols, pcols)?)
        } else {
            None
        };
        Ok((Some(dg), dphi))
    }
}

/// `dg[k] = Σ_{r: i(r)=k} dX[r]∘g[ant(r)] + Σ_{r: ant(r)=k} dX[r]∘g[i(r)]`, each output row on its own.
struct PairInputGrad {
    index: Arc<PairIndex>,
}

impl CustomOp2 for PairInputGrad {
    fn name(&self) -> &'static str {
        "coref-pair-input-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, cols) = l1.shape().dims2()?;
        let (k, gcols) = l2.shape().dims2()?;
        let dx = f32s(s1, l1, "pair-input grad")?;
        let g = f32s(s2, l2, "pair-input g")?;
        let ix = &*self.index;
        let a = ix.a;
        let mut out = vec![0f32; k * gcols];
        run_chunks(k, 1, &mut out, gcols, |rows, o| {
            for (local, kk) in rows.enumerate() {
                let dst = &mut o[local * gcols..(local + 1) * gcols];
                // as the span: pairs kk·A .. kk·A + A
                for r in kk * a..(kk + 1) * a {
                    let j = ix.ant[r] as usize;
                    add_product(
                        dst,
                        &dx[r * cols..r * cols + gcols],
                        &g[j * gcols..(j + 1) * gcols],
                    );
                }
                // as the antecedent
                for &r in &ix.by_ant[ix.by_ant_start[kk]..ix.by_ant_start[kk + 1]] {
                    let r = r as usize;
                    let i = r / a;
                    add_product(
                        dst,
                        &dx[r * cols..r * cols + gcols],
                        &g[i * gcols..(i + 1) * gcols],
                    );
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((k, gcols))))
    }
}

/// `X = [g_i ∘ g_ant; φ]` for every kept pair.
///
/// # Shapes
/// - `g`: `[K, G]`, `phi`: `[K·A, P]` (P may be 0); output `[K·A, G + P]`
pub(crate) fn pair_input(
    g: &Tensor,
    phi: &Tensor,
    index: &Arc<PairIndex>,
) -> crate::Result<Tensor> {
    let g = g.contiguous()?;
    let phi = phi.contiguous()?;
    Ok(g.apply_op2(
        &phi,
        PairInput {
            index: index.clone(),
        },
    )?)
}

// ----------------------------------------------------------------------------------------------------
// pair_scores

#[derive(Clone)]
struct PairScores {
    index: Arc<PairIndex>,
    mask: Option<Arc<Vec<f32>>>,
}

impl PairScores {
    /// `pre = y[r] + B[ant] + A[i]` into `buf`.
    #[inline]
    fn pre(&self, r: usize, y: &[f32], baw: &[f32], f: usize, buf: &mut [f32]) {
        let k = self.index.k();
        let (i, j) = (r / self.index.a, self.index.ant[r] as usize);
        let (yr, b, a) = (
            &y[r * f..(r + 1) * f],
            &baw[j * f..(j + 1) * f],
            &baw[(k + i) * f..(k + i + 1) * f],
        );
        for (((o, y), b), a) in buf.iter_mut().zip(yr).zip(b).zip(a) {
            *o = y + b + a;
        }
    }
}

impl CustomOp2 for PairScores {
    fn name(&self) -> &'static str {
        "coref-pair-scores"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (p, f) = l1.shape().dims2()?;
        let y = f32s(s1, l1, "pair-scores y")?;
        let baw = f32s(s2, l2, "pair-scores parts")?;
        let k = self.index.k();
        let w2 = &baw[2 * k * f..(2 * k + 1) * f];
        let out = ffnn_scores(
            p,
            f,
            w2,
            self.mask.as_deref().map(Vec::as_slice),
            |r, buf| self.pre(r, y, baw, f, buf),
        );
        Ok((CpuStorage::F32(out), Shape::from(p)))
    }

    fn bwd(
        &self,
        y: &Tensor,
        baw: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (p, _) = y.dims2()?;
        let k = self.index.k();
        let both = y.apply_op3_no_bwd(
            baw,
            &grad.contiguous()?,
            &PairScoresGrad {
                scores: self.clone(),
            },
        )?; // [P + 2K + 1, F]
        Ok((
            Some(both.narrow(0, 0, p)?),
            Some(both.narrow(0, p, 2 * k + 1)?),
        ))
    }
}

/// Gradients of [`PairScores`]: `dY = gp` with `gp = ds[r] · w₂ ∘ mask ∘ 1[pre > 0]`, `dB`, `dA` and `dw₂`,
/// stacked as `[dY; dB; dA; dw₂]`.
struct PairScoresGrad {
    scores: PairScores,
}

impl CustomOp3 for PairScoresGrad {
    fn name(&self) -> &'static str {
        "coref-pair-scores-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (p, f) = l1.shape().dims2()?;
        let y = f32s(s1, l1, "pair-scores y")?;
        let baw = f32s(s2, l2, "pair-scores parts")?;
        let ds = f32s(s3, l3, "pair-scores grad")?;
        let ix = &*self.scores.index;
        let k = ix.k();
        let a = ix.a;
        let w2 = &baw[2 * k * f..(2 * k + 1) * f];
        let mut out = vec![0f32; (p + 2 * k + 1) * f];
        let (dy, dparts) = out.split_at_mut(p * f);
        // dY row by row; dw₂ summed per chunk.
        let mask = self.scores.mask.as_deref().map(Vec::as_slice);
        let dw2_parts = run_chunks(p, 1, dy, f, |rows, o| {
            let mut buf = vec![0f32; f];
            let mut dw2 = vec![0f32; f];
            for (local, r) in rows.enumerate() {
                self.scores.pre(r, y, baw, f, &mut buf);
                let dst = &mut o[local * f..(local + 1) * f];
                relu_dot_grad(&buf, mask_row(mask, r, f), w2, ds[r], dst, &mut dw2);
            }
            dw2
        });
        let dy: &[f32] = dy;
        let (db_da, dw2) = dparts.split_at_mut(2 * k * f);
        for part in dw2_parts {
            add_to(dw2, &part);
        }
        // dB[k] over the pairs whose antecedent is k; dA[k] over the pairs of span k.
        run_chunks(2 * k, 1, db_da, f, |rows, o| {
            for (local, row) in rows.enumerate() {
                let dst = &mut o[local * f..(local + 1) * f];
                if row < k {
                    for &r in &ix.by_ant[ix.by_ant_start[row]..ix.by_ant_start[row + 1]] {
                        let r = r as usize;
                        add_to(dst, &dy[r * f..(r + 1) * f]);
                    }
                } else {
                    let i = row - k;
                    for r in i * a..(i + 1) * a {
                        add_to(dst, &dy[r * f..(r + 1) * f]);
                    }
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((p + 2 * k + 1, f))))
    }
}

/// `s[r] = relu(Y[r] + B[ant(r)] + A[i(r)]) ∘ mask[r] · w₂` for every kept pair, with
/// `parts = [B; A; w₂]` (`A` with the first layer's bias folded in).
///
/// # Shapes
/// - `y`: `[K·A, F]`, `parts`: `[2K + 1, F]`, `mask`: `K·A·F` values or none; output `[K·A]`
pub(crate) fn pair_scores(
    y: &Tensor,
    parts: &Tensor,
    index: &Arc<PairIndex>,
    mask: Option<Vec<f32>>,
) -> crate::Result<Tensor> {
    Ok(y.contiguous()?.apply_op2(
        &parts.contiguous()?,
        PairScores {
            index: index.clone(),
            mask: mask.map(Arc::new),
        },
    )?)
}

// ----------------------------------------------------------------------------------------------------
// mention_scores

/// The candidate layout of [`mention_scores`].
#[derive(Debug)]
pub(crate) struct MentionLayout {
    /// `N`
    pub n: usize,
    /// `W`, the columns of the attention weights.
    pub w: usize,
    /// `f`, the width-embedding columns (0 without `use_features`).
    pub f: usize,
    /// Candidate starts, non-decreasing. `[C]`
    pub starts: Vec<u32>,
    /// Candidate ends. `[C]`
    pub ends: Vec<u32>,
}

impl MentionLayout {
    /// Row of `w₂` in the stacked table.
    fn w2_row(&self) -> usize {
        3 * self.n + self.f
    }
}

#[derive(Clone)]
struct MentionScores {
    layout: Arc<MentionLayout>,
    mask: Option<Arc<Vec<f32>>>,
}

impl MentionScores {
    /// The pre-activation of candidate `c` into `buf`.
    #[inline]
    fn pre(&self, c: usize, table: &[f32], wu: &[f32], fdim: usize, buf: &mut [f32]) {
        let lay = &*self.layout;
        let (s, e) = (lay.starts[c] as usize, lay.ends[c] as usize);
        let row = |t: usize| &table[t * fdim..(t + 1) * fdim];
        let weights = &wu[c * (lay.w + lay.f)..(c + 1) * (lay.w + lay.f)];
        buf.copy_from_slice(row(s));
        add_to(buf, row(lay.n + e));
        for (l, &weight) in weights[..=(e - s)].iter().enumerate() {
            axpy(buf, weight, row(2 * lay.n + s + l));
        }
        for (kk, &weight) in weights[lay.w..].iter().enumerate() {
            axpy(buf, weight, row(3 * lay.n + kk));
        }
    }
}

impl CustomOp2 for MentionScores {
    fn name(&self) -> &'static str {
        "coref-mention-scores"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, fdim) = l1.shape().dims2()?;
        let (c, _) = l2.shape().dims2()?;
        let table = f32s(s1, l1, "mention-scores table")?;
        let wu = f32s(s2, l2, "mention-scores weights")?;
        let w2row = self.layout.w2_row();
        let w2 = &table[w2row * fdim..(w2row + 1) * fdim];
        let out = ffnn_scores(
            c,
            fdim,
            w2,
            self.mask.as_deref().map(Vec::as_slice),
            |cand, buf| self.pre(cand, table, wu, fdim, buf),
        );
        Ok((CpuStorage::F32(out), Shape::from(c)))
    }

    fn bwd(
        &self,
        table: &Tensor,
        wu: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (rows, _) = table.dims2()?;
        let (c, _) = wu.dims2()?;
        let both = table.apply_op3_no_bwd(
            wu,
            &grad.contiguous()?,
            &MentionScoresGrad {
                scores: self.clone(),
            },
        )?; // [rows + C, max(F, W + f)] packed: see MentionScoresGrad
        let fdim = table.dim(1)?;
        let wcols = wu.dim(1)?;
        let dtable = both.narrow(0, 0, rows)?.narrow(1, 0, fdim)?;
        let dwu = both.narrow(0, rows, c)?.narrow(1, 0, wcols)?;
        Ok((Some(dtable), Some(dwu)))
    }
}

/// Gradients of [`MentionScores`]: `dT` (rows of the table) then `dWU` (one row per candidate), in one
/// tensor of width `max(F, W + f)`.
struct MentionScoresGrad {
    scores: MentionScores,
}

impl CustomOp3 for MentionScoresGrad {
    fn name(&self) -> &'static str {
        "coref-mention-scores-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (trows, fdim) = l1.shape().dims2()?;
        let (c, wcols) = l2.shape().dims2()?;
        let table = f32s(s1, l1, "mention-scores table")?;
        let wu = f32s(s2, l2, "mention-scores weights")?;
        let ds = f32s(s3, l3, "mention-scores grad")?;
        let lay = &*self.scores.layout;
        let n = lay.n;
        let w2row = lay.w2_row();
        let w2 = &table[w2row * fdim..(w2row + 1) * fdim];
        let width = fdim.max(wcols);
        let mask = self.scores.mask.as_deref().map(Vec::as_slice);
        let mut dwu = vec![0f32; c * wcols];

        // Candidates are sorted by start: a chunk of them touches the start rows of its own starts, the
        // end and head rows of [first start, last start + W), the width rows and w₂. Each chunk fills a
        // private window of the table gradient; the windows are added up in chunk order afterwards.
        struct Window {
            lo: usize,     // first token of the window
            len_s: usize,  // start rows
            len_eh: usize, // end rows = head rows
            data: Vec<f32>,
        }
        let windows = run_chunks(c, 1, &mut dwu, wcols, |cands, o| {
            if cands.is_empty() {
                return Window {
                    lo: 0,
                    len_s: 0,
                    len_eh: 0,
                    data: Vec::new(),
                };
            }
            let lo = lay.starts[cands.start] as usize;
            let hi_s = lay.starts[cands.end - 1] as usize;
            let hi_e = cands
                .clone()
                .map(|c| lay.ends[c] as usize)
                .max()
                .unwrap_or(lo);
            let (len_s, len_eh) = (hi_s + 1 - lo, hi_e + 1 - lo);
            // layout: start rows | end rows | head rows | f width rows | w₂
            let mut data = vec![0f32; (len_s + 2 * len_eh + lay.f + 1) * fdim];
            let mut buf = vec![0f32; fdim];
            let mut gp = vec![0f32; fdim];
            for (local, cand) in cands.enumerate() {
                self.scores.pre(cand, table, wu, fdim, &mut buf);
                let w2_off = (len_s + 2 * len_eh + lay.f) * fdim;
                relu_dot_grad(
                    &buf,
                    mask_row(mask, cand, fdim),
                    w2,
                    ds[cand],
                    &mut gp,
                    &mut data[w2_off..w2_off + fdim],
                );
                let (s, e) = (lay.starts[cand] as usize, lay.ends[cand] as usize);
                let weights = &wu[cand * wcols..(cand + 1) * wcols];
                let dweights = &mut o[local * wcols..(local + 1) * wcols];
                let at = |row: usize| row * fdim..(row + 1) * fdim;
                add_to(&mut data[at(s - lo)], &gp);
                add_to(&mut data[at(len_s + e - lo)], &gp);
                for l in 0..=(e - s) {
                    axpy(&mut data[at(len_s + len_eh + s + l - lo)], weights[l], &gp);
                    dweights[l] = dot(&gp, &table[at(2 * n + s + l)]);
                }
                for kk in 0..lay.f {
                    axpy(
                        &mut data[at(len_s + 2 * len_eh + kk)],
                        weights[lay.w + kk],
                        &gp,
                    );
                    dweights[lay.w + kk] = dot(&gp, &table[at(3 * n + kk)]);
                }
            }
            Window {
                lo,
                len_s,
                len_eh,
                data,
            }
        });
        let mut out = vec![0f32; (trows + c) * width];
        {
            let (dtable, drest) = out.split_at_mut(trows * width);
            let row = |dst: &mut [f32], r: usize, src: &[f32]| {
                add_to(&mut dst[r * width..r * width + fdim], src);
            };
            for win in &windows {
                let src = |r: usize| &win.data[r * fdim..(r + 1) * fdim];
                for r in 0..win.len_s {
                    row(dtable, win.lo + r, src(r));
                }
                for r in 0..win.len_eh {
                    row(dtable, n + win.lo + r, src(win.len_s + r));
                    row(dtable, 2 * n + win.lo + r, src(win.len_s + win.len_eh + r));
                }
                if !win.data.is_empty() {
                    for kk in 0..=lay.f {
                        row(dtable, 3 * n + kk, src(win.len_s + 2 * win.len_eh + kk));
                    }
                }
            }
            for (cand, src) in dwu.chunks_exact(wcols.max(1)).enumerate().take(c) {
                drest[cand * width..cand * width + wcols].copy_from_slice(src);
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((trows + c, width))))
    }
}

/// Mention scores of every candidate from the stacked per-token table (see the module doc).
///
/// # Shapes
/// - `table`: `[3N + f + 1, F]`, `weights`: `[C, W + f]`, `mask`: `C·F` values or none; output `[C]`
pub(crate) fn mention_scores(
    table: &Tensor,
    weights: &Tensor,
    layout: &Arc<MentionLayout>,
    mask: Option<Vec<f32>>,
) -> crate::Result<Tensor> {
    Ok(table.contiguous()?.apply_op2(
        &weights.contiguous()?,
        MentionScores {
            layout: layout.clone(),
            mask: mask.map(Arc::new),
        },
    )?)
}
