//! Error analysis of one document's predicted clusters against its key: which mentions were missed,
//! which are spurious, which were linked to the wrong entity, and which entities were split or merged.
//!
//! Mentions are compared by exact word span, as the CoNLL scorer compares them. The definitions:
//!
//! - **missed**: a key mention whose span no predicted cluster has;
//! - **spurious**: a predicted mention whose span no key cluster has;
//! - **wrong link**: a predicted mention that is a key mention, is not the first mention (in document
//!   order) of its predicted cluster, and none of the mentions before it in that cluster belongs to
//!   its key cluster: it was attached to a chain of other entities (or of spurious mentions) only;
//! - **split**: a key cluster whose found mentions lie in two or more predicted clusters;
//! - **merged**: a predicted cluster whose key mentions come from two or more key clusters.
//!
//! A span that sits in several clusters of one side counts as a member of the first of them.
use std::collections::{BTreeSet, HashMap};

use reprobe_corpus::{Cluster, Span};

/// What is wrong with one mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionError {
    /// A key mention the prediction lacks.
    Missed,
    /// A predicted mention the key lacks.
    Spurious,
    /// A predicted mention attached only to mentions of other entities.
    WrongLink,
}

/// The errors of one document's prediction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorefErrors {
    /// Per key cluster, per mention (in the cluster's order): `Some(Missed)` or `None`.
    pub key: Vec<Vec<Option<MentionError>>>,
    /// Per predicted cluster, per mention (in the cluster's order): `Some(Spurious)`,
    /// `Some(WrongLink)` or `None`.
    pub predicted: Vec<Vec<Option<MentionError>>>,
    /// Key clusters whose found mentions lie in several predicted clusters: (key cluster, number of
    /// predicted clusters).
    pub split: Vec<(usize, usize)>,
    /// Predicted clusters holding mentions of several key clusters: (predicted cluster, number of key
    /// clusters).
    pub merged: Vec<(usize, usize)>,
}

impl CorefErrors {
    /// Number of mentions with this error (missed ones are key mentions, the others predicted ones).
    pub fn count(&self, error: MentionError) -> usize {
        self.key
            .iter()
            .chain(&self.predicted)
            .flatten()
            .filter(|e| **e == Some(error))
            .count()
    }
}

/// The cluster of every span of `clusters` (the first cluster that has it).
fn cluster_of(clusters: &[Cluster]) -> HashMap<Span, usize> {
    let mut map = HashMap::new();
    for (i, cluster) in clusters.iter().enumerate() {
        for &span in cluster {
            map.entry(span).or_insert(i);
        }
    }
    map
}

