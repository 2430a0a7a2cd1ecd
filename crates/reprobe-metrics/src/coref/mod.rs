//! Coreference metrics with the semantics of the official CoNLL-2012 reference scorer v8.01
//! (Pradhan et al. 2014, "Scoring Coreference Partitions of Predicted Mentions: A Reference
//! Implementation", ACL, <https://aclanthology.org/P14-2006/>).
//!
//! One document at a time: [`identify_mentions`] turns key and response clusters into chains of mention
//! ids (removing repeated response mentions the reference's way), then each metric reads the chains:
//! [`muc()`], [`bcub()`], [`ceaf()`] (CEAFm and CEAFe), [`blanc()`], [`lea()`]. [`CorefEvaluator`] runs
//! them for each document and sums the counts; [`pair_documents`] matches the documents of a key and a
//! response corpus. The module of each metric states its definition and every rule that departs from a
//! textbook reading.
//!
//! # The reference's rules, all reproduced
//!
//! | rule | where |
//! |---|---|
//! | documents matched by `#begin document` id (and part); key document missing from the response = empty response (an empty response file = no documents); response-only documents ignored; order irrelevant; a repeated id uses its last occurrence (the CoNLL reader of `reprobe-corpus` refuses a file with one id and part twice) | [`pair_documents`] |
//! | mentions compared by exact (start, end) boundaries inside one document part | [`identify_mentions`] |
//! | a response span equal to an already matched key span is removed (the copy in the cluster read first survives); emptied clusters disappear; twinless repeated spans are kept; the reference refuses more than 10 repeats per file, we accept and report them | [`identify_mentions`], [`DocumentCounts::repeated_response_mentions`] |
//! | a span repeated in the key is kept in every key cluster (so identity with itself misses MUC links, as on OntoGUM dev: recall 2959/2961) | [`identify_mentions`], [`muc()`] |
//! | singletons count in B³, CEAF, BLANC, LEA and mention identification, never in MUC | each metric |
//! | mentions outside the key: B³/CEAF/LEA lower precision only, MUC never links them, BLANC counts their links | each metric |
//! | counts summed over documents before any ratio; 0 for a zero denominator or P + R = 0 | [`Counts`] |
//! | BLANC: mean of the coreference and non-coreference sides; one side alone when the key has no link of the other kind | [`BlancCounts::scores`] |
//!
//! The CoNLL F1 is (F1_MUC + F1_B³ + F1_CEAFe) / 3 ([`CorefCounts::conll_f1`]). LEA (Moosavi & Strube
//! 2016) is not part of v8.01 and follows the paper on the same chains.
//!
//! Besides its own golden fixtures, the implementation is checked against every expected value of the
//! reference scorer's own test suite (`CorefMetricTestConfig.pm`, `tests/reference_suite.rs`). Reading
//! CoNLL files (entity ids, brackets, document names) is the corpus crate's; where it departs from the
//! scorer (zero-padded entity ids are one entity; `(ID);` matches `(ID); part 0`) its module says so.
//!
//! # Floating point
//!
//! Fractional numerators (B³, CEAFe, LEA) are accumulated in the reference's order within a document,
//! so per-document counts agree with it to the last digit it prints (15 significant digits). Across
//! documents the sum follows the order of [`CorefEvaluator::add_document`] calls, while the reference
//! visits documents in Perl's hash order, which changes from run to run: the 15th digit of its own
//! fractional totals can differ by one between runs, and so can ours from any one of its runs. Added in
//! the reference's order, the totals agree exactly (the golden tests check this on the shared corpora).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod bcub;
pub mod blanc;
pub mod ceaf;
mod counts;
mod evaluator;
pub mod format;
pub mod lea;
pub mod mentions;
pub mod muc;
#[cfg(test)]
mod test_util;

pub use bcub::bcub;
pub use blanc::blanc;
pub use ceaf::{ceaf, CeafKind};
pub use counts::{BlancCounts, Counts, Scores};
pub use evaluator::{pair_documents, score_document, CorefCounts, CorefEvaluator, DocumentCounts};
pub use lea::lea;
pub use mentions::{identify_mentions, Chains, Identified};
pub use muc::muc;

