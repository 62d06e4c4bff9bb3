//! `acula features`: one audio file → the front end's (frames, 64) float32 matrix as `.npy`.

use std::path::{Path, PathBuf};

use acula_core::audio::DecodeLimits;
use acula_core::{FrontEnd, FrontEndConfig, ProcessOptions};
use anyhow::{Context, Result};
use clap::Args;

use crate::{npy, output, Failure};

/// Arguments of `acula features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Audio file: WAV, FLAC, MP3, Ogg Vorbis or AAC/M4A, any sample rate and channel count.
    pub audio: PathBuf,
    /// Output `.npy` file; written only if everything succeeds.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Trim leading and trailing silence first (librosa `effects.trim`, top 60 dB).
    #[arg(long)]
    pub trim: bool,
    /// Repeat-pad a clip shorter than one chunk (256 frames) up to one chunk.
    #[arg(long)]
    pub pad: bool,
    /// Write (chunks, 256, 64) encoder chunks instead of (frames, 64); a short last chunk is filled by
    /// repeating its frames, a last piece under 16 frames is dropped.
    #[arg(long)]
    pub chunk: bool,
    /// Front-end configuration (JSON); missing keys take the reference values (`acula config`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Refuse recordings longer than this many seconds.
    #[arg(long, default_value_t = DecodeLimits::default().max_seconds)]
    pub max_seconds: u32,
    /// Refuse files larger than this many megabytes (MiB), before reading them.
    #[arg(long, default_value_t = crate::decode::MAX_AUDIO_MB)]
    pub max_mb: u64,
}

/// Reads a front-end configuration file, or the reference configuration when none is given.
pub fn load_config(path: Option<&Path>) -> Result<FrontEndConfig, Failure> {
    let Some(path) = path else {
        return Ok(FrontEndConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the config {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("the config {} is not valid: {e}", path.display())))
}

/// Runs `acula features`.
pub fn run(args: &FeaturesArgs) -> Result<(), Failure> {
    let cfg = load_config(args.config.as_deref())?;
    let front_end = FrontEnd::new(cfg).map_err(|e| Failure::usage(e.to_string()))?;
    let input = |msg: String| Failure::input(format!("{}: {msg}", args.audio.display()));

    let bytes =
        crate::decode::read_audio(&args.audio, args.max_mb).map_err(|e| input(e.to_string()))?;
    let hint = args.audio.extension().and_then(|e| e.to_str());
    let limits = DecodeLimits {
        max_seconds: args.max_seconds,
    };
    let opts = ProcessOptions {
        trim: args.trim,
        pad: args.pad,
    };
    let (decoded, processed) =
        acula_core::features_from_bytes(&front_end, &bytes, hint, &limits, &opts)
            .map_err(|e| input(e.to_string()))?;
    drop(bytes);
    let f = &processed.features;

    let bytes = if args.chunk {
        let cfg = front_end.config();
        let (n, block) = f.chunked(cfg.chunk_frames, cfg.min_chunk_frames);
        npy::encode_f32(&[n, cfg.chunk_frames, f.n_mels], &block)
    } else {
        npy::encode_f32(&[f.frames, f.n_mels], &f.data)
    };
    output::write_atomic(&args.out, &bytes)
        .context("writing the features")
        .map_err(|e| Failure::output(format!("{e:#}")))?;
    tracing::info!(
        codec = %decoded.codec,
        rate = decoded.sample_rate,
        channels = decoded.channels,
        seconds = decoded.duration_s(),
        frames = f.frames,
        "wrote {}",
        args.out.display()
    );
    Ok(())
}
