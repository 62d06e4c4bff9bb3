//! `acula decode`: what the model hears — an audio file decoded, mixed to mono and resampled to the
//! front end's rate (16 kHz), written as a 32-bit float WAV.

use std::io::Read as _;
use std::path::{Path, PathBuf};

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
    /// Refuse files larger than this many megabytes (MiB), before reading them.
    #[arg(long, default_value_t = MAX_AUDIO_MB)]
    pub max_mb: u64,
}

/// Largest audio file read by default, in MiB: a 10-minute 96 kHz stereo 24-bit WAV is 330 MiB. The
/// whole file is held in memory while it is decoded, so this bounds the memory a file can claim.
pub const MAX_AUDIO_MB: u64 = 512;

/// Why an audio file was not read (the messages leave the file's name to the caller).
#[derive(Debug, thiserror::Error)]
pub enum ReadAudioError {
    /// The path is a folder.
    #[error("is a folder, not an audio file")]
    Folder,
    /// The file cannot be opened.
    #[error("cannot open: {0}")]
    Open(std::io::Error),
    /// Reading failed part-way.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// The file is over the limit (`size` in words: `700 MiB`, `over 512 MiB`).
    #[error(
        "the file is {size}; files over {max_mb} MiB are refused (raise --max-mb, or cut the recording)"
    )]
    TooLarge { size: String, max_mb: u64 },
}

/// Reads an audio file of at most `max_mb` MiB, refusing larger ones up front (and anything that
/// keeps growing past the limit while read, such as a device file), with one-line messages.
pub fn read_audio(path: &Path, max_mb: u64) -> Result<Vec<u8>, ReadAudioError> {
    if path.is_dir() {
        return Err(ReadAudioError::Folder);
    }
    let limit = max_mb.saturating_mul(1 << 20);
    let too_big = |size: String| ReadAudioError::TooLarge { size, max_mb };
    let file = std::fs::File::open(path).map_err(ReadAudioError::Open)?;
    let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
    if declared > limit {
        return Err(too_big(format!(
            "{:.0} MiB",
            declared as f64 / (1 << 20) as f64
        )));
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadAudioError::Read)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(format!("over {max_mb} MiB")));
    }
    Ok(bytes)
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
    audio::check_sample_rate(args.rate).map_err(|e| Failure::usage(format!("--rate: {e}")))?;
    let bytes = read_audio(&args.audio, args.max_mb).map_err(|e| input(e.to_string()))?;
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
