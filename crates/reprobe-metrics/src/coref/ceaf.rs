//! CEAF, the Constrained Entity-Alignment F-measure of
//! [Luo (2005)](https://aclanthology.org/H05-1004/), in its mention-based (CEAFm, φ3) and entity-based
//! (CEAFe, φ4) forms.
//!
//! Key and response chains are aligned one-to-one so as to maximise the total similarity Φ (a maximum
//! weight bipartite matching); recall = Φ / Σ φ(k, k), precision = Φ / Σ φ(r, r), i.e.
//! - CEAFm: φ3(k, r) = |k ∩ r|; denominators are the numbers of key and response mentions;
//! - CEAFe: φ4(k, r) = 2 |k ∩ r| / (|k| + |r|); denominators are the numbers of key and response chains.
//!
//! As in the reference (`CEAF` of v8.01), |k ∩ r| counts the mentions of k (with their repeats) that occur
//! in r, sizes count repeats, mentions outside the key simply never intersect, and the numerator is
//! accumulated over key chains in order as `1 − (1 − φ)`, the reference's round trip through the cost
//! matrix of its Munkres solver, so the printed digits agree.
//!
//! # Matching
//!
//! Only chains that share a mention have φ > 0, so the bipartite graph splits into small connected
//! components that are solved independently with the Kuhn–Munkres algorithm of the `pathfinding` crate.
//! Weights are made **exact integers**: φ4 = 2|k ∩ r| / (|k| + |r|) is scaled by the least common multiple
//! of the denominators in the component, so ties and near-ties are decided exactly. Should that multiple
//! exceed 2^100 (never seen on real data), weights fall back to φ4 rounded to 2^-60, which can only
//! matter between alignments whose values differ by less than about 1e-17.
use pathfinding::kuhn_munkres::{kuhn_munkres, Weights};

use super::counts::Counts;
use super::mentions::{ChainTally, Chains, NONE};

/// Which CEAF similarity to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeafKind {
    /// φ3(k, r) = |k ∩ r|: CEAFm.
    Mention,
    /// φ4(k, r) = 2 |k ∩ r| / (|k| + |r|): CEAFe.
    Entity,
}

/// One pair of chains that share mentions.
#[derive(Debug, Clone, Copy)]
struct Edge {
    key_idx: u32,
    resp_idx: u32,
    common: u64,
}

/// CEAF counts of one document.
pub fn ceaf(chains: &Chains, kind: CeafKind) -> Counts {
    let edges = overlaps(chains);
    let mut phi_of_key = vec![0.0f64; chains.key.len()];
    for component in components(chains, &edges) {
        solve_component(chains, &edges, &component, kind, &mut phi_of_key);
    }
    // The reference's numerator: Σ over key chains, in order, of 1 − sim with sim = 1 − φ.
    let numerator = phi_of_key
        .iter()
        .fold(0.0f64, |acc, &phi| acc + (1.0 - (1.0 - phi)));
    let (recall_den, precision_den) = match kind {
        CeafKind::Mention => (
            chains.key.iter().map(Vec::len).sum::<usize>() as f64,
            chains.response.iter().map(Vec::len).sum::<usize>() as f64,
        ),
        CeafKind::Entity => (chains.key.len() as f64, chains.response.len() as f64),
    };
    Counts::new(numerator, recall_den, numerator, precision_den)
}

/// φ of one pair, computed as the reference computes it.
fn phi(kind: CeafKind, common: u64, key_size: usize, resp_size: usize) -> f64 {
    match kind {
        CeafKind::Mention => common as f64,
        CeafKind::Entity => (2 * common) as f64 / (key_size + resp_size) as f64,
    }
}

/// Every (key chain, response chain) pair with |k ∩ r| > 0, sorted by key chain then response chain.
fn overlaps(chains: &Chains) -> Vec<Edge> {
    let mut edges = Vec::new();
    // |k ∩ r| of the current key chain k with each response chain r.
    let mut counts = ChainTally::new(chains.response.len());
    for (key_idx, chain) in chains.key.iter().enumerate() {
        for &id in chain {
            // A key id occurs in at most one response chain: the response keeps one copy of each key span.
            let resp_idx = chains.response_chain_of[id as usize];
            if resp_idx == NONE {
                continue;
            }
            counts.add(resp_idx);
        }
        counts.drain_sorted(|resp_idx, common| {
            edges.push(Edge {
                key_idx: key_idx as u32,
                resp_idx,
                common,
            })
        });
    }
    edges
}

