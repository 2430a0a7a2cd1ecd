//! What the fused ops share: f32 views of CPU tensors, a bounds-checked matrix product, thread settings, and
//! vectorizable element-wise helpers (sums, maxima, `exp`) for kernels defined with [`simd_kernel`].
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Storage, StorageRef, Tensor};

/// The contiguous f32 values of a CPU tensor, borrowed from its storage.
pub(super) struct F32View<'a> {
    guard: StorageRef<'a>,
    start: usize,
    end: usize,
}

impl F32View<'_> {
    /// The values in row-major order.
    pub(super) fn as_slice(&self) -> &[f32] {
        match &*self.guard {
            Storage::Cpu(CpuStorage::F32(v)) => &v[self.start..self.end],
            _ => unreachable!("checked in `view`"),
        }
    }
}

/// Borrows the values of `t`, which must be a contiguous f32 CPU tensor (call `contiguous()` first when
/// unsure).
pub(super) fn view(t: &Tensor) -> candle_core::Result<F32View<'_>> {
    let (guard, layout) = t.storage_and_layout();
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!(
            "fused op: a tensor of shape {:?} is not contiguous",
            t.dims()
        )
    };
    if !matches!(&*guard, Storage::Cpu(CpuStorage::F32(_))) {
        candle_core::bail!("fused op: f32 CPU tensors only, got {:?}", t.dtype())
    }
    Ok(F32View { guard, start, end })
}

/// The values of a `cpu_fwd` operand, which must be contiguous f32.
pub(super) fn slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("fused op: {what} must be f32, got {:?}", storage.dtype())
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("fused op: {what} must be contiguous")
    };
    Ok(&data[start..end])
}

/// Row and column strides of a matrix stored in a slice from its first element.
#[derive(Debug, Clone, Copy)]
pub(super) struct Strides {
    /// Elements between consecutive rows.
    pub rs: usize,
    /// Elements between consecutive columns.
    pub cs: usize,
}

impl Strides {
    /// A row-major matrix with `cols` columns.
    pub(super) fn rows(cols: usize) -> Self {
        Strides { rs: cols, cs: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub(super) fn transposed(cols: usize) -> Self {
        Strides { rs: 1, cs: cols }
    }

    fn fits(self, rows: usize, cols: usize, len: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < len
    }
}

/// Whether the fused ops split their loops over rayon's pool: only when it has more than one thread. With
/// one, every parallel loop would hand its work to that pool thread and wait for it to wake up, which on a
/// busy machine costs wall-clock time for nothing.
pub(crate) fn parallel() -> bool {
    rayon::current_num_threads() > 1
}

/// How many threads the big matrix products use: all of candle's (the `RAYON_NUM_THREADS` of the process),
/// none extra when that is 1.
pub(super) fn parallelism() -> gemm::Parallelism {
    match candle_core::utils::get_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// `dst = scale · lhs × rhs` (or `dst += …` with `accumulate`) for an `m × k` lhs and a `k × n` rhs, each
/// matrix given by a slice from its first element and its strides.
///
/// # Panics
/// If a matrix reaches past the end of its slice, or `dst` overlaps an operand (impossible with `&mut`).
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    ds: Strides,
    lhs: &[f32],
    ls: Strides,
    rhs: &[f32],
    rs: Strides,
    scale: f32,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    assert!(
        ds.fits(m, n, dst.len()) && ls.fits(m, k, lhs.len()) && rs.fits(k, n, rhs.len()),
        "fused op: a matrix product operand is out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: every element the product reads or writes lies inside its slice (checked above), and `dst`
    // is a unique borrow, so it overlaps neither operand.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            ds.cs as isize,
            ds.rs as isize,
            accumulate,
            lhs.as_ptr(),
            ls.cs as isize,
            ls.rs as isize,
            rhs.as_ptr(),
            rs.cs as isize,
            rs.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Defines `fn $name(args) -> ret` that runs its body compiled with AVX2 and FMA when the CPU has them, so that
/// its loops (over the `#[inline(always)]` helpers of this module) vectorize, and as plain code elsewhere: the
/// crate is built for baseline x86-64 (SSE2).
macro_rules! simd_kernel {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn kernel($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    kernel($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` is compiled for (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            kernel($($arg),*)
        }
    };
}
pub(super) use simd_kernel;

/// Lanes of the vectorizable reductions: independent partial sums that the compiler keeps in one register.
const LANES: usize = 8;

/// `Σ f(a_i, b_i)` with [`LANES`] partial sums (a different order of additions than a plain loop).
#[inline(always)]
pub(super) fn sum_zip(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += f(x[i], y[i]);
        }
    }
    let mut total = 0f32;
    for (&x, &y) in ra.iter().zip(rb) {
        total += f(x, y);
    }
    for a in acc {
        total += a;
    }
    total
}

/// `Σ a_i`.
#[inline(always)]
pub(super) fn sum(a: &[f32]) -> f32 {
    sum_zip(a, a, |x, _| x)
}

/// `Σ a_i b_i`.
#[inline(always)]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    sum_zip(a, b, |x, y| x * y)
}

/// The largest value (`-inf` for an empty slice).
#[inline(always)]
pub(super) fn max(a: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = a.chunks_exact(LANES);
    let rest = chunks.remainder();
    for x in chunks {
        for i in 0..LANES {
            acc[i] = acc[i].max(x[i]);
        }
    }
    let mut top = f32::NEG_INFINITY;
    for &x in acc.iter().chain(rest) {
        top = top.max(x);
    }
    top
}

/// `e^x` in f32 without a library call, so that loops over it vectorize: Cephes' `expf` (range reduction by
/// `ln 2` in two parts, a degree-5 polynomial; relative error below 2e-7), 0 below -87.3 (where `e^x` leaves
/// the normal floats), saturating at 88.37.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LOW: f32 = -87.336_55;
    let xc = x.clamp(LOW, 88.376_26);
    let n = (xc * std::f32::consts::LOG2_E + 0.5).floor();
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let y = p * r * r + r + 1.0;
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x < LOW {
        0.0
    } else {
        y * two_n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_2e7_of_std_and_reductions_add_up() {
        for i in -87_000..88_000 {
            let x = i as f32 / 1000.0;
            let (a, b) = (exp(x), x.exp());
            assert!(((a - b) / b).abs() < 2e-7, "exp({x}) = {a}, std {b}");
        }
        assert_eq!(exp(-1e30), 0.0);
        assert_eq!(exp(f32::MIN), 0.0);
        assert_eq!(exp(0.0), 1.0);
        let v: Vec<f32> = (0..21).map(|i| i as f32 - 7.0).collect();
        assert_eq!(sum(&v), 63.0); // -7 + -6 + … + 13
        assert_eq!(dot(&v, &v), v.iter().map(|x| x * x).sum::<f32>());
        assert_eq!(max(&v), 13.0);
        assert_eq!(max(&v[..3]), -5.0);
    }
}
