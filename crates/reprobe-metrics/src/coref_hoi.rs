//! coref-hoi's simplified CoNLL scorer (`metrics.py` of Xu & Choi 2020, ported verbatim by the reference as
//! `CorefHoiF1`, SPEC §4.1): MUC, B³ and CEAFe on the clusters the model sees, and their mean F1, which
//! the reference logs as `val/f1`.
//!
//! It is **not** the official scorer ([`crate::CorefEvaluator`]); it differs from it where `metrics.py`
//! does, and this module reproduces `metrics.py` exactly, including:
//! - clusters are identified by their **content** (Python tuples): two clusters with the same mentions
//!   in the same order are one cluster for MUC's linked set and B³'s counter;
//! - `mention_to_gold[m]` / `mention_to_predicted[m]` is the **last** cluster that contains `m`
//!   (`{m: c for c in clusters for m in c}`, and coref-hoi's `mention_to_cluster_id` likewise);
//! - repeated mentions are not removed: they count in cluster sizes and overlaps;
//! - singletons: MUC gives them 0 on either side; B³ skips singleton clusters on both sides and never
//!   credits a mention whose *other-side* cluster is a singleton; CEAFe drops **predicted** singletons but
//!   keeps **gold** singletons (they count in the recall denominator and can be aligned);
//! - CEAFe's alignment is a maximum-weight assignment on φ4 (`linear_assignment(-scores)`), solved here
//!   exactly by the Hungarian algorithm; the similarity is summed over the aligned pairs in gold order;
//! - numerators and denominators are summed over documents, then P = num/den (0 when the **numerator**
//!   is 0, `get_precision`/`get_recall`), while F1 uses P and R recomputed with 0 when the
//!   **denominator** is 0 (`f1(…)`), F1 = (1 + β²)PR / (β²P + R) with β = 1, 0 when P + R = 0;
//! - the averaged F1 / P / R is the sum of the three metrics' values divided by 3.
//!
//! Empty clusters, on which `metrics.py` divides by zero, are ignored.
//!
//! ```
//! use reprobe_metrics::CorefHoiEvaluator;
//!
//! let mut evaluator = CorefHoiEvaluator::new();
//! let gold = vec![vec![(0, 0), (3, 4)], vec![(6, 6)]];
//! let predicted = vec![vec![(0, 0), (3, 4)]];
//! evaluator.add_document(&gold, &predicted);
//! // MUC and B³ are perfect; CEAFe aligns the one predicted cluster with a gold cluster of two.
//! assert_eq!(evaluator.muc().f1(), 1.0);
//! assert_eq!(evaluator.bcub().f1(), 1.0);
//! assert_eq!(evaluator.ceafe().recall(), 0.5);
//! ```
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A mention: `(start, end)` subtoken indices, `end` inclusive.
pub type Span = (usize, usize);

/// One metric's accumulators, named as in `metrics.py`'s `Evaluator`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HoiCounts {
    /// Precision numerator.
    pub p_num: f64,
    /// Precision denominator.
    pub p_den: f64,
    /// Recall numerator.
    pub r_num: f64,
    /// Recall denominator.
    pub r_den: f64,
}

impl HoiCounts {
    /// `p_num / p_den`, 0 when `p_num` is 0 (`get_precision`).
    pub fn precision(&self) -> f64 {
        if self.p_num == 0.0 {
            0.0
        } else {
            self.p_num / self.p_den
        }
    }

    /// `r_num / r_den`, 0 when `r_num` is 0 (`get_recall`).
    pub fn recall(&self) -> f64 {
        if self.r_num == 0.0 {
            0.0
        } else {
            self.r_num / self.r_den
        }
    }

    /// `metrics.f1(p_num, p_den, r_num, r_den, beta=1)`: P and R are 0 when their **denominator** is 0,
    /// F1 is 0 when P + R is 0.
    pub fn f1(&self) -> f64 {
        let beta = 1.0f64;
        let p = if self.p_den == 0.0 {
            0.0
        } else {
            self.p_num / self.p_den
        };
        let r = if self.r_den == 0.0 {
            0.0
        } else {
            self.r_num / self.r_den
        };
        if p + r == 0.0 {
            0.0
        } else {
            (1.0 + beta * beta) * p * r / (beta * beta * p + r)
        }
    }

    /// Precision, recall and F1.
    pub fn scores(&self) -> HoiScores {
        HoiScores {
            precision: self.precision(),
            recall: self.recall(),
            f1: self.f1(),
        }
    }

