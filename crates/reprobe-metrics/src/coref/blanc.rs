//! BLANC, the BiLateral Assessment of Noun-phrase Coreference of Recasens & Hovy (2011), "BLANC:
//! Implementing the Rand index for coreference evaluation", Natural Language Engineering 17(4), in the
//! form extended to predicted mentions by [Luo et al. (2014)](https://aclanthology.org/P14-2005/).
//!
//! A chain of n mentions gives n(n−1)/2 coreference links; two mentions in different chains give a
//! non-coreference link. For each kind, recall = |key links ∩ response links| / |key links| and
//! precision = |key links ∩ response links| / |response links|; links are unordered pairs of mentions,
//! so mentions outside the key or missing from the response simply make links that cannot match.
//! [`BlancCounts::scores`](super::BlancCounts::scores) turns the summed counts into BLANC.
//!
//! As in the reference (`BLANC_Internal` of v8.01), links are **sets** of mention pairs per side:
//! - a span the key repeats inside one chain links with itself (a coreference link {x, x}); a span held
//!   by two chains makes the non-coreference link {x, x}, and a pair may be both a coreference and a
//!   non-coreference link;
//! - the same holds for the response, where only mentions outside the key can repeat.
//!
//! # Computation
//!
//! The reference enumerates every pair (quadratic in the mentions of a document). Here the pairs of
//! mentions that occur at most once on each side are counted in closed form from the chain sizes and
//! the key/response overlap counts n_ij (inclusion–exclusion for the non-coreference intersection);
//! only the pairs that involve a repeated mention are enumerated one by one.
use std::collections::HashMap;

use super::counts::{BlancCounts, Counts};
use super::mentions::{Chains, Membership, NONE};

/// BLANC counts of one document.
pub fn blanc(chains: &Chains) -> BlancCounts {
    let key = Membership::key(chains);
    let response = Membership::response(chains);
    let mut special: Vec<u32> = key
        .ids_in_several_chains()
        .into_iter()
        .chain(key.ids_repeated_within().iter().copied())
        .chain(response.ids_in_several_chains())
        .chain(response.ids_repeated_within().iter().copied())
        .collect();
    special.sort_unstable();
    special.dedup();
    let is_special = |id: u32| special.binary_search(&id).is_ok();

    let mut links = LinkCounts::default();

    // Closed form over the ids that occur at most once on each side.
    let mut key_sizes = vec![0u64; chains.key.len()];
    let mut response_sizes = vec![0u64; chains.response.len()];
    let mut key_shared = vec![0u64; chains.key.len()];
    let mut response_shared = vec![0u64; chains.response.len()];
    let mut overlap: HashMap<(u32, u32), u64> = HashMap::new();
    let mut num_shared = 0u64;
    for id in 0..chains.num_ids as u32 {
        if is_special(id) {
            continue;
        }
        let k = chains.key_chain_of[id as usize];
        let r = chains.response_chain_of[id as usize];
        if k != NONE {
            key_sizes[k as usize] += 1;
        }
        if r != NONE {
            response_sizes[r as usize] += 1;
        }
        if k != NONE && r != NONE {
            num_shared += 1;
            key_shared[k as usize] += 1;
            response_shared[r as usize] += 1;
            *overlap.entry((k, r)).or_insert(0) += 1;
        }
    }
    let key_coref = sum_pairs(&key_sizes);
    let response_coref = sum_pairs(&response_sizes);
    let both_coref: u64 = overlap.values().map(|&n| pairs(n)).sum();
    links.key_coref += key_coref;
    links.key_non_coref += pairs(key_sizes.iter().sum()) - key_coref;
    links.response_coref += response_coref;
    links.response_non_coref += pairs(response_sizes.iter().sum()) - response_coref;
    links.both_coref += both_coref;
    // Shared pairs in different key chains and different response chains.
    links.both_non_coref +=
        pairs(num_shared) + both_coref - sum_pairs(&key_shared) - sum_pairs(&response_shared);

    // Pairs that involve a repeated id, one by one.
    if !special.is_empty() {
        let key_chains: Vec<Vec<u32>> = (0..chains.num_ids as u32)
            .map(|id| key.chains(id))
            .collect();
        let response_chains: Vec<Vec<u32>> = (0..chains.num_ids as u32)
            .map(|id| response.chains(id))
            .collect();
        for &x in &special {
            let self_pair = PairKind {
                key_coref: key.is_repeated_within(x),
                key_non_coref: key_chains[x as usize].len() >= 2,
                response_coref: response.is_repeated_within(x),
                response_non_coref: response_chains[x as usize].len() >= 2,
            };
            links.add(self_pair);
            for y in 0..chains.num_ids as u32 {
                if y == x || (is_special(y) && y < x) {
                    continue;
                }
                let (key_coref, key_non_coref) =
                    pair_links(&key_chains[x as usize], &key_chains[y as usize]);
                let (response_coref, response_non_coref) =
                    pair_links(&response_chains[x as usize], &response_chains[y as usize]);
                links.add(PairKind {
                    key_coref,
                    key_non_coref,
                    response_coref,
                    response_non_coref,
                });
            }
        }
    }

    BlancCounts {
        coref: Counts::new(
            links.both_coref as f64,
            links.key_coref as f64,
            links.both_coref as f64,
            links.response_coref as f64,
        ),
        non_coref: Counts::new(
            links.both_non_coref as f64,
            links.key_non_coref as f64,
            links.both_non_coref as f64,
            links.response_non_coref as f64,
        ),
    }
}

