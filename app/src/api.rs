//! Functions the page's module exports to JavaScript (reachable as `window.wasmBindings.*` once Trunk's
//! loader has run): the front end on raw PCM, used by the browser tests to compare wasm with native, and
//! a timing loop used by the benchmark page driver. The model's timing loops are the analyser's
//! (`model_api.rs`).

use acula_core::{features_from_planes, FrontEnd, FrontEndConfig, ProcessOptions};
use wasm_bindgen::prelude::*;

/// Log-mel features of mono PCM at `sample_rate` Hz, flattened row-major; the frame count is
/// `length / 64`. Throws a JS error with the one-line message on bad input.
#[wasm_bindgen(js_name = frontEndFeatures)]
pub fn front_end_features(pcm: &[f32], sample_rate: u32) -> Result<Vec<f32>, JsError> {
    let front_end =
        FrontEnd::new(FrontEndConfig::default()).map_err(|e| JsError::new(&e.to_string()))?;
    let processed =
        features_from_planes(&front_end, &[pcm], sample_rate, &ProcessOptions::default())
            .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(processed.features.data)
}

/// Runs the front end `iterations` times on the same PCM and returns the mean milliseconds per run
/// (resampling included when `sample_rate` is not 16 kHz). Timing uses `performance.now()`.
#[wasm_bindgen(js_name = benchFrontEnd)]
pub fn bench_front_end(pcm: &[f32], sample_rate: u32, iterations: u32) -> Result<f64, JsError> {
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or_else(|| JsError::new("performance.now() is not available"))?;
    let front_end =
        FrontEnd::new(FrontEndConfig::default()).map_err(|e| JsError::new(&e.to_string()))?;
    let n = iterations.max(1);
    let t0 = perf.now();
    for _ in 0..n {
        features_from_planes(&front_end, &[pcm], sample_rate, &ProcessOptions::default())
            .map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok((perf.now() - t0) / f64::from(n))
}
