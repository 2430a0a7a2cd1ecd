//! Concatenation plus a learned linear map (SPEC §2.3, `ConcatAggregator`): `Linear(M·H → H)(cat(e, -1))`.
use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::{last_states, zero_padding, AggregateOutput, Aggregator, Compat, Projection};
use crate::params::ParamStore;
use crate::Result;

/// `kind = "concat"`: no options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcatConfig {}

/// The encoders' last hidden states side by side (stack order), mapped back to `H` by
/// `aggregate.linear` (`weight` `[H, M·H]`, `bias` `[H]`, PyTorch's default initialisation).
#[derive(Debug, Clone)]
pub struct ConcatAggregator {
    models: usize,
    hidden_size: usize,
    compat: Compat,
    linear: Projection,
}

impl ConcatAggregator {
    /// A concatenation of `models` encoders of width `hidden_size`; registers `aggregate.linear.*`.
    pub fn new(
        models: usize,
        hidden_size: usize,
        compat: Compat,
        params: &ParamStore,
    ) -> Result<Self> {
        let linear = Projection::linear(
            params,
            "aggregate.linear",
            models * hidden_size,
            hidden_size,
        )?;
        Ok(ConcatAggregator {
            models,
            hidden_size,
            compat,
            linear,
        })
    }
}

impl Aggregator for ConcatAggregator {
    /// # Shapes
    /// - `inputs`: M lists of one `[B, T, H]`; output `[B, T, H]`, no attention
    fn forward(&self, inputs: &[Vec<Tensor>], attention_mask: &Tensor) -> Result<AggregateOutput> {
        let last = last_states(inputs, self.models, self.hidden_size)?; // M × [B, T, H]
        let concatenated = Tensor::cat(&last, D::Minus1)?; // [B, T, M·H]
        let projected = self.linear.forward(&concatenated)?; // [B, T, H]
        Ok(AggregateOutput {
            embeddings: zero_padding(projected, attention_mask, self.compat.include_padding)?,
            attention: None,
        })
    }

    fn output_size(&self) -> usize {
        self.hidden_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::ModelRng;
    use candle_core::{DType, Device};

    #[test]
    fn concat_is_linear_of_the_concatenation() {
        let params = ParamStore::new(ModelRng::new(1), DType::F64, Device::Cpu);
        let agg = ConcatAggregator::new(2, 2, Compat::default(), &params).unwrap();
        let names: Vec<String> = params.all().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            vec!["aggregate.linear.bias", "aggregate.linear.weight"]
        );
        // Set W = [[1, 0, 0, 1], [0, 2, 0, 0]], b = [0.5, -1].
        for (name, var) in params.all() {
            let value = if name.ends_with("weight") {
                Tensor::from_vec(
                    vec![1.0f64, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0],
                    (2, 4),
                    &Device::Cpu,
                )
            } else {
                Tensor::from_vec(vec![0.5f64, -1.0], 2, &Device::Cpu)
            };
            var.set(&value.unwrap()).unwrap();
        }
        let a = Tensor::from_vec(vec![1.0f64, 2.0], (1, 1, 2), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(vec![3.0f64, 4.0], (1, 1, 2), &Device::Cpu).unwrap();
        let mask = Tensor::ones((1, 1), DType::U32, &Device::Cpu).unwrap();
        let out = agg.forward(&[vec![a], vec![b]], &mask).unwrap().embeddings;
        // cat = [1, 2, 3, 4]: [1 + 4 + 0.5, 4 - 1] = [5.5, 3].
        assert_eq!(
            out.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            vec![5.5, 3.0]
        );
    }

    #[test]
    fn default_init_is_uniform_within_one_over_sqrt_fan_in() {
        let params = ParamStore::new(ModelRng::new(3), DType::F32, Device::Cpu);
        ConcatAggregator::new(3, 16, Compat::default(), &params).unwrap();
        let bound = 1.0 / (48f32).sqrt();
        for (name, var) in params.all() {
            let values = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            assert!(values.iter().all(|v| v.abs() <= bound), "{name}");
            let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(
                max > 0.8 * bound,
                "{name}: {max} should come close to {bound}"
            );
        }
    }
}
