//! LEA, the Link-based Entity-Aware metric of
//! [Moosavi & Strube (2016)](https://aclanthology.org/P16-1060/).
//!
//! Recall = Σ_k |k| · resolution(k) / Σ_k |k| over key chains k, with
//! resolution(k) = Σ_r links(k ∩ r) / links(k), links(n) = n(n−1)/2; precision swaps key and response.
//! A singleton chain has one self-link, resolved when the other side also has that mention as a
//! singleton (the paper's handling of singletons, as in the LEA added to the reference scorer after
//! v8.01).
//!
//! LEA is not in the v8.01 release itself; it is computed on the same chains as the other metrics (after
//! the mention identification of [`identify_mentions`](super::identify_mentions)), so mentions outside
//! the key only lower precision and missing key mentions only lower recall. A mention's chain on the
//! other side is the last one holding it; sizes count repeats. Each chain adds
//! `(|k| · common) / links` in `f64`, in chain order.
use super::counts::Counts;
use super::mentions::{ChainTally, Chains, NONE};

/// LEA counts of one document.
pub fn lea(chains: &Chains) -> Counts {
    let (recall_num, recall_den) = side(&chains.key, &chains.response_chain_of, &chains.response);
    let (precision_num, precision_den) = side(&chains.response, &chains.key_chain_of, &chains.key);
    Counts::new(recall_num, recall_den, precision_num, precision_den)
}

/// Σ |c| · resolution(c) and Σ |c| for the chains of one side against the other side.
fn side(chains: &[Vec<u32>], other_chain_of: &[u32], other: &[Vec<u32>]) -> (f64, f64) {
    let mut num = 0.0f64;
    let mut den = 0.0f64;
    // The mentions of the current chain that the other side puts in each of its chains.
    let mut tally = ChainTally::new(other.len());
    for chain in chains {
        let size = chain.len() as u64;
        let (common, links) = if size == 1 {
            let other_idx = other_chain_of[chain[0] as usize];
            let resolved = other_idx != NONE && other[other_idx as usize].len() == 1;
            (resolved as u64, 1u64)
        } else {
            for &id in chain {
                let other_idx = other_chain_of[id as usize];
                if other_idx != NONE {
                    tally.add(other_idx);
                }
            }
            let mut common = 0u64;
            tally.drain(|_, n| common += n * (n - 1) / 2);
            (common, size * (size - 1) / 2)
        };
        num += (size * common) as f64 / links as f64;
        den += size as f64;
    }
    (num, den)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{assert_counts, letter_chains};
    use super::*;

    fn run(key: &[&str], response: &[&str]) -> Counts {
        lea(&letter_chains(key, response))
    }

    #[test]
    fn moosavi_strube_2016_example() {
        // Key {abc}{defg}, response {ab}{cd}{fgh} (their Figure/TC-L-1):
        // recall = (3·(1/3) + 4·(1/6)) / 7: {abc} keeps a–b of 3 links, {defg} keeps f–g of 6;
        // precision = (2·1 + 2·0 + 3·(1/3)) / 7: {ab} fully, {cd} no key link, {fgh} f–g of 3.
        assert_counts(
            run(&["abc", "defg"], &["ab", "cd", "fgh"]),
            Counts::new(1.0 + 4.0 / 6.0, 7.0, 3.0, 7.0),
        );
    }

    #[test]
    fn pradhan_2014_cases_with_singletons() {
        let key = ["a", "bc", "def"];
        // TC-A-1 perfect: 6/6, 6/6.
        assert_counts(run(&key, &key), Counts::new(6.0, 6.0, 6.0, 6.0));
        // TC-A-2 {a}{de}: recall 1 (singleton a) + 0 + 3·(1/3) = 2 of 6; precision 1 + 2·1 = 3 of 3.
        assert_counts(run(&key, &["a", "de"]), Counts::new(2.0, 6.0, 3.0, 3.0));
        // TC-A-3 {a}{bcx}{defy}{z}: recall 1 + 2 + 3 = 6 of 6; precision 1 + 3·(1/3) + 4·(3/6) + 0
        // = 4 of 9.
        assert_counts(
            run(&key, &["a", "bcx", "defy", "z"]),
            Counts::new(6.0, 6.0, 4.0, 9.0),
        );
        // TC-A-10 all singletons: recall 1 of 6 (only {a} is a key singleton); precision: {a} 1,
        // {b}..{f} are not key singletons → 1 of 6.
        assert_counts(
            run(&key, &["a", "b", "c", "d", "e", "f"]),
            Counts::new(1.0, 6.0, 1.0, 6.0),
        );
        // TC-A-11 one cluster: recall 0 + 2 + 3 = 5 of 6; precision 6·(1 + 3)/15 = 1.6 of 6.
        assert_counts(run(&key, &["abcdef"]), Counts::new(5.0, 6.0, 1.6, 6.0));
        // TC-A-12 {a}{x}{y}{c}{d}{e}{z}: recall 1 of 6; precision 1 of 7.
        assert_counts(
            run(&key, &["a", "x", "y", "c", "d", "e", "z"]),
            Counts::new(1.0, 6.0, 1.0, 7.0),
        );
        // TC-N-3: key all singletons, response {ab}{cde}{f}: recall 1 (f) of 6, precision 1 of 6.
        assert_counts(
            run(&["a", "b", "c", "d", "e", "f"], &["ab", "cde", "f"]),
            Counts::new(1.0, 6.0, 1.0, 6.0),
        );
        // TC-M-3: key {abcdef}, response {ab}{cde}{f}: recall 6·(1 + 3)/15 = 1.6 of 6;
        // precision 2 + 3 + 0 = 5 of 6.
        assert_counts(
            run(&["abcdef"], &["ab", "cde", "f"]),
            Counts::new(1.6, 6.0, 5.0, 6.0),
        );
    }

    #[test]
    fn merges_of_bagga_baldwin() {
        // TC-E-1: key {abcde}{fg}{hijkl}, response {abcdehijkl}{fg}: recall 12 of 12;
        // precision 10·(10 + 10)/45 + 2 = 58/9 of 12.
        assert_counts(
            run(&["abcde", "fg", "hijkl"], &["abcdehijkl", "fg"]),
            Counts::new(12.0, 12.0, 200.0 / 45.0 + 2.0, 12.0),
        );
    }
}
