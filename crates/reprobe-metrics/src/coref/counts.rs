//! Raw counts (numerators and denominators) and the scores computed from them.
//!
//! Every metric reports four numbers per document, which are **summed over documents** before any ratio
//! is taken (micro-averaging, as the reference scorer does): recall numerator and denominator, precision
//! numerator and denominator. Recall and precision are 0 when their denominator is 0, F1 is 0 when
//! P + R is 0 (the reference's `ShowRPF`).
use serde::{Deserialize, Serialize};

/// Recall and precision numerators and denominators of one metric.
///
/// Counts that are integers (MUC links, mentions, CEAFm) are exact in `f64`; B³, CEAFe and LEA
/// numerators are sums of fractions, accumulated in the reference scorer's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Recall numerator.
    pub recall_num: f64,
    /// Recall denominator.
    pub recall_den: f64,
    /// Precision numerator.
    pub precision_num: f64,
    /// Precision denominator.
    pub precision_den: f64,
}

/// Recall, precision and F1 as fractions in `[0, 1]` (CEAFm precision can exceed 1 when the key repeats
/// a span inside one cluster, exactly as in the reference).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Recall.
    pub recall: f64,
    /// Precision.
    pub precision: f64,
    /// F1.
    pub f1: f64,
}

impl Counts {
    /// Counts from recall numerator/denominator and precision numerator/denominator.
    pub fn new(recall_num: f64, recall_den: f64, precision_num: f64, precision_den: f64) -> Self {
        Counts {
            recall_num,
            recall_den,
            precision_num,
            precision_den,
        }
    }

    /// `recall_num / recall_den`, 0 when the denominator is 0.
    pub fn recall(&self) -> f64 {
        ratio(self.recall_num, self.recall_den)
    }

    /// `precision_num / precision_den`, 0 when the denominator is 0.
    pub fn precision(&self) -> f64 {
        ratio(self.precision_num, self.precision_den)
    }

    /// Harmonic mean of recall and precision, 0 when both are 0.
    pub fn f1(&self) -> f64 {
        f1(self.recall(), self.precision())
    }

    /// Recall, precision and F1 together.
    pub fn scores(&self) -> Scores {
        Scores {
            recall: self.recall(),
            precision: self.precision(),
            f1: self.f1(),
        }
    }

    /// Adds another document's counts to these.
    pub fn add(&mut self, other: &Counts) {
        self.recall_num += other.recall_num;
        self.recall_den += other.recall_den;
        self.precision_num += other.precision_num;
        self.precision_den += other.precision_den;
    }
}

/// BLANC's counts: coreference links and non-coreference links, each with recall and precision
/// numerators and denominators (Luo et al. 2014).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BlancCounts {
    /// Coreference links: correct / key links, correct / response links.
    pub coref: Counts,
    /// Non-coreference links: correct / key links, correct / response links.
    pub non_coref: Counts,
}

impl BlancCounts {
    /// Adds another document's counts to these.
    pub fn add(&mut self, other: &BlancCounts) {
        self.coref.add(&other.coref);
        self.non_coref.add(&other.non_coref);
    }

