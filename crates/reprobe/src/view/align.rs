//! Display ids of predicted clusters that line up with the key's: a predicted cluster gets the id of the
//! key cluster it shares most mentions with, so that one entity has one number and one colour on both
//! sides of the page.
use std::collections::HashSet;

use reprobe_corpus::{Cluster, Span};

/// The display id of every predicted cluster.
///
/// Key cluster `j` is shown as `j`. Pairs (predicted cluster, key cluster) are taken greedily by the
/// number of mentions they share (most first; ties to the earlier key cluster, then the earlier predicted
/// cluster), each cluster in at most one pair; a paired predicted cluster takes its key cluster's id,
/// the others take `key.len()`, `key.len() + 1`, ... in their order. Without a key (`key` empty) the
/// ids are `0, 1, ...`.
pub fn predicted_ids(key: &[Cluster], predicted: &[Cluster]) -> Vec<usize> {
    let key_sets: Vec<HashSet<Span>> = key.iter().map(|c| c.iter().copied().collect()).collect();
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new(); // (shared mentions, key, predicted)
    for (p, cluster) in predicted.iter().enumerate() {
        let spans: HashSet<Span> = cluster.iter().copied().collect();
        for (k, key_set) in key_sets.iter().enumerate() {
            let shared = spans.intersection(key_set).count();
            if shared > 0 {
                pairs.push((shared, k, p));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut ids: Vec<Option<usize>> = vec![None; predicted.len()];
    let mut key_taken = vec![false; key.len()];
    for (_, k, p) in pairs {
        if ids[p].is_none() && !key_taken[k] {
            ids[p] = Some(k);
            key_taken[k] = true;
        }
    }
    let mut next = key.len();
    ids.into_iter()
        .map(|id| {
            id.unwrap_or_else(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusters(spans: &[&[(usize, usize)]]) -> Vec<Cluster> {
        spans
            .iter()
            .map(|c| c.iter().map(|&(s, e)| Span::new(s, e)).collect())
            .collect()
    }

    #[test]
    fn without_a_key_ids_count_up() {
        let predicted = clusters(&[&[(0, 0)], &[(1, 1)], &[(2, 2)]]);
        assert_eq!(predicted_ids(&[], &predicted), vec![0, 1, 2]);
    }

    #[test]
    fn the_larger_overlap_wins_and_the_rest_get_new_ids() {
        // Key 0 = {0, 1, 2, 3}, key 1 = {5, 6}. Predicted 0 = {0, 1} (2 shared with key 0),
        // predicted 1 = {2, 3, 5} (2 shared with key 0, 1 with key 1), predicted 2 = {9}.
        // Ties on key 0 go to the earlier predicted cluster; predicted 1 then takes key 1.
        let key = clusters(&[&[(0, 0), (1, 1), (2, 2), (3, 3)], &[(5, 5), (6, 6)]]);
        let predicted = clusters(&[&[(0, 0), (1, 1)], &[(2, 2), (3, 3), (5, 5)], &[(9, 9)]]);
        assert_eq!(predicted_ids(&key, &predicted), vec![0, 1, 2]);
        // A split: two predicted pieces of key 0, the smaller one gets a new id.
        let predicted = clusters(&[&[(0, 0)], &[(1, 1), (2, 2), (3, 3)]]);
        assert_eq!(predicted_ids(&key, &predicted), vec![2, 0]);
    }
}
