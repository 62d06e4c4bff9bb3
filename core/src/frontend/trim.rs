//! Leading and trailing silence trimming, as librosa's `effects.trim(y, top_db, frame_length,
//! hop_length)`: centred RMS frames (zero padding of `frame_length / 2`), a frame is sound when its
//! RMS is within `top_db` dB of the loudest frame; the kept range runs from the first sound frame's
//! start to one hop past the last sound frame. (librosa 0.10/0.11 `librosa/effects.py::trim`.)

use serde::{Deserialize, Serialize};

/// Trimming parameters. The default is the reference's (OPERA's `get_entire_signal_librosa`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrimConfig {
    /// Threshold below the loudest frame, in dB, under which a frame is silence. Default: 60.
    pub top_db: f32,
    /// RMS frame length in samples. Default: 1,600 (100 ms at 16 kHz).
    pub frame_length: usize,
    /// RMS hop in samples. Default: 800.
    pub hop_length: usize,
}

impl Default for TrimConfig {
    fn default() -> Self {
        Self {
            top_db: 60.0,
            frame_length: 1_600,
            hop_length: 800,
        }
    }
}

/// RMS of each centred frame of `y` (librosa `feature.rms(y, frame_length, hop_length, center=True)`).
pub fn rms_frames(y: &[f32], frame_length: usize, hop: usize) -> Vec<f64> {
    let half = frame_length / 2;
    let n_frames = 1 + y.len() / hop;
    // Prefix sums of squares in f64 make each frame O(1).
    let mut prefix = Vec::with_capacity(y.len() + 1);
    prefix.push(0.0f64);
    let mut acc = 0.0f64;
    for &v in y {
        acc += f64::from(v) * f64::from(v);
        prefix.push(acc);
    }
    (0..n_frames)
        .map(|t| {
            // padded frame [t·hop, t·hop + frame_length) = signal [t·hop − half, t·hop − half + frame_length)
            let lo = (t * hop).saturating_sub(half).min(y.len());
            let hi = (t * hop + frame_length).saturating_sub(half).min(y.len());
            let energy = (prefix[hi] - prefix[lo]).max(0.0);
            (energy / frame_length as f64).sqrt()
        })
        .collect()
}

/// The `[start, end)` sample range that trimming keeps. `start == end` when nothing is above the threshold.
pub fn trim_range(y: &[f32], cfg: &TrimConfig) -> (usize, usize) {
    if y.is_empty() {
        return (0, 0);
    }
    let rms = rms_frames(y, cfg.frame_length, cfg.hop_length);
    // amplitude_to_db(rms, ref=max): 10·log10(max(1e-10, rms²)) − 10·log10(max(1e-10, max_rms²))
    let db = |r: f64| 10.0 * (r * r).max(1e-10).log10();
    let max_rms = rms.iter().copied().fold(0.0f64, f64::max);
    let ref_db = db(max_rms);
    let threshold = -f64::from(cfg.top_db);
    let loud = |r: &f64| db(*r) - ref_db > threshold;
    match (rms.iter().position(loud), rms.iter().rposition(loud)) {
        (Some(first), Some(last)) => {
            let start = first * cfg.hop_length;
            let end = ((last + 1) * cfg.hop_length).min(y.len());
            (start.min(end), end)
        }
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_of_constant_interior_frame() {
        // Centred frame 2 of a constant 0.5 signal (hop 4, length 8) lies fully inside: RMS 0.5.
        let y = vec![0.5f32; 40];
        let r = rms_frames(&y, 8, 4);
        assert_eq!(r.len(), 11);
        assert!((r[2] - 0.5).abs() < 1e-12);
        // Frame 0 covers samples −4..4: half padding, RMS = sqrt(4·0.25 / 8) = 0.3536
        assert!((r[0] - (0.125f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn trims_silence_around_a_burst() {
        // 1 s of zeros, 0.5 s of a tone, 1 s of zeros at 16 kHz.
        let mut y = vec![0.0f32; 16_000];
        y.extend((0..8_000).map(|i| (i as f32 * 0.3).sin()));
        y.extend(vec![0.0f32; 16_000]);
        let (start, end) = trim_range(&y, &TrimConfig::default());
        // Frame t covers t·800 − 800 .. t·800 + 800. Frame 19 (14,400..16,000) is all zeros; frame 20
        // (15,200..16,800) overlaps the burst, so the kept range starts at 20·800 = 16,000.
        assert_eq!(start, 16_000);
        // Last loud frame: 30 (23,200..24,800); frame 31 (24,000..25,600) is silent → end = 31·800.
        assert_eq!(end, 24_800);
    }

    #[test]
    fn all_zero_signal_keeps_everything() {
        // librosa: every frame is at the 1e-10 floor, 0 dB relative to itself, so nothing is trimmed.
        let y = vec![0.0f32; 5_000];
        assert_eq!(trim_range(&y, &TrimConfig::default()), (0, 5_000));
        assert_eq!(trim_range(&[], &TrimConfig::default()), (0, 0));
    }
}
