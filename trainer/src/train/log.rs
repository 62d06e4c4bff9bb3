//! The training log: one JSON line per optimiser step (appended and flushed at once, so a kill loses
//! nothing written), and an SVG plot of the loss curves written at the end.

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One optimiser step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    pub step: usize,
    /// Loss per component (`mae`, `align`, `total`…), averaged over the accumulated micro-batches.
    pub losses: std::collections::BTreeMap<String, f64>,
    pub lr: f64,
    /// Global gradient norm before clipping.
    #[serde(default)]
    pub grad_norm: f64,
    pub examples_per_s: f64,
}

/// Appends to `log.jsonl`.
pub struct Log {
    file: std::fs::File,
}

impl Log {
    /// Opens (creating) the log; lines for steps at or after `from` are dropped first, so a resumed
    /// run does not repeat steps it redoes.
    pub fn open(path: &Path, from: usize) -> std::io::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let kept: String = text
                .lines()
                .filter(|l| serde_json::from_str::<StepLog>(l).is_ok_and(|s| s.step < from))
                .map(|l| format!("{l}\n"))
                .collect();
            crate::output::write_atomic(path, kept.as_bytes()).map_err(std::io::Error::other)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self { file })
    }

    pub fn write(&mut self, entry: &StepLog) -> std::io::Result<()> {
        let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        writeln!(self.file, "{line}")?;
        self.file.flush()
    }
}

/// Reads a log (a torn last line is ignored).
pub fn read(path: &Path) -> Vec<StepLog> {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// An SVG line chart of every loss component against the step.
pub fn plot_svg(entries: &[StepLog], title: &str) -> String {
    let (w, h, m) = (720.0, 400.0, 50.0);
    let names: Vec<String> = entries
        .first()
        .map(|e| e.losses.keys().cloned().collect())
        .unwrap_or_default();
    let max_step = entries.iter().map(|e| e.step).max().unwrap_or(1).max(1) as f64;
    let values = entries.iter().flat_map(|e| e.losses.values().copied());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let x = |s: usize| m + (w - 2.0 * m) * s as f64 / max_step;
    let y = |v: f64| h - m - (h - 2.0 * m) * (v - lo) / (hi - lo);
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{m}\" y=\"24\" font-size=\"15\">{title}</text>\n\
         <line x1=\"{m}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n\
         <line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{}\" stroke=\"black\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">step {}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{hi:.4}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{lo:.4}</text>\n",
        h - m, w - m, h - m, h - m, w - m, h - m + 30.0, max_step, m - 4.0, m + 4.0, m - 4.0, h - m,
    );
    for (i, name) in names.iter().enumerate() {
        let pts: Vec<String> = entries
            .iter()
            .filter_map(|e| {
                e.losses
                    .get(name)
                    .map(|v| format!("{:.1},{:.1}", x(e.step), y(*v)))
            })
            .collect();
        let c = colours[i % colours.len()];
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>\n\
             <text x=\"{}\" y=\"{}\" fill=\"{c}\">{name}</text>\n",
            pts.join(" "),
            w - m - 80.0,
            m + 16.0 * (i as f64 + 1.0)
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
