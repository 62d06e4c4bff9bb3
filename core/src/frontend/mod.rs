//! The reference audio front end: 16 kHz mono → power STFT → Slaney mel → dB (80 dB floor) → per-clip
//! min–max, laid out (frames, 64); plus silence trimming, repeat-padding and 256-frame chunking.
//! See `shared/REFERENCE.md` ("Audio front end") for the numbers and their sources.

pub mod mel;
pub mod stft;
pub mod trim;

use serde::{Deserialize, Serialize};

pub use mel::MelFilterbank;
pub use stft::PowerStft;
pub use trim::TrimConfig;

use crate::audio::first_non_finite;
use crate::error::FrontEndError;

/// Every number of the front end. `FrontEndConfig::default()` is the reference configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontEndConfig {
    /// Sample rate the front end works at, in Hz. Default: 16,000.
    pub sample_rate: u32,
    /// FFT size and window length. Default: 1,024.
    pub n_fft: usize,
    /// Hop between frames in samples. Default: 512.
    pub hop_length: usize,
    /// Number of mel bands. Default: 64.
    pub n_mels: usize,
    /// Lowest band edge in Hz. Default: 50.
    pub f_min: f64,
    /// Highest band edge in Hz. Default: 8,000.
    pub f_max: f64,
    /// Dynamic range kept below the clip's maximum, in dB. Default: 80.
    pub top_db: f32,
    /// Floor on the power before the logarithm. Default: 1e-10.
    pub amin: f32,
    /// Silence trimming (used when asked for). Default: top 60 dB, frames of 1,600, hop 800.
    pub trim: TrimConfig,
    /// Frames per encoder chunk. Default: 256 (8.18 s).
    pub chunk_frames: usize,
    /// A trailing chunk shorter than this many frames is dropped. Default: 16.
    pub min_chunk_frames: usize,
}

impl Default for FrontEndConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            n_fft: 1_024,
            hop_length: 512,
            n_mels: 64,
            f_min: 50.0,
            f_max: 8_000.0,
            top_db: 80.0,
            amin: 1e-10,
            trim: TrimConfig::default(),
            chunk_frames: 256,
            min_chunk_frames: 16,
        }
    }
}

impl FrontEndConfig {
    /// Checks that the numbers make sense together.
    pub fn validate(&self) -> Result<(), FrontEndError> {
        let bad = |m: String| Err(FrontEndError::Config(m));
        let (min_rate, max_rate) = (crate::audio::MIN_SAMPLE_RATE, crate::audio::MAX_SAMPLE_RATE);
        if !(min_rate..=max_rate).contains(&self.sample_rate) {
            return bad(format!(
                "sample_rate must be in {min_rate}..={max_rate} Hz, got {}",
                self.sample_rate
            ));
        }
        if self.n_fft < 2 || !self.n_fft.is_multiple_of(2) || self.n_fft > 1 << 16 {
            return bad(format!(
                "n_fft must be even and in 2..=65536, got {}",
                self.n_fft
            ));
        }
        if self.hop_length == 0 || self.hop_length > self.n_fft {
            return bad(format!(
                "hop_length must be in 1..=n_fft ({}), got {}",
                self.n_fft, self.hop_length
            ));
        }
        if self.n_mels == 0 || self.n_mels > 1024 {
            return bad(format!("n_mels must be in 1..=1024, got {}", self.n_mels));
        }
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if !(self.f_min >= 0.0 && self.f_min < self.f_max && self.f_max <= nyquist) {
            return bad(format!(
                "need 0 <= f_min < f_max <= {nyquist} Hz, got f_min {} and f_max {}",
                self.f_min, self.f_max
            ));
        }
        if !(self.top_db > 0.0 && self.top_db.is_finite()) {
            return bad(format!("top_db must be positive, got {}", self.top_db));
        }
        if !(self.amin >= f32::MIN_POSITIVE && self.amin.is_finite()) {
            return bad(format!(
                "amin must be a positive normal float (at least {:e}), got {}",
                f32::MIN_POSITIVE,
                self.amin
            ));
        }
        let t = &self.trim;
        if t.frame_length < 2 || !t.frame_length.is_multiple_of(2) || t.frame_length > 1 << 20 {
            return bad(format!(
                "trim.frame_length must be even and in 2..=1048576, got {}",
                t.frame_length
            ));
        }
        if t.hop_length == 0 || t.hop_length > t.frame_length {
            return bad(format!(
                "trim.hop_length must be in 1..=trim.frame_length, got {}",
                t.hop_length
            ));
        }
        if t.top_db.is_nan() || t.top_db <= 0.0 {
            return bad(format!("trim.top_db must be positive, got {}", t.top_db));
        }
        if self.chunk_frames == 0
            || self.chunk_frames > MAX_CHUNK_FRAMES
            || self.min_chunk_frames > self.chunk_frames
        {
            return bad(format!(
                "need 1 <= min_chunk_frames <= chunk_frames <= {MAX_CHUNK_FRAMES}, got {} and {}",
                self.min_chunk_frames, self.chunk_frames
            ));
        }
        Ok(())
    }

