//! "Your history on this device": the opt-in (`#history-on`, `#history-audio`), each kept result
//! (`#history-list`), a trend chart per task with the model changes marked (`.trend`), export as JSON
//! (`#history-export`) and deletion of one entry (`.history-delete`) or all (`#history-clear`).
//! Results are kept only after the opt-in, in this browser's IndexedDB; nothing is sent anywhere.

use acula_core::RecordingKind;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::browser::{download, wav_bytes};
use crate::history::store::{self, Keep};
use crate::history::{export_json, trends, Chart, Entry, Trend};
use crate::state::{Decoded, ModelState, Outcome};

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 120.0;
const PAD: f64 = 14.0;

/// The date and time of `ms` (since 1970) in the browser's locale and time zone.
pub fn local_time(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    String::from(date.to_locale_string(&crate::browser::locale(), &options))
}

/// One task's trend as an SVG chart with a caption.
fn trend_view(t: &Trend) -> impl IntoView {
    let chart = Chart::new(t, WIDTH, HEIGHT, PAD);
    let latest = t.points.last().map_or(0.0, |p| p.score);
    let changes_words: Vec<String> = chart.changes.iter().map(|(_, b)| b.label()).collect();
    let caption = format!(
        "{}: {} result{}, latest {:.2}{}",
        t.name,
        t.points.len(),
        if t.points.len() == 1 { "" } else { "s" },
        latest,
        if changes_words.is_empty() {
            String::new()
        } else {
            format!(
                "; the model changed to {} (dashed line)",
                changes_words.join(", then ")
            )
        }
    );
    let dots = chart
        .points
        .iter()
        .zip(&t.points)
        .map(|((x, y), p)| {
            let title = format!("{} · {:.2} · {}", local_time(p.t), p.score, t.bundles[p.bundle].label());
            view! { <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="3.5"><title>{title}</title></circle> }
        })
        .collect_view();
    let changes = chart
        .changes
        .iter()
        .map(|(x, b)| {
            let x = format!("{x:.1}");
            view! {
                <line class="bundle-change" x1=x.clone() x2=x.clone() y1="2" y2=format!("{:.0}", HEIGHT - 2.0) data-version=b.version.clone()></line>
                <text x=x y="11" class="bundle-change-label">{format!("model {}", b.version)}</text>
            }
        })
        .collect_view();
    let (top, bottom) = (format!("{PAD:.0}"), format!("{:.0}", HEIGHT - PAD));
    view! {
        <figure class="trend" data-task=t.task.clone()>
            <svg viewBox=format!("0 0 {WIDTH:.0} {HEIGHT:.0}") width=format!("{WIDTH:.0}") height=format!("{HEIGHT:.0}") role="img" aria-label=caption.clone()>
                <line class="axis" x1="0" x2=format!("{WIDTH:.0}") y1=bottom.clone() y2=bottom.clone()></line>
                <line class="axis" x1="0" x2=format!("{WIDTH:.0}") y1=top.clone() y2=top.clone()></line>
                <text x="2" y=format!("{:.0}", HEIGHT - PAD - 3.0) class="axis-label">"0"</text>
                <text x="2" y=format!("{:.0}", PAD + 10.0) class="axis-label">"1"</text>
                {changes}
                <polyline points=chart.polyline()></polyline>
                {dots}
            </svg>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// The history section.
#[component]
pub fn History(
    /// The answer to the latest screening (kept when history is on).
    #[prop(into)]
    outcome: Signal<Option<Outcome>>,
    /// The model (its manifest goes into each entry).
    #[prop(into)]
    model: Signal<ModelState>,
    /// The kind the recording was screened as.
    #[prop(into)]
    kind: Signal<Option<RecordingKind>>,
    /// The decoded recording.
    #[prop(into)]
    recording: Signal<Option<Decoded>>,
) -> impl IntoView {
    let keep = RwSignal::new(store::keep());
    let entries = RwSignal::new(Vec::<Entry>::new());
    let note = RwSignal::new(None::<String>);
    // The recording and kind last kept, and its entry's id: the same recording screened again (with
    // contributions, or on another backend) replaces its entry.
    let last = StoredValue::new(None::<(usize, Option<RecordingKind>, f64)>);

    let reload = move || {
        spawn_local(async move {
            match store::load().await {
                Ok((list, unreadable)) => {
                    entries.set(list);
                    if unreadable > 0 {
                        note.set(Some(format!(
                            "{unreadable} kept entr{} could not be read (written by a newer version of the page); they are left as they are.",
                            if unreadable == 1 { "y" } else { "ies" }
                        )));
                    }
                }
                Err(e) => note.set(Some(format!("The history could not be read: {e}."))),
            }
        });
    };
    if keep.get_untracked().used {
        reload();
    }

    let set_keep = move |k: Keep| {
        keep.set(k);
        if let Err(e) = store::set_keep(k, false) {
            note.set(Some(format!("The choice could not be remembered: {e}.")));
        }
        if k.results {
            reload();
        }
    };

    // Keep each new result while history is on.
    Effect::new(move |_| {
        let Some(o) = outcome.get() else {
            return;
        };
        let Ok((s, _)) = &o.result else {
            return;
        };
        let k = keep.get_untracked();
        if !k.results {
            return;
        }
        let Some(manifest) = model.with_untracked(|m| m.ready().map(|l| l.manifest.clone())) else {
            return;
        };
        let Some(d) = recording.get_untracked() else {
            return;
        };
        let kind = kind.get_untracked();
        let id = match last.get_value() {
            Some((serial, k2, id)) if serial == d.serial && k2 == kind => id,
            _ => js_sys::Date::now(),
        };
        last.set_value(Some((d.serial, kind, id)));
        let created = String::from(js_sys::Date::new(&id.into()).to_iso_string());
        let entry = Entry::new(id, created, &d.analysis.name, kind, s, &manifest, k.audio);
        let wav = k
            .audio
            .then(|| wav_bytes(&d.analysis.mono, d.analysis.decoded_rate));
        spawn_local(async move {
            match store::save(&entry, wav.as_deref()).await {
                Ok(()) => {
                    note.set(Some(
                        "This result is kept in your history on this device.".into(),
                    ));
                    reload();
                }
                Err(e) => note.set(Some(format!("This result was not kept: {e}."))),
            }
        });
    });

    let export = move |_| {
        let now = String::from(js_sys::Date::new_0().to_iso_string());
        let json = entries.with(|e| export_json(e, &now));
        download("acula-history.json", json.as_bytes(), "application/json");
    };
    let clear = move |_| {
        let sure = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(
                    "Delete every result kept on this device? This cannot be undone.",
                )
                .ok()
            })
            .unwrap_or(false);
        if !sure {
            return;
        }
        spawn_local(async move {
            match store::clear().await {
                Ok(()) => {
                    entries.set(Vec::new());
                    last.set_value(None);
                    let k = keep.get_untracked();
                    let _ = store::set_keep(k, !k.results);
                    note.set(Some("Every kept result is deleted.".into()));
                }
                Err(e) => note.set(Some(format!("Could not delete: {e}."))),
            }
        });
    };
    let delete_one = move |id: f64| {
        spawn_local(async move {
            match store::delete(id).await {
                Ok(()) => {
                    entries.update(|e| e.retain(|x| x.id != id));
                    if last.get_value().is_some_and(|(_, _, l)| l == id) {
                        last.set_value(None);
                    }
                    note.set(Some("The entry is deleted.".into()));
                }
                Err(e) => note.set(Some(format!("Could not delete: {e}."))),
            }
        });
    };
    let save_audio = move |id: f64| {
        spawn_local(async move {
            match store::audio(id).await {
                Ok(Some(blob)) => match JsFuture::from(blob.array_buffer()).await {
                    Ok(buf) => {
                        let bytes = js_sys::Uint8Array::new(&buf.unchecked_into()).to_vec();
                        download("acula-recording.wav", &bytes, "audio/wav");
                    }
                    Err(_) => note.set(Some("The recording could not be read.".into())),
                },
                Ok(None) => note.set(Some("No recording is kept with this entry.".into())),
                Err(e) => note.set(Some(format!("The recording could not be read: {e}."))),
            }
        });
    };

    let list = move || {
        entries.with(|all| {
            all.iter()
                .rev()
                .map(|e| {
                    let id = e.id;
                    let head = format!(
                        "{} · {} · {}",
                        local_time(e.id),
                        e.recording.map_or("recording", |k| k.label()),
                        e.file
                    );
                    let coughs = match e.coughs {
                        0 => String::new(),
                        1 => " · 1 cough".to_string(),
                        n => format!(" · {n} coughs"),
                    };
                    let facts = format!("{:.1} s{coughs} · model {}", e.seconds, e.bundle.label());
                    view! {
                        <li class="history-entry" data-id=format!("{id}") data-version=e.bundle.version.clone()>
                            <p><strong>{head}</strong></p>
                            <p class="history-scores">{e.summary()}</p>
                            <p class="muted">{facts}</p>
                            <p>
                                {e.audio.then(|| view! {
                                    <button type="button" class="history-audio" on:click=move |_| save_audio(id)>"Download the recording"</button>
                                    " "
                                })}
                                <button type="button" class="history-delete" on:click=move |_| delete_one(id)>"Delete"</button>
                            </p>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let charts = move || {
        entries.with(|all| {
            trends(all)
                .iter()
                .map(|t| trend_view(t).into_any())
                .collect_view()
        })
    };
    let has_entries = move || entries.with(|e| !e.is_empty());

    view! {
        <section id="history" class="history" aria-labelledby="history-title">
            <h2 id="history-title">"Your history on this device"</h2>
            <p>
                <label>
                    <input type="checkbox" id="history-on" prop:checked=move || keep.get().results
                        on:change=move |ev| { let on = event_target_checked(&ev); set_keep(Keep { results: on, audio: on && keep.get_untracked().audio, used: true }); } />
                    " Keep my results on this device, to compare them over time (nothing is sent anywhere)"
                </label>
            </p>
            <p>
                <label>
                    <input type="checkbox" id="history-audio" prop:checked=move || keep.get().audio
                        prop:disabled=move || !keep.get().results
                        on:change=move |ev| { let on = event_target_checked(&ev); set_keep(Keep { audio: on, ..keep.get_untracked() }); } />
                    " Keep the recordings too (they take more space)"
                </label>
            </p>
            <p id="history-note" class="muted" aria-live="polite">{move || note.get()}</p>
            <Show when=has_entries>
                <div class="trends" id="history-trends">{charts}</div>
                <ol id="history-list" class="history-list">{list}</ol>
                <p class="actions">
                    <button type="button" id="history-export" on:click=export>"Export the history (JSON)"</button>
                    " "
                    <button type="button" id="history-clear" on:click=clear>"Delete all"</button>
                </p>
            </Show>
        </section>
    }
}
