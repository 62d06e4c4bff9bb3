//! Element-wise maths written so that the compiler vectorises it: `exp`, the exact-erf GELU and its
//! derivative, over slices. libm's `expf`/`erff` are scalar calls, one element at a time; these are
//! branch-free polynomials over lanes of eight, compiled twice on x86-64 (baseline SSE2 and AVX2 + FMA,
//! picked at run time) and with SIMD128 in the browser build.
//!
//! The polynomial coefficients are quoted as published (Cephes' `expf`; Numerical Recipes' `erfcc`),
//! including digits that f32 rounds away.
//!
//! Accuracy (tested against f64 references below): `exp` within 2 ulp over the range softmax uses;
//! the GELU and its derivative within 3e-7 absolute beyond the rounding of the result (the error
//! function has a relative error below 1.2e-7 on `erfc`).

#![allow(clippy::excessive_precision)]

/// Lanes processed together; the loops below work on `[f32; LANES]` chunks so that each step is one
/// vector operation.
const LANES: usize = 8;

/// `e^x` for one value, branch-free (Cephes' `expf` reduction and polynomial: x = n·ln 2 + r,
/// |r| ≤ ln 2 / 2, e^r by a degree-6 polynomial, 2^n put in the exponent bits). Inputs below −87.3
/// give 0, inputs above 88 give e^88 (never +∞; softmax and the GELU only use x ≤ 0); NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_one(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split in two so that n·C1 is exact.
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // 1.5 · 2^23: adding it rounds to the nearest integer, which then sits in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let xc = x.clamp(-87.3, 88.0);
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = xc - n * C1 - n * C2;
    let r2 = r * r;
    let p = ((((1.987_569_2e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1;
    let y = p * r2 + r + 1.0;
    // n as an integer, from the bits of t (the magic number's mantissa holds it, offset by 2^22).
    let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let scale = f32::from_bits((ni.wrapping_add(127) << 23) as u32);
    let out = y * scale;
    // Below the clamp: a true 0 (softmax's far tail), by a bit mask so that the loop stays branch-free
    // and vectorises. NaN went through the arithmetic above as NaN, and NaN < x is false: kept.
    let keep = ((x >= -87.3) | x.is_nan()) as u32;
    let keep = keep.wrapping_neg();
    f32::from_bits(out.to_bits() & keep)
}

/// erfc(z) for z ≥ 0 (Numerical Recipes' Chebyshev fit: relative error below 1.2e-7 everywhere).
#[inline(always)]
fn erfc_nonneg(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    t * exp_one(-z * z + poly)
}

/// Φ(x), the standard normal CDF: ½·erfc(−x/√2), accurate in both tails.
#[inline(always)]
fn normal_cdf(x: f32) -> f32 {
    let z = x * -std::f32::consts::FRAC_1_SQRT_2;
    let e = erfc_nonneg(z.abs());
    // erfc(−|z|) = 2 − erfc(|z|), selected arithmetically (branch-free).
    let negative = (z < 0.0) as u32 as f32;
    0.5 * (e + negative * (2.0 - 2.0 * e))
}

#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    x * normal_cdf(x)
}

/// d GELU / dx = Φ(x) + x·φ(x).
#[inline(always)]
fn gelu_grad_one(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    normal_cdf(x) + x * INV_SQRT_2PI * exp_one(-0.5 * x * x)
}

/// Applies `f` to every element, a chunk of [`LANES`] at a time.
#[inline(always)]
fn map_in_place(xs: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    let mut chunks = xs.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for x in c.iter_mut() {
            *x = f(*x);
        }
    }
    for x in chunks.into_remainder() {
        *x = f(*x);
    }
}

#[inline(always)]
fn gelu_grad_impl(x: &[f32], grad: &mut [f32]) {
    for (g, &x) in grad.iter_mut().zip(x) {
        *g *= gelu_grad_one(x);
    }
}

/// `softmax` helper: subtracts `shift` from each value, exponentiates in place, returns the sum.
#[inline(always)]
fn exp_shifted_sum_impl(xs: &mut [f32], shift: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (a, x) in acc.iter_mut().zip(c.iter_mut()) {
            *x = exp_one(*x - shift);
            *a += *x;
        }
    }
    let mut sum = 0.0;
    for x in chunks.into_remainder() {
        *x = exp_one(*x - shift);
        sum += *x;
    }
    acc.iter().sum::<f32>() + sum
}

