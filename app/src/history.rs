//! The private history: each screening kept on this device (opt-in), listed, drawn as a trend per
//! task with the model changes marked, exported as JSON and deleted one by one or all at once.
//!
//! This file is the history's domain in plain types (no browser API; unit-tested natively);
//! `history/store.rs` keeps the entries in IndexedDB and `ui/history.rs` shows them.

pub mod store;

use std::collections::BTreeMap;

use acula_core::bundle::Manifest;
use acula_core::quality::Verdict;
use acula_core::screen::{Screening, SegmentKind};
use acula_core::RecordingKind;
use serde::{Deserialize, Serialize};

use crate::i18n::{number, Lang};

/// The version of an entry's JSON (a newer page reads older entries; an entry of a newer version is
/// counted as unreadable, not guessed at).
pub const ENTRY_FORMAT: u32 = 1;

/// The model an entry was screened with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRef {
    /// The bundle's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// When it was built (ISO 8601, as the manifest says).
    #[serde(default)]
    pub created: String,
}

impl BundleRef {
    /// "default 0.9.0".
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// One task's score in an entry, with the task's name as the model called it then (an older model's
/// task may be gone from today's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryScore {
    /// The task id.
    pub task: String,
    /// Its name for people.
    pub name: String,
    /// The score (the positive label's probability).
    pub score: f32,
    /// The most likely label.
    pub label: String,
    /// Whether the score is a calibrated probability.
    pub calibrated: bool,
    /// Whether the task was trained on synthetic recordings only.
    pub research: bool,
}

/// One kept screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The entry's format ([`ENTRY_FORMAT`]).
    pub format: u32,
    /// Its key: milliseconds since 1970 when it was kept (unique on this device).
    pub id: f64,
    /// When it was screened (ISO 8601, UTC).
    pub created: String,
    /// The file's name (or "recording.webm").
    pub file: String,
    /// The recording kind it was screened as.
    pub recording: Option<RecordingKind>,
    /// The model.
    pub bundle: BundleRef,
    /// The quality verdict.
    pub verdict: Verdict,
    /// The verdict's sentence.
    pub message: String,
    /// The recording's length in seconds.
    pub seconds: f64,
    /// How many coughs were found (cough recordings).
    pub coughs: usize,
    /// The scores (none when the quality check failed).
    pub scores: Vec<EntryScore>,
    /// The most similar reports' texts, best first (at most three).
    pub reports: Vec<String>,
    /// Whether the recording itself is kept beside the entry.
    pub audio: bool,
}

impl Entry {
    /// The entry for a screening of `file` with `manifest`'s model, kept at `id` (ms since 1970),
    /// `created` (ISO 8601).
    pub fn new(
        id: f64,
        created: String,
        file: &str,
        recording: Option<RecordingKind>,
        screening: &Screening,
        manifest: &Manifest,
        audio: bool,
    ) -> Self {
        let scores = screening
            .scores
            .iter()
            .map(|s| EntryScore {
                task: s.task.clone(),
                name: manifest
                    .tasks
                    .iter()
                    .find(|t| t.id == s.task)
                    .map_or_else(|| s.task.clone(), |t| t.name.clone()),
                score: s.score,
                label: s.label.clone(),
                calibrated: s.calibrated,
                research: s.research,
            })
            .collect();
        Self {
            format: ENTRY_FORMAT,
            id,
            created,
            file: file.to_string(),
            recording,
            bundle: BundleRef {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                created: manifest.created.clone(),
            },
            verdict: screening.quality.verdict,
            message: screening.quality.message.clone(),
            seconds: screening.quality.seconds,
            coughs: screening
                .segments
                .iter()
                .filter(|s| s.kind == SegmentKind::Cough)
                .count(),
            scores,
            reports: screening
                .reports
                .iter()
                .take(3)
                .map(|r| r.text.clone())
                .collect(),
            audio,
        }
    }

    /// Reads an entry kept by this page or an older one; `None` for anything else (a newer format,
    /// a damaged record).
    pub fn parse(json: &str) -> Option<Self> {
        let e: Self = serde_json::from_str(json).ok()?;
        (e.format <= ENTRY_FORMAT && e.id.is_finite()).then_some(e)
    }

