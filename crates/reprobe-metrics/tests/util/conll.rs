//! Test and fixture helpers: a CoNLL-2012 coreference reader that follows the reference scorer's
//! `GetCoreference` literally, a writer of the coreference column, and the deterministic perturbation
//! that turns a key file into a response file.
//!
//! Shared by the integration tests (`mod util;`), the benchmark and the `conll_fixture` example (both
//! through `#[path]`), so the golden script, the tests and the benchmark perturb files identically.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;

/// An inclusive word span (start, end), indices counted from the document's first token line.
pub type WordSpan = (usize, usize);

/// One document as the reference scorer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConllDoc {
    /// The text after `#begin document ` (e.g. `(GUM_bio_byron); part 000`).
    pub name: String,
    /// Clusters in the scorer's entity order (first appearance of the id while reading brackets
    /// `(N)`, then `(N`, then `N)` in each cell), mentions in the order they close.
    pub clusters: Vec<Vec<WordSpan>>,
    /// Number of token lines.
    pub num_words: usize,
}

/// Reads every document of a CoNLL file as `GetCoreference` of v8.01 does: token lines are the
/// non-empty lines between `#begin document` and a line containing `#end document`; the coreference
/// cell is the last TAB-separated column.
pub fn parse_conll(text: &str) -> Result<Vec<ConllDoc>, String> {
    let mut docs = Vec::new();
    let mut lines = text.split('\n').enumerate();
    while let Some((_, line)) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(name) = begin_document(line) else {
            continue;
        };
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut clusters: Vec<Vec<WordSpan>> = Vec::new();
        let mut open: Vec<Vec<usize>> = Vec::new();
        let mut word = 0usize;
        for (line_idx, line) in lines.by_ref() {
            if line.is_empty() {
                continue;
            }
            if is_end_document(line) {
                if open.iter().any(|o| !o.is_empty()) {
                    return Err(format!("line {}: some mentions do not close", line_idx + 1));
                }
                break;
            }
            let cell = line.rsplit('\t').next().unwrap_or("");
            if cell != "_" {
                let mut index =
                    |id: &str, clusters: &mut Vec<Vec<WordSpan>>, open: &mut Vec<Vec<usize>>| {
                        let next = ids.len();
                        let e = *ids.entry(id.to_string()).or_insert(next);
                        if clusters.len() <= e {
                            clusters.resize(e + 1, Vec::new());
                            open.resize(e + 1, Vec::new());
                        }
                        e
                    };
                let mut cell = cell.to_string();
                while remove_first(&mut cell, Pattern::DoubleAntecedent).is_some() {}
                while let Some(id) = remove_first(&mut cell, Pattern::Single) {
                    let e = index(&id, &mut clusters, &mut open);
                    clusters[e].push((word, word));
                }
                while let Some(id) = remove_first(&mut cell, Pattern::Open) {
                    let e = index(&id, &mut clusters, &mut open);
                    open[e].push(word);
                }
                while let Some(id) = remove_first(&mut cell, Pattern::Close) {
                    let e = index(&id, &mut clusters, &mut open);
                    let start = open[e].pop().ok_or_else(|| {
                        format!("line {}: end of mention {id} without begin", line_idx + 1)
                    })?;
                    clusters[e].push((start, word));
                }
            }
            word += 1;
        }
        docs.push(ConllDoc {
            name,
            clusters,
            num_words: word,
        });
    }
    Ok(docs)
}

fn begin_document(line: &str) -> Option<String> {
    let rest = line.strip_prefix('#')?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    rest.strip_prefix("begin document ").map(str::to_string)
}

fn is_end_document(line: &str) -> bool {
    // /\#\s*end document/ anywhere in the line.
    line.match_indices('#').any(|(i, _)| {
        line[i + 1..]
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .starts_with("end document")
    })
}

#[derive(Clone, Copy)]
enum Pattern {
    /// `\((\d+\+\d)\)`
    DoubleAntecedent,
    /// `\((\d+)\)`
    Single,
    /// `\((\d+)`
    Open,
    /// `(\d+)\)`
    Close,
}

