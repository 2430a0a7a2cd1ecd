//! The whole stack forward (layer selection, L2 normalisation, cosine similarities, aggregation) in
//! `compat = "reference"` against the reference's `TransformerMultiModel.forward` (SPEC §2.2), with the
//! encoders replaced by the golden fixture's hidden states (`scripts/golden/aggregate_golden.py`).
mod util;

use candle_core::{DType, Device, Tensor};
use reprobe_models::aggregate::CompatPreset;
use reprobe_models::encoders::stack::{EncoderConfig, EncoderStack, StackConfig, StackMember};
use reprobe_models::params::ParamStore;
use reprobe_models::rng::ModelRng;
use util::{load_golden, max_abs_diff, FixtureEncoder};

#[test]
fn reference_stack_matches_transformer_multi_model_forward() {
    let g = load_golden();
    for case in &g.file.cases {
        let mut cfg = StackConfig {
            aggregate: g.config(case),
            normalize_embeddings: case.normalize,
            cossim_target: case.cossim_target.clone(),
            compat: CompatPreset::Reference,
            encoder_order: case.models.clone(),
            ..StackConfig::default()
        };
        cfg.cache.enabled = false;
        let mut members = Vec::new();
        for model in &case.models {
            cfg.encoders.insert(
                model.clone(),
                EncoderConfig {
                    checkpoint: format!("fixture/{model}"),
                    freeze: true,
                    truncate: None,
                    config: Default::default(),
                    vocab_size: None,
                },
            );
            members.push(StackMember {
                id: model.clone(),
                encoder: Box::new(FixtureEncoder {
                    states: g.hidden_states(model, DType::F64),
                    fingerprint: format!("fixture-{model}"),
                }),
                vocab_size: 100,
                dtype: DType::F64,
            });
        }
        let params = ParamStore::new(ModelRng::new(0), DType::F64, Device::Cpu);
        let stack = EncoderStack::new(&cfg, members, 100, &params).unwrap();
        assert!(
            stack.aggregator_in_encoder_group(),
            "the reference preset puts the aggregator with the encoders"
        );
        let set = g.set_params(case, &params, |_, t| t);
        assert_eq!(set, case.params.len(), "{}", case.name);
        let ids = Tensor::zeros((g.file.b, g.file.t), DType::U32, &Device::Cpu).unwrap();
        let out = stack.forward_t(&ids, &g.mask(), Some("doc"), true).unwrap();
        let diff = max_abs_diff(&out.embeddings, g.tensor(&format!("{}.out", case.name)));
        assert!(diff < 1e-9, "{}: embeddings differ by {diff:e}", case.name);
        if let Some(attn) = &out.attention {
            let diff = max_abs_diff(attn, g.tensor(&format!("{}.attn", case.name)));
            assert!(diff < 1e-9, "{}: attention differs by {diff:e}", case.name);
            assert_eq!(out.attention_weights.len(), case.models.len());
            let total: f64 = out.attention_weights.values().sum();
            assert!(
                (total - 1.0).abs() < 1e-12,
                "{}: mean weights sum to {total}",
                case.name
            );
        }
        assert_eq!(out.cossim.len(), case.cossim.len(), "{}", case.name);
        for (key, want) in &case.cossim {
            let got = out.cossim[key];
            assert!(
                (got - want).abs() < 1e-12,
                "{} {key}: {got} vs {want}",
                case.name
            );
        }
    }
}
