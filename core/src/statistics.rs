//! The hand-crafted baseline: statistics of the reference log-mel spectrogram and of its MFCCs, a
//! small stand-in for openSMILE's functionals (which OPERA uses; openSMILE itself is not available
//! here). Per recording: the mean and standard deviation over frames of each of the 64 log-mel bands
//! and of the first 20 MFCCs (orthonormal DCT-II of each frame's log-mel values), 168 values.

use crate::Features;

/// MFCCs kept per frame.
pub const MFCCS: usize = 20;

/// How many statistics [`statistics`] gives for `n_mels` bands.
pub fn width(n_mels: usize) -> usize {
    2 * n_mels + 2 * MFCCS
}

/// The 168 statistics of `f` (`2 × n_mels + 2 × MFCCS`).
pub fn statistics(f: &Features) -> Vec<f32> {
    let m = f.n_mels;
    let frames = f.frames.max(1);
    let dct: Vec<Vec<f64>> = (0..MFCCS)
        .map(|k| {
            let scale = if k == 0 {
                (1.0 / m as f64).sqrt()
            } else {
                (2.0 / m as f64).sqrt()
            };
            (0..m)
                .map(|n| {
                    scale
                        * (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * m) as f64)
                            .cos()
                })
                .collect()
        })
        .collect();
    let mut mel = Moments::new(m);
    let mut mfcc = Moments::new(MFCCS);
    for t in 0..f.frames {
        let row: Vec<f64> = f.frame(t).iter().map(|v| f64::from(*v)).collect();
        mel.add(&row);
        let c: Vec<f64> = dct
            .iter()
            .map(|d| d.iter().zip(&row).map(|(a, b)| a * b).sum())
            .collect();
        mfcc.add(&c);
    }
    let mut out = mel.finish(frames);
    out.extend(mfcc.finish(frames));
    out
}

struct Moments {
    sum: Vec<f64>,
    sq: Vec<f64>,
}

impl Moments {
    fn new(n: usize) -> Self {
        Self {
            sum: vec![0.0; n],
            sq: vec![0.0; n],
        }
    }

    fn add(&mut self, v: &[f64]) {
        for ((s, q), x) in self.sum.iter_mut().zip(self.sq.iter_mut()).zip(v) {
            *s += x;
            *q += x * x;
        }
    }

    /// Means then standard deviations.
    fn finish(self, n: usize) -> Vec<f32> {
        let n = n as f64;
        let means: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let stds = self
            .sq
            .iter()
            .zip(&means)
            .map(|(q, m)| (q / n - m * m).max(0.0).sqrt());
        means
            .iter()
            .copied()
            .chain(stds)
            .map(|v| v as f32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_a_constant_and_a_ramp() {
        // Two frames of 64 bands: every band 0.5 then every band 1.0.
        let mut data = vec![0.5f32; 64];
        data.extend(vec![1.0f32; 64]);
        let f = Features {
            data,
            frames: 2,
            n_mels: 64,
        };
        let s = statistics(&f);
        assert_eq!(s.len(), 2 * 64 + 2 * MFCCS);
        assert!((s[0] - 0.75).abs() < 1e-6, "band mean");
        assert!((s[64] - 0.25).abs() < 1e-6, "band std");
        // A flat frame has only the DC coefficient: c0 = sqrt(64) · value.
        assert!((s[128] - 8.0 * 0.75).abs() < 1e-5, "MFCC 0 mean {}", s[128]);
        assert!(s[129].abs() < 1e-5, "MFCC 1 mean {}", s[129]);
        assert!((s[128 + MFCCS] - 8.0 * 0.25).abs() < 1e-5, "MFCC 0 std");
    }
}
