//! Container and codec decoding with symphonia: WAV (8-bit unsigned, 16/24/32-bit integer, 32/64-bit
//! float, ADPCM, WAVE_FORMAT_EXTENSIBLE, extra chunks), FLAC, MP3, Ogg Vorbis and AAC in MP4/M4A or ADTS.
//!
//! The decoder mixes to mono while it decodes, so a six-channel file costs the memory of one channel.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::{check_channels, check_sample_rate, check_samples};
use crate::error::AudioError;

/// Limits that keep decoding bounded on hostile or huge inputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Longest recording accepted, in seconds. Default: 600 (10 minutes).
    pub max_seconds: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_seconds: 600 }
    }
}

/// A decoded recording, mixed to mono at its own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Mono samples (mean of the channels), nominally in [-1, 1].
    pub samples: Vec<f32>,
    /// The file's sample rate in Hz.
    pub sample_rate: u32,
    /// The file's channel count.
    pub channels: usize,
    /// Short name of the codec (`pcm_s16le`, `mp3`, `flac`…).
    pub codec: String,
}

impl Decoded {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Decodes a whole file held in memory. `hint` is an optional file extension (without the dot).
pub fn decode(
    bytes: &[u8],
    hint: Option<&str>,
    limits: &DecodeLimits,
) -> Result<Decoded, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if let Some(result) = super::wav::decode_wav(bytes, limits) {
        return result;
    }
    decode_source(Box::new(Cursor::new(bytes)), hint, limits)
}

/// Decodes from any seekable source (a file natively, a byte slice anywhere).
///
/// A panic inside the decoder on a malformed stream is turned into [`AudioError::DecoderFault`]
/// where unwinding is available (native targets).
pub fn decode_source<'s>(
    source: Box<dyn MediaSource + 's>,
    hint: Option<&str>,
    limits: &DecodeLimits,
) -> Result<Decoded, AudioError> {
    match catch_unwind(AssertUnwindSafe(|| decode_inner(source, hint, limits))) {
        Ok(result) => result,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "internal decoder error".to_string());
            Err(AudioError::DecoderFault(msg))
        }
    }
}

fn map_probe_error(err: SymError) -> AudioError {
    match err {
        SymError::Unsupported(msg) if msg.contains("no suitable format reader") => {
            AudioError::UnknownFormat
        }
        SymError::Unsupported(msg) => AudioError::UnsupportedCodec(msg.to_string()),
        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Malformed("it ends inside the header".to_string())
        }
        other => AudioError::Malformed(other.to_string()),
    }
}

fn decode_inner<'s>(
    source: Box<dyn MediaSource + 's>,
    hint: Option<&str>,
    limits: &DecodeLimits,
) -> Result<Decoded, AudioError> {
    let mss = MediaSourceStream::new(source, Default::default());
    let mut probe_hint = Hint::new();
    if let Some(ext) = hint {
        probe_hint.with_extension(&ext.to_ascii_lowercase());
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &probe_hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(map_probe_error)?;

    let track = format
        .default_track(TrackType::Audio)
        .ok_or(AudioError::NoAudioTrack)?
        .clone();
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(AudioError::NoAudioTrack)?
        .clone();

    if let Some(rate) = params.sample_rate {
        check_sample_rate(rate)?;
    }
    if let Some(channels) = &params.channels {
        check_channels(channels.count())?;
    }

    let registry = symphonia::default::get_codecs();
    let codec = registry
        .get_audio_decoder(params.codec)
        .map(|r| r.codec.info.short_name.to_string())
        .ok_or_else(|| AudioError::UnsupportedCodec(format!("codec id {}", params.codec)))?;
    let mut decoder = registry
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::UnsupportedCodec(format!("{codec}: {e}")))?;

    // Reserve what the header declares, within the duration limit (a lying header costs nothing).
    let declared = track
        .num_frames
        .unwrap_or(0)
        .min(u64::from(limits.max_seconds) * u64::from(params.sample_rate.unwrap_or(0)));
    let mut mono: Vec<f32> =
        Vec::with_capacity(usize::try_from(declared).unwrap_or(0).min(1 << 22));
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut spec_seen: Option<(u32, usize)> = None;
    let mut max_samples: usize = usize::MAX;
    let mut bad_packets = 0usize;
    let mut good_packets = 0usize;
    let mut last_error: Option<String> = None;

    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A chained Ogg stream or a truncated tail: keep what was decoded so far.
            Err(SymError::ResetRequired) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                last_error = Some("it ends in the middle of an audio frame".to_string());
                break;
            }
            Err(e) => {
                last_error = Some(e.to_string());
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(msg)) => {
                bad_packets += 1;
                last_error = Some(msg.to_string());
                continue;
            }
            Err(e) => {
                last_error = Some(e.to_string());
                break;
            }
        };
        good_packets += 1;
        let rate = buf.spec().rate();
        let channels = buf.spec().channels().count();
        match spec_seen {
            None => {
                check_sample_rate(rate)?;
                check_channels(channels)?;
                spec_seen = Some((rate, channels));
                max_samples = (limits.max_seconds as usize).saturating_mul(rate as usize);
            }
            Some((r, c)) if r != rate || c != channels => {
                return Err(AudioError::FormatChanged(format!(
                    "{r} Hz × {c} channels, then {rate} Hz × {channels} channels"
                )));
            }
            Some(_) => {}
        }
        if buf.frames() == 0 {
            continue;
        }
        buf.copy_to_vecs_planar::<f32>(&mut planes);
        let start = mono.len();
        let frames = buf.frames();
        if start + frames > max_samples {
            return Err(AudioError::TooLong {
                limit_s: limits.max_seconds,
            });
        }
        mono.resize(start + frames, 0.0);
        let out = &mut mono[start..];
        for plane in &planes {
            for (o, x) in out.iter_mut().zip(plane.iter()) {
                *o += *x;
            }
        }
        if planes.len() > 1 {
            let scale = 1.0 / planes.len() as f32;
            out.iter_mut().for_each(|o| *o *= scale);
        }
    }

    let Some((sample_rate, channels)) = spec_seen else {
        return Err(match last_error {
            Some(msg) => AudioError::Malformed(msg),
            None if bad_packets > 0 => {
                AudioError::Malformed("no packet could be decoded".to_string())
            }
            None => AudioError::NoSamples,
        });
    };
    if mono.is_empty() {
        return Err(AudioError::NoSamples);
    }
    if bad_packets > 0 {
        tracing::warn!(bad_packets, good_packets, "skipped undecodable packets");
    }
    check_samples(&mono)?;
    Ok(Decoded {
        samples: mono,
        sample_rate,
        channels,
        codec,
    })
}

