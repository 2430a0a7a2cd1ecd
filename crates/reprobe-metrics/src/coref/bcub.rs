//! B³ (B-cubed), the mention-based metric of Bagga & Baldwin (1998), "Algorithms for scoring
//! coreference chains", LREC workshop on linguistic coreference.
//!
//! For every response mention m with response chain r and key chain k:
//! precision adds |r ∩ k| / |r| and recall adds |r ∩ k| / |k|; the denominators are the number of
//! response and key mentions. As in the reference (`BCUBED` of v8.01, which sums over **response**
//! mentions only, Pradhan et al. 2014):
//! - a response mention outside the key has k = ∅ and adds 0 to precision (it still counts in the
//!   precision denominator) and nothing to recall;
//! - a key mention missing from the response adds nothing to recall (it counts in the denominator);
//! - k is the last key chain holding m; |r ∩ k| counts the mentions of r (with their repeats) that
//!   occur in k; sizes count repeats.
//!
//! The sums are accumulated in the reference's order (response chains, then their mentions), so the
//! totals equal the reference's to the last printed digit.
use super::counts::Counts;
use super::mentions::{ChainTally, Chains, Membership, NONE};

/// B³ counts of one document.
pub fn bcub(chains: &Chains) -> Counts {
    let key_member = Membership::key(chains);
    // The number of mentions of the current response chain that occur in each key chain.
    let mut overlap = ChainTally::new(chains.key.len());
    let mut acc_precision = 0.0f64;
    let mut acc_recall = 0.0f64;
    for chain in &chains.response {
        for &id in chain {
            key_member.for_each_chain(id, |c| overlap.add(c));
        }
        let resp_size = chain.len() as f64;
        for &id in chain {
            let key_idx = chains.key_chain_of[id as usize];
            if key_idx == NONE {
                // k = ∅: the reference adds 0 / |r| to precision, a no-op on the sum.
                continue;
            }
            let common = overlap.get(key_idx) as f64;
            let key_size = chains.key[key_idx as usize].len() as f64;
            acc_precision += common / resp_size;
            acc_recall += common / key_size;
        }
        overlap.clear();
    }
    let key_mentions: usize = chains.key.iter().map(Vec::len).sum();
    let response_mentions: usize = chains.response.iter().map(Vec::len).sum();
    Counts::new(
        acc_recall,
        key_mentions as f64,
        acc_precision,
        response_mentions as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::super::mentions::identify_mentions;
    use super::super::test_util::{assert_counts, letter_chains};
    use super::*;

    fn run(key: &[&str], response: &[&str]) -> Counts {
        bcub(&letter_chains(key, response))
    }

    #[test]
    fn pradhan_2014_cases() {
        let key = ["a", "bc", "def"];
        // TC-A-1 perfect: 6/6, 6/6.
        assert_counts(run(&key, &key), Counts::new(6.0, 6.0, 6.0, 6.0));
        // TC-A-2 {a}{de}: recall a:1 + d,e: 2/3 each = 7/3 of 6 (7/18); precision 1 + 1 + 1 = 3/3.
        assert_counts(
            run(&key, &["a", "de"]),
            Counts::new(7.0 / 3.0, 6.0, 3.0, 3.0),
        );
        // TC-A-3 {a}{bcx}{defy}{z}: recall 1 + 2·(2/2) + 3·(3/3) = 6/6;
        // precision 1 + 2·(2/3) + 3·(3/4) = 1 + 4/3 + 9/4 = 55/12 of 9 (55/108).
        assert_counts(
            run(&key, &["a", "bcx", "defy", "z"]),
            Counts::new(6.0, 6.0, 55.0 / 12.0, 9.0),
        );
        // TC-A-4 {a}{bcx}{dy}{z}: recall 1 + 2·1 + 1/3 = 10/3 of 6 (5/9);
        // precision 1 + 2·(2/3) + 1/2 = 17/6 of 7 (17/42).
        assert_counts(
            run(&key, &["a", "bcx", "dy", "z"]),
            Counts::new(10.0 / 3.0, 6.0, 17.0 / 6.0, 7.0),
        );
        // TC-A-10 all singletons: recall 1 + 2·(1/2) + 3·(1/3) = 3 of 6; precision 6/6.
        assert_counts(
            run(&key, &["a", "b", "c", "d", "e", "f"]),
            Counts::new(3.0, 6.0, 6.0, 6.0),
        );
        // TC-A-11 one cluster {abcdef}: recall 6/6; precision 1/6 + 2·(2/6) + 3·(3/6) = 14/6 of 6 (7/18).
        assert_counts(
            run(&key, &["abcdef"]),
            Counts::new(6.0, 6.0, 14.0 / 6.0, 6.0),
        );
        // TC-A-13 {axycdez}: recall a: 1 + c: 1/2 + d,e: 2·(2/3) = 17/6 of 6 (17/36);
        // precision a: 1/7 + c: 1/7 + d,e: 2·(2/7) = 6/7 of 7 (6/49).
        assert_counts(
            run(&key, &["axycdez"]),
            Counts::new(17.0 / 6.0, 6.0, 6.0 / 7.0, 7.0),
        );
    }

    #[test]
    fn bagga_baldwin_merges() {
        // TC-D-1: key {12345}{67}{89ABC}, response {12345}{6789ABC}: recall 12/12;
        // precision 5 + 2·(2/7) + 5·(5/7) = 5 + 29/7 = 64/7 of 12 (16/21).
        let key = ["abcde", "fg", "hijkl"];
        assert_counts(
            run(&key, &["abcde", "fghijkl"]),
            Counts::new(12.0, 12.0, 64.0 / 7.0, 12.0),
        );
        // TC-E-1: response {1234589ABC}{67}: precision 10·(5/10) + 2 = 7 of 12 (7/12).
        assert_counts(
            run(&key, &["abcdehijkl", "fg"]),
            Counts::new(12.0, 12.0, 7.0, 12.0),
        );
    }

    #[test]
    fn repeated_key_span_counts_membership() {
        // Key {a s} {s b} (s repeated), response {a s} {b}: s's key chain is the second one.
        // Response {a s}: a → k0 = {a s}: |r ∩ k0| = 2 → P 2/2, R 2/2; s → k1 = {s b}: |r ∩ k1| = 1
        // → P 1/2, R 1/2. Response {b} → k1: |{b} ∩ k1| = 1 → P 1, R 1/2.
        // Recall num 1 + 1/2 + 1/2 = 2 of 4 key mentions; precision 1 + 1/2 + 1 = 5/2 of 3.
        let s = (7, 8);
        let key = vec![vec![(0, 0), s], vec![s, (1, 1)]];
        let response = vec![vec![(0, 0), s], vec![(1, 1)]];
        let chains = identify_mentions(&key, &response).chains;
        assert_counts(bcub(&chains), Counts::new(2.0, 4.0, 2.5, 3.0));
    }
}
