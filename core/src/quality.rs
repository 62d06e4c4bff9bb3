//! The recording-quality check that runs before any score: a recording that is silent, too quiet,
//! clipped, too short or too long gets a clear verdict with what to do about it, instead of a score
//! that would mean nothing. The thresholds live in the bundle's manifest ([`QualityConfig`]).

use serde::{Deserialize, Serialize};

/// Thresholds of the quality check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Shortest recording screened, in seconds (0.5: one cough lasts about 0.3–0.6 s; 3 of the 926
    /// covid19-cough recordings are shorter).
    pub min_seconds: f64,
    /// Longest recording screened, in seconds (300).
    pub max_seconds: f64,
    /// Below this peak level (dBFS) of what varies (a constant offset removed) the recording counts as no sound at all (−70).
    pub silence_peak_dbfs: f64,
    /// Below this level of its loud parts (the 95th percentile of 50 ms RMS, dBFS) a recording is
    /// too quiet (−55).
    pub quiet_dbfs: f64,
    /// A sample at or above this magnitude counts as clipped (0.99 of full scale).
    pub clip_level: f64,
    /// More than this fraction of clipped samples makes the recording clipped (0.02).
    pub clip_fraction: f64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            min_seconds: 0.5,
            max_seconds: 300.0,
            silence_peak_dbfs: -70.0,
            quiet_dbfs: -55.0,
            clip_level: 0.99,
            clip_fraction: 0.02,
        }
    }
}

/// The verdict of the quality check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Good enough to screen.
    Ok,
    /// Nothing but (digital) silence.
    NoSound,
    /// Sound, but too faint to analyse.
    TooQuiet,
    /// Too many samples at full scale: the recording is distorted.
    Clipped,
    /// Shorter than the minimum.
    TooShort,
    /// Longer than the maximum.
    TooLong,
    /// Screened as a cough, but the cough detector found none ([`crate::events`]).
    NoCough,
}

/// What the check measured and concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// The verdict.
    pub verdict: Verdict,
    /// One sentence for people: what is wrong and what to do (or that the recording is fine).
    pub message: String,
    /// Duration in seconds.
    pub seconds: f64,
    /// Peak level in dBFS (−inf for digital silence, written as −200).
    pub peak_dbfs: f64,
    /// Level of the loud parts (95th percentile of 50 ms RMS) in dBFS.
    pub active_dbfs: f64,
    /// Fraction of samples at or above the clipping level.
    pub clipped_fraction: f64,
}

impl Quality {
    /// This verdict turned into "no cough found": the recording was fine to analyse, but the cough
    /// detector found nothing cough-like in it.
    pub fn no_cough(mut self) -> Self {
        self.verdict = Verdict::NoCough;
        self.message = "No cough was found in the recording: record two or three strong coughs, with a moment of quiet between them.".to_string();
        self
    }

    /// Whether the recording may be screened.
    pub fn is_ok(&self) -> bool {
        self.verdict == Verdict::Ok
    }
}

fn dbfs(x: f64) -> f64 {
    if x > 0.0 {
        (20.0 * x.log10()).max(-200.0)
    } else {
        -200.0
    }
}

