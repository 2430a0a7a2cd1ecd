//! Mention identification: the reference scorer's `IdentifMentions`, which turns the key and response
//! clusters of one document into chains of integer mention ids and removes repeated response mentions.
//!
//! Every metric of this crate reads the [`Chains`] made here, never the spans, so the rules below hold
//! for all of them (`lib/CorScorer.pm`, v8.01, `IdentifMentions`):
//!
//! 1. Each distinct key span gets an id. A span repeated in the key (in one cluster or in several) keeps
//!    **every** copy: the key chains then hold the same id twice, and the denominators that count key
//!    mentions (B³, CEAFm, MUC's links, LEA) count it twice, while mention identification counts it once.
//! 2. Response mentions are read cluster by cluster, in order. A response span that equals a key span
//!    already matched by an earlier response mention is **removed** (the copy seen first survives), and
//!    it is counted as a repeat. Response spans that match no key span are **not** deduplicated: a
//!    twinless span repeated in the response stays in every cluster that has it, under one id.
//! 3. Response clusters emptied by rule 2 are removed; empty clusters given by a caller are ignored on
//!    both sides (CoNLL files cannot express them).
//! 4. Mention identification (strict, exact boundaries): recall = matched / distinct key spans,
//!    precision = matched / distinct response spans.
use std::collections::HashMap;
use std::hash::Hash;

use super::counts::Counts;

/// Marks "no chain" in the per-id chain index vectors.
pub(crate) const NONE: u32 = u32::MAX;

/// One document's clusters as chains of mention ids, after the reference scorer's mention
/// identification (see the module docs).
///
/// Ids `0..num_key_ids` are the distinct key spans; ids `num_key_ids..num_ids` are response spans that
/// match no key span ("twinless" or invented mentions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chains {
    /// Key clusters as ids, in the caller's order (`kChainsOrig` of the reference), repeats kept.
    pub key: Vec<Vec<u32>>,
    /// Response clusters as ids after removing repeated mentions and emptied clusters
    /// (`rChainsOrig` of the reference).
    pub response: Vec<Vec<u32>>,
    /// Number of distinct key spans.
    pub num_key_ids: usize,
    /// Number of distinct spans, key and response together.
    pub num_ids: usize,
    /// Number of response mentions whose span equals a key span (each key span counted once).
    pub matched: usize,
    /// Index of the **last** key chain holding each id, or [`u32::MAX`] (`Indexa` of the reference).
    pub key_chain_of: Vec<u32>,
    /// Index of the **last** response chain holding each id, or [`u32::MAX`].
    pub response_chain_of: Vec<u32>,
    /// True when some id sits more than once in the key chains (one chain or several).
    pub key_has_repeats: bool,
    /// True when some id sits more than once in the response chains (only twinless spans can).
    pub response_has_repeats: bool,
}

/// What [`identify_mentions`] returns: the chains and the repeated mentions it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified<M> {
    /// The chains every metric reads.
    pub chains: Chains,
    /// Key mentions whose span was seen before in the key, in reading order (the reference prints
    /// "Repeated mention in the key" for each and keeps them).
    pub repeated_key: Vec<M>,
    /// Response mentions removed because their span matched a key span already matched earlier in the
    /// response, in reading order (the reference prints "Repeated mention in the response").
    pub repeated_response: Vec<M>,
}

impl Chains {
    /// Mention identification counts of this document (strict matching of boundaries).
    pub fn mention_counts(&self) -> Counts {
        let num_response_ids = self.matched + (self.num_ids - self.num_key_ids);
        Counts {
            recall_num: self.matched as f64,
            recall_den: self.num_key_ids as f64,
            precision_num: self.matched as f64,
            precision_den: num_response_ids as f64,
        }
    }

    /// True when id `id` is a key mention.
    pub fn is_key(&self, id: u32) -> bool {
        (id as usize) < self.num_key_ids
    }
}

