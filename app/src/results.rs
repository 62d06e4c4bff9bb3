//! How a screening is shown: the recording-quality verdict first, then each task's score in plain
//! words with the model's measured AUROC, then the most similar clinical reports, and a JSON download.

use acula_core::bundle::{Manifest, TaskSpec};
use acula_core::quality::Verdict;
use acula_core::screen::{Screening, TaskScore};
use acula_core::RecordingKind;
use leptos::prelude::*;
use serde_json::json;

use crate::browser::{download, wav_bytes};
use crate::protocol::BackendChoice;
use crate::state::{Decoded, ModelState, Outcome};

/// One sentence on what a score means.
pub fn meaning(spec: &TaskSpec, score: &TaskScore) -> String {
    let pct = (score.score * 100.0).round();
    match &spec.positive {
        Some(pos) => {
            let other = spec
                .labels
                .iter()
                .find(|l| *l != pos)
                .cloned()
                .unwrap_or_else(|| "the other label".into());
            let lean = if score.score >= 0.5 { pos } else { &other };
            format!(
                "{pct:.0} % resemblance to recordings labelled “{pos}”: the model leans towards “{lean}”."
            )
        }
        None => format!("Most likely “{}” ({pct:.0} %).", score.label),
    }
}

/// What the model's measured accuracy says, in words.
pub fn accuracy(spec: &TaskSpec) -> String {
    let mut parts = Vec::new();
    let metrics = spec.metrics.clone().unwrap_or_default();
    if let Some(v) = metrics.val_auroc {
        parts.push(format!("validation AUROC {v:.2}"));
    }
    if let Some(t) = metrics.test_auroc {
        parts.push(format!("held-out test AUROC {t:.2}"));
    }
    let mut s = if parts.is_empty() {
        "No accuracy was measured for this task.".to_string()
    } else {
        format!(
            "Measured {} (0.5 is chance, 1.0 perfect).",
            parts.join(", ")
        )
    };
    if spec.synthetic {
        s.push_str(" Trained on synthetic recordings: a demonstration only.");
    }
    s
}

