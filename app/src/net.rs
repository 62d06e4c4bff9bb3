//! Fetching with progress and the Cache API, usable from the page and from the worker (both reach
//! `fetch` and `caches` through the global scope).

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, Request, RequestCache, RequestInit, Response};

/// The cache that holds model bundles (one entry per file URL).
pub const BUNDLE_CACHE: &str = "acula-bundles-v1";

/// How the message of a request that never got an answer starts.
pub const NETWORK_FAILED: &str = "the network request failed";

/// The message of a JS error value: an `Error`'s message, a string, or, for anything else (a
/// `DOMException` that is not an `Error` in this scope), its `name` and `message`.
pub fn js_message(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    if let Some(s) = e.as_string() {
        return s;
    }
    let field = |k: &str| {
        Reflect::get(e, &k.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    match (field("name"), field("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (Some(s), None) | (None, Some(s)) => s,
        (None, None) => "unknown error".to_string(),
    }
}

/// Whether the browser's storage for this origin has less than `bytes` left
/// (`navigator.storage.estimate()`, in the page or a worker); `false` where it cannot say.
async fn storage_short_of(bytes: usize) -> bool {
    let estimate = async {
        let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let storage = Reflect::get(&navigator, &"storage".into()).ok()?;
        let f = Reflect::get(&storage, &"estimate".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        let promise = f.call0(&storage).ok()?.dyn_into::<Promise>().ok()?;
        let e = JsFuture::from(promise).await.ok()?;
        let num = |k: &str| Reflect::get(&e, &k.into()).ok().and_then(|v| v.as_f64());
        Some((num("quota")?, num("usage")?))
    };
    matches!(estimate.await, Some((quota, usage)) if quota - usage < bytes as f64)
}

fn global_fn(name: &str) -> Result<js_sys::Function, String> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| format!("this browser has no {name}()"))
}

/// `fetch(request)` on whichever global scope runs this (window or worker).
async fn fetch(request: &Request) -> Result<Response, String> {
    let promise: Promise = global_fn("fetch")?
        .call1(&js_sys::global(), request)
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    JsFuture::from(promise)
        .await
        .map_err(|e| format!("{NETWORK_FAILED} ({})", js_message(&e)))?
        .dyn_into::<Response>()
        .map_err(|_| "fetch returned no response".to_string())
}

/// Downloads `url`, calling `progress(bytes so far)` as chunks arrive. `revalidate` asks the browser's
/// HTTP cache to check with the server first (for manifests, which change in place).
pub async fn fetch_bytes(
    url: &str,
    revalidate: bool,
    mut progress: impl FnMut(u64),
) -> Result<Vec<u8>, String> {
    let init = RequestInit::new();
    if revalidate {
        init.set_cache(RequestCache::NoCache);
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(|e| js_message(&e))?;
    let response = fetch(&request).await?;
    if !response.ok() {
        return Err(format!("{url} answered HTTP {}", response.status()));
    }
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| "the response cannot be read as a stream".to_string())?;
    let mut out = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("the download of {url} broke off ({})", js_message(&e)))?;
        let done = Reflect::get(&chunk, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = Reflect::get(&chunk, &"value".into()) {
            if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
                let at = out.len();
                out.resize(at + bytes.length() as usize, 0);
                bytes.copy_to(&mut out[at..]);
                progress(out.len() as u64);
            }
        }
    }
    Ok(out)
}

fn storage() -> Result<CacheStorage, String> {
    Reflect::get(&js_sys::global(), &"caches".into())
        .ok()
        .and_then(|c| c.dyn_into::<CacheStorage>().ok())
        .ok_or_else(|| {
            "this browser offers no Cache API here (a secure context is needed)".to_string()
        })
}

/// Opens (creating) the cache `name`.
pub async fn open(name: &str) -> Result<Cache, String> {
    let c = JsFuture::from(storage()?.open(name))
        .await
        .map_err(|e| format!("the cache could not be opened ({})", js_message(&e)))?;
    c.dyn_into::<Cache>()
        .map_err(|_| "the cache could not be opened".to_string())
}

/// The cached bytes of `url`, if any.
pub async fn get(cache: &Cache, url: &str) -> Option<Vec<u8>> {
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    let response = hit.dyn_into::<Response>().ok()?;
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    Some(Uint8Array::new(&buffer).to_vec())
}

/// The cached bytes of `url` when there is a cache, it has them, and their sha256 is `sha256`.
pub async fn get_verified(cache: Option<&Cache>, url: &str, sha256: &str) -> Option<Vec<u8>> {
    let bytes = get(cache?, url).await?;
    (acula_core::bundle::sha256_hex(&bytes) == sha256).then_some(bytes)
}

/// How the message of a [`put`] refused for a full storage quota starts.
pub const STORAGE_FULL: &str = "this browser's storage for the page is full";

/// Stores `bytes` as the response for `url`.
pub async fn put(cache: &Cache, url: &str, bytes: &[u8]) -> Result<(), String> {
    let array = Uint8Array::from(bytes);
    let response =
        Response::new_with_opt_buffer_source(Some(&array)).map_err(|e| js_message(&e))?;
    let Err(e) = JsFuture::from(cache.put_with_str(url, &response)).await else {
        return Ok(());
    };
    let name = Reflect::get(&e, &"name".into())
        .ok()
        .and_then(|n| n.as_string());
    // Chromium names the refusal; Firefox may reject a put over its quota with a bare error, so the
    // quota itself is asked as well.
    if name.as_deref() == Some("QuotaExceededError") || storage_short_of(bytes.len()).await {
        Err(STORAGE_FULL.to_string())
    } else {
        Err(format!(
            "could not keep {url} for offline use ({})",
            js_message(&e)
        ))
    }
}

/// One cache's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheUsage {
    /// The cache's name.
    pub name: String,
    /// Its entries: URL and size in bytes.
    pub entries: Vec<(String, u64)>,
}

impl CacheUsage {
    /// Total bytes.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.1).sum()
    }
}

/// Every cache of this origin and what it holds.
pub async fn usage() -> Result<Vec<CacheUsage>, String> {
    let storage = storage()?;
    let names = JsFuture::from(storage.keys())
        .await
        .map_err(|e| js_message(&e))?;
    let mut out = Vec::new();
    for name in js_sys::Array::from(&names).iter() {
        let Some(name) = name.as_string() else {
            continue;
        };
        let cache = open(&name).await?;
        let keys = JsFuture::from(cache.keys())
            .await
            .map_err(|e| js_message(&e))?;
        let mut entries = Vec::new();
        for request in js_sys::Array::from(&keys).iter() {
            let Ok(request) = request.dyn_into::<Request>() else {
                continue;
            };
            let url = request.url();
            let size = get(&cache, &url).await.map_or(0, |b| b.len() as u64);
            entries.push((url, size));
        }
        out.push(CacheUsage { name, entries });
    }
    Ok(out)
}

/// Deletes every cache of this origin (bundles and the offline copy of the page).
pub async fn clear() -> Result<(), String> {
    let storage = storage()?;
    let names = JsFuture::from(storage.keys())
        .await
        .map_err(|e| js_message(&e))?;
    for name in js_sys::Array::from(&names).iter() {
        if let Some(name) = name.as_string() {
            JsFuture::from(storage.delete(&name))
                .await
                .map_err(|e| js_message(&e))?;
        }
    }
    Ok(())
}
