//! How a screening is shown: the recording-quality verdict first, then, per recording kind, either
//! a notice that the recording is unlike the model's training recordings or each task's score in
//! plain words with the model's measured AUROC (research tasks, trained on synthetic recordings
//! only, behind a switch), then the most similar clinical reports, and a JSON download.

mod listing;
mod tasks;
mod words;

use acula_core::bundle::{Familiarity, Manifest};
use acula_core::quality::{Quality, Verdict};
use acula_core::screen::{ChunkSpan, Screening, SimilarReport, TaskScore};
use acula_core::RecordingKind;
use leptos::prelude::*;
use serde::Serialize;

use crate::browser::{download, wav_bytes};
use crate::i18n::{number, plural, tr, Lang};
use crate::protocol::BackendChoice;
use crate::state::{Decoded, ModelState, Outcome};
use crate::ui::recording::span;
use listing::Listing;
use tasks::Tasks;

/// The bundle, as the result names it.
#[derive(Serialize)]
struct BundleName<'a> {
    name: &'a str,
    version: &'a str,
}

/// The "download result" file, keys in alphabetical order. Serialised from the screening's own
/// types so that its f32 values keep their shortest form (`0.932`, as in `window.aculaResult`).
#[derive(Serialize)]
struct ResultFile<'a> {
    backend: BackendChoice,
    bundle: BundleName<'a>,
    chunks: &'a [ChunkSpan],
    created: Option<String>,
    familiarity: &'a [Familiarity],
    file: &'a str,
    intended_use: &'a str,
    quality: &'a Quality,
    recording: Option<RecordingKind>,
    reports: &'a [SimilarReport],
    scores: &'a [TaskScore],
    tool: &'static str,
}

/// The result as the "download result" JSON: scores (research tasks too, each flagged), the
/// familiarity verdicts, reports, bundle, backend, time (`created`, ISO 8601); no audio.
pub fn result_json(
    screening: &Screening,
    manifest: &Manifest,
    file: &str,
    recording: Option<RecordingKind>,
    backend: BackendChoice,
    created: Option<String>,
) -> String {
    let v = ResultFile {
        backend,
        bundle: BundleName {
            name: &manifest.name,
            version: &manifest.version,
        },
        chunks: &screening.chunks,
        created,
        familiarity: &screening.familiarity,
        file,
        intended_use: &manifest.intended_use,
        quality: &screening.quality,
        recording,
        reports: &screening.reports,
        scores: &screening.scores,
        tool: "acula (web page)",
    };
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// Today's date and time, as the browser's clock says, in `lang`'s conventions and the browser's
/// time zone.
fn now_words(lang: Lang) -> String {
    crate::ui::history::local_time(lang, js_sys::Date::now())
}

/// Opens the browser's print dialog (the print stylesheet keeps the results, the spectrogram and
/// the summary).
fn print_page() {
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}

/// "Screened on the 3 coughs found: 0.52–0.91 s, …" (`None` when no cough was found or the
/// recording was not screened as a cough).
pub fn cough_line(lang: Lang, segments: &[acula_core::screen::Segment]) -> Option<String> {
    let spans: Vec<String> = segments
        .iter()
        .filter(|s| s.kind == acula_core::screen::SegmentKind::Cough)
        .map(|s| span(lang, s.start, s.end))
        .collect();
    (!spans.is_empty()).then(|| {
        plural(
            lang,
            "coughs.screened",
            spans.len() as u64,
            &[("spans", &spans.join(", "))],
        )
    })
}

/// The verdict's catalogue key.
fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "ok",
        Verdict::NoSound => "no_sound",
        Verdict::TooQuiet => "too_quiet",
        Verdict::Clipped => "clipped",
        Verdict::TooShort => "too_short",
        Verdict::TooLong => "too_long",
        Verdict::NoCough => "no_cough",
    }
}

/// The verdict as a headline.
pub fn verdict_title(lang: Lang, v: Verdict) -> String {
    tr(lang, &format!("verdict.{}.title", verdict_key(v)), &[])
}

/// The verdict's sentence (what is wrong and what to do) in `lang`, from the quality check's
/// measurements and the bundle's limits.
pub fn verdict_message(
    lang: Lang,
    q: &Quality,
    limits: &acula_core::quality::QualityConfig,
) -> String {
    tr(
        lang,
        &format!("verdict.{}.message", verdict_key(q.verdict)),
        &[
            ("seconds", &number(lang, q.seconds, 1)),
            ("min", &number(lang, limits.min_seconds, 1)),
            ("max", &number(lang, limits.max_seconds, 0)),
            ("active", &number(lang, q.active_dbfs.max(-200.0), 0)),
            ("clipped", &number(lang, q.clipped_fraction * 100.0, 1)),
        ],
    )
}

