//! Devices and dtypes from config strings.
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};

/// Parses `cpu`, `cuda` or `cuda:N` and opens the device.
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        _ if name == "cuda" || name.starts_with("cuda:") => {
            let ordinal: usize = match name.strip_prefix("cuda:") {
                Some(n) => n
                    .parse()
                    .with_context(|| format!("`{name}`: the GPU index is not a number"))?,
                None => 0,
            };
            if !candle_core::utils::cuda_is_available() {
                bail!("`{name}`: this reprobe was built without CUDA; rebuild with `cargo build --release --features cuda`");
            }
            Device::new_cuda(ordinal).with_context(|| format!("cannot open GPU {ordinal}"))
        }
        other => bail!("unknown device `{other}`: use `cpu`, `cuda` or `cuda:N`"),
    }
}

/// Parses `f32`, `bf16` or `f16`.
pub fn parse_dtype(name: &str) -> Result<DType> {
    match name {
        "f32" => Ok(DType::F32),
        "bf16" => Ok(DType::BF16),
        "f16" => Ok(DType::F16),
        other => bail!("unknown dtype `{other}`: use `f32`, `bf16` or `f16`"),
    }
}