/// Removes the leftmost match of `pattern` from `cell` (Perl's `s///` without `g`), returning the id.
fn remove_first(cell: &mut String, pattern: Pattern) -> Option<String> {
    let b = cell.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    for start in 0..b.len() {
        let found = match pattern {
            Pattern::DoubleAntecedent => (b[start] == b'(')
                .then(|| {
                    let n = digits(start + 1);
                    let plus = start + 1 + n;
                    (n > 0
                        && b.get(plus) == Some(&b'+')
                        && b.get(plus + 1).is_some_and(|c| c.is_ascii_digit())
                        && b.get(plus + 2) == Some(&b')'))
                    .then_some((start + 1, plus + 2, plus + 3))
                })
                .flatten(),
            Pattern::Single => (b[start] == b'(')
                .then(|| {
                    let n = digits(start + 1);
                    (n > 0 && b.get(start + 1 + n) == Some(&b')')).then_some((
                        start + 1,
                        start + 1 + n,
                        start + 2 + n,
                    ))
                })
                .flatten(),
            Pattern::Open => (b[start] == b'(')
                .then(|| {
                    let n = digits(start + 1);
                    (n > 0).then_some((start + 1, start + 1 + n, start + 1 + n))
                })
                .flatten(),
            Pattern::Close => {
                let n = digits(start);
                (n > 0 && b.get(start + n) == Some(&b')')).then_some((
                    start,
                    start + n,
                    start + n + 1,
                ))
            }
        };
        if let Some((id_start, id_end, end)) = found {
            let id = cell[id_start..id_end].to_string();
            cell.replace_range(start..end, "");
            return Some(id);
        }
    }
    None
}

/// The coreference cells of one document with `clusters` written in the OntoNotes bracket notation
/// (cluster index = entity number), `-` where no mention starts or ends.
pub fn coref_cells(num_words: usize, clusters: &[Vec<WordSpan>]) -> Vec<String> {
    let mut parts: Vec<Vec<String>> = vec![Vec::new(); num_words];
    for (entity, cluster) in clusters.iter().enumerate() {
        for &(start, end) in cluster {
            if start == end {
                parts[start].push(format!("({entity})"));
            } else {
                parts[start].push(format!("({entity}"));
                parts[end].push(format!("{entity})"));
            }
        }
    }
    parts
        .into_iter()
        .map(|p| {
            if p.is_empty() {
                "-".to_string()
            } else {
                p.join("|")
            }
        })
        .collect()
}

/// A tiny deterministic generator (splitmix64), so fixtures never depend on a crate's stream.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// How much to perturb.
#[derive(Debug, Clone, Copy)]
pub struct Perturbation {
    /// Seed of the generator.
    pub seed: u64,
    /// Most repeated key spans to keep in the response of the whole file (the reference refuses files
    /// with more than 10 repeats per run). Two crossing mentions of one cluster pair up differently once
    /// written, which can add a repeat or two beyond this.
    pub max_repeats: usize,
    /// Drop one document of the response and add one document the key does not have.
    pub documents: bool,
}