/// The results of one screening.
#[component]
pub fn Results(
    screening: Screening,
    manifest: Manifest,
    ms: f64,
    recording: Option<RecordingKind>,
    show_research: RwSignal<bool>,
    on_download: Callback<()>,
    /// The page's language when the results were laid out.
    lang: Lang,
) -> impl IntoView {
    let l = lang;
    let q = screening.quality.clone();
    let ok = q.is_ok();
    let title = verdict_title(l, q.verdict);
    let message = verdict_message(l, &q, &manifest.quality);
    let listing = Listing::new(&screening, &manifest.tasks, recording);
    let kind_note = match (&recording, ok && listing.is_empty()) {
        (Some(r), true) => Some(tr(
            l,
            "results.no_task",
            &[("kind", &tr(l, &format!("kind.{}.plain", r.id()), &[]))],
        )),
        _ => None,
    };
    let reports = screening
        .reports
        .iter()
        .map(|r| {
            let origin = tr(
                l,
                if r.synthetic {
                    "report.origin.synthetic"
                } else {
                    "report.origin"
                },
                &[
                    ("similarity", &number(l, f64::from(r.similarity), 2)),
                    ("dataset", &r.dataset),
                    ("record", &r.record_id),
                ],
            );
            view! {
                <li class="report">
                    <p lang="en">{r.text.clone()}</p>
                    <p class="muted">{origin}</p>
                </li>
            }
        })
        .collect_view();
    let has_reports = !screening.reports.is_empty();
    let has_tasks = !listing.is_empty();
    let coughs = cough_line(l, &screening.segments);
    let built = manifest
        .created
        .get(..10)
        .map_or(String::new(), |d| tr(l, "print.built", &[("date", d)]));
    let kind_words = recording.map_or_else(
        || tr(l, "print.kind_none", &[]),
        |r| tr(l, &format!("kind.{}", r.id()), &[]),
    );
    let printed = tr(
        l,
        "print.line",
        &[
            ("when", &now_words(l)),
            ("name", &manifest.name),
            ("version", &manifest.version),
            ("built", &built),
            ("kind", &kind_words),
        ],
    );
    let contributions = screening
        .contributions
        .iter()
        .map(|c| {
            let parts: Vec<String> = c
                .scores
                .iter()
                .map(|(task, d)| {
                    let name = manifest
                        .tasks
                        .iter()
                        .find(|t| &t.id == task)
                        .map_or(task.as_str(), |t| t.name.as_str());
                    // A change under half a thousandth reads as none (not as "-0.000").
                    let d = if d.abs() < 5e-4 { 0.0 } else { *d };
                    let sign = if d > 0.0 {
                        "+"
                    } else if d < 0.0 {
                        "−"
                    } else {
                        "±"
                    };
                    format!("{name} {sign}{}", number(l, f64::from(d.abs()), 3))
                })
                .collect();
            let text = format!("{}: {}", span(l, c.start, c.end), parts.join(", "));
            view! { <li>{text}</li> }
        })
        .collect::<Vec<_>>();
    view! {
        <section id="results" aria-labelledby="results-title">
            <div id="print-summary" class="print-only">
                <p class="print-title">{tr(l, "print.title", &[])}</p>
                <p>{printed}</p>
                <p><strong lang="en">{manifest.intended_use.clone()}</strong></p>
            </div>
            <h2 id="results-title">{tr(l, "results.title", &[])}</h2>
            <div class="quality" class:bad=!ok id="quality" data-verdict=serde_json::to_value(q.verdict).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()>
                <h3>{title}</h3>
                <p>{message}</p>
                <p class="muted">{tr(l, "quality.facts", &[
                    ("seconds", &number(l, q.seconds, 1)),
                    ("peak", &number(l, q.peak_dbfs.max(-200.0), 0)),
                    ("active", &number(l, q.active_dbfs.max(-200.0), 0)),
                    ("clipped", &number(l, q.clipped_fraction * 100.0, 1)),
                ])}</p>
            </div>
            {kind_note.map(|n| view! { <p class="notice">{n}</p> })}
            {coughs.map(|c| view! { <p id="coughs" class="muted">{c}</p> })}
            {ok.then(|| view! {
                {has_tasks.then(|| view! {
                    <h3>{tr(l, "results.screening", &[])}</h3>
                    <Tasks listing=listing show_research=show_research lang=l />
                })}
                {(!contributions.is_empty()).then(|| view! {
                    <h3>{tr(l, "contributions.title", &[])}</h3>
                    <p class="muted">{tr(l, "contributions.explain", &[])}</p>
                    <ul id="contributions">{contributions}</ul>
                })}
                {has_reports.then(|| view! {
                    <h3>{tr(l, "results.reports", &[])}</h3>
                    <ol class="reports" id="reports">{reports}</ol>
                })}
            })}
            <p class="muted">{tr(l, "results.time", &[("ms", &number(l, ms, 0))])}</p>
            <p class="actions">
                <button type="button" id="download" on:click=move |_| on_download.run(())>{tr(l, "results.download", &[])}</button>
                " "
                <button type="button" id="print" on:click=move |_| print_page()>{tr(l, "results.print", &[])}</button>
            </p>
        </section>
    }
}

