//! `acula decode`: what the model hears — an audio file decoded, mixed to mono and resampled to the
//! front end's rate (16 kHz), written as a 32-bit float WAV.

use std::path::PathBuf;

use acula_core::audio::{self, DecodeLimits};
use clap::Args;

use crate::{output, Failure};

/// Arguments of `acula decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Audio file: WAV, FLAC, MP3, Ogg Vorbis or AAC/M4A.
    pub audio: PathBuf,
    /// Output WAV file (mono, 32-bit float); written only if everything succeeds.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Output sample rate in Hz.
    #[arg(long, default_value_t = 16_000)]
    pub rate: u32,
    /// Refuse recordings longer than this many seconds.
    #[arg(long, default_value_t = DecodeLimits::default().max_seconds)]
    pub max_seconds: u32,
}

/// Most float samples a WAV file can hold (its sizes are 32-bit).
const MAX_WAV_SAMPLES: usize = (u32::MAX as usize - 36) / 4;

/// Encodes mono samples as a 32-bit IEEE float WAV; at most [`MAX_WAV_SAMPLES`] samples.
pub fn float_wav(samples: &[f32], rate: u32) -> Vec<u8> {
    acula_core::audio::wav::encode_f32_mono(samples, rate)
}

/// Runs `acula decode`.
pub fn run(args: &DecodeArgs) -> Result<(), Failure> {
    let input = |msg: String| Failure::input(format!("{}: {msg}", args.audio.display()));
    if args.audio.is_dir() {
        return Err(input("is a folder, not an audio file".into()));
    }
    audio::check_sample_rate(args.rate).map_err(|e| Failure::usage(format!("--rate: {e}")))?;
    let bytes = std::fs::read(&args.audio).map_err(|e| input(format!("cannot open: {e}")))?;
    let hint = args.audio.extension().and_then(|e| e.to_str());
    let limits = DecodeLimits {
        max_seconds: args.max_seconds,
    };
    let (_, mono) =
        audio::load(&bytes, hint, &limits, args.rate).map_err(|e| input(e.to_string()))?;
    if mono.samples.len() > MAX_WAV_SAMPLES {
        return Err(input(format!(
            "the decoded audio ({} samples) does not fit in a WAV file (4 GiB); lower --rate or cut the recording",
            mono.samples.len()
        )));
    }
    output::write_atomic(&args.out, &float_wav(&mono.samples, mono.sample_rate))
        .map_err(|e| Failure::output(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_wav_roundtrips_through_core() {
        let x = vec![0.5f32, -0.25, 0.125];
        let bytes = float_wav(&x, 16_000);
        assert_eq!(bytes.len(), 44 + 12);
        let d = acula_core::audio::decode(&bytes, Some("wav"), &DecodeLimits::default()).unwrap();
        assert_eq!((d.samples, d.sample_rate, d.channels), (x, 16_000, 1));
    }
}
