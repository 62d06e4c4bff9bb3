//! Sound events: where the coughs are in a recording.
//!
//! A recording made at home is rarely one clean cough: it holds seconds of room noise, speech, a
//! door and a few coughs. [`detect`] finds the coughs by their energy, with no model, so that the
//! screening looks at the coughs only and the page can show each one:
//!
//! 1. the signal (optionally pre-emphasised, `x[n] − a·x[n−1]`; the tuned setting has none) is cut
//!    into short frames (25 ms every 10 ms), each with its energy in dB;
//! 2. the background's level is a low percentile of those energies, so a recording's own noise sets
//!    the thresholds;
//! 3. a frame louder than the background by `on_db` starts an event, which extends to the
//!    neighbouring frames louder than the background by `off_db` (hysteresis); events closer than
//!    `min_gap_s` are one event;
//! 4. an event longer than `max_s` is split where its energy dips (the thresholds are raised in
//!    steps inside it) or dropped when it never splits into cough-length parts (continuous sound);
//!    parts shorter than `min_s` are dropped;
//! 5. an event most of whose frames are voiced (a strong periodicity between 80 and 400 Hz in the
//!    normalised autocorrelation: speech, singing, a whistle) is not a cough.
//!
//! The thresholds were tuned on one half of the covid19-cough recordings placed into backgrounds
//! at known offsets and are reported on the other half (EVALUATION.md, `acula eval-events`).

use serde::{Deserialize, Serialize};

/// The detector's settings. The defaults are the tuned ones (EVALUATION.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventConfig {
    /// Frame length in seconds (0.025).
    pub frame_s: f64,
    /// Hop between frames in seconds (0.01).
    pub hop_s: f64,
    /// Pre-emphasis coefficient `a` in `x[n] − a·x[n−1]` (0: none; tuning preferred none to 0.97).
    pub pre_emphasis: f32,
    /// The background's level is this percentile of the frame energies (20).
    pub floor_percentile: f32,
    /// A frame this many dB above the background starts an event.
    pub on_db: f32,
    /// An event extends over neighbouring frames this many dB above the background.
    pub off_db: f32,
    /// Events must reach within this many dB of the recording's loudest frame.
    pub range_db: f32,
    /// Events closer than this (seconds) are one event.
    pub min_gap_s: f64,
    /// Shortest event kept, seconds.
    pub min_s: f64,
    /// Longest event kept, seconds; longer ones are split where their energy dips, or dropped.
    pub max_s: f64,
    /// How much the thresholds rise per step when a long event is split, dB.
    pub split_step_db: f32,
    /// A frame whose normalised autocorrelation peak (lags of 2.5–12.5 ms) reaches this is voiced.
    pub voicing: f32,
    /// An event with more than this share of voiced frames is not a cough.
    pub voiced_max: f32,
    /// At most this many events are reported (the loudest), so a recording of noise bursts cannot
    /// make the screening or the page do unbounded work.
    pub max_events: usize,
    /// Seconds of sound kept before each event when the coughs are screened.
    pub pad_before_s: f64,
    /// Seconds of sound kept after each event when the coughs are screened (the cough's tail).
    pub pad_after_s: f64,
}

impl Default for EventConfig {
    /// Tuned by `acula eval-events` (EVALUATION.md, "Cough detection"): the best F1 on one half of
    /// the covid19-cough recordings placed into backgrounds, among the settings that find an event
    /// in at least 98 % of that half's recordings as they are.
    fn default() -> Self {
        Self {
            frame_s: 0.025,
            hop_s: 0.01,
            pre_emphasis: 0.0,
            floor_percentile: 20.0,
            on_db: 8.0,
            off_db: 2.0,
            range_db: 25.0,
            min_gap_s: 0.1,
            min_s: 0.1,
            max_s: 1.0,
            split_step_db: 3.0,
            voicing: 0.8,
            voiced_max: 0.8,
            max_events: 50,
            pad_before_s: 0.05,
            pad_after_s: 0.15,
        }
    }
}

