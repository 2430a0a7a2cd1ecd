//! Helpers shared by the unit tests of the metrics.
use super::counts::Counts;
use super::mentions::{identify_mentions, Chains};

/// Clusters written as letters: a.. name one-word mentions at word 0..; x, y, z are mentions
/// outside the key of the tests.
pub(crate) fn spans(clusters: &[&str]) -> Vec<Vec<(u32, u32)>> {
    clusters
        .iter()
        .map(|c| {
            c.bytes()
                .map(|b| ((b - b'a') as u32, (b - b'a') as u32))
                .collect()
        })
        .collect()
}

/// The chains of key and response clusters written as letters (see [`spans`]).
pub(crate) fn letter_chains(key: &[&str], response: &[&str]) -> Chains {
    identify_mentions(&spans(key), &spans(response)).chains
}

/// Asserts that the four counts agree within 1e-12.
pub(crate) fn assert_counts(got: Counts, want: Counts) {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(
        close(got.recall_num, want.recall_num)
            && close(got.recall_den, want.recall_den)
            && close(got.precision_num, want.precision_num)
            && close(got.precision_den, want.precision_den),
        "got {got:?}, want {want:?}"
    );
}
