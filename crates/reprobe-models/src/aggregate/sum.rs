//! The sum over encoders (SPEC §2.3, `aggregate_sum`): `stack(e, -1).sum(-1)`.
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::reduce::{Reduce, Reduction};
use super::{AggregateOutput, Aggregator, Compat};
use crate::Result;

/// `kind = "sum"`: no options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumConfig {}

/// The element-wise sum of the encoders' last hidden states; no parameters.
#[derive(Debug, Clone)]
pub struct SumAggregator(Reduce);

impl SumAggregator {
    /// The sum of `models` encoders of width `hidden_size`.
    pub fn new(models: usize, hidden_size: usize, compat: Compat) -> Self {
        SumAggregator(Reduce {
            reduction: Reduction::Sum,
            models,
            hidden_size,
            compat,
        })
    }
}

impl Aggregator for SumAggregator {
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
    fn sum_by_hand() {
        let a = Tensor::from_vec(vec![1.0f64, 2.0, 5.0, 5.0], (1, 2, 2), &Device::Cpu).unwrap();
        let b = Tensor::from_vec(vec![3.0f64, 6.0, 7.0, 7.0], (1, 2, 2), &Device::Cpu).unwrap();
        let c = Tensor::from_vec(vec![-1.0f64, 0.5, 0.0, 1.0], (1, 2, 2), &Device::Cpu).unwrap();
        let mask = Tensor::from_vec(vec![1u32, 1], (1, 2), &Device::Cpu).unwrap();
        let agg = SumAggregator::new(3, 2, Compat::default());
        let out = agg
            .forward(&[vec![a], vec![b], vec![c]], &mask)
            .unwrap()
            .embeddings;
        assert_eq!(
            out.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            vec![3.0, 8.5, 12.0, 13.0]
        );
        assert_eq!(agg.output_size(), 2);
    }
}
