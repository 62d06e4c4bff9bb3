//! The decoded recording: its spectrogram with the analysed chunks, and the facts about it.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::analysis::Analysis;
use crate::state::{Decoded, Outcome};

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
    let silent =
        move || recording.with(|d| d.as_ref().is_some_and(|d| d.analysis.features.is_none()));
    view! {
        <figure class="spectrogram" class:hidden=move || recording.with(|a| a.is_none())
            class:silent=silent>
            <canvas id="spectrogram" node_ref=canvas aria-label="Log-mel spectrogram of the recording"></canvas>
            <figcaption>
                {move || silent().then_some("There is nothing to draw: the recording has no sound in it. ")}
                "Log-mel spectrogram: time runs left to right, 64 mel bands from 50 Hz (bottom) to 8 kHz (top)."
                {move || outcome.get().and_then(|o| o.result.ok()).and_then(|(s, _)| {
                    let coughs = crate::results::cough_line(&s.segments)
                        .map(|c| format!(" The yellow boxes are the coughs found. {c}"));
                    let spans: Vec<String> = s.chunks.iter().map(|c| format!("{:.2}–{:.2} s", c.start_s, c.end_s)).collect();
                    let bars = (!spans.is_empty())
                        .then(|| format!(" The bars on top mark what the model analysed: {}.", spans.join(", ")));
                    match (coughs, bars) {
                        (None, None) => None,
                        (c, b) => Some(format!("{}{}", b.unwrap_or_default(), c.unwrap_or_default())),
                    }
                })}
            </figcaption>
        </figure>
    }
}

/// The facts about a decoded recording.
#[component]
pub fn Facts(analysis: Arc<Analysis>) -> impl IntoView {
    let a = analysis;
    let original = match &a.info {
        Some(i) => {
            let rate = i
                .sample_rate
                .map_or("unknown rate".to_string(), |r| format!("{r} Hz"));
            let ch = i.channels.map_or(String::new(), |c| {
                format!(", {c} channel{}", if c == 1 { "" } else { "s" })
            });
            let codec = i.codec.clone().map_or(String::new(), |c| format!(" ({c})"));
            format!("{rate}{ch}{codec}")
        }
        None => format!(
            "not readable from the header; decoded by the browser at {} Hz",
            a.decoded_rate
        ),
    };
    view! {
        <dl class="facts">
            <dt>"File"</dt><dd id="fact-name">{a.name.clone()}" · "{format!("{:.1} kB", a.bytes as f64 / 1000.0)}</dd>
            <dt>"Duration"</dt><dd id="fact-duration">{format!("{:.2} s", a.duration_s)}</dd>
            <dt>"Sample rate"</dt><dd id="fact-rate">{original}</dd>
            <dt>"Analysed at"</dt><dd>"16,000 Hz, mono"</dd>
            <dt>"Frames"</dt><dd id="fact-frames">{a.features.as_ref().map_or_else(|| "none (no sound)".to_string(), |f| f.frames.to_string())}</dd>
            <dt>"Front end time"</dt><dd>{format!("{:.1} ms", a.front_end_ms)}</dd>
        </dl>
    }
}
