//! The named trainable parameters of a model, in one ordered store.
//!
//! Every piece that learns (a tuned encoder, the aggregator, a head) registers its weights here under a
//! dotted name (`encoders.target.encoder.layer.0.attention.self.query.weight`, `aggregate.query.weight`,
//! `head.span_emb_score_ffnn.0.weight`, …). The optimiser groups, gradient clipping and checkpoints all
//! work from these names, so there is one source of truth for "what is trained".
//!
//! Initial values come from [`ModelRng`] (seeded), never from candle's own random functions, so a CPU
//! run repeats exactly.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor, Var};

use crate::rng::ModelRng;
use crate::{Error, Result};

/// How a new parameter is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Normal with mean 0 and the given standard deviation (coref-hoi's `make_linear`/`make_embedding`: 0.02).
    Normal(f64),
    /// Uniform in `[-bound, bound]` (PyTorch's default `nn.Linear` init uses `1/sqrt(fan_in)`).
    Uniform(f64),
}

/// An ordered, shared map from parameter name to trainable [`Var`]; clones share the same parameters.
#[derive(Debug, Clone)]
pub struct ParamStore {
    vars: Arc<Mutex<BTreeMap<String, Var>>>,
    rng: ModelRng,
    dtype: DType,
    device: Device,
}

impl ParamStore {
    /// An empty store whose new parameters are drawn from `rng` with the given dtype and device.
    pub fn new(rng: ModelRng, dtype: DType, device: Device) -> Self {
        ParamStore {
            vars: Arc::new(Mutex::new(BTreeMap::new())),
            rng,
            dtype,
            device,
        }
    }

    /// The device parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dtype of new parameters.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The random stream new parameters are drawn from.
    pub fn rng(&self) -> &ModelRng {
        &self.rng
    }

    /// The parameter `name`, created with `init` if it does not exist yet.
    ///
    /// An existing parameter must have the asked shape.
    pub fn get_or_init<S: Into<Shape>>(&self, name: &str, shape: S, init: Init) -> Result<Tensor> {
        let shape = shape.into();
        let mut vars = self.lock();
        if let Some(var) = vars.get(name) {
            if var.shape() != &shape {
                return Err(Error::Config {
                    key: name.to_string(),
                    msg: format!(
                        "parameter exists with shape {:?}, asked for {:?}",
                        var.shape(),
                        shape
                    ),
                });
            }
            return Ok(var.as_tensor().clone());
        }
        let tensor = match init {
            Init::Zeros => Tensor::zeros(shape, self.dtype, &self.device)?,
            Init::Ones => Tensor::ones(shape, self.dtype, &self.device)?,
            Init::Normal(std) => self.rng.normal(shape, 0.0, std, self.dtype, &self.device)?,
            Init::Uniform(bound) => {
                self.rng
                    .uniform(shape, -bound, bound, self.dtype, &self.device)?
            }
        };
        let var = Var::from_tensor(&tensor)?;
        let out = var.as_tensor().clone();
        vars.insert(name.to_string(), var);
        Ok(out)
    }

    /// Registers an existing tensor (e.g. a pretrained weight) as the trainable parameter `name`.
    pub fn insert(&self, name: &str, tensor: &Tensor) -> Result<Tensor> {
        let var = Var::from_tensor(tensor)?;
        let out = var.as_tensor().clone();
        self.lock().insert(name.to_string(), var);
        Ok(out)
    }

    /// All parameters, sorted by name.
    pub fn all(&self) -> Vec<(String, Var)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The parameters whose name starts with `prefix`, sorted by name.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, Var)> {
        self.lock()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Number of scalar parameters.
    pub fn num_elements(&self) -> usize {
        self.lock().values().map(|v| v.elem_count()).sum()
    }

    /// Writes every parameter to a safetensors file (atomically: a temporary name, then a rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tensors: Vec<(String, Tensor)> = self
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        save_tensors_atomically(&tensors, path)
    }

    /// Overwrites every parameter from a safetensors file written by [`ParamStore::save`]. Every parameter
    /// of the store must be in the file with the same shape; extra tensors in the file are an error too,
    /// so a checkpoint of another model is never half-loaded.
    pub fn load(&self, path: &Path) -> Result<()> {
        let loaded = candle_core::safetensors::load(path, &self.device).map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            msg: format!("cannot read the weights ({e}); the file may be truncated or not a safetensors file"),
        })?;
        let vars = self.lock();
        for (name, var) in vars.iter() {
            let Some(tensor) = loaded.get(name) else {
                return Err(Error::Checkpoint {
                    path: path.to_path_buf(),
                    msg: format!(
                        "tensor `{name}` is missing: the checkpoint is of a different model"
                    ),
                });
            };
            if tensor.shape() != var.shape() {
                return Err(Error::Checkpoint {
                    path: path.to_path_buf(),
                    msg: format!(
                        "tensor `{name}` has shape {:?}, the model expects {:?}",
                        tensor.shape(),
                        var.shape()
                    ),
                });
            }
            var.set(&tensor.to_dtype(var.dtype())?)?;
        }
        if let Some(extra) = loaded.keys().find(|k| !vars.contains_key(*k)) {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                msg: format!("tensor `{extra}` is not a parameter of this model: the checkpoint is of a different model"),
            });
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Var>> {
        self.vars.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes named tensors to `path` as safetensors through a temporary file and a rename, so that a crash
/// never leaves a half-written file under the final name.
pub fn save_tensors_atomically(tensors: &[(String, Tensor)], path: &Path) -> Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    let map: std::collections::HashMap<String, Tensor> = tensors.iter().cloned().collect();
    candle_core::safetensors::save(&map, &tmp)?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_parameters_and_save_load_round_trip() {
        let a = ParamStore::new(ModelRng::new(5), DType::F32, Device::Cpu);
        let b = ParamStore::new(ModelRng::new(5), DType::F32, Device::Cpu);
        let ta = a.get_or_init("head.w", (3, 4), Init::Normal(0.02)).unwrap();
        let tb = b.get_or_init("head.w", (3, 4), Init::Normal(0.02)).unwrap();
        assert_eq!(ta.to_vec2::<f32>().unwrap(), tb.to_vec2::<f32>().unwrap());
        a.get_or_init("head.b", 4, Init::Zeros).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        a.save(&path).unwrap();
        let c = ParamStore::new(ModelRng::new(99), DType::F32, Device::Cpu);
        c.get_or_init("head.w", (3, 4), Init::Zeros).unwrap();
        c.get_or_init("head.b", 4, Init::Ones).unwrap();
        c.load(&path).unwrap();
        let tc = c.with_prefix("head.w")[0]
            .1
            .as_tensor()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(tc, ta.to_vec2::<f32>().unwrap());
        assert_eq!(a.num_elements(), 16);

        let d = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
        d.get_or_init("other", 2, Init::Zeros).unwrap();
        let err = d.load(&path).unwrap_err().to_string();
        assert!(err.contains("`other` is missing"), "{err}");
    }
}
