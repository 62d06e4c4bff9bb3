//! The acula web page. The page (this module, on the main thread) decodes recordings with the browser,
//! draws them, and shows results; the analyser (its own wasm module, `analyser.rs`, inside a Web
//! Worker) loads the model bundle and screens recordings with `acula-core`. This module is built
//! without the model: no burn, a few MB instead of tens. Nothing leaves the device: there is no
//! request other than for the page's own files and its model bundle.

mod analysis;
mod api;
mod browser;
mod client;
mod history;
mod live;
mod recorder;
mod results;
mod spectrogram;
mod state;
mod ui;

use acula_app::{i18n, net, protocol};

fn main() {
    acula_app::start_module();
    let Some(window) = web_sys::window() else {
        return;
    };
    leptos::mount::mount_to_body(ui::App);
    register_service_worker(&window);
    // The page shell shows a static "Loading…" line until the app is up.
    if let Some(el) = window
        .document()
        .and_then(|d| d.get_element_by_id("loading"))
    {
        el.remove();
    }
}

/// Registers `sw.js` (beside the page, so its scope is the page's folder, whatever the sub-path):
/// it keeps the page's files for offline use.
fn register_service_worker(window: &web_sys::Window) {
    let container = window.navigator().service_worker();
    let promise = container.register("./sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
            leptos::logging::warn!("offline use is not available: {}", net::js_message(&e));
        }
    });
}
