//! Batches of short examples for the sentence-level tasks: shuffled each epoch by the run's seed, padded
//! to the longest row of a batch (see [`crate::train::backbone::Backbone::encode_rows`]).
//!
//! With every encoder frozen and the feature cache on, the features of a batch are cached under the
//! content of the whole batch, so a batch must hold the same examples every epoch to be found again: the
//! examples are then grouped once (a shuffle seeded by the run's seed) and only the order of the groups
//! is shuffled each epoch. With a tuned encoder the examples are reshuffled every epoch.
use anyhow::Result;
use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::train::backbone::Backbone;

/// How a sentence-level task groups its examples.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Examples per step.
    pub size: usize,
    /// `Some(seed)`: fixed groups (cached frozen features), drawn once from this seed.
    pub fixed_groups: Option<u64>,
}

impl Batching {
    /// The batching of a run: fixed groups exactly when every encoder is frozen and the cache is on.
    pub fn of(backbone: &Backbone, size: usize, seed: u64) -> Self {
        let all_frozen = backbone.params.with_prefix("encoders.").is_empty();
        let cached = backbone.stack.cache().is_some();
        Batching {
            size,
            fixed_groups: (all_frozen && cached).then_some(seed),
        }
    }

    /// Whether batches are looked up in the feature cache.
    pub fn cached(&self) -> bool {
        self.fixed_groups.is_some()
    }

    /// The batches of one epoch of `n` examples.
    pub fn epoch(&self, n: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..n).collect();
        match self.fixed_groups {
            None => {
                order.shuffle(rng);
                order
                    .chunks(self.size.max(1))
                    .map(<[usize]>::to_vec)
                    .collect()
            }
            Some(seed) => {
                order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                let mut groups: Vec<Vec<usize>> = order
                    .chunks(self.size.max(1))
                    .map(<[usize]>::to_vec)
                    .collect();
                groups.shuffle(rng);
                groups
            }
        }
    }

    /// The batches of an evaluation: consecutive examples, in order.
    pub fn in_order(&self, n: usize) -> Vec<std::ops::Range<usize>> {
        let size = self.size.max(1);
        (0..n.div_ceil(size))
            .map(|b| b * size..((b + 1) * size).min(n))
            .collect()
    }

    /// Runs `forward` (logits and, with gold, the loss of a batch) over consecutive batches of `examples`
    /// without dropout and hands each batch's logits to `each`; returns the mean loss over batches (0 without
    /// gold).
    pub fn evaluate<'a, E>(
        &self,
        examples: &'a [E],
        mut forward: impl FnMut(&[&'a E]) -> Result<(Tensor, Option<Tensor>)>,
        mut each: impl FnMut(&[&'a E], Tensor) -> Result<()>,
    ) -> Result<f64> {
        let ranges = self.in_order(examples.len());
        let mut loss_sum = 0.0;
        for range in &ranges {
            let batch: Vec<&E> = examples[range.clone()].iter().collect();
            let (logits, loss) = forward(&batch)?;
            if let Some(loss) = loss {
                loss_sum += loss.to_scalar::<f32>()? as f64;
            }
            each(&batch, logits)?;
        }
        Ok(loss_sum / ranges.len().max(1) as f64)
    }

    /// The cache key argument of a batch (`None` keeps it out of the cache).
    pub fn cache_key(&self) -> Option<&'static str> {
        self.cached().then_some("batch")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batching(fixed: Option<u64>) -> Batching {
        Batching {
            size: 3,
            fixed_groups: fixed,
        }
    }

    #[test]
    fn every_example_is_in_one_batch_of_at_most_size() {
        for fixed in [None, Some(7)] {
            let batches = batching(fixed).epoch(10, &mut ChaCha8Rng::seed_from_u64(1));
            let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
            all.sort();
            assert_eq!(all, (0..10).collect::<Vec<_>>());
            assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 3));
        }
    }

    #[test]
    fn fixed_groups_keep_their_members_across_epochs() {
        let b = batching(Some(7));
        let sorted = |mut v: Vec<Vec<usize>>| {
            v.iter_mut().for_each(|g| g.sort());
            v.sort();
            v
        };
        let e1 = b.epoch(10, &mut ChaCha8Rng::seed_from_u64(1));
        let e2 = b.epoch(10, &mut ChaCha8Rng::seed_from_u64(2));
        assert_ne!(e1, e2, "the order of the groups changes");
        assert_eq!(sorted(e1), sorted(e2), "their members do not");
        let free = batching(None);
        let f1 = free.epoch(10, &mut ChaCha8Rng::seed_from_u64(1));
        let f2 = free.epoch(10, &mut ChaCha8Rng::seed_from_u64(2));
        assert_ne!(
            sorted(f1),
            sorted(f2),
            "without fixed groups the members change"
        );
    }

    #[test]
    fn evaluation_batches_cover_in_order() {
        assert_eq!(batching(None).in_order(7), vec![0..3, 3..6, 6..7]);
        assert!(batching(None).in_order(0).is_empty());
    }
}
