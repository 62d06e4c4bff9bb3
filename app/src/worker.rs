//! The analyser's Web Worker: one model instance, off the main thread. `www/worker.js` loads the
//! analyser's wasm module (`analyser.rs`) inside the worker and calls [`worker_start`], which answers the page's
//! [`Request`]s with [`Reply`]s, one request at a time, in the order they came.
//!
//! Loading fetches the bundle's manifest (falling back to the cached copy offline), takes every file
//! whose cached copy still matches the manifest's sha256 from the Cache API, downloads the rest with
//! progress, verifies the whole bundle (`acula_core::bundle::Bundle::new`), keeps it in the cache,
//! and puts the model on WebGPU (when the browser returns an adapter and a warm-up run works) or on
//! the wasm CPU backend. Every GPU read-back is asynchronous.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use acula_core::bundle::{Bundle, Manifest, MANIFEST};
use acula_core::screen::{ScreenOptions, Screener, Screening};
use acula_core::RecordingKind;
use burn::tensor::Device;
use js_sys::{Float32Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::net;
use crate::protocol::{BackendChoice, Loaded, Reply, Request};

#[derive(Default)]
struct State {
    bundle_url: Option<String>,
    bundle: Option<Rc<Bundle>>,
    screener: Option<Rc<Screener>>,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    gpu: Option<Device>,
    queue: VecDeque<(Request, Option<Vec<f32>>)>,
    running: bool,
    /// The backend the model runs on.
    backend: Option<BackendChoice>,
    /// Why the bundle could not be kept on this device (a full storage quota), if it could not.
    not_kept: Option<String>,
    /// The latest screenings (request id, result, kind asked for), for labels asked afterwards.
    screenings: VecDeque<(u32, Rc<Screening>, Option<RecordingKind>)>,
}

/// How many screenings the worker keeps for labels asked afterwards.
const KEPT_SCREENINGS: usize = 8;

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

pub(crate) fn post(reply: &Reply) {
    match serde_json::to_string(reply) {
        Ok(json) => {
            let _ = scope().post_message(&JsValue::from_str(&json));
        }
        Err(e) => leptos::logging::warn!("cannot encode a reply: {e}"),
    }
}

pub(crate) fn now_ms() -> f64 {
    scope().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// Takes over the worker's messages. Called once by `worker.js` after the module is initialised.
#[wasm_bindgen(js_name = workerStart)]
pub fn worker_start() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let data = ev.data();
        let json = Reflect::get(&data, &"json".into())
            .ok()
            .and_then(|v| v.as_string());
        let pcm = Reflect::get(&data, &"pcm".into())
            .ok()
            .and_then(|v| v.dyn_into::<Float32Array>().ok())
            .map(|a| a.to_vec());
        match json.and_then(|j| serde_json::from_str::<Request>(&j).ok()) {
            Some(request) => enqueue(request, pcm),
            None => post(&Reply::Failed {
                id: None,
                message: "the analyser got a message it does not understand".into(),
            }),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Reply::Started);
}

fn enqueue(request: Request, pcm: Option<Vec<f32>>) {
    let start = STATE.with_borrow_mut(|s| {
        s.queue.push_back((request, pcm));
        !std::mem::replace(&mut s.running, true)
    });
    if start {
        spawn_local(async {
            while let Some((request, pcm)) = STATE.with_borrow_mut(|s| s.queue.pop_front()) {
                handle(request, pcm).await;
            }
            STATE.with_borrow_mut(|s| s.running = false);
        });
    }
}

async fn handle(request: Request, pcm: Option<Vec<f32>>) {
    match request {
        Request::Load {
            bundle_url,
            backend,
        } => match load(&bundle_url, backend).await {
            Ok(reply) => post(&reply),
            Err(message) => post(&Reply::Failed { id: None, message }),
        },
        Request::Screen {
            id,
            sample_rate,
            recording,
            top_k,
            contributions,
        } => {
            let pcm = pcm.unwrap_or_default();
            let reply = match screen(pcm, sample_rate, recording, top_k, contributions).await {
                Ok((screening, ms)) => {
                    STATE.with_borrow_mut(|s| {
                        s.screenings
                            .push_back((id, Rc::new(screening.clone()), recording));
                        while s.screenings.len() > KEPT_SCREENINGS {
                            s.screenings.pop_front();
                        }
                    });
                    Reply::Screened {
                        id,
                        screening: Box::new(screening),
                        ms,
                        memory_bytes: wasm_memory_bytes(),
                    }
                }
                Err(message) => Reply::Failed {
                    id: Some(id),
                    message,
                },
            };
            post(&reply);
        }
        Request::Search {
            id,
            query,
            top_k,
            text_url,
        } => {
            let result = match text_context() {
                Ok(ctx) => crate::text::search(&ctx, &text_url, &query, top_k).await,
                Err(e) => Err(e),
            };
            post(&match result {
                Ok((result, ms)) => Reply::Searched {
                    id,
                    result: Box::new(result),
                    ms,
                },
                Err(message) => Reply::Failed {
                    id: Some(id),
                    message,
                },
            });
        }
        Request::Labels {
            id,
            screening,
            labels,
            text_url,
        } => {
            let kept = STATE.with_borrow(|s| {
                s.screenings
                    .iter()
                    .find(|(i, _, _)| *i == screening)
                    .map(|(_, sc, kind)| (sc.clone(), *kind))
            });
            let result = match (text_context(), kept) {
                (Err(e), _) => Err(e),
                (_, None) => Err(
                    "that recording's result is no longer kept; screen it again to ask your labels"
                        .to_string(),
                ),
                (Ok(ctx), Some((sc, kind))) => {
                    crate::text::labels(&ctx, &text_url, &sc, kind, &labels).await
                }
            };
            post(&match result {
                Ok((answer, ms)) => Reply::Labelled {
                    id,
                    screening,
                    answer: Box::new(answer),
                    ms,
                },
                Err(message) => Reply::Failed {
                    id: Some(id),
                    message,
                },
            });
        }
    }
}

fn text_context() -> Result<crate::text::Context, String> {
    STATE.with_borrow(|s| match (&s.bundle_url, &s.bundle, &s.screener) {
        (Some(url), Some(bundle), Some(screener)) => Ok(crate::text::Context {
            bundle_url: url.clone(),
            bundle: bundle.clone(),
            screener: screener.clone(),
            backend: s.backend.unwrap_or(BackendChoice::Cpu),
        }),
        _ => Err("the model is not loaded yet".to_string()),
    })
}

async fn screen(
    pcm: Vec<f32>,
    sample_rate: u32,
    recording: Option<acula_core::RecordingKind>,
    top_k: usize,
    contributions: bool,
) -> Result<(acula_core::screen::Screening, f64), String> {
    let screener = STATE
        .with_borrow(|s| s.screener.clone())
        .ok_or("the model is not loaded yet")?;
    let t0 = now_ms();
    let opts = ScreenOptions { recording, top_k };
    let mut screening = screener
        .screen_async(&pcm, sample_rate, &opts)
        .await
        .map_err(|e| e.to_string())?;
    if contributions {
        screening.contributions = screener
            .contributions_async(&pcm, sample_rate, &screening, &opts)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok((screening, now_ms() - t0))
}

/// The size of this module's wasm memory, in bytes (it only grows, so this is the peak so far).
fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as u64
}

fn progress(message: &str, loaded: u64, total: u64) {
    post(&Reply::Progress {
        message: message.to_string(),
        loaded,
        total,
    });
}

/// What fetching a bundle took.
struct Fetched {
    bundle: Bundle,
    downloaded: u64,
    from_cache: u64,
    /// Why the downloaded files could not be kept for offline use, if they could not.
    not_kept: Option<String>,
}

async fn fetch_bundle(base: &str) -> Result<Fetched, String> {
    let cache = net::open(net::BUNDLE_CACHE).await.ok();
    let manifest_url = format!("{base}{MANIFEST}");
    progress("progress.checking", 0, 0);
    let manifest_bytes = match net::fetch_bytes(&manifest_url, true, |_| {}).await {
        Ok(bytes) => bytes,
        // Offline (or the server is away): the copy kept at the last visit, if any.
        Err(e) => match &cache {
            Some(c) => match net::get(c, &manifest_url).await {
                Some(bytes) => bytes,
                None if e.starts_with(net::NETWORK_FAILED) => {
                    return Err(format!("{e}; connect once so the model can be downloaded"))
                }
                None => return Err(e),
            },
            None => return Err(e),
        },
    };
    let manifest =
        Manifest::parse(&manifest_bytes).map_err(|e| format!("{e} (bundle at {base})"))?;
    let mut files = BTreeMap::new();
    let mut missing = Vec::new();
    let mut from_cache = 0u64;
    // Deferred files (the text side) are fetched only when a text feature is first used.
    for (name, entry) in manifest.eager_files() {
        let url = format!("{base}{name}");
        match net::get_verified(cache.as_ref(), &url, &entry.sha256).await {
            Some(bytes) => {
                from_cache += bytes.len() as u64;
                files.insert(name.clone(), bytes);
            }
            None => missing.push((name.clone(), url, entry.bytes)),
        }
    }
    let total: u64 = missing.iter().map(|m| m.2).sum();
    let mut done = 0u64;
    let mut last_post = 0u64;
    for (name, url, _) in &missing {
        let bytes = net::fetch_bytes(url, false, |n| {
            // At most ~200 progress messages per download.
            if done + n > last_post + total / 200 {
                last_post = done + n;
                progress("progress.downloading", done + n, total);
            }
        })
        .await?;
        done += bytes.len() as u64;
        progress("progress.downloading", done, total);
        files.insert(name.clone(), bytes);
    }
    progress("progress.verifying", done, total);
    let bundle = Bundle::new(&manifest_bytes, files).map_err(|e| e.to_string())?;
    // Only verified files are kept. A full quota is not an error: the page still works online, and
    // says why it will not work offline.
    let mut not_kept = None;
    match &cache {
        Some(c) => {
            let kept = missing
                .iter()
                .filter_map(|(name, url, _)| bundle.file(name).ok().map(|b| (url, b)))
                .chain(std::iter::once((&manifest_url, &manifest_bytes[..])));
            for (url, bytes) in kept {
                if let Err(e) = net::put(c, url, bytes).await {
                    leptos::logging::warn!("{e}");
                    not_kept.get_or_insert(e);
                }
            }
        }
        None => not_kept = Some("this browser gives the page no storage (Cache API)".to_string()),
    }
    Ok(Fetched {
        bundle,
        downloaded: done,
        from_cache,
        not_kept,
    })
}

/// A WebGPU adapter the browser returned.
struct Adapter {
    /// Vendor, architecture and description, as the browser gives them.
    description: String,
    /// A software renderer (SwiftShader, or one the browser marks as a fallback): slower than the
    /// wasm CPU backend, so `auto` does not pick it.
    software: bool,
}

/// The browser's WebGPU adapter (`None` when there is none).
async fn webgpu_adapter() -> Option<Adapter> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).ok()?;
    if gpu.is_undefined() || gpu.is_null() {
        return None;
    }
    let request = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let promise = request
        .call0(&gpu)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let adapter = JsFuture::from(promise).await.ok()?;
    if adapter.is_null() || adapter.is_undefined() {
        return None;
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |k: &str| {
        Reflect::get(&info, &k.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|k| field(k))
        .collect();
    let flagged = |o: &JsValue| {
        Reflect::get(o, &"isFallbackAdapter".into())
            .map(|v| v.is_truthy())
            .unwrap_or(false)
    };
    let description = if parts.is_empty() {
        "WebGPU adapter".to_string()
    } else {
        parts.join(" ")
    };
    Some(Adapter {
        software: flagged(&info)
            || flagged(&adapter)
            || description.to_ascii_lowercase().contains("swiftshader"),
        description,
    })
}

#[cfg(target_arch = "wasm32")]
async fn gpu_device() -> Result<Device, String> {
    if let Some(d) = STATE.with_borrow(|s| s.gpu.clone()) {
        return Ok(d);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("{e}"))?;
    STATE.with_borrow_mut(|s| s.gpu = Some(device.clone()));
    Ok(device)
}

#[cfg(not(target_arch = "wasm32"))]
async fn gpu_device() -> Result<Device, String> {
    Err("WebGPU exists only in the browser build".into())
}

async fn gpu_screener(bundle: &Bundle) -> Result<Screener, String> {
    let device = gpu_device().await?;
    let screener = Screener::new(bundle, &device).map_err(|e| e.to_string())?;
    progress("progress.warmup", 0, 0);
    screener.warm_up_async().await.map_err(|e| e.to_string())?;
    Ok(screener)
}

async fn load(base: &str, choice: BackendChoice) -> Result<Reply, String> {
    let t0 = now_ms();
    let (bundle, downloaded, from_cache, not_kept) = match STATE.with_borrow(|s| {
        (s.bundle_url.as_deref() == Some(base))
            .then(|| s.bundle.clone().map(|b| (b, s.not_kept.clone())))
            .flatten()
    }) {
        Some((b, not_kept)) => (b, 0, 0, not_kept),
        None => {
            let f = fetch_bundle(base).await?;
            (Rc::new(f.bundle), f.downloaded, f.from_cache, f.not_kept)
        }
    };
    // One model instance: let the old one go before building the next.
    STATE.with_borrow_mut(|s| {
        s.screener = None;
        s.backend = None;
        s.screenings.clear();
        s.bundle_url = Some(base.to_string());
        s.bundle = Some(bundle.clone());
        s.not_kept = not_kept.clone();
    });
    crate::text::forget_bundle();
    progress("progress.adapter", 0, 0);
    let adapter = webgpu_adapter().await;
    let mut note = None;
    let (screener, backend, used_adapter) = match (&adapter, choice) {
        (_, BackendChoice::Cpu) => (None, BackendChoice::Cpu, None),
        (None, _) => {
            if choice == BackendChoice::Webgpu {
                note =
                    Some("this browser offers no WebGPU adapter, so the CPU is used".to_string());
            }
            (None, BackendChoice::Cpu, None)
        }
        (Some(a), BackendChoice::Auto) if a.software => {
            note = Some(format!(
                "WebGPU here is a software renderer ({}), slower than the CPU backend, so the CPU is used",
                a.description
            ));
            (None, BackendChoice::Cpu, None)
        }
        (Some(a), _) => match gpu_screener(&bundle).await {
            Ok(s) => (Some(s), BackendChoice::Webgpu, Some(a.description.clone())),
            Err(e) => {
                note = Some(format!("WebGPU failed ({e}), so the CPU is used"));
                (None, BackendChoice::Cpu, None)
            }
        },
    };
    let screener = match screener {
        Some(s) => s,
        None => {
            progress("progress.cpu", 0, 0);
            Screener::new(&bundle, &Device::flex()).map_err(|e| e.to_string())?
        }
    };
    STATE.with_borrow_mut(|s| {
        s.screener = Some(Rc::new(screener));
        s.backend = Some(backend);
    });
    Ok(Reply::Ready(Box::new(Loaded {
        manifest: bundle.manifest.clone(),
        backend,
        adapter: used_adapter,
        webgpu_available: adapter.is_some(),
        note,
        downloaded,
        from_cache,
        not_kept,
        load_ms: now_ms() - t0,
    })))
}
