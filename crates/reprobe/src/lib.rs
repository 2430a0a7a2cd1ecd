//! The `reprobe` command line and the orchestration behind it: configs and overrides, the train loop,
//! checkpoints, sweeps, reports. The numerics live in the library crates; nothing here computes a score or a
//! tensor of its own.
pub mod cli;
pub mod config;
pub mod device;
pub mod fsutil;
pub mod progress;
pub mod report;
pub mod run_dir;
pub mod sweep;
pub mod tasks;
pub mod tensorboard;
pub mod timestamp;
pub mod train;
pub mod view;
