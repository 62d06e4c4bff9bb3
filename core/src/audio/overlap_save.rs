//! Sample-rate conversion by overlap-save in the frequency domain, for rational ratios whose reduced
//! input side `p = from / gcd(from, to)` has only the factors 2, 3, 5 and 7 (every rate that occurs in
//! practice: 8, 11.025, 22.05, 32, 44.1, 48, 96 kHz and more).
//!
//! The anti-aliasing filter is a zero-phase Kaiser-windowed sinc, ~130 dB down from the new Nyquist
//! frequency on, with its transition band the top 5.5 % below it (7.56–8 kHz when going to 16 kHz; soxr's
//! HQ passband ends at 91.3 %). Zero phase makes its frequency response real, so a block of input is
//! filtered and resampled by one forward FFT of `n_in = p·k` points, a product with that real response
//! on the bins below the new Nyquist frequency, and one inverse FFT of `n_out = q·k` points; the filter's
//! reach on both sides (`half` input samples, a multiple of `p`) is the overlap between blocks. Two
//! consecutive blocks travel through one complex transform, as its real and imaginary parts: a real
//! filter keeps them apart, so no real-FFT pre- or post-processing is needed.
//!
//! Each pair of blocks depends only on the input, so the result is the same on any number of threads.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

/// Stopband attenuation of the filter in dB.
const ATTENUATION_DB: f64 = 130.0;
/// Width of the transition band as a share of the lower Nyquist frequency.
const TRANSITION: f64 = 0.055;
/// Largest reduced input side `p` handled here; others go to the general resampler.
const MAX_P: usize = 4_096;
/// Largest forward transform considered.
const MAX_N_IN: usize = 1 << 18;

