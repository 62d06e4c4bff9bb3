//! The screening part of the results: a notice for each recording kind the recording is unfamiliar
//! to (in place of its scores), each task's score in words with its measured accuracy, and the
//! research tasks behind a switch (`#show-research`).

use acula_core::bundle::{Familiarity, TaskSpec};
use acula_core::screen::TaskScore;
use leptos::prelude::*;

use super::listing::{Listing, Row};
use super::words::{accuracy, hidden_line, meaning, score_value, unscored};
use crate::i18n::{tr, Lang};

/// One scored task: `#score-<task>` with the score in `data-score`.
fn score_item(l: Lang, spec: &TaskSpec, s: &TaskScore) -> impl IntoView {
    let id = format!("score-{}", s.task);
    let value = format!("{:.3}", s.score);
    let data = value.clone();
    let (kind, pct) = score_value(l, spec, s);
    let aria = format!(
        "{}: {}",
        spec.name,
        kind.clone().unwrap_or_else(|| tr(l, "score.word", &[]))
    );
    view! {
        <li class="score" id=id data-score=data>
            <h4 lang="en">{spec.name.clone()}</h4>
            <p class="score-line">
                <meter min="0" max="1" low="0.5" high="0.5001" optimum="0" value=value
                    aria-label=aria></meter>
                <strong class="score-value">
                    {kind.map(|k| view! { <small class="score-kind">{format!("{k} ")}</small> })}
                    {pct}
                </strong>
            </p>
            <p>{meaning(l, spec, s)}</p>
            <p class="muted" lang="en">{spec.description.clone()}</p>
            <p class="muted accuracy">{accuracy(l, spec)}</p>
        </li>
    }
}

/// A research task or a real one, scored or not (`#unscored-<task>`: its kind was unfamiliar).
fn row_item(l: Lang, row: &Row) -> AnyView {
    match &row.score {
        Some(s) => score_item(l, &row.spec, s).into_any(),
        None => view! {
            <li class="score unscored" id=format!("unscored-{}", row.spec.id)>
                <h4 lang="en">{row.spec.name.clone()}</h4>
                <p>{unscored(l, row.spec.recording)}</p>
                <p class="muted" lang="en">{row.spec.description.clone()}</p>
                <p class="muted accuracy">{accuracy(l, &row.spec)}</p>
            </li>
        }
        .into_any(),
    }
}

/// The notice shown instead of the scores of a kind the recording is unfamiliar to
/// (`#familiarity-<kind>`), styled like a failed quality check.
fn unfamiliar_notice(l: Lang, f: &Familiarity) -> impl IntoView {
    let kind = tr(l, &format!("kind.{}.plain", f.recording.id()), &[]);
    let key = if f.research_only {
        "familiarity.synthetic"
    } else {
        "familiarity.unlike"
    };
    let message = tr(
        l,
        key,
        &[
            ("kind", &kind),
            (
                "distance",
                &crate::i18n::number(l, f64::from(f.distance), 2),
            ),
            ("limit", &crate::i18n::number(l, f64::from(f.threshold), 2)),
        ],
    );
    view! {
        <div class="quality bad familiarity" id=format!("familiarity-{}", f.recording.id())
            role="note">
            <h3>{tr(l, "familiarity.title", &[("kind", &tr(l, &format!("kind.{}", f.recording.id()), &[]).to_lowercase())])}</h3>
            <p>{message}</p>
        </div>
    }
}

/// The screening's tasks: unfamiliar notices, the scores of tasks trained on real recordings, and
/// the research tasks, listed under their own heading when `show_research` is on, else one line
/// saying how many are hidden.
#[component]
pub fn Tasks(
    /// What to list.
    listing: Listing,
    /// The research switch (kept by the result panel, so it holds across recordings).
    show_research: RwSignal<bool>,
    /// The page's language.
    lang: Lang,
) -> impl IntoView {
    let l = lang;
    let notices = listing
        .unfamiliar
        .iter()
        .map(|f| unfamiliar_notice(l, f))
        .collect_view();
    let shown: Vec<AnyView> = listing
        .shown()
        .map(|(spec, s)| score_item(l, spec, s).into_any())
        .collect();
    let has_shown = !shown.is_empty();
    let research = listing.research.clone();
    let count = research.len();
    let only = listing.only_research();
    let research_view = (count > 0).then(|| {
        let hidden = hidden_line(l, count, only);
        let list = move || {
            if show_research.get() {
                view! {
                    <h3 id="research-title">{tr(l, "research.heading", &[])}</h3>
                    <ul class="scores research" id="research-tasks">
                        {research.iter().map(|r| row_item(l, r)).collect_view()}
                    </ul>
                }
                .into_any()
            } else {
                view! { <p class="notice" id="research-hidden">{hidden.clone()}</p> }.into_any()
            }
        };
        view! {
            <p class="research-switch">
                <label>
                    <input type="checkbox" id="show-research" prop:checked=move || show_research.get()
                        on:change=move |ev| show_research.set(event_target_checked(&ev)) />
                    {format!(" {}", tr(l, "research.switch", &[("switch", &tr(l, "research.show", &[]))]))}
                </label>
            </p>
            {list}
        }
    });
    view! {
        {notices}
        {has_shown.then(|| view! { <ul class="scores" id="scores">{shown}</ul> })}
        {research_view}
    }
}
