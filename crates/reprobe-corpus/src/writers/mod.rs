//! Writers: documents → files. One file per format. Files are written atomically ([`crate::atomic`]).
//!
//! - [`conll2012`]: clusters into the last column of a key file, or a minimal 12-column file.
//! - [`jsonlines`]: coref-hoi `*.jsonlines`, byte-compatible with the reference's `json.dumps`.
pub mod conll2012;
pub mod jsonlines;

pub use conll2012::{render_minimal, render_with_key, write_minimal, write_with_key};
pub use jsonlines::{to_json_line, write_jsonlines, PythonJsonFormatter};