    /// Samples that give exactly `chunk_frames` frames: `(chunk_frames − 1) · hop` (130,560 by default;
    /// any length up to 131,071, such as the reference's 131,000, gives the same 256 frames).
    pub fn chunk_samples(&self) -> usize {
        (self.chunk_frames - 1) * self.hop_length
    }
}

/// Most frames per chunk a configuration may ask for.
pub const MAX_CHUNK_FRAMES: usize = 16_384;

/// Most values (frames × bands) one spectrogram may have: 2^27 floats, 512 MB.
pub const MAX_FEATURE_VALUES: usize = 1 << 27;

/// What to do besides the plain log-mel: the CLI's flags and the screening pipeline's choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessOptions {
    /// Trim leading and trailing silence first (the reference does for evaluation).
    pub trim: bool,
    /// Repeat-pad a clip shorter than one chunk up to one chunk.
    pub pad: bool,
}

/// A (frames, n_mels) matrix in row-major order: `data[t * n_mels + m]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Number of frames (rows).
    pub frames: usize,
    /// Number of mel bands (columns).
    pub n_mels: usize,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl Features {
    /// Row `t` (one frame's bands).
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.n_mels..(t + 1) * self.n_mels]
    }

    /// The `[start, end)` frame ranges of the encoder chunks: consecutive `chunk_frames`-frame pieces,
    /// the trailing piece kept only if it has at least `min_chunk_frames` frames. A clip shorter than
    /// `min_chunk_frames` still gives its one (short) chunk, so nothing is silently dropped.
    pub fn chunk_ranges(
        &self,
        chunk_frames: usize,
        min_chunk_frames: usize,
    ) -> Vec<(usize, usize)> {
        let mut ranges: Vec<(usize, usize)> = (0..self.frames)
            .step_by(chunk_frames.max(1))
            .map(|s| (s, (s + chunk_frames).min(self.frames)))
            .collect();
        if ranges.len() > 1 {
            if let Some(&(s, e)) = ranges.last() {
                if e - s < min_chunk_frames {
                    ranges.pop();
                }
            }
        }
        ranges
    }

    /// The chunks as a (chunks, chunk_frames, n_mels) block: each range of [`Self::chunk_ranges`],
    /// a short last chunk filled up by repeating its own frames from its start.
    pub fn chunked(&self, chunk_frames: usize, min_chunk_frames: usize) -> (usize, Vec<f32>) {
        let ranges = self.chunk_ranges(chunk_frames, min_chunk_frames);
        let mut out = Vec::with_capacity(ranges.len() * chunk_frames * self.n_mels);
        for &(s, e) in &ranges {
            let len = e - s;
            for i in 0..chunk_frames {
                out.extend_from_slice(self.frame(s + i % len));
            }
        }
        (ranges.len(), out)
    }
}

/// The result of [`FrontEnd::process`]: features and what was done to get them.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The scaled log-mel features.
    pub features: Features,
    /// The `[start, end)` sample range kept by trimming (the whole signal when not trimming).
    pub kept: (usize, usize),
    /// Samples fed to the STFT (after trimming and padding).
    pub analysed_samples: usize,
}