    /// The entry as it is kept.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Its scores in one line in `lang`: "COVID-19 0.31, Asthma 0.12" (or, without scores, the
    /// verdict's headline in `lang`).
    pub fn summary(&self, lang: Lang) -> String {
        if self.scores.is_empty() {
            return crate::results::verdict_title(lang, self.verdict);
        }
        self.scores
            .iter()
            .map(|s| format!("{} {}", s.name, number(lang, f64::from(s.score), 2)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The history as a JSON file: what the page kept, oldest first, without the recordings.
pub fn export_json(entries: &[Entry], exported: &str) -> String {
    #[derive(Serialize)]
    struct Export<'a> {
        entries: &'a [Entry],
        exported: &'a str,
        note: &'static str,
        tool: &'static str,
    }
    serde_json::to_string_pretty(&Export {
        entries,
        exported,
        note: "Kept on this device only. The recordings themselves are not in this file.",
        tool: "acula (web page)",
    })
    .unwrap_or_default()
}

/// One point of a trend: when, the score, the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Milliseconds since 1970.
    pub t: f64,
    /// The score.
    pub score: f32,
    /// Index into [`Trend::bundles`].
    pub bundle: usize,
}

/// One task's scores over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The task id.
    pub task: String,
    /// Its name (the newest entry's).
    pub name: String,
    /// Whether it is a research task.
    pub research: bool,
    /// Its points, oldest first.
    pub points: Vec<Point>,
    /// The models the points were screened with, in order of first use.
    pub bundles: Vec<BundleRef>,
}

impl Trend {
    /// The indices `i` where point `i` was screened with another model than point `i - 1`.
    pub fn changes(&self) -> Vec<usize> {
        (1..self.points.len())
            .filter(|&i| self.points[i].bundle != self.points[i - 1].bundle)
            .collect()
    }
}

/// Each task's trend, in the order the tasks first appear, from entries in any order.
pub fn trends(entries: &[Entry]) -> Vec<Trend> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.id.total_cmp(&b.id));
    let mut order: Vec<String> = Vec::new();
    let mut by_task: BTreeMap<String, Trend> = BTreeMap::new();
    for e in sorted {
        for s in &e.scores {
            let trend = by_task.entry(s.task.clone()).or_insert_with(|| {
                order.push(s.task.clone());
                Trend {
                    task: s.task.clone(),
                    name: s.name.clone(),
                    research: s.research,
                    points: Vec::new(),
                    bundles: Vec::new(),
                }
            });
            trend.name = s.name.clone();
            trend.research = s.research;
            let bundle = match trend.bundles.iter().position(|b| *b == e.bundle) {
                Some(i) => i,
                None => {
                    trend.bundles.push(e.bundle.clone());
                    trend.bundles.len() - 1
                }
            };
            trend.points.push(Point {
                t: e.id,
                score: s.score,
                bundle,
            });
        }
    }
    order
        .into_iter()
        .filter_map(|t| by_task.remove(&t))
        .collect()
}

/// A trend laid out in a `width` × `height` box with `pad` around the plot: x by time (evenly spaced
/// when all points share one instant), y from 0 (bottom) to 1 (top).
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The points' positions.
    pub points: Vec<(f64, f64)>,
    /// The x of each model change (halfway between the points either side), with the new model.
    pub changes: Vec<(f64, BundleRef)>,
}

