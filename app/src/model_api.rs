//! Timing loops the analyser's module exports to JavaScript, for the benchmark page driver
//! (`tests/bench/wasm_bench.mjs` imports `acula-analyser.js` into the page and calls them): retrieval
//! and the encoder's forward pass on the CPU backend.

use wasm_bindgen::prelude::*;

/// Builds a `rows` × `dim` index of pseudo-random embeddings in wasm and returns the mean milliseconds of
/// a top-`k` search over `iterations` queries (the retrieval benchmark's browser half).
#[wasm_bindgen(js_name = benchRetrieval)]
pub fn bench_retrieval(rows: u32, dim: u32, k: u32, iterations: u32) -> Result<f64, JsError> {
    use acula_core::retrieval::EmbeddingIndex;
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or_else(|| JsError::new("performance.now() is not available"))?;
    let mut state = 1u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let (rows, dim) = (rows as usize, dim as usize);
    let data: Vec<f32> = (0..rows * dim).map(|_| next()).collect();
    let index = EmbeddingIndex::from_rows(dim, data).map_err(|e| JsError::new(&e.to_string()))?;
    let query: Vec<f32> = (0..dim).map(|_| next()).collect();
    let n = iterations.max(1);
    let t0 = perf.now();
    for _ in 0..n {
        index
            .search(&query, k as usize)
            .map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok((perf.now() - t0) / f64::from(n))
}

/// Runs the browser's default encoder size (`gt-tiny`, randomly initialised) on one 8 s chunk
/// (`[1, 256, 64]`) on the CPU backend `iterations` times after one warm-up, and returns the mean
/// milliseconds per forward pass (the wasm half of the encoder benchmark; the native half is
/// `acula bench-model --encoder gt-tiny --batch 1` on one thread).
#[wasm_bindgen(js_name = benchEncoder)]
pub async fn bench_encoder(iterations: u32) -> Result<f64, JsError> {
    use acula_core::encoder::{Encoder, EncoderConfig};
    use burn::tensor::{Device, Tensor, TensorData};
    let perf = web_sys::window()
        .and_then(|w| w.performance())
        .ok_or_else(|| JsError::new("performance.now() is not available"))?;
    let config = EncoderConfig::gt_tiny();
    let device = Device::flex();
    let encoder = Encoder::new(&config, &device).map_err(|e| JsError::new(&e.to_string()))?;
    let values = config.frames * config.mels;
    let x: Vec<f32> = (0..values)
        .map(|i| ((i * 37) % 101) as f32 / 101.0)
        .collect();
    let x = Tensor::<3>::from_data(TensorData::new(x, [1, config.frames, config.mels]), &device);
    let n = iterations.max(1);
    let mut t0 = 0.0;
    for i in 0..=n {
        if i == 1 {
            t0 = perf.now();
        }
        encoder
            .forward(x.clone())
            .into_data_async()
            .await
            .map_err(|e| JsError::new(&format!("{e:?}")))?;
    }
    Ok((perf.now() - t0) / f64::from(n))
}
