//! The acula web page: choose or drop a recording; the browser decodes it, `acula-core` (compiled to
//! wasm) computes the reference log-mel front end, and the page draws the spectrogram.
//! Nothing leaves the device: there is no request other than for the page's own files.

mod analysis;
mod api;
mod spectrogram;
mod ui;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(ui::App);
    // The page shell shows a static "Loading…" line until the app is up.
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("loading"))
    {
        el.remove();
    }
}
