//! The page: the model's state (download progress, backend and a switch), what the recording is,
//! record or upload, a status line in an ARIA live region, the spectrogram with the analysed chunks,
//! the results, conference mode and what is stored on this device.
//!
//! Query parameters: `?bundle=URL` (a bundle folder on the same origin), `?backend=cpu|webgpu|auto`,
//! `?conference=1` (large type, live spectrogram, the demo recordings).

use std::sync::Arc;

use leptos::ev;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement};

use crate::analysis::{analyse, Analysis};
use crate::client::{Client, ModelState};
use crate::net;
use crate::protocol::BackendChoice;
use crate::recorder::{RecState, Recorder, MAX_SECONDS};
use crate::results::{result_json, Results};
use crate::spectrogram;

/// The recording kinds a user can name, with the words shown.
const KINDS: [(&str, &str); 4] = [
    ("cough", "Cough"),
    ("breath", "Breathing"),
    ("lung", "Lung sounds (stethoscope)"),
    ("heart", "Heart sounds (stethoscope)"),
];

/// The default bundle, relative to the page.
const DEFAULT_BUNDLE: &str = "models/default/";

/// The page's own URL.
fn page_url() -> Option<web_sys::Url> {
    let href = web_sys::window()?.location().href().ok()?;
    web_sys::Url::new(&href).ok()
}

fn query(name: &str) -> Option<String> {
    page_url()?.search_params().get(name)
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

fn human_bytes(b: u64) -> String {
    if b >= 1_000_000 {
        format!("{:.1} MB", b as f64 / 1e6)
    } else {
        format!("{:.0} kB", b as f64 / 1e3)
    }
}

/// Where the page is with the current recording.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Idle,
    Decoding(String),
    Decoded,
    Screening,
    Done,
    Failed(String),
}

/// Publishes data for tests and curious users: `window.aculaLast` (the features) and
/// `window.aculaResult` (the latest screening as JSON).
fn publish(name: &str, value: &wasm_bindgen::JsValue) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &name.into(), value);
    }
}

fn publish_features(a: &Analysis) {
    let obj = js_sys::Object::new();
    let data = js_sys::Float32Array::from(a.features.data.as_slice());
    let _ = js_sys::Reflect::set(&obj, &"frames".into(), &(a.features.frames as u32).into());
    let _ = js_sys::Reflect::set(&obj, &"nMels".into(), &(a.features.n_mels as u32).into());
    let _ = js_sys::Reflect::set(&obj, &"data".into(), &data);
    publish("aculaLast", &obj);
}

