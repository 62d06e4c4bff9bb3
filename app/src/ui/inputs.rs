//! The two ways in: record with the microphone (timer, level meter, live spectrogram) or choose a
//! file (picker or drag and drop).

use leptos::ev;
use leptos::html::Canvas;
use leptos::prelude::*;
use web_sys::{File, HtmlInputElement};

use super::{lang, t};
use crate::i18n::{number, tr};
use crate::recorder::{RecState, Recorder, MAX_SECONDS};

/// The record button (`#record`) with its timer and meter, and the drop zone with the file input
/// (`#file`).
#[component]
pub fn Inputs(
    /// Whether the page is busy (choosing or starting a recording is disabled).
    #[prop(into)]
    busy: Signal<bool>,
    /// The user chose or dropped a file.
    on_file: Callback<File>,
    /// A recording stopped: its name and bytes.
    on_recording: Callback<(String, js_sys::ArrayBuffer)>,
    /// Recording failed: one line.
    on_error: Callback<String>,
    /// Stage mode: the recording so far and its seconds, every two seconds while recording.
    #[prop(into)]
    stage: Signal<bool>,
    /// Gets the recording so far in stage mode.
    on_rolling: Callback<(js_sys::ArrayBuffer, f64)>,
    /// Set while a recording runs (or the microphone is asked for).
    active: RwSignal<bool>,
) -> impl IntoView {
    let lang = lang();
    let recorder = Recorder::new();
    let live = NodeRef::<Canvas>::new();
    let dragging = RwSignal::new(false);

    let recording = move || {
        matches!(
            recorder.state.get(),
            RecState::Recording { .. } | RecState::Asking
        )
    };
    Effect::new(move |_| active.set(recording()));
    let on_record = move |_| {
        if recording() {
            recorder.stop();
        } else {
            let rolling = stage.get_untracked().then_some(on_rolling);
            recorder.start(live.get_untracked(), on_recording, on_error, rolling);
        }
    };
    let on_change = move |ev: ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|l| l.get(0)) {
            on_file.run(file);
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
            on_file.run(file);
        }
    };

    view! {
        <div class="inputs">
            <div class="record">
                <button type="button" id="record" class="primary" on:click=on_record
                    prop:disabled=move || busy.get() && !recording()
                    aria-pressed=move || recording().to_string()>
                    {move || tr(lang.get(), if recording() { "record.stop" } else { "record.start" }, &[])}
                </button>
                {move || match recorder.state.get() {
                    RecState::Recording { seconds, level_db } => {
                        let level = ((level_db + 60.0) / 60.0).clamp(0.0, 1.0);
                        let l = lang.get();
                        Some(view! {
                            <span id="rec-timer" class="timer">{tr(l, "record.timer", &[("seconds", &number(l, seconds, 1)), ("max", &number(l, MAX_SECONDS, 0))])}</span>
                            <meter id="rec-level" min="0" max="1" value=level.to_string() aria-label=t("record.level.aria")></meter>
                            <span class="muted">{format!("{} dBFS", number(l, level_db, 0))}</span>
                        }.into_any())
                    }
                    RecState::Asking => Some(view! { <span>{t("record.asking")}</span> }.into_any()),
                    RecState::Idle => None,
                }}
                <canvas id="live" node_ref=live class="live" class:hidden=move || !recording()
                    aria-label=t("record.live.aria")></canvas>
            </div>
            <label
                class="dropzone"
                class:dragging=move || dragging.get()
                on:dragover=move |ev: ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <span>{t("file.choose")}</span>
                <small>{t("file.formats")}</small>
                <input id="file" type="file" accept="audio/*,.wav,.flac,.mp3,.ogg,.m4a,.webm" on:change=on_change prop:disabled=move || busy.get() />
            </label>
        </div>
    }
}