/// Perturbs the clusters of one document in place: drops, boundary shifts, moves, merges, splits,
/// spurious mentions (some repeated across clusters), and repeated key spans.
pub fn perturb_clusters(
    clusters: &mut Vec<Vec<WordSpan>>,
    num_words: usize,
    rng: &mut SplitMix,
    repeats_left: &mut usize,
) {
    if num_words == 0 {
        return;
    }
    let original: Vec<WordSpan> = clusters.iter().flatten().copied().collect();
    // Mentions: drop, shift a boundary, or move to another (possibly new) cluster.
    let mut moved: Vec<WordSpan> = Vec::new();
    for cluster in clusters.iter_mut() {
        let mut kept = Vec::with_capacity(cluster.len());
        for &(start, end) in cluster.iter() {
            let roll = rng.below(100);
            if roll < 8 {
                continue;
            } else if roll < 16 {
                let (mut s, mut e) = (start as isize, end as isize);
                match rng.below(4) {
                    0 => s -= 1,
                    1 => s += 1,
                    2 => e -= 1,
                    _ => e += 1,
                }
                let last = num_words as isize - 1;
                if s >= 0 && e <= last && s <= e {
                    kept.push((s as usize, e as usize));
                } else {
                    kept.push((start, end));
                }
            } else if roll < 22 {
                moved.push((start, end));
            } else {
                kept.push((start, end));
            }
        }
        *cluster = kept;
    }
    for mention in moved {
        if clusters.is_empty() || rng.chance(0.2) {
            clusters.push(vec![mention]);
        } else {
            let target = rng.below(clusters.len());
            clusters[target].push(mention);
        }
    }
    // Clusters: merge with another, or split in two.
    let mut idx = 0;
    while idx < clusters.len() {
        let roll = rng.below(100);
        if roll < 5 && clusters.len() > 1 {
            let other = rng.below(clusters.len());
            if other != idx {
                let taken = std::mem::take(&mut clusters[other]);
                clusters[idx].extend(taken);
            }
        } else if roll < 10 && clusters[idx].len() >= 2 {
            let cut = 1 + rng.below(clusters[idx].len() - 1);
            let tail = clusters[idx].split_off(cut);
            clusters.push(tail);
        }
        idx += 1;
    }
    // Spurious mentions, sometimes the same invented span in two clusters (never deduplicated).
    let num_spurious = 1 + original.len() / 16;
    for _ in 0..num_spurious {
        let start = rng.below(num_words);
        let end = (start + rng.below(3)).min(num_words - 1);
        let copies = if rng.chance(0.15) { 2 } else { 1 };
        for _ in 0..copies {
            if clusters.is_empty() || rng.chance(0.4) {
                clusters.push(vec![(start, end)]);
            } else {
                let target = rng.below(clusters.len());
                clusters[target].push((start, end));
            }
        }
    }
    // A key span repeated in a second cluster: the reference keeps the first copy only.
    if !original.is_empty() && clusters.len() > 1 && rng.chance(0.3) {
        let span = original[rng.below(original.len())];
        let target = rng.below(clusters.len());
        clusters[target].push(span);
    }
    // Keep the copies of key spans beyond the first within the file's budget of repeats (the shifts,
    // moves and spurious spans above can also land on a key span that is already there).
    let key_spans: std::collections::HashSet<WordSpan> = original.iter().copied().collect();
    let mut seen: std::collections::HashSet<WordSpan> = std::collections::HashSet::new();
    for cluster in clusters.iter_mut() {
        cluster.retain(|span| {
            if !key_spans.contains(span) || seen.insert(*span) {
                true
            } else if *repeats_left > 0 {
                *repeats_left -= 1;
                true
            } else {
                false
            }
        });
    }
    clusters.retain(|c| !c.is_empty());
    // Shuffle cluster order (entity numbers) so the first copy of a repeat is not always the original.
    for i in (1..clusters.len()).rev() {
        let j = rng.below(i + 1);
        clusters.swap(i, j);
    }
}

/// A response file made from a key file: every token line is kept except its last column, which is
/// rewritten from perturbed clusters; with `documents`, one document is dropped, one extra document
/// (a renamed copy) is added and the document order is rotated.
pub fn perturb_file(key_text: &str, perturbation: Perturbation) -> Result<String, String> {
    let docs = parse_conll(key_text)?;
    let mut rng = SplitMix(perturbation.seed);
    let mut repeats_left = perturbation.max_repeats;
    let blocks = document_blocks(key_text);
    if blocks.len() != docs.len() {
        return Err(format!(
            "{} document blocks for {} documents",
            blocks.len(),
            docs.len()
        ));
    }
    let mut rendered: Vec<String> = Vec::with_capacity(docs.len() + 1);
    for (doc, block) in docs.iter().zip(&blocks) {
        let mut clusters = doc.clusters.clone();
        perturb_clusters(&mut clusters, doc.num_words, &mut rng, &mut repeats_left);
        rendered.push(rewrite_block(block, &coref_cells(doc.num_words, &clusters)));
    }
    if perturbation.documents && rendered.len() > 1 {
        let dropped = rng.below(rendered.len());
        let extra = rendered[rng.below(rendered.len())].replacen(
            "#begin document (",
            "#begin document (EXTRA_",
            1,
        );
        rendered.remove(dropped);
        rendered.push(extra);
        let shift = rng.below(rendered.len());
        rendered.rotate_left(shift);
    }
    Ok(rendered.concat())
}