/// A planned conversion from one rate to another: the transforms and the filter's response.
pub struct Plan {
    p: usize,
    q: usize,
    /// Input samples of context on each side of a block (the filter's reach), a multiple of `p`.
    half: usize,
    /// Input samples whose output one block produces, a multiple of `p`.
    step: usize,
    n_in: usize,
    n_out: usize,
    /// The filter's real frequency response on bins `0..=c`, divided by `n_in`.
    response: Vec<f32>,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
    scratch_len: usize,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("p", &self.p)
            .field("q", &self.q)
            .field("half", &self.half)
            .field("n_in", &self.n_in)
            .field("n_out", &self.n_out)
            .finish()
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Whether `n` has no prime factor above 7.
fn seven_smooth(mut n: usize) -> bool {
    if n == 0 {
        return false;
    }
    for f in [2, 3, 5, 7] {
        while n.is_multiple_of(f) {
            n /= f;
        }
    }
    n == 1
}

/// Modified Bessel function of the first kind, order 0 (power series; converges for the β used here).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

impl Plan {
    /// Plans the conversion `from` → `to` Hz, or `None` when the ratio is not one this method takes
    /// (equal rates, or a reduced input side that is large or has a prime factor above 7).
    pub fn new(from: u32, to: u32) -> Option<Self> {
        if from == 0 || to == 0 || from == to {
            return None;
        }
        let (from, to) = (from as usize, to as usize);
        let g = gcd(from, to);
        let (p, q) = (from / g, to / g);
        if p > MAX_P || !seven_smooth(p) || !seven_smooth(q) {
            return None;
        }
        let nyquist = from.min(to) as f64 / 2.0;
        let width = TRANSITION * nyquist;
        // Kaiser's estimate of the taps for this attenuation and transition width (in radians per
        // input sample), rounded up to a whole number of `p` on each side.
        let width_rad = 2.0 * std::f64::consts::PI * width / from as f64;
        let taps = (ATTENUATION_DB - 7.95) / (2.285 * width_rad);
        let half = ((taps / 2.0).ceil() as usize).div_ceil(p).max(1) * p;
        // Block size: n_in = p·k with both transforms 7-smooth, the cheapest per useful sample.
        let mut best: Option<(f64, usize)> = None;
        let mut k = (4 * half).div_ceil(p).max(1);
        while p * k <= MAX_N_IN && q * k <= MAX_N_IN && p * k <= 64 * half.max(64) {
            let (n_in, n_out) = (p * k, q * k);
            if seven_smooth(k) && n_in > 2 * half {
                let cost = (n_in as f64 * (n_in as f64).log2()
                    + n_out as f64 * (n_out as f64).log2())
                    / (n_in - 2 * half) as f64;
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, k));
                }
            }
            k += 1;
        }
        let (_, k) = best?;
        let (n_in, n_out) = (p * k, q * k);
        let step = n_in - 2 * half;
        let mut planner = FftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(n_in);
        let inverse = planner.plan_fft_inverse(n_out);
        let scratch_len = forward
            .get_inplace_scratch_len()
            .max(inverse.get_inplace_scratch_len());

        // The filter in time: a sinc cut off mid-transition, Kaiser-windowed over ±half samples,
        // normalised to unit gain at 0 Hz; its response from one f64 DFT, laid out circularly.
        let cutoff = (nyquist - width / 2.0) / from as f64; // cycles per input sample
        let beta = 0.1102 * (ATTENUATION_DB - 8.7);
        let i0_beta = bessel_i0(beta);
        let taps: Vec<f64> = (0..=half)
            .map(|n| {
                let x = n as f64;
                let sinc = if n == 0 {
                    2.0 * cutoff
                } else {
                    (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
                };
                let r = x / half as f64;
                sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0_beta
            })
            .collect();
        let dc: f64 = taps[0] + 2.0 * taps[1..].iter().sum::<f64>();
        let c = ((nyquist * n_in as f64 / from as f64).floor() as usize)
            .min(n_in / 2 - 1)
            .min(n_out / 2 - 1);
        let mut planner64 = FftPlanner::<f64>::new();
        let fft64 = planner64.plan_fft_forward(n_in);
        let mut buf = vec![rustfft::num_complex::Complex64::new(0.0, 0.0); n_in];
        buf[0].re = taps[0];
        for (n, &t) in taps.iter().enumerate().skip(1) {
            buf[n].re = t;
            buf[n_in - n].re = t;
        }
        fft64.process(&mut buf);
        let response = buf[..=c]
            .iter()
            .map(|z| (z.re / dc / n_in as f64) as f32)
            .collect();
        Some(Self {
            p,
            q,
            half,
            step,
            n_in,
            n_out,
            response,
            forward,
            inverse,
            scratch_len,
        })
    }

    /// Output samples for `len` input samples: `ceil(len · to / from)`.
    pub fn output_len(&self, len: usize) -> usize {
        (len as u64 * self.q as u64).div_ceil(self.p as u64) as usize
    }

    /// Output samples per block.
    fn block_out(&self) -> usize {
        self.step / self.p * self.q
    }

    /// Resamples `samples` on up to `threads` threads (the result does not depend on the number).
    pub fn process(&self, samples: &[f32], threads: usize) -> Vec<f32> {
        self.run(samples, threads, f32::NAN).0
    }

    /// [`Self::process`], or `None` when a sample is NaN or larger than `limit` in magnitude (so also
    /// infinite, for a finite `limit`): the check rides along with reading the input (one pass over
    /// memory, not two).
    pub fn process_checked(&self, samples: &[f32], threads: usize, limit: f32) -> Option<Vec<f32>> {
        let (out, ok) = self.run(samples, threads, limit);
        ok.then_some(out)
    }

    /// The output and whether every sample passed `|x| <= limit` (never, for a NaN limit).
    fn run(&self, samples: &[f32], threads: usize, limit: f32) -> (Vec<f32>, bool) {
        let total = self.output_len(samples.len());
        let mut out = vec![0.0f32; total];
        let per_pair = 2 * self.block_out();
        let pairs = total.div_ceil(per_pair);
        // Two pairs per thread at least: below that, starting threads costs more than it saves.
        let threads = threads.clamp(1, pairs.div_ceil(2).max(1));
        if threads == 1 {
            let ok = self.process_pairs(samples, 0, &mut out, limit);
            return (out, ok);
        }
        let pairs_per_thread = pairs.div_ceil(threads);
        let ok = std::thread::scope(|scope| {
            let mut rest = out.as_mut_slice();
            let mut first = 0;
            let mut handles = Vec::new();
            let mut ok = true;
            while !rest.is_empty() {
                let take = (pairs_per_thread * per_pair).min(rest.len());
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(take);
                rest = tail;
                let start = first;
                if rest.is_empty() {
                    // The last piece runs on this thread.
                    ok &= self.process_pairs(samples, start, head, limit);
                } else {
                    handles
                        .push(scope.spawn(move || self.process_pairs(samples, start, head, limit)));
                }
                first += pairs_per_thread;
            }
            // A thread that panicked (it cannot: no indexing depends on the input) counts as a failure.
            handles
                .into_iter()
                .fold(ok, |ok, h| ok & h.join().unwrap_or(false))
        });
        (out, ok)
    }

    /// Fills `dst`, the output from pair `first_pair` on, pair by pair; whether every sample read
    /// passed `|x| <= limit`.
    fn process_pairs(
        &self,
        samples: &[f32],
        first_pair: usize,
        dst: &mut [f32],
        limit: f32,
    ) -> bool {
        let mut ok = true;
        let block_out = self.block_out();
        let skip = self.half / self.p * self.q;
        let c = self.response.len() - 1;
        let mut buf = vec![Complex32::new(0.0, 0.0); self.n_in];
        let mut spec = vec![Complex32::new(0.0, 0.0); self.n_out];
        let mut scratch = vec![Complex32::new(0.0, 0.0); self.scratch_len];
        for (i, chunk) in dst.chunks_mut(2 * block_out).enumerate() {
            let pair = first_pair + i;
            let start = |b: usize| (b * self.step) as isize - self.half as isize;
            ok &= self.fill(
                samples,
                start(2 * pair),
                start(2 * pair + 1),
                &mut buf,
                limit,
            );
            self.forward.process_with_scratch(&mut buf, &mut scratch);
            // Bins 1..=c and their mirrors n−c..n, both times the response at 1..=c.
            let h = &self.response;
            spec[0] = buf[0] * h[0];
            for ((s, z), h) in spec[1..=c].iter_mut().zip(&buf[1..=c]).zip(&h[1..]) {
                *s = z * h;
            }
            for ((s, z), h) in spec[self.n_out - c..]
                .iter_mut()
                .rev()
                .zip(buf[self.n_in - c..].iter().rev())
                .zip(&h[1..])
            {
                *s = z * h;
            }
            // The inverse transform worked in place: the bins between the two bands are zeroed again.
            spec[c + 1..self.n_out - c].fill(Complex32::new(0.0, 0.0));
            self.inverse.process_with_scratch(&mut spec, &mut scratch);
            let (a, b) = chunk.split_at_mut(block_out.min(chunk.len()));
            for (d, s) in a.iter_mut().zip(&spec[skip..]) {
                *d = s.re;
            }
            for (d, s) in b.iter_mut().zip(&spec[skip..]) {
                *d = s.im;
            }
        }
        ok
    }

    /// The input of two blocks starting at `a` and `b` (may be negative or past the end: zeros there),
    /// as the real and imaginary parts of `buf`; whether every sample read passed `|x| <= limit`.
    fn fill(&self, samples: &[f32], a: isize, b: isize, buf: &mut [Complex32], limit: f32) -> bool {
        let mut ok = true;
        let at = |s: isize, i: usize| -> f32 {
            let j = s + i as isize;
            if j >= 0 && (j as usize) < samples.len() {
                samples[j as usize]
            } else {
                0.0
            }
        };
        let inside = |s: isize| s >= 0 && s as usize + self.n_in <= samples.len();
        if inside(a) && inside(b) {
            let (ra, rb) = (
                &samples[a as usize..a as usize + self.n_in],
                &samples[b as usize..b as usize + self.n_in],
            );
            for ((z, &x), &y) in buf.iter_mut().zip(ra).zip(rb) {
                *z = Complex32::new(x, y);
                ok &= (x.abs() <= limit) & (y.abs() <= limit);
            }
        } else {
            for (i, z) in buf.iter_mut().enumerate() {
                let (x, y) = (at(a, i), at(b, i));
                *z = Complex32::new(x, y);
                ok &= (x.abs() <= limit) & (y.abs() <= limit);
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_for_the_rates_that_occur() {
        for from in [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000, 4_000] {
            let plan = Plan::new(from, 16_000).unwrap_or_else(|| panic!("{from} Hz has no plan"));
            assert_eq!(plan.half % plan.p, 0, "{from}");
            assert_eq!(plan.step % plan.p, 0, "{from}");
            assert!(plan.n_in > 2 * plan.half, "{from}");
        }
        // 44,101 Hz: p = 44,101 (prime) goes to the general resampler.
        assert!(Plan::new(44_101, 16_000).is_none());
        assert!(Plan::new(16_000, 16_000).is_none());
    }

    #[test]
    fn the_response_is_flat_then_stops() {
        let plan = Plan::new(44_100, 16_000).unwrap();
        let hz = |j: usize| j as f64 * 44_100.0 / plan.n_in as f64;
        for (j, &h) in plan.response.iter().enumerate() {
            let gain = f64::from(h) * plan.n_in as f64;
            if hz(j) <= 7_500.0 {
                assert!((gain - 1.0).abs() < 1e-5, "{} Hz: {gain}", hz(j));
            }
            if hz(j) >= 8_000.0 {
                assert!(gain.abs() < 1e-6, "{} Hz: {gain}", hz(j));
            }
        }
    }

    /// Tones below the passband edge come out as the same tones sampled at the new rate, sample for
    /// sample, away from the clip's ends (where the zeros outside the clip are part of the filter's input).
    #[test]
    fn passband_tones_are_sampled_exactly() {
        let tones = [
            (97.0, 0.3, 0.1),
            (1_234.5, 0.25, 1.0),
            (5_000.0, 0.2, 2.0),
            (7_500.0, 0.2, 0.5),
        ];
        let signal = |t: f64| -> f64 {
            tones
                .iter()
                .map(|&(f, a, ph)| a * (2.0 * std::f64::consts::PI * f * t + ph).sin())
                .sum()
        };
        for from in [22_050u32, 32_000, 44_100, 48_000, 96_000] {
            let plan = Plan::new(from, 16_000).unwrap();
            let x: Vec<f32> = (0..from as usize * 2)
                .map(|i| signal(i as f64 / f64::from(from)) as f32)
                .collect();
            for threads in [1, 3] {
                let y = plan.process(&x, threads);
                assert_eq!(y.len(), 32_000);
                let max = (4_000..28_000)
                    .map(|m| (f64::from(y[m]) - signal(m as f64 / 16_000.0)).abs())
                    .fold(0.0f64, f64::max);
                assert!(max < 2e-5, "{from} Hz, {threads} threads: max |Δ| {max}");
            }
        }
        // Upsampling: 8 kHz → 16 kHz keeps tones below 3.8 kHz.
        let plan = Plan::new(8_000, 16_000).unwrap();
        let low = |t: f64| {
            0.4 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + 0.3 * (2.0 * std::f64::consts::PI * 3_700.0 * t + 1.0).sin()
        };
        let x: Vec<f32> = (0..16_000)
            .map(|i| low(i as f64 / 8_000.0) as f32)
            .collect();
        let y = plan.process(&x, 1);
        let max = (4_000..28_000)
            .map(|m| (f64::from(y[m]) - low(m as f64 / 16_000.0)).abs())
            .fold(0.0f64, f64::max);
        assert!(max < 2e-5, "8 kHz → 16 kHz: max |Δ| {max}");
    }
}
