//! Options of the coref-hoi head (SPEC §3.9), with the reference's names and defaults.
//!
//! Keys that belong to the optimiser (`bert_learning_rate`, `task_learning_rate`, `adam_eps`,
//! `adam_weight_decay`, `warmup_ratio`, `gradient_clip_val`) are in [`crate::optim::OptimConfig`]; keys of
//! the data (`max_segment_len`, the genre list) belong to the corpus side. The higher-order options of
//! coref-hoi (`higher_order`, `cluster_ffnn_size`, `cluster_reduce`, `easy_cluster_first`, `cluster_dloss`)
//! are not ported: an unknown key is rejected, and `coref_depth > 1` is refused by [`CorefConfig::validate`].
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The training objective of the antecedent scores (SPEC §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    /// `Σ_i logsumexp(s_i) − logsumexp(s_i + log gold_i)` (the reference's choice in every run).
    #[default]
    Marginalized,
    /// The slack-rescaled hinge loss with `false_new_delta` (ported, unused by the reference runs).
    Hinge,
}

/// How the gold mentions of a training document follow its cropping to `max_training_sentences`
/// segments (SPEC §3.2, §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GoldCrop {
    /// coref-hoi's rule: keep the mentions that lie in the kept token window, shifted to it.
    #[default]
    Positional,
    /// The reference's bug (SPEC §9.1), for reproducing its numbers: the sorted mention list is sliced by
    /// *mention index* `[segment_offset, segment_offset + max_training_sentences)` and shifted by the
    /// token offset, whatever lies where.
    IndexSliced,
}

/// Every option of the coref-hoi head. Defaults are the effective values of the paper runs (SPEC §3.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorefConfig {
    /// `W`: the longest candidate span, in subtokens (SPEC §3.3). Also the number of rows of the width
    /// embeddings. Default 30.
    pub max_span_width: usize,
    /// Keep `K = floor(min(max_num_extracted_spans, top_span_ratio · N))` top spans, `N` the number of
    /// subtokens of the document, `[CLS]`/`[SEP]` included as in the reference (SPEC §3.3, §9.13).
    /// Default 0.4.
    pub top_span_ratio: f64,
    /// Upper bound on `K` (SPEC §3.3). Default 3900.
    pub max_num_extracted_spans: usize,
    /// `A = min(K, max_top_antecedents)` antecedents kept per span by the coarse scores (SPEC §3.3).
    /// Default 50.
    pub max_top_antecedents: usize,
    /// Hidden width of every FFNN (mention, width prior, pair scorer). Default 3000.
    pub ffnn_size: usize,
    /// Number of hidden layers of every FFNN (each `Linear → ReLU → Dropout`). Must be ≥ 1. Default 1.
    pub ffnn_depth: usize,
    /// `f`: width of every feature embedding (width, distances, speaker, genre, segment). Default 20.
    pub feature_emb_size: usize,
    /// The probability of the one dropout module shared by every FFNN and feature (SPEC §3.7). Default 0.3.
    pub dropout_rate: f64,
    /// The loss of the antecedent scores (SPEC §3.4). Default `marginalized`.
    pub loss_type: LossType,
    /// Weight of the optional mention loss on the top spans' mention scores (SPEC §3.4). Default 0 (off).
    pub mention_loss_coef: f64,
    /// `δ` of the hinge loss; only read when `loss_type = "hinge"`. Default 1.5.
    pub false_new_delta: f64,
    /// Rounds of antecedent scoring. Only 1 is supported (higher-order inference is not ported).
    /// Default 1.
    pub coref_depth: usize,
    /// Score pairs with the fine-grained pair FFNN on top of the coarse scores (SPEC §3.3). Default true.
    pub fine_grained: bool,
    /// Speaker (same/different) and genre features in the pair scorer. Default true.
    pub use_metadata: bool,
    /// Span-width embedding in the span representation and antecedent-distance feature in the pair
    /// scorer. Default true.
    pub use_features: bool,
    /// Segment-distance feature in the pair scorer. Default true.
    pub use_segment_distance: bool,
    /// Attention-weighted head word in the span representation; false gives the plain average of the
    /// span's tokens. Default true.
    pub model_heads: bool,
    /// Add the learned width prior `FFNN(E_width_prior)[width]` to the mention scores. Default true.
    pub use_width_prior: bool,
    /// Add the learned antecedent-distance prior to the coarse scores. Default true.
    pub use_distance_prior: bool,
    /// Training documents longer than this many segments are cropped (SPEC §3.2); also the number of rows
    /// of the segment-distance embedding, so segment distances are clamped to
    /// `max_training_sentences − 1` (SPEC §3.8, §9.15). Default 11.
    pub max_training_sentences: usize,
    /// Rows of the genre embedding (the genre ids fed to the head must be below it). Default 7.
    pub num_genres: usize,
    /// Compatibility (SPEC §9.13): when fewer than `K` non-crossing spans exist, pad the top spans with
    /// copies of the first one as the reference does (a span may then be its own antecedent). Default
    /// false: keep fewer than `K` spans.
    pub pad_top_spans: bool,
    /// How the gold follows the cropping of long training documents (SPEC §9.1). Default `positional`.
    pub gold_crop: GoldCrop,
}

