//! The page's few direct uses of the browser: its URL and query, the bundle's URL, the values it
//! publishes on `window` for tests and curious users, and file downloads.

use acula_core::screen::Screening;
use wasm_bindgen::JsCast;

use crate::analysis::Analysis;
use crate::state::Query;

/// The default bundle, relative to the page.
const DEFAULT_BUNDLE: &str = "models/default/";

/// The page's own URL.
fn page_url() -> Option<web_sys::Url> {
    let href = web_sys::window()?.location().href().ok()?;
    web_sys::Url::new(&href).ok()
}

/// Where the language switch's choice is kept (`localStorage`).
const LANG_SETTING: &str = "acula.lang";

/// The language chosen with the switch on an earlier visit.
pub fn remembered_lang() -> Option<String> {
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(LANG_SETTING)
        .ok()?
}

/// Remembers the switch's choice (nothing happens where the browser keeps no settings).
pub fn remember_lang(lang: crate::i18n::Lang) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(LANG_SETTING, lang.code());
    }
}

/// `<html lang>` and the document's title in `lang`.
pub fn set_document_lang(lang: crate::i18n::Lang) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(html) = doc.document_element() {
        let _ = html.set_attribute("lang", lang.code());
    }
    doc.set_title(&crate::i18n::tr(lang, "page.title", &[]));
}

/// The page's address without its query or fragment (what a visitor opens on a phone).
pub fn page_address() -> String {
    page_url()
        .map(|u| format!("{}{}", u.origin(), u.pathname()))
        .unwrap_or_default()
}

/// The page's own address (empty when it cannot be read).
pub fn page_href() -> String {
    page_url().map(|u| u.href()).unwrap_or_default()
}

/// The page's query parameters.
pub fn query() -> Query {
    let params = page_url().map(|u| u.search_params());
    Query::parse(|name| params.as_ref()?.get(name))
}

/// The bundle folder to load: `?bundle=` resolved against the page, refused unless same-origin.
pub fn bundle_url(requested: Option<&str>, page: &str) -> Result<String, String> {
    let raw = requested.unwrap_or(DEFAULT_BUNDLE);
    let url = web_sys::Url::new_with_base(raw, page)
        .map_err(|_| format!("?bundle={raw} is not a valid URL"))?;
    let origin = web_sys::Url::new(page)
        .map(|u| u.origin())
        .unwrap_or_default();
    if url.origin() != origin {
        return Err(format!(
            "?bundle={raw} is on another origin ({}); this page loads models only from its own origin ({origin}). Host the bundle beside the page",
            url.origin()
        ));
    }
    let mut s = url.href();
    if let Some(i) = s.find(['?', '#']) {
        s.truncate(i);
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// Publishes data for tests and curious users: `window.aculaLast` (the features) and
/// `window.aculaResult` (the latest screening as JSON).
fn publish(name: &str, value: &wasm_bindgen::JsValue) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &name.into(), value);
    }
}

/// `window.aculaLast`: the decoded recording's features (`frames`, `nMels`, `data`), or `null` for a
/// recording with no sound in it.
pub fn publish_features(a: &Analysis) {
    let Some(f) = &a.features else {
        publish("aculaLast", &wasm_bindgen::JsValue::NULL);
        return;
    };
    let obj = js_sys::Object::new();
    let data = js_sys::Float32Array::from(f.data.as_slice());
    let _ = js_sys::Reflect::set(&obj, &"frames".into(), &(f.frames as u32).into());
    let _ = js_sys::Reflect::set(&obj, &"nMels".into(), &(f.n_mels as u32).into());
    let _ = js_sys::Reflect::set(&obj, &"data".into(), &data);
    publish("aculaLast", &obj);
}

/// `window.aculaResult`: the latest screening, as its JSON.
pub fn publish_screening(s: &Screening) {
    if let Ok(json) = serde_json::to_string(s) {
        if let Ok(v) = js_sys::JSON::parse(&json) {
            publish("aculaResult", &v);
        }
    }
}

/// `window.<name>`: any serialisable answer as a plain JS object (`aculaSearch`, `aculaLabels`,
/// `aculaWorker`: the last screening's milliseconds and the worker's memory), for scripts and tests,
/// like [`publish_screening`].
pub fn publish_json<T: serde::Serialize>(name: &str, value: &T) {
    if let Ok(json) = serde_json::to_string(value) {
        if let Ok(v) = js_sys::JSON::parse(&json) {
            publish(name, &v);
        }
    }
}

/// The page's clock, in milliseconds (`performance.now()`).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// `window.aculaLive`: stage mode's live screening so far (`updates`, `lagsMs`, `skipped`, and the
/// latest window's `atS`, `verdict` and `scores`), for tests and the lag measurement.
pub fn publish_live(live: &crate::live::Live) {
    let latest = live.latest.as_ref().map(|u| {
        let (verdict, scores) = match &u.result {
            Ok(s) => (
                serde_json::to_value(s.quality.verdict).unwrap_or_default(),
                s.scores
                    .iter()
                    .map(|t| serde_json::json!({"task": t.task, "score": t.score}))
                    .collect(),
            ),
            Err(e) => (serde_json::json!({"error": e}), Vec::new()),
        };
        serde_json::json!({"atS": u.at_s, "lagMs": u.lag_ms, "verdict": verdict, "scores": scores})
    });
    publish_json(
        "aculaLive",
        &serde_json::json!({
            "updates": live.lags_ms.len(),
            "lagsMs": live.lags_ms,
            "skipped": live.skipped,
            "latest": latest,
        }),
    );
}

/// Saves `bytes` as the file `name` (the browser's download).
pub fn download(name: &str, bytes: &[u8], mime: &str) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &bag) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = doc
        .create_element("a")
        .map(|e| e.unchecked_into::<web_sys::HtmlAnchorElement>())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Mono samples as a 16-bit PCM WAV file (for "include the recording" in downloads).
pub fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
    let quantised = samples.iter().map(|x| {
        let v = if x.is_finite() {
            x.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        (v * 32767.0).round() as i16
    });
    acula_core::audio::wav::encode_pcm16_mono(quantised, rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_bytes_writes_a_valid_16_bit_mono_header_and_clamps() {
        let w = wav_bytes(&[0.0, 1.0, -1.0, 2.0, f32::NAN], 8000);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(w[4..8].try_into().unwrap()) as usize,
            w.len() - 8
        );
        assert_eq!(&w[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 8000);
        assert_eq!(&w[36..40], b"data");
        let samples: Vec<i16> = w[44..]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(samples, vec![0, 32767, -32767, 32767, 0]);
    }
}
