//! Signal building blocks for the generators: RBJ biquad filters, coloured noise, envelopes, damped
//! transients and a 16-bit PCM WAV writer. Everything runs in f64 and is deterministic.

use std::f64::consts::{PI, TAU};

use crate::rng::Rng;

/// A second-order IIR section (Direct Form I), coefficients from R. Bristow-Johnson's
/// "Audio EQ Cookbook".
#[derive(Debug, Clone)]
pub struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    fn from_raw(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Self {
            b: [b0 / a0, b1 / a0, b2 / a0],
            a: [a1 / a0, a2 / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    /// `(cos w0, alpha)` for a corner `f` (clamped below Nyquist) and quality `q`.
    fn corner(f: f64, q: f64, rate: f64) -> (f64, f64) {
        let f = f.clamp(1.0, 0.49 * rate);
        let w0 = TAU * f / rate;
        (w0.cos(), w0.sin() / (2.0 * q))
    }

    /// Low-pass at `f` Hz (q = 0.707 is Butterworth).
    pub fn lowpass(f: f64, q: f64, rate: f64) -> Self {
        let (c, al) = Self::corner(f, q, rate);
        Self::from_raw(
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + al,
            -2.0 * c,
            1.0 - al,
        )
    }

    /// High-pass at `f` Hz.
    pub fn highpass(f: f64, q: f64, rate: f64) -> Self {
        let (c, al) = Self::corner(f, q, rate);
        Self::from_raw(
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + al,
            -2.0 * c,
            1.0 - al,
        )
    }

    /// Filters one sample.
    pub fn step(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }

    /// Filters a buffer in place.
    pub fn run(&mut self, xs: &mut [f64]) {
        for x in xs {
            *x = self.step(*x);
        }
    }
}

/// `n` samples of white Gaussian noise.
pub fn white(rng: &mut Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.normal()).collect()
}

/// Band-limited noise: white noise through a 4th-order band pass (two high-pass and two low-pass
/// Butterworth sections), scaled to unit RMS.
pub fn band_noise(rng: &mut Rng, n: usize, lo: f64, hi: f64, rate: f64) -> Vec<f64> {
    let mut x = white(rng, n);
    for mut f in [
        Biquad::highpass(lo, 0.707, rate),
        Biquad::highpass(lo, 0.707, rate),
        Biquad::lowpass(hi, 0.707, rate),
        Biquad::lowpass(hi, 0.707, rate),
    ] {
        f.run(&mut x);
    }
    normalize_rms(&mut x);
    x
}

/// Scales a buffer to unit RMS (left alone if silent).
pub fn normalize_rms(x: &mut [f64]) {
    let r = rms(x);
    if r > 0.0 {
        x.iter_mut().for_each(|v| *v /= r);
    }
}

/// Root mean square (0 for an empty slice).
pub fn rms(x: &[f64]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
}

/// A raised-cosine (Hann) bump over u ∈ [0, 1]: 0 at both ends, 1 in the middle.
pub fn hann(u: f64) -> f64 {
    if (0.0..=1.0).contains(&u) {
        0.5 - 0.5 * (TAU * u).cos()
    } else {
        0.0
    }
}

/// A plateau with raised-cosine ramps of `ramp` (fraction of the span) at both ends, u ∈ [0, 1].
pub fn tapered(u: f64, ramp: f64) -> f64 {
    if !(0.0..=1.0).contains(&u) {
        return 0.0;
    }
    let r = ramp.max(1e-9);
    let edge = |v: f64| 0.5 - 0.5 * (PI * (v / r).min(1.0)).cos();
    edge(u).min(edge(1.0 - u))
}

/// Adds `a · e^(−t/τ) · sin(2π f t + φ)` starting at sample `at` for `len` samples: the damped
/// sinusoid that models crackles and heart-sound components.
#[allow(clippy::too_many_arguments)]
pub fn add_damped(
    out: &mut [f64],
    at: usize,
    len: usize,
    a: f64,
    f: f64,
    tau: f64,
    phase: f64,
    rate: f64,
) {
    for k in 0..len {
        let Some(o) = out.get_mut(at + k) else { break };
        let t = k as f64 / rate;
        *o += a * (-t / tau).exp() * (TAU * f * t + phase).sin();
    }
}

/// Adds a crackle at sample `at` and returns its length in samples: a sharp initial deflection of
/// width `idw` seconds followed by slower, decaying oscillations whose first two cycles last `two_cd`
/// seconds (the IDW and 2CD of the crackle literature), `1.5 · two_cd` long in all.
pub fn add_crackle(out: &mut [f64], at: usize, idw: f64, two_cd: f64, a: f64, rate: f64) -> usize {
    let (f_start, f_end) = (0.5 / idw, 2.0 / two_cd);
    let tau = two_cd / 2.5;
    let len = (1.5 * two_cd * rate).round() as usize;
    let mut phase = 0.0f64;
    for k in 0..len {
        let Some(o) = out.get_mut(at + k) else { break };
        let t = k as f64 / rate;
        let f = f_end + (f_start - f_end) * (-t / idw).exp();
        let taper = (1.0 - k as f64 / len as f64).min(1.0); // reaches 0 at the end
        *o += a * (-t / tau).exp() * taper * phase.sin();
        phase += TAU * f / rate;
    }
    len
}

/// A 16-bit PCM mono WAV of `samples` (clipped to [−1, 1]).
pub fn pcm16_wav(samples: &[f64], rate: u32) -> Vec<u8> {
    acula_core::audio::wav::encode_pcm16_mono(to_pcm16(samples), rate)
}

/// Samples in [−1, 1] as 16-bit integers (rounded, clipped).
pub fn to_pcm16(samples: &[f64]) -> impl ExactSizeIterator<Item = i16> + '_ {
    samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
}

