//! Configuration: TOML files with `extends`, Hydra-style overrides, sweeps, and the resolved run config.
pub mod load;
pub mod overrides;