fn download(name: &str, bytes: &[u8], mime: &str) {
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

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let client = Client::start();
    let recorder = Recorder::new();
    let conference = RwSignal::new(query("conference").is_some_and(|v| v != "0"));
    let backend_wanted = RwSignal::new(
        query("backend")
            .and_then(|b| BackendChoice::parse(&b))
            .unwrap_or(BackendChoice::Auto),
    );
    let page = page_url().map(|u| u.href()).unwrap_or_default();
    let bundle = bundle_url(query("bundle").as_deref(), &page);
    match &bundle {
        Ok(url) => client.load(url.clone(), backend_wanted.get_untracked()),
        Err(e) => client.model.set(ModelState::Failed(e.clone())),
    }
    let bundle = StoredValue::new(bundle.ok());

    let audio: RwSignal<Option<Arc<Analysis>>> = RwSignal::new(None);
    let kind: RwSignal<Option<String>> = RwSignal::new(query("recording"));
    let stage = RwSignal::new(Stage::Idle);
    let pending: RwSignal<Option<u32>> = RwSignal::new(None);
    let last_key: StoredValue<Option<(usize, String, String)>> = StoredValue::new(None);
    let seq = StoredValue::new(0usize);
    let canvas = NodeRef::<Canvas>::new();
    let live = NodeRef::<Canvas>::new();
    let dragging = RwSignal::new(false);

    let tasks_need_kind = move || {
        client.model.with(|m| match m {
            ModelState::Ready(l) => {
                let mut kinds: Vec<&str> = l
                    .manifest
                    .tasks
                    .iter()
                    .map(|t| t.recording.as_str())
                    .collect();
                kinds.sort_unstable();
                kinds.dedup();
                kinds.len() > 1
            }
            _ => true,
        })
    };

    // Decode a file (or a recording) and draw it; screening follows from the effect below.
    let take = move |name: String, buffer: js_sys::ArrayBuffer| {
        stage.set(Stage::Decoding(name.clone()));
        audio.set(None);
        spawn_local(async move {
            match analyse(name, buffer).await {
                Ok(a) => {
                    if let Some(c) = canvas.get_untracked() {
                        if let Err(e) = spectrogram::draw(&c, &a.features) {
                            leptos::logging::warn!("drawing failed: {e:?}");
                        }
                    }
                    publish_features(&a);
                    seq.update_value(|s| *s += 1);
                    audio.set(Some(Arc::new(a)));
                    stage.set(Stage::Decoded);
                }
                Err(msg) => stage.set(Stage::Failed(msg)),
            }
        });
    };
    let take_file = move |file: File| {
        let name = file.name();
        if file.size() > 200e6 {
            stage.set(Stage::Failed(format!(
                "{name} is {}; the page takes files up to 200 MB (about 10 minutes of uncompressed audio)",
                human_bytes(file.size() as u64)
            )));
            return;
        }
        stage.set(Stage::Decoding(name.clone()));
        spawn_local(async move {
            match JsFuture::from(file.array_buffer()).await {
                Ok(buf) => take(name, buf.unchecked_into()),
                Err(_) => stage.set(Stage::Failed("the file could not be read".into())),
            }
        });
    };

    // Screen when there is a decoded recording, its kind (when needed) and a ready model.
    Effect::new(move |_| {
        let Some(a) = audio.get() else { return };
        let need = tasks_need_kind();
        let k = kind.get();
        if need && k.is_none() {
            return;
        }
        let backend = client.model.with(|m| match m {
            ModelState::Ready(l) => Some(l.backend.clone()),
            _ => None,
        });
        let Some(backend) = backend else { return };
        let key = (seq.get_value(), k.clone().unwrap_or_default(), backend);
        if last_key.get_value().as_ref() == Some(&key) {
            return;
        }
        last_key.set_value(Some(key));
        stage.set(Stage::Screening);
        let id = client.screen(&a.mono, a.decoded_rate, if need { k } else { None });
        pending.set(Some(id));
    });

    // The answer to the latest request: draw the chunks, publish, and show.
    let current = Memo::new(move |_| {
        let id = pending.get()?;
        client
            .outcome
            .with(|o| o.as_ref().filter(|o| o.id == id).cloned())
    });
    Effect::new(move |_| {
        let Some(o) = current.get() else { return };
        match &o.result {
            Ok((s, _)) => {
                if let (Some(c), Some(a)) = (canvas.get_untracked(), audio.get_untracked()) {
                    let _ = spectrogram::draw(&c, &a.features);
                    spectrogram::mark_chunks(&c, &s.chunks, a.features.frames);
                }
                if let Ok(json) = serde_json::to_string(s) {
                    if let Ok(v) = js_sys::JSON::parse(&json) {
                        publish("aculaResult", &v);
                    }
                }
                stage.set(Stage::Done);
            }
            Err(e) => stage.set(Stage::Failed(e.clone())),
        }
    });

    let status = move || -> (String, bool) {
        let model = client.model.get();
        let st = stage.get();
        match (&st, &model) {
            (Stage::Failed(m), _) => (format!("Could not analyse the recording: {m}"), true),
            (Stage::Decoding(n), _) => (format!("Reading {n}…"), false),
            (_, ModelState::Failed(m)) => (format!("The model could not be loaded: {m}"), true),
            (Stage::Screening, _) => ("Analysing the recording…".into(), false),
            (Stage::Done, _) => ("Analysis finished: results below.".into(), false),
            (Stage::Decoded, ModelState::Ready(_)) if tasks_need_kind() && kind.get().is_none() => {
                (
                    "Say what the recording is (above) to analyse it.".into(),
                    false,
                )
            }
            (Stage::Decoded, _) => (
                "The recording is ready; waiting for the model…".into(),
                false,
            ),
            (Stage::Idle, ModelState::Ready(_)) => {
                ("Ready. Record or choose a recording.".into(), false)
            }
            (
                Stage::Idle,
                ModelState::Loading {
                    message,
                    loaded,
                    total,
                },
            ) if *total > 0 => (
                format!(
                    "{message} {} of {} ({:.0} %)",
                    human_bytes(*loaded),
                    human_bytes(*total),
                    *loaded as f64 * 100.0 / *total as f64
                ),
                false,
            ),
            (Stage::Idle, ModelState::Loading { message, .. }) => (message.clone(), false),
            (Stage::Idle, ModelState::Starting) => ("Starting the analyser…".into(), false),
        }
    };

    let on_change = move |ev: ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|l| l.get(0)) {
            take_file(file);
        }
        input.set_value("");
    };
    let on_drop = move |ev: ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(file) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|l| l.get(0))
        {
            take_file(file);
        }
    };
    let busy = move || matches!(stage.get(), Stage::Decoding(_) | Stage::Screening);
    let recording = move || {
        matches!(
            recorder.state.get(),
            RecState::Recording { .. } | RecState::Asking
        )
    };
    let on_record = move |_| {
        if recording() {
            recorder.stop();
        } else {
            recorder.start(
                live.get_untracked(),
                Callback::new(move |(name, buf)| take(name, buf)),
                Callback::new(move |msg| stage.set(Stage::Failed(msg))),
            );
        }
    };
    let switch_backend = move |choice: BackendChoice| {
        backend_wanted.set(choice);
        if let Some(url) = bundle.get_value() {
            client.load(url, choice);
        }
    };

    let with_audio = RwSignal::new(false);
    let examples = move || {
        client.model.with(|m| match m {
            ModelState::Ready(l) => l.manifest.examples.clone(),
            _ => Vec::new(),
        })
    };
    let play_example = move |e: acula_core::bundle::Example| {
        let Some(base) = bundle.get_value() else {
            return;
        };
        kind.set(Some(e.recording.clone()));
        stage.set(Stage::Decoding(e.title.clone()));
        spawn_local(async move {
            let url = format!("{base}{}", e.file);
            // The analyser keeps the bundle's files in the Cache API: offline, they come from there.
            let cached = match net::open(net::BUNDLE_CACHE).await {
                Ok(c) => net::get(&c, &url).await,
                Err(_) => None,
            };
            let bytes = match cached {
                Some(b) => Ok(b),
                None => net::fetch_bytes(&url, false, |_| {}).await,
            };
            match bytes {
                Ok(b) => take(
                    e.file.clone(),
                    js_sys::Uint8Array::from(b.as_slice()).buffer(),
                ),
                Err(msg) => stage.set(Stage::Failed(msg)),
            }
        });
    };

    let cache_info = RwSignal::new(None::<String>);
    let show_cache = move |_| {
        spawn_local(async move {
            let text = match net::usage().await {
                Ok(caches) => {
                    let total: u64 = caches.iter().map(|c| c.bytes()).sum();
                    let lines: Vec<String> = caches
                        .iter()
                        .map(|c| {
                            format!(
                                "{}: {} files, {}",
                                c.name,
                                c.entries.len(),
                                human_bytes(c.bytes())
                            )
                        })
                        .collect();
                    if caches.is_empty() {
                        "Nothing is stored on this device.".to_string()
                    } else {
                        format!("{} in all. {}", human_bytes(total), lines.join("; "))
                    }
                }
                Err(e) => e,
            };
            cache_info.set(Some(text));
        });
    };
    let clear_cache = move |_| {
        spawn_local(async move {
            let text = match net::clear().await {
                Ok(()) => {
                    "Deleted. The model will be downloaded again on the next visit.".to_string()
                }
                Err(e) => format!("Could not delete: {e}"),
            };
            cache_info.set(Some(text));
        });
    };

    let model_line = move || match client.model.get() {
        ModelState::Ready(l) => {
            let be = match (l.backend.as_str(), &l.adapter) {
                ("webgpu", Some(a)) => format!("WebGPU ({a})"),
                ("webgpu", None) => "WebGPU".to_string(),
                _ => "CPU (WebAssembly)".to_string(),
            };
            let src = if l.downloaded > 0 {
                format!("downloaded {}", human_bytes(l.downloaded))
            } else {
                "from this device's cache".to_string()
            };
            format!(
                "Model {} {} · runs on {be} · {src} · ready in {:.1} s",
                l.manifest.name,
                l.manifest.version,
                l.load_ms / 1000.0
            )
        }
        ModelState::Loading { message, .. } => message,
        ModelState::Starting => "Starting the analyser…".into(),
        ModelState::Failed(m) => format!("The model could not be loaded: {m}"),
    };
    let progress = move || match client.model.get() {
        ModelState::Loading { loaded, total, .. } if total > 0 => Some((loaded, total)),
        _ => None,
    };
    let ready = move || {
        client.model.with(|m| match m {
            ModelState::Ready(l) => Some((l.backend.clone(), l.webgpu_available, l.note.clone())),
            _ => None,
        })
    };

    let result_view = move || {
        let o = current.get()?;
        let (s, ms) = o.result.ok()?;
        let manifest = client.model.with(|m| match m {
            ModelState::Ready(l) => Some(l.manifest.clone()),
            _ => None,
        })?;
        let rec = kind.get();
        let name = audio
            .with(|a| a.as_ref().map(|a| a.name.clone()))
            .unwrap_or_default();
        let backend = ready().map(|r| r.0).unwrap_or_default();
        let (s2, m2, rec2) = (s.clone(), manifest.clone(), rec.clone());
        let on_download = Callback::new(move |_| {
            let json = result_json(&s2, &m2, &name, rec2.as_deref(), &backend);
            download("acula-result.json", json.as_bytes(), "application/json");
            if with_audio.get_untracked() {
                if let Some(a) = audio.get_untracked() {
                    download(
                        "acula-recording.wav",
                        &wav_bytes(&a.mono, a.decoded_rate),
                        "audio/wav",
                    );
                }
            }
        });
        Some(
            view! { <Results screening=s manifest=manifest ms=ms recording=rec on_download=on_download /> },
        )
    };

    view! {
        <div class="page" class:conference=move || conference.get()>
        <header>
            <h1>"acula"</h1>
            <p class="tagline">"Cough, breath, lung and heart sounds, analysed entirely in your browser."</p>
        </header>
        <main>
            <p class="notice intended-use" role="note">
                <strong>"Research demonstration, not a diagnostic device. "</strong>
                "The scores say how much a recording resembles recordings in the model's training data; they are not a diagnosis. Your recording never leaves this device."
            </p>
            <section class="model" aria-label="Model">
                <p id="model-line">{model_line}</p>
                {move || progress().map(|(l, t)| view! {
                    <progress id="model-progress" max=t.to_string() value=l.to_string()
                        aria-label="Model download"></progress>
                })}
                {move || ready().map(|(backend, gpu, note)| view! {
                    <p class="backend">
                        {note.map(|n| view! { <span class="note" id="backend-note">{n}" "</span> })}
                        {(backend == "webgpu").then(|| view! {
                            <button type="button" id="use-cpu" on:click=move |_| switch_backend(BackendChoice::Cpu)>"Use the CPU instead"</button>
                        })}
                        {(backend != "webgpu" && gpu).then(|| view! {
                            <button type="button" id="use-webgpu" on:click=move |_| switch_backend(BackendChoice::Webgpu)>"Use WebGPU instead"</button>
                        })}
                    </p>
                })}
            </section>

            <fieldset class="kinds">
                <legend>"What is the recording?"</legend>
                {KINDS.iter().map(|(value, label)| {
                    let value = value.to_string();
                    let v2 = value.clone();
                    view! {
                        <label class="kind">
                            <input type="radio" name="kind" value=value.clone()
                                prop:checked=move || kind.get().as_deref() == Some(v2.as_str())
                                on:change=move |_| kind.set(Some(value.clone())) />
                            {*label}
                        </label>
                    }
                }).collect_view()}
            </fieldset>

            <div class="inputs">
                <div class="record">
                    <button type="button" id="record" class="primary" on:click=on_record
                        prop:disabled=move || busy() && !recording()
                        aria-pressed=move || recording().to_string()>
                        {move || if recording() { "■ Stop" } else { "● Record" }}
                    </button>
                    {move || match recorder.state.get() {
                        RecState::Recording { seconds, level_db } => {
                            let level = ((level_db + 60.0) / 60.0).clamp(0.0, 1.0);
                            Some(view! {
                                <span id="rec-timer" class="timer">{format!("{seconds:.1} s of at most {MAX_SECONDS:.0} s")}</span>
                                <meter id="rec-level" min="0" max="1" value=level.to_string() aria-label="Input level"></meter>
                                <span class="muted">{format!("{level_db:.0} dBFS")}</span>
                            }.into_any())
                        }
                        RecState::Asking => Some(view! { <span>"Allow the microphone in the browser…"</span> }.into_any()),
                        RecState::Idle => None,
                    }}
                    <canvas id="live" node_ref=live class="live" class:hidden=move || !recording()
                        aria-label="Live spectrogram of the microphone"></canvas>
                </div>
                <label
                    class="dropzone"
                    class:dragging=move || dragging.get()
                    on:dragover=move |ev: ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                    on:dragleave=move |_| dragging.set(false)
                    on:drop=on_drop
                >
                    <span>"Choose a recording or drop it here"</span>
                    <small>"WAV, FLAC, MP3, Ogg, M4A, WebM: whatever your browser can decode"</small>
                    <input id="file" type="file" accept="audio/*,.wav,.flac,.mp3,.ogg,.m4a,.webm" on:change=on_change prop:disabled=busy />
                </label>
            </div>

            {move || {
                let list = examples();
                (!list.is_empty()).then(|| view! {
                    <section class="examples" aria-labelledby="examples-title">
                        <h2 id="examples-title">"No recording at hand? Try an example"</h2>
                        <ul>
                            {list.into_iter().enumerate().map(|(i, e)| {
                                let title = e.title.clone();
                                let source = e.source.clone();
                                view! {
                                    <li>
                                        <button type="button" id=format!("example-{i}") prop:disabled=busy
                                            on:click=move |_| play_example(e.clone())>{title}</button>
                                        <small class="muted">" "{source}</small>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                })
            }}

            <p id="status" role="status" aria-live="polite" class:error=move || status().1>
                {move || status().0}
            </p>

            <figure class="spectrogram" class:hidden=move || audio.with(|a| a.is_none())>
                <canvas id="spectrogram" node_ref=canvas aria-label="Log-mel spectrogram of the recording"></canvas>
                <figcaption>
                    "Log-mel spectrogram: time runs left to right, 64 mel bands from 50 Hz (bottom) to 8 kHz (top)."
                    {move || current.get().and_then(|o| o.result.ok()).map(|(s, _)| {
                        let spans: Vec<String> = s.chunks.iter().map(|c| format!("{:.2}–{:.2} s", c.start_s, c.end_s)).collect();
                        format!(" The bars on top mark what the model analysed: {}.", spans.join(", "))
                    })}
                </figcaption>
            </figure>
            {move || audio.get().map(|a| view! { <Facts analysis=a /> })}
            {result_view}
            <Show when=move || current.get().is_some_and(|o| o.result.is_ok())>
                <p>
                    <label>
                        <input type="checkbox" id="download-audio" prop:checked=move || with_audio.get()
                            on:change=move |ev| with_audio.set(event_target_checked(&ev)) />
                        " Also download the recording (WAV); it is left out unless you ask"
                    </label>
                </p>
            </Show>

            <details class="settings">
                <summary>"Settings and stored data"</summary>
                <p>
                    <label>
                        <input type="checkbox" id="conference" prop:checked=move || conference.get()
                            on:change=move |ev| conference.set(event_target_checked(&ev)) />
                        " Conference mode (large type)"
                    </label>
                </p>
                <p>"The model is kept on this device so the page also works offline."</p>
                <p>
                    <button type="button" id="cache-show" on:click=show_cache>"Show what is stored"</button>
                    " "
                    <button type="button" id="cache-clear" on:click=clear_cache>"Delete stored data"</button>
                </p>
                <p id="cache-info" aria-live="polite">{move || cache_info.get()}</p>
            </details>
        </main>
        <footer>
            <p class="muted">"acula: open-source research software. No analytics, no third-party requests; nothing you record or upload leaves this device unless you download it."</p>
        </footer>
        </div>
    }
}

/// The facts about a decoded recording.
#[component]
fn Facts(analysis: Arc<Analysis>) -> impl IntoView {
    let a = analysis;
    let original = match &a.info {
        Some(i) => {
            let rate = i
                .sample_rate
                .map_or("unknown rate".to_string(), |r| format!("{r} Hz"));
            let ch = i.channels.map_or(String::new(), |c| {
                format!(", {c} channel{}", if c == 1 { "" } else { "s" })
            });
            let codec = i.codec.clone().map_or(String::new(), |c| format!(" ({c})"));
            format!("{rate}{ch}{codec}")
        }
        None => format!(
            "not readable from the header; decoded by the browser at {} Hz",
            a.decoded_rate
        ),
    };
    view! {
        <dl class="facts">
            <dt>"File"</dt><dd id="fact-name">{a.name.clone()}" · "{format!("{:.1} kB", a.bytes as f64 / 1000.0)}</dd>
            <dt>"Duration"</dt><dd id="fact-duration">{format!("{:.2} s", a.duration_s)}</dd>
            <dt>"Sample rate"</dt><dd id="fact-rate">{original}</dd>
            <dt>"Analysed at"</dt><dd>"16,000 Hz, mono"</dd>
            <dt>"Frames"</dt><dd id="fact-frames">{a.features.frames}</dd>
            <dt>"Front end time"</dt><dd>{format!("{:.1} ms", a.front_end_ms)}</dd>
        </dl>
    }
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
