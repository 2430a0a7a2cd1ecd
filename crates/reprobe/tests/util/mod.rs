//! Helpers shared by the integration tests of the binary.
#![allow(dead_code)]

#[path = "../../../test-util/skip.rs"]
mod skip;
#[allow(unused_imports)]
pub use skip::{current_test, record_skip, skip, skip_fails};
