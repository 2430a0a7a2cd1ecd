//! The named trainable parameters of a model, in one ordered store.
//!
//! Every piece that learns (a tuned encoder, the aggregator, a head) registers its weights here under a
//! dotted name (`encoders.target.encoder.layer.0.attention.self.query.weight`, `aggregate.query.weight`,
//! `head.span_emb_score_ffnn.0.weight`, …). The optimiser groups, gradient clipping and checkpoints all
//! work from these names, so there is one source of truth for "what is trained".
//!
//! Initial values come from [`ModelRng`] (seeded), never from candle's own random functions, so a CPU
//! run repeats exactly.
//!
//! Mixed precision (the standard recipe, as PyTorch AMP): a parameter that a model computes with in bf16
//! or f16 is stored as an f32 master `Var` (what the optimiser updates, clips and checkpoints, and what its
//! moments are shaped after), and the model is handed a half *compute copy*, `master.to_dtype(half)`.
//! Gradients flow from the copy back to the master as f32 (candle's `ToDType` backward), and
//! [`ParamStore::refresh_compute_copies`] writes the updated masters into the copies in place after every
//! optimiser step, so updates far below a half-precision ulp accumulate instead of rounding away.
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
    /// The half-precision compute copies of f32 masters, by parameter name.
    compute_copies: Arc<Mutex<BTreeMap<String, Tensor>>>,
    rng: ModelRng,
    dtype: DType,
    device: Device,
}

impl ParamStore {
    /// An empty store whose new parameters are drawn from `rng` with the given dtype and device.
    pub fn new(rng: ModelRng, dtype: DType, device: Device) -> Self {
        ParamStore {
            vars: Arc::new(Mutex::new(BTreeMap::new())),
            compute_copies: Arc::new(Mutex::new(BTreeMap::new())),
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
    /// An existing parameter must have the asked shape. In a bf16/f16 store the parameter is an f32
    /// master and the tensor returned its half compute copy (see the module docs).
    pub fn get_or_init<S: Into<Shape>>(&self, name: &str, shape: S, init: Init) -> Result<Tensor> {
        let shape = shape.into();
        let vars = self.lock();
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
            let copy = self.copies().get(name).cloned();
            return Ok(copy.unwrap_or_else(|| var.as_tensor().clone()));
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
        drop(vars);
        self.insert(name, &tensor)
    }

    /// Registers an existing tensor (e.g. a pretrained weight) as the trainable parameter `name` and
    /// returns the tensor the model computes with: the parameter itself, or for a bf16/f16 `tensor` the
    /// half compute copy of an f32 master (see the module docs).
    pub fn insert(&self, name: &str, tensor: &Tensor) -> Result<Tensor> {
        let compute_dtype = tensor.dtype();
        let half = matches!(compute_dtype, DType::BF16 | DType::F16);
        let var =
            Var::from_tensor(&tensor.to_dtype(if half { DType::F32 } else { compute_dtype })?)?;
        let out = if half {
            // A fresh contiguous tensor that records `ToDType(master)`, so gradients reach the master.
            let copy = var.as_tensor().to_dtype(compute_dtype)?;
            self.copies().insert(name.to_string(), copy.clone());
            copy
        } else {
            self.copies().remove(name);
            var.as_tensor().clone()
        };
        self.lock().insert(name.to_string(), var);
        Ok(out)
    }

    /// Writes every f32 master into its half compute copy, in place (the model holds clones of the
    /// copies, which share their storage). [`crate::optim::OptimizerSet`] calls this after every step
    /// and [`ParamStore::load`] after loading; call it after changing a master in any other way.
    pub fn refresh_compute_copies(&self) -> Result<()> {
        let vars = self.lock();
        for (name, copy) in self.copies().iter() {
            if let Some(master) = vars.get(name) {
                copy.slice_set(&master.as_tensor().to_dtype(copy.dtype())?, 0, 0)?;
            }
        }
        Ok(())
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
        drop(vars);
        self.refresh_compute_copies()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Var>> {
        self.vars.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn copies(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Tensor>> {
        self.compute_copies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
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

    #[test]
    fn half_parameters_are_f32_masters_with_refreshed_compute_copies() {
        let store = ParamStore::new(ModelRng::new(1), DType::F32, Device::Cpu);
        let half = Tensor::new(&[1.0f32, 2.0], &Device::Cpu)
            .unwrap()
            .to_dtype(DType::BF16)
            .unwrap();
        let copy = store.insert("w", &half).unwrap();
        let master = store.all()[0].1.clone();
        assert_eq!((copy.dtype(), master.dtype()), (DType::BF16, DType::F32));
        let values = |t: &Tensor| t.to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        store.save(&path).unwrap();
        master
            .set(&Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap())
            .unwrap();
        assert_eq!(values(&copy), vec![1.0, 2.0], "stale until refreshed");
        store.refresh_compute_copies().unwrap();
        assert_eq!(values(&copy), vec![3.0, 4.0]);
        store.load(&path).unwrap();
        assert_eq!(
            values(&copy),
            vec![1.0, 2.0],
            "loading refreshes the copies"
        );
        // The gradient through the copy reaches the master as f32.
        let grads = copy.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g = grads.get(master.as_tensor()).unwrap();
        assert_eq!((g.dtype(), values(g)), (DType::F32, vec![2.0, 4.0]));
    }
}
