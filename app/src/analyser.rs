//! The analyser's wasm module: the page's Web Worker (`www/worker.js`) imports it and hands every
//! message to Rust (`workerStart`, `worker.rs`). It loads the model bundle and screens recordings
//! with `acula-core` (burn, on WebGPU or the CPU), and answers the text features with the text tower
//! (`text.rs`, which imports the separate `acula-text` module on first use). The page's own module
//! has none of this, so the page is up before the model's code has even downloaded.

mod model_api;
mod text;
mod worker;

use acula_app::{net, protocol};

fn main() {
    acula_app::start_module();
}
