//! "Your history on this device": the opt-in (`#history-on`, `#history-audio`), each kept result
//! (`#history-list`), a trend chart per task with the model changes marked (`.trend`), export as JSON
//! (`#history-export`) and deletion of one entry (`.history-delete`) or all (`#history-clear`).
//! Results are kept only after the opt-in, in this browser's IndexedDB; nothing is sent anywhere.

use acula_core::RecordingKind;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{lang, t};
use crate::browser::{download, wav_bytes};
use crate::history::store::{self, Keep};
use crate::history::{export_json, trends, Chart, Entry, Trend};
use crate::i18n::{self as words, number, plural, tr, Lang};
use crate::state::{Decoded, ModelState, Outcome};

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 120.0;
const PAD: f64 = 14.0;

/// The date and time of `ms` (since 1970) in `lang`'s conventions and the browser's time zone.
pub fn local_time(lang: Lang, ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    String::from(date.to_locale_string(&lang.locale(&words::browser_locale()), &options))
}

/// One task's trend as an SVG chart with a caption.
fn trend_view(l: Lang, t: &Trend) -> impl IntoView {
    let chart = Chart::new(t, WIDTH, HEIGHT, PAD);
    let latest = t.points.last().map_or(0.0, |p| p.score);
    let changes_words: Vec<String> = chart.changes.iter().map(|(_, b)| b.label()).collect();
    let changes_line = if changes_words.is_empty() {
        String::new()
    } else {
        tr(
            l,
            "history.changed",
            &[("models", &changes_words.join(", "))],
        )
    };
    let caption = format!(
        "{}: {}{}",
        t.name,
        plural(
            l,
            "history.results",
            t.points.len() as u64,
            &[("latest", &number(l, f64::from(latest), 2))]
        ),
        changes_line
    );
    let dots = chart
        .points
        .iter()
        .zip(&t.points)
        .map(|((x, y), p)| {
            let title = format!(
                "{} · {} · {}",
                local_time(l, p.t),
                number(l, f64::from(p.score), 2),
                t.bundles[p.bundle].label()
            );
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
                <text x=x y="11" class="bundle-change-label">{tr(l, "history.model", &[("version", &b.version)])}</text>
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
    let lang = lang();
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
                        note.set(Some(plural(
                            lang.get_untracked(),
                            "history.unreadable",
                            unreadable as u64,
                            &[],
                        )));
                    }
                }
                Err(e) => {
                    let l = lang.get_untracked();
                    note.set(Some(tr(
                        l,
                        "history.read_failed",
                        &[("why", &tr(l, &e, &[]))],
                    )));
                }
            }
        });
    };
    if keep.get_untracked().used {
        reload();
    }

    let set_keep = move |k: Keep| {
        keep.set(k);
        if let Err(e) = store::set_keep(k, false) {
            let l = lang.get_untracked();
            note.set(Some(tr(
                l,
                "history.not_remembered",
                &[("why", &tr(l, &e, &[]))],
            )));
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
            let l = lang.get_untracked();
            match store::save(&entry, wav.as_deref()).await {
                Ok(()) => {
                    note.set(Some(tr(l, "history.kept", &[])));
                    reload();
                }
                Err(e) => note.set(Some(tr(l, "history.not_kept", &[("why", &tr(l, &e, &[]))]))),
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
                w.confirm_with_message(&tr(lang.get_untracked(), "history.confirm", &[]))
                    .ok()
            })
            .unwrap_or(false);
        if !sure {
            return;
        }
        spawn_local(async move {
            let l = lang.get_untracked();
            match store::clear().await {
                Ok(()) => {
                    entries.set(Vec::new());
                    last.set_value(None);
                    let k = keep.get_untracked();
                    let _ = store::set_keep(k, !k.results);
                    note.set(Some(tr(l, "history.cleared", &[])));
                }
                Err(e) => note.set(Some(tr(
                    l,
                    "history.not_deleted",
                    &[("why", &tr(l, &e, &[]))],
                ))),
            }
        });
    };
    let delete_one = move |id: f64| {
        spawn_local(async move {
            let l = lang.get_untracked();
            match store::delete(id).await {
                Ok(()) => {
                    entries.update(|e| e.retain(|x| x.id != id));
                    if last.get_value().is_some_and(|(_, _, kept)| kept == id) {
                        last.set_value(None);
                    }
                    note.set(Some(tr(l, "history.deleted", &[])));
                }
                Err(e) => note.set(Some(tr(
                    l,
                    "history.not_deleted",
                    &[("why", &tr(l, &e, &[]))],
                ))),
            }
        });
    };
    let save_audio = move |id: f64| {
        spawn_local(async move {
            let l = lang.get_untracked();
            match store::audio(id).await {
                Ok(Some(blob)) => match JsFuture::from(blob.array_buffer()).await {
                    Ok(buf) => {
                        let bytes = js_sys::Uint8Array::new(&buf.unchecked_into()).to_vec();
                        download("acula-recording.wav", &bytes, "audio/wav");
                    }
                    Err(_) => note.set(Some(tr(
                        l,
                        "history.audio_unreadable",
                        &[("why", &tr(l, "history.audio_damaged", &[]))],
                    ))),
                },
                Ok(None) => note.set(Some(tr(l, "history.no_audio", &[]))),
                Err(e) => note.set(Some(tr(
                    l,
                    "history.audio_unreadable",
                    &[("why", &tr(l, &e, &[]))],
                ))),
            }
        });
    };

    let list = move || {
        let l = lang.get();
        entries.with(|all| {
            all.iter()
                .rev()
                .map(|e| {
                    let id = e.id;
                    let kind = e.recording.map_or_else(
                        || tr(l, "history.recording", &[]),
                        |k| tr(l, &format!("kind.{}", k.id()), &[]),
                    );
                    let head = format!("{} · {kind} · {}", local_time(l, e.id), e.file);
                    let coughs = match e.coughs {
                        0 => String::new(),
                        n => format!(" · {}", plural(l, "history.coughs", n as u64, &[])),
                    };
                    let facts = format!(
                        "{}{coughs} · {}",
                        tr(l, "unit.seconds", &[("n", &number(l, e.seconds, 1))]),
                        tr(l, "history.model", &[("version", &e.bundle.label())])
                    );
                    let summary = e.summary(l);
                    view! {
                        <li class="history-entry" data-id=format!("{id}") data-version=e.bundle.version.clone()>
                            <p><strong>{head}</strong></p>
                            <p class="history-scores">{summary}</p>
                            <p class="muted">{facts}</p>
                            <p>
                                {e.audio.then(|| view! {
                                    <button type="button" class="history-audio" on:click=move |_| save_audio(id)
                                        aria-label=tr(l, "history.download_audio.aria", &[("when", &local_time(l, id))])>{tr(l, "history.download_audio", &[])}</button>
                                    " "
                                })}
                                <button type="button" class="history-delete" on:click=move |_| delete_one(id)
                                    aria-label=tr(l, "history.delete.aria", &[("when", &local_time(l, id))])>{tr(l, "history.delete", &[])}</button>
                            </p>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let charts = move || {
        let l = lang.get();
        entries.with(|all| {
            trends(all)
                .iter()
                .map(|t| trend_view(l, t).into_any())
                .collect_view()
        })
    };
    let has_entries = move || entries.with(|e| !e.is_empty());

    view! {
        <section id="history" class="history" aria-labelledby="history-title">
            <h2 id="history-title">{t("history.title")}</h2>
            <p>
                <label>
                    <input type="checkbox" id="history-on" prop:checked=move || keep.get().results
                        on:change=move |ev| { let on = event_target_checked(&ev); set_keep(Keep { results: on, audio: on && keep.get_untracked().audio, used: true }); } />
                    " "{t("history.on")}
                </label>
            </p>
            <p>
                <label>
                    <input type="checkbox" id="history-audio" prop:checked=move || keep.get().audio
                        prop:disabled=move || !keep.get().results
                        on:change=move |ev| { let on = event_target_checked(&ev); set_keep(Keep { audio: on, ..keep.get_untracked() }); } />
                    " "{t("history.audio")}
                </label>
            </p>
            <p id="history-note" class="muted" aria-live="polite">{move || note.get()}</p>
            <Show when=has_entries>
                <div class="trends" id="history-trends">{charts}</div>
                <ol id="history-list" class="history-list">{list}</ol>
                <p class="actions">
                    <button type="button" id="history-export" on:click=export>{t("history.export")}</button>
                    " "
                    <button type="button" id="history-clear" on:click=clear>{t("history.clear")}</button>
                </p>
            </Show>
        </section>
    }
}