/// Classifies the errors of `predicted` against `key` (see the module doc).
pub fn classify(key: &[Cluster], predicted: &[Cluster]) -> CorefErrors {
    let key_of = cluster_of(key);
    let predicted_of = cluster_of(predicted);
    let key_flags = key
        .iter()
        .map(|c| {
            c.iter()
                .map(|s| (!predicted_of.contains_key(s)).then_some(MentionError::Missed))
                .collect()
        })
        .collect();
    let predicted_flags = predicted
        .iter()
        .map(|cluster| {
            cluster
                .iter()
                .map(|span| {
                    let Some(&entity) = key_of.get(span) else {
                        return Some(MentionError::Spurious);
                    };
                    let mut before = cluster.iter().filter(|other| *other < span).peekable();
                    let has_antecedent = before.peek().is_some();
                    let linked_right = before.any(|other| key_of.get(other) == Some(&entity));
                    (has_antecedent && !linked_right).then_some(MentionError::WrongLink)
                })
                .collect()
        })
        .collect();
    let pieces = |clusters: &[Cluster], other_of: &HashMap<Span, usize>| -> Vec<(usize, usize)> {
        clusters
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let others: BTreeSet<usize> =
                    c.iter().filter_map(|s| other_of.get(s).copied()).collect();
                (others.len() > 1).then_some((i, others.len()))
            })
            .collect()
    };
    CorefErrors {
        key: key_flags,
        predicted: predicted_flags,
        split: pieces(key, &predicted_of),
        merged: pieces(predicted, &key_of),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MentionError::*;

    fn clusters(spans: &[&[(usize, usize)]]) -> Vec<Cluster> {
        spans
            .iter()
            .map(|c| c.iter().map(|&(s, e)| Span::new(s, e)).collect())
            .collect()
    }

    #[test]
    fn a_perfect_prediction_has_no_error() {
        let key = clusters(&[&[(0, 1), (5, 5)], &[(2, 3), (8, 8)]]);
        let errors = classify(&key, &key);
        assert_eq!(errors.key, vec![vec![None, None], vec![None, None]]);
        assert_eq!(errors.predicted, errors.key);
        assert!(errors.split.is_empty() && errors.merged.is_empty());
    }

    #[test]
    fn a_missed_mention_is_marked_on_the_key_only() {
        // Key {0-1, 5, 9}; the prediction finds 0-1 and 5 but not 9.
        let key = clusters(&[&[(0, 1), (5, 5), (9, 9)]]);
        let predicted = clusters(&[&[(0, 1), (5, 5)]]);
        let errors = classify(&key, &predicted);
        assert_eq!(errors.key, vec![vec![None, None, Some(Missed)]]);
        assert_eq!(errors.predicted, vec![vec![None, None]]);
        assert_eq!(errors.count(Missed), 1);
        assert!(errors.split.is_empty() && errors.merged.is_empty());
    }

    #[test]
    fn a_spurious_mention_is_not_also_a_wrong_link() {
        // 7 is in no key cluster: spurious; 9 after it still has its coreferent 0-1 before it.
        let key = clusters(&[&[(0, 1), (9, 9)]]);
        let predicted = clusters(&[&[(0, 1), (7, 7), (9, 9)]]);
        let errors = classify(&key, &predicted);
        assert_eq!(errors.predicted, vec![vec![None, Some(Spurious), None]]);
        assert_eq!(errors.count(WrongLink), 0);
        assert!(
            errors.merged.is_empty(),
            "a spurious mention merges nothing"
        );
    }

    #[test]
    fn a_mention_linked_into_another_entity_is_a_wrong_link_and_merges() {
        // Key A = {0, 4}, B = {2, 6}. Predicted {0, 2, 4}: 2 (B) follows only 0 (A) → wrong link;
        // 4 (A) has 0 (A) before it → right. The cluster merges A and B; 6 is missed, so B's found
        // mentions lie in one predicted cluster and B is not split.
        let key = clusters(&[&[(0, 0), (4, 4)], &[(2, 2), (6, 6)]]);
        let predicted = clusters(&[&[(0, 0), (2, 2), (4, 4)]]);
        let errors = classify(&key, &predicted);
        assert_eq!(errors.predicted, vec![vec![None, Some(WrongLink), None]]);
        assert_eq!(errors.key, vec![vec![None, None], vec![None, Some(Missed)]]);
        assert_eq!(errors.merged, vec![(0, 2)]);
        assert!(errors.split.is_empty());
    }

    #[test]
    fn a_mention_linked_only_to_a_spurious_one_is_a_wrong_link() {
        let key = clusters(&[&[(3, 3), (8, 8)]]);
        let predicted = clusters(&[&[(1, 1), (3, 3)], &[(8, 8), (9, 9)]]);
        let errors = classify(&key, &predicted);
        assert_eq!(
            errors.predicted,
            vec![
                vec![Some(Spurious), Some(WrongLink)],
                vec![None, Some(Spurious)]
            ]
        );
        // The key cluster's found mentions 3 and 8 are in two predicted clusters.
        assert_eq!(errors.split, vec![(0, 2)]);
    }

    #[test]
    fn a_split_entity_needs_no_wrong_link() {
        // Key {0, 3, 6, 9} predicted as {0, 3} and {6, 9}: one split in two, no mention error.
        let key = clusters(&[&[(0, 0), (3, 3), (6, 6), (9, 9)]]);
        let predicted = clusters(&[&[(0, 0), (3, 3)], &[(6, 6), (9, 9)]]);
        let errors = classify(&key, &predicted);
        assert_eq!(errors.split, vec![(0, 2)]);
        assert!(errors.merged.is_empty());
        assert_eq!(errors.count(WrongLink) + errors.count(Missed), 0);
    }

    #[test]
    fn order_in_the_document_decides_the_antecedent_not_order_in_the_cluster() {
        // The predicted cluster lists its mentions out of order: 2 (B) still comes after 0 (A).
        let key = clusters(&[&[(0, 0), (4, 4)], &[(2, 2), (6, 6)]]);
        let predicted = clusters(&[&[(4, 4), (2, 2), (0, 0)], &[(6, 6)]]);
        let errors = classify(&key, &predicted);
        assert_eq!(errors.predicted[0], vec![None, Some(WrongLink), None]);
        assert_eq!(errors.split, vec![(1, 2)]);
        assert_eq!(errors.merged, vec![(0, 2)]);
    }

    /// The viewer's fixture document (tests/fixtures/view/key.conll, pred.conll), counted by hand:
    /// John {0-1, 3, 11, 18, 24}, Mary {3-5, 9, 22}, Oslo {7, 13-14, 20}, dog {24-25, 27}; predicted
    /// {0-1, 3, 11}, {3-5, 9, 22, 24-25, 27}, {7, 16, 20}, {18, 24}.
    #[test]
    fn the_fixture_document() {
        let key = clusters(&[
            &[(0, 1), (3, 3), (11, 11), (18, 18), (24, 24)],
            &[(3, 5), (9, 9), (22, 22)],
            &[(7, 7), (13, 14), (20, 20)],
            &[(24, 25), (27, 27)],
        ]);
        let predicted = clusters(&[
            &[(0, 1), (3, 3), (11, 11)],
            &[(3, 5), (9, 9), (22, 22), (24, 25), (27, 27)],
            &[(7, 7), (16, 16), (20, 20)],
            &[(18, 18), (24, 24)],
        ]);
        let errors = classify(&key, &predicted);
        assert_eq!(errors.key[2], vec![None, Some(Missed), None]);
        assert_eq!(errors.count(Missed), 1);
        assert_eq!(errors.predicted[2], vec![None, Some(Spurious), None]);
        assert_eq!(errors.count(Spurious), 1);
        assert_eq!(
            errors.predicted[1],
            vec![None, None, None, Some(WrongLink), None]
        );
        assert_eq!(errors.count(WrongLink), 1);
        assert_eq!(errors.split, vec![(0, 2)]);
        assert_eq!(errors.merged, vec![(1, 2)]);
    }
}
