//! The analyser's text side: search by description and the person's own labels, in the worker.
//!
//! Nothing of it is downloaded until a text feature is first used. Then, in order:
//! 1. the bundle's deferred text side (`text.safetensors`: the text head and the example recordings'
//!    joint vectors), checked against the manifest's sha256;
//! 2. the page's text tower from `text/` (`tower.json`, written by `scripts/text-tower.py` and
//!    completed by `scripts/post-build.mjs`): the sentence encoder's three files with the weights in
//!    f16, and the text tower's own wasm module (`acula-text_bg.wasm`, see `text_tower.rs`), each
//!    checked against `tower.json`'s sha256. `tower.json` names the published encoder files the
//!    tower was made from; they must be the ones the bundle's manifest names, so a bundle and a text
//!    tower cannot be mixed up.
//!
//! Every file is taken from the Cache API when its cached copy still has the right sha256, else
//! downloaded with progress and kept there (so text works offline after the first use). The tower's
//! module is imported into this same worker (`aculaTextModule` in `www/worker.js`) and runs the
//! sentence encoder; the text head, the report index and the zero-shot scores are computed here,
//! with the bundle's own code (`acula_core::language`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use acula_core::bundle::{sha256_hex, Bundle, FileEntry, TEXT_FILE};
use acula_core::language::{self, LabelAnswer, Language, SearchResult};
use acula_core::screen::{Screener, Screening};
use acula_core::RecordingKind;
use burn::tensor::Device;
use js_sys::{Array, Float32Array, Function, Promise, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::net;
use crate::protocol::{BackendChoice, Reply, TextLoaded};

/// `text/tower.json`: the page's text tower.
#[derive(Debug, Clone, Deserialize)]
struct TowerManifest {
    /// The encoder's name (`all-MiniLM-L6-v2`).
    id: String,
    /// The published files it was made from (the names and sha256 a bundle's manifest gives).
    source: BTreeMap<String, FileEntry>,
    /// Its own files in `text/` (`config.json`, `model.safetensors` in f16, `tokenizer.json`).
    files: BTreeMap<String, FileEntry>,
    /// The text tower's wasm module, beside the page (`acula-text_bg.wasm`).
    #[serde(default)]
    module: BTreeMap<String, FileEntry>,
}

const MODULE_WASM: &str = "acula-text_bg.wasm";
const TOWER_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// A loaded text tower.
struct Tower {
    /// The folder it came from.
    url: String,
    /// The published files it was made from.
    source: BTreeMap<String, FileEntry>,
    /// Its wasm-bindgen module (exports `textLoad`, `textEmbed`).
    module: JsValue,
}

#[derive(Default)]
struct TextState {
    /// The bundle URL and its text side.
    language: Option<(String, Rc<Language>)>,
    tower: Option<Rc<Tower>>,
}

thread_local! {
    static TEXT: RefCell<TextState> = RefCell::new(TextState::default());
}

/// Forgets the text side of the previous bundle (a new bundle is being loaded).
pub fn forget_bundle() {
    TEXT.with_borrow_mut(|t| t.language = None);
}

fn progress(message: &str, loaded: u64, total: u64) {
    crate::worker::post(&Reply::TextProgress {
        message: message.to_string(),
        loaded,
        total,
    });
}

fn js_err(e: JsValue) -> String {
    net::js_message(&e)
}

/// `base` joined with `path` (which may hold `../`).
fn join(base: &str, path: &str) -> Result<String, String> {
    web_sys::Url::new_with_base(path, base)
        .map(|u| u.href())
        .map_err(|e| format!("bad URL {path} under {base} ({})", js_err(e)))
}

/// Files wanted: (name for messages, URL, expected entry).
type Wanted = Vec<(String, String, FileEntry)>;

/// Takes each file from the cache when its copy matches, downloads the rest with progress, checks
/// every sha256 and keeps what was downloaded. Returns the bytes by name, with the bytes downloaded
/// and taken from the cache.
async fn fetch_checked(
    wanted: Wanted,
    what: &str,
) -> Result<(BTreeMap<String, Vec<u8>>, u64, u64), String> {
    let cache = net::open(net::BUNDLE_CACHE).await.ok();
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    let mut from_cache = 0;
    for (name, url, entry) in wanted {
        match net::get_verified(cache.as_ref(), &url, &entry.sha256).await {
            Some(bytes) => {
                from_cache += bytes.len() as u64;
                out.insert(name, bytes);
            }
            None => missing.push((name, url, entry)),
        }
    }
    let total: u64 = missing.iter().map(|m| m.2.bytes).sum();
    let mut done = 0u64;
    let mut last_post = 0u64;
    // The progress line is a catalogue key; the page says it in its language.
    let message = if what.contains("text side") {
        "progress.text.side"
    } else {
        "progress.text.downloading"
    };
    for (name, url, entry) in missing {
        let bytes = net::fetch_bytes(&url, false, |n| {
            if done + n > last_post + total / 200 {
                last_post = done + n;
                progress(message, done + n, total);
            }
        })
        .await
        .map_err(|e| {
            if e.starts_with(net::NETWORK_FAILED) {
                format!("{e}; connect once so {what} can be downloaded (it is kept for offline use after that)")
            } else {
                e
            }
        })?;
        if sha256_hex(&bytes) != entry.sha256 {
            return Err(format!(
                "{name} ({url}) is damaged or not the expected file (its sha256 differs from the one listed); the text features cannot be used, the rest of the page works"
            ));
        }
        done += bytes.len() as u64;
        progress(message, done, total);
        if let Some(c) = &cache {
            if let Err(e) = net::put(c, &url, &bytes).await {
                leptos::logging::warn!("{e}");
            }
        }
        out.insert(name, bytes);
    }
    Ok((out, done, from_cache))
}

/// The bundle's text side (downloading `text.safetensors` the first time).
async fn language(bundle_url: &str, bundle: &Bundle) -> Result<(Rc<Language>, u64, u64), String> {
    if let Some(l) = TEXT.with_borrow(|t| {
        t.language
            .as_ref()
            .filter(|(u, _)| u == bundle_url)
            .map(|(_, l)| l.clone())
    }) {
        return Ok((l, 0, 0));
    }
    if bundle.manifest.text.is_none() {
        return Err(acula_core::BundleError::NoText.to_string());
    }
    let entry = bundle
        .manifest
        .files
        .get(TEXT_FILE)
        .cloned()
        .ok_or_else(|| acula_core::BundleError::NoText.to_string())?;
    let url = format!("{bundle_url}{TEXT_FILE}");
    let (mut files, downloaded, from_cache) = fetch_checked(
        vec![(TEXT_FILE.to_string(), url, entry)],
        "the bundle's text side",
    )
    .await?;
    let bytes = files.remove(TEXT_FILE).unwrap_or_default();
    let mut with_text = bundle.clone();
    with_text
        .add_file(TEXT_FILE, bytes)
        .map_err(|e| e.to_string())?;
    let language = Rc::new(Language::new(&with_text, &Device::flex()).map_err(|e| e.to_string())?);
    TEXT.with_borrow_mut(|t| t.language = Some((bundle_url.to_string(), language.clone())));
    Ok((language, downloaded, from_cache))
}

async fn call(module: &JsValue, name: &str, args: &Array) -> Result<JsValue, String> {
    let f: Function = Reflect::get(module, &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| format!("the text module has no {name}()"))?;
    let promise: Promise = f
        .apply(&JsValue::NULL, args)
        .map_err(js_err)?
        .dyn_into()
        .map_err(|_| format!("{name}() returned no promise"))?;
    JsFuture::from(promise).await.map_err(js_err)
}

/// The text tower at `text_url`, checked against the bundle's encoder (loading it the first time).
async fn tower(
    text_url: &str,
    language: &Language,
    backend: BackendChoice,
) -> Result<(Rc<Tower>, Option<TextLoaded>), String> {
    let want = &language.spec().encoder;
    if let Some(t) = TEXT.with_borrow(|s| s.tower.clone()) {
        if t.url == text_url && t.source == want.files {
            return Ok((t, None));
        }
    }
    let t0 = crate::worker::now_ms();
    progress("progress.text.checking", 0, 0);
    let cache = net::open(net::BUNDLE_CACHE).await.ok();
    let tower_url = format!("{text_url}tower.json");
    let tower_bytes = match net::fetch_bytes(&tower_url, true, |_| {}).await {
        Ok(b) => {
            if let Some(c) = &cache {
                let _ = net::put(c, &tower_url, &b).await;
            }
            b
        }
        Err(e) => match &cache {
            Some(c) => match net::get(c, &tower_url).await {
                Some(b) => b,
                None if e.starts_with(net::NETWORK_FAILED) => {
                    return Err(format!(
                        "{e}; the text model has not been downloaded yet, so connect once to use search and labels"
                    ))
                }
                None => return Err(format!("{e}; this page has no text model")),
            },
            None => return Err(e),
        },
    };
    let manifest: TowerManifest = serde_json::from_slice(&tower_bytes)
        .map_err(|e| format!("{tower_url} cannot be read ({e})"))?;
    for (name, expected) in &want.files {
        match manifest.source.get(name) {
            Some(got) if got == expected => {}
            got => {
                return Err(format!(
                    "this page's text model ({}, {name} sha256 {}) is not the sentence encoder the bundle was aligned with ({}, sha256 {}); serve the bundle with the page it was made for",
                    manifest.id,
                    got.map_or("missing", |g| g.sha256.as_str()),
                    want.id,
                    expected.sha256
                ))
            }
        }
    }
    let mut wanted: Wanted = Vec::new();
    for name in TOWER_FILES {
        let entry = manifest
            .files
            .get(name)
            .cloned()
            .ok_or_else(|| format!("{tower_url} lists no {name}"))?;
        wanted.push((name.to_string(), join(text_url, name)?, entry));
    }
    let wasm_entry = manifest.module.get(MODULE_WASM).cloned().ok_or_else(|| {
        format!("{tower_url} lists no {MODULE_WASM} (the page was not built with scripts/post-build.mjs)")
    })?;
    wanted.push((
        MODULE_WASM.to_string(),
        join(text_url, &format!("../{MODULE_WASM}"))?,
        wasm_entry,
    ));
    let (mut files, downloaded, from_cache) = fetch_checked(wanted, "the text model").await?;
    progress("progress.text.starting", 0, 0);
    let take = |files: &mut BTreeMap<String, Vec<u8>>, n: &str| files.remove(n).unwrap_or_default();
    let wasm = Uint8Array::from(take(&mut files, MODULE_WASM).as_slice());
    let import: Function = Reflect::get(&js_sys::global(), &"aculaTextModule".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("the worker cannot import the text module (worker.js is out of date; reload)")?;
    let promise: Promise = import
        .call1(&JsValue::NULL, &wasm)
        .map_err(js_err)?
        .dyn_into()
        .map_err(|_| "aculaTextModule() returned no promise".to_string())?;
    let module = JsFuture::from(promise)
        .await
        .map_err(|e| format!("the text module could not start ({})", js_err(e)))?;
    let config = String::from_utf8(take(&mut files, "config.json"))
        .map_err(|_| "config.json of the text model is not UTF-8".to_string())?;
    let args = Array::new();
    args.push(&config.into());
    args.push(&Uint8Array::from(
        take(&mut files, "model.safetensors").as_slice(),
    ));
    args.push(&Uint8Array::from(
        take(&mut files, "tokenizer.json").as_slice(),
    ));
    args.push(&JsValue::from(want.max_tokens as u32));
    args.push(&JsValue::from_bool(backend == BackendChoice::Webgpu));
    let used = call(&module, "textLoad", &args)
        .await
        .map_err(|e| format!("the text model could not be loaded ({e})"))?;
    let used = match used.as_string().as_deref() {
        Some("webgpu") => BackendChoice::Webgpu,
        _ => BackendChoice::Cpu,
    };
    let tower = Rc::new(Tower {
        url: text_url.to_string(),
        source: manifest.source,
        module,
    });
    TEXT.with_borrow_mut(|s| s.tower = Some(tower.clone()));
    Ok((
        tower,
        Some(TextLoaded {
            backend: used,
            downloaded,
            from_cache,
            load_ms: crate::worker::now_ms() - t0,
        }),
    ))
}

/// Sentence vectors of `texts` and whether each was cut at the token limit.
async fn embed(tower: &Tower, texts: &[String]) -> Result<(Vec<Vec<f32>>, Vec<bool>), String> {
    let list = Array::new();
    for t in texts {
        list.push(&JsValue::from_str(t));
    }
    let args = Array::new();
    args.push(&list);
    let out = call(&tower.module, "textEmbed", &args).await?;
    let dim = Reflect::get(&out, &"dim".into())
        .ok()
        .and_then(|d| d.as_f64())
        .unwrap_or(0.0) as usize;
    let flat: Vec<f32> = Reflect::get(&out, &"vectors".into())
        .ok()
        .and_then(|v| v.dyn_into::<Float32Array>().ok())
        .map(|a| a.to_vec())
        .unwrap_or_default();
    if dim == 0 || flat.len() != dim * texts.len() {
        return Err(format!(
            "the text model gave {} values for {} texts",
            flat.len(),
            texts.len()
        ));
    }
    let truncated = Reflect::get(&out, &"truncated".into())
        .map(|a| Array::from(&a).iter().map(|v| v.is_truthy()).collect())
        .unwrap_or_default();
    Ok((flat.chunks(dim).map(<[f32]>::to_vec).collect(), truncated))
}

/// What the worker has when a text request comes.
pub struct Context {
    /// The loaded bundle's URL.
    pub bundle_url: String,
    /// The loaded bundle.
    pub bundle: Rc<Bundle>,
    /// Its screener (for the report index).
    pub screener: Rc<Screener>,
    /// The backend the audio model runs on (the text tower follows it).
    pub backend: BackendChoice,
}

async fn ready(ctx: &Context, text_url: &str) -> Result<(Rc<Language>, Rc<Tower>), String> {
    let (language, dl, cached) = language(&ctx.bundle_url, &ctx.bundle).await?;
    let (tower, loaded) = tower(text_url, &language, ctx.backend).await?;
    if let Some(mut l) = loaded {
        l.downloaded += dl;
        l.from_cache += cached;
        crate::worker::post(&Reply::TextReady(l));
    }
    Ok((language, tower))
}

/// Searches the bundle's reports and example recordings by `query`; returns the result and the
/// milliseconds spent after loading.
pub async fn search(
    ctx: &Context,
    text_url: &str,
    query: &str,
    top_k: usize,
) -> Result<(SearchResult, f64), String> {
    let query = language::check_query(query).map_err(|e| e.to_string())?;
    if top_k == 0 {
        return Err("ask for at least one result".into());
    }
    let (language, tower) = ready(ctx, text_url).await?;
    let t0 = crate::worker::now_ms();
    let (teacher, truncated) = embed(&tower, &[query.to_string()]).await?;
    let v = language
        .project_async(&teacher)
        .await
        .map_err(|e| e.to_string())?
        .remove(0);
    let result = SearchResult {
        query: query.to_string(),
        truncated: truncated.first().copied().unwrap_or(false),
        reports: ctx.screener.similar(&v, top_k).map_err(|e| e.to_string())?,
        recordings: language.recordings(&v, top_k).map_err(|e| e.to_string())?,
    };
    Ok((result, crate::worker::now_ms() - t0))
}

/// Scores `screening` (screened as `kind`) against `labels`.
pub async fn labels(
    ctx: &Context,
    text_url: &str,
    screening: &Screening,
    kind: Option<RecordingKind>,
    labels: &[String],
) -> Result<(LabelAnswer, f64), String> {
    language::check_labels(labels).map_err(|e| e.to_string())?;
    let (language, tower) = ready(ctx, text_url).await?;
    let t0 = crate::worker::now_ms();
    let prompts = language.prompts(kind, labels);
    let (teacher, _) = embed(&tower, &prompts).await?;
    let vectors = language
        .project_async(&teacher)
        .await
        .map_err(|e| e.to_string())?;
    let answer = language
        .answer(screening, kind, labels, &vectors)
        .map_err(|e| e.to_string())?;
    Ok((answer, crate::worker::now_ms() - t0))
}
