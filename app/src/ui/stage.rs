//! Stage mode (conference mode): the live scores while recording (`#live-results`, in large type,
//! updated every two seconds on the last six) and the page's own address as a QR code (`#qr`, made
//! on this device by the `qrcode` crate and drawn on a canvas), so visitors can open it on their
//! phones.

use acula_core::bundle::Manifest;
use leptos::html::Canvas;
use leptos::prelude::*;
use qrcode::{Color, EcLevel, QrCode};
use wasm_bindgen::JsCast;
use web_sys::CanvasRenderingContext2d;

use super::lang;
use crate::i18n::{number, plural, tr, Lang};
use crate::live::{Live, WINDOW_S};
use crate::recorder::ROLLING_EVERY_S;
use crate::results::verdict_title;
use crate::state::ModelState;

/// Modules of white around the code (the standard's quiet zone).
const QUIET: usize = 4;
/// Canvas pixels per module.
const SCALE: usize = 6;

/// Draws `text` as a QR code on `canvas`; the error says why it could not.
pub fn draw_qr(canvas: &web_sys::HtmlCanvasElement, text: &str) -> Result<usize, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| e.to_string())?;
    let n = code.width();
    let side = (n + 2 * QUIET) * SCALE;
    canvas.set_width(side as u32);
    canvas.set_height(side as u32);
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or("no 2D canvas")?;
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, side as f64, side as f64);
    ctx.set_fill_style_str("#000");
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % n + QUIET, i / n + QUIET);
            ctx.fill_rect(
                (x * SCALE) as f64,
                (y * SCALE) as f64,
                SCALE as f64,
                SCALE as f64,
            );
        }
    }
    Ok(n)
}

/// Whether `address` names this computer only (`localhost`, `127.x.x.x`, `[::1]`): a phone scanning
/// it would open its own loopback, not this page.
pub fn is_loopback(address: &str) -> bool {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or_default()
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host.starts_with("127.")
        || host == "0.0.0.0"
}

/// The page's address as a QR code, with the address in words.
#[component]
pub fn StageQr(
    /// The address.
    address: String,
) -> impl IntoView {
    let lang = lang();
    let canvas = NodeRef::<Canvas>::new();
    let problem = RwSignal::new(None::<String>);
    let text = address.clone();
    let (a1, a2) = (address.clone(), address.clone());
    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            if let Err(e) = draw_qr(&c, &text) {
                problem.set(Some(e));
            }
        }
    });
    view! {
        <div class="stage-qr" id="stage-qr">
            <canvas id="qr" node_ref=canvas role="img" aria-label=move || tr(lang.get(), "stage.qr.aria", &[("address", &a1)])></canvas>
            <p>
                {move || tr(lang.get(), "stage.qr.open", &[])}" "<strong id="qr-address">{a2}</strong>
                {move || tr(lang.get(), "stage.qr.phone", &[])}
                {move || problem.get().map(|p| view! { <span class="error">" "{tr(lang.get(), "stage.qr.failed", &[("why", &p)])}</span> })}
            </p>
            {is_loopback(&address).then(|| view! {
                <p class="notice" id="qr-local">{move || tr(lang.get(), "stage.qr.local", &[])}</p>
            })}
        </div>
    }
}

/// The scores of the last window, in large type.
fn update_view(l: Lang, live: &Live, manifest: Option<&Manifest>) -> AnyView {
    let Some(u) = &live.latest else {
        let words = if live.needs_kind {
            tr(l, "stage.need_kind", &[])
        } else {
            plural(l, "stage.first", ROLLING_EVERY_S as u64, &[])
        };
        return view! { <p class="live-score">{words}</p> }.into_any();
    };
    let lines: Vec<String> = match &u.result {
        Err(e) => vec![tr(l, "stage.failed", &[("why", e)])],
        Ok(s) if !s.quality.is_ok() => vec![verdict_title(l, s.quality.verdict)],
        Ok(s) => {
            let shown: Vec<_> = s.scores.iter().filter(|t| !t.research).collect();
            let shown = if shown.is_empty() {
                s.scores.iter().collect()
            } else {
                shown
            };
            if shown.is_empty() {
                vec![tr(l, "stage.no_task", &[])]
            } else {
                shown
                    .iter()
                    .map(|t| {
                        let name = manifest
                            .and_then(|m| m.tasks.iter().find(|x| x.id == t.task))
                            .map_or(t.task.as_str(), |x| x.name.as_str());
                        format!("{name}: {}", number(l, f64::from(t.score), 2))
                    })
                    .collect()
            }
        }
    };
    let lag = live.median_lag_ms().map_or(String::new(), |m| {
        tr(l, "stage.median", &[("seconds", &number(l, m / 1000.0, 2))])
    });
    let skipped = match live.skipped {
        0 => String::new(),
        n => plural(l, "stage.skipped", n as u64, &[]),
    };
    let when = tr(
        l,
        "stage.when",
        &[
            ("window", &number(l, WINDOW_S, 0)),
            ("at", &number(l, u.at_s, 1)),
            ("lag", &number(l, u.lag_ms / 1000.0, 2)),
            ("median", &lag),
            ("skipped", &skipped),
        ],
    );
    view! {
        {lines.into_iter().map(|x| view! { <p class="live-score">{x}</p> }).collect_view()}
        <p class="muted" id="live-when">{when}</p>
    }
    .into_any()
}

/// `#live-results`: while recording in stage mode (and after, until the next recording), the latest
/// live scores.
#[component]
pub fn LiveResults(
    /// The live screening.
    #[prop(into)]
    live: Signal<Live>,
    /// Whether a recording is running.
    #[prop(into)]
    active: Signal<bool>,
    /// The model (task names).
    #[prop(into)]
    model: Signal<ModelState>,
) -> impl IntoView {
    let lang = lang();
    let shown = move || active.get() || live.with(|l| l.latest.is_some());
    view! {
        <Show when=shown>
            <section id="live-results" class="live-results" aria-live="polite" aria-labelledby="live-title">
                <h2 id="live-title">{move || plural(lang.get(), "stage.title", WINDOW_S as u64, &[])}</h2>
                {move || live.with(|x| model.with(|m| update_view(lang.get(), x, m.ready().map(|r| &r.manifest))))}
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_addresses_are_recognised() {
        for a in [
            "http://127.0.0.1:8080/",
            "http://localhost:8080/acula/",
            "http://[::1]:8080/",
            "http://LOCALHOST/",
            "http://app.localhost/",
        ] {
            assert!(is_loopback(a), "{a}");
        }
        for a in [
            "http://192.168.1.20:8080/",
            "https://example.org/acula/",
            "http://[fe80::1]/",
            "https://127-0-0-1.example.org/",
        ] {
            assert!(!is_loopback(a), "{a}");
        }
    }
}
