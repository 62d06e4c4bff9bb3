//! `acula embed-audio`: clip embeddings of recordings from an encoder's weights in the PyTorch
//! state-dict layout (e.g. the published OPERA-GT checkpoint converted to safetensors), computed as
//! OPERA does for its linear probes: the reference front end, 256-frame chunks each run at its own
//! length (a last piece under 16 frames dropped), the mean of the chunk embeddings.

use std::path::PathBuf;

use acula_core::audio::DecodeLimits;
use acula_core::encoder::{Encoder, EncoderConfig};
use acula_core::{FrontEnd, FrontEndConfig, ProcessOptions};
use burn::tensor::Device;
use clap::Args;

use crate::{npy, output, Failure};

/// Arguments of `acula embed-audio`.
#[derive(Debug, Args)]
pub struct EmbedAudioArgs {
    /// Audio files.
    #[arg(required = true)]
    pub audio: Vec<PathBuf>,
    /// Encoder weights: safetensors with PyTorch names (`patch_embed.proj.weight`, `blocks.0.attn.qkv.weight`, …).
    #[arg(long)]
    pub weights: PathBuf,
    /// Encoder size: `gt-small` (OPERA-GT), `gt-tiny`, or a JSON file of `EncoderConfig`.
    #[arg(long, default_value = "gt-small")]
    pub encoder: String,
    /// Output `.npy`: one row per file, in input order.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Trim leading and trailing silence first (as OPERA does when it starts from audio).
    #[arg(long)]
    pub trim: bool,
}

/// Reads an encoder size: a preset name or a JSON file.
pub fn encoder_config(spec: &str) -> Result<EncoderConfig, Failure> {
    if let Some(c) = EncoderConfig::preset(spec) {
        return Ok(c);
    }
    let text = std::fs::read_to_string(spec).map_err(|e| {
        Failure::usage(format!(
            "{spec}: not a preset (gt-small, gt-tiny) and not a readable JSON file ({e})"
        ))
    })?;
    let c: EncoderConfig = serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("{spec}: not a valid encoder configuration: {e}")))?;
    c.validate()
        .map_err(|e| Failure::usage(format!("{spec}: {e}")))?;
    Ok(c)
}

/// Runs `acula embed-audio`.
pub fn run(args: &EmbedAudioArgs) -> Result<(), Failure> {
    let config = encoder_config(&args.encoder)?;
    let bytes = std::fs::read(&args.weights)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", args.weights.display())))?;
    let device = Device::flex();
    let encoder = Encoder::load_pytorch(&config, &bytes, &device)
        .map_err(|e| Failure::input(format!("{}: {e}", args.weights.display())))?;
    let front =
        FrontEnd::new(FrontEndConfig::default()).map_err(|e| Failure::usage(e.to_string()))?;
    let fcfg = front.config().clone();
    let opts = ProcessOptions {
        trim: args.trim,
        pad: false,
    };
    let mut rows = Vec::with_capacity(args.audio.len() * encoder.dim());
    for path in &args.audio {
        let input = |m: String| Failure::input(format!("{}: {m}", path.display()));
        let audio = crate::decode::read_audio(path, crate::decode::MAX_AUDIO_MB)
            .map_err(|e| input(e.to_string()))?;
        let hint = path.extension().and_then(|e| e.to_str());
        let (_, processed) =
            acula_core::features_from_bytes(&front, &audio, hint, &DecodeLimits::default(), &opts)
                .map_err(|e| input(e.to_string()))?;
        let f = &processed.features;
        let e = encoder
            .embed_clip(
                &f.data,
                f.frames,
                f.n_mels,
                config.frames,
                fcfg.min_chunk_frames,
            )
            .map_err(|e| input(e.to_string()))?;
        rows.extend_from_slice(&e);
    }
    output::write_atomic(
        &args.out,
        &npy::encode_f32(&[args.audio.len(), encoder.dim()], &rows),
    )
    .map_err(|e| Failure::output(e.to_string()))?;
    Ok(())
}