/// Runs the reference scorer's mention identification on one document (see the module docs).
///
/// `key` and `response` are clusters of mentions; a mention is anything hashable that identifies a
/// span exactly, e.g. `(start, end)` word or subtoken indices of any integer type.
///
/// # Panics
///
/// Panics if a document has `u32::MAX` or more distinct mentions.
pub fn identify_mentions<M, K, R>(key: &[K], response: &[R]) -> Identified<M>
where
    M: Copy + Eq + Hash,
    K: AsRef<[M]>,
    R: AsRef<[M]>,
{
    let mut ids: HashMap<M, u32> = HashMap::new();
    let mut repeated_key = Vec::new();
    let mut key_chains: Vec<Vec<u32>> = Vec::with_capacity(key.len());
    for cluster in key {
        let cluster = cluster.as_ref();
        if cluster.is_empty() {
            continue;
        }
        let mut chain = Vec::with_capacity(cluster.len());
        for &mention in cluster {
            let next = ids.len() as u32;
            let id = *ids.entry(mention).or_insert(next);
            if id != next {
                repeated_key.push(mention);
            }
            chain.push(id);
        }
        key_chains.push(chain);
    }
    let num_key_ids = ids.len();
    assert!(
        num_key_ids < NONE as usize,
        "too many key mentions in one document"
    );

    // Rule 2: a response span equal to an already matched key span is removed; other repeats stay.
    let mut matched = vec![false; num_key_ids];
    let mut num_matched = 0usize;
    let mut repeated_response = Vec::new();
    let mut kept: Vec<Vec<M>> = Vec::with_capacity(response.len());
    for cluster in response {
        let mut survivors = Vec::with_capacity(cluster.as_ref().len());
        for &mention in cluster.as_ref() {
            match ids.get(&mention) {
                Some(&id) if matched[id as usize] => repeated_response.push(mention),
                Some(&id) => {
                    matched[id as usize] = true;
                    num_matched += 1;
                    survivors.push(mention);
                }
                None => survivors.push(mention),
            }
        }
        if !survivors.is_empty() {
            kept.push(survivors);
        }
    }

    // Twinless response spans get fresh ids, one per distinct span.
    let mut response_chains: Vec<Vec<u32>> = Vec::with_capacity(kept.len());
    for cluster in &kept {
        let mut chain = Vec::with_capacity(cluster.len());
        for &mention in cluster {
            let next = ids.len() as u32;
            chain.push(*ids.entry(mention).or_insert(next));
        }
        response_chains.push(chain);
    }
    let num_ids = ids.len();
    assert!(num_ids < NONE as usize, "too many mentions in one document");

    let (key_chain_of, key_has_repeats) = chain_index(&key_chains, num_ids);
    let (response_chain_of, response_has_repeats) = chain_index(&response_chains, num_ids);
    Identified {
        chains: Chains {
            key: key_chains,
            response: response_chains,
            num_key_ids,
            num_ids,
            matched: num_matched,
            key_chain_of,
            response_chain_of,
            key_has_repeats,
            response_has_repeats,
        },
        repeated_key,
        repeated_response,
    }
}

/// The last chain of every id (`Indexa` of the reference) and whether any id occurs twice.
fn chain_index(chains: &[Vec<u32>], num_ids: usize) -> (Vec<u32>, bool) {
    let mut chain_of = vec![NONE; num_ids];
    let mut repeats = false;
    for (chain_idx, chain) in chains.iter().enumerate() {
        for &id in chain {
            let slot = &mut chain_of[id as usize];
            repeats |= *slot != NONE;
            *slot = chain_idx as u32;
        }
    }
    (chain_of, repeats)
}

/// Which chains of one side hold each id: one at most for almost every id (`*_chain_of`), several only
/// for ids that side repeats.
pub(crate) struct Membership<'a> {
    chain_of: &'a [u32],
    /// Ids in several chains of this side, with their distinct chains in order.
    multi: HashMap<u32, Vec<u32>>,
    /// Ids that occur twice or more inside one chain of this side.
    repeated_within: Vec<u32>,
}