    fn add(&mut self, other: &HoiCounts) {
        self.p_num += other.p_num;
        self.p_den += other.p_den;
        self.r_num += other.r_num;
        self.r_den += other.r_den;
    }
}

/// Precision, recall and F1 of one metric (fractions in `[0, 1]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HoiScores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// The three metrics' counts of one document or of a corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HoiDocumentCounts {
    /// MUC.
    pub muc: HoiCounts,
    /// B³.
    pub bcub: HoiCounts,
    /// CEAFe.
    pub ceafe: HoiCounts,
}

/// coref-hoi's `CorefEvaluator`: MUC, B³ and CEAFe accumulated over documents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorefHoiEvaluator {
    totals: HoiDocumentCounts,
    documents: usize,
}

impl CorefHoiEvaluator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scores one document, as coref-hoi's `update_evaluator` does with `gold_clusters` and the
    /// predicted clusters (both as given: nothing is removed beforehand), and adds its counts to the
    /// totals. Returns the document's counts.
    pub fn add_document(
        &mut self,
        gold: &[Vec<Span>],
        predicted: &[Vec<Span>],
    ) -> HoiDocumentCounts {
        let doc = score_document(gold, predicted);
        self.totals.muc.add(&doc.muc);
        self.totals.bcub.add(&doc.bcub);
        self.totals.ceafe.add(&doc.ceafe);
        self.documents += 1;
        doc
    }

    /// Documents added so far.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// The summed counts of every metric.
    pub fn totals(&self) -> HoiDocumentCounts {
        self.totals
    }

    /// MUC's summed counts.
    pub fn muc(&self) -> HoiCounts {
        self.totals.muc
    }

    /// B³'s summed counts.
    pub fn bcub(&self) -> HoiCounts {
        self.totals.bcub
    }

    /// CEAFe's summed counts.
    pub fn ceafe(&self) -> HoiCounts {
        self.totals.ceafe
    }

    /// `get_f1`: the mean of the MUC, B³ and CEAFe F1 (what the reference logs as `val/f1`).
    pub fn f1(&self) -> f64 {
        self.mean(HoiCounts::f1)
    }

    /// `get_precision`: the mean of the three precisions.
    pub fn precision(&self) -> f64 {
        self.mean(HoiCounts::precision)
    }

    /// `get_recall`: the mean of the three recalls.
    pub fn recall(&self) -> f64 {
        self.mean(HoiCounts::recall)
    }

    fn mean(&self, value: fn(&HoiCounts) -> f64) -> f64 {
        let t = &self.totals;
        (0.0 + value(&t.muc) + value(&t.bcub) + value(&t.ceafe)) / 3.0
    }
}

/// Clusters of one side with content-based identities (Python tuples compare by value).
struct Side<'a> {
    /// The non-empty clusters, in order.
    clusters: Vec<&'a [Span]>,
    /// `mention_to_*`: the identity of the last cluster that contains the mention.
    mention_to_cluster: HashMap<Span, usize>,
}

impl<'a> Side<'a> {
    fn new(clusters: &'a [Vec<Span>]) -> Self {
        let clusters: Vec<&[Span]> = clusters
            .iter()
            .filter(|c| !c.is_empty())
            .map(Vec::as_slice)
            .collect();
        let mut first: HashMap<&[Span], usize> = HashMap::new();
        let mut mention_to_cluster = HashMap::new();
        for (i, c) in clusters.iter().enumerate() {
            // Identity: the index of the first cluster with the same content.
            let id = *first.entry(c).or_insert(i);
            for &m in c.iter() {
                mention_to_cluster.insert(m, id);
            }
        }
        Side {
            clusters,
            mention_to_cluster,
        }
    }
}

/// The three metrics of one document.
fn score_document(gold: &[Vec<Span>], predicted: &[Vec<Span>]) -> HoiDocumentCounts {
    let gold = Side::new(gold);
    let predicted = Side::new(predicted);
    let (mp_num, mp_den) = muc(&predicted, &gold);
    let (mr_num, mr_den) = muc(&gold, &predicted);
    let (bp_num, bp_den) = b_cubed(&predicted, &gold);
    let (br_num, br_den) = b_cubed(&gold, &predicted);
    HoiDocumentCounts {
        muc: HoiCounts {
            p_num: mp_num,
            p_den: mp_den,
            r_num: mr_num,
            r_den: mr_den,
        },
        bcub: HoiCounts {
            p_num: bp_num,
            p_den: bp_den,
            r_num: br_num,
            r_den: br_den,
        },
        ceafe: ceafe(&predicted.clusters, &gold.clusters),
    }
}