impl EventConfig {
    /// Checks that the settings describe a detector (positive lengths, ordered thresholds).
    pub fn validate(&self) -> Result<(), String> {
        let finite = [
            self.frame_s,
            self.hop_s,
            self.min_gap_s,
            self.min_s,
            self.max_s,
            self.pad_before_s,
            self.pad_after_s,
        ]
        .iter()
        .all(|v| v.is_finite())
            && [
                self.pre_emphasis,
                self.floor_percentile,
                self.on_db,
                self.off_db,
                self.range_db,
                self.split_step_db,
                self.voicing,
                self.voiced_max,
            ]
            .iter()
            .all(|v| v.is_finite());
        if !finite {
            return Err("every event setting must be a finite number".into());
        }
        if !(self.frame_s > 0.0 && self.hop_s > 0.0 && self.hop_s <= self.frame_s) {
            return Err(format!(
                "event frames need 0 < hop_s ≤ frame_s (got frame_s {}, hop_s {})",
                self.frame_s, self.hop_s
            ));
        }
        if self.off_db > self.on_db || self.split_step_db <= 0.0 {
            return Err(format!(
                "event thresholds need off_db ≤ on_db and split_step_db > 0 (got {}, {}, {})",
                self.off_db, self.on_db, self.split_step_db
            ));
        }
        if !(0.0..=100.0).contains(&self.floor_percentile) {
            return Err("floor_percentile must lie in 0–100".into());
        }
        if self.min_s > self.max_s || self.min_gap_s < 0.0 || self.min_s < 0.0 {
            return Err(format!(
                "event durations need 0 ≤ min_s ≤ max_s and min_gap_s ≥ 0 (got {}, {}, {})",
                self.min_s, self.max_s, self.min_gap_s
            ));
        }
        if self.pad_before_s < 0.0 || self.pad_after_s < 0.0 {
            return Err("event padding must not be negative".into());
        }
        Ok(())
    }
}

/// One detected event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Onset, seconds from the start of the recording.
    pub start: f64,
    /// Offset, seconds.
    pub end: f64,
    /// The loudest frame's level above the background, dB.
    pub level_db: f32,
}

impl Event {
    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// Frame energies in dB of the pre-emphasised signal (1e-12 floor, so digital silence is −120 dB).
fn frame_db(samples: &[f32], frame: usize, hop: usize, a: f32) -> Vec<f32> {
    if samples.len() < frame || frame == 0 || hop == 0 {
        return Vec::new();
    }
    // Prefix sums of the squared pre-emphasised signal make each frame O(1).
    let mut prefix = Vec::with_capacity(samples.len() + 1);
    prefix.push(0.0f64);
    let mut acc = 0.0f64;
    let mut prev = 0.0f32;
    for &x in samples {
        let p = f64::from(x - a * prev);
        prev = x;
        acc += p * p;
        prefix.push(acc);
    }
    let n = 1 + (samples.len() - frame) / hop;
    (0..n)
        .map(|t| {
            let e = (prefix[t * hop + frame] - prefix[t * hop]).max(0.0) / frame as f64;
            (10.0 * (e + 1e-12).log10()) as f32
        })
        .collect()
}

/// The `p`-th percentile (nearest rank) of `v`.
fn percentile(v: &[f32], p: f32) -> f32 {
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    let i = ((p / 100.0) * (s.len() - 1) as f32).round() as usize;
    s[i.min(s.len() - 1)]
}

/// Runs `[a, b)` of frames in `range` above `off` that contain a frame above `on`.
fn runs(db: &[f32], range: (usize, usize), on: f32, off: f32) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut t = range.0;
    while t < range.1 {
        if db[t] > off {
            let a = t;
            while t < range.1 && db[t] > off {
                t += 1;
            }
            if db[a..t].iter().any(|&v| v > on) {
                out.push((a, t));
            }
        } else {
            t += 1;
        }
    }
    out
}

