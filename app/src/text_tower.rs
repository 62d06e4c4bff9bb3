//! The text tower's wasm module (`acula-text`): the sentence encoder (all-MiniLM-L6-v2 with its
//! tokenizer, `acula_core::text`) on its own, so that the page's module does not carry the tokenizer
//! and only people who use a text feature download it. The analyser worker imports this module the
//! first time a text feature is used (`www/worker.js`), hands it the files it fetched and verified
//! (`app/src/worker.rs`), and asks it for sentence vectors; the text head, the report index and the
//! zero-shot scores stay in the analyser, which has the bundle.

use std::cell::RefCell;
use std::rc::Rc;

use acula_core::text::TextEncoder;
use burn::tensor::Device;
use js_sys::{Array, Float32Array, Object, Reflect};
use wasm_bindgen::prelude::*;

thread_local! {
    static ENCODER: RefCell<Option<(Rc<TextEncoder>, &'static str)>> = const { RefCell::new(None) };
}

fn main() {
    acula_app::start_module();
}

fn error(message: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&message.to_string()).into()
}

#[cfg(target_arch = "wasm32")]
async fn gpu() -> Result<Device, String> {
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("{e}"))
}

#[cfg(not(target_arch = "wasm32"))]
async fn gpu() -> Result<Device, String> {
    Err("WebGPU exists only in the browser build".into())
}

/// Loads the encoder from its three files (already checked against `tower.json` by the caller) on
/// WebGPU when `webgpu` is true (falling back to the CPU) or on the CPU; resolves to the backend used
/// (`"webgpu"` or `"cpu"`).
#[wasm_bindgen(js_name = textLoad)]
pub async fn text_load(
    config_json: String,
    weights: Vec<u8>,
    tokenizer_json: Vec<u8>,
    max_tokens: usize,
    webgpu: bool,
) -> Result<JsValue, JsValue> {
    ENCODER.with_borrow_mut(|e| *e = None);
    let (device, backend) = match webgpu {
        true => match gpu().await {
            Ok(d) => (d, "webgpu"),
            Err(_) => (Device::flex(), "cpu"),
        },
        false => (Device::flex(), "cpu"),
    };
    let encoder =
        TextEncoder::from_bytes(&config_json, &weights, &tokenizer_json, &device, max_tokens)
            .map_err(error)?;
    drop(weights);
    // One warm-up sentence: the first run on WebGPU compiles its shaders.
    encoder.embed_async(&["warm-up"]).await.map_err(error)?;
    ENCODER.with_borrow_mut(|e| *e = Some((Rc::new(encoder), backend)));
    Ok(JsValue::from_str(backend))
}

/// Sentence vectors of `texts` (mean-pooled, not normalised): resolves to
/// `{ dim, vectors: Float32Array (texts × dim), truncated: [bool] }`.
#[wasm_bindgen(js_name = textEmbed)]
pub async fn text_embed(texts: Vec<String>) -> Result<JsValue, JsValue> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let Some(encoder) = ENCODER.with_borrow(|e| e.as_ref().map(|(enc, _)| enc.clone())) else {
        return Err(error("the text model is not loaded"));
    };
    let truncated = refs
        .iter()
        .map(|t| encoder.truncated(t))
        .collect::<Result<Vec<bool>, _>>()
        .map_err(error)?;
    let dim = encoder.dim();
    let rows = encoder.embed_async(&refs).await.map_err(error)?;
    let flat: Vec<f32> = rows.into_iter().flatten().collect();
    let out = Object::new();
    Reflect::set(&out, &"dim".into(), &JsValue::from(dim as u32))?;
    Reflect::set(
        &out,
        &"vectors".into(),
        &Float32Array::from(flat.as_slice()).into(),
    )?;
    let flags = Array::new();
    for t in truncated {
        flags.push(&JsValue::from_bool(t));
    }
    Reflect::set(&out, &"truncated".into(), &flags.into())?;
    Ok(out.into())
}
