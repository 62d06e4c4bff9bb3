//! The results in words: what a score means, how far the task's measured accuracy goes, and the
//! lines about hidden research tasks. Pure functions of the manifest and the screening.

use acula_core::bundle::TaskSpec;
use acula_core::screen::TaskScore;
use acula_core::RecordingKind;

/// The label of the "show research tasks" switch, quoted by the lines that point to it.
pub const SHOW_RESEARCH: &str = "Show research tasks";

/// The heading of the research tasks, once shown.
pub const RESEARCH_HEADING: &str = "Research tasks (trained on synthetic sounds)";

/// Whether `score` is an estimated probability (its head was calibrated).
fn calibrated(spec: &TaskSpec, score: &TaskScore) -> bool {
    score.calibrated || spec.calibration.is_some()
}

/// The score as shown large: what it is (`estimated probability` when calibrated, nothing for a
/// plain score) and the percentage (`63 %`).
pub fn score_value(spec: &TaskSpec, score: &TaskScore) -> (Option<&'static str>, String) {
    let pct = (score.score * 100.0).round();
    let kind = calibrated(spec, score).then_some("estimated probability");
    (kind, format!("{pct:.0} %"))
}

/// One sentence on what a score means.
pub fn meaning(spec: &TaskSpec, score: &TaskScore) -> String {
    let pct = (score.score * 100.0).round();
    let cal = calibrated(spec, score);
    match &spec.positive {
        Some(pos) => {
            let other = spec
                .labels
                .iter()
                .find(|l| *l != pos)
                .cloned()
                .unwrap_or_else(|| "the other label".into());
            let lean = if score.score >= 0.5 { pos } else { &other };
            if cal {
                format!(
                    "Estimated probability {pct:.0} % of “{pos}” (calibrated by cross-validation on the training recordings, at their share of “{pos}”): the model leans towards “{lean}”."
                )
            } else {
                format!(
                    "{pct:.0} % resemblance to recordings labelled “{pos}”: the model leans towards “{lean}”."
                )
            }
        }
        None if cal => format!(
            "Most likely “{}” (estimated probability {pct:.0} %).",
            score.label
        ),
        None => format!("Most likely “{}” ({pct:.0} %).", score.label),
    }
}

/// `0.81 [0.74, 0.87]`: an AUROC with its bootstrap interval when there is one.
fn auroc_with_interval(auroc: f64, interval: Option<[f64; 2]>) -> String {
    match interval {
        Some([lo, hi]) => format!("{auroc:.2} [{lo:.2}, {hi:.2}]"),
        None => format!("{auroc:.2}"),
    }
}

/// What the model's measured accuracy says, in one line: validation and held-out AUROC (with its
/// bootstrap 95 % interval), and the held-out AUROC within each group of recordings (e.g. each
/// recording channel) when the manifest has it.
pub fn accuracy(spec: &TaskSpec) -> String {
    let mut parts = Vec::new();
    let metrics = spec.metrics.clone().unwrap_or_default();
    if let Some(v) = metrics.val_auroc {
        // Heads fitted with candidates report the cross-validated AUROC of training + validation
        // subjects here; older ones the AUROC of one validation part.
        let what = if metrics.candidates.is_some() {
            "cross-validated AUROC on training subjects"
        } else {
            "validation AUROC"
        };
        parts.push(format!("{what} {v:.2}"));
    }
    if let Some(t) = metrics.test_auroc {
        parts.push(format!(
            "held-out test AUROC {}",
            auroc_with_interval(t, metrics.test_interval)
        ));
    }
    let mut s = if parts.is_empty() {
        "No accuracy was measured for this task.".to_string()
    } else {
        let mut line = format!(
            "Measured (0.5 is chance, 1.0 perfect): {}",
            parts.join(", ")
        );
        if let Some(groups) = metrics.test_by_group.as_ref().filter(|g| !g.is_empty()) {
            let mut within: Vec<String> = groups
                .iter()
                .filter_map(|(name, g)| g.auroc.map(|a| format!("{name} {a:.2}")))
                .collect();
            let unmeasurable = groups.len() - within.len();
            if within.is_empty() {
                within.push("not measurable (one class only in each)".into());
            } else if unmeasurable > 0 {
                within.push(format!(
                    "{unmeasurable} more not measurable (one class only)"
                ));
            }
            let by = metrics.group_by.as_deref().unwrap_or("group");
            line.push_str(&format!("; within {by}: {}", within.join(", ")));
        }
        line.push('.');
        line
    };
    if spec.research() {
        s.push_str(" Trained on synthetic recordings: a demonstration only.");
    }
    s
}

/// The line shown while research tasks are hidden: how many, and how to show them. `only` is the
/// recording kind when its only tasks are research tasks (then it says so plainly).
pub fn hidden_line(count: usize, only: Option<RecordingKind>) -> String {
    let (them, it_they) = if count == 1 {
        ("it", "a research task")
    } else {
        ("them", "research tasks")
    };
    match only {
        Some(k) => {
            let tasks = if count == 1 { "task" } else { "tasks" };
            let are = if count == 1 { "is" } else { "are" };
            format!(
                "The model's only {tasks} for {k} recordings {are} {it_they}, trained on synthetic \
                 sounds only, so no score is shown. Tick “{SHOW_RESEARCH}” to see {them}."
            )
        }
        None => {
            let (tasks, is) = if count == 1 {
                ("research task", "is")
            } else {
                ("research tasks", "are")
            };
            format!(
                "{count} {tasks} (trained on synthetic sounds only) {is} hidden. Tick \
                 “{SHOW_RESEARCH}” to see {them}."
            )
        }
    }
}