/// Generates a function that runs `$body` with AVX2 + FMA where the CPU has them (checked once) and
/// with the baseline instruction set otherwise.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => $imp:ident) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    $imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU was just checked to have AVX2 and FMA.
                    return unsafe { wide($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

#[inline(always)]
fn gelu_impl(xs: &mut [f32]) {
    map_in_place(xs, gelu_one)
}

#[inline(always)]
fn exp_impl(xs: &mut [f32]) {
    map_in_place(xs, exp_one)
}

multiversion!(
    /// GELU (exact, erf form) in place.
    pub(crate) fn gelu_in_place(xs: &mut [f32]) => gelu_impl
);
multiversion!(
    /// `grad ← grad · GELU′(x)`.
    pub(crate) fn gelu_grad_in_place(x: &[f32], grad: &mut [f32]) => gelu_grad_impl
);
multiversion!(
    /// `e^x` in place.
    pub(crate) fn exp_in_place(xs: &mut [f32]) => exp_impl
);
multiversion!(
    /// `x ← e^(x − shift)`, returning the sum of the results.
    pub(crate) fn exp_shifted_sum(xs: &mut [f32], shift: f32) -> f32 => exp_shifted_sum_impl
);

#[cfg(test)]
mod tests {
    use super::*;

    fn gelu_ref(x: f64) -> f64 {
        0.5 * x * (1.0 + erf_ref(x / std::f64::consts::SQRT_2))
    }

    /// erf to ~1e-15 by its Taylor series (|x| ≤ 3) or continued fraction (beyond).
    fn erf_ref(x: f64) -> f64 {
        let a = x.abs();
        let v = if a <= 3.0 {
            let (mut term, mut sum, mut k) = (a, a, 0.0);
            while term.abs() > 1e-17 {
                k += 1.0;
                term *= -a * a / k;
                sum += term / (2.0 * k + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc by Lentz's continued fraction.
            let mut f = a;
            for k in (1..60).rev() {
                f = a + (k as f64 / 2.0) / f;
            }
            1.0 - (-a * a).exp() / (f * std::f64::consts::PI.sqrt())
        };
        v.copysign(x)
    }

    #[test]
    fn exp_is_within_two_ulp_where_softmax_uses_it() {
        let mut worst = 0.0f64;
        let xs: Vec<f32> = (0..200_001)
            .map(|i| -87.0 + i as f32 * (87.0 + 20.0) / 200_000.0)
            .collect();
        let mut ys = xs.clone();
        exp_in_place(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = (x as f64).exp();
            let ulp = (want as f32).abs() * f32::EPSILON;
            worst = worst.max(((y as f64 - want).abs() / ulp as f64).min(1e9));
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        let mut edge = [-100.0f32, f32::NEG_INFINITY, f32::NAN, 0.0];
        exp_in_place(&mut edge);
        assert_eq!(edge[0], 0.0);
        assert_eq!(edge[1], 0.0);
        assert!(edge[2].is_nan());
        assert_eq!(edge[3], 1.0);
    }

    #[test]
    fn gelu_and_its_derivative_match_the_exact_erf_form() {
        let xs: Vec<f32> = (0..40_001)
            .map(|i| -10.0 + i as f32 * 20.0 / 40_000.0)
            .collect();
        let mut ys = xs.clone();
        gelu_in_place(&mut ys);
        let mut grads = vec![1.0f32; xs.len()];
        gelu_grad_in_place(&xs, &mut grads);
        let (mut worst, mut worst_grad) = (0.0f64, 0.0f64);
        for ((&x, &y), &g) in xs.iter().zip(&ys).zip(&grads) {
            let x64 = x as f64;
            // Absolute error beyond the rounding of the result itself.
            let want_y = gelu_ref(x64);
            worst = worst.max((y as f64 - want_y).abs() - want_y.abs() * f32::EPSILON as f64);
            let pdf = (-0.5 * x64 * x64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let want = 0.5 * (1.0 + erf_ref(x64 / std::f64::consts::SQRT_2)) + x64 * pdf;
            worst_grad = worst_grad.max((g as f64 - want).abs() - want.abs() * f32::EPSILON as f64);
        }
        assert!(worst < 3e-7, "GELU off by {worst}");
        assert!(worst_grad < 3e-7, "GELU' off by {worst_grad}");
        // Far tails: exactly 0 and x.
        let mut tails = [-30.0f32, 30.0];
        gelu_in_place(&mut tails);
        assert_eq!(tails, [0.0, 30.0]);
    }

    #[test]
    fn shifted_exp_sum_is_the_sum_of_the_values() {
        let mut xs: Vec<f32> = (0..1_037).map(|i| (i as f32 * 0.37).sin() * 5.0).collect();
        let want: f64 = xs.iter().map(|&x| ((x - 5.0) as f64).exp()).sum();
        let got = exp_shifted_sum(&mut xs, 5.0);
        assert!(((got as f64) - want).abs() / want < 1e-6, "{got} vs {want}");
    }
}