/// A front end ready to run: the STFT plan and the filterbank built once from a config.
#[derive(Debug)]
pub struct FrontEnd {
    cfg: FrontEndConfig,
    stft: PowerStft,
    mel: MelFilterbank,
    threads: usize,
}

/// Frames below which one thread does all the work (thread start-up would cost more than it saves).
const FRAMES_PER_THREAD: usize = 256;

impl FrontEnd {
    /// Builds the front end; fails only on an inconsistent config.
    pub fn new(cfg: FrontEndConfig) -> Result<Self, FrontEndError> {
        cfg.validate()?;
        let stft = PowerStft::new(cfg.n_fft, cfg.hop_length);
        let mel = MelFilterbank::new(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max);
        Ok(Self {
            cfg,
            stft,
            mel,
            threads: crate::available_threads(),
        })
    }

    /// Sets how many threads resample and compute the spectrogram (natively; wasm always uses one).
    /// Each frame is computed the same way whatever the split, so the result does not depend on this
    /// number.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// How many threads this front end uses.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The configuration this front end was built from.
    pub fn config(&self) -> &FrontEndConfig {
        &self.cfg
    }

    /// The mel filterbank in use.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.mel
    }

    /// Mel power spectrogram, (frames, n_mels), before the logarithm.
    pub fn mel_power(&self, samples: &[f32]) -> Result<Features, FrontEndError> {
        self.check_size(samples.len())?;
        Ok(self.mel_spectrogram(samples, false))
    }

    /// Refuses a spectrogram of more than [`MAX_FEATURE_VALUES`] values before allocating it.
    fn check_size(&self, samples: usize) -> Result<(), FrontEndError> {
        let values = self.stft.frames(samples).saturating_mul(self.cfg.n_mels);
        if values > MAX_FEATURE_VALUES {
            return Err(FrontEndError::TooLarge {
                values,
                limit: MAX_FEATURE_VALUES,
            });
        }
        Ok(())
    }

    /// The mel spectrogram, as power or (with `log`) as `10·log10(max(power, amin))`; the frames are
    /// shared out between the threads.
    fn mel_spectrogram(&self, samples: &[f32], log: bool) -> Features {
        let amin = self.cfg.amin;
        let frames = self.stft.frames(samples.len());
        let n_mels = self.cfg.n_mels;
        let mut data = vec![0.0f32; frames * n_mels];
        let threads = self.threads.min(frames.div_ceil(FRAMES_PER_THREAD)).max(1);
        // Even, so that frames pair up the same way (2k, 2k+1) whatever the number of threads.
        let rows_per_thread = frames.div_ceil(threads).next_multiple_of(2);
        let work = |first_frame: usize, rows: &mut [f32]| {
            let mut scratch = self.stft.scratch();
            // Two frames per transform (see `PowerStft`); an odd last frame goes alone.
            for (i, pair) in rows.chunks_mut(2 * n_mels).enumerate() {
                let t = first_frame + 2 * i;
                let (a, b) = pair.split_at_mut(n_mels);
                if b.is_empty() {
                    self.stft.power_frame(samples, t, &mut scratch);
                } else {
                    self.stft.power_frame_pair(samples, t, t + 1, &mut scratch);
                    self.mel.apply(&scratch.power_b, b);
                }
                self.mel.apply(&scratch.power, a);
                if log {
                    pair.iter_mut().for_each(|v| *v = decibels(v.max(amin)));
                }
            }
        };
        if threads == 1 {
            work(0, &mut data);
        } else {
            std::thread::scope(|scope| {
                for (k, part) in data.chunks_mut(rows_per_thread * n_mels).enumerate() {
                    let work = &work;
                    scope.spawn(move || work(k * rows_per_thread, part));
                }
            });
        }
        Features {
            frames,
            n_mels,
            data,
        }
    }

    /// dB relative to the clip's maximum with the `top_db` floor, in place (librosa
    /// `power_to_db(S, ref=np.max, amin, top_db)`).
    pub fn power_to_db(&self, s: &mut [f32]) {
        let amin = self.cfg.amin;
        s.iter_mut().for_each(|v| *v = decibels(v.max(amin)));
        self.db_relative_to_max(s);
    }

    /// Second half of [`Self::power_to_db`] on `10·log10(max(S, amin))` values: subtract the maximum
    /// (the log of the maximum power, as log is monotonic) and apply the `top_db` floor.
    fn db_relative_to_max(&self, s: &mut [f32]) {
        let ref_db = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut top = f32::NEG_INFINITY;
        for v in s.iter_mut() {
            *v -= ref_db;
            top = top.max(*v);
        }
        let floor = top - self.cfg.top_db;
        s.iter_mut().for_each(|v| *v = v.max(floor));
    }

    /// The reference log-mel features of 16 kHz mono samples: (frames, n_mels) scaled to [0, 1].
    ///
    /// Fails on empty input, NaN/Inf samples, a constant signal and a constant spectrogram.
    pub fn log_mel(&self, samples: &[f32]) -> Result<Features, FrontEndError> {
        check_signal(samples)?;
        self.check_size(samples.len())?;
        let mut f = self.mel_spectrogram(samples, true);
        // `db_relative_to_max` and the min–max scaling fused into one pass for the extremes and one
        // for the values, with the same f32 operations per value (so the same bits): subtracting a
        // constant and flooring are monotonic, so the extremes of the dB values are those of the
        // log-powers moved the same way, and the maximum lands on exactly 0 dB.
        let (min, max) = extremes(&f.data);
        // max − max is +0 (every value is finite: powers are floored at amin).
        let floor = 0.0 - self.cfg.top_db;
        let (lo, hi) = ((min - max).max(floor), 0.0f32.max(floor));
        let range = hi - lo;
        // An infinite power (samples near f32's limit given to this function directly) is refused
        // as before the fusion, when it made the range NaN.
        if !max.is_finite() || !range.is_finite() || range <= 0.0 {
            return Err(FrontEndError::ConstantSpectrogram);
        }
        f.data
            .iter_mut()
            .for_each(|v| *v = ((*v - max).max(floor) - lo) / range);
        Ok(f)
    }

    /// The whole front end with the reference's options: trimming, repeat-padding, then [`Self::log_mel`].
    pub fn process(
        &self,
        samples: &[f32],
        opts: &ProcessOptions,
    ) -> Result<Processed, FrontEndError> {
        check_signal(samples)?;
        let kept = if opts.trim {
            trim::trim_range(samples, &self.cfg.trim)
        } else {
            (0, samples.len())
        };
        let trimmed = &samples[kept.0..kept.1];
        if trimmed.is_empty() {
            return Err(FrontEndError::AllSilent);
        }
        let target = self.cfg.chunk_samples();
        let padded;
        let signal = if opts.pad && trimmed.len() < target {
            padded = repeat_pad(trimmed, target);
            &padded[..]
        } else {
            trimmed
        };
        let features = self.log_mel(signal)?;
        Ok(Processed {
            features,
            kept,
            analysed_samples: signal.len(),
        })
    }

    /// Checks the sample rate of audio handed to the front end.
    pub fn check_rate(&self, rate: u32) -> Result<(), FrontEndError> {
        if rate == self.cfg.sample_rate {
            Ok(())
        } else {
            Err(FrontEndError::WrongSampleRate {
                expected: self.cfg.sample_rate,
                got: rate,
            })
        }
    }
}