/// What a research task without a score says (its recording kind was unfamiliar).
pub fn unscored(kind: RecordingKind) -> String {
    format!(
        "No score: the recording is unlike the {kind} recordings this task was trained on (see above)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn spec(extra: serde_json::Value) -> TaskSpec {
        let mut v = json!({
            "id": "heart_murmur", "name": "Heart murmur", "description": "d", "recording": "heart",
            "labels": ["absent", "present"], "positive": "present", "synthetic": true,
            "metrics": {"val_auroc": 0.719, "test_auroc": 0.603}
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).unwrap()
    }

    fn score(p: f32, calibrated: bool) -> TaskScore {
        TaskScore {
            task: "heart_murmur".into(),
            score: p,
            label: if p >= 0.5 { "present" } else { "absent" }.into(),
            probabilities: BTreeMap::new(),
            calibrated,
            research: true,
        }
    }

    #[test]
    fn meaning_names_the_side_the_model_leans_to() {
        let s = spec(json!({}));
        assert!(meaning(&s, &score(0.8, false)).contains("80 %"));
        assert!(meaning(&s, &score(0.8, false)).ends_with("leans towards “present”."));
        assert!(meaning(&s, &score(0.2, false)).ends_with("leans towards “absent”."));
    }

    #[test]
    fn only_a_calibrated_score_is_called_a_probability() {
        let s = spec(json!({}));
        assert_eq!(score_value(&s, &score(0.634, false)), (None, "63 %".into()));
        assert!(!meaning(&s, &score(0.634, false))
            .to_lowercase()
            .contains("probability"));
        assert_eq!(
            score_value(&s, &score(0.634, true)),
            (Some("estimated probability"), "63 %".into())
        );
        let m = meaning(&s, &score(0.634, true));
        assert!(
            m.starts_with("Estimated probability 63 % of “present”"),
            "{m}"
        );
        assert!(m.ends_with("leans towards “present”."), "{m}");
        let multi = spec(json!({"positive": null}));
        assert_eq!(
            meaning(&multi, &score(0.7, true)),
            "Most likely “present” (estimated probability 70 %)."
        );
        assert_eq!(
            meaning(&multi, &score(0.7, false)),
            "Most likely “present” (70 %)."
        );
    }

    #[test]
    fn accuracy_quotes_the_manifest_and_flags_synthetic_training() {
        let a = accuracy(&spec(json!({})));
        assert_eq!(
            a,
            "Measured (0.5 is chance, 1.0 perfect): validation AUROC 0.72, held-out test AUROC 0.60. \
             Trained on synthetic recordings: a demonstration only."
        );
        let none = accuracy(&spec(json!({"metrics": null, "synthetic": false})));
        assert_eq!(none, "No accuracy was measured for this task.");
    }

    #[test]
    fn accuracy_adds_the_interval_and_the_within_group_aurocs() {
        let s = spec(json!({
            "synthetic": false,
            "metrics": {
                "val_auroc": 0.8, "test_auroc": 0.8149, "test_interval": [0.7412, 0.8704],
                "group_by": "recording channel",
                "test_by_group": {
                    "telephone call centre": {"auroc": 0.79, "interval": [0.7, 0.86], "per_class": [40, 12]},
                    "messenger bot": {"auroc": 0.521, "per_class": [30, 9]},
                    "clinic": {"auroc": null, "per_class": [5, 0]}
                }
            }
        }));
        assert_eq!(
            accuracy(&s),
            "Measured (0.5 is chance, 1.0 perfect): validation AUROC 0.80, held-out test AUROC 0.81 \
             [0.74, 0.87]; within recording channel: messenger bot 0.52, telephone call centre \
             0.79, 1 more not measurable (one class only)."
        );
        let none = spec(json!({
            "synthetic": false,
            "metrics": {"test_auroc": 0.6, "group_by": "device",
                        "test_by_group": {"a": {"auroc": null, "per_class": [0, 3]}}}
        }));
        assert_eq!(
            accuracy(&none),
            "Measured (0.5 is chance, 1.0 perfect): held-out test AUROC 0.60; within device: not \
             measurable (one class only in each)."
        );
    }

    #[test]
    fn hidden_line_counts_and_says_how_to_show_them() {
        assert_eq!(
            hidden_line(1, None),
            "1 research task (trained on synthetic sounds only) is hidden. Tick “Show research tasks” to see it."
        );
        assert!(hidden_line(2, None)
            .starts_with("2 research tasks (trained on synthetic sounds only) are hidden."));
        assert!(hidden_line(2, None).ends_with("to see them."));
        assert_eq!(
            hidden_line(1, Some(RecordingKind::Lung)),
            "The model's only task for lung recordings is a research task, trained on synthetic \
             sounds only, so no score is shown. Tick “Show research tasks” to see it."
        );
        assert!(hidden_line(2, Some(RecordingKind::Heart))
            .starts_with("The model's only tasks for heart recordings are research tasks,"));
    }

    #[test]
    fn unscored_points_to_the_familiarity_notice() {
        assert_eq!(
            unscored(RecordingKind::Lung),
            "No score: the recording is unlike the lung recordings this task was trained on (see above)."
        );
    }
}
