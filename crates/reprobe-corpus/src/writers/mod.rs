//! Writers: documents → files. One file per format.
//!
//! - [`conll2012`]: clusters into the last column of a key file, or a minimal 12-column file.
pub mod conll2012;

pub use conll2012::{render_minimal, render_with_key, write_minimal, write_with_key};