/// Link counts of one document.
#[derive(Debug, Default)]
struct LinkCounts {
    key_coref: u64,
    key_non_coref: u64,
    response_coref: u64,
    response_non_coref: u64,
    both_coref: u64,
    both_non_coref: u64,
}

/// Which link sets one pair belongs to.
#[derive(Debug, Clone, Copy)]
struct PairKind {
    key_coref: bool,
    key_non_coref: bool,
    response_coref: bool,
    response_non_coref: bool,
}

impl LinkCounts {
    fn add(&mut self, pair: PairKind) {
        self.key_coref += pair.key_coref as u64;
        self.key_non_coref += pair.key_non_coref as u64;
        self.response_coref += pair.response_coref as u64;
        self.response_non_coref += pair.response_non_coref as u64;
        self.both_coref += (pair.key_coref && pair.response_coref) as u64;
        self.both_non_coref += (pair.key_non_coref && pair.response_non_coref) as u64;
    }
}

/// (coreference link, non-coreference link) for two distinct ids held by the chains `a` and `b` of
/// one side: coreferent when some chain holds both, non-coreferent when two different chains hold them.
fn pair_links(a: &[u32], b: &[u32]) -> (bool, bool) {
    if a.is_empty() || b.is_empty() {
        return (false, false);
    }
    let coref = a.iter().any(|c| b.contains(c));
    let non_coref = a.iter().any(|ca| b.iter().any(|cb| ca != cb));
    (coref, non_coref)
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn sum_pairs(sizes: &[u64]) -> u64 {
    sizes.iter().map(|&n| pairs(n)).sum()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::mentions::identify_mentions;
    use super::super::test_util::{letter_chains, spans};
    use super::*;

    fn run(key: &[&str], response: &[&str]) -> BlancCounts {
        blanc(&letter_chains(key, response))
    }

    fn blanc_counts(c: [u64; 6]) -> BlancCounts {
        // [correct coref, key coref, response coref, correct non-coref, key non-coref, response non-coref]
        let f = |x: u64| x as f64;
        BlancCounts {
            coref: Counts::new(f(c[0]), f(c[1]), f(c[0]), f(c[2])),
            non_coref: Counts::new(f(c[3]), f(c[4]), f(c[3]), f(c[5])),
        }
    }

    type Links = HashSet<(u32, u32)>;

    /// The reference's enumeration: explicit sets of sorted id pairs per side.
    fn brute_force(chains: &Chains) -> BlancCounts {
        fn links(chains: &[Vec<u32>]) -> (Links, Links) {
            let sorted = |a: u32, b: u32| (a.min(b), a.max(b));
            let mut coref = HashSet::new();
            let mut non_coref = HashSet::new();
            for (i, ci) in chains.iter().enumerate() {
                for p in 0..ci.len() {
                    for q in p + 1..ci.len() {
                        coref.insert(sorted(ci[p], ci[q]));
                    }
                }
                for cj in &chains[i + 1..] {
                    for &a in ci {
                        for &b in cj {
                            non_coref.insert(sorted(a, b));
                        }
                    }
                }
            }
            (coref, non_coref)
        }
        let (kc, kn) = links(&chains.key);
        let (rc, rn) = links(&chains.response);
        let common =
            |a: &HashSet<(u32, u32)>, b: &HashSet<(u32, u32)>| a.intersection(b).count() as u64;
        blanc_counts([
            common(&kc, &rc),
            kc.len() as u64,
            rc.len() as u64,
            common(&kn, &rn),
            kn.len() as u64,
            rn.len() as u64,
        ])
    }

    #[test]
    fn pradhan_2014_cases() {
        let key = ["a", "bc", "def"];
        // TC-A-1: key links: coref 1 + 3 = 4, non-coref 6·5/2 − 4 = 11.
        assert_eq!(run(&key, &key), blanc_counts([4, 4, 4, 11, 11, 11]));
        // TC-A-2 {a}{de}: response coref {de}; non-coref {ad, ae}; both in the key.
        assert_eq!(run(&key, &["a", "de"]), blanc_counts([1, 4, 1, 2, 11, 2]));
        // TC-A-3 {a}{bcx}{defy}{z}: response coref 3 + 6 = 9, all 4 key links found;
        // non-coref C(9,2) − 9 = 27, all 11 key links found.
        assert_eq!(
            run(&key, &["a", "bcx", "defy", "z"]),
            blanc_counts([4, 4, 9, 11, 11, 27])
        );
        // TC-A-4 {a}{bcx}{dy}{z}: coref: bc, bx, cx, dy → 4, correct bc; non-coref C(7,2) − 4 = 17,
        // correct: a–b a–c a–d b–d c–d = 5.
        assert_eq!(
            run(&key, &["a", "bcx", "dy", "z"]),
            blanc_counts([1, 4, 4, 5, 11, 17])
        );
        // TC-A-10 singletons: no response coref link; non-coref 15, 11 correct.
        assert_eq!(
            run(&key, &["a", "b", "c", "d", "e", "f"]),
            blanc_counts([0, 4, 0, 11, 11, 15])
        );
        // TC-A-11 one cluster: coref 15 with 4 correct; no response non-coref link.
        assert_eq!(run(&key, &["abcdef"]), blanc_counts([4, 4, 15, 0, 11, 0]));
        // TC-A-12 {a}{x}{y}{c}{d}{e}{z}: non-coref C(7,2) = 21, correct a–c a–d a–e c–d c–e = 5.
        assert_eq!(
            run(&key, &["a", "x", "y", "c", "d", "e", "z"]),
            blanc_counts([0, 4, 0, 5, 11, 21])
        );
        // TC-A-13 {axycdez}: coref 21, correct d–e; no response non-coref link.
        assert_eq!(run(&key, &["axycdez"]), blanc_counts([1, 4, 21, 0, 11, 0]));
        // TC-B-1: key {ab}{cde}, response {bcx}{de}: coref correct de of 4 / 4;
        // non-coref correct bd, be of 6 / 6.
        assert_eq!(
            run(&["ab", "cde"], &["bcx", "de"]),
            blanc_counts([1, 4, 4, 2, 6, 6])
        );
        // TC-C-1: plus {fg} on both sides: coref 2 of 5 / 5, non-coref 10 of 16 / 16.
        assert_eq!(
            run(&["ab", "cde", "fg"], &["bcx", "de", "fg"]),
            blanc_counts([2, 5, 5, 10, 16, 16])
        );
    }

    #[test]
    fn repeated_spans_follow_the_reference_sets() {
        // Key {a a b} ... expressed with one span twice in a chain and one span in two chains:
        // key {s s c} {d t} {t e}, response {s c} {d t} {e} (the reference's second copies removed).
        let s = (10, 11);
        let t = (20, 22);
        let key = vec![vec![s, s, (2, 2)], vec![(3, 3), t], vec![t, (4, 4)]];
        let response = vec![vec![s, (2, 2)], vec![(3, 3), t], vec![t, (4, 4)]];
        let chains = identify_mentions(&key, &response).chains;
        // Ids: s 0, c 1, d 2, t 3, e 4. Key coref: {0,0} {0,1} {2,3} {3,4} = 4; key non-coref:
        // chain 0 × 1: 0–2 0–3 1–2 1–3; 0 × 2: 0–3 0–4 1–3 1–4; 1 × 2: 2–3 2–4 3–3 3–4
        // → {02 03 12 13 04 14 23 24 33 34} = 10. Response {0 1} {2 3} {4}: coref 01 23 (both correct);
        // non-coref 02 03 12 13 04 14 24 34 = 8, all in the key set.
        assert_eq!(blanc(&chains), blanc_counts([2, 4, 2, 8, 10, 8]));
        assert_eq!(blanc(&chains), brute_force(&chains));
    }

    #[test]
    fn twinless_repeats_in_the_response() {
        // Key {a b}; response {a x} {x b} {x}: x is outside the key and is never deduplicated.
        let key = spans(&["ab"]);
        let response = spans(&["ax", "xb", "x"]);
        let chains = identify_mentions(&key, &response).chains;
        assert_eq!(blanc(&chains), brute_force(&chains));
        // Response coref {a x} {x b}; non-coref a–x a–b x–x x–b → correct a–b? a–b is a key
        // coref link, so no correct non-coref link; key non-coref links: none.
        assert_eq!(blanc(&chains), blanc_counts([0, 1, 2, 0, 0, 4]));
    }

    #[test]
    fn closed_form_equals_enumeration_on_random_documents() {
        // Deterministic pseudo-random documents with repeats on both sides (xorshift64).
        struct Rng(u64);
        impl Rng {
            fn below(&mut self, n: u64) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 % n
            }
            fn clusters(&mut self, count: u64, num_words: u64) -> Vec<Vec<(u32, u32)>> {
                (0..count)
                    .map(|_| {
                        let size = 1 + self.below(4);
                        (0..size)
                            .map(|_| {
                                let w = self.below(num_words) as u32;
                                (w, w + self.below(2) as u32)
                            })
                            .collect()
                    })
                    .collect()
            }
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..300 {
            let num_words = 2 + rng.below(14);
            let num_key = 1 + rng.below(4);
            let key = rng.clusters(num_key, num_words);
            let num_response = rng.below(5);
            let response = rng.clusters(num_response, num_words);
            let chains = identify_mentions(&key, &response).chains;
            assert_eq!(blanc(&chains), brute_force(&chains), "{key:?} {response:?}");
        }
    }
}