/// What a file's header says, read without decoding the audio.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Declared sample rate in Hz, if the header gives one.
    pub sample_rate: Option<u32>,
    /// Declared channel count, if the header gives one.
    pub channels: Option<usize>,
    /// Short codec name, when the codec is one symphonia knows.
    pub codec: Option<String>,
    /// Declared length in frames, if known.
    pub frames: Option<u64>,
}

/// Reads the container header of `bytes` (no decoding). `None` when no known format matches
/// (e.g. WebM/Opus, which only the browser decodes).
pub fn probe_info(bytes: &[u8], hint: Option<&str>) -> Option<StreamInfo> {
    if bytes.is_empty() {
        return None;
    }
    catch_unwind(AssertUnwindSafe(|| {
        let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
        let mut probe_hint = Hint::new();
        if let Some(ext) = hint {
            probe_hint.with_extension(&ext.to_ascii_lowercase());
        }
        let format = symphonia::default::get_probe()
            .probe(
                &probe_hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .ok()?;
        let track = format.default_track(TrackType::Audio)?;
        let params = track.codec_params.as_ref()?.audio()?;
        Some(StreamInfo {
            sample_rate: params.sample_rate,
            channels: params.channels.as_ref().map(|c| c.count()),
            codec: symphonia::default::get_codecs()
                .get_audio_decoder(params.codec)
                .map(|r| r.codec.info.short_name.to_string()),
            frames: track.num_frames,
        })
    }))
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut b = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        for v in [tag, channels] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        let riff = (b.len() - 8) as u32;
        b[4..8].copy_from_slice(&riff.to_le_bytes());
        b
    }

    #[test]
    fn fast_wav_path_equals_symphonia() {
        // Pseudo-random bytes are valid samples for every integer encoding; for floats use real values.
        let raw: Vec<u8> = (0..6_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let floats: Vec<u8> = (0..1_500)
            .flat_map(|i| ((i as f32 * 0.01).sin() * 0.7).to_le_bytes())
            .collect();
        let cases = [
            wav(1, 1, 8_000, 8, &raw),
            wav(1, 2, 16_000, 16, &raw),
            wav(1, 3, 48_000, 24, &raw[..5_994]),
            wav(1, 1, 44_100, 32, &raw),
            wav(3, 2, 22_050, 32, &floats),
        ];
        let limits = DecodeLimits::default();
        for (i, bytes) in cases.iter().enumerate() {
            let fast = decode(bytes, Some("wav"), &limits).unwrap();
            let general = decode_source(
                Box::new(Cursor::new(bytes.as_slice())),
                Some("wav"),
                &limits,
            )
            .unwrap();
            assert_eq!(
                (fast.sample_rate, fast.channels),
                (general.sample_rate, general.channels),
                "case {i}"
            );
            assert_eq!(fast.samples.len(), general.samples.len(), "case {i}");
            let max = fast
                .samples
                .iter()
                .zip(&general.samples)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(max <= 1e-6, "case {i}: max |fast − symphonia| = {max}");
        }
    }

    #[test]
    fn general_path_errors() {
        let limits = DecodeLimits::default();
        assert_eq!(decode(&[], None, &limits), Err(AudioError::Empty));
        let junk = vec![0x5Au8; 3_000];
        assert_eq!(
            decode(&junk, Some("mp3"), &limits),
            Err(AudioError::UnknownFormat)
        );
        assert!(probe_info(&junk, None).is_none());
        let info = probe_info(&wav(1, 2, 16_000, 16, &[0; 400]), Some("wav")).unwrap();
        assert_eq!(
            (info.sample_rate, info.channels, info.frames),
            (Some(16_000), Some(2), Some(100))
        );
    }
}
