//! The Slaney mel scale and the Slaney-normalised triangular filterbank, computed exactly as librosa's
//! `filters.mel(sr, n_fft, n_mels, fmin, fmax)` with its defaults (`htk=False`, `norm="slaney"`):
//! in f64, each weight rounded to f32 before the area normalisation, the product rounded to f32.
//! (librosa 0.10/0.11, `librosa/filters.py::mel` and `librosa/core/convert.py::hz_to_mel`.)

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1_000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP; // 15
fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz → mel on the Slaney scale: linear below 1 kHz (3 mel per 200 Hz), logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

/// Mel → Hz on the Slaney scale (inverse of [`hz_to_mel`]).
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// `n` points evenly spaced in mel between `f_min` and `f_max`, in Hz (numpy `linspace` semantics:
/// the last point is exactly `f_max`'s mel).
pub fn mel_frequencies(n: usize, f_min: f64, f_max: f64) -> Vec<f64> {
    let (lo, hi) = (hz_to_mel(f_min), hz_to_mel(f_max));
    let step = if n > 1 {
        (hi - lo) / (n - 1) as f64
    } else {
        0.0
    };
    (0..n)
        .map(|i| {
            if i + 1 == n && n > 1 {
                hi
            } else {
                lo + i as f64 * step
            }
        })
        .map(mel_to_hz)
        .collect()
}

/// One triangular band, stored sparsely: weights for bins `start .. start + weights.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// First FFT bin with a non-zero weight.
    pub start: usize,
    /// Weights of the consecutive bins from `start`.
    pub weights: Vec<f32>,
}

/// A mel filterbank over the `n_fft / 2 + 1` bins of a real FFT.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    /// One band per mel channel, lowest first.
    pub bands: Vec<Band>,
    /// Number of FFT bins the bands index into.
    pub n_bins: usize,
}

impl MelFilterbank {
    /// Builds the filterbank. `f_max` must not exceed `sample_rate / 2`; the caller validates.
    pub fn new(sample_rate: u32, n_fft: usize, n_mels: usize, f_min: f64, f_max: f64) -> Self {
        let n_bins = n_fft / 2 + 1;
        let sr = f64::from(sample_rate);
        let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * sr / n_fft as f64).collect();
        let mel_f = mel_frequencies(n_mels + 2, f_min, f_max);
        let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
        let bands = (0..n_mels)
            .map(|m| {
                let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
                let dense: Vec<f32> = fft_freqs
                    .iter()
                    .map(|&f| {
                        let lower = -(mel_f[m] - f) / fdiff[m];
                        let upper = (mel_f[m + 2] - f) / fdiff[m + 1];
                        let w = lower.min(upper).max(0.0) as f32;
                        (f64::from(w) * enorm) as f32
                    })
                    .collect();
                let start = dense.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end = dense
                    .iter()
                    .rposition(|&w| w != 0.0)
                    .map_or(start, |e| e + 1);
                Band {
                    start,
                    weights: dense[start..end].to_vec(),
                }
            })
            .collect();
        Self { bands, n_bins }
    }

    /// Applies the filterbank to one power spectrum of `n_bins` values, writing one value per band
    /// (accumulated in f64, rounded to f32 once).
    pub fn apply(&self, power: &[f64], out: &mut [f32]) {
        for (band, o) in self.bands.iter().zip(out.iter_mut()) {
            let bins = &power[band.start..band.start + band.weights.len()];
            // Four running sums instead of one: a single f64 sum waits for each addition to finish
            // (its latency), four overlap. The order changes rounding at the 1e-16 level only.
            let mut acc = [0.0f64; 4];
            let (pc, pr) = bins.as_chunks::<4>();
            let (wc, wr) = band.weights.as_chunks::<4>();
            for (p4, w4) in pc.iter().zip(wc) {
                for i in 0..4 {
                    acc[i] += p4[i] * f64::from(w4[i]);
                }
            }
            let tail: f64 = pr.iter().zip(wr).map(|(p, w)| p * f64::from(*w)).sum();
            *o = ((acc[0] + acc[1]) + (acc[2] + acc[3]) + tail) as f32;
        }
    }

    /// The band's weights as a dense row of `n_bins` values (for tests and inspection).
    pub fn dense_row(&self, m: usize) -> Vec<f32> {
        let mut row = vec![0.0; self.n_bins];
        if let Some(band) = self.bands.get(m) {
            row[band.start..band.start + band.weights.len()].copy_from_slice(&band.weights);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_known_points() {
        // linear part: 200 Hz = 3 mel; the knee 1 kHz = 15 mel; 6.4 kHz = 15 + 27 = 42 mel
        assert!((hz_to_mel(200.0) - 3.0).abs() < 1e-12);
        assert!((hz_to_mel(1_000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(6_400.0) - 42.0).abs() < 1e-9);
        for hz in [0.0, 50.0, 999.0, 1_000.0, 4_321.0, 8_000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
    }

    #[test]
    fn band_edges_are_the_mel_points() {
        let fb = MelFilterbank::new(16_000, 1024, 64, 50.0, 8_000.0);
        let mel_f = mel_frequencies(66, 50.0, 8_000.0);
        assert!((mel_f[0] - 50.0).abs() < 1e-9 && (mel_f[65] - 8_000.0).abs() < 1e-9);
        let bin_hz = 16_000.0 / 1024.0; // 15.625 Hz
        for (m, band) in fb.bands.iter().enumerate() {
            // every non-zero bin lies strictly inside (mel_f[m], mel_f[m+2])
            let first = band.start as f64 * bin_hz;
            let last = (band.start + band.weights.len() - 1) as f64 * bin_hz;
            assert!(
                first > mel_f[m] - 1e-9 && last < mel_f[m + 2] + 1e-9,
                "band {m}"
            );
            assert!(band.weights.iter().all(|&w| w >= 0.0));
        }
        // the lowest band starts above 50 Hz: bin 4 = 62.5 Hz (bin 3 = 46.9 Hz is below the edge)
        assert_eq!(fb.bands[0].start, 4);
    }

    #[test]
    fn slaney_area_normalisation() {
        // Each triangle has peak 2 / (f_hi - f_lo) and base (f_hi - f_lo): its area in Hz is 1.
        // Sampled at 15.625 Hz spacing, sum(weights) * 15.625 ≈ 1 for bands wide enough to sample well.
        let fb = MelFilterbank::new(16_000, 1024, 64, 50.0, 8_000.0);
        for m in 20..63 {
            let area: f64 = fb.bands[m]
                .weights
                .iter()
                .map(|&w| f64::from(w))
                .sum::<f64>()
                * 15.625;
            assert!((area - 1.0).abs() < 0.02, "band {m}: area {area}");
        }
    }

    #[test]
    fn apply_matches_dense_product() {
        let fb = MelFilterbank::new(16_000, 1024, 64, 50.0, 8_000.0);
        let power: Vec<f64> = (0..513).map(|k| (k as f64 * 0.37).sin().abs()).collect();
        let mut out = vec![0.0; 64];
        fb.apply(&power, &mut out);
        for (m, o) in out.iter().enumerate() {
            let dense: f64 = fb
                .dense_row(m)
                .iter()
                .zip(&power)
                .map(|(w, p)| f64::from(*w) * p)
                .sum();
            assert!((f64::from(*o) - dense).abs() <= 1e-6 * dense.abs().max(1.0));
        }
    }
}
