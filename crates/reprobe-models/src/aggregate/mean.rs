//! The mean over encoders (SPEC §2.3, `aggregate_mean`): `stack(e, -1).mean(-1)`.
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::reduce::{Reduce, Reduction};
use super::{AggregateOutput, Aggregator, Compat};
use crate::Result;

/// `kind = "mean"`: no options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanConfig {}

/// The element-wise mean of the encoders' last hidden states; no parameters.
#[derive(Debug, Clone)]
pub struct MeanAggregator(Reduce);

impl MeanAggregator {
    /// The mean of `models` encoders of width `hidden_size`.
    pub fn new(models: usize, hidden_size: usize, compat: Compat) -> Self {
        MeanAggregator(Reduce {
            reduction: Reduction::Mean,
            models,
            hidden_size,
            compat,
        })
    }
}

impl Aggregator for MeanAggregator {
    /// # Shapes
    /// - `inputs`: M lists of one `[B, T, H]`; output `[B, T, H]`, no attention
    fn forward(&self, inputs: &[Vec<Tensor>], attention_mask: &Tensor) -> Result<AggregateOutput> {
        self.0.forward(inputs, attention_mask)
    }

    fn output_size(&self) -> usize {
        self.0.hidden_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn mean_by_hand_and_padding_zeroed() {
        // B = 1, T = 2 (second position is padding), H = 2, M = 2.
        let a = Tensor::from_vec(vec![1.0f64, 2.0, 5.0, 5.0], (1, 2, 2), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(vec![3.0f64, 6.0, 7.0, 7.0], (1, 2, 2), &Device::Cpu).unwrap();
        let mask = Tensor::from_vec(vec![1u32, 0], (1, 2), &Device::Cpu).unwrap();
        let inputs = vec![vec![a], vec![b]];
        let fixed = MeanAggregator::new(2, 2, Compat::default());
        let out = fixed.forward(&inputs, &mask).unwrap().embeddings;
        assert_eq!(
            out.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            vec![2.0, 4.0, 0.0, 0.0]
        );
        let reference = MeanAggregator::new(2, 2, Compat::reference());
        let out = reference.forward(&inputs, &mask).unwrap().embeddings;
        assert_eq!(
            out.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            vec![2.0, 4.0, 6.0, 6.0]
        );
    }
}