impl<'a> Membership<'a> {
    /// The key side of `chains`.
    pub(crate) fn key(chains: &'a Chains) -> Self {
        Self::new(&chains.key, &chains.key_chain_of, chains.key_has_repeats)
    }

    /// The response side of `chains`.
    pub(crate) fn response(chains: &'a Chains) -> Self {
        Self::new(
            &chains.response,
            &chains.response_chain_of,
            chains.response_has_repeats,
        )
    }

    fn new(chains: &[Vec<u32>], chain_of: &'a [u32], has_repeats: bool) -> Self {
        let mut multi: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut repeated_within = Vec::new();
        if has_repeats {
            // last[id] = last chain in which id was seen so far.
            let mut last = vec![NONE; chain_of.len()];
            let mut first = vec![NONE; chain_of.len()];
            for (chain_idx, chain) in chains.iter().enumerate() {
                let chain_idx = chain_idx as u32;
                for &id in chain {
                    let slot = id as usize;
                    if last[slot] == chain_idx {
                        repeated_within.push(id);
                    } else if first[slot] == NONE {
                        first[slot] = chain_idx;
                    } else {
                        multi
                            .entry(id)
                            .or_insert_with(|| vec![first[slot]])
                            .push(chain_idx);
                    }
                    last[slot] = chain_idx;
                }
            }
            repeated_within.sort_unstable();
            repeated_within.dedup();
        }
        Membership {
            chain_of,
            multi,
            repeated_within,
        }
    }

    /// Calls `f` once for every distinct chain holding `id`, in chain order.
    pub(crate) fn for_each_chain(&self, id: u32, mut f: impl FnMut(u32)) {
        if let Some(list) = self.multi.get(&id) {
            list.iter().for_each(|&c| f(c));
        } else {
            let c = self.chain_of[id as usize];
            if c != NONE {
                f(c);
            }
        }
    }

    /// The distinct chains holding `id`, in chain order.
    pub(crate) fn chains(&self, id: u32) -> Vec<u32> {
        let mut out = Vec::new();
        self.for_each_chain(id, |c| out.push(c));
        out
    }

    /// Ids held by several chains of this side, sorted.
    pub(crate) fn ids_in_several_chains(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.multi.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Ids repeated inside one chain of this side, sorted.
    pub(crate) fn ids_repeated_within(&self) -> &[u32] {
        &self.repeated_within
    }

    /// True when `id` occurs twice or more inside one chain of this side.
    pub(crate) fn is_repeated_within(&self, id: u32) -> bool {
        self.repeated_within.binary_search(&id).is_ok()
    }
}

/// How many mentions of one chain fall in each chain of the other side: a counter over chain indices
/// that remembers which chains it touched, so that reading and resetting it costs the size of the
/// chain, not the number of chains.
pub(crate) struct ChainTally {
    count: Vec<u64>,
    /// The chains with a count above 0, in first-touched order.
    touched: Vec<u32>,
}

impl ChainTally {
    /// A tally over `chains` chains, all at 0.
    pub(crate) fn new(chains: usize) -> Self {
        ChainTally {
            count: vec![0; chains],
            touched: Vec::new(),
        }
    }

    /// Counts one more mention in `chain`.
    pub(crate) fn add(&mut self, chain: u32) {
        let slot = &mut self.count[chain as usize];
        if *slot == 0 {
            self.touched.push(chain);
        }
        *slot += 1;
    }

    /// The count of `chain`.
    pub(crate) fn get(&self, chain: u32) -> u64 {
        self.count[chain as usize]
    }

    /// Calls `f(chain, count)` for every chain with a count above 0, in first-touched order, and
    /// resets the tally.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(u32, u64)) {
        for chain in self.touched.drain(..) {
            f(chain, std::mem::take(&mut self.count[chain as usize]));
        }
    }