/// The smallest and largest of `values` (±infinity when empty), with eight running extremes so
/// that the loop vectorises.
fn extremes(values: &[f32]) -> (f32, f32) {
    let (mut lo, mut hi) = ([f32::INFINITY; 8], [f32::NEG_INFINITY; 8]);
    let (chunks, rest) = values.as_chunks::<8>();
    for c in chunks {
        for i in 0..8 {
            lo[i] = lo[i].min(c[i]);
            hi[i] = hi[i].max(c[i]);
        }
    }
    let fold =
        |init: f32, f: fn(f32, f32) -> f32, xs: &[f32]| xs.iter().fold(init, |a, &b| f(a, b));
    (
        fold(fold(f32::INFINITY, f32::min, &lo), f32::min, rest),
        fold(fold(f32::NEG_INFINITY, f32::max, &hi), f32::max, rest),
    )
}

/// `10·log10(x)` for a positive normal `x` (the front end's powers, floored at `amin`, which the config
/// requires to be a normal float; an infinite power stays infinite), within
/// f32 rounding of the exact value, in code the compiler vectorises (libm's `log10f` is one call per
/// value; it was 18 % of the log-mel's time). `x = m·2^e` with `m` in [√½, √2), `ln m = 2·atanh(s)`
/// with `s = (m − 1)/(m + 1)`, `|s| ≤ 0.172`: the series to s¹³ leaves a relative error under 1e-12
/// (in f64). The same arithmetic natively and in wasm, so both give the same bits.
#[inline]
fn decibels(x: f32) -> f32 {
    const DB_PER_LN: f64 = 10.0 / std::f64::consts::LN_10;
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f64::from(f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000)); // [1, 2)
    let high = m > std::f64::consts::SQRT_2;
    let (m, exponent) = if high {
        (m * 0.5, exponent + 1)
    } else {
        (m, exponent)
    };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 / 13.0)))));
    let ln = 2.0 * s * series + f64::from(exponent) * std::f64::consts::LN_2;
    let db = (ln * DB_PER_LN) as f32;
    // A select, not a branch: the loop still vectorises.
    if x.is_finite() {
        db
    } else {
        x
    }
}

