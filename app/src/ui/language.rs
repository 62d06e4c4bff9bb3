//! The language side on the page: search the bundle by a typed description, and score a screened
//! recording against the person's own labels (zero-shot). Both run in the analyser worker; the text
//! model is downloaded the first time either is used (its size is said on the buttons before).

use acula_core::language::{self, LabelAnswer, SearchResult};
use leptos::prelude::*;

use super::{lang, t};
use crate::client::Client;
use crate::i18n::{number, tr, Lang};
use crate::state::{human_bytes_in, ModelState, Outcome, TextAnswer, TextModel};

/// The page's text tower folder (`text/` beside the page).
pub fn text_url(page: &str) -> Option<String> {
    web_sys::Url::new_with_base("text/", page)
        .ok()
        .map(|u| u.href())
}

/// Bytes the text model costs to download (its files and module), as the build wrote them into the
/// page (`<meta name="acula-text-tower">`, see scripts/post-build.mjs); `None` when it did not.
fn tower_bytes() -> Option<u64> {
    web_sys::window()?
        .document()?
        .query_selector(r#"meta[name="acula-text-tower"]"#)
        .ok()??
        .get_attribute("content")?
        .parse()
        .ok()
}

/// Bytes the first text use downloads (the text tower, its module, the bundle's text side), while
/// the text model is not loaded; `None` once it is, or when the page does not know.
fn first_use_bytes(text: &TextModel, tower: Option<u64>, model: &ModelState) -> Option<u64> {
    if matches!(text, TextModel::Ready(_) | TextModel::Used) {
        return None;
    }
    let side = model
        .ready()
        .and_then(|l| l.manifest.files.get(acula_core::bundle::TEXT_FILE))
        .map_or(0, |e| e.bytes);
    tower.map(|b| b + side)
}

/// A button's words with what its first use downloads: "Search (downloads 80.3 MB once)".
fn button_label(lang: Lang, key: &str, bytes: Option<u64>) -> String {
    let words = tr(lang, key, &[]);
    match bytes {
        Some(b) => tr(
            lang,
            "text.button_download",
            &[("words", &words), ("size", &human_bytes_in(lang, b))],
        ),
        None => words,
    }
}

/// The text model's line and download progress (`#text-line`, `#text-progress`).
#[component]
pub fn TextStatus(
    /// The analyser.
    client: Client,
) -> impl IntoView {
    let text = client.text;
    let lang = lang();
    view! {
        {move || text.with(|x| x.line(lang.get())).map(|l| view! { <p id="text-line" class="muted" role="status">{l}</p> })}
        {move || text.with(TextModel::progress).map(|(l, total)| view! {
            <progress id="text-progress" max=total.to_string() value=l.to_string() aria-label=t("text.progress.aria")></progress>
        })}
    }
}

fn search_view(l: Lang, r: &SearchResult, ms: f64, base: Option<String>) -> impl IntoView {
    let truncated = r.truncated.then(|| {
        view! {
            <p class="note" id="search-truncated">{tr(l, "search.truncated", &[])}</p>
        }
    });
    let reports = r
        .reports
        .iter()
        .map(|h| {
            let origin = tr(
                l,
                if h.synthetic {
                    "search.origin.synthetic"
                } else {
                    "search.origin"
                },
                &[("dataset", &h.dataset), ("record", &h.record_id)],
            );
            view! {
                <li>
                    <span class="similarity">{number(l, f64::from(h.similarity), 3)}</span>" "
                    <span class="report-text" lang="en">{h.text.clone()}</span>" "
                    <small class="muted">{origin}</small>
                </li>
            }
        })
        .collect_view();
    let recordings = r.recordings.iter().map(|h| {
        let src = base.as_ref().map(|b| format!("{b}{}", h.file));
        let play = tr(l, "search.play", &[("title", &h.title)]);
        view! {
            <li>
                <span class="similarity">{number(l, f64::from(h.similarity), 3)}</span>" "
                <span lang="en">{h.title.clone()}</span>" "<small class="muted">{format!("({}; {})", tr(l, &format!("kind.{}", h.recording.id()), &[]).to_lowercase(), h.source)}</small>
                {src.map(|s| view! { <audio controls preload="none" src=s aria-label=play></audio> })}
            </li>
        }
    }).collect_view();
    let has_recordings = !r.recordings.is_empty();
    view! {
        <div id="search-results" data-ms=format!("{ms:.1}")>
            {truncated}
            <h3>{tr(l, "search.reports", &[])}</h3>
            <ol id="search-reports">{reports}</ol>
            {has_recordings.then(|| view! { <h3>{tr(l, "search.recordings", &[])}</h3> })}
            <ol id="search-recordings">{recordings}</ol>
            <p class="muted">{tr(l, "search.similarity", &[])}</p>
        </div>
    }
}

/// "Search by description": `<input type="search" id="search-input">` and the answers.
#[component]
pub fn SearchPanel(
    /// The analyser.
    client: Client,
    /// The model's state.
    #[prop(into)]
    model: Signal<ModelState>,
    /// The bundle folder's URL (for the example recordings).
    bundle: Option<String>,
    /// The text tower's folder, `None` when the page's URL is unusable.
    text_url: Option<String>,
) -> impl IntoView {
    let lang = lang();
    let tower = tower_bytes();
    let query = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let last = RwSignal::new(None::<u32>);
    let text = client.text;
    let text_url = StoredValue::new(text_url);
    let bundle = StoredValue::new(bundle);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = query.get_untracked();
        match language::check_query(&q) {
            Err(e) => error.set(Some(format!("{e}."))),
            Ok(q) => match text_url.get_value() {
                None => error.set(Some(tr(lang.get_untracked(), "text.no_address", &[]))),
                Some(u) => {
                    error.set(None);
                    last.set(Some(client.search(q.to_string(), u)));
                }
            },
        }
    };
    let ready = move || model.with(|m| m.ready().is_some_and(|l| l.manifest.text.is_some()));
    let answer = move || {
        let a = client.text_answer.get()?;
        if Some(a.id()) != last.get() {
            return None;
        }
        Some(match a {
            TextAnswer::Search { result, ms, .. } => {
                search_view(lang.get(), &result, ms, bundle.get_value()).into_any()
            }
            TextAnswer::Failed { message, .. } => {
                view! { <p id="search-error" class="error" role="alert">{message}</p> }.into_any()
            }
            TextAnswer::Labels { .. } => ().into_any(),
        })
    };
    move || {
        if !model.with(|m| m.ready().is_some()) {
            return None;
        }
        Some(if ready() {
            view! {
                <section class="search" aria-labelledby="search-title">
                    <h2 id="search-title">{t("search.title")}</h2>
                    <form id="search-form" role="search" on:submit=submit>
                        <label for="search-input">{t("search.label")}</label>
                        <input type="search" id="search-input" maxlength="10000" lang="en"
                            placeholder="expiratory wheezes in an asthmatic child"
                            prop:value=move || query.get()
                            on:input=move |ev| query.set(event_target_value(&ev)) />
                        <button type="submit" id="search-go" prop:disabled=move || text.with(TextModel::loading)>
                            {move || button_label(lang.get(), "search.button", model.with(|m| text.with(|x| first_use_bytes(x, tower, m))))}
                        </button>
                    </form>
                    <p class="muted" id="search-cost">
                        {t("search.cost")}" "
                        {move || model.with(|m| text.with(|x| first_use_bytes(x, tower, m))).map(|_| tr(lang.get(), "text.first_use", &[]))}
                    </p>
                    {move || error.get().map(|e| view! { <p id="search-error" class="error" role="alert">{e}</p> })}
                    {answer}
                </section>
            }.into_any()
        } else {
            view! {
                <section class="search" aria-labelledby="search-title">
                    <h2 id="search-title">{t("search.title")}</h2>
                    <p class="muted" id="search-unavailable">{t("search.unavailable")}</p>
                </section>
            }
            .into_any()
        })
    }
}

