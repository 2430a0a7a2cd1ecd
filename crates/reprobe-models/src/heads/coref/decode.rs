//! Greedy decoding of antecedent scores into clusters (SPEC §3.5).
use std::collections::HashMap;

use candle_core::{DType, Tensor};

use crate::{Error, Result};

/// The predicted antecedent of each top span: `None` when column 0 (the dummy) holds the row's first
/// maximum — so ties go to the dummy — else `antecedent_indices[i][argmax − 1]` (SPEC §3.5).
///
/// # Shapes
/// - `antecedent_scores`: `[K, A+1]`, `antecedent_indices`: `[K][A]`
pub fn predicted_antecedents(
    antecedent_indices: &[Vec<usize>],
    antecedent_scores: &Tensor,
) -> Result<Vec<Option<usize>>> {
    let (k, cols) = antecedent_scores.dims2()?;
    if k != antecedent_indices.len() {
        return Err(Error::Input {
            what: "antecedent_scores".to_string(),
            msg: format!("{k} rows for {} top spans", antecedent_indices.len()),
        });
    }
    let scores: Vec<f32> = antecedent_scores
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1()?;
    let mut out = Vec::with_capacity(k);
    for (i, row) in antecedent_indices.iter().enumerate() {
        let values = &scores[i * cols..(i + 1) * cols];
        let mut best = 0;
        for (c, &v) in values.iter().enumerate() {
            if v > values[best] {
                best = c;
            }
        }
        out.push(if best == 0 {
            None
        } else {
            row.get(best - 1).copied()
        });
    }
    Ok(out)
}

/// Clusters from antecedent links, as coref-hoi's `get_predicted_clusters`: in span order, a span with an
/// antecedent joins the cluster of the antecedent's span (creating it with the antecedent first). Spans are
/// matched by `(start, end)`, so copies of one span (the reference's padding) share a cluster.
pub fn clusters_from_antecedents(
    spans: &[(usize, usize)],
    antecedents: &[Option<usize>],
) -> Vec<Vec<(usize, usize)>> {
    let mut clusters: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut cluster_of: HashMap<(usize, usize), usize> = HashMap::new();
    for (i, antecedent) in antecedents.iter().enumerate() {
        let Some(&j) = antecedent.as_ref() else {
            continue;
        };
        let (Some(&antecedent_span), Some(&span)) = (spans.get(j), spans.get(i)) else {
            continue;
        };
        let id = *cluster_of.entry(antecedent_span).or_insert_with(|| {
            clusters.push(vec![antecedent_span]);
            clusters.len() - 1
        });
        clusters[id].push(span);
        cluster_of.insert(span, id);
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn argmax_first_max_wins_and_ties_go_to_the_dummy() {
        let inf = f32::NEG_INFINITY;
        let scores = Tensor::new(
            &[
                [0.0f32, inf, inf],
                [0.0, 1.0, -1.0],
                [0.0, 0.0, -2.0],  // tie with the dummy → dummy
                [0.0, 3.0, 3.0],   // tie between antecedents → the first column
                [0.0, -1.0, -0.5], // all below 0 → dummy
            ],
            &Device::Cpu,
        )
        .unwrap();
        let idx = vec![vec![0, 1], vec![0, 1], vec![1, 0], vec![2, 0], vec![3, 2]];
        let ants = predicted_antecedents(&idx, &scores).unwrap();
        assert_eq!(ants, vec![None, Some(0), None, Some(2), None]);
    }

    #[test]
    fn clusters_by_hand() {
        // 0:(0,0) 1:(2,3) 2:(5,5) 3:(7,8) 4:(9,9)
        let spans = vec![(0, 0), (2, 3), (5, 5), (7, 8), (9, 9)];
        // 2 → 0, 3 → 1, 4 → 2: clusters {0,2,4} and {1,3}, in order of creation.
        let ants = vec![None, None, Some(0), Some(1), Some(2)];
        assert_eq!(
            clusters_from_antecedents(&spans, &ants),
            vec![vec![(0, 0), (5, 5), (9, 9)], vec![(2, 3), (7, 8)]]
        );
        assert!(clusters_from_antecedents(&spans, &[None; 5]).is_empty());
        // A padded copy of span 0 (index 3) linking to span 0 joins it: the cluster holds the span twice,
        // as the reference's would.
        let spans = vec![(0, 0), (2, 3), (4, 4), (0, 0)];
        let ants = vec![None, Some(0), None, Some(0)];
        assert_eq!(
            clusters_from_antecedents(&spans, &ants),
            vec![vec![(0, 0), (2, 3), (0, 0)]]
        );
    }
}
