//! Top-span pruning with the non-crossing rule (SPEC §3.3).

/// `K = floor(min(max_num_extracted_spans, top_span_ratio · N))`, computed in f64 as the reference does
/// (`int(min(3900, 0.4 * N))`); `N` counts `[CLS]`/`[SEP]` (SPEC §9.13).
pub fn num_top_spans(
    num_tokens: usize,
    top_span_ratio: f64,
    max_num_extracted_spans: usize,
) -> usize {
    let k = (max_num_extracted_spans as f64).min(top_span_ratio * num_tokens as f64);
    if k.is_finite() && k > 0.0 {
        k.floor() as usize
    } else {
        0
    }
}

/// Greedy selection of up to `k` candidates by descending mention score, skipping any candidate that
/// **crosses** an accepted one (partial overlap; nested and disjoint spans are allowed), then sorted by
/// `(start, end)`. Returns indices into `spans`.
///
/// - Ties in `scores` (unspecified in the reference's `argsort`, SPEC §9.13) are broken by the lower
///   candidate index first (a stable sort).
/// - When fewer than `k` candidates survive, the result is shorter than `k` (our default, SPEC §9.13);
///   with `pad = true` it is padded with copies of the first selected index, as the reference does.
///
/// The crossing test is the reference's: for each token `t` of the candidate `[s, e]`, it crosses if
/// `t > s` and an accepted span starting at `t` ends after `e`, or if `t < e` and an accepted span ending
/// at `t` starts before `s`.
///
/// # Panics
/// If `scores` and `spans` differ in length or a span ends outside `max end + 1` (our own invariants: both
/// come from [`super::spans::enumerate_candidates`]).
pub fn extract_top_spans(
    scores: &[f32],
    spans: &[(usize, usize)],
    k: usize,
    pad: bool,
) -> Vec<usize> {
    assert_eq!(scores.len(), spans.len(), "one score per candidate");
    let mut order: Vec<usize> = (0..spans.len()).collect();
    // Descending by score; `sort_by` is stable, so equal scores keep the lower index first.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    let n = spans.iter().map(|&(_, e)| e + 1).max().unwrap_or(0);
    // For each token: the largest end of an accepted span starting there, the smallest start of an
    // accepted span ending there (`usize::MAX` = none).
    let mut start_to_max_end: Vec<Option<usize>> = vec![None; n];
    let mut end_to_min_start: Vec<Option<usize>> = vec![None; n];
    let mut selected = Vec::with_capacity(k);
    for cand in order {
        if selected.len() >= k {
            break;
        }
        let (s, e) = spans[cand];
        let crosses = (s..=e).any(|t| {
            (t > s && start_to_max_end[t].is_some_and(|max_end| max_end > e))
                || (t < e && end_to_min_start[t].is_some_and(|min_start| min_start < s))
        });
        if crosses {
            continue;
        }
        selected.push(cand);
        if start_to_max_end[s].is_none_or(|max_end| e > max_end) {
            start_to_max_end[s] = Some(e);
        }
        if end_to_min_start[e].is_none_or(|min_start| s < min_start) {
            end_to_min_start[e] = Some(s);
        }
    }
    selected.sort_by_key(|&c| spans[c]);
    if pad {
        if let Some(&first) = selected.first() {
            selected.resize(k, first);
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_as_the_reference_computes_it() {
        assert_eq!(num_top_spans(1100, 0.4, 3900), 440);
        assert_eq!(num_top_spans(5, 0.4, 3900), 2); // 0.4 * 5 = 2.0000000000000004
        assert_eq!(num_top_spans(12_000, 0.4, 3900), 3900);
        assert_eq!(num_top_spans(2, 0.4, 3900), 0);
    }

    #[test]
    fn crossing_spans_are_skipped_nested_and_disjoint_kept() {
        // tokens 0..7; candidates with scores (highest first): (1,3) 0.9, (2,4) 0.8 crosses (1,3),
        // (0,1) 0.7 crosses (1,3), (1,2) 0.6 nested, (0,4) 0.5 contains, (5,6) 0.4 disjoint,
        // (3,4) 0.3 crosses (1,3)
        let spans = vec![(0, 1), (0, 4), (1, 2), (1, 3), (2, 4), (3, 4), (5, 6)];
        let scores = vec![0.7, 0.5, 0.6, 0.9, 0.8, 0.3, 0.4];
        let top = extract_top_spans(&scores, &spans, 10, false);
        let picked: Vec<_> = top.iter().map(|&c| spans[c]).collect();
        assert_eq!(picked, vec![(0, 4), (1, 2), (1, 3), (5, 6)]);
        // Sharing one token at the edge is crossing too: (4,5) against (0,4).
        let top = extract_top_spans(&[0.9, 0.8], &[(0, 4), (4, 5)], 2, false);
        assert_eq!(top, vec![0]);
        // k = 2 stops after the two best non-crossing ones, then sorts by (start, end).
        let top = extract_top_spans(&scores, &spans, 2, false);
        assert_eq!(top, vec![2, 3]);
        // The compat padding repeats the first selected index up to k.
        let top = extract_top_spans(&scores, &spans, 6, true);
        assert_eq!(top, vec![1, 2, 3, 6, 1, 1]);
    }

    #[test]
    fn a_span_ending_inside_an_accepted_one_is_rejected_nested_end_kept() {
        // (2,5) accepted first; (0,3) starts before it and ends inside it: crosses. (3,5) shares its end: nested.
        let spans = vec![(0, 3), (2, 5), (3, 5)];
        let top = extract_top_spans(&[0.5, 0.9, 0.1], &spans, 3, false);
        assert_eq!(top, vec![1, 2]);
    }

    #[test]
    fn ties_go_to_the_lower_candidate_index() {
        let spans = vec![(0, 1), (1, 2), (2, 2)];
        // (0,1) and (1,2) tie and cross: the lower index wins.
        let top = extract_top_spans(&[1.0, 1.0, 0.0], &spans, 2, false);
        assert_eq!(top, vec![0, 2]);
        assert!(extract_top_spans(&[], &[], 3, true).is_empty());
    }
}