/// `muc(clusters, mention_to_other)`: `(tp, p)`.
fn muc(side: &Side<'_>, other: &Side<'_>) -> (f64, f64) {
    let (mut tp, mut p) = (0i64, 0i64);
    let mut linked: Vec<usize> = Vec::new();
    for c in &side.clusters {
        p += c.len() as i64 - 1;
        tp += c.len() as i64;
        linked.clear();
        for m in c.iter() {
            match other.mention_to_cluster.get(m) {
                Some(&id) => linked.push(id),
                None => tp -= 1,
            }
        }
        linked.sort_unstable();
        linked.dedup();
        tp -= linked.len() as i64;
    }
    (tp as f64, p as f64)
}

/// `b_cubed(clusters, mention_to_other)`: `(num, dem)`.
fn b_cubed(side: &Side<'_>, other: &Side<'_>) -> (f64, f64) {
    let (mut num, mut dem) = (0.0f64, 0usize);
    let mut counts: HashMap<usize, u64> = HashMap::new();
    for c in &side.clusters {
        if c.len() == 1 {
            continue;
        }
        counts.clear();
        for m in c.iter() {
            if let Some(&id) = other.mention_to_cluster.get(m) {
                *counts.entry(id).or_default() += 1;
            }
        }
        let correct: u64 = counts
            .iter()
            .filter(|(&id, _)| other.clusters[id].len() != 1)
            .map(|(_, &count)| count * count)
            .sum();
        num += correct as f64 / c.len() as f64;
        dem += c.len();
    }
    (num, dem as f64)
}

/// `phi4(gold, predicted)`: `2·#{m ∈ gold: m ∈ predicted} / (|gold| + |predicted|)`.
fn phi4(gold: &[Span], predicted: &[Span]) -> f64 {
    let common = gold.iter().filter(|m| predicted.contains(m)).count();
    (2 * common) as f64 / (gold.len() + predicted.len()) as f64
}

/// `ceafe(predicted, gold)`: predicted singletons dropped, gold kept; the maximum-weight alignment.
fn ceafe(predicted: &[&[Span]], gold: &[&[Span]]) -> HoiCounts {
    let predicted: Vec<&[Span]> = predicted.iter().copied().filter(|c| c.len() != 1).collect();
    // Only pairs that share a mention have φ4 > 0; the rows and columns without any are left out of
    // the assignment (they add 0 to the similarity).
    let mut location: HashMap<Span, Vec<usize>> = HashMap::new();
    for (j, c) in predicted.iter().enumerate() {
        for &m in c.iter() {
            let js = location.entry(m).or_default();
            if js.last() != Some(&j) {
                js.push(j);
            }
        }
    }
    let mut rows: Vec<usize> = Vec::new();
    let mut columns: Vec<usize> = Vec::new();
    let mut column_of: HashMap<usize, usize> = HashMap::new();
    for (i, g) in gold.iter().enumerate() {
        let mut any = false;
        for m in g.iter() {
            for &j in location.get(m).map(Vec::as_slice).unwrap_or(&[]) {
                any = true;
                column_of.entry(j).or_insert_with(|| {
                    columns.push(j);
                    columns.len() - 1
                });
            }
        }
        if any {
            rows.push(i);
        }
    }
    let scores: Vec<Vec<f64>> = rows
        .iter()
        .map(|&i| {
            columns
                .iter()
                .map(|&j| phi4(gold[i], predicted[j]))
                .collect()
        })
        .collect();
    let mut similarity = 0.0f64;
    for (r, c) in max_weight_assignment(&scores) {
        similarity += scores[r][c];
    }
    HoiCounts {
        p_num: similarity,
        p_den: predicted.len() as f64,
        r_num: similarity,
        r_den: gold.len() as f64,
    }
}

