//! Optimisers, learning-rate schedules and gradient clipping (SPEC §3.6).
