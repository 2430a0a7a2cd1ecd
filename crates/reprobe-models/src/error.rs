//! The error type of this crate.
use std::path::PathBuf;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor operation failed (shape errors in our own code end up here).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("cannot access {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint or cache file is unreadable, truncated or inconsistent.
    #[error("{}: {msg}", .path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        msg: String,
    },
    /// The inputs given to a model do not fit together (lengths, index ranges, gold spans).
    #[error("invalid input `{what}`: {msg}")]
    Input {
        /// The input at fault (e.g. `gold.spans[3]`, `inputs.sentence_map`).
        what: String,
        /// What is wrong.
        msg: String,
    },
    /// A configuration value is invalid.
    #[error("invalid value for `{key}`: {msg}")]
    Config {
        /// The configuration key.
        key: String,
        /// What is wrong and what to do.
        msg: String,
    },
    /// A model could not be exported (the destination exists, the head does not fit the encoder, …).
    #[error("cannot export to {}: {msg}", .path.display())]
    Export {
        /// The destination folder.
        path: PathBuf,
        /// What is wrong and what to do.
        msg: String,
    },
    /// A model name resolved to no checkpoint folder (local folder, Hugging Face cache, hub).
    #[error("cannot find model `{name}`; tried:\n  {}", .tried.join("\n  "))]
    ModelNotFound {
        /// The name or path asked for.
        name: String,
        /// Every place tried, with why it did not do.
        tried: Vec<String>,
    },
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
