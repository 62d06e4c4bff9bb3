//! The page, top level: reads the query, starts the analyser, keeps the page's [`PageState`] in one
//! signal, wires the browser's work (reading, decoding, drawing, publishing) to its transitions, and
//! lays out the components: the model panel, what the recording is, record or upload, the examples,
//! a status line in an ARIA live region, the spectrogram with the analysed chunks, the facts, the
//! results, the private history, and settings (conference mode, what is stored on this device); the
//! language switch in the header.
//!
//! Query parameters: `?bundle=URL` (a bundle folder on the same origin), `?backend=cpu|webgpu|auto`,
//! `?conference=1` (stage mode: large type, live spectrogram, live scores while recording, a QR code of
//! the page), `?recording=KIND` (the recording kind chosen at the start), `?lang=en|ru`.

mod examples;
pub(crate) mod history;
mod inputs;
mod kinds;
mod language;
mod model_panel;
pub(crate) mod recording;
mod settings;
mod stage;
mod status;

use std::sync::Arc;

use acula_core::bundle::Example;
use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

use crate::analysis::{analyse, decode_tail};
use crate::browser;
use crate::client::Client;
use crate::i18n::{self, tr, Lang};
use crate::live::{Live, WINDOW_S};
use crate::net;
use crate::protocol::BackendChoice;
use crate::results::ResultPanel;
use crate::spectrogram;
use crate::state::{ModelState, PageState};
use examples::Examples;
use history::History;
use inputs::Inputs;
use kinds::KindPicker;
use language::{LabelsPanel, SearchPanel, TextStatus};
use model_panel::ModelPanel;
use recording::{Facts, Spectrogram};
use settings::Settings;
use stage::{LiveResults, StageQr};
use status::StatusLine;

/// The page's language (provided by [`App`] to every component).
pub fn lang() -> RwSignal<Lang> {
    expect_context::<RwSignal<Lang>>()
}

/// The catalogue's message `key` in the page's language, as a text that follows the switch.
pub fn t(key: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let l = lang();
    move || tr(l.get(), key, &[])
}

