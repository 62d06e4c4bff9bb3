//! From bytes to 16 kHz mono PCM: decoding ([`decode`]), channel mixing ([`mix_to_mono`]) and
//! resampling ([`resample`]).

pub mod decode;
pub mod overlap_save;
pub mod resample;
pub mod wav;

pub use decode::{decode, decode_source, probe_info, DecodeLimits, Decoded, StreamInfo};
pub use resample::{resample, resample_with_threads};

use crate::error::AudioError;

/// Lowest sample rate accepted from a file, in Hz (some stethoscopes record at 4 kHz).
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate accepted from a file, in Hz.
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// Most channels accepted from a file.
pub const MAX_CHANNELS: usize = 32;

/// Checks that a declared sample rate is one a recording can have.
pub fn check_sample_rate(rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(AudioError::BadSampleRate {
            rate,
            min: MIN_SAMPLE_RATE,
            max: MAX_SAMPLE_RATE,
        })
    }
}

/// Checks that a declared channel count is one a recording can have.
pub fn check_channels(channels: usize) -> Result<(), AudioError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(())
    } else {
        Err(AudioError::BadChannels {
            channels,
            max: MAX_CHANNELS,
        })
    }
}

/// Index of the first NaN or infinite sample, if any.
pub fn first_non_finite(samples: &[f32]) -> Option<usize> {
    samples.iter().position(|x| !x.is_finite())
}

/// Largest sample magnitude accepted: 10⁶, 120 dB above full scale. Float files may exceed 1 a
/// little; values beyond this are damage, and near f32's limit they overflow the resampler's FFT.
pub const MAX_SAMPLE_MAGNITUDE: f32 = 1e6;

/// Checks decoded samples: every value finite and within [`MAX_SAMPLE_MAGNITUDE`].
pub fn check_samples(samples: &[f32]) -> Result<(), AudioError> {
    // One comparison per sample without an early exit vectorises (NaN fails `<=`, as do infinities);
    // only a bad file pays for finding where.
    let all_ok = samples.chunks(4096).all(|chunk| {
        chunk
            .iter()
            .fold(true, |ok, x| ok & (x.abs() <= MAX_SAMPLE_MAGNITUDE))
    });
    if all_ok {
        return Ok(());
    }
    match samples
        .iter()
        .position(|x| !x.is_finite() || x.abs() > MAX_SAMPLE_MAGNITUDE)
    {
        None => Ok(()),
        Some(index) if !samples[index].is_finite() => Err(AudioError::NonFinite { index }),
        Some(index) => Err(AudioError::OutOfRange {
            index,
            value: samples[index],
        }),
    }
}

/// Mixes planar channels to mono by taking the mean of the channels at each instant.
///
/// All planes must have the same length; extra samples of a longer plane are ignored.
/// An empty slice of planes gives an empty signal.
pub fn mix_to_mono(planes: &[&[f32]]) -> Vec<f32> {
    let Some(first) = planes.first() else {
        return Vec::new();
    };
    let len = planes.iter().map(|p| p.len()).min().unwrap_or(0);
    if planes.len() == 1 {
        return first[..len].to_vec();
    }
    let mut out = vec![0.0f32; len];
    for plane in planes {
        for (o, x) in out.iter_mut().zip(plane.iter()) {
            *o += *x;
        }
    }
    let scale = 1.0 / planes.len() as f32;
    out.iter_mut().for_each(|o| *o *= scale);
    out
}

/// Mono audio at 16 kHz (or another rate), ready for the front end.
#[derive(Debug, Clone, PartialEq)]
pub struct MonoAudio {
    /// Samples, nominally in [-1, 1].
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
}

/// Decodes `bytes`, mixes to mono and resamples to `target_rate`: the whole audio half of the pipeline.
///
/// `hint` is an optional file extension (`"wav"`, `"mp3"`…) that helps format detection.
pub fn load(
    bytes: &[u8],
    hint: Option<&str>,
    limits: &DecodeLimits,
    target_rate: u32,
) -> Result<(Decoded, MonoAudio), AudioError> {
    load_with_threads(bytes, hint, limits, target_rate, crate::available_threads())
}

/// [`load`] resampling on up to `threads` threads (the result does not depend on the number).
pub fn load_with_threads(
    bytes: &[u8],
    hint: Option<&str>,
    limits: &DecodeLimits,
    target_rate: u32,
    threads: usize,
) -> Result<(Decoded, MonoAudio), AudioError> {
    let decoded = decode(bytes, hint, limits)?;
    let samples =
        resample_with_threads(&decoded.samples, decoded.sample_rate, target_rate, threads)?;
    let mono = MonoAudio {
        samples,
        sample_rate: target_rate,
    };
    Ok((decoded, mono))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_is_mean_of_channels() {
        // mean of [1,2,3,4] and [5,6,7,8] = [3,4,5,6]
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        assert_eq!(mix_to_mono(&[&a, &b]), vec![3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn mono_of_one_channel_is_identity_and_of_none_is_empty() {
        let a = [0.5, -0.25];
        assert_eq!(mix_to_mono(&[&a]), vec![0.5, -0.25]);
        assert!(mix_to_mono(&[]).is_empty());
    }

    #[test]
    fn mono_of_six_channels() {
        // channel c holds the constant c: mean of 0..6 = 2.5
        let planes: Vec<Vec<f32>> = (0..6).map(|c| vec![c as f32; 3]).collect();
        let refs: Vec<&[f32]> = planes.iter().map(|p| p.as_slice()).collect();
        assert_eq!(mix_to_mono(&refs), vec![2.5; 3]);
    }

    #[test]
    fn rate_and_channel_limits() {
        assert!(check_sample_rate(4_000).is_ok());
        assert!(check_sample_rate(192_000).is_ok());
        assert!(matches!(
            check_sample_rate(0),
            Err(AudioError::BadSampleRate { rate: 0, .. })
        ));
        assert!(check_sample_rate(4_000_000_000).is_err());
        assert!(check_channels(6).is_ok());
        assert!(check_channels(0).is_err());
        assert!(check_channels(1000).is_err());
    }

    #[test]
    fn finds_first_non_finite() {
        assert_eq!(
            first_non_finite(&[0.0, 1.0, f32::NAN, f32::INFINITY]),
            Some(2)
        );
        assert_eq!(first_non_finite(&[0.0, -1.0]), None);
    }
}
