//! MUC, the link-based metric of [Vilain et al. (1995)](https://aclanthology.org/M95-1005/).
//!
//! Recall = Σ_k (|k| − |p(k)|) / Σ_k (|k| − 1) over key chains k, where p(k) partitions k by the response;
//! precision swaps key and response. The reference computes the common numerator from the response
//! side (`MUCScorer` of v8.01): for every response chain, every mention that has a **later** mention in
//! the same chain belonging to the same key chain adds one correct link. "Same key chain" uses the last
//! key chain that holds the mention, which matters only for a span the key repeats across chains.
//! Denominators count chain sizes as listed, so a repeated key span counts in both of its chains.
//! Mentions outside the key never form correct links; singletons add no link on either side.
use super::counts::Counts;
use super::mentions::{Chains, NONE};

/// MUC counts of one document.
pub fn muc(chains: &Chains) -> Counts {
    let num_key_chains = chains.key.len();
    // seen[c] == stamp when key chain c already occurred in the current response chain.
    let mut seen = vec![usize::MAX; num_key_chains];
    let mut correct = 0usize;
    for (resp_idx, chain) in chains.response.iter().enumerate() {
        // Mentions with a key chain, minus the distinct key chains among them, equals the number of
        // mentions followed later in the chain by a mention of the same key chain.
        for &id in chain {
            let key_idx = chains.key_chain_of[id as usize];
            if key_idx == NONE {
                continue;
            }
            let slot = &mut seen[key_idx as usize];
            if *slot == resp_idx {
                correct += 1;
            } else {
                *slot = resp_idx;
            }
        }
    }
    let key_links: usize = chains.key.iter().map(|c| c.len().saturating_sub(1)).sum();
    let response_links: usize = chains
        .response
        .iter()
        .map(|c| c.len().saturating_sub(1))
        .sum();
    Counts::new(
        correct as f64,
        key_links as f64,
        correct as f64,
        response_links as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::super::mentions::identify_mentions;
    use super::*;

    fn run(key: &[Vec<u32>], response: &[Vec<u32>]) -> Counts {
        // One-word spans (w, w) named by their word index.
        let to_spans = |cs: &[Vec<u32>]| -> Vec<Vec<(u32, u32)>> {
            cs.iter()
                .map(|c| c.iter().map(|&w| (w, w)).collect())
                .collect()
        };
        muc(&identify_mentions(&to_spans(key), &to_spans(response)).chains)
    }

    #[test]
    fn vilain_examples() {
        // TC-F-1 (MUC paper): key {ABCD}, response {AB}{CD}: correct links 2, key links 3,
        // response links 2 → R = 2/3, P = 2/2.
        assert_eq!(
            run(&[vec![0, 1, 2, 3]], &[vec![0, 1], vec![2, 3]]),
            Counts::new(2.0, 3.0, 2.0, 2.0)
        );
        // TC-G-1: key {AB}{CD}, response {ABCD}: R = 2/2, P = 2/3.
        assert_eq!(
            run(&[vec![0, 1], vec![2, 3]], &[vec![0, 1, 2, 3]]),
            Counts::new(2.0, 2.0, 2.0, 3.0)
        );
        // TC-K-1: key {BCDEGHJ}, response {ABC}{DEF}{GHI}: each response chain has 2 key mentions
        // → 1 correct link each; key links 6, response links 6 → R = P = 3/6.
        assert_eq!(
            run(
                &[vec![1, 2, 3, 4, 6, 7, 9]],
                &[vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8]]
            ),
            Counts::new(3.0, 6.0, 3.0, 6.0)
        );
        // TC-L-1: key {ABC}{DEFG}, response {AB}{CD}{FGH}: correct = 1 (AB) + 0 (C, D differ) + 1 (FG);
        // key links 2 + 3 = 5; response links 1 + 1 + 2 = 4.
        assert_eq!(
            run(
                &[vec![0, 1, 2], vec![3, 4, 5, 6]],
                &[vec![0, 1], vec![2, 3], vec![5, 6, 7]]
            ),
            Counts::new(2.0, 5.0, 2.0, 4.0)
        );
    }

    #[test]
    fn singletons_have_no_links() {
        // Key {a}{bc}{def}, response all singletons: 0 correct, 3 key links, 0 response links.
        let key = [vec![0], vec![1, 2], vec![3, 4, 5]];
        let singletons: Vec<Vec<u32>> = (0..6).map(|w| vec![w]).collect();
        assert_eq!(run(&key, &singletons), Counts::new(0.0, 3.0, 0.0, 0.0));
        // One big cluster {abcdef}: correct = 6 key mentions − 3 key chains = 3; response links 5.
        assert_eq!(
            run(&key, &[vec![0, 1, 2, 3, 4, 5]]),
            Counts::new(3.0, 3.0, 3.0, 5.0)
        );
    }

    #[test]
    fn repeated_key_span_uses_its_last_chain() {
        // Key {a s b} {s c}, response = key. The response copy of s in the second chain is removed,
        // leaving response chains {a s b} {c}. s belongs to the last key chain holding it (the second),
        // so {a s b} has one correct link (a-b) and {c} none. Key links 2 + 1 = 3, response 2 + 0 = 2.
        let key = vec![vec![(0, 0), (5, 6), (8, 8)], vec![(5, 6), (9, 9)]];
        let chains = identify_mentions(&key, &key).chains;
        assert_eq!(muc(&chains), Counts::new(1.0, 3.0, 1.0, 2.0));
    }
}