/// The largest normalised autocorrelation of `x` over lags `lags`.
fn periodicity(x: &[f32], lags: (usize, usize)) -> f32 {
    let mut best = 0.0f32;
    for lag in lags.0..=lags.1.min(x.len().saturating_sub(1)) {
        let (a, b) = (&x[..x.len() - lag], &x[lag..]);
        let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
        for (u, v) in a.iter().zip(b) {
            ab += u * v;
            aa += u * u;
            bb += v * v;
        }
        if aa > 0.0 && bb > 0.0 {
            best = best.max(ab / (aa * bb).sqrt());
        }
    }
    best
}

/// A recording cut into the detector's frames: what [`detect`] computes once and every setting of
/// the thresholds reuses (`acula eval-events` tunes them on it).
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    samples: &'a [f32],
    rate: f64,
    frame: usize,
    hop: usize,
    hop_s: f64,
    /// Energy of each frame in dB.
    db: Vec<f32>,
    /// Periodicity of each frame, computed when first needed (NaN until then).
    period: Vec<f32>,
}

impl<'a> Frames<'a> {
    /// Frames of mono `samples` at `rate` Hz under `cfg`'s frame length, hop and pre-emphasis.
    pub fn new(samples: &'a [f32], rate: u32, cfg: &EventConfig) -> Self {
        let r = f64::from(rate.max(1));
        let frame = ((cfg.frame_s * r).round() as usize).max(1);
        let hop = ((cfg.hop_s * r).round() as usize).max(1);
        let db = frame_db(samples, frame, hop, cfg.pre_emphasis);
        let period = vec![f32::NAN; db.len()];
        Self {
            samples,
            rate: r,
            frame,
            hop,
            hop_s: hop as f64 / r,
            db,
            period,
        }
    }

    fn periodicity(&mut self, t: usize) -> f32 {
        if self.period[t].is_nan() {
            let x =
                &self.samples[t * self.hop..(t * self.hop + self.frame).min(self.samples.len())];
            let lags = (
                ((0.0025 * self.rate).round() as usize).max(1),
                ((0.0125 * self.rate).round() as usize).max(2),
            );
            self.period[t] = periodicity(x, lags);
        }
        self.period[t]
    }

    /// The events under `cfg`'s thresholds (its frame settings are those of [`Frames::new`]).
    pub fn detect(&mut self, cfg: &EventConfig) -> Vec<Event> {
        let db = &self.db;
        if db.is_empty() {
            return Vec::new();
        }
        let floor = percentile(db, cfg.floor_percentile);
        let peak = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // Nothing stands out of the background (silence, steady noise, a constant).
        if peak - floor < cfg.on_db {
            return Vec::new();
        }
        let on = (floor + cfg.on_db).max(peak - cfg.range_db);
        let off = (floor + cfg.off_db).min(on);
        let frames_of = |s: f64| (s / self.hop_s).round() as usize;
        let (min_gap, min_len, max_len) = (
            frames_of(cfg.min_gap_s),
            frames_of(cfg.min_s).max(1),
            frames_of(cfg.max_s).max(1),
        );
        // Hysteresis, then close small gaps.
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in runs(db, (0, db.len()), on, off) {
            match merged.last_mut() {
                Some(last) if a - last.1 < min_gap => last.1 = b,
                _ => merged.push((a, b)),
            }
        }
        // Split long runs where their energy dips; keep the cough-length parts.
        let mut kept = Vec::new();
        let mut todo: Vec<((usize, usize), f32, f32)> =
            merged.into_iter().rev().map(|r| (r, on, off)).collect();
        while let Some(((a, b), on_t, off_t)) = todo.pop() {
            let len = b - a;
            if len <= max_len {
                if len >= min_len {
                    kept.push((a, b));
                }
                continue;
            }
            let run_peak = db[a..b].iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let (on2, off2) = (on_t + cfg.split_step_db, off_t + cfg.split_step_db);
            if off2 >= run_peak {
                continue; // one continuous sound: not a cough
            }
            let parts = runs(db, (a, b), on2.min(run_peak - 1e-3), off2);
            for p in parts.into_iter().rev() {
                todo.push((p, on2, off2));
            }
        }
        kept.sort_unstable();
        // Voicing: speech and tones are periodic, a cough's burst is not.
        let mut events = Vec::new();
        for (a, b) in kept {
            if cfg.voiced_max < 1.0 {
                let voiced = (a..b)
                    .filter(|&t| self.periodicity(t) >= cfg.voicing)
                    .count();
                if voiced as f32 > cfg.voiced_max * (b - a) as f32 {
                    continue;
                }
            }
            let db = &self.db;
            events.push(Event {
                start: (a * self.hop) as f64 / self.rate,
                end: (((b - 1) * self.hop + self.frame).min(self.samples.len())) as f64 / self.rate,
                level_db: db[a..b].iter().copied().fold(f32::NEG_INFINITY, f32::max) - floor,
            });
        }
        if events.len() > cfg.max_events {
            events.sort_by(|x, y| y.level_db.total_cmp(&x.level_db));
            events.truncate(cfg.max_events);
            events.sort_by(|x, y| x.start.total_cmp(&y.start));
        }
        events
    }
}