impl Chart {
    /// Lays out `trend`.
    pub fn new(trend: &Trend, width: f64, height: f64, pad: f64) -> Self {
        let (w, h) = ((width - 2.0 * pad).max(1.0), (height - 2.0 * pad).max(1.0));
        let n = trend.points.len();
        let (t0, t1) = trend
            .points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.t), b.max(p.t))
            });
        let x = |i: usize, t: f64| {
            if n <= 1 {
                pad + w / 2.0
            } else if t1 > t0 {
                pad + (t - t0) / (t1 - t0) * w
            } else {
                pad + i as f64 / (n - 1) as f64 * w
            }
        };
        let points: Vec<(f64, f64)> = trend
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    x(i, p.t),
                    pad + (1.0 - f64::from(p.score.clamp(0.0, 1.0))) * h,
                )
            })
            .collect();
        let changes = trend
            .changes()
            .into_iter()
            .map(|i| {
                (
                    (points[i - 1].0 + points[i].0) / 2.0,
                    trend.bundles[trend.points[i].bundle].clone(),
                )
            })
            .collect();
        Self { points, changes }
    }

    /// The points as an SVG `points` attribute ("12.0,30.5 40.0,12.0").
    pub fn polyline(&self) -> String {
        self.points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> Manifest {
        serde_json::from_str(include_str!("../../www/models/default/manifest.json")).unwrap()
    }

    fn screening(score: f32) -> Screening {
        serde_json::from_value(json!({
            "quality": {"verdict": "ok", "message": "fine", "seconds": 4.0, "peak_dbfs": -6.0,
                        "active_dbfs": -20.0, "clipped_fraction": 0.0},
            "chunks": [{"start_s": 0.0, "end_s": 1.0}],
            "segments": [{"start": 0.5, "end": 0.9, "kind": "cough"},
                         {"start": 2.0, "end": 2.4, "kind": "cough"}],
            "scores": [{"task": "covid19_cough", "score": score, "label": "negative",
                        "probabilities": {"negative": 1.0 - score, "positive": score},
                        "calibrated": true, "research": false}],
            "reports": [{"similarity": 0.5, "text": "A dry cough.", "dataset": "coughvid",
                         "record_id": "x", "synthetic": false}],
        }))
        .unwrap()
    }

    fn entry(id: f64, score: f32, version: &str) -> Entry {
        let mut m = manifest();
        m.version = version.to_string();
        Entry::new(
            id,
            "2026-12-01T07:00:00.000Z".into(),
            "a.wav",
            Some(RecordingKind::Cough),
            &screening(score),
            &m,
            false,
        )
    }

    #[test]
    fn an_entry_keeps_the_scores_with_their_names_and_round_trips() {
        let e = entry(1000.0, 0.25, "1.0");
        assert_eq!(e.coughs, 2);
        assert_eq!(e.scores.len(), 1);
        let task = manifest()
            .tasks
            .iter()
            .find(|t| t.id == "covid19_cough")
            .unwrap()
            .name
            .clone();
        assert_eq!(e.scores[0].name, task);
        assert_eq!(e.reports, vec!["A dry cough.".to_string()]);
        assert_eq!(e.summary(Lang::En), format!("{task} 0.25"));
        assert_eq!(e.summary(Lang::Ru), format!("{task} 0,25"));
        assert_eq!(Entry::parse(&e.to_json()), Some(e.clone()));
        // A newer format, or a damaged record, is not guessed at.
        let mut newer = e.clone();
        newer.format = ENTRY_FORMAT + 1;
        assert_eq!(Entry::parse(&newer.to_json()), None);
        assert_eq!(Entry::parse("{\"id\": 3"), None);
        let v: serde_json::Value =
            serde_json::from_str(&export_json(&[e], "2026-12-02T00:00:00Z")).unwrap();
        assert_eq!(v["entries"][0]["scores"][0]["task"], "covid19_cough");
        assert_eq!(v["exported"], "2026-12-02T00:00:00Z");
    }

    #[test]
    fn a_failed_quality_check_summarises_as_its_verdict() {
        let mut s = screening(0.5);
        s.scores.clear();
        s.quality.verdict = Verdict::TooQuiet;
        s.quality.message = "Too quiet.".into();
        let e = Entry::new(1.0, "t".into(), "a.wav", None, &s, &manifest(), false);
        assert_eq!(e.summary(Lang::En), "The recording is too quiet");
        assert_eq!(e.summary(Lang::Ru), "Запись слишком тихая");
        assert!(trends(&[e]).is_empty());
    }

    #[test]
    fn trends_sort_by_time_and_mark_each_model_change() {
        // Given out of order; versions 1.0, 1.0, 2.0, 1.0 in time order.
        let entries = vec![
            entry(3000.0, 0.6, "2.0"),
            entry(1000.0, 0.2, "1.0"),
            entry(4000.0, 0.1, "1.0"),
            entry(2000.0, 0.4, "1.0"),
        ];
        let t = trends(&entries);
        assert_eq!(t.len(), 1);
        let scores: Vec<f32> = t[0].points.iter().map(|p| p.score).collect();
        assert_eq!(scores, vec![0.2, 0.4, 0.6, 0.1]);
        assert_eq!(t[0].bundles.len(), 2);
        assert_eq!(t[0].changes(), vec![2, 3]);
        let c = Chart::new(&t[0], 220.0, 120.0, 10.0);
        // x by time: 1000 → 10, 4000 → 210; y: 0.2 → 10 + 0.8 · 100.
        // (0.2 as f32 is not exactly 0.2.)
        assert_eq!(c.points[0].0, 10.0);
        assert!((c.points[0].1 - 90.0).abs() < 1e-5);
        assert!((c.points[3].0 - 210.0).abs() < 1e-9);
        assert!((c.points[1].0 - (10.0 + 200.0 / 3.0)).abs() < 1e-9);
        assert_eq!(c.changes.len(), 2);
        assert_eq!(c.changes[0].1.version, "2.0");
        assert!((c.changes[0].0 - (c.points[1].0 + c.points[2].0) / 2.0).abs() < 1e-9);
        assert_eq!(c.polyline().split(' ').count(), 4);
    }

    #[test]
    fn one_point_sits_in_the_middle_and_equal_times_spread_evenly() {
        let t = trends(&[entry(5.0, 1.0, "1.0")]);
        let c = Chart::new(&t[0], 100.0, 100.0, 0.0);
        assert_eq!(c.points, vec![(50.0, 0.0)]);
        assert!(c.changes.is_empty());
        let mut a = entry(5.0, 0.5, "1.0");
        a.id = 5.0;
        let t = trends(&[a.clone(), a]);
        let c = Chart::new(&t[0], 100.0, 100.0, 0.0);
        assert_eq!(c.points, vec![(0.0, 50.0), (100.0, 50.0)]);
    }
}
