//! The semi-log distance buckets of coref-hoi (SPEC §3.3).

/// Number of distance buckets (rows of the distance embeddings).
pub const NUM_DISTANCE_BUCKETS: usize = 10;

/// Bucket of a distance: `d` for `d ≤ 4`; `min(9, floor(log2 d) + 3)` above, so 5–7 → 5, 8–15 → 6,
/// 16–31 → 7, 32–63 → 8, ≥ 64 → 9. Distances `≤ 0` go to bucket 0 (the reference clamps them there; those
/// pairs are masked anyway, SPEC §9.13).
///
/// The reference takes `log2` in float32 and truncates; for `5 ≤ d < 64`, the only range where the
/// logarithm matters, that equals the integer `floor(log2 d)` used here.
pub fn bucket_distance(d: i64) -> u32 {
    if d <= 0 {
        0
    } else if d <= 4 {
        d as u32
    } else {
        let floor_log2 = 63 - d.leading_zeros();
        (floor_log2 + 3).min(9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_by_hand() {
        let expect = [
            (-3, 0),
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 4),
            (5, 5),
            (7, 5),
            (8, 6),
            (15, 6),
            (16, 7),
            (31, 7),
            (32, 8),
            (63, 8),
            (64, 9),
            (1000, 9),
            (i64::MAX, 9),
        ];
        for (d, b) in expect {
            assert_eq!(bucket_distance(d), b, "d = {d}");
        }
    }
}