/// The latest screening's results, once it succeeded, and the "also download the recording" box
/// (`#download-audio`) under them.
#[component]
pub fn ResultPanel(
    /// The answer to the latest screening.
    #[prop(into)]
    outcome: Signal<Option<Outcome>>,
    /// The model's state (its manifest and backend go into the results).
    #[prop(into)]
    model: Signal<ModelState>,
    /// The chosen recording kind.
    #[prop(into)]
    kind: Signal<Option<RecordingKind>>,
    /// The decoded recording.
    #[prop(into)]
    recording: Signal<Option<Decoded>>,
) -> impl IntoView {
    let lang = crate::ui::lang();
    let with_audio = RwSignal::new(false);
    // Research tasks are hidden until the user asks; the choice holds for the next recordings.
    let show_research = RwSignal::new(false);
    let result_view = move || {
        let l = lang.get();
        let o = outcome.get()?;
        let (s, ms) = o.result.ok()?;
        let (manifest, backend) =
            model.with(|m| m.ready().map(|l| (l.manifest.clone(), l.backend)))?;
        let rec = kind.get();
        let name = recording
            .with(|d| d.as_ref().map(|d| d.analysis.name.clone()))
            .unwrap_or_default();
        let (s2, m2) = (s.clone(), manifest.clone());
        let on_download = Callback::new(move |_| {
            let now = js_sys::Date::new_0().to_iso_string().as_string();
            let json = result_json(&s2, &m2, &name, rec, backend, now);
            download("acula-result.json", json.as_bytes(), "application/json");
            if with_audio.get_untracked() {
                if let Some(d) = recording.get_untracked() {
                    download(
                        "acula-recording.wav",
                        &wav_bytes(&d.analysis.mono, d.analysis.decoded_rate),
                        "audio/wav",
                    );
                }
            }
        });
        Some(
            view! { <Results screening=s manifest=manifest ms=ms recording=rec show_research=show_research on_download=on_download lang=l /> },
        )
    };
    view! {
        {result_view}
        <Show when=move || outcome.with(|o| o.as_ref().is_some_and(|o| o.result.is_ok()))>
            <p>
                <label>
                    <input type="checkbox" id="download-audio" prop:checked=move || with_audio.get()
                        on:change=move |ev| with_audio.set(event_target_checked(&ev)) />
                    " "{crate::ui::t("results.download_audio")}
                </label>
            </p>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_result_json_carries_familiarity_and_the_score_flags() {
        let manifest: Manifest =
            serde_json::from_str(include_str!("../../www/models/default/manifest.json")).unwrap();
        let screening: Screening = serde_json::from_value(json!({
            "quality": {"verdict": "ok", "message": "fine", "seconds": 1.0, "peak_dbfs": -6.0,
                        "active_dbfs": -20.0, "clipped_fraction": 0.0},
            "chunks": [{"start_s": 0.0, "end_s": 1.0}],
            "scores": [{"task": "covid19_cough", "score": 0.1, "label": "negative",
                        "probabilities": {"negative": 0.75, "positive": 0.25},
                        "calibrated": true, "research": false}],
            "reports": [],
            "familiarity": [{"recording": "cough", "distance": 1.3, "threshold": 2.0, "familiar": true}]
        }))
        .unwrap();
        let text = result_json(
            &screening,
            &manifest,
            "a.wav",
            Some(RecordingKind::Cough),
            BackendChoice::Cpu,
            Some("2026-11-29T00:00:00.000Z".into()),
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["recording"], "cough");
        assert_eq!(v["created"], "2026-11-29T00:00:00.000Z");
        assert_eq!(v["familiarity"][0]["recording"], "cough");
        assert_eq!(v["familiarity"][0]["familiar"], true);
        assert_eq!(v["scores"][0]["calibrated"], true);
        assert_eq!(v["scores"][0]["research"], false);
        // f32 values keep their shortest form.
        assert!(text.contains("\"score\": 0.1,"), "{text}");
        assert!(text.contains("\"distance\": 1.3,"), "{text}");
        assert_eq!(v["bundle"]["name"], manifest.name.as_str());
    }
}
