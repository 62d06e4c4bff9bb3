//! # acula-core
//!
//! The part of AcuLa that runs everywhere — natively in the `acula` CLI and as wasm in the browser:
//! audio decoding ([`audio`]), the reference log-mel front end ([`frontend`]), exact embedding retrieval
//! ([`retrieval`]), safetensors reading and writing ([`weights`]), the audio encoder ([`encoder`]), the
//! model bundle ([`bundle`]), the recording-quality check ([`quality`]) and the screening pipeline that
//! ties them together ([`screen`]). It takes bytes and slices and returns values: no file system, no web
//! APIs, no printing.
//!
//! The frozen language-model teachers, which only training needs, are behind cargo features of the same
//! names: `text` (the module `text`: all-MiniLM-L6-v2, with the `tokenizers` crate) and `lm` (the module
//! `lm`: SmolLM2 from its GGUF file). The trainer enables both; the web page needs neither.
//!
//! Everything that needs burn (the encoder itself, the kernels, weights, screening and text search) is
//! behind the default feature `model`. Without it the crate is what the web page's own module links:
//! decoding, the front end, the quality check, the bundle's manifest and the result types; the
//! analyser's module (a Web Worker) has the model.

pub mod audio;
pub mod bundle;
#[cfg(feature = "model")]
pub mod encoder;
/// Without the `model` feature, the encoder's configuration only (a bundle's manifest names it).
#[cfg(not(feature = "model"))]
pub mod encoder {
    mod config;
    pub use config::{sincos_table, EncoderConfig};
}
pub mod error;
pub mod events;
pub mod frontend;
pub mod head;
#[cfg(feature = "model")]
pub mod kernels;
pub mod language;
#[cfg(feature = "lm")]
pub mod lm;
pub mod quality;
pub mod recording;
pub mod retrieval;
pub mod screen;
pub mod statistics;
#[cfg(feature = "text")]
pub mod text;
#[cfg(feature = "model")]
pub mod weights;

pub use error::{
    AudioError, BundleError, Error, FrontEndError, ModelError, RetrievalError, TextInputError,
};
pub use frontend::{Features, FrontEnd, FrontEndConfig, ProcessOptions, Processed};
pub use recording::RecordingKind;

use audio::{DecodeLimits, Decoded};

/// Threads the heavy loops may use: every core natively, one in wasm (the browser gives no threads
/// without cross-origin isolation). Results never depend on this number.
pub(crate) fn available_threads() -> usize {
    if cfg!(target_arch = "wasm32") {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Decodes `bytes` (any supported format), mixes to mono, resamples to the front end's rate and
/// computes the features: the whole audio pipeline in one call.
pub fn features_from_bytes(
    front_end: &FrontEnd,
    bytes: &[u8],
    hint: Option<&str>,
    limits: &DecodeLimits,
    opts: &ProcessOptions,
) -> Result<(Decoded, Processed), Error> {
    let (decoded, mono) = audio::load_with_threads(
        bytes,
        hint,
        limits,
        front_end.config().sample_rate,
        front_end.threads(),
    )?;
    let processed = front_end.process(&mono.samples, opts)?;
    Ok((decoded, processed))
}

/// The front end on planar PCM at any rate (what the browser hands over after `decodeAudioData`):
/// mixes to mono, resamples to the front end's rate, and computes the features.
pub fn features_from_planes(
    front_end: &FrontEnd,
    planes: &[&[f32]],
    sample_rate: u32,
    opts: &ProcessOptions,
) -> Result<Processed, Error> {
    audio::check_channels(planes.len())?;
    audio::check_sample_rate(sample_rate)?;
    let mono = audio::mix_to_mono(planes);
    audio::check_samples(&mono)?;
    let samples = audio::resample_with_threads(
        &mono,
        sample_rate,
        front_end.config().sample_rate,
        front_end.threads(),
    )?;
    Ok(front_end.process(&samples, opts)?)
}
