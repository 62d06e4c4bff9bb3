//! The language side on the page: search the bundle by a typed description, and score a screened
//! recording against the person's own labels (zero-shot). Both run in the analyser worker; the text
//! model is downloaded the first time either is used (its size is said on the buttons before).

use acula_core::language::{self, LabelAnswer, SearchResult};
use leptos::prelude::*;

use crate::client::Client;
use crate::state::{human_bytes, ModelState, Outcome, TextAnswer, TextModel};

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
fn button_label(words: &str, bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{words} (downloads {} once)", human_bytes(b)),
        None => words.to_string(),
    }
}

/// The text model's line and download progress (`#text-line`, `#text-progress`).
#[component]
pub fn TextStatus(
    /// The analyser.
    client: Client,
) -> impl IntoView {
    let text = client.text;
    view! {
        {move || text.with(TextModel::line).map(|l| view! { <p id="text-line" class="muted" role="status">{l}</p> })}
        {move || text.with(TextModel::progress).map(|(l, t)| view! {
            <progress id="text-progress" max=t.to_string() value=l.to_string() aria-label="Text model download"></progress>
        })}
    }
}

fn search_view(r: &SearchResult, ms: f64, base: Option<String>) -> impl IntoView {
    let truncated = r.truncated.then(|| view! {
        <p class="note" id="search-truncated">"Your text is longer than the model's 128 tokens; only its beginning was used."</p>
    });
    let reports = r.reports.iter().map(|h| {
        let synthetic = if h.synthetic { ", synthetic recording" } else { "" };
        view! {
            <li>
                <span class="similarity">{format!("{:.3}", h.similarity)}</span>" "
                <span class="report-text">{h.text.clone()}</span>" "
                <small class="muted">{format!("({} {}{synthetic})", h.dataset, h.record_id)}</small>
            </li>
        }
    }).collect_view();
    let recordings = r.recordings.iter().map(|h| {
        let src = base.as_ref().map(|b| format!("{b}{}", h.file));
        view! {
            <li>
                <span class="similarity">{format!("{:.3}", h.similarity)}</span>" "
                {h.title.clone()}" "<small class="muted">{format!("({}; {})", h.recording.id(), h.source)}</small>
                {src.map(|s| view! { <audio controls preload="none" src=s aria-label=format!("Play {}", h.title)></audio> })}
            </li>
        }
    }).collect_view();
    let has_recordings = !r.recordings.is_empty();
    view! {
        <div id="search-results" data-ms=format!("{ms:.1}")>
            {truncated}
            <h3>"Most similar reports"</h3>
            <ol id="search-reports">{reports}</ol>
            {has_recordings.then(|| view! { <h3>"Most similar example recordings"</h3> })}
            <ol id="search-recordings">{recordings}</ol>
            <p class="muted">"Similarity is the cosine in the model's joint space of sounds and clinical language (1 = same direction)."</p>
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
                None => error.set(Some(
                    "this page's address cannot be used to find the text model".into(),
                )),
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
                search_view(&result, ms, bundle.get_value()).into_any()
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
                    <h2 id="search-title">"Search by description"</h2>
                    <form id="search-form" role="search" on:submit=submit>
                        <label for="search-input">"Describe a sound or a finding in words"</label>
                        <input type="search" id="search-input" maxlength="10000"
                            placeholder="expiratory wheezes in an asthmatic child"
                            prop:value=move || query.get()
                            on:input=move |ev| query.set(event_target_value(&ev)) />
                        <button type="submit" id="search-go" prop:disabled=move || text.with(TextModel::loading)>
                            {move || button_label("Search", model.with(|m| text.with(|t| first_use_bytes(t, tower, m))))}
                        </button>
                    </form>
                    <p class="muted" id="search-cost">
                        "Finds the bundle's most similar clinical reports and example recordings, on this device. "
                        {move || model.with(|m| text.with(|t| first_use_bytes(t, tower, m))).map(|_| "The first search or labels download the text model once and keep it on this device for offline use.")}
                    </p>
                    {move || error.get().map(|e| view! { <p id="search-error" class="error" role="alert">{e}</p> })}
                    {answer}
                </section>
            }.into_any()
        } else {
            view! {
                <section class="search" aria-labelledby="search-title">
                    <h2 id="search-title">"Search by description"</h2>
                    <p class="muted" id="search-unavailable">"This model bundle has no text side, so it cannot be searched in words (acula text-head adds one)."</p>
                </section>
            }.into_any()
        })
    }
}

fn labels_view(a: &LabelAnswer, ms: f64) -> impl IntoView {
    let rows = a.scores.iter().map(|s| {
        let pct = format!("{:.1} %", s.probability * 100.0);
        view! {
            <tr>
                <th scope="row">{s.label.clone()}</th>
                <td><meter min="0" max="1" value=s.probability.to_string()>{pct.clone()}</meter>" "{pct}</td>
                <td>{format!("{:.3}", s.similarity)}</td>
            </tr>
        }
    }).collect_view();
    let withheld = a.withheld.clone();
    let template = a.template.clone();
    let note = a.note.clone();
    view! {
        <div id="labels-results" data-ms=format!("{ms:.1}")>
            <p class="note" id="labels-note">{note}</p>
            <p class="muted">"Each label was put into the sentence “"{template}"” and compared with the recording."</p>
            {match withheld {
                Some(w) => view! { <p id="labels-withheld" role="status">{w}</p> }.into_any(),
                None => view! {
                    <table id="labels-scores">
                        <caption>"Your labels: probability over the labels given"</caption>
                        <thead><tr><th scope="col">"Label"</th><th scope="col">"Probability"</th><th scope="col">"Similarity"</th></tr></thead>
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
                None => error.set(Some(
                    "this page's address cannot be used to find the text model".into(),
                )),
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
            } if Some(s) == screening() => labels_view(&answer, ms).into_any(),
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
                <h2 id="labels-title">"Your own labels"</h2>
                <form id="labels-form" on:submit=submit>
                    <label for="labels-input">"Two or more labels, separated by commas"</label>
                    <input type="text" id="labels-input" maxlength="12000"
                        placeholder="wheezes, crackles, normal breath sounds"
                        prop:value=move || input.get()
                        on:input=move |ev| input.set(event_target_value(&ev)) />
                    <button type="submit" id="labels-go" prop:disabled=move || text.with(TextModel::loading)>
                        {move || button_label("Score my labels", model.with(|m| text.with(|t| first_use_bytes(t, tower, m))))}
                    </button>
                </form>
                <p class="muted">"Each label is put into a sentence about this kind of recording and compared with the recording in the joint space of sounds and clinical language; not a trained task."</p>
                {move || error.get().map(|e| view! { <p id="labels-error" class="error" role="alert">{e}</p> })}
                {answer}
            </section>
        })
    }
}