/// Checks mono `samples` at `sample_rate` Hz (the recording's own rate, before resampling, so that
/// clipping is seen as recorded).
pub fn check(samples: &[f32], sample_rate: u32, cfg: &QualityConfig) -> Quality {
    let rate = f64::from(sample_rate.max(1));
    let seconds = samples.len() as f64 / rate;
    let peak = samples
        .iter()
        .map(|x| f64::from(x.abs()))
        .fold(0.0, f64::max);
    // The peak of what varies: a constant offset (DC) alone is no sound either, though its level is
    // high. Real recordings' offsets are tiny next to their sound, so this decides only near-DC input.
    let mean = if samples.is_empty() {
        0.0
    } else {
        samples.iter().map(|x| f64::from(*x)).sum::<f64>() / samples.len() as f64
    };
    let varying_peak = samples
        .iter()
        .map(|x| (f64::from(*x) - mean).abs())
        .fold(0.0, f64::max);
    let clipped = samples
        .iter()
        .filter(|x| f64::from(x.abs()) >= cfg.clip_level)
        .count();
    let clipped_fraction = if samples.is_empty() {
        0.0
    } else {
        clipped as f64 / samples.len() as f64
    };
    // RMS of 50 ms frames; the 95th percentile is the level of the loud parts (a cough is short and
    // most of its recording quiet, so the mean would call a good cough quiet).
    let frame = ((rate * 0.05) as usize).max(1);
    let mut levels: Vec<f64> = samples
        .chunks(frame)
        .map(|c| {
            let e: f64 = c.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            (e / c.len() as f64).sqrt()
        })
        .collect();
    levels.sort_by(|a, b| a.total_cmp(b));
    let active = if levels.is_empty() {
        0.0
    } else {
        levels[((levels.len() - 1) as f64 * 0.95).round() as usize]
    };
    let (peak_dbfs, active_dbfs) = (dbfs(peak), dbfs(active));
    let (verdict, message) = if seconds < cfg.min_seconds {
        (
            Verdict::TooShort,
            format!(
                "The recording is {seconds:.1} s long; record at least {:.1} s.",
                cfg.min_seconds
            ),
        )
    } else if seconds > cfg.max_seconds {
        (
            Verdict::TooLong,
            format!(
                "The recording is {:.0} s long; the limit is {:.0} s. Trim it or record a shorter one.",
                seconds, cfg.max_seconds
            ),
        )
    } else if dbfs(varying_peak) < cfg.silence_peak_dbfs {
        (
            Verdict::NoSound,
            "There is no sound in the recording. Check that the microphone is on and not muted."
                .to_string(),
        )
    } else if active_dbfs < cfg.quiet_dbfs {
        (
            Verdict::TooQuiet,
            format!(
                "The recording is too quiet ({active_dbfs:.0} dBFS). Hold the microphone closer or raise its gain, and record again."
            ),
        )
    } else if clipped_fraction > cfg.clip_fraction {
        (
            Verdict::Clipped,
            format!(
                "{:.1} % of the recording is at full scale (clipped, distorted). Move the microphone further away or lower its gain, and record again.",
                clipped_fraction * 100.0
            ),
        )
    } else {
        (Verdict::Ok, "The recording can be analysed.".to_string())
    };
    Quality {
        verdict,
        message,
        seconds,
        peak_dbfs,
        active_dbfs,
        clipped_fraction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f64, amp: f32) -> Vec<f32> {
        (0..(16_000.0 * seconds) as usize)
            .map(|i| amp * (i as f32 * 0.07).sin())
            .collect()
    }

    #[test]
    fn each_verdict_from_its_signal() {
        let c = QualityConfig::default();
        assert_eq!(check(&tone(3.0, 0.3), 16_000, &c).verdict, Verdict::Ok);
        assert_eq!(
            check(&tone(0.3, 0.3), 16_000, &c).verdict,
            Verdict::TooShort
        );
        assert_eq!(check(&[], 16_000, &c).verdict, Verdict::TooShort);
        assert_eq!(
            check(&tone(301.0, 0.3), 16_000, &c).verdict,
            Verdict::TooLong
        );
        assert_eq!(
            check(&vec![0.0; 48_000], 16_000, &c).verdict,
            Verdict::NoSound
        );
        // A constant offset is no sound, however high; a tone on top of one is sound.
        let dc = check(&vec![0.25; 48_000], 16_000, &c);
        assert_eq!(dc.verdict, Verdict::NoSound);
        assert!((dc.peak_dbfs - 20.0 * 0.25f64.log10()).abs() < 1e-9);
        let tone_on_dc: Vec<f32> = tone(3.0, 0.3).iter().map(|x| x + 0.25).collect();
        assert_eq!(check(&tone_on_dc, 16_000, &c).verdict, Verdict::Ok);
        // −66 dBFS peak: sound, but too quiet.
        assert_eq!(
            check(&tone(3.0, 5e-4), 16_000, &c).verdict,
            Verdict::TooQuiet
        );
        let hard: Vec<f32> = tone(3.0, 4.0).iter().map(|x| x.clamp(-1.0, 1.0)).collect();
        let q = check(&hard, 16_000, &c);
        assert_eq!(q.verdict, Verdict::Clipped);
        assert!(q.clipped_fraction > 0.5, "{}", q.clipped_fraction);
        assert!((q.peak_dbfs - 0.0).abs() < 1e-9);
    }

    #[test]
    fn a_short_loud_event_in_quiet_is_not_too_quiet() {
        // 0.4 s of cough-like noise in 4 s of near silence.
        let mut x = vec![1e-4f32; 64_000];
        for (i, v) in x[16_000..22_400].iter_mut().enumerate() {
            *v = 0.2 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0);
        }
        assert_eq!(
            check(&x, 16_000, &QualityConfig::default()).verdict,
            Verdict::Ok
        );
    }
}