    /// BLANC recall, precision and F1 from these (summed) counts, with the reference's rules
    /// (`ScoreBLANC` in v8.01):
    ///
    /// - `R = (R_c + R_n) / 2`, `P = (P_c + P_n) / 2`, `F = (F_c + F_n) / 2` (F is the mean of the two
    ///   F1s, **not** the harmonic mean of R and P);
    /// - when the key has no coreference link at all, BLANC is the non-coreference side alone; when it
    ///   has no non-coreference link, the coreference side alone; when it has neither, 0;
    /// - a side whose response denominator is 0 has precision 0 and still enters the mean.
    pub fn scores(&self) -> Scores {
        let recall_c = (self.coref.recall_den != 0.0).then(|| self.coref.recall());
        let recall_n = (self.non_coref.recall_den != 0.0).then(|| self.non_coref.recall());
        let precision_c = self.coref.precision();
        let precision_n = self.non_coref.precision();
        match (recall_c, recall_n) {
            (None, None) => Scores::default(),
            (None, Some(recall_n)) => Scores {
                recall: recall_n,
                precision: precision_n,
                f1: f1(recall_n, precision_n),
            },
            (Some(recall_c), None) => Scores {
                recall: recall_c,
                precision: precision_c,
                f1: f1(recall_c, precision_c),
            },
            (Some(recall_c), Some(recall_n)) => Scores {
                recall: (recall_c + recall_n) / 2.0,
                precision: (precision_c + precision_n) / 2.0,
                f1: (f1(recall_c, precision_c) + f1(recall_n, precision_n)) / 2.0,
            },
        }
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// `2PR / (P + R)`, 0 when `P + R` is 0; written as the reference writes it (`2 * P * R / (P + R)`).
pub(crate) fn f1(recall: f64, precision: f64) -> f64 {
    if recall + precision == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_zero_rules() {
        let c = Counts::new(1.0, 4.0, 1.0, 2.0);
        // R = 1/4, P = 1/2, F1 = 2·(1/8)/(3/4) = 1/3.
        assert_eq!(c.recall(), 0.25);
        assert_eq!(c.precision(), 0.5);
        assert!((c.f1() - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(Counts::new(0.0, 0.0, 0.0, 0.0).scores(), Scores::default());
        assert_eq!(Counts::new(0.0, 3.0, 0.0, 5.0).f1(), 0.0);
    }

    #[test]
    fn counts_add_up() {
        let mut total = Counts::new(1.0, 2.0, 3.0, 4.0);
        total.add(&Counts::new(0.5, 1.0, 0.25, 1.0));
        assert_eq!(total, Counts::new(1.5, 3.0, 3.25, 5.0));
    }

    #[test]
    fn blanc_special_cases() {
        // Both sides: TC-B-1 of Pradhan et al. 2014: R_c = P_c = 1/4, R_n = P_n = 2/6.
        // F_c = 1/4, F_n = 1/3, BLANC F = (1/4 + 1/3) / 2 = 7/24.
        let both = BlancCounts {
            coref: Counts::new(1.0, 4.0, 1.0, 4.0),
            non_coref: Counts::new(2.0, 6.0, 2.0, 6.0),
        };
        let s = both.scores();
        assert!((s.f1 - 7.0 / 24.0).abs() < 1e-15);
        assert!((s.recall - (0.25 + 1.0 / 3.0) / 2.0).abs() < 1e-15);
        // No key coreference link: the non-coreference side alone (TC-N-4: 3/15, 3/15).
        let only_n = BlancCounts {
            coref: Counts::new(0.0, 0.0, 0.0, 0.0),
            non_coref: Counts::new(3.0, 15.0, 3.0, 15.0),
        };
        assert!((only_n.scores().f1 - 0.2).abs() < 1e-15);
        // No key non-coreference link: the coreference side alone (TC-M-6: R 1/15, P 1/4).
        let only_c = BlancCounts {
            coref: Counts::new(1.0, 15.0, 1.0, 4.0),
            non_coref: Counts::new(0.0, 0.0, 0.0, 12.0),
        };
        let s = only_c.scores();
        assert!((s.recall - 1.0 / 15.0).abs() < 1e-15 && (s.precision - 0.25).abs() < 1e-15);
        // Neither: 0.
        assert_eq!(BlancCounts::default().scores(), Scores::default());
        // A response without coreference links still averages its precision 0 in (TC-A-10):
        // R_c = 0/4, P_c = 0/0 → 0, R_n = 11/11, P_n = 11/15.
        let no_resp_links = BlancCounts {
            coref: Counts::new(0.0, 4.0, 0.0, 0.0),
            non_coref: Counts::new(11.0, 11.0, 11.0, 15.0),
        };
        let s = no_resp_links.scores();
        assert_eq!(s.recall, 0.5);
        assert!((s.precision - 11.0 / 30.0).abs() < 1e-15);
        // F_n = 2·(11/15)/(1 + 11/15) = 22/26; F = 11/26.
        assert!((s.f1 - 11.0 / 26.0).abs() < 1e-15);
    }
}