/// Rejects empty, non-finite and constant signals.
fn check_signal(samples: &[f32]) -> Result<(), FrontEndError> {
    let Some(&first) = samples.first() else {
        return Err(FrontEndError::Empty);
    };
    // One pass: any non-finite value (NaN ≠ anything, ±inf − ±inf = NaN) and any value ≠ the first.
    let (mut all_finite, mut varies) = (true, false);
    for chunk in samples.chunks(4096) {
        for &x in chunk {
            all_finite &= x.is_finite();
            varies |= x != first;
        }
        if !all_finite {
            break;
        }
    }
    if !all_finite {
        let index = first_non_finite(samples).unwrap_or(0);
        return Err(FrontEndError::NonFinite { index });
    }
    if !varies {
        return Err(FrontEndError::ConstantSignal);
    }
    Ok(())
}

/// Repeats `x` from its start until it is `target` samples long (OPERA's `duplicate_padding`
/// with `types="repeat"`, padding at the back). Returns `x` unchanged when it is long enough.
pub fn repeat_pad(x: &[f32], target: usize) -> Vec<f32> {
    if x.is_empty() || x.len() >= target {
        return x.to_vec();
    }
    x.iter().copied().cycle().take(target).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chirp(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                (2.0 * std::f64::consts::PI * (100.0 * t + 500.0 * t * t)).sin() as f32 * 0.5
            })
            .collect()
    }

    #[test]
    fn default_config_is_valid_and_roundtrips_json() {
        let cfg = FrontEndConfig::default();
        cfg.validate().unwrap();
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<FrontEndConfig>(&json).unwrap(), cfg);
        // a partial config fills in the defaults; an unknown key is refused
        let partial: FrontEndConfig = serde_json::from_str(r#"{"n_mels": 32}"#).unwrap();
        assert_eq!(partial.n_mels, 32);
        assert_eq!(partial.n_fft, 1024);
        assert!(serde_json::from_str::<FrontEndConfig>(r#"{"n_mel": 32}"#).is_err());
    }

    #[test]
    fn inconsistent_configs_are_refused() {
        for cfg in [
            FrontEndConfig {
                f_max: 9_000.0,
                ..Default::default()
            },
            FrontEndConfig {
                n_fft: 1023,
                ..Default::default()
            },
            FrontEndConfig {
                hop_length: 0,
                ..Default::default()
            },
            FrontEndConfig {
                min_chunk_frames: 300,
                ..Default::default()
            },
            FrontEndConfig {
                sample_rate: 0,
                ..Default::default()
            },
            FrontEndConfig {
                hop_length: 2048,
                ..Default::default()
            },
            FrontEndConfig {
                chunk_frames: usize::MAX,
                ..Default::default()
            },
            FrontEndConfig {
                trim: TrimConfig {
                    frame_length: 1601,
                    ..Default::default()
                },
                ..Default::default()
            },
            FrontEndConfig {
                trim: TrimConfig {
                    frame_length: usize::MAX - 1,
                    ..Default::default()
                },
                ..Default::default()
            },
        ] {
            assert!(matches!(FrontEnd::new(cfg), Err(FrontEndError::Config(_))));
        }
    }

    #[test]
    fn shape_and_range() {
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        let f = fe.log_mel(&chirp(131_000)).unwrap();
        assert_eq!((f.frames, f.n_mels), (256, 64));
        let lo = f.data.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = f.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!((lo, hi), (0.0, 1.0));
    }

    #[test]
    fn db_floor_is_80_below_max() {
        // power 1, 1e-3, 1e-12 → 0 dB, −30 dB, −120 dB floored to −80 dB
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        let mut s = vec![1.0f32, 1e-3, 1e-12, 0.0];
        fe.power_to_db(&mut s);
        assert_eq!(s[0], 0.0);
        assert!((s[1] + 30.0).abs() < 1e-4);
        assert_eq!(s[2], -80.0);
        assert_eq!(s[3], -80.0);
    }

    #[test]
    fn degenerate_signals_are_errors() {
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        assert_eq!(fe.log_mel(&[]), Err(FrontEndError::Empty));
        assert_eq!(fe.log_mel(&[0.0; 4000]), Err(FrontEndError::ConstantSignal));
        assert_eq!(fe.log_mel(&[0.3; 4000]), Err(FrontEndError::ConstantSignal));
        let mut x = chirp(4000);
        x[17] = f32::NAN;
        assert_eq!(fe.log_mel(&x), Err(FrontEndError::NonFinite { index: 17 }));
    }

    #[test]
    fn threads_do_not_change_the_result() {
        let x = chirp(400_000);
        let one = FrontEnd::new(FrontEndConfig::default())
            .unwrap()
            .with_threads(1)
            .log_mel(&x)
            .unwrap();
        let three = FrontEnd::new(FrontEndConfig::default())
            .unwrap()
            .with_threads(3)
            .log_mel(&x)
            .unwrap();
        assert_eq!(one, three);
    }

    #[test]
    fn process_reports_the_right_error() {
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        for opts in [
            ProcessOptions::default(),
            ProcessOptions {
                trim: true,
                pad: true,
            },
        ] {
            assert_eq!(fe.process(&[], &opts), Err(FrontEndError::Empty));
            assert_eq!(
                fe.process(&[0.0; 9_000], &opts),
                Err(FrontEndError::ConstantSignal)
            );
            let mut x = chirp(9_000);
            x[5] = f32::INFINITY;
            assert_eq!(
                fe.process(&x, &opts),
                Err(FrontEndError::NonFinite { index: 5 })
            );
        }
    }

    #[test]
    fn short_clip_gives_one_frame() {
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        let f = fe.log_mel(&chirp(300)).unwrap();
        assert_eq!(f.frames, 1);
    }

    #[test]
    fn padding_repeats_the_clip() {
        assert_eq!(
            repeat_pad(&[1.0, 2.0, 3.0], 7),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]
        );
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        let p = fe
            .process(
                &chirp(20_000),
                &ProcessOptions {
                    trim: false,
                    pad: true,
                },
            )
            .unwrap();
        assert_eq!(p.features.frames, 256);
        assert_eq!(p.analysed_samples, 130_560);
        // a long clip is not padded
        let q = fe
            .process(
                &chirp(200_000),
                &ProcessOptions {
                    trim: false,
                    pad: true,
                },
            )
            .unwrap();
        assert_eq!(q.features.frames, 1 + 200_000 / 512);
    }

    #[test]
    fn trimming_drops_leading_silence() {
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        let mut x = vec![0.0f32; 16_000];
        x.extend(chirp(32_000));
        let p = fe
            .process(
                &x,
                &ProcessOptions {
                    trim: true,
                    pad: false,
                },
            )
            .unwrap();
        assert_eq!(p.kept, (16_000, 48_000));
        assert_eq!(p.features.frames, 1 + 32_000 / 512);
    }

    #[test]
    fn chunk_ranges_follow_the_reference() {
        let f = |frames| Features {
            frames,
            n_mels: 1,
            data: (0..frames).map(|i| i as f32).collect(),
        };
        // 600 frames: 256 + 256 + 88 (kept, ≥ 16)
        assert_eq!(
            f(600).chunk_ranges(256, 16),
            vec![(0, 256), (256, 512), (512, 600)]
        );
        // 520 frames: the trailing 8 frames are dropped
        assert_eq!(f(520).chunk_ranges(256, 16), vec![(0, 256), (256, 512)]);
        // a 10-frame clip keeps its only chunk
        assert_eq!(f(10).chunk_ranges(256, 16), vec![(0, 10)]);
        // the short last chunk is filled by repeating its own frames: 512, 513, …, 599, 512, …
        let (n, block) = f(600).chunked(256, 16);
        assert_eq!(n, 3);
        assert_eq!(block[512], 512.0);
        assert_eq!(block[512 + 88], 512.0);
        assert_eq!(block[511], 511.0);
    }

    #[test]
    fn decibels_match_log10() {
        let mut x = 1e-10f32;
        let mut worst = 0.0f64;
        while x < 1e12 {
            for v in [
                x,
                x * std::f32::consts::SQRT_2,
                x * std::f32::consts::SQRT_2.next_up(),
                x.next_up(),
                x * 1.999_999,
            ] {
                let exact = 10.0 * f64::from(v).log10();
                worst = worst.max((f64::from(decibels(v)) - exact).abs());
            }
            x *= 1.37;
        }
        // Rounding values up to ±120 dB to f32 is up to 4e-6 dB; the approximation adds nothing visible.
        assert!(worst < 8e-6, "worst |Δ| {worst} dB");
        assert_eq!(decibels(1.0), 0.0);
        assert_eq!(decibels(10.0), 10.0);
        assert_eq!(decibels(100.0), 20.0);
    }

    #[test]
    fn fused_scaling_equals_power_to_db_then_min_max() {
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        // A loud tone, then near-silence (so the 80 dB floor bites), then noise.
        let mut state = 12_345u32;
        let x: Vec<f32> = (0..48_000)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                match i / 16_000 {
                    0 => (i as f32 * 0.2).sin() * 0.8,
                    1 => noise * 1e-6,
                    _ => noise * 0.3,
                }
            })
            .collect();
        let fused = fe.log_mel(&x).unwrap();
        let mut db = fe.mel_power(&x).unwrap().data;
        fe.power_to_db(&mut db);
        let (lo, hi) = db
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        assert!(
            db.contains(&lo) && lo == -80.0,
            "the floor is reached: {lo}"
        );
        let expected: Vec<f32> = db.iter().map(|v| (v - lo) / (hi - lo)).collect();
        assert_eq!(fused.data, expected);
    }

    #[test]
    fn decibels_keep_infinity_and_amin_must_be_normal() {
        assert_eq!(decibels(f32::INFINITY), f32::INFINITY);
        assert!((decibels(f32::MIN_POSITIVE) - 10.0 * f32::MIN_POSITIVE.log10()).abs() < 1e-4);
        let cfg = FrontEndConfig {
            amin: 1e-40,
            ..FrontEndConfig::default()
        };
        assert!(cfg.validate().is_err());
        // Samples so loud that the mel power overflows f32 are refused, not scaled into garbage.
        let fe = FrontEnd::new(FrontEndConfig::default()).unwrap();
        let x: Vec<f32> = (0..4_000).map(|i| (i as f32 * 0.3).sin() * 1e30).collect();
        assert!(fe.log_mel(&x).is_err());
    }
}
