//! Which tasks the results list, and where: the tasks trained on real recordings first, the research
//! tasks (trained on synthetic recordings only) apart, shown only when the user asks; a recording
//! kind the recording is unfamiliar to gets its notice instead of scores.

use acula_core::bundle::{Familiarity, TaskSpec};
use acula_core::screen::{Screening, TaskScore};
use acula_core::RecordingKind;

/// One task of the results, with its score when it was scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The task.
    pub spec: TaskSpec,
    /// Its score (`None` when the recording was unfamiliar to the task's kind).
    pub score: Option<TaskScore>,
}

/// The tasks of one screening, sorted for the results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// Tasks trained on real recordings, in the manifest's order.
    pub patient: Vec<Row>,
    /// Research tasks, in the manifest's order.
    pub research: Vec<Row>,
    /// The kinds the recording is unfamiliar to, each with its verdict.
    pub unfamiliar: Vec<Familiarity>,
}

impl Listing {
    /// Sorts the manifest's `tasks` for `screening` of a recording of kind `recording`. A task is
    /// part of it when it was scored, when it is for `recording`, or when its kind's familiarity was
    /// checked.
    pub fn new(
        screening: &Screening,
        tasks: &[TaskSpec],
        recording: Option<RecordingKind>,
    ) -> Self {
        let mut out = Self {
            unfamiliar: screening.unfamiliar().cloned().collect(),
            ..Self::default()
        };
        for spec in tasks {
            let score = screening.scores.iter().find(|s| s.task == spec.id).cloned();
            let relevant = score.is_some()
                || recording == Some(spec.recording)
                || screening
                    .familiarity
                    .iter()
                    .any(|f| f.recording == spec.recording);
            if !relevant {
                continue;
            }
            let research = spec.research() || score.as_ref().is_some_and(|s| s.research);
            let row = Row {
                spec: spec.clone(),
                score,
            };
            if research {
                out.research.push(row);
            } else {
                out.patient.push(row);
            }
        }
        out
    }

    /// Whether the model has no task at all for this recording.
    pub fn is_empty(&self) -> bool {
        self.patient.is_empty() && self.research.is_empty() && self.unfamiliar.is_empty()
    }

    /// The scored tasks trained on real recordings (what is shown by default).
    pub fn shown(&self) -> impl Iterator<Item = (&TaskSpec, &TaskScore)> {
        self.patient
            .iter()
            .filter_map(|r| r.score.as_ref().map(|s| (&r.spec, s)))
    }

    /// The recording kind whose only tasks are research tasks, when that is the whole listing (the
    /// results then say so plainly rather than show an empty list).
    pub fn only_research(&self) -> Option<RecordingKind> {
        if !self.patient.is_empty() {
            return None;
        }
        let first = self.research.first()?.spec.recording;
        self.research
            .iter()
            .all(|r| r.spec.recording == first)
            .then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Tasks as in the default bundle: COVID-19 (cough, real recordings), COPD (lung, synthetic),
    /// heart murmur (heart, synthetic).
    fn tasks() -> Vec<TaskSpec> {
        [("cough", false), ("lung", true), ("heart", true)]
            .into_iter()
            .map(|(k, synthetic)| {
                serde_json::from_value(json!({
                    "id": id(k), "name": id(k), "description": "d", "recording": k,
                    "labels": ["no", "yes"], "positive": "yes", "synthetic": synthetic, "metrics": null
                }))
                .unwrap()
            })
            .collect()
    }

    fn id(kind: &str) -> &'static str {
        match kind {
            "cough" => "covid19_cough",
            "lung" => "copd_lung_sounds",
            _ => "heart_murmur",
        }
    }

