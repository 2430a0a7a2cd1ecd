//! Compatibility options: each one switches a known bug or quirk of the reference back on (SPEC §9).
//!
//! By default every behaviour below is **fixed**. A config selects the published behaviour either one
//! option at a time (`[compat_options] reuse_ignores_key_flag = true`) or all at once with the preset
//! `compat = "reference"`, which reproduces the settings of SPEC §2.4 exactly. An option given
//! explicitly always wins over the preset, so `compat = "reference"` with
//! `compat_options.frozen_dropout = false` is "the reference, but cache the frozen encoders".
use serde::{Deserialize, Serialize};

/// A named set of compatibility options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatPreset {
    /// Every SPEC §9 item fixed (the default).
    #[default]
    None,
    /// Every option of [`CompatOptions`] on: the behaviour of the reference code, bugs included.
    Reference,
}

/// Individual compatibility options; an unset option follows the preset.
///
/// Each field names the reference behaviour it restores; with the option off (the default without a
/// preset) the fixed behaviour described on the field applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompatOptions {
    /// SPEC §9.5. On: the aggregator's parameters join the encoders' optimiser group (the reference's
    /// `base_models` prefix: BERT learning rate, warm-up and weight decay). Off (fixed): they form a group
    /// of their own. The train loop reads this through [`Compat::aggregator_in_encoder_group`].
    /// Default: off (preset `reference`: on).
    pub aggregator_in_encoder_group: Option<bool>,
    /// SPEC §9.6. On: with `reuse_target_query_as_key = true` the target key *is* the query module,
    /// whatever `project_target_key` says (so "K,V only" leaves the target key unprojected and "Q only"
    /// projects it). Off (fixed): `project_target_key` decides whether the target key is projected;
    /// `reuse_target_query_as_key` only decides whether that projection is shared with the query (which
    /// is possible only when the query is projected too). Default: off.
    pub reuse_ignores_key_flag: Option<bool>,
    /// SPEC §9.6. On: the keys and values of the non-target encoders are always projected (`Linear`),
    /// whatever the `project_target_*` flags say, so "no projections" still learns two projections per
    /// extra encoder. Off (fixed): they follow `project_other_keys` / `project_other_values`, which
    /// default to the target's flags, so "no projections" really projects nothing. Default: off.
    pub others_always_projected: Option<bool>,
    /// SPEC §9.6. On: `hidden_size` is silently replaced by the input size whenever the target query or
    /// key is not projected, and `output_size` by the input size whenever the target value is not
    /// projected, whatever was configured. Off (fixed): an unset size takes the value the projections
    /// require; a configured size that the projections cannot produce is an error naming the key.
    /// Default: off.
    pub hidden_size_raised: Option<bool>,
    /// SPEC §2.3. On: `use_outputs_from_last_n_layers > 1` forces all three `project_target_*` flags to
    /// true (with a warning in the reference). Off (fixed): the flags mean what they say for any n.
    /// Default: off.
    pub last_n_forces_projections: Option<bool>,
    /// SPEC §9.7. On: a string `query_idx` never matches a model position when the projections are
    /// built, so every encoder (the target too) gets fresh key and value projections and the target-key
    /// options have no effect; the query still reads the named encoder. Off (fixed): a string
    /// `query_idx` names the target encoder exactly as its position would. Default: off.
    pub string_query_idx_unmatched: Option<bool>,
    /// SPEC §9.8. On: the last n layers are flattened interleaved, feature `h·n + l` (the reference's
    /// `stack(-1).flatten(-2)`). Off (fixed): the layers are concatenated, feature `l·H + h`, oldest layer
    /// first, so a projection's weight columns come in per-layer blocks. Default: off.
    pub interleaved_layer_features: Option<bool>,
    /// SPEC §9.8. On: the last n "layers" are the last n of the L+1 hidden states, so n = L+1 (or a
    /// truncated encoder with k < n layers) silently includes the embedding output. Off (fixed): the
    /// last n transformer layers, never the embedding output unless the aggregator's
    /// `layers_include_embeddings` asks for it; n > L is then an error. Default: off.
    pub reference_layer_indexing: Option<bool>,
    /// SPEC §9.9. On: padding positions are treated like tokens: the aggregated output keeps whatever
    /// the aggregator computes from the padded embeddings, and the logged attention-weight means and
    /// cosine-similarity means average over padding too (the cosine similarity as a mean over rows of
    /// per-row means). Off (fixed): the aggregated output is zero at padding and every mean runs over
    /// the real tokens only. Default: off.
    pub include_padding: Option<bool>,
    /// SPEC §9.9. On: frozen encoders run with dropout active while training, as the reference's frozen
    /// modules stay in train mode; their outputs then change every step and are recomputed instead of
    /// read from the feature cache (evaluation still uses the cache). Off (fixed): frozen encoders always
    /// run in evaluation mode and are computed once. Default: off.
    pub frozen_dropout: Option<bool>,
}

