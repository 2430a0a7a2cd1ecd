//! The statistics behind `reprobe report --baseline`: Welch's t-test over seeds and a paired bootstrap over
//! documents for the confidence interval of a difference in CoNLL F1.
//!
//! **Welch's t-test** compares the per-seed values of a metric of two settings (unequal variances; the t
//! statistic, the Welch–Satterthwaite degrees of freedom and the two-sided p, as
//! `scipy.stats.ttest_ind(other, base, equal_var=False)`).
//!
//! **The paired bootstrap** resamples the dev documents: a resample is `n` document indices drawn uniformly
//! with replacement from the `n` dev documents. Each setting's per-document MUC, B³ and CEAFe counts are first
//! summed over its runs (seeds), so that a document carries every seed's predictions of it; for a resample,
//! each setting's counts are summed over the drawn documents and its CoNLL F1 computed from the sums (the
//! corpus-level metric, as the scorer computes it), and the statistic is the other setting's F1 minus the
//! baseline's. Both settings use the **same** drawn indices in every resample (that is the pairing); the 95 %
//! interval is the 2.5th and 97.5th percentile of the statistic over the resamples (numpy's default linear
//! interpolation, `np.percentile`).
use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use reprobe_metrics::{CorefCounts, Counts};

/// Welch's t-test of one setting against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Welch {
    /// `(mean_other − mean_base) / sqrt(var_other/n_other + var_base/n_base)` (sample variances, ddof 1).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value under Student's t with `df` degrees of freedom.
    pub p: f64,
}

/// Welch's unequal-variances t-test of `other` against `base` (t > 0 when `other`'s mean is higher). An
/// error (a reason) when a side has fewer than two values or both have no variance.
pub fn welch_t_test(base: &[f64], other: &[f64]) -> Result<Welch, String> {
    if base.len() < 2 || other.len() < 2 {
        return Err(format!(
            "t-test needs at least 2 runs per setting (has {} and {})",
            base.len(),
            other.len()
        ));
    }
    let (mean_b, var_b) = mean_var(base);
    let (mean_o, var_o) = mean_var(other);
    let (vn_b, vn_o) = (var_b / base.len() as f64, var_o / other.len() as f64);
    let se2 = vn_o + vn_b;
    if se2 == 0.0 {
        return Err("t-test undefined: no variance over seeds in either setting".into());
    }
    let t = (mean_o - mean_b) / se2.sqrt();
    let df = se2 * se2
        / (vn_o * vn_o / (other.len() - 1) as f64 + vn_b * vn_b / (base.len() - 1) as f64);
    let student = StudentsT::new(0.0, 1.0, df).map_err(|e| format!("t-test: {e}"))?;
    // 2·P(T > |t|), computed as an upper tail so that small p keeps its digits.
    let p = (2.0 * student.sf(t.abs())).min(1.0);
    Ok(Welch { t, df, p })
}

/// Mean and sample variance (ddof 1).
fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, ss / (n - 1.0))
}

/// The bootstrap's resampled document indices: `len()` rows of `documents` indices each.
#[derive(Debug, Clone, PartialEq)]
pub struct Resamples {
    documents: usize,
    indices: Vec<u32>, // [resamples, documents]
}

impl Resamples {
    /// `resamples` rows of `documents` indices drawn uniformly with replacement from a ChaCha8 stream seeded
    /// with `seed` (row by row, index by index): the same arguments give the same indices everywhere.
    pub fn draw(documents: usize, resamples: usize, seed: u64) -> Resamples {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let indices = (0..documents * resamples)
            .map(|_| rng.random_range(0..documents as u32))
            .collect();
        Resamples { documents, indices }
    }

    /// Given rows (e.g. an oracle's); every row must have the same length and indices below it.
    pub fn from_rows(rows: &[Vec<usize>]) -> Result<Resamples> {
        let documents = rows.first().map_or(0, Vec::len);
        let mut indices = Vec::with_capacity(documents * rows.len());
        for (r, row) in rows.iter().enumerate() {
            if row.len() != documents || row.iter().any(|&i| i >= documents) {
                bail!("resample {r} is not {documents} indices below {documents}");
            }
            indices.extend(row.iter().map(|&i| i as u32));
        }
        Ok(Resamples { documents, indices })
    }

    /// The number of resamples.
    pub fn len(&self) -> usize {
        self.indices.len().checked_div(self.documents).unwrap_or(0)
    }

    /// Whether there is no resample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of documents each resample draws from (and draws).
    pub fn documents(&self) -> usize {
        self.documents
    }

    fn rows(&self) -> impl Iterator<Item = &[u32]> {
        self.indices.chunks_exact(self.documents.max(1))
    }
}

/// The MUC, B³ and CEAFe counts of one document (or a sum of documents): what CoNLL F1 is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConllCounts {
    /// MUC.
    pub muc: Counts,
    /// B³.
    pub bcub: Counts,
    /// CEAFe.
    pub ceafe: Counts,
}

impl ConllCounts {
    /// The CoNLL counts of a document's counts; `None` when one of the three metrics is missing.
    pub fn of(counts: &CorefCounts) -> Option<ConllCounts> {
        Some(ConllCounts {
            muc: counts.muc?,
            bcub: counts.bcub?,
            ceafe: counts.ceafe?,
        })
    }

