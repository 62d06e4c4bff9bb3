//! The acula web page. The page (this crate on the main thread) decodes recordings with the browser,
//! draws them, and shows results; the analyser (this same wasm module inside a Web Worker, see
//! `worker.rs`) loads the model bundle and screens recordings with `acula-core`. Nothing leaves the
//! device: there is no request other than for the page's own files and its model bundle.

mod analysis;
mod api;
mod browser;
mod client;
mod net;
mod protocol;
mod recorder;
mod results;
mod spectrogram;
mod state;
mod text;
mod ui;
mod worker;

// The static constructors (cubecl's `inventory` registrations): run once, here. Because this code
// calls them itself, wasm-ld does not wrap every export in a call to them, as it does for a bin
// target otherwise ("command" modules): that ran all of them again on every call from JS into the
// module (each event handler, effect and worker message), hundreds of milliseconds per screening.
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

fn main() {
    // SAFETY: `main` is the module's start function, called once by the wasm-bindgen init before
    // any other export; nothing ran the constructors before.
    #[cfg(target_arch = "wasm32")]
    unsafe {
        __wasm_call_ctors();
    }
    console_error_panic_hook::set_once();
    // Inside the worker there is no window: `worker.js` calls `workerStart` instead.
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