/// A maximum-weight assignment of a rectangular matrix (every row or every column assigned, whichever
/// side is smaller): the Hungarian algorithm with potentials (Kuhn–Munkres, O(n²m)) on the costs −w.
/// Returns the `(row, column)` pairs sorted by row.
pub(crate) fn max_weight_assignment(weights: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let n_rows = weights.len();
    let n_cols = weights.first().map_or(0, Vec::len);
    if n_rows == 0 || n_cols == 0 {
        return Vec::new();
    }
    let transposed = n_rows > n_cols;
    let (n, m) = if transposed {
        (n_cols, n_rows)
    } else {
        (n_rows, n_cols)
    };
    let cost = |i: usize, j: usize| {
        if transposed {
            -weights[j][i]
        } else {
            -weights[i][j]
        }
    };
    // 1-based arrays; column 0 is the virtual start of each augmenting path.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut pairs: Vec<(usize, usize)> = (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| {
            let (i, j) = (p[j] - 1, j - 1);
            if transposed {
                (j, i)
            } else {
                (i, j)
            }
        })
        .collect();
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every injective map of the smaller side.
    fn brute_force(weights: &[Vec<f64>]) -> f64 {
        fn go(weights: &[Vec<f64>], row: usize, used: &mut Vec<bool>) -> f64 {
            if row == weights.len() {
                return 0.0;
            }
            let mut best = f64::NEG_INFINITY;
            for j in 0..used.len() {
                if !used[j] {
                    used[j] = true;
                    best = best.max(weights[row][j] + go(weights, row + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        let rows = weights.len();
        let cols = weights[0].len();
        if rows <= cols {
            go(weights, 0, &mut vec![false; cols])
        } else {
            let t: Vec<Vec<f64>> = (0..cols)
                .map(|j| (0..rows).map(|i| weights[i][j]).collect())
                .collect();
            go(&t, 0, &mut vec![false; rows])
        }
    }

    #[test]
    fn assignment_is_optimal_on_random_matrices() {
        // A small LCG: no dependency needed.
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        for rows in 1..=5 {
            for cols in 1..=5 {
                for _ in 0..20 {
                    let w: Vec<Vec<f64>> = (0..rows)
                        .map(|_| {
                            (0..cols)
                                .map(|_| if next() < 0.4 { 0.0 } else { next() })
                                .collect()
                        })
                        .collect();
                    let pairs = max_weight_assignment(&w);
                    assert_eq!(pairs.len(), rows.min(cols));
                    let total: f64 = pairs.iter().map(|&(i, j)| w[i][j]).sum();
                    assert!((total - brute_force(&w)).abs() < 1e-12, "{w:?}");
                }
            }
        }
    }

    #[test]
    fn greedy_is_not_enough() {
        // Gold {abc}{d}, predicted {abd}{c}: {c} is a predicted singleton and dropped, so only {abd}
        // aligns: max(2·2/6, 2·1/4) = 2/3.
        let (a, b, c, d) = ((0, 0), (1, 1), (2, 2), (3, 3));
        let mut e = CorefHoiEvaluator::new();
        e.add_document(&[vec![a, b, c], vec![d]], &[vec![a, b, d], vec![c]]);
        let ceafe = e.ceafe();
        assert_eq!(
            (ceafe.p_num, ceafe.p_den, ceafe.r_den),
            (2.0 / 3.0, 1.0, 2.0)
        );
        // With {cx} instead of {c}: greedy takes {abc}-{abd} (2/3) and leaves {d} alone; the optimum is
        // {abc}-{cx} 2·1/5 plus {d}-{abd} 2·1/4 = 0.9.
        let x = (9, 9);
        let mut e = CorefHoiEvaluator::new();
        e.add_document(&[vec![a, b, c], vec![d]], &[vec![a, b, d], vec![c, x]]);
        assert!((e.ceafe().p_num - 0.9).abs() < 1e-15);
    }

    #[test]
    fn conventions_of_metrics_py() {
        // Nothing at all: every value 0, no division by zero.
        let e = CorefHoiEvaluator::new();
        assert_eq!((e.f1(), e.precision(), e.recall()), (0.0, 0.0, 0.0));
        // Gold singletons only: MUC and B³ have nothing, CEAFe counts them in its recall denominator.
        let mut e = CorefHoiEvaluator::new();
        e.add_document(&[vec![(0, 0)], vec![(2, 3)]], &[]);
        assert_eq!(e.muc(), HoiCounts::default());
        assert_eq!(e.bcub(), HoiCounts::default());
        assert_eq!(e.ceafe().r_den, 2.0);
        // A span in two predicted clusters belongs to the last one for recall.
        let mut e = CorefHoiEvaluator::new();
        let doc = e.add_document(
            &[vec![(0, 0), (1, 1)]],
            &[vec![(0, 0), (1, 1)], vec![(1, 1), (5, 5)]],
        );
        // Recall: gold {0,1} maps to two predicted clusters: tp = 2 - 2 = 0.
        assert_eq!((doc.muc.r_num, doc.muc.r_den), (0.0, 1.0));
        // Precision: {0,1} → one gold cluster (tp 1 of 1); {1,5}: 5 unlinked, 1 linked: 2 - 1 - 1 = 0 of 1.
        assert_eq!((doc.muc.p_num, doc.muc.p_den), (1.0, 2.0));
    }
}
