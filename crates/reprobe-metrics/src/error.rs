//! The error type of this crate.

/// What can go wrong: only the parsing of metric names (the metrics themselves cannot fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A metric name is not one of `muc`, `bcub`, `ceafm`, `ceafe`, `blanc`, `lea`.
    #[error("unknown metric `{name}` (expected all, or a comma-separated list of muc, bcub, ceafm, ceafe, blanc, lea)")]
    UnknownMetric {
        /// The name given.
        name: String,
    },
    /// A metric list names no metric.
    #[error("no metric in `{spec}` (expected all, or a comma-separated list of muc, bcub, ceafm, ceafe, blanc, lea)")]
    NoMetric {
        /// The list given.
        spec: String,
    },
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