    /// [`ChainTally::drain`] in ascending chain order.
    pub(crate) fn drain_sorted(&mut self, f: impl FnMut(u32, u64)) {
        self.touched.sort_unstable();
        self.drain(f);
    }

    /// Resets the tally.
    pub(crate) fn clear(&mut self) {
        self.drain(|_, _| {});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Span = (u32, u32);

    #[test]
    fn ids_are_shared_and_matches_counted() {
        // key {a b} {c}; response {a x} {c} with x twinless.
        let key: Vec<Vec<Span>> = vec![vec![(0, 0), (1, 1)], vec![(2, 2)]];
        let response: Vec<Vec<Span>> = vec![vec![(0, 0), (5, 6)], vec![(2, 2)]];
        let out = identify_mentions(&key, &response);
        let c = &out.chains;
        assert_eq!(c.key, vec![vec![0, 1], vec![2]]);
        assert_eq!(c.response, vec![vec![0, 3], vec![2]]);
        assert_eq!((c.num_key_ids, c.num_ids, c.matched), (3, 4, 2));
        // Mentions: recall 2/3 (b missed), precision 2/3 (x invented).
        assert_eq!(c.mention_counts(), Counts::new(2.0, 3.0, 2.0, 3.0));
        assert_eq!(c.key_chain_of, vec![0, 0, 1, NONE]);
        assert_eq!(c.response_chain_of, vec![0, NONE, 1, 0]);
        assert!(!c.key_has_repeats && !c.response_has_repeats);
    }

    #[test]
    fn repeated_key_mention_is_kept_in_both_chains() {
        // The OntoGUM case: span s in two key clusters {a s} {s b}.
        let key: Vec<Vec<Span>> = vec![vec![(0, 0), (3, 4)], vec![(3, 4), (7, 7)]];
        let out = identify_mentions(&key, &key);
        let c = &out.chains;
        assert_eq!(c.key, vec![vec![0, 1], vec![1, 2]]);
        // The response copy in the second cluster is removed.
        assert_eq!(c.response, vec![vec![0, 1], vec![2]]);
        assert_eq!(out.repeated_key, vec![(3, 4)]);
        assert_eq!(out.repeated_response, vec![(3, 4)]);
        // Distinct spans: 3 in the key, 3 in the response, all matched.
        assert_eq!(c.mention_counts(), Counts::new(3.0, 3.0, 3.0, 3.0));
        // The last key chain holding s is chain 1.
        assert_eq!(c.key_chain_of, vec![0, 1, 1]);
        assert!(c.key_has_repeats && !c.response_has_repeats);
    }

    #[test]
    fn twinless_repeats_stay_and_emptied_clusters_go() {
        // key {a}; response {a} {a} {x} {x x}: the second a is removed (its cluster empties),
        // x is never deduplicated.
        let key: Vec<Vec<Span>> = vec![vec![(0, 0)]];
        let response: Vec<Vec<Span>> = vec![
            vec![(0, 0)],
            vec![(0, 0)],
            vec![(9, 9)],
            vec![(9, 9), (9, 9)],
        ];
        let out = identify_mentions(&key, &response);
        let c = &out.chains;
        assert_eq!(c.response, vec![vec![0], vec![1], vec![1, 1]]);
        assert_eq!(out.repeated_response, vec![(0, 0)]);
        assert!(c.response_has_repeats);
        // Distinct response spans: a and x.
        assert_eq!(c.mention_counts(), Counts::new(1.0, 1.0, 1.0, 2.0));
    }

    #[test]
    fn empty_clusters_are_ignored() {
        let key: Vec<Vec<Span>> = vec![vec![], vec![(1, 2)]];
        let response: Vec<Vec<Span>> = vec![vec![]];
        let out = identify_mentions(&key, &response);
        assert_eq!(out.chains.key, vec![vec![0]]);
        assert!(out.chains.response.is_empty());
        assert_eq!(out.chains.mention_counts(), Counts::new(0.0, 1.0, 0.0, 0.0));
    }
}
