//! Stage mode's live screening, in plain types (unit-tested natively): while recording in conference
//! mode the recorder hands over the recording so far every two seconds; its last [`WINDOW_S`] seconds
//! are screened when the analyser is free (a hand-over that finds it busy is skipped, so the worker
//! never falls behind), and each answer's lag (hand-over to shown) is kept.

use acula_core::screen::Screening;

use crate::state::Outcome;

/// The rolling window screened, in seconds (a cough or two, a few breaths or heartbeats).
pub const WINDOW_S: f64 = 6.0;

/// One live answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The seconds recorded when the audio was handed over (the window ends there).
    pub at_s: f64,
    /// Milliseconds from the hand-over to the answer.
    pub lag_ms: f64,
    /// The screening of the window, or why it failed.
    pub result: Result<Screening, String>,
}

/// The live screening of one recording.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Live {
    pending: Option<(u32, f64, f64)>,
    /// The latest answer.
    pub latest: Option<Update>,
    /// Every answer's lag, in milliseconds.
    pub lags_ms: Vec<f64>,
    /// Hand-overs skipped because the analyser was still busy.
    pub skipped: usize,
    /// A hand-over came while the recording's kind was still to be chosen (the model needs it).
    pub needs_kind: bool,
}

impl Live {
    /// A new recording: nothing asked, nothing answered.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Whether the window handed over at `asked_ms` (the page's clock), `at_s` seconds into the
    /// recording, is screened: only when no live screening is in flight (it is then decoded and
    /// asked for); a skip is counted when not.
    pub fn take_turn(&mut self, asked_ms: f64, at_s: f64) -> bool {
        self.needs_kind = false;
        if self.pending.is_some() {
            self.skipped += 1;
            return false;
        }
        // Request ids start at 1: 0 stands for "being decoded".
        self.pending = Some((0, asked_ms, at_s));
        true
    }

    /// The window whose turn it is was sent as request `id`.
    pub fn asked(&mut self, id: u32) {
        if let Some(p) = &mut self.pending {
            p.0 = id;
        }
    }

    /// A hand-over came, but the recording's kind must be chosen before it can be screened.
    pub fn waiting_for_kind(&mut self) {
        self.needs_kind = true;
    }

    /// The hand-over could not be screened (it did not decode yet): the next one may be.
    pub fn gave_up(&mut self) {
        self.pending = None;
    }

    /// An answer came at `now_ms`; taken (`true`) only when it answers the live request in flight.
    pub fn answered(&mut self, outcome: &Outcome, now_ms: f64) -> bool {
        match self.pending {
            Some((id, asked_ms, at_s)) if id != 0 && id == outcome.id => {
                let lag_ms = now_ms - asked_ms;
                self.lags_ms.push(lag_ms);
                self.latest = Some(Update {
                    at_s,
                    lag_ms,
                    result: outcome.result.clone().map(|(s, _)| s),
                });
                self.pending = None;
                true
            }
            _ => false,
        }
    }

    /// The median lag so far, in milliseconds.
    pub fn median_lag_ms(&self) -> Option<f64> {
        let mut l = self.lags_ms.clone();
        if l.is_empty() {
            return None;
        }
        l.sort_by(f64::total_cmp);
        let n = l.len();
        Some(if n % 2 == 1 {
            l[n / 2]
        } else {
            (l[n / 2 - 1] + l[n / 2]) / 2.0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(id: u32) -> Outcome {
        let s: Screening = serde_json::from_value(json!({
            "quality": {"verdict": "ok", "message": "fine", "seconds": 6.0, "peak_dbfs": -6.0,
                        "active_dbfs": -20.0, "clipped_fraction": 0.0},
            "chunks": [], "scores": [], "reports": []
        }))
        .unwrap();
        Outcome {
            id,
            result: Ok((s, 10.0)),
        }
    }

    #[test]
    fn one_window_in_flight_at_a_time_and_lags_are_kept() {
        let mut live = Live::default();
        assert!(live.take_turn(1000.0, 2.0));
        live.asked(7);
        // The next hand-over finds the analyser busy: skipped.
        assert!(!live.take_turn(1500.0, 2.5));
        assert_eq!(live.skipped, 1);
        // Another request's answer (the final screening) is not taken.
        assert!(!live.answered(&outcome(8), 1100.0));
        assert!(live.answered(&outcome(7), 1400.0));
        assert_eq!(live.latest.as_ref().unwrap().at_s, 2.0);
        assert_eq!(live.latest.as_ref().unwrap().lag_ms, 400.0);
        assert!(live.take_turn(3000.0, 4.0));
        live.asked(9);
        assert!(live.answered(&outcome(9), 3200.0));
        assert_eq!(live.median_lag_ms(), Some(300.0));
        // An answer twice is taken once.
        assert!(!live.answered(&outcome(9), 3300.0));
        live.reset();
        assert_eq!(live, Live::default());
        assert_eq!(live.median_lag_ms(), None);
    }

    #[test]
    fn giving_up_frees_the_turn() {
        let mut live = Live::default();
        assert!(live.take_turn(0.0, 2.0));
        // Still decoding: the next hand-over is skipped, and an answer to no request is not taken.
        assert!(!live.take_turn(10.0, 2.5));
        assert!(!live.answered(&outcome(0), 20.0));
        live.gave_up();
        assert!(live.take_turn(30.0, 4.0));
        assert_eq!(live.skipped, 1);
    }
}