fn labels_view(l: Lang, a: &LabelAnswer, ms: f64) -> impl IntoView {
    let rows = a.scores.iter().map(|s| {
        let pct = tr(l, "unit.percent", &[("n", &number(l, f64::from(s.probability) * 100.0, 1))]);
        view! {
            <tr>
                <th scope="row" lang="en">{s.label.clone()}</th>
                <td><meter min="0" max="1" value=s.probability.to_string()>{pct.clone()}</meter>" "{pct}</td>
                <td>{number(l, f64::from(s.similarity), 3)}</td>
            </tr>
        }
    }).collect_view();
    let withheld = a.withheld.clone();
    let template = a.template.clone();
    let note = a.note.clone();
    view! {
        <div id="labels-results" data-ms=format!("{ms:.1}")>
            <p class="note" id="labels-note">{note}</p>
            <p class="muted">{tr(l, "labels.template", &[("template", &template)])}</p>
            {match withheld {
                Some(w) => view! { <p id="labels-withheld" role="status">{w}</p> }.into_any(),
                None => view! {
                    <table id="labels-scores">
                        <caption>{tr(l, "labels.caption", &[])}</caption>
                        <thead><tr><th scope="col">{tr(l, "labels.label", &[])}</th><th scope="col">{tr(l, "labels.probability", &[])}</th><th scope="col">{tr(l, "labels.similarity", &[])}</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any(),
            }}
        </div>
    }
}

/// "Your own labels", shown under a screening that succeeded.
#[component]
pub fn LabelsPanel(
    /// The analyser.
    client: Client,
    /// The model's state.
    #[prop(into)]
    model: Signal<ModelState>,
    /// The latest screening's answer.
    #[prop(into)]
    outcome: Signal<Option<Outcome>>,
    /// The text tower's folder.
    text_url: Option<String>,
) -> impl IntoView {
    let lang = lang();
    let tower = tower_bytes();
    let input = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let last = RwSignal::new(None::<u32>);
    let text = client.text;
    let text_url = StoredValue::new(text_url);
    let screening = move || {
        outcome.with(|o| {
            o.as_ref()
                .filter(|o| o.result.as_ref().is_ok_and(|(s, _)| s.quality.is_ok()))
                .map(|o| o.id)
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(id) = screening() else {
            return;
        };
        match language::parse_labels(&input.get_untracked()) {
            Err(e) => error.set(Some(format!("{e}."))),
            Ok(labels) => match text_url.get_value() {
                None => error.set(Some(tr(lang.get_untracked(), "text.no_address", &[]))),
                Some(u) => {
                    error.set(None);
                    last.set(Some(client.labels(id, labels, u)));
                }
            },
        }
    };
    let answer = move || {
        let a = client.text_answer.get()?;
        if Some(a.id()) != last.get() {
            return None;
        }
        Some(match a {
            TextAnswer::Labels {
                answer,
                ms,
                screening: s,
                ..
            } if Some(s) == screening() => labels_view(lang.get(), &answer, ms).into_any(),
            TextAnswer::Failed { message, .. } => {
                view! { <p id="labels-error" class="error" role="alert">{message}</p> }.into_any()
            }
            _ => ().into_any(),
        })
    };
    move || {
        screening()?;
        model.with(|m| m.ready().is_some_and(|l| l.manifest.text.is_some())).then(|| view! {
            <section class="labels" aria-labelledby="labels-title">
                <h2 id="labels-title">{t("labels.title")}</h2>
                <form id="labels-form" on:submit=submit>
                    <label for="labels-input">{t("labels.input")}</label>
                    <input type="text" id="labels-input" maxlength="12000" lang="en"
                        placeholder="wheezes, crackles, normal breath sounds"
                        prop:value=move || input.get()
                        on:input=move |ev| input.set(event_target_value(&ev)) />
                    <button type="submit" id="labels-go" prop:disabled=move || text.with(TextModel::loading)>
                        {move || button_label(lang.get(), "labels.button", model.with(|m| text.with(|x| first_use_bytes(x, tower, m))))}
                    </button>
                </form>
                <p class="muted">{t("labels.explain")}</p>
                {move || error.get().map(|e| view! { <p id="labels-error" class="error" role="alert">{e}</p> })}
                {answer}
            </section>
        })
    }
}