/// The coughs (or other short, loud, unvoiced events) in mono `samples` at `rate` Hz, in time order.
/// Returns nothing for an empty, silent or constant recording; never fails (the settings are
/// assumed valid: see [`EventConfig::validate`]).
pub fn detect(samples: &[f32], rate: u32, cfg: &EventConfig) -> Vec<Event> {
    Frames::new(samples, rate, cfg).detect(cfg)
}

/// The stretches of the recording that are screened for `events`: each event padded by
/// `pad_before_s` and `pad_after_s`, overlapping stretches joined, within `[0, seconds]`.
pub fn padded_spans(events: &[Event], seconds: f64, cfg: &EventConfig) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for e in events {
        let (a, b) = (
            (e.start - cfg.pad_before_s).max(0.0),
            (e.end + cfg.pad_after_s).min(seconds),
        );
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The samples of `spans` (seconds) of `samples` at `rate` Hz, one after the other.
pub fn concatenate(samples: &[f32], rate: u32, spans: &[(f64, f64)]) -> Vec<f32> {
    let r = f64::from(rate);
    let mut out = Vec::new();
    for &(a, b) in spans {
        let i = ((a * r).round() as usize).min(samples.len());
        let j = ((b * r).round() as usize).clamp(i, samples.len());
        out.extend_from_slice(&samples[i..j]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// White noise from a xorshift generator, `len` seconds at amplitude `amp`.
    fn noise(rate: u32, len: f64, amp: f32, seed: u32) -> Vec<f32> {
        let n = (len * f64::from(rate)) as usize;
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                amp * ((s as f32 / u32::MAX as f32) * 2.0 - 1.0)
            })
            .collect()
    }

    /// A cough-like burst: noise with a 10 ms attack and an exponential decay, `len` seconds.
    fn burst(rate: u32, len: f64, amp: f32, seed: u32) -> Vec<f32> {
        noise(rate, len, amp, seed)
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let t = i as f32 / rate as f32;
                v * (t / 0.01).min(1.0) * (-t / (len as f32 / 3.0)).exp()
            })
            .collect()
    }

    fn quiet(rate: u32, len: f64, amp: f32) -> Vec<f32> {
        noise(rate, len, amp, 99)
    }

    fn place(bg: &mut [f32], x: &[f32], at: f64, rate: u32) {
        let i = (at * f64::from(rate)) as usize;
        for (k, v) in x.iter().enumerate() {
            if let Some(b) = bg.get_mut(i + k) {
                *b += v;
            }
        }
    }

    #[test]
    fn finds_three_coughs_at_their_offsets() {
        let rate = 16_000;
        let mut y = quiet(rate, 6.0, 0.002);
        for (k, at) in [0.8, 2.5, 4.1].iter().enumerate() {
            place(&mut y, &burst(rate, 0.4, 0.5, k as u32 + 1), *at, rate);
        }
        let ev = detect(&y, rate, &EventConfig::default());
        assert_eq!(ev.len(), 3, "{ev:?}");
        for (e, at) in ev.iter().zip([0.8, 2.5, 4.1]) {
            assert!((e.start - at).abs() < 0.05, "{e:?} vs {at}");
            assert!(e.duration() > 0.1 && e.duration() < 0.5, "{e:?}");
        }
        // Moving a cough moves its event.
        let mut z = quiet(rate, 6.0, 0.002);
        place(&mut z, &burst(rate, 0.4, 0.5, 1), 3.3, rate);
        let ev = detect(&z, rate, &EventConfig::default());
        assert_eq!(ev.len(), 1);
        assert!((ev[0].start - 3.3).abs() < 0.05);
    }

    #[test]
    fn nothing_in_silence_steady_noise_or_a_tone() {
        let rate = 16_000;
        let cfg = EventConfig::default();
        assert!(detect(&[], rate, &cfg).is_empty());
        assert!(detect(&[0.0; 100], rate, &cfg).is_empty());
        assert!(detect(&vec![0.0; 32_000], rate, &cfg).is_empty());
        assert!(detect(&vec![0.3; 32_000], rate, &cfg).is_empty());
        assert!(detect(&quiet(rate, 3.0, 0.1), rate, &cfg).is_empty());
        // A loud 200 Hz tone burst of cough length is voiced: not a cough.
        let mut y = quiet(rate, 3.0, 0.002);
        let tone: Vec<f32> = (0..6_400)
            .map(|i| 0.5 * (i as f32 * 2.0 * std::f32::consts::PI * 200.0 / 16_000.0).sin())
            .collect();
        place(&mut y, &tone, 1.0, rate);
        assert!(detect(&y, rate, &cfg).is_empty());
    }

    #[test]
    fn long_sound_is_split_or_dropped_and_events_are_capped() {
        let rate = 16_000;
        let cfg = EventConfig::default();
        // 4 s of loud continuous noise is no cough.
        let mut y = quiet(rate, 6.0, 0.002);
        let long = noise(rate, 4.0, 0.2, 3);
        place(&mut y, &long, 1.0, rate);
        assert!(
            detect(&y, rate, &cfg).is_empty(),
            "{:?}",
            detect(&y, rate, &cfg)
        );
        // 100 bursts: at most max_events.
        let mut y = quiet(rate, 60.0, 0.002);
        for k in 0..100 {
            place(
                &mut y,
                &burst(rate, 0.3, 0.5, k + 1),
                0.5 + k as f64 * 0.58,
                rate,
            );
        }
        let ev = detect(&y, rate, &cfg);
        assert_eq!(ev.len(), cfg.max_events);
        assert!(ev.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn padded_spans_join_and_clip() {
        let cfg = EventConfig::default();
        let ev = [
            Event {
                start: 0.02,
                end: 0.3,
                level_db: 20.0,
            },
            Event {
                start: 0.4,
                end: 0.7,
                level_db: 20.0,
            },
            Event {
                start: 2.0,
                end: 2.95,
                level_db: 20.0,
            },
        ];
        let s = padded_spans(&ev, 3.0, &cfg);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, 0.0);
        assert!((s[0].1 - 0.85).abs() < 1e-9);
        assert_eq!(s[1].1, 3.0);
        let y: Vec<f32> = (0..48_000).map(|i| i as f32).collect();
        let c = concatenate(&y, 16_000, &s);
        assert_eq!(c.len(), 13_600 + 48_000 - 31_200);
        assert_eq!(c[0], 0.0);
    }

    #[test]
    fn default_settings_are_valid_and_bad_ones_are_refused() {
        assert!(EventConfig::default().validate().is_ok());
        let bad = EventConfig {
            off_db: 20.0,
            ..EventConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = EventConfig {
            hop_s: 0.0,
            ..EventConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = EventConfig {
            max_s: f64::NAN,
            ..EventConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
