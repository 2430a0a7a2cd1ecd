//! The error type of this crate.
//!
//! Every variant names the input that caused it: the file and line for readers, the tokenizer folder
//! for tokenizers, the document key for preparation. The binary prints the chain with `{:#}`.
use std::path::PathBuf;

/// Everything that can go wrong while reading, writing, tokenizing or preparing documents.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file does not follow its format. `line` is 1-based.
    #[error("{}:{line}: {msg}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number where the problem was found.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A JSON line does not parse or does not fit the expected schema. `line` is 1-based.
    #[error("{}:{line}: invalid JSON document", .path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A record of a JSON data file (a SQuAD question, a TACRED example) is invalid: `record` names it
    /// (e.g. `question 56be85543aeaaa14008c9063`, `record 3 (id 61b3…)`).
    #[error("{}: {record}: {msg}", .path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// Which record.
        record: String,
        /// What is wrong.
        msg: String,
    },
    /// A file or folder could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written (or renamed into place).
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A tokenizer folder is missing its files or holds a tokenizer we cannot use.
    #[error("tokenizer {}: {msg}", .path.display())]
    Tokenizer {
        /// The tokenizer folder or file.
        path: PathBuf,
        /// What is wrong and what is expected.
        msg: String,
    },
    /// The `tokenizers` crate failed on a piece of text.
    #[error("tokenizer failed on {text:?}: {msg}")]
    Tokenize {
        /// The text being tokenized (shortened to 80 characters).
        text: String,
        /// The message of the `tokenizers` crate.
        msg: String,
    },
    /// A document cannot be turned into model segments (or a prepared document is inconsistent).
    #[error("document {doc_key}: {msg}")]
    Document {
        /// The document key (`ID_PART`).
        doc_key: String,
        /// What is wrong.
        msg: String,
    },
    /// A sentence cannot be encoded for a model (e.g. a tag outside the label set). `sentence` is the
    /// caller's 0-based index of the sentence.
    #[error("sentence {sentence}: {msg}")]
    Sentence {
        /// The 0-based index of the sentence, as given by the caller.
        sentence: usize,
        /// What is wrong and what to do.
        msg: String,
    },
    /// An argument given by the caller is invalid (e.g. a segment length below 3).
    #[error("invalid {name}: {msg}")]
    Argument {
        /// The argument's name.
        name: &'static str,
        /// What is wrong.
        msg: String,
    },
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::Parse`] at `line` (1-based) of `path`.
    pub(crate) fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }
}
