//! What the page's module (`src/main.rs`) and the analyser's module (`src/analyser.rs`) share: the
//! messages between them and fetching with the Cache API. Nothing here needs the model, so the page's
//! module links this library without burn.

pub mod i18n;
pub mod net;
pub mod protocol;

/// Starts a module: runs its static constructors once and installs the panic hook. Each module's
/// `main` (the start function, which the wasm-bindgen init calls once, before any other export) calls
/// this first.
///
/// Because the module calls `__wasm_call_ctors` itself, wasm-ld does not wrap every export in a call
/// to it, as it does for a bin target otherwise ("command" modules): that would run the constructors
/// again on every call from JS into the module, and in the modules that link burn, cubecl's
/// `inventory` registrations made each call cost milliseconds (hundreds per screening).
pub fn start_module() {
    #[cfg(target_arch = "wasm32")]
    {
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: called from `main`, the module's start function, which runs once before any other
        // export; nothing ran the constructors before.
        unsafe { __wasm_call_ctors() };
    }
    console_error_panic_hook::set_once();
}
