use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use reprobe_models::encoders::checkpoint::weights_fingerprint;

const MIB: usize = 1 << 20;

fn write_weights(path: &Path) {
    let values: Vec<f32> = (0..2 * MIB).map(|i| (i % 1009) as f32 * 0.001).collect();
    let mut tensors = HashMap::new();
    tensors.insert(
        "encoder.layer.0.output.dense.weight".to_string(),
        Tensor::from_vec(values, (2048, 1024), &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&tensors, path).unwrap();
}

#[test]
fn one_byte_the_old_sampling_skipped_changes_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    write_weights(&a);
    let mut bytes = std::fs::read(&a).unwrap();
    let pos = MIB + (64 << 10) + 4096;
    bytes[pos] ^= 0x10;
    std::fs::write(&b, &bytes).unwrap();
    assert_ne!(weights_fingerprint(&a).unwrap(), weights_fingerprint(&b).unwrap());
}
