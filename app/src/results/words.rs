//! The results in words: what a score means, how far the task's measured accuracy goes, and the
//! lines about hidden research tasks. Pure functions of the manifest, the screening and the language.

use acula_core::bundle::TaskSpec;
use acula_core::screen::TaskScore;
use acula_core::RecordingKind;

use crate::i18n::{number, plural, tr, Lang};

/// Whether `score` is an estimated probability (its head was calibrated).
fn calibrated(spec: &TaskSpec, score: &TaskScore) -> bool {
    score.calibrated || spec.calibration.is_some()
}

/// A score as a percentage: "63 %".
fn percent(lang: Lang, score: f32) -> String {
    tr(
        lang,
        "unit.percent",
        &[("n", &number(lang, f64::from((score * 100.0).round()), 0))],
    )
}

/// The score as shown large: what it is (`estimated probability` when calibrated, nothing for a
/// plain score) and the percentage (`63 %`).
pub fn score_value(lang: Lang, spec: &TaskSpec, score: &TaskScore) -> (Option<String>, String) {
    let kind = calibrated(spec, score).then(|| tr(lang, "score.estimated", &[]));
    (kind, percent(lang, score.score))
}

/// One sentence on what a score means.
pub fn meaning(lang: Lang, spec: &TaskSpec, score: &TaskScore) -> String {
    let pct = percent(lang, score.score);
    let cal = calibrated(spec, score);
    match &spec.positive {
        Some(pos) => {
            let other = spec
                .labels
                .iter()
                .find(|l| *l != pos)
                .cloned()
                .unwrap_or_else(|| tr(lang, "score.other_label", &[]));
            let lean = if score.score >= 0.5 { pos } else { &other };
            let key = if cal {
                "score.meaning.calibrated"
            } else {
                "score.meaning.plain"
            };
            tr(
                lang,
                key,
                &[("pct", &pct), ("positive", pos), ("lean", lean)],
            )
        }
        None => tr(
            lang,
            if cal {
                "score.likely.calibrated"
            } else {
                "score.likely.plain"
            },
            &[("label", &score.label), ("pct", &pct)],
        ),
    }
}

/// `0.81 [0.74, 0.87]`: an AUROC with its bootstrap interval when there is one.
fn auroc_with_interval(lang: Lang, auroc: f64, interval: Option<[f64; 2]>) -> String {
    match interval {
        Some([lo, hi]) => format!(
            "{} [{}; {}]",
            number(lang, auroc, 2),
            number(lang, lo, 2),
            number(lang, hi, 2)
        )
        .replace(';', if lang == Lang::En { "," } else { ";" }),
        None => number(lang, auroc, 2),
    }
}

/// What the model's measured accuracy says, in one line: validation and held-out AUROC (with its
/// bootstrap 95 % interval), and the held-out AUROC within each group of recordings (e.g. each
/// recording channel) when the manifest has it.
pub fn accuracy(lang: Lang, spec: &TaskSpec) -> String {
    let mut parts = Vec::new();
    let metrics = spec.metrics.clone().unwrap_or_default();
    if let Some(v) = metrics.val_auroc {
        // Heads fitted with candidates report the cross-validated AUROC of training + validation
        // subjects here; older ones the AUROC of one validation part.
        let key = if metrics.candidates.is_some() {
            "accuracy.cross_validated"
        } else {
            "accuracy.validation"
        };
        parts.push(tr(lang, key, &[("auroc", &number(lang, v, 2))]));
    }
    if let Some(t) = metrics.test_auroc {
        parts.push(tr(
            lang,
            "accuracy.test",
            &[(
                "auroc",
                &auroc_with_interval(lang, t, metrics.test_interval),
            )],
        ));
    }
    let mut s = if parts.is_empty() {
        tr(lang, "accuracy.none", &[])
    } else {
        let mut line = tr(lang, "accuracy.measured", &[("parts", &parts.join(", "))]);
        if let Some(groups) = metrics.test_by_group.as_ref().filter(|g| !g.is_empty()) {
            let mut within: Vec<String> = groups
                .iter()
                .filter_map(|(name, g)| g.auroc.map(|a| format!("{name} {}", number(lang, a, 2))))
                .collect();
            let unmeasurable = groups.len() - within.len();
            if within.is_empty() {
                within.push(tr(lang, "accuracy.group.none", &[]));
            } else if unmeasurable > 0 {
                within.push(plural(
                    lang,
                    "accuracy.group.more",
                    unmeasurable as u64,
                    &[],
                ));
            }
            let by = metrics
                .group_by
                .clone()
                .unwrap_or_else(|| tr(lang, "accuracy.group", &[]));
            line.push_str(&tr(
                lang,
                "accuracy.within",
                &[("by", &by), ("groups", &within.join(", "))],
            ));
        }
        line.push('.');
        line
    };
    if spec.research() {
        s.push(' ');
        s.push_str(&tr(lang, "accuracy.synthetic", &[]));
    }
    s
}