    /// A screening with scores for `scored` and familiarity verdicts `(kind, familiar)`.
    fn screening(scored: &[&str], familiarity: &[(&str, bool)]) -> Screening {
        let scores: Vec<_> = scored
            .iter()
            .map(|k| {
                json!({"task": id(k), "score": 0.3, "label": "x", "probabilities": {},
                            "calibrated": *k == "cough", "research": *k != "cough"})
            })
            .collect();
        let fam: Vec<_> = familiarity
            .iter()
            .map(|(k, ok)| {
                json!({"recording": k, "distance": if *ok { 1.0 } else { 3.0 },
                                  "threshold": 2.0, "familiar": ok})
            })
            .collect();
        serde_json::from_value(json!({
            "quality": {"verdict": "ok", "message": "fine", "seconds": 1.0, "peak_dbfs": -6.0,
                        "active_dbfs": -20.0, "clipped_fraction": 0.0},
            "chunks": [], "scores": scores, "reports": [], "familiarity": fam
        }))
        .unwrap()
    }

    /// The scores the results show with the research switch `show_research`, in order: what
    /// `tasks::Tasks` lists.
    fn visible(l: &Listing, show_research: bool) -> Vec<&TaskScore> {
        let research = l
            .research
            .iter()
            .filter(|_| show_research)
            .filter_map(|r| r.score.as_ref());
        l.shown().map(|(_, s)| s).chain(research).collect()
    }

    fn ids(scores: Vec<&TaskScore>) -> Vec<&str> {
        scores.iter().map(|s| s.task.as_str()).collect()
    }

    #[test]
    fn a_cough_shows_its_real_task_and_no_research_section() {
        let l = Listing::new(
            &screening(&["cough"], &[("cough", true)]),
            &tasks(),
            Some(RecordingKind::Cough),
        );
        assert_eq!(ids(visible(&l, false)), ["covid19_cough"]);
        assert_eq!(ids(visible(&l, true)), ["covid19_cough"]);
        assert!(l.research.is_empty() && l.unfamiliar.is_empty());
        assert_eq!(l.only_research(), None);
    }

    #[test]
    fn research_tasks_are_visible_only_with_the_switch() {
        let l = Listing::new(
            &screening(&["lung"], &[("lung", true)]),
            &tasks(),
            Some(RecordingKind::Lung),
        );
        assert!(visible(&l, false).is_empty());
        assert_eq!(ids(visible(&l, true)), ["copd_lung_sounds"]);
        assert_eq!(l.only_research(), Some(RecordingKind::Lung));
        assert!(!l.is_empty());
    }

    #[test]
    fn an_unfamiliar_kind_gets_its_notice_and_no_score() {
        // A cough screened as heart sounds: core leaves the murmur score out.
        let l = Listing::new(
            &screening(&[], &[("heart", false)]),
            &tasks(),
            Some(RecordingKind::Heart),
        );
        assert_eq!(l.unfamiliar.len(), 1);
        assert_eq!(l.unfamiliar[0].recording, RecordingKind::Heart);
        assert!(visible(&l, false).is_empty() && visible(&l, true).is_empty());
        // The research task is still listed (unscored), so the switch has something to show.
        assert_eq!(l.research.len(), 1);
        assert_eq!(l.research[0].score, None);
        // An unfamiliar cough hides the real task's score too.
        let c = Listing::new(
            &screening(&[], &[("cough", false)]),
            &tasks(),
            Some(RecordingKind::Cough),
        );
        assert!(visible(&c, true).is_empty());
        assert_eq!(c.only_research(), None);
    }

    #[test]
    fn a_kind_without_tasks_is_empty() {
        let l = Listing::new(&screening(&[], &[]), &tasks(), Some(RecordingKind::Breath));
        assert!(l.is_empty());
    }

    #[test]
    fn without_a_kind_every_scored_task_is_listed() {
        // A model whose tasks are all for one kind screens without asking for it.
        let l = Listing::new(&screening(&["cough", "lung"], &[]), &tasks(), None);
        assert_eq!(ids(visible(&l, false)), ["covid19_cough"]);
        assert_eq!(
            ids(visible(&l, true)),
            ["covid19_cough", "copd_lung_sounds"]
        );
        assert_eq!(l.only_research(), None);
    }
}
