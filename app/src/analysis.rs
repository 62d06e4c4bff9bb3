//! Domain state and the async pipeline: bytes → browser decode → core front end.

use acula_core::audio::{probe_info, DecodeLimits, StreamInfo, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use acula_core::{
    features_from_planes, Error, Features, FrontEnd, FrontEndConfig, FrontEndError, ProcessOptions,
};
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioBuffer, OfflineAudioContext};

/// Rate used to decode when the file's own rate is unknown (WebM/Opus and others only browsers read).
const FALLBACK_DECODE_RATE: u32 = 48_000;

/// Everything the page shows about one analysed recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The file's name.
    pub name: String,
    /// The file's size in bytes.
    pub bytes: usize,
    /// What the header says (when core can read it).
    pub info: Option<StreamInfo>,
    /// Channels of the browser-decoded buffer.
    pub channels: u32,
    /// Rate the browser decoded at, in Hz.
    pub decoded_rate: u32,
    /// Duration in seconds.
    pub duration_s: f64,
    /// The scaled log-mel features; `None` for a recording with no sound in it (a constant signal,
    /// nothing left after trimming, or a constant spectrogram), which has no spectrogram to draw. Such a
    /// recording is still screened: the analyser's quality check says "no sound", as `acula predict`
    /// does.
    pub features: Option<Features>,
    /// Milliseconds spent in the wasm front end (mono, resample, log-mel).
    pub front_end_ms: f64,
    /// The mono PCM at `decoded_rate` (what the analyser screens, as `acula predict` does).
    pub mono: Vec<f32>,
}

fn js_err(context: &str, e: wasm_bindgen::JsValue) -> String {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".to_string());
    format!("{context}: {detail}")
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Decodes `bytes` with the browser's `decodeAudioData` at `rate` and returns the channel planes.
async fn browser_decode(bytes: &[u8], rate: u32) -> Result<AudioBuffer, String> {
    let ctx = OfflineAudioContext::new_with_number_of_channels_and_length_and_sample_rate(
        1,
        1,
        rate as f32,
    )
    .map_err(|e| js_err("this browser cannot create an audio context", e))?;
    let buffer = Uint8Array::from(bytes).buffer();
    let promise = ctx
        .decode_audio_data(&buffer)
        .map_err(|e| js_err("the browser refused the file", e))?;
    let decoded = JsFuture::from(promise).await.map_err(|_| {
        "the browser could not decode this file as audio; try WAV, FLAC, MP3, Ogg or M4A"
            .to_string()
    })?;
    decoded
        .dyn_into::<AudioBuffer>()
        .map_err(|_| "the browser returned no audio".to_string())
}

/// Stage mode: decodes a recording so far (a complete file) with the browser and returns the last
/// `seconds` of it as mono PCM with its rate (no front end: the analyser screens the samples).
pub async fn decode_tail(buffer: &ArrayBuffer, seconds: f64) -> Result<(Vec<f32>, u32), String> {
    let bytes = Uint8Array::new(buffer).to_vec();
    let audio = browser_decode(&bytes, FALLBACK_DECODE_RATE).await?;
    let rate = audio.sample_rate().round() as u32;
    let keep = (seconds * f64::from(rate)).max(0.0) as usize;
    let planes: Vec<Vec<f32>> = (0..audio.number_of_channels())
        .map(|c| {
            audio
                .get_channel_data(c)
                .map(|p| p[p.len().saturating_sub(keep)..].to_vec())
                .map_err(|e| js_err("cannot read the decoded audio", e))
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<&[f32]> = planes.iter().map(|p| p.as_slice()).collect();
    Ok((acula_core::audio::mix_to_mono(&refs), rate))
}

/// Analyses one file: decode in the browser at the file's own rate where the header gives it (so the
/// resampling to 16 kHz is core's, exactly as in the CLI), then run the front end.
pub async fn analyse(name: String, buffer: ArrayBuffer) -> Result<Analysis, String> {
    let bytes = Uint8Array::new(&buffer).to_vec();
    if bytes.is_empty() {
        return Err(acula_core::AudioError::Empty.to_string());
    }
    let hint = name.rsplit_once('.').map(|(_, ext)| ext.to_string());
    let info = probe_info(&bytes, hint.as_deref());
    let rate = info
        .as_ref()
        .and_then(|i| i.sample_rate)
        .filter(|r| (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(r))
        .unwrap_or(FALLBACK_DECODE_RATE);
    // Browsers must support 8–96 kHz contexts; outside that, or if this one refuses, fall back to 48 kHz.
    let audio = match browser_decode(&bytes, rate).await {
        Err(_) if rate != FALLBACK_DECODE_RATE => {
            browser_decode(&bytes, FALLBACK_DECODE_RATE).await?
        }
        other => other?,
    };
    let limit_s = DecodeLimits::default().max_seconds;
    if f64::from(audio.length()) > f64::from(limit_s) * f64::from(audio.sample_rate()) {
        return Err(acula_core::AudioError::TooLong { limit_s }.to_string());
    }
    let channels = audio.number_of_channels();
    let planes: Vec<Vec<f32>> = (0..channels)
        .map(|c| {
            audio
                .get_channel_data(c)
                .map_err(|e| js_err("cannot read the decoded audio", e))
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<&[f32]> = planes.iter().map(|p| p.as_slice()).collect();
    let mono = acula_core::audio::mix_to_mono(&refs);
    let decoded_rate = audio.sample_rate().round() as u32;
    let front_end = FrontEnd::new(FrontEndConfig::default()).map_err(|e| e.to_string())?;
    let t0 = now_ms();
    let features =
        match features_from_planes(&front_end, &refs, decoded_rate, &ProcessOptions::default()) {
            Ok(p) => Some(p.features),
            Err(Error::FrontEnd(
                FrontEndError::AllSilent
                | FrontEndError::ConstantSignal
                | FrontEndError::ConstantSpectrogram,
            )) => None,
            Err(e) => return Err(e.to_string()),
        };
    let front_end_ms = now_ms() - t0;
    Ok(Analysis {
        name,
        bytes: bytes.len(),
        info,
        channels,
        decoded_rate,
        duration_s: f64::from(audio.length()) / f64::from(audio.sample_rate()),
        features,
        front_end_ms,
        mono,
    })
}