impl Default for CorefConfig {
    fn default() -> Self {
        CorefConfig {
            max_span_width: 30,
            top_span_ratio: 0.4,
            max_num_extracted_spans: 3900,
            max_top_antecedents: 50,
            ffnn_size: 3000,
            ffnn_depth: 1,
            feature_emb_size: 20,
            dropout_rate: 0.3,
            loss_type: LossType::Marginalized,
            mention_loss_coef: 0.0,
            false_new_delta: 1.5,
            coref_depth: 1,
            fine_grained: true,
            use_metadata: true,
            use_features: true,
            use_segment_distance: true,
            model_heads: true,
            use_width_prior: true,
            use_distance_prior: true,
            max_training_sentences: 11,
            num_genres: 7,
            pad_top_spans: false,
            gold_crop: GoldCrop::Positional,
        }
    }
}

impl CorefConfig {
    /// Checks every value, naming the key at fault.
    pub fn validate(&self) -> Result<()> {
        fn bad(key: &str, msg: impl Into<String>) -> Result<()> {
            Err(Error::Config {
                key: key.to_string(),
                msg: msg.into(),
            })
        }
        if self.coref_depth > 1 {
            return bad(
                "coref_depth",
                format!(
                    "{} asks for higher-order inference, which reprobe does not implement; use coref_depth = 1",
                    self.coref_depth
                ),
            );
        }
        if self.coref_depth == 0 {
            return bad("coref_depth", "must be 1 (one round of antecedent scoring)");
        }
        let positive = [
            ("max_span_width", self.max_span_width),
            ("max_num_extracted_spans", self.max_num_extracted_spans),
            ("max_top_antecedents", self.max_top_antecedents),
            ("ffnn_size", self.ffnn_size),
            ("feature_emb_size", self.feature_emb_size),
            ("max_training_sentences", self.max_training_sentences),
            ("num_genres", self.num_genres),
        ];
        for (key, value) in positive {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if self.ffnn_depth == 0 {
            return bad(
                "ffnn_depth",
                "must be at least 1 (a hidden layer in every FFNN, as in every reference run)",
            );
        }
        if !(self.top_span_ratio.is_finite() && self.top_span_ratio > 0.0) {
            return bad(
                "top_span_ratio",
                format!("{} is not a positive number", self.top_span_ratio),
            );
        }
        if !(0.0..1.0).contains(&self.dropout_rate) {
            return bad(
                "dropout_rate",
                format!("{} is not in [0, 1)", self.dropout_rate),
            );
        }
        if !(self.mention_loss_coef.is_finite() && self.mention_loss_coef >= 0.0) {
            return bad(
                "mention_loss_coef",
                format!("{} is not a number ≥ 0", self.mention_loss_coef),
            );
        }
        if !self.false_new_delta.is_finite() {
            return bad("false_new_delta", "must be a finite number");
        }
        Ok(())
    }

    /// Width of a span representation `g`: `3H (+ f with use_features)` (SPEC §3.3).
    pub fn span_emb_size(&self, hidden_size: usize) -> usize {
        3 * hidden_size
            + if self.use_features {
                self.feature_emb_size
            } else {
                0
            }
    }

    /// Width of the pair features `φ`: `f` per enabled feature (speaker and genre with use_metadata,
    /// segment distance, antecedent distance with use_features).
    pub fn pair_feature_size(&self) -> usize {
        let f = self.feature_emb_size;
        (if self.use_metadata { 2 * f } else { 0 })
            + (if self.use_segment_distance { f } else { 0 })
            + (if self.use_features { f } else { 0 })
    }

    /// Width of the pair representation `[g_i; g_j; g_i∘g_j; φ]`.
    pub fn pair_emb_size(&self, hidden_size: usize) -> usize {
        3 * self.span_emb_size(hidden_size) + self.pair_feature_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_paper_settings_and_sizes_match_spec_3_8() {
        let cfg = CorefConfig::default();
        cfg.validate().unwrap();
        assert_eq!(cfg.span_emb_size(768), 2324);
        assert_eq!(cfg.pair_emb_size(768), 7052);
        assert_eq!(cfg.pair_feature_size(), 80);
    }

    #[test]
    fn higher_order_is_refused_with_a_clear_message() {
        let cfg = CorefConfig {
            coref_depth: 2,
            ..CorefConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("coref_depth"), "{err}");
        assert!(err.contains("higher-order"), "{err}");
    }

    #[test]
    fn unknown_keys_and_ported_higher_order_options_are_rejected() {
        let err = serde_json::from_str::<CorefConfig>(r#"{"higher_order": "attended_antecedent"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("higher_order"), "{err}");
        let cfg: CorefConfig = serde_json::from_str(
            r#"{"ffnn_size": 1000, "loss_type": "hinge", "gold_crop": "index_sliced"}"#,
        )
        .unwrap();
        assert_eq!(cfg.ffnn_size, 1000);
        assert_eq!(cfg.loss_type, LossType::Hinge);
        assert_eq!(cfg.gold_crop, GoldCrop::IndexSliced);
        assert_eq!(cfg.max_span_width, 30);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (cfg, key) in [
            (
                CorefConfig {
                    dropout_rate: 1.0,
                    ..Default::default()
                },
                "dropout_rate",
            ),
            (
                CorefConfig {
                    ffnn_depth: 0,
                    ..Default::default()
                },
                "ffnn_depth",
            ),
            (
                CorefConfig {
                    top_span_ratio: f64::NAN,
                    ..Default::default()
                },
                "top_span_ratio",
            ),
        ] {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}