/// "Language: [English | Русский]" (`#lang`); the choice is remembered on this device.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let lang = lang();
    let choose = move |ev: leptos::ev::Event| {
        if let Some(l) = Lang::from_tag(&event_target_value(&ev)) {
            lang.set(l);
            browser::remember_lang(l);
        }
    };
    view! {
        <p class="lang-switch">
            <label for="lang">{t("lang.label")}</label>" "
            <select id="lang" on:change=choose>
                {Lang::ALL.into_iter().map(|l| view! {
                    <option value=l.code() lang=l.code() prop:selected=move || lang.get() == l>{l.name()}</option>
                }).collect_view()}
            </select>
        </p>
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let query = browser::query();
    let lang = RwSignal::new(Lang::pick(
        query
            .lang
            .clone()
            .or_else(browser::remembered_lang)
            .as_deref(),
        &i18n::preferred_languages(),
    ));
    provide_context(lang);
    // The document follows the language: `<html lang>` and the title.
    Effect::new(move |_| browser::set_document_lang(lang.get()));
    let client = Client::start();
    let conference = RwSignal::new(query.conference);
    let bundle = browser::bundle_url(query.bundle.as_deref(), &browser::page_href());
    match &bundle {
        Ok(url) => client.load(url.clone(), query.backend),
        Err(e) => client.model.set(ModelState::Failed(e.clone())),
    }
    let text_url = language::text_url(&browser::page_href());
    let bundle = StoredValue::new(bundle.ok());
    let page = RwSignal::new(PageState::new(query.recording));
    let model = client.model.read_only();
    let canvas = NodeRef::<Canvas>::new();

    // What the components show, each changing only when its part of the state does.
    let kind = Memo::new(move |_| page.with(PageState::kind));
    let recording = Memo::new(move |_| page.with(|p| p.recording().cloned()));
    let outcome = Memo::new(move |_| page.with(|p| p.outcome().cloned()));
    let busy = Memo::new(move |_| page.with(PageState::busy));

    // Decode a file (or a recording) and draw it; screening follows from the effect below.
    let take = move |name: String, buffer: js_sys::ArrayBuffer| {
        page.update(|p| p.decoding(&name));
        spawn_local(async move {
            match analyse(name, buffer).await {
                Ok(a) => {
                    if let (Some(c), Some(f)) = (canvas.get_untracked(), &a.features) {
                        if let Err(e) = spectrogram::draw(&c, f) {
                            leptos::logging::warn!("drawing failed: {e:?}");
                        }
                    }
                    browser::publish_features(&a);
                    page.update(|p| p.decoded(Arc::new(a)));
                }
                Err(msg) => page.update(|p| p.failed(msg)),
            }
        });
    };
    let take_file = move |file: File| {
        let name = file.name();
        let taken = page
            .try_update(|p| p.file_chosen(&name, file.size() as u64, lang.get_untracked()))
            .unwrap_or(false);
        if !taken {
            return;
        }
        spawn_local(async move {
            match JsFuture::from(file.array_buffer()).await {
                Ok(buf) => take(name, buf.unchecked_into()),
                Err(_) => {
                    page.update(|p| p.failed(tr(lang.get_untracked(), "file.unreadable", &[])))
                }
            }
        });
    };
    let play_example = move |e: Example| {
        let Some(base) = bundle.get_value() else {
            return;
        };
        page.update(|p| p.example_chosen(&e));
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
                Err(msg) => page.update(|p| p.failed(msg)),
            }
        });
    };
    // Stage mode: screen the last seconds of the recording so far, when the analyser is free.
    let live = RwSignal::new(Live::default());
    let recording_now = RwSignal::new(false);
    Effect::new(move |was: Option<bool>| {
        let now = recording_now.get();
        if now && was == Some(false) {
            live.update(Live::reset);
        }
        now
    });
    let on_rolling = move |(buffer, at_s): (js_sys::ArrayBuffer, f64)| {
        // A hand-over that arrives after Stop is dropped: the whole recording is screened next.
        if !recording_now.get_untracked() {
            return;
        }
        let handed = browser::now_ms();
        let Some(need) = model.with_untracked(|m| m.ready().map(|_| m.needs_kind())) else {
            return;
        };
        let kind = page.with_untracked(PageState::kind);
        if need && kind.is_none() {
            live.update(Live::waiting_for_kind);
            return;
        }
        if !live
            .try_update(|l| l.take_turn(handed, at_s))
            .unwrap_or(false)
        {
            browser::publish_live(&live.get_untracked());
            return;
        }
        spawn_local(async move {
            match decode_tail(&buffer, WINDOW_S).await {
                Ok((mono, rate)) if recording_now.get_untracked() => {
                    let id = client.screen(&mono, rate, if need { kind } else { None }, false);
                    live.update(|l| l.asked(id));
                }
                _ => live.update(Live::gave_up),
            }
        });
    };

    let switch_backend = move |choice: BackendChoice| {
        if let Some(url) = bundle.get_value() {
            client.load(url, choice);
        }
    };

    // Screen when there is a decoded recording, its kind (when needed) and a ready model.
    Effect::new(move |_| {
        let Some(request) = model.with(|m| page.with(|p| p.screen_due(m))) else {
            return;
        };
        let a = &request.analysis;
        let id = client.screen(&a.mono, a.decoded_rate, request.kind, request.contributions);
        page.update(|p| p.screen_sent(&request, id));
    });

    // The answer to the latest request: draw the chunks, publish, and show.
    Effect::new(move |_| {
        let Some(o) = client.outcome.get() else {
            return;
        };
        if live
            .try_update(|l| l.answered(&o, browser::now_ms()))
            .unwrap_or(false)
        {
            browser::publish_live(&live.get_untracked());
            return;
        }
        let screening = o.result.as_ref().ok().map(|(s, _)| s.clone());
        if !page.try_update(|p| p.outcome_received(o)).unwrap_or(false) {
            return;
        }
        if let Some(s) = screening {
            let decoded = recording.get_untracked();
            if let (Some(c), Some(f)) = (
                canvas.get_untracked(),
                decoded.as_ref().and_then(|d| d.analysis.features.as_ref()),
            ) {
                let _ = spectrogram::draw(&c, f);
                spectrogram::mark_chunks(&c, &s.chunks, f.frames);
                spectrogram::mark_coughs(&c, &s.segments, f.frames);
                spectrogram::mark_contributions(&c, &s.contributions, f.frames);
            }
            browser::publish_screening(&s);
        }
    });

    view! {
        <div class="page" class:conference=move || conference.get()>
        <header>
            <h1>"acula"</h1>
            <p class="tagline">{t("page.tagline")}</p>
            <LanguageSwitch />
        </header>
        <main>
            <p class="notice intended-use" role="note">
                <strong>{t("page.caveat.title")}" "</strong>
                {t("page.caveat")}
            </p>
            <ModelPanel model=model on_switch=Callback::new(switch_backend) />
            <KindPicker kind=kind on_choose=Callback::new(move |k| page.update(|p| p.kind_chosen(k))) />
            <Inputs
                busy=busy
                on_file=Callback::new(take_file)
                on_recording=Callback::new(move |(name, buf)| take(name, buf))
                on_error=Callback::new(move |msg| page.update(|p| p.failed(msg)))
                stage=conference
                on_rolling=Callback::new(on_rolling)
                active=recording_now
            />
            {move || conference.get().then(|| view! {
                <LiveResults live=live active=recording_now model=model />
                <StageQr address=browser::page_address() />
            })}
            <Examples model=model busy=busy on_play=Callback::new(play_example) />
            <StatusLine page=page model=model />
            <Spectrogram canvas=canvas recording=recording outcome=outcome />
            {move || recording.get().map(|d| view! { <Facts analysis=d.analysis /> })}
            <p class="explain">
                <label>
                    <input type="checkbox" id="explain" prop:checked=move || page.with(|p| p.explain())
                        on:change=move |ev| page.update(|p| p.set_explain(event_target_checked(&ev))) />
                    " "{t("explain.label")}
                </label>
            </p>
            <ResultPanel outcome=outcome model=model kind=kind recording=recording />
            <LabelsPanel client=client model=model outcome=outcome text_url=text_url.clone() />
            <TextStatus client=client />
            <SearchPanel client=client model=model bundle=bundle.get_value() text_url=text_url />
            <History outcome=outcome model=model kind=kind recording=recording />
            <Settings conference=conference />
        </main>
        <footer>
            <p class="muted">{t("page.footer")}</p>
        </footer>
        </div>
    }
}
