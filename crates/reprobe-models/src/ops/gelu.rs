//! A fast exact-form GELU for f32 on CPU.
//!
//! candle 0.11 computes `gelu_erf` element by element with an f64 `erf` on one thread: 12–18 ms for
//! one `[384, 3072]` intermediate activation of bert-base on this machine, about as long as the two
//! matrix products around it for MiniLM. This op evaluates `x/2 · (1 + erf(x/√2))` with the
//! Abramowitz–Stegun 7.1.26 rational approximation of `erf` (absolute error ≤ 1.5e-7, so the GELU differs
//! from the exact one by at most `|x|·7.5e-8`, far below the 1e-5 tolerance of the golden tests) in f32,
//! in parallel. Its gradient is the exact `Φ(x) + x·φ(x)` built from candle ops. [`gelu`] and
//! [`gelu_derivative`] are the scalar forms that the fused linear layer (`linear.rs`) applies, with a
//! vectorizable `exp` in place of the library's (relative error below 2e-7).
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu;
use crate::Result;

/// `gelu_erf` of `xs`: the fast op for f32 on CPU, candle's own otherwise.
///
/// # Shapes
/// - `xs`: any; output: same
pub(crate) fn gelu_erf(xs: &Tensor) -> Result<Tensor> {
    if xs.dtype() == DType::F32 && xs.device().is_cpu() {
        Ok(xs.contiguous()?.apply_op1(FastGeluErf)?)
    } else {
        Ok(xs.gelu_erf()?)
    }
}

/// erf(x) for x ≥ 0 (Abramowitz & Stegun 7.1.26), odd extension.
#[inline]
fn erf_as(x: f32) -> f32 {
    erf_with(x, f32::exp)
}

/// [`erf_as`] with `exp` for `e^x`.
#[inline(always)]
fn erf_with(x: f32, exp: impl Fn(f32) -> f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_7;
    const A4: f32 = -1.453_152;
    const A5: f32 = 1.061_405_4;
    let a = x.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// `x Φ(x)`, the exact GELU, with the fast `erf` and the vectorizable `exp` (loops over it vectorize under
/// [`super::cpu::simd`]).
#[inline(always)]
pub(super) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_with(x * std::f32::consts::FRAC_1_SQRT_2, cpu::exp))
}

/// `Φ(x) + x φ(x)`, the derivative of [`gelu`], likewise.
#[inline(always)]
pub(super) fn gelu_derivative(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let cdf = 0.5 * (1.0 + erf_with(x * std::f32::consts::FRAC_1_SQRT_2, cpu::exp));
    cdf + x * INV_SQRT_2PI * cpu::exp(-0.5 * x * x)
}

struct FastGeluErf;

impl CustomOp1 for FastGeluErf {
    fn name(&self) -> &'static str {
        "fast-gelu-erf"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("fast-gelu-erf: f32 only")
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("fast-gelu-erf: the input must be contiguous")
        };
        let src = &data[start..end];
        let mut dst = vec![0f32; src.len()];
        dst.par_chunks_mut(8192)
            .zip(src.par_chunks(8192))
            .for_each(|(d, s)| {
                for (o, &x) in d.iter_mut().zip(s) {
                    *o = 0.5 * x * (1.0 + erf_as(x * std::f32::consts::FRAC_1_SQRT_2));
                }
            });
        Ok((CpuStorage::F32(dst), layout.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        // d/dx [x Φ(x)] = Φ(x) + x φ(x)
        let cdf = (((arg * std::f64::consts::FRAC_1_SQRT_2)?.erf()? + 1.0)? * 0.5)?;
        let pdf = ((arg.sqr()? * -0.5)?.exp()?
            * (0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2))?;
        let dgelu = (cdf + (arg * pdf)?)?;
        Ok(Some(grad_res.mul(&dgelu)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candle_exact_gelu_and_its_gradient() {
        let xs: Vec<f32> = (0..4001).map(|i| (i as f32 - 2000.0) / 200.0).collect(); // [-10, 10]
        let x = Var::new(xs.as_slice(), &Device::Cpu).unwrap();
        let fast = gelu_erf(x.as_tensor()).unwrap();
        let exact = x.as_tensor().gelu_erf().unwrap();
        let diff = (&fast - &exact).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-6);
        let g_fast = fast.sum_all().unwrap().backward().unwrap();
        let g_exact = exact.sum_all().unwrap().backward().unwrap();
        let (a, b) = (g_fast.get(&x).unwrap(), g_exact.get(&x).unwrap());
        let diff = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
        // Hand values: gelu(1) = Φ(1) = 0.841344746, gelu(-1) = -0.158655254.
        let v = gelu_erf(&Tensor::new(&[1f32, -1.0, 0.0], &Device::Cpu).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(
            (v[0] - 0.841_344_7).abs() < 1e-6 && (v[1] + 0.158_655_25).abs() < 1e-6 && v[2] == 0.0,
            "{v:?}"
        );
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use candle_core::Device;

    #[test]
    #[ignore = "timing, run in release: cargo test --release -p reprobe-models --lib gelu_timing -- --ignored --nocapture"]
    fn gelu_timing() {
        let xs = Tensor::randn(0f32, 1., (384, 3072), &Device::Cpu).unwrap();
        let time = |f: &dyn Fn()| {
            f();
            (0..20)
                .map(|_| {
                    let s = std::time::Instant::now();
                    f();
                    s.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::INFINITY, f64::min)
        };
        let fast = time(&|| {
            gelu_erf(&xs).unwrap();
        });
        let candle = time(&|| {
            xs.gelu_erf().unwrap();
        });
        println!("[384, 3072] GELU: fast {fast:.2} ms, candle gelu_erf {candle:.2} ms");
    }
}
