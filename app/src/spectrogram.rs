//! Drawing a (frames, n_mels) matrix on a canvas: one pixel per frame and band, low bands at the
//! bottom, values in [0, 1] through a perceptually ordered colour map (dark blue → yellow).

use acula_core::Features;
use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// Anchor colours of the map (a viridis-like ramp), evenly spaced over [0, 1].
const ANCHORS: [[f32; 3]; 6] = [
    [68.0, 1.0, 84.0],
    [65.0, 68.0, 135.0],
    [42.0, 120.0, 142.0],
    [34.0, 168.0, 132.0],
    [122.0, 209.0, 81.0],
    [253.0, 231.0, 37.0],
];

/// RGB of `v` ∈ [0, 1] (values outside are clamped; NaN is drawn as 0).
pub fn colour(v: f32) -> [u8; 3] {
    let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    let x = v * (ANCHORS.len() - 1) as f32;
    let i = (x.floor() as usize).min(ANCHORS.len() - 2);
    let t = x - i as f32;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    [0, 1, 2].map(|k| (a[k] + (b[k] - a[k]) * t).round() as u8)
}

/// Draws `f` on `canvas`, resizing the canvas to frames × n_mels pixels.
pub fn draw(canvas: &HtmlCanvasElement, f: &Features) -> Result<(), JsValue> {
    let (w, h) = (f.frames as u32, f.n_mels as u32);
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d canvas context"))?
        .dyn_into::<CanvasRenderingContext2d>()
        .map_err(|_| JsValue::from_str("not a 2d canvas context"))?;
    let mut rgba = vec![255u8; (w * h * 4) as usize];
    for t in 0..f.frames {
        for (m, &v) in f.frame(t).iter().enumerate() {
            let y = f.n_mels - 1 - m;
            let o = (y * f.frames + t) * 4;
            rgba[o..o + 3].copy_from_slice(&colour(v));
        }
    }
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), w, h)?;
    ctx.put_image_data(&image, 0.0, 0.0)
}

/// The x range in pixels (frames) of a span in seconds, for a drawing of `frames` frames.
pub fn span_pixels(start_s: f64, end_s: f64, frames: usize) -> (f64, f64) {
    let cfg = acula_core::FrontEndConfig::default();
    let fps = f64::from(cfg.sample_rate) / cfg.hop_length as f64;
    let clamp = |x: f64| x.clamp(0.0, frames as f64);
    (clamp(start_s * fps), clamp(end_s * fps))
}

/// The canvas's 2-D drawing context, if it has one.
fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
}

/// Marks the analysed chunks on a drawn spectrogram: a bar along the top edge per chunk
/// (alternating colours, so neighbours stay apart) and a line at each chunk's start.
pub fn mark_chunks(
    canvas: &HtmlCanvasElement,
    chunks: &[acula_core::screen::ChunkSpan],
    frames: usize,
) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let h = f64::from(canvas.height());
    for (i, c) in chunks.iter().enumerate() {
        let (x0, x1) = span_pixels(c.start_s, c.end_s, frames);
        ctx.set_fill_style_str(if i % 2 == 0 { "#ffffff" } else { "#ff7b72" });
        ctx.fill_rect(x0, 0.0, (x1 - x0).max(1.0), 3.0);
        ctx.set_fill_style_str("rgba(255,255,255,0.6)");
        ctx.fill_rect(x0, 0.0, 1.0, h);
    }
}

/// Draws a yellow box around each detected cough on a drawn spectrogram (numbered when the
/// recording is long enough for the numbers to stay legible).
pub fn mark_coughs(
    canvas: &HtmlCanvasElement,
    segments: &[acula_core::screen::Segment],
    frames: usize,
) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let h = f64::from(canvas.height());
    // The canvas is one pixel per frame, stretched to the page's width: thin lines for short
    // recordings, and numbers only where the stretch leaves them legible (the caption lists them).
    ctx.set_line_width((frames as f64 / 400.0).clamp(0.25, 2.0));
    let numbers = frames >= 300;
    ctx.set_font("bold 12px sans-serif");
    let coughs = segments
        .iter()
        .filter(|s| s.kind == acula_core::screen::SegmentKind::Cough);
    for (i, s) in coughs.enumerate() {
        let (x0, x1) = span_pixels(s.start, s.end, frames);
        ctx.set_stroke_style_str("#ffd33d");
        ctx.stroke_rect(x0 + 0.5, 5.0, (x1 - x0 - 1.0).max(0.5), (h - 6.0).max(1.0));
        if numbers {
            ctx.set_fill_style_str("#ffd33d");
            let _ = ctx.fill_text(&(i + 1).to_string(), x0 + 3.0, 18.0);
        }
    }
}

/// Draws what drove the first task's score along the bottom edge: a band per part, red where the
/// part raised the score and blue where it lowered it, more opaque the larger the change.
pub fn mark_contributions(
    canvas: &HtmlCanvasElement,
    contributions: &[acula_core::screen::Contribution],
    frames: usize,
) {
    let Some(task) = contributions
        .iter()
        .find_map(|c| c.scores.keys().next().cloned())
    else {
        return;
    };
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let h = f64::from(canvas.height());
    let largest = contributions
        .iter()
        .filter_map(|c| c.scores.get(&task))
        .fold(0.0f32, |m, d| m.max(d.abs()))
        .max(1e-6);
    for c in contributions {
        let Some(d) = c.scores.get(&task) else {
            continue;
        };
        let (x0, x1) = span_pixels(c.start, c.end, frames);
        let alpha = 0.25 + 0.75 * f64::from(d.abs() / largest);
        let colour = if *d >= 0.0 {
            format!("rgba(255,80,80,{alpha:.2})")
        } else {
            format!("rgba(80,140,255,{alpha:.2})")
        };
        ctx.set_fill_style_str(&colour);
        ctx.fill_rect(x0, h - 6.0, (x1 - x0).max(1.0), 6.0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spans_map_to_frames_and_clamp() {
        // 16 kHz, hop 512: 31.25 frames per second.
        assert_eq!(span_pixels(0.0, 2.0, 1000), (0.0, 62.5));
        assert_eq!(span_pixels(-1.0, 100.0, 80), (0.0, 80.0));
    }

    use super::*;

    #[test]
    fn colour_map_ends_and_clamps() {
        assert_eq!(colour(0.0), [68, 1, 84]);
        assert_eq!(colour(1.0), [253, 231, 37]);
        assert_eq!(colour(-3.0), colour(0.0));
        assert_eq!(colour(f32::NAN), colour(0.0));
        // halfway between anchors 2 and 3 (v = 0.5): mean of (42,120,142) and (34,168,132)
        assert_eq!(colour(0.5), [38, 144, 137]);
    }
}