/// A connected component of the overlap graph: its key chains, response chains and edges (indices into
/// the edge list).
#[derive(Debug, Default)]
struct Component {
    keys: Vec<u32>,
    responses: Vec<u32>,
    edges: Vec<usize>,
}

/// Splits the overlap graph into connected components (union–find over key and response chains).
fn components(chains: &Chains, edges: &[Edge]) -> Vec<Component> {
    let num_keys = chains.key.len();
    let mut parent: Vec<usize> = (0..num_keys + chains.response.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for edge in edges {
        let a = find(&mut parent, edge.key_idx as usize);
        let b = find(&mut parent, num_keys + edge.resp_idx as usize);
        if a != b {
            parent[a] = b;
        }
    }
    let mut index_of_root: Vec<usize> = vec![usize::MAX; parent.len()];
    let mut out: Vec<Component> = Vec::new();
    for (edge_idx, edge) in edges.iter().enumerate() {
        let root = find(&mut parent, edge.key_idx as usize);
        if index_of_root[root] == usize::MAX {
            index_of_root[root] = out.len();
            out.push(Component::default());
        }
        out[index_of_root[root]].edges.push(edge_idx);
    }
    for component in &mut out {
        for &edge_idx in &component.edges {
            component.keys.push(edges[edge_idx].key_idx);
            component.responses.push(edges[edge_idx].resp_idx);
        }
        component.keys.sort_unstable();
        component.keys.dedup();
        component.responses.sort_unstable();
        component.responses.dedup();
    }
    out
}

/// A dense weight matrix, rows ≤ columns as `kuhn_munkres` requires.
struct Dense {
    rows: usize,
    columns: usize,
    values: Vec<i128>,
}

impl Weights<i128> for Dense {
    fn rows(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.columns
    }

    fn at(&self, row: usize, col: usize) -> i128 {
        self.values[row * self.columns + col]
    }

    fn neg(&self) -> Self {
        Dense {
            rows: self.rows,
            columns: self.columns,
            values: self.values.iter().map(|v| -v).collect(),
        }
    }
}

/// Finds the maximum-weight alignment inside one component and writes φ of each aligned key chain.
fn solve_component(
    chains: &Chains,
    edges: &[Edge],
    component: &Component,
    kind: CeafKind,
    phi_of_key: &mut [f64],
) {
    if component.edges.len() == 1 {
        let edge = edges[component.edges[0]];
        phi_of_key[edge.key_idx as usize] = phi(
            kind,
            edge.common,
            chains.key[edge.key_idx as usize].len(),
            chains.response[edge.resp_idx as usize].len(),
        );
        return;
    }
    let weights = integer_weights(chains, edges, component, kind);
    let num_keys = component.keys.len();
    let num_resps = component.responses.len();
    // Rows are the smaller side.
    let keys_are_rows = num_keys <= num_resps;
    let (rows, columns) = if keys_are_rows {
        (num_keys, num_resps)
    } else {
        (num_resps, num_keys)
    };
    let mut dense = Dense {
        rows,
        columns,
        values: vec![0; rows * columns],
    };
    let mut local_edge = vec![usize::MAX; num_keys * num_resps];
    for (slot, &edge_idx) in component.edges.iter().enumerate() {
        let edge = edges[edge_idx];
        let k = component.keys.binary_search(&edge.key_idx).unwrap_or(0);
        let r = component
            .responses
            .binary_search(&edge.resp_idx)
            .unwrap_or(0);
        let (row, col) = if keys_are_rows { (k, r) } else { (r, k) };
        dense.values[row * columns + col] = weights[slot];
        local_edge[k * num_resps + r] = edge_idx;
    }
    let (_, assignment) = kuhn_munkres(&dense);
    for (row, &col) in assignment.iter().enumerate() {
        let (k, r) = if keys_are_rows {
            (row, col)
        } else {
            (col, row)
        };
        let edge_idx = local_edge[k * num_resps + r];
        if edge_idx == usize::MAX {
            continue; // aligned through a zero weight: φ = 0
        }
        let edge = edges[edge_idx];
        phi_of_key[edge.key_idx as usize] = phi(
            kind,
            edge.common,
            chains.key[edge.key_idx as usize].len(),
            chains.response[edge.resp_idx as usize].len(),
        );
    }
}

/// Exact integer weights of the component's edges (see the module docs), in `component.edges` order.
fn integer_weights(
    chains: &Chains,
    edges: &[Edge],
    component: &Component,
    kind: CeafKind,
) -> Vec<i128> {
    let sizes = |edge: &Edge| {
        (
            chains.key[edge.key_idx as usize].len() as i128,
            chains.response[edge.resp_idx as usize].len() as i128,
        )
    };
    match kind {
        CeafKind::Mention => component
            .edges
            .iter()
            .map(|&e| edges[e].common as i128)
            .collect(),
        CeafKind::Entity => {
            const LIMIT: i128 = 1 << 100;
            let mut lcm: Option<i128> = Some(1);
            for &e in &component.edges {
                let (k, r) = sizes(&edges[e]);
                lcm = lcm.and_then(|l| {
                    let d = k + r;
                    (l / gcd(l, d)).checked_mul(d).filter(|m| *m <= LIMIT)
                });
            }
            component
                .edges
                .iter()
                .map(|&e| {
                    let edge = &edges[e];
                    let (k, r) = sizes(edge);
                    let common = edge.common as i128;
                    match lcm {
                        Some(l) => 2 * common * (l / (k + r)),
                        None => {
                            let value = (2 * common) as f64 / (k + r) as f64;
                            (value * (1u64 << 60) as f64).round() as i128
                        }
                    }
                })
                .collect()
        }
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::super::mentions::identify_mentions;
    use super::super::test_util::{assert_counts, letter_chains, spans};
    use super::*;

    fn run(key: &[&str], response: &[&str], kind: CeafKind) -> Counts {
        ceaf(&letter_chains(key, response), kind)
    }

    #[test]
    fn pradhan_2014_cases() {
        use CeafKind::{Entity, Mention};
        let key = ["a", "bc", "def"];
        // TC-A-2 {a}{de}: CEAFm common = 1 + 2 = 3 of 6 / 3; CEAFe common = 1 + 2·2/5 = 1.8 of 3 / 2.
        assert_counts(
            run(&key, &["a", "de"], Mention),
            Counts::new(3.0, 6.0, 3.0, 3.0),
        );
        assert_counts(
            run(&key, &["a", "de"], Entity),
            Counts::new(1.8, 3.0, 1.8, 2.0),
        );
        // TC-A-3 {a}{bcx}{defy}{z}: CEAFm 6 of 6 / 9; CEAFe 1 + 4/5 + 6/7 of 3 / 4.
        let r3 = ["a", "bcx", "defy", "z"];
        assert_counts(run(&key, &r3, Mention), Counts::new(6.0, 6.0, 6.0, 9.0));
        let e3 = 1.0 + 0.8 + 6.0 / 7.0;
        assert_counts(run(&key, &r3, Entity), Counts::new(e3, 3.0, e3, 4.0));
        // TC-A-4 {a}{bcx}{dy}{z}: CEAFm 1 + 2 + 1 = 4 of 6 / 7; CEAFe 1 + 4/5 + 2/5 = 2.2 of 3 / 4.
        let r4 = ["a", "bcx", "dy", "z"];
        assert_counts(run(&key, &r4, Mention), Counts::new(4.0, 6.0, 4.0, 7.0));
        assert_counts(run(&key, &r4, Entity), Counts::new(2.2, 3.0, 2.2, 4.0));
        // TC-A-11 one cluster: only one key chain can align; the best is {def}: CEAFm 3 of 6 / 6,
        // CEAFe max(2·1/7, 2·2/8, 2·3/9) = 2/3 of 3 / 1.
        assert_counts(
            run(&key, &["abcdef"], Mention),
            Counts::new(3.0, 6.0, 3.0, 6.0),
        );
        assert_counts(
            run(&key, &["abcdef"], Entity),
            Counts::new(2.0 / 3.0, 3.0, 2.0 / 3.0, 1.0),
        );
    }

    #[test]
    fn the_alignment_is_optimal_not_greedy() {
        // Key {abc}{d}, response {abd}{c}. Greedy on the largest overlap picks ({abc},{abd}) with
        // φ4 = 2·2/6 = 2/3 and leaves {d} without partner: 2/3. The optimum aligns ({abc},{c}) with
        // 2·1/4 = 1/2 and ({d},{abd}) with 2·1/4 = 1/2: 1.
        let counts = run(&["abc", "d"], &["abd", "c"], CeafKind::Entity);
        assert_counts(counts, Counts::new(1.0, 2.0, 1.0, 2.0));
        // CEAFm on the same pair: greedy 2 + 0, optimum 1 + 1 or 2 + 0: both 2.
        let counts = run(&["abc", "d"], &["abd", "c"], CeafKind::Mention);
        assert_counts(counts, Counts::new(2.0, 4.0, 2.0, 4.0));
    }

    #[test]
    fn the_alignment_maximises_the_sum() {
        // Key {abcdefg}{hij}, response {abcdhi}{efgj}. Alignment 1: ({abcdefg},{abcdhi}) 2·4/13 and
        // ({hij},{efgj}) 2·1/7: 8/13 + 2/7 = 82/91. Alignment 2: ({abcdefg},{efgj}) 2·3/11 and
        // ({hij},{abcdhi}) 2·2/9: 6/11 + 4/9 = 98/99 > 82/91, although 8/13 is the largest φ4.
        let counts = run(&["abcdefg", "hij"], &["abcdhi", "efgj"], CeafKind::Entity);
        let best = (1.0 - (1.0 - 6.0 / 11.0)) + (1.0 - (1.0 - 4.0 / 9.0));
        assert_eq!(counts.recall_num, best);
    }

    #[test]
    fn entity_weights_are_exact_integers() {
        // Key {abcdefg}{hi}, response {efgj}{abchi}. Edges in (key, response) order:
        // (k0, r0) common 3, |k|+|r| = 11; (k0, r1) common 3, 12; (k1, r1) common 2, 7.
        // lcm(11, 12, 7) = 924, so the weights are 2·3·84, 2·3·77 and 2·2·132.
        let chains =
            identify_mentions(&spans(&["abcdefg", "hi"]), &spans(&["efgj", "abchi"])).chains;
        let edges = overlaps(&chains);
        let component = &components(&chains, &edges)[0];
        let weights = integer_weights(&chains, &edges, component, CeafKind::Entity);
        assert_eq!(weights, vec![2 * 3 * 84, 2 * 3 * 77, 2 * 2 * 132]);
        // CEAFm weights are the overlaps themselves.
        let weights = integer_weights(&chains, &edges, component, CeafKind::Mention);
        assert_eq!(weights, vec![3, 3, 2]);
    }

    #[test]
    fn huge_denominator_sets_fall_back_to_rounded_weights() {
        // Key chains of sizes 1..=90 each share their first mention with one response chain of 400
        // mentions: the denominators |k| + |r| = 401..=490 hold 15 primes, whose product exceeds 2^100.
        let response_size: u32 = 400;
        let mut key: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut response: Vec<(u32, u32)> = Vec::new();
        let mut word = 0;
        for size in 1..=90u32 {
            let mut chain = Vec::new();
            for _ in 0..size {
                chain.push((word, word));
                word += 1;
            }
            response.push(chain[0]);
            key.push(chain);
        }
        while (response.len() as u32) < response_size {
            response.push((word, word));
            word += 1;
        }
        let chains = identify_mentions(&key, &[response]).chains;
        let edges = overlaps(&chains);
        let component = &components(&chains, &edges)[0];
        let weights = integer_weights(&chains, &edges, component, CeafKind::Entity);
        // Rounded φ4 · 2^60: the chain of size 1 has φ4 = 2·1/401.
        assert_eq!(
            weights[0],
            ((2.0 / 401.0) * (1u64 << 60) as f64).round() as i128
        );
        // The single response chain aligns with the key chain of the largest φ4 = 2/(|k| + 400):
        // the smallest key chain, |k| = 1.
        let counts = ceaf(&chains, CeafKind::Entity);
        assert_eq!(counts.recall_num, 1.0 - (1.0 - 2.0 / 401.0));
    }

    #[test]
    fn components_are_independent() {
        // Two disconnected groups: {ab}→{ab} and {cd}→{c}{d}. CEAFe: 1 + 2·1/3 = 5/3 of 2 / 3.
        let counts = run(&["ab", "cd"], &["ab", "c", "d"], CeafKind::Entity);
        assert_counts(counts, Counts::new(5.0 / 3.0, 2.0, 5.0 / 3.0, 3.0));
    }
}