/// The line shown while research tasks are hidden: how many, and how to show them. `only` is the
/// recording kind when its only tasks are research tasks (then it says so plainly).
pub fn hidden_line(lang: Lang, count: usize, only: Option<RecordingKind>) -> String {
    let switch = tr(lang, "research.show", &[]);
    match only {
        Some(k) => plural(
            lang,
            "research.only",
            count as u64,
            &[
                ("kind", &tr(lang, &format!("kind.{}.plain", k.id()), &[])),
                ("switch", &switch),
            ],
        ),
        None => plural(
            lang,
            "research.hidden",
            count as u64,
            &[("switch", &switch)],
        ),
    }
}

/// What a research task without a score says (its recording kind was unfamiliar).
pub fn unscored(lang: Lang, kind: RecordingKind) -> String {
    tr(
        lang,
        "score.unscored",
        &[("kind", &tr(lang, &format!("kind.{}.plain", kind.id()), &[]))],
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
        assert!(meaning(Lang::En, &s, &score(0.8, false)).contains("80 %"));
        assert!(meaning(Lang::En, &s, &score(0.8, false)).ends_with("leans towards “present”."));
        assert!(meaning(Lang::En, &s, &score(0.2, false)).ends_with("leans towards “absent”."));
    }

    #[test]
    fn only_a_calibrated_score_is_called_a_probability() {
        let s = spec(json!({}));
        assert_eq!(
            score_value(Lang::En, &s, &score(0.634, false)),
            (None, "63 %".into())
        );
        assert!(!meaning(Lang::En, &s, &score(0.634, false))
            .to_lowercase()
            .contains("probability"));
        assert_eq!(
            score_value(Lang::En, &s, &score(0.634, true)),
            (Some("estimated probability".to_string()), "63 %".into())
        );
        let m = meaning(Lang::En, &s, &score(0.634, true));
        assert!(
            m.starts_with("Estimated probability 63 % of “present”"),
            "{m}"
        );
        assert!(m.ends_with("leans towards “present”."), "{m}");
        let multi = spec(json!({"positive": null}));
        assert_eq!(
            meaning(Lang::En, &multi, &score(0.7, true)),
            "Most likely “present” (estimated probability 70 %)."
        );
        assert_eq!(
            meaning(Lang::En, &multi, &score(0.7, false)),
            "Most likely “present” (70 %)."
        );
    }

    #[test]
    fn accuracy_quotes_the_manifest_and_flags_synthetic_training() {
        let a = accuracy(Lang::En, &spec(json!({})));
        assert_eq!(
            a,
            "Measured (0.5 is chance, 1.0 perfect): validation AUROC 0.72, held-out test AUROC 0.60. \
             Trained on synthetic recordings: a demonstration only."
        );
        let none = accuracy(
            Lang::En,
            &spec(json!({"metrics": null, "synthetic": false})),
        );
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
            accuracy(Lang::En, &s),
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
            accuracy(Lang::En, &none),
            "Measured (0.5 is chance, 1.0 perfect): held-out test AUROC 0.60; within device: not \
             measurable (one class only in each)."
        );
    }

    #[test]
    fn hidden_line_counts_and_says_how_to_show_them() {
        assert_eq!(
            hidden_line(Lang::En, 1, None),
            "1 research task (trained on synthetic sounds only) is hidden. Tick “Show research tasks” to see it."
        );
        assert!(hidden_line(Lang::En, 2, None)
            .starts_with("2 research tasks (trained on synthetic sounds only) are hidden."));
        assert!(hidden_line(Lang::En, 2, None).ends_with("to see them."));
        assert_eq!(
            hidden_line(Lang::En, 1, Some(RecordingKind::Lung)),
            "The model's only task for lung recordings is a research task, trained on synthetic \
             sounds only, so no score is shown. Tick “Show research tasks” to see it."
        );
        assert!(hidden_line(Lang::En, 2, Some(RecordingKind::Heart))
            .starts_with("The model's only tasks for heart recordings are research tasks,"));
    }

    #[test]
    fn russian_words_use_russian_plurals_and_decimal_commas() {
        let s = spec(json!({}));
        assert_eq!(
            meaning(Lang::Ru, &s, &score(0.8, false)),
            "80 % сходства с записями с меткой «present»: модель склоняется к «present»."
        );
        assert!(
            accuracy(Lang::Ru, &s).contains("0,72"),
            "{}",
            accuracy(Lang::Ru, &s)
        );
        assert!(hidden_line(Lang::Ru, 2, None).starts_with("2 исследовательские задачи"));
        assert!(hidden_line(Lang::Ru, 5, None).starts_with("5 исследовательских задач"));
    }

    #[test]
    fn unscored_points_to_the_familiarity_notice() {
        assert_eq!(
            unscored(Lang::En, RecordingKind::Lung),
            "No score: the recording is unlike the lung recordings this task was trained on (see above)."
        );
    }
}