/// Scales a signal so its largest magnitude is `peak`.
pub fn set_peak(x: &mut [f64], peak: f64) {
    let m = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if m > 0.0 {
        x.iter_mut().for_each(|v| *v *= peak / m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steady-state gain of a filter at frequency `f` (a 1 s tone, last half measured).
    fn gain(mut bq: Biquad, f: f64, rate: f64) -> f64 {
        let n = rate as usize;
        let mut y: Vec<f64> = (0..n).map(|i| (TAU * f * i as f64 / rate).sin()).collect();
        bq.run(&mut y);
        rms(&y[n / 2..]) / std::f64::consts::FRAC_1_SQRT_2
    }

    #[test]
    fn biquads_pass_and_stop_where_they_should() {
        let r = 4000.0;
        // A Butterworth section is −3 dB (×0.707) at its corner.
        assert!((gain(Biquad::lowpass(500.0, 0.707, r), 500.0, r) - 0.707).abs() < 0.01);
        assert!(gain(Biquad::lowpass(500.0, 0.707, r), 50.0, r) > 0.99);
        assert!(gain(Biquad::highpass(500.0, 0.707, r), 50.0, r) < 0.02);
    }

    #[test]
    fn wav_header_and_samples() {
        let b = pcm16_wav(&[0.0, 1.0, -1.0, 2.0], 4000);
        assert_eq!(b.len(), 44 + 8);
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 4000);
        // 1.0 → 32767, −1.0 → −32767, 2.0 clipped to 32767.
        let s: Vec<i16> = b[44..]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(s, vec![0, 32767, -32767, 32767]);
    }

    #[test]
    fn envelopes() {
        assert_eq!(hann(0.5), 1.0);
        assert_eq!(hann(0.0), 0.0);
        assert_eq!(tapered(0.5, 0.1), 1.0);
        assert!((tapered(0.05, 0.1) - 0.5).abs() < 1e-12); // half-way up the ramp
        assert_eq!(tapered(1.5, 0.1), 0.0);
    }
}