/// One coreference metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// MUC (Vilain et al. 1995).
    Muc,
    /// B³ (Bagga & Baldwin 1998).
    Bcub,
    /// Mention-based CEAF (Luo 2005).
    Ceafm,
    /// Entity-based CEAF (Luo 2005).
    Ceafe,
    /// BLANC for predicted mentions (Recasens & Hovy 2011; Luo et al. 2014).
    Blanc,
    /// LEA (Moosavi & Strube 2016).
    Lea,
}

impl Metric {
    /// Every metric, in the order the reference scorer prints them (LEA last).
    pub const ALL: [Metric; 6] = [
        Metric::Muc,
        Metric::Bcub,
        Metric::Ceafm,
        Metric::Ceafe,
        Metric::Blanc,
        Metric::Lea,
    ];

    /// The name used on the command line and in JSON (`muc`, `bcub`, `ceafm`, `ceafe`, `blanc`, `lea`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Muc => "muc",
            Metric::Bcub => "bcub",
            Metric::Ceafm => "ceafm",
            Metric::Ceafe => "ceafe",
            Metric::Blanc => "blanc",
            Metric::Lea => "lea",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::UnknownMetric {
                name: s.to_string(),
            })
    }
}

/// A set of metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MetricSet(u8);

impl MetricSet {
    /// Every metric.
    pub fn all() -> Self {
        Metric::ALL.into_iter().collect()
    }

    /// The three metrics of the CoNLL F1: MUC, B³, CEAFe (what the in-training evaluation needs).
    pub fn conll() -> Self {
        [Metric::Muc, Metric::Bcub, Metric::Ceafe]
            .into_iter()
            .collect()
    }

    /// Parses `all` or a comma-separated list of metric names (`muc,bcub,ceafe`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownMetric`] naming the first unknown name; [`Error::NoMetric`] for an empty list.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec == "all" {
            return Ok(Self::all());
        }
        let mut set = MetricSet::default();
        for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            set.insert(name.parse()?);
        }
        if set.is_empty() {
            return Err(Error::NoMetric {
                spec: spec.to_string(),
            });
        }
        Ok(set)
    }

    /// Adds a metric.
    pub fn insert(&mut self, metric: Metric) {
        self.0 |= metric.bit();
    }

    /// True when `metric` is in the set.
    pub fn contains(&self, metric: Metric) -> bool {
        self.0 & metric.bit() != 0
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// True when MUC, B³ and CEAFe are all in the set, so the CoNLL F1 can be computed.
    pub fn has_conll(&self) -> bool {
        self.contains(Metric::Muc) && self.contains(Metric::Bcub) && self.contains(Metric::Ceafe)
    }

    /// The metrics of the set in [`Metric::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Metric> + '_ {
        Metric::ALL.into_iter().filter(|m| self.contains(*m))
    }
}

impl FromIterator<Metric> for MetricSet {
    fn from_iter<I: IntoIterator<Item = Metric>>(iter: I) -> Self {
        let mut set = MetricSet::default();
        for metric in iter {
            set.insert(metric);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sets_parse() {
        assert_eq!(MetricSet::parse("all").unwrap(), MetricSet::all());
        let set = MetricSet::parse("muc, ceafe,bcub").unwrap();
        assert_eq!(set, MetricSet::conll());
        assert!(set.has_conll());
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Metric::Muc, Metric::Bcub, Metric::Ceafe]
        );
        let err = MetricSet::parse("muc,ceaf").unwrap_err();
        assert_eq!(err.to_string(), "unknown metric `ceaf` (expected all, or a comma-separated list of muc, bcub, ceafm, ceafe, blanc, lea)");
        assert!(matches!(
            MetricSet::parse(" , "),
            Err(Error::NoMetric { .. })
        ));
        assert!(!MetricSet::parse("lea").unwrap().has_conll());
    }
}