/// The resolved compatibility switches (preset + explicit options), read by the stack, the aggregators
/// and the train loop. `Compat::default()` is "everything fixed".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compat {
    /// See [`CompatOptions::aggregator_in_encoder_group`].
    pub aggregator_in_encoder_group: bool,
    /// See [`CompatOptions::reuse_ignores_key_flag`].
    pub reuse_ignores_key_flag: bool,
    /// See [`CompatOptions::others_always_projected`].
    pub others_always_projected: bool,
    /// See [`CompatOptions::hidden_size_raised`].
    pub hidden_size_raised: bool,
    /// See [`CompatOptions::last_n_forces_projections`].
    pub last_n_forces_projections: bool,
    /// See [`CompatOptions::string_query_idx_unmatched`].
    pub string_query_idx_unmatched: bool,
    /// See [`CompatOptions::interleaved_layer_features`].
    pub interleaved_layer_features: bool,
    /// See [`CompatOptions::reference_layer_indexing`].
    pub reference_layer_indexing: bool,
    /// See [`CompatOptions::include_padding`].
    pub include_padding: bool,
    /// See [`CompatOptions::frozen_dropout`].
    pub frozen_dropout: bool,
}

impl Compat {
    /// Every option on: the reference behaviour.
    pub fn reference() -> Self {
        Compat::resolve(CompatPreset::Reference, &CompatOptions::default())
    }

    /// The preset's values, overridden by every option that is set explicitly.
    pub fn resolve(preset: CompatPreset, options: &CompatOptions) -> Self {
        let on = preset == CompatPreset::Reference;
        let pick = |opt: Option<bool>| opt.unwrap_or(on);
        Compat {
            aggregator_in_encoder_group: pick(options.aggregator_in_encoder_group),
            reuse_ignores_key_flag: pick(options.reuse_ignores_key_flag),
            others_always_projected: pick(options.others_always_projected),
            hidden_size_raised: pick(options.hidden_size_raised),
            last_n_forces_projections: pick(options.last_n_forces_projections),
            string_query_idx_unmatched: pick(options.string_query_idx_unmatched),
            interleaved_layer_features: pick(options.interleaved_layer_features),
            reference_layer_indexing: pick(options.reference_layer_indexing),
            include_padding: pick(options.include_padding),
            frozen_dropout: pick(options.frozen_dropout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_sets_everything_and_explicit_options_win() {
        assert_eq!(
            Compat::resolve(CompatPreset::None, &CompatOptions::default()),
            Compat::default()
        );
        let reference = Compat::reference();
        assert!(reference.aggregator_in_encoder_group && reference.frozen_dropout);
        assert!(reference.include_padding && reference.interleaved_layer_features);
        let options = CompatOptions {
            frozen_dropout: Some(false),
            ..CompatOptions::default()
        };
        let mixed = Compat::resolve(CompatPreset::Reference, &options);
        assert!(!mixed.frozen_dropout);
        assert!(mixed.reuse_ignores_key_flag);
        let one = CompatOptions {
            include_padding: Some(true),
            ..CompatOptions::default()
        };
        let only = Compat::resolve(CompatPreset::None, &one);
        assert!(only.include_padding && !only.frozen_dropout);
    }
}
