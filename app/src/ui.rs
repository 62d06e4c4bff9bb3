//! The page's components: a file picker with a drop zone, a status line in an ARIA live region, the
//! spectrogram canvas and the facts about the recording.

use leptos::ev;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement};

use crate::analysis::{analyse, Analysis};
use crate::spectrogram;

/// Where the page is in handling a file.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Idle,
    Working(String),
    Done(Box<Analysis>),
    Failed(String),
}

impl Status {
    fn message(&self) -> String {
        match self {
            Status::Idle => "Choose or drop a recording to see its spectrogram.".to_string(),
            Status::Working(name) => format!("Analysing {name}…"),
            Status::Done(a) => format!("Analysed {}: {} frames.", a.name, a.features.frames),
            Status::Failed(msg) => format!("Could not analyse the file: {msg}"),
        }
    }
}

/// Publishes the last features for tests and curious users: `window.aculaLast = {frames, nMels, data}`.
fn publish(a: &Analysis) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let obj = js_sys::Object::new();
    let data = js_sys::Float32Array::from(a.features.data.as_slice());
    let _ = js_sys::Reflect::set(&obj, &"frames".into(), &(a.features.frames as u32).into());
    let _ = js_sys::Reflect::set(&obj, &"nMels".into(), &(a.features.n_mels as u32).into());
    let _ = js_sys::Reflect::set(&obj, &"data".into(), &data);
    let _ = js_sys::Reflect::set(&window, &"aculaLast".into(), &obj);
}

fn handle_file(file: File, status: RwSignal<Status>, canvas: NodeRef<Canvas>) {
    let name = file.name();
    status.set(Status::Working(name.clone()));
    spawn_local(async move {
        let result = match JsFuture::from(file.array_buffer()).await {
            Ok(buf) => match buf.dyn_into::<js_sys::ArrayBuffer>() {
                Ok(buf) => analyse(name, buf).await,
                Err(_) => Err("the file could not be read".to_string()),
            },
            Err(_) => Err("the file could not be read".to_string()),
        };
        match result {
            Ok(analysis) => {
                if let Some(c) = canvas.get_untracked() {
                    if let Err(e) = spectrogram::draw(&c, &analysis.features) {
                        leptos::logging::warn!("drawing failed: {e:?}");
                    }
                }
                publish(&analysis);
                status.set(Status::Done(Box::new(analysis)));
            }
            Err(msg) => status.set(Status::Failed(msg)),
        }
    });
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let status = RwSignal::new(Status::Idle);
    let canvas = NodeRef::<Canvas>::new();
    let dragging = RwSignal::new(false);

    let on_change = move |ev: ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|l| l.get(0)) {
            handle_file(file, status, canvas);
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
            handle_file(file, status, canvas);
        }
    };

    let busy = move || matches!(status.get(), Status::Working(_));
    let analysis = move || match status.get() {
        Status::Done(a) => Some(*a),
        _ => None,
    };

    view! {
        <header>
            <h1>"acula"</h1>
            <p class="tagline">"Body-sound analysis that runs entirely in your browser."</p>
        </header>
        <main>
            <p class="notice">
                "Research demonstration, not a diagnostic device. Your recording never leaves this device."
            </p>
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
            <p id="status" role="status" aria-live="polite" class:error=move || matches!(status.get(), Status::Failed(_))>
                {move || status.get().message()}
            </p>
            <figure class="spectrogram" class:hidden=move || analysis().is_none()>
                <canvas id="spectrogram" node_ref=canvas aria-label="Log-mel spectrogram of the recording"></canvas>
                <figcaption>"Log-mel spectrogram: time runs left to right, 64 mel bands from 50 Hz (bottom) to 8 kHz (top)."</figcaption>
            </figure>
            {move || analysis().map(|a| view! { <Facts analysis=a /> })}
        </main>
    }
}

/// The facts about an analysed recording.
#[component]
fn Facts(analysis: Analysis) -> impl IntoView {
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
