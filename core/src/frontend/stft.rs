//! Short-time Fourier transform with rustfft, two real frames per complex transform: periodic Hann window, centred frames with zero padding of
//! `n_fft / 2` on both sides (librosa ≥ 0.10 `stft(center=True, pad_mode="constant")`), power |X|².
//!
//! Computed in f64, as librosa does (numpy's FFT works in double precision): the result then no longer
//! depends on which FFT kernels run (AVX natively, scalar in wasm), so native and wasm agree to
//! ~1e-7 after the logarithm, where f32 transforms differed by up to 5e-5 near the 80 dB floor.

use std::sync::Arc;

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

/// Periodic Hann window of length `n` (scipy `get_window("hann", n, fftbins=True)`), computed in f64.
pub fn hann_periodic(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect()
}

/// Number of centred frames for `len` samples: `1 + len / hop` (the padded signal is `len + n_fft` long).
pub fn frame_count(len: usize, hop: usize) -> usize {
    1 + len / hop
}

/// A planned power STFT; reusable across clips and cheap to share.
///
/// Two frames go through one complex FFT of `n_fft` points, one as the real part and one as the
/// imaginary part, and are told apart by the spectrum's symmetry: a real frame's spectrum `A` has
/// `A[n−k] = conj A[k]`, so `A[k] = (Z[k] + conj Z[n−k]) / 2` and `B[k] = (Z[k] − conj Z[n−k]) / 2i`.
/// That is one transform where a real FFT does half a complex one plus its own post-processing per
/// frame, and the separation is plain arithmetic.
pub struct PowerStft {
    n_fft: usize,
    hop: usize,
    window: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for PowerStft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerStft")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .finish()
    }
}

/// Scratch buffers for one thread's frames.
pub struct Scratch {
    buf: Vec<Complex64>,
    fft_scratch: Vec<Complex64>,
    /// Power of the (first) frame, `n_fft / 2 + 1` values.
    pub power: Vec<f64>,
    /// Power of the second frame of a pair, `n_fft / 2 + 1` values.
    pub power_b: Vec<f64>,
}

impl PowerStft {
    /// Plans an STFT of size `n_fft` (even, ≥ 2) with hop `hop` (≥ 1).
    pub fn new(n_fft: usize, hop: usize) -> Self {
        let fft = FftPlanner::<f64>::new().plan_fft_forward(n_fft);
        Self {
            n_fft,
            hop,
            window: hann_periodic(n_fft),
            fft,
        }
    }

    /// Fresh scratch buffers sized for this plan.
    pub fn scratch(&self) -> Scratch {
        let zero = Complex64::new(0.0, 0.0);
        Scratch {
            buf: vec![zero; self.n_fft],
            fft_scratch: vec![zero; self.fft.get_inplace_scratch_len()],
            power: vec![0.0; self.n_fft / 2 + 1],
            power_b: vec![0.0; self.n_fft / 2 + 1],
        }
    }

    /// Number of frames for a signal of `len` samples.
    pub fn frames(&self, len: usize) -> usize {
        frame_count(len, self.hop)
    }

    /// Computes the power spectrum of frame `t` of `signal` into `scratch.power`.
    ///
    /// Frame `t` covers padded samples `t·hop .. t·hop + n_fft`, i.e. signal samples
    /// `t·hop − n_fft/2 ..`, with zeros outside the signal.
    pub fn power_frame(&self, signal: &[f32], t: usize, scratch: &mut Scratch) {
        self.power_frames(signal, t, None, scratch);
    }

    /// The power spectra of frames `t` and `u` into `scratch.power` and `scratch.power_b`, through one
    /// transform. Each comes out as [`Self::power_frame`] gives it, up to f64 rounding (~1e-16).
    pub fn power_frame_pair(&self, signal: &[f32], t: usize, u: usize, scratch: &mut Scratch) {
        self.power_frames(signal, t, Some(u), scratch);
    }

    fn power_frames(&self, signal: &[f32], t: usize, u: Option<usize>, scratch: &mut Scratch) {
        let Scratch {
            buf,
            fft_scratch,
            power,
            power_b,
        } = scratch;
        let n = self.n_fft;
        let inside = |t: usize| {
            let start = (t * self.hop) as isize - (n / 2) as isize;
            (start >= 0 && start as usize + n <= signal.len()).then_some(start as usize)
        };
        match (inside(t), u.map(inside)) {
            // Fast path: both frames lie inside the signal.
            (Some(a), Some(Some(b))) => {
                for (((z, x), y), w) in buf
                    .iter_mut()
                    .zip(&signal[a..a + n])
                    .zip(&signal[b..b + n])
                    .zip(&self.window)
                {
                    *z = Complex64::new(f64::from(*x) * w, f64::from(*y) * w);
                }
            }
            _ => {
                for z in buf.iter_mut() {
                    *z = Complex64::new(0.0, 0.0);
                }
                self.windowed(signal, t, buf, |z, v| z.re = v);
                if let Some(u) = u {
                    self.windowed(signal, u, buf, |z, v| z.im = v);
                }
            }
        }
        self.fft.process_with_scratch(buf, fft_scratch);
        // Bin k pairs with bin n−k; bins 0 and n/2 pair with themselves.
        // 2A = Z[k] + conj Z[n−k];  2B·i = Z[k] − conj Z[n−k]
        let split = |z: Complex64, m: Complex64| {
            let (ar, ai) = (z.re + m.re, z.im - m.im);
            let (br, bi) = (z.im + m.im, m.re - z.re);
            (0.25 * (ar * ar + ai * ai), 0.25 * (br * br + bi * bi))
        };
        let h = n / 2;
        (power[0], power_b[0]) = split(buf[0], buf[0]);
        (power[h], power_b[h]) = split(buf[h], buf[h]);
        for (((p, q), z), m) in power[1..h]
            .iter_mut()
            .zip(power_b[1..h].iter_mut())
            .zip(&buf[1..h])
            .zip(buf[h + 1..].iter().rev())
        {
            (*p, *q) = split(*z, *m);
        }
    }

