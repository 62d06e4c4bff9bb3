//! The decoded recording: its spectrogram with the analysed chunks, and the facts about it.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;

use super::{lang, t};
use crate::analysis::Analysis;
use crate::i18n::{number, plural, tr, Lang};
use crate::state::{human_bytes_in, Decoded, Outcome};

/// "0.52–0.91 s" in `lang`'s digits.
pub fn span(lang: Lang, start: f64, end: f64) -> String {
    tr(
        lang,
        "unit.span",
        &[
            ("start", &number(lang, start, 2)),
            ("end", &number(lang, end, 2)),
        ],
    )
}

/// The spectrogram canvas (`#spectrogram`, drawn by the page) and a caption naming the analysed
/// chunks; hidden while there is no decoded recording.
#[component]
pub fn Spectrogram(
    /// The canvas the page draws on.
    canvas: NodeRef<Canvas>,
    /// The decoded recording.
    #[prop(into)]
    recording: Signal<Option<Decoded>>,
    /// The answer to the latest screening.
    #[prop(into)]
    outcome: Signal<Option<Outcome>>,
) -> impl IntoView {
    let lang = lang();
    let silent =
        move || recording.with(|d| d.as_ref().is_some_and(|d| d.analysis.features.is_none()));
    view! {
        <figure class="spectrogram" class:hidden=move || recording.with(|a| a.is_none())
            class:silent=silent>
            <canvas id="spectrogram" node_ref=canvas aria-label=t("spectrogram.aria")></canvas>
            <figcaption>
                {move || silent().then(|| format!("{} ", tr(lang.get(), "spectrogram.silent", &[])))}
                {t("spectrogram.caption")}
                {move || outcome.get().and_then(|o| o.result.ok()).and_then(|(s, _)| {
                    let l = lang.get();
                    let coughs = crate::results::cough_line(l, &s.segments)
                        .map(|c| format!(" {} {c}", tr(l, "spectrogram.coughs", &[])));
                    let spans: Vec<String> = s.chunks.iter().map(|c| span(l, c.start_s, c.end_s)).collect();
                    let bars = (!spans.is_empty())
                        .then(|| format!(" {}", tr(l, "spectrogram.chunks", &[("spans", &spans.join(", "))])));
                    match (coughs, bars) {
                        (None, None) => None,
                        (c, b) => Some(format!("{}{}", b.unwrap_or_default(), c.unwrap_or_default())),
                    }
                })}
            </figcaption>
        </figure>
    }
}

/// The original's rate, channels and codec in words.
fn original(lang: Lang, a: &Analysis) -> String {
    match &a.info {
        Some(i) => {
            let rate = i.sample_rate.map_or_else(
                || tr(lang, "facts.rate_unknown", &[]),
                |r| tr(lang, "unit.hz", &[("n", &r.to_string())]),
            );
            let ch = i.channels.map_or(String::new(), |c| {
                format!(", {}", plural(lang, "facts.channels", c as u64, &[]))
            });
            let codec = i.codec.clone().map_or(String::new(), |c| format!(" ({c})"));
            format!("{rate}{ch}{codec}")
        }
        None => tr(
            lang,
            "facts.rate_browser",
            &[("rate", &a.decoded_rate.to_string())],
        ),
    }
}

/// The facts about a decoded recording.
#[component]
pub fn Facts(analysis: Arc<Analysis>) -> impl IntoView {
    let lang = lang();
    let a = analysis;
    let (a1, a2, a3) = (a.clone(), a.clone(), a.clone());
    view! {
        <dl class="facts">
            <dt>{t("facts.file")}</dt><dd id="fact-name">{a.name.clone()}" · "{move || human_bytes_in(lang.get(), a1.bytes as u64)}</dd>
            <dt>{t("facts.duration")}</dt><dd id="fact-duration">{move || tr(lang.get(), "unit.seconds", &[("n", &number(lang.get(), a2.duration_s, 2))])}</dd>
            <dt>{t("facts.rate")}</dt><dd id="fact-rate">{move || original(lang.get(), &a3)}</dd>
            <dt>{t("facts.analysed_at")}</dt><dd>{t("facts.analysed_at_value")}</dd>
            <dt>{t("facts.frames")}</dt><dd id="fact-frames">{
                let frames = a.features.as_ref().map(|f| f.frames);
                move || frames.map_or_else(|| tr(lang.get(), "facts.frames_none", &[]), |f| f.to_string())
            }</dd>
            <dt>{t("facts.front_end")}</dt><dd>{
                let ms = a.front_end_ms;
                move || tr(lang.get(), "unit.ms", &[("n", &number(lang.get(), ms, 1))])
            }</dd>
        </dl>
    }
}