/// The text of each document block: from its `#begin document` line through its `#end document` line
/// (and the newline after it).
fn document_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if start.is_none() && begin_document(bare).is_some() {
            start = Some(offset);
        } else if let Some(s) = start {
            if is_end_document(bare) {
                blocks.push(&text[s..offset + line.len()]);
                start = None;
            }
        }
        offset += line.len();
    }
    blocks
}

/// `block` with the last TAB column of its token lines replaced by `cells`, in order.
fn rewrite_block(block: &str, cells: &[String]) -> String {
    let mut out = String::with_capacity(block.len());
    let mut word = 0usize;
    let mut lines = block.split_inclusive('\n');
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        let newline = if line.ends_with('\n') { "\n" } else { "" };
        let bare = line.trim_end_matches('\n');
        if bare.is_empty() || is_end_document(bare) {
            out.push_str(line);
            continue;
        }
        let head = bare.rsplit_once('\t').map(|(head, _)| head).unwrap_or("");
        let cell = cells.get(word).map(String::as_str).unwrap_or("-");
        let _ = write!(out, "{head}\t{cell}{newline}");
        word += 1;
    }
    out
}

/// A synthetic key file: `num_docs` documents of random length with nested, non-crossing mentions,
/// a few singletons and (rarely) a span in two clusters, in the OntoNotes layout with placeholder words.
pub fn synthetic_key(seed: u64, num_docs: usize) -> String {
    let mut rng = SplitMix(seed);
    let mut out = String::new();
    for doc_idx in 0..num_docs {
        let name = format!("synth_{seed}_{doc_idx}");
        let num_words = 20 + rng.below(180);
        let num_clusters = 1 + rng.below(12);
        let mut clusters: Vec<Vec<WordSpan>> = vec![Vec::new(); num_clusters];
        let mut used: Vec<WordSpan> = Vec::new();
        let num_mentions = num_clusters + rng.below(num_words / 3 + 1);
        for m in 0..num_mentions {
            let start = rng.below(num_words);
            let end = (start + rng.below(4)).min(num_words - 1);
            let crosses = used.iter().any(|&(s, e)| {
                (s < start && start <= e && e < end) || (start < s && s <= end && end < e)
            });
            if crosses || used.contains(&(start, end)) {
                continue;
            }
            used.push((start, end));
            let target = if m < num_clusters {
                m
            } else {
                rng.below(num_clusters)
            };
            clusters[target].push((start, end));
        }
        if rng.chance(0.1) && used.len() > 1 && num_clusters > 1 {
            let span = used[rng.below(used.len())];
            let target = rng.below(num_clusters);
            clusters[target].push(span);
        }
        clusters.retain(|c| !c.is_empty());
        let cells = coref_cells(num_words, &clusters);
        let _ = writeln!(out, "#begin document ({name}); part 000");
        for (word, cell) in cells.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}\t0\t{word}\tw{word}\tNN\t-\t-\t-\t-\t-\t*\t{cell}"
            );
            if rng.chance(0.08) {
                out.push('\n');
            }
        }
        out.push_str("\n#end document\n");
    }
    out
}

#[cfg(test)]
#[allow(unused_imports)]
mod tests {
    use super::*;

    #[test]
    fn brackets_are_read_like_the_reference() {
        // Cell order: (N) first, then (N, then N); a close pairs with the latest open of its id.
        let text = "#begin document (d); part 000\n\
                    d\t0\t0\tw\t(1|(2)\n\
                    d\t0\t1\tw\t(1\n\
                    d\t0\t2\tw\t1)|1)|(3)\n\
                    \n\
                    #end document\n";
        let docs = parse_conll(text).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].name, "(d); part 000");
        // Ids: 2 → entity 0 (its (2) is read before (1), 1 → entity 1, 3 → entity 2.
        assert_eq!(
            docs[0].clusters,
            vec![vec![(0, 0)], vec![(1, 2), (0, 2)], vec![(2, 2)]]
        );
    }
}