    /// Writes the windowed samples of frame `t` (zeros outside the signal) into `buf` with `put`.
    fn windowed(
        &self,
        signal: &[f32],
        t: usize,
        buf: &mut [Complex64],
        put: impl Fn(&mut Complex64, f64),
    ) {
        let half = self.n_fft / 2;
        let start = (t * self.hop) as isize - half as isize;
        // Fast path: the frame lies inside the signal.
        if start >= 0 && (start as usize + self.n_fft) <= signal.len() {
            let s = start as usize;
            for ((z, x), w) in buf
                .iter_mut()
                .zip(&signal[s..s + self.n_fft])
                .zip(&self.window)
            {
                put(z, f64::from(*x) * w);
            }
        } else {
            for (i, (z, w)) in buf.iter_mut().zip(&self.window).enumerate() {
                let j = start + i as isize;
                if j >= 0 && (j as usize) < signal.len() {
                    put(z, f64::from(signal[j as usize]) * w);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_periodic_hann() {
        let w = hann_periodic(8);
        // 0.5 - 0.5 cos(2π i / 8): [0, 0.1464, 0.5, 0.8536, 1, 0.8536, 0.5, 0.1464]
        let expected = [
            0.0,
            0.146_446_6,
            0.5,
            0.853_553_4,
            1.0,
            0.853_553_4,
            0.5,
            0.146_446_6,
        ];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn frame_counts() {
        // 131,000 samples → 1 + 255 = 256 frames (the reference's 8 s chunk)
        assert_eq!(frame_count(131_000, 512), 256);
        assert_eq!(frame_count(130_560, 512), 256);
        assert_eq!(frame_count(130_559, 512), 255);
        assert_eq!(frame_count(300, 512), 1);
    }

    #[test]
    fn pure_tone_peaks_at_its_bin() {
        // 1,000 Hz at 16 kHz with n_fft 1024 falls on bin 1000 / 15.625 = 64 exactly.
        let stft = PowerStft::new(1024, 512);
        let x: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f64::consts::PI * 1_000.0 * i as f64 / 16_000.0).sin() as f32)
            .collect();
        let mut s = stft.scratch();
        stft.power_frame(&x, 10, &mut s);
        let peak = s
            .power
            .iter()
            .enumerate()
            .fold((0, 0.0f64), |a, (k, &p)| if p > a.1 { (k, p) } else { a });
        assert_eq!(peak.0, 64);
        // Hann-windowed unit sine: |X[k]| = n_fft/4 = 256, power 65,536.
        assert!((peak.1 / 65_536.0 - 1.0).abs() < 1e-3, "{}", peak.1);
    }

    #[test]
    fn dc_signal_has_power_only_at_low_bins() {
        // A constant 1.0 inside the signal: the Hann window's spectrum has bins 0 (n/2) and 1 (n/4).
        let stft = PowerStft::new(1024, 512);
        let x = vec![1.0f32; 8_192];
        let mut s = stft.scratch();
        stft.power_frame(&x, 5, &mut s);
        assert!((s.power[0] - 512.0 * 512.0).abs() / (512.0 * 512.0) < 1e-5);
        assert!((s.power[1] - 256.0 * 256.0).abs() / (256.0 * 256.0) < 1e-5);
        assert!(
            s.power[2..].iter().all(|&p| p < 1e-3),
            "leakage beyond bin 1"
        );
    }

    #[test]
    fn edge_frames_are_zero_padded() {
        // Frame 0 is centred on sample 0: its first half is padding. A signal that is zero except
        // for its first 10 samples equals the same signal with explicit zero padding.
        let stft = PowerStft::new(64, 32);
        let mut x = vec![0.0f32; 200];
        x[..10]
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = i as f32 + 1.0);
        let mut padded = vec![0.0f32; 32];
        padded.extend_from_slice(&x);
        padded.extend(std::iter::repeat_n(0.0, 32));
        let mut a = stft.scratch();
        let mut b = stft.scratch();
        stft.power_frame(&x, 0, &mut a);
        // frame 1 of the padded signal starting at sample 32 = frame 0 of x... compute by hand:
        let w = hann_periodic(64);
        let dc: f64 = padded[..64]
            .iter()
            .zip(&w)
            .map(|(p, w)| f64::from(*p) * w)
            .sum();
        assert!((a.power[0] - dc * dc).abs() <= 1e-3 * dc * dc);
        stft.power_frame(&padded[32..], 0, &mut b);
        assert_eq!(a.power, b.power);
    }

    #[test]
    fn a_pair_equals_two_single_frames() {
        let stft = PowerStft::new(1024, 512);
        let x: Vec<f32> = (0..20_000)
            .map(|i| ((i as f32 * 0.011).sin() * (i as f32 * 0.0007).cos()) * 0.6)
            .collect();
        let (mut one, mut pair) = (stft.scratch(), stft.scratch());
        // frames inside, at the start (padding) and at the end (padding)
        for (t, u) in [(3, 7), (0, 1), (38, 39), (39, 0)] {
            stft.power_frame_pair(&x, t, u, &mut pair);
            for (frame, got) in [(t, &pair.power), (u, &pair.power_b)] {
                stft.power_frame(&x, frame, &mut one);
                for (k, (a, b)) in one.power.iter().zip(got.iter()).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-9 * a.abs().max(1e-6),
                        "frame {frame} bin {k}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