    /// Adds another document's counts.
    pub fn add(&mut self, other: &ConllCounts) {
        self.muc.add(&other.muc);
        self.bcub.add(&other.bcub);
        self.ceafe.add(&other.ceafe);
    }

    /// CoNLL F1 = (F1_MUC + F1_B³ + F1_CEAFe) / 3 of these counts, as a fraction.
    pub fn f1(&self) -> f64 {
        (self.muc.f1() + self.bcub.f1() + self.ceafe.f1()) / 3.0
    }

    /// The sum of `docs` at `indices`, in that order.
    fn sum_at(docs: &[ConllCounts], indices: &[u32]) -> ConllCounts {
        let mut total = ConllCounts::default();
        for &i in indices {
            total.add(&docs[i as usize]);
        }
        total
    }
}

/// Per document, the counts of every run of a setting summed in run order (`runs[r][d]`: run `r`,
/// document `d`; every run has the same documents in the same order).
pub fn pool_runs(runs: &[Vec<ConllCounts>]) -> Vec<ConllCounts> {
    let documents = runs.first().map_or(0, Vec::len);
    (0..documents)
        .map(|d| {
            let mut total = ConllCounts::default();
            for run in runs {
                total.add(&run[d]);
            }
            total
        })
        .collect()
}

/// A paired-bootstrap confidence interval of `F1(other) − F1(base)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// The lower end (2.5th percentile for a 95 % interval).
    pub low: f64,
    /// The upper end (97.5th percentile).
    pub high: f64,
    /// The statistic on the documents as they are (no resampling): CoNLL F1 of the other setting's pooled
    /// counts minus the baseline's.
    pub pooled_delta: f64,
    /// The number of resamples.
    pub resamples: usize,
    /// The number of documents.
    pub documents: usize,
}

/// The paired bootstrap of `F1(other) − F1(base)` over documents (`base` and `other`: per-document counts,
/// pooled over each setting's runs, documents in the same order), with a `level` (e.g. 0.95) percentile
/// interval over `resamples`.
pub fn paired_bootstrap(
    base: &[ConllCounts],
    other: &[ConllCounts],
    resamples: &Resamples,
    level: f64,
) -> Result<BootstrapCi> {
    if base.len() != other.len() || base.len() != resamples.documents() {
        bail!(
            "the paired bootstrap needs the same documents on both sides ({} and {}, resampling {})",
            base.len(),
            other.len(),
            resamples.documents()
        );
    }
    if resamples.is_empty() || base.is_empty() {
        bail!("the bootstrap needs at least one document and one resample");
    }
    let mut deltas: Vec<f64> = resamples
        .rows()
        .map(|row| ConllCounts::sum_at(other, row).f1() - ConllCounts::sum_at(base, row).f1())
        .collect();
    deltas.sort_by(f64::total_cmp);
    let all: Vec<u32> = (0..base.len() as u32).collect();
    let pooled_delta = ConllCounts::sum_at(other, &all).f1() - ConllCounts::sum_at(base, &all).f1();
    let tail = (1.0 - level) / 2.0 * 100.0;
    Ok(BootstrapCi {
        low: percentile(&deltas, tail),
        high: percentile(&deltas, 100.0 - tail),
        pooled_delta,
        resamples: resamples.len(),
        documents: base.len(),
    })
}

/// The `q`-th percentile (0–100) of ascending `sorted` values, computed as `numpy.percentile` does by
/// default (linear interpolation between the closest ranks, `(n − 1)·q/100`, numpy's `_lerp`).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n - 1) as f64 * (q / 100.0);
    if virtual_index >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let below = virtual_index.floor();
    let gamma = virtual_index - below;
    let (a, b) = (sorted[below as usize], sorted[below as usize + 1]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_like_numpy() {
        // np.percentile([1, 2, 4, 8], [0, 25, 50, 2.5, 97.5, 100]) = [1, 1.75, 3, 1.075, 7.7, 8].
        let v = [1.0, 2.0, 4.0, 8.0];
        let got: Vec<f64> = [0.0, 25.0, 50.0, 2.5, 97.5, 100.0]
            .iter()
            .map(|&q| percentile(&v, q))
            .collect();
        let want = [1.0, 1.75, 3.0, 1.075, 7.7, 8.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
    }

    #[test]
    fn resamples_are_deterministic_and_in_range() {
        let a = Resamples::draw(7, 50, 3);
        assert_eq!(a, Resamples::draw(7, 50, 3));
        assert_ne!(a, Resamples::draw(7, 50, 4));
        assert_eq!((a.len(), a.documents()), (50, 7));
        assert!(a.indices.iter().all(|&i| i < 7));
        // Every document gets drawn somewhere.
        assert!((0..7).all(|d| a.indices.contains(&d)));
        assert!(Resamples::from_rows(&[vec![0, 1], vec![2, 0]]).is_err());
    }

    #[test]
    fn welch_needs_two_runs_and_some_variance() {
        assert!(welch_t_test(&[0.5], &[0.6, 0.7]).is_err());
        assert!(welch_t_test(&[0.5, 0.5], &[0.6, 0.6]).is_err());
        // Equal samples: t = 0, p = 1.
        let w = welch_t_test(&[0.5, 0.6], &[0.5, 0.6]).unwrap();
        assert_eq!((w.t, w.p), (0.0, 1.0));
    }
}