/// The result as the "download result" JSON: scores, reports, bundle, backend, time; no audio.
pub fn result_json(
    screening: &Screening,
    manifest: &Manifest,
    file: &str,
    recording: Option<RecordingKind>,
    backend: BackendChoice,
) -> String {
    let now = js_sys::Date::new_0().to_iso_string().as_string();
    let v = json!({
        "tool": "acula (web page)",
        "created": now,
        "file": file,
        "recording": recording,
        "bundle": { "name": manifest.name, "version": manifest.version },
        "backend": backend,
        "intended_use": manifest.intended_use,
        "quality": screening.quality,
        "chunks": screening.chunks,
        "scores": screening.scores,
        "reports": screening.reports,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The verdict as a headline.
fn verdict_title(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => "Recording quality: good",
        Verdict::NoSound => "No sound in the recording",
        Verdict::TooQuiet => "The recording is too quiet",
        Verdict::Clipped => "The recording is distorted (clipped)",
        Verdict::TooShort => "The recording is too short",
        Verdict::TooLong => "The recording is too long",
    }
}

/// The results of one screening.
#[component]
pub fn Results(
    screening: Screening,
    manifest: Manifest,
    ms: f64,
    recording: Option<RecordingKind>,
    on_download: Callback<()>,
) -> impl IntoView {
    let q = screening.quality.clone();
    let ok = q.is_ok();
    let title = verdict_title(q.verdict);
    let kind_note = match (&recording, ok && screening.scores.is_empty()) {
        (Some(r), true) => Some(format!(
            "This model has no screening task for {r} recordings; only similar reports are shown."
        )),
        _ => None,
    };
    let scores = screening
        .scores
        .iter()
        .filter_map(|s| {
            manifest
                .tasks
                .iter()
                .find(|t| t.id == s.task)
                .map(|t| (t.clone(), s.clone()))
        })
        .map(|(spec, s)| {
            let id = format!("score-{}", s.task);
            let value = format!("{:.3}", s.score);
            view! {
                <li class="score" id=id data-score=value.clone()>
                    <h4>{spec.name.clone()}</h4>
                    <p class="score-line">
                        <meter min="0" max="1" low="0.5" high="0.5001" optimum="0" value=value.clone()
                            aria-label=format!("{} score", spec.name)></meter>
                        <strong class="score-value">{format!("{:.0} %", s.score * 100.0)}</strong>
                    </p>
                    <p>{meaning(&spec, &s)}</p>
                    <p class="muted">{spec.description.clone()}</p>
                    <p class="muted">{accuracy(&spec)}</p>
                </li>
            }
        })
        .collect_view();
    let reports = screening
        .reports
        .iter()
        .map(|r| {
            let origin = format!(
                "similarity {:.2} · written for {} {}{}",
                r.similarity,
                r.dataset,
                r.record_id,
                if r.synthetic {
                    " (synthetic recording)"
                } else {
                    ""
                }
            );
            view! {
                <li class="report">
                    <p>{r.text.clone()}</p>
                    <p class="muted">{origin}</p>
                </li>
            }
        })
        .collect_view();
    let has_reports = !screening.reports.is_empty();
    view! {
        <section id="results" aria-labelledby="results-title">
            <h2 id="results-title">"Results"</h2>
            <div class="quality" class:bad=!ok id="quality" data-verdict=serde_json::to_value(q.verdict).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()>
                <h3>{title}</h3>
                <p>{q.message.clone()}</p>
                <p class="muted">{format!(
                    "{:.1} s · peak {:.0} dBFS · loud parts {:.0} dBFS · {:.1} % clipped",
                    q.seconds, q.peak_dbfs.max(-200.0), q.active_dbfs.max(-200.0), q.clipped_fraction * 100.0
                )}</p>
            </div>
            {kind_note.map(|n| view! { <p class="notice">{n}</p> })}
            {ok.then(|| view! {
                <h3>"Screening"</h3>
                <ul class="scores">{scores}</ul>
                {has_reports.then(|| view! {
                    <h3>"Most similar clinical reports"</h3>
                    <ol class="reports" id="reports">{reports}</ol>
                })}
            })}
            <p class="muted">{format!("Analysed in {ms:.0} ms on this device.")}</p>
            <button type="button" id="download" on:click=move |_| on_download.run(())>"Download result (JSON)"</button>
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
    let with_audio = RwSignal::new(false);
    let result_view = move || {
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
            let json = result_json(&s2, &m2, &name, rec, backend);
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
            view! { <Results screening=s manifest=manifest ms=ms recording=rec on_download=on_download /> },
        )
    };
    view! {
        {result_view}
        <Show when=move || outcome.with(|o| o.as_ref().is_some_and(|o| o.result.is_ok()))>
            <p>
                <label>
                    <input type="checkbox" id="download-audio" prop:checked=move || with_audio.get()
                        on:change=move |ev| with_audio.set(event_target_checked(&ev)) />
                    " Also download the recording (WAV); it is left out unless you ask"
                </label>
            </p>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn spec() -> TaskSpec {
        serde_json::from_value(json!({
            "id": "heart_murmur", "name": "Heart murmur", "description": "d", "recording": "heart",
            "labels": ["absent", "present"], "positive": "present", "synthetic": true,
            "metrics": {"val_auroc": 0.719, "test_auroc": 0.603}
        }))
        .unwrap()
    }

    fn score(p: f32) -> TaskScore {
        TaskScore {
            task: "heart_murmur".into(),
            score: p,
            label: if p >= 0.5 { "present" } else { "absent" }.into(),
            probabilities: BTreeMap::new(),
        }
    }

    #[test]
    fn meaning_names_the_side_the_model_leans_to() {
        assert!(meaning(&spec(), &score(0.8)).contains("80 %"));
        assert!(meaning(&spec(), &score(0.8)).ends_with("leans towards “present”."));
        assert!(meaning(&spec(), &score(0.2)).ends_with("leans towards “absent”."));
    }

    #[test]
    fn accuracy_quotes_the_manifest_and_flags_synthetic_training() {
        let a = accuracy(&spec());
        assert!(a.contains("validation AUROC 0.72"), "{a}");
        assert!(a.contains("held-out test AUROC 0.60"), "{a}");
        assert!(a.contains("synthetic"), "{a}");
    }
}
