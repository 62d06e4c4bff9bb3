//! The screening heads. For each task: the analyses the bundle itself produces (from the
//! half-precision weights, exactly as `acula predict` and the browser will) of the task's labelled,
//! quality-checked recordings, split by subject with the evaluation's 60/20/20 hash split (so a
//! head's test subjects are EVALUATION.md's wherever the evaluation uses that split; for a dataset
//! with an official split, such as ICBHI, the evaluation uses the official one and the head does not). On training + validation subjects only, for each input set
//! of [`CANDIDATES`]: the L2 strength chosen by 5-fold cross-validation by subject (pooled
//! out-of-fold AUROC), the five fold heads calibrated by Platt scaling on their out-of-fold logits
//! (binary tasks) and averaged into one linear head. The input set with the best cross-validated
//! AUROC is shipped; every candidate is measured once on the test subjects and reported in the
//! manifest, with a bootstrap interval, the AUROC within each recording channel (or device) where
//! the records name one, and the calibration error of the shipped scores.

use std::collections::{BTreeMap, BTreeSet};

use acula_core::bundle::{
    Calibration, GroupAuroc, HeadCandidate, HeadInput, HeadMetrics, RecordingCounts, TaskSpec,
};
use acula_core::screen::Screener;
use acula_core::weights::{self, NamedTensor};
use acula_core::RecordingKind;

use super::catalogue;
use super::familiarity::{self, KindRows};
use super::fit::{self, Linear};
use crate::data::{self, split, Label, Metadata};
use crate::{metrics, Failure};

/// The input sets tried for every head.
pub const CANDIDATES: [&[HeadInput]; 5] = [
    &[HeadInput::Joint],
    &[HeadInput::Encoder],
    &[HeadInput::Statistics],
    &[HeadInput::Joint, HeadInput::Statistics],
    &[HeadInput::Encoder, HeadInput::Statistics],
];
/// The L2 strengths tried.
const LAMBDAS: [f64; 5] = [1e-3, 1e-2, 1e-1, 1.0, 10.0];
/// Cross-validation folds (by subject) on training + validation subjects.
const FOLDS: usize = 5;

/// One labelled, analysed recording of a task.
struct Example {
    subject: String,
    label: usize,
    /// The recording channel or device, where the metadata name one.
    group: Option<String>,
    joint: Vec<f32>,
    encoder: Vec<f32>,
    statistics: Vec<f32>,
}

impl Example {
    fn input(&self, inputs: &[HeadInput]) -> Vec<f32> {
        let mut out = Vec::new();
        for i in inputs {
            out.extend_from_slice(match i {
                HeadInput::Joint => &self.joint,
                HeadInput::Encoder => &self.encoder,
                HeadInput::Statistics => &self.statistics,
            });
        }
        out
    }

    fn part(&self) -> usize {
        part(&self.subject)
    }
}

/// Which part of the evaluation's subject split a subject is in (`acula eval`'s 60/20/20 split).
fn part(subject: &str) -> usize {
    crate::eval::folds::part(subject, "split")
}

/// Which cross-validation fold a training or validation subject is in.
fn fold(subject: &str) -> usize {
    (crate::rng::hash_name(&format!("head-fold-{subject}")) % FOLDS as u64) as usize
}

/// What the heads add to a bundle.
pub struct TaskHeads {
    /// The manifest's tasks, with their metrics.
    pub specs: Vec<TaskSpec>,
    /// `heads.safetensors`: `{id}.weight` `[classes, width]` and `{id}.bias` `[classes]`, f32.
    pub file: Vec<u8>,
    /// What happened to each task's recordings, by task id.
    pub counts: BTreeMap<String, RecordingCounts>,
    /// The recordings of each kind for the familiarity check.
    pub kinds: Vec<(RecordingKind, KindRows)>,
}

/// Fits the head of every task on `screener`'s analyses. (`_seed` is kept for the CLI: the split
/// is the evaluation's, which does not depend on it.)
pub fn fit_all(
    screener: &Screener,
    tasks: &[(data::Dataset, data::Task)],
    _seed: u64,
) -> Result<TaskHeads, Failure> {
    let mut tensors: Vec<NamedTensor> = Vec::new();
    let mut specs = Vec::new();
    let mut counts_by_task = BTreeMap::new();
    let mut kinds: BTreeMap<RecordingKind, KindRows> = BTreeMap::new();
    for (ds, t) in tasks {
        let names = catalogue::names(ds, t);
        let id = names.id;
        let (examples, counts) = task_examples(screener, ds, t, names.recording);
        let trained = train_head(&examples, t.classes.len(), &id)
            .map_err(|e| Failure::input(format!("task {id}: {e}")))?;
        let mut metrics = trained.metrics;
        if metrics.test_by_group.is_some() {
            metrics.group_by = ds
                .records
                .iter()
                .find_map(|r| group_of(&r.metadata))
                .map(|(field, _)| group_words(&field));
        }
        eprintln!(
            "{id}: {} recordings, inputs {:?}, held-out AUROC {}",
            counts.used,
            trained.inputs,
            metrics
                .test_auroc
                .map_or("n/a".into(), |a| format!("{a:.3}"))
        );
        metrics.recordings = Some(counts.clone());
        counts_by_task.insert(id.clone(), counts);
        let rows = kinds.entry(names.recording).or_default();
        for e in &examples {
            let x = e.input(&familiarity::INPUTS);
            match e.part() {
                split::TRAIN => rows.train.push(x),
                split::VALIDATION => rows.val.push(x),
                _ => rows.test.push(x),
            }
        }
        let head = trained.head;
        let f32s = |v: &[f64]| v.iter().map(|x| *x as f32).collect::<Vec<_>>();
        tensors.push((
            format!("{id}.weight"),
            vec![head.classes, head.dim],
            f32s(&head.weight),
        ));
        tensors.push((format!("{id}.bias"), vec![head.classes], f32s(&head.bias)));
        let classes: Vec<String> = t.classes.iter().map(|c| c.to_string()).collect();
        specs.push(TaskSpec {
            id,
            name: names.name,
            description: names.description,
            recording: names.recording,
            positive: (classes.len() == 2).then(|| classes[1].clone()),
            labels: classes,
            synthetic: ds.synthetic,
            metrics: Some(metrics),
            inputs: trained.inputs,
            calibration: trained.calibration,
        });
    }
    let file =
        weights::safetensors_bytes(&tensors, false).map_err(|e| Failure::input(e.to_string()))?;
    Ok(TaskHeads {
        specs,
        file,
        counts: counts_by_task,
        kinds: kinds.into_iter().collect(),
    })
}

/// The recording channel or device a record's metadata name (the first acquisition field), with
/// the field's name.
fn group_of(m: &Metadata) -> Option<(String, String)> {
    m.fields()
        .into_iter()
        .find(|(k, _)| Metadata::ACQUISITION_FIELDS.contains(&k.as_str()))
}

/// What a grouping field is, in the words of the page's accuracy line ("within recording channel: …").
fn group_words(field: &str) -> String {
    match field {
        "Recorded by" => "recording channel".into(),
        "Device" => "stethoscope".into(),
        other => other.to_lowercase(),
    }
}

/// The labelled, quality-checked analyses of one task, and the name of its grouping field.
fn task_examples(
    screener: &Screener,
    ds: &data::Dataset,
    task: &data::Task,
    kind: RecordingKind,
) -> (Vec<Example>, RecordingCounts) {
    let mut counts = RecordingCounts::default();
    let records: Vec<_> = ds
        .records
        .iter()
        .filter(|r| r.has_audio)
        .filter_map(|r| match r.labels.get(task.id) {
            Some(Label::Class(c)) => Some((r, *c)),
            _ => None,
        })
        .collect();
    counts.labelled = records.len();
    let bar = crate::progress::bar(
        records.len() as u64,
        &format!("embed {}:{}", ds.id, task.id),
    );
    let mut out = Vec::new();
    for (r, label) in records {
        bar.inc(1);
        let analysis = data::read_pcm(r, None)
            .ok()
            .and_then(|(s, rate)| screener.analyse_as(&s, rate, Some(kind)).ok());
        match analysis {
            Some(a) => match (a.embedding, a.encoder, a.statistics) {
                (Some(joint), Some(encoder), Some(statistics)) => out.push(Example {
                    subject: r.subject.clone(),
                    label,
                    group: group_of(&r.metadata).map(|(_, v)| v),
                    joint,
                    encoder,
                    statistics,
                }),
                _ => {
                    let v = serde_json::to_value(a.quality.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    *counts.quality.entry(v).or_default() += 1;
                }
            },
            None => counts.unreadable += 1,
        }
    }
    bar.finish_and_clear();
    counts.used = out.len();
    (out, counts)
}

/// A task whose recordings cannot fill the three parts of the split with both classes.
#[derive(Debug, thiserror::Error)]
#[error(
    "{recordings} recordings are too few to give every split both classes (train {train}, validation {validation}, test {test})"
)]
struct TooFew {
    recordings: usize,
    train: usize,
    validation: usize,
    test: usize,
}

/// One task's shipped head and what it measured.
struct Trained {
    head: Linear,
    inputs: Vec<HeadInput>,
    calibration: Option<Calibration>,
    metrics: HeadMetrics,
}

/// One candidate input set, fitted.
struct Fitted {
    inputs: Vec<HeadInput>,
    lambda: f64,
    cv_auroc: Option<f64>,
    /// The calibrated ensemble (binary tasks) or the plain one.
    head: Linear,
    /// The ensemble before calibration.
    raw: Linear,
    calibrated: bool,
}

/// Fits every candidate of [`CANDIDATES`] on training + validation subjects (see the module's
/// documentation), ships the best by cross-validated AUROC and measures each once on the test
/// subjects.
fn train_head(examples: &[Example], classes: usize, id: &str) -> Result<Trained, TooFew> {
    let by = |k: usize| -> Vec<&Example> { examples.iter().filter(|e| e.part() == k).collect() };
    let (train, val, test) = (by(split::TRAIN), by(split::VALIDATION), by(split::TEST));
    let has_all = |s: &[&Example]| s.iter().map(|e| e.label).collect::<BTreeSet<_>>().len() >= 2;
    if !has_all(&train) || !has_all(&val) || !has_all(&test) {
        return Err(TooFew {
            recordings: examples.len(),
            train: train.len(),
            validation: val.len(),
            test: test.len(),
        });
    }
    let trval: Vec<&Example> = train.iter().chain(&val).copied().collect();
    let y: Vec<usize> = trval.iter().map(|e| e.label).collect();
    let folds: Vec<usize> = trval.iter().map(|e| fold(&e.subject)).collect();
    if folds.iter().collect::<BTreeSet<_>>().len() < 2 {
        return Err(TooFew {
            recordings: examples.len(),
            train: train.len(),
            validation: val.len(),
            test: test.len(),
        });
    }
    let binary = classes == 2;
    let fitted: Vec<Fitted> = CANDIDATES
        .iter()
        .map(|inputs| {
            let rows: Vec<Vec<f32>> = trval.iter().map(|e| e.input(inputs)).collect();
            let x: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
            let mut best: Option<(f64, fit::CrossFit, f64)> = None;
            for lambda in LAMBDAS {
                let cf = fit::cross_fit(&x, &y, &folds, FOLDS, classes, lambda);
                let a = fit::auroc_of_logits(&cf.oof, &y).unwrap_or(0.5);
                // Ties go to the stronger penalty.
                if best.as_ref().is_none_or(|b| a >= b.0) {
                    best = Some((a, cf, lambda));
                }
            }
            let (cv_auroc, cf, lambda) = best.expect("LAMBDAS is not empty");
            let raw = fit::ensemble(&cf.heads, None);
            let (head, calibrated) = if binary {
                let d: Vec<f64> = cf.oof.iter().map(|l| l[1] - l[0]).collect();
                let pos: Vec<bool> = y.iter().map(|&l| l == 1).collect();
                (fit::ensemble(&cf.heads, Some(fit::platt(&d, &pos))), true)
            } else {
                (raw.clone(), false)
            };
            Fitted {
                inputs: inputs.to_vec(),
                lambda,
                cv_auroc: Some(cv_auroc),
                head,
                raw,
                calibrated,
            }
        })
        .collect();
    let chosen = fitted
        .iter()
        .enumerate()
        .max_by(|a, b| {
            a.1.cv_auroc
                .unwrap_or(0.0)
                .total_cmp(&b.1.cv_auroc.unwrap_or(0.0))
        })
        .map_or(0, |(i, _)| i);

    // The test subjects, once per candidate.
    let ty: Vec<usize> = test.iter().map(|e| e.label).collect();
    let tpos: Vec<bool> = ty.iter().map(|&l| l == 1).collect();
    let score =
        |h: &Linear, inputs: &[HeadInput], e: &Example| -> Vec<f64> { h.probs(&e.input(inputs)) };
    let groups: BTreeSet<&str> = test.iter().filter_map(|e| e.group.as_deref()).collect();
    let mut candidates = Vec::new();
    let mut by_group_chosen = None;
    let mut chosen_interval = None;
    let mut chosen_test = None;
    for (i, f) in fitted.iter().enumerate() {
        let p: Vec<Vec<f64>> = test.iter().map(|e| score(&f.head, &f.inputs, e)).collect();
        let auroc = metrics::auroc_macro(&p, &ty);
        let interval = if binary {
            let s: Vec<f64> = p.iter().map(|v| v[1]).collect();
            fit::auroc_interval(&s, &tpos, &format!("{id}-{i}"))
        } else {
            None
        };
        let by_group = (binary && groups.len() >= 2).then(|| {
            groups
                .iter()
                .map(|g| {
                    let members: Vec<usize> = (0..test.len())
                        .filter(|&j| test[j].group.as_deref() == Some(*g))
                        .collect();
                    let s: Vec<f64> = members.iter().map(|&j| p[j][1]).collect();
                    let gp: Vec<bool> = members.iter().map(|&j| tpos[j]).collect();
                    let a = GroupAuroc {
                        auroc: metrics::auroc(&s, &gp),
                        interval: fit::auroc_interval(&s, &gp, &format!("{id}-{i}-{g}")),
                        per_class: (0..classes)
                            .map(|c| members.iter().filter(|&&j| ty[j] == c).count())
                            .collect(),
                    };
                    (g.to_string(), a)
                })
                .collect::<BTreeMap<_, _>>()
        });
        if i == chosen {
            chosen_test = auroc;
            chosen_interval = interval;
            by_group_chosen = by_group.clone();
        }
        candidates.push(HeadCandidate {
            chosen: i == chosen,
            cv_auroc: f.cv_auroc,
            inputs: f.inputs.clone(),
            lambda: f.lambda,
            test_auroc: auroc,
            test_by_group: by_group,
            test_interval: interval,
        });
    }
    let f = &fitted[chosen];
    let calibration = (binary && f.calibrated).then(|| {
        let p: Vec<f64> = test.iter().map(|e| score(&f.head, &f.inputs, e)[1]).collect();
        let raw: Vec<f64> = test.iter().map(|e| score(&f.raw, &f.inputs, e)[1]).collect();
        let (ece, bins) = fit::reliability(&p, &tpos);
        Calibration {
            ece_test: ece,
            ece_test_uncalibrated: fit::reliability(&raw, &tpos).0,
            method: format!(
                "Platt scaling of the logit difference, fitted on the out-of-fold logits of {FOLDS}-fold cross-validation by subject on training + validation subjects; the {FOLDS} fold heads, each calibrated, averaged"
            ),
            reliability: bins,
        }
    });
    let count = |s: &[&Example]| -> Vec<usize> {
        (0..classes)
            .map(|c| s.iter().filter(|e| e.label == c).count())
            .collect()
    };
    let metrics = HeadMetrics {
        candidates: Some(candidates),
        group_by: None,
        lambda: Some(f.lambda),
        lambda_grid: None,
        loss: Some("class-balanced softmax cross-entropy + L2".into()),
        recordings: None,
        split: Some(format!(
            "by subject, the evaluation's 60/20/20 hash split (EVALUATION.md's test subjects where it uses that split); inputs and L2 strength chosen by {FOLDS}-fold cross-validation by subject on training + validation subjects (pooled out-of-fold AUROC); test subjects measured once per candidate"
        )),
        subjects: Some(
            examples
                .iter()
                .map(|e| e.subject.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
        ),
        test_auroc: chosen_test,
        test_by_group: by_group_chosen,
        test_interval: chosen_interval,
        test_per_class: Some(count(&test)),
        train_per_class: Some(count(&train)),
        val_auroc: f.cv_auroc,
        val_log_loss: None,
        val_per_class: Some(count(&val)),
        extra: Default::default(),
    };
    Ok(Trained {
        head: f.head.clone(),
        inputs: f.inputs.clone(),
        calibration,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(subject: String, label: usize, signal: f32, noise: f32) -> Example {
        Example {
            subject,
            label,
            group: Some(if label == 1 { "a" } else { "b" }.into()),
            joint: vec![noise, 1.0 - noise],
            encoder: vec![noise * 2.0],
            statistics: vec![signal, noise],
        }
    }

    #[test]
    fn the_candidate_that_carries_the_label_is_chosen_and_every_candidate_is_tested() {
        // Only the statistics carry the label; joint and encoder are noise.
        let mut rng = crate::rng::Rng::new(3);
        let set: Vec<Example> = (0..400)
            .map(|i| {
                let l = i % 2;
                let signal = l as f32 + 0.4 * rng.normal() as f32;
                ex(format!("s{i}"), l, signal, rng.normal() as f32)
            })
            .collect();
        let t = train_head(&set, 2, "t").unwrap();
        assert!(t.inputs.contains(&HeadInput::Statistics), "{:?}", t.inputs);
        let c = t.metrics.candidates.as_ref().unwrap();
        assert_eq!(c.len(), CANDIDATES.len());
        assert_eq!(c.iter().filter(|c| c.chosen).count(), 1);
        let joint_only = c.iter().find(|c| c.inputs == [HeadInput::Joint]).unwrap();
        assert!(joint_only.test_auroc.unwrap() < 0.7, "{joint_only:?}");
        assert!(t.metrics.test_auroc.unwrap() > 0.85);
        let [lo, hi] = t.metrics.test_interval.unwrap();
        assert!(lo < t.metrics.test_auroc.unwrap() && t.metrics.test_auroc.unwrap() < hi);
        // Calibrated: the test ECE is small, and groups that each hold one class get no AUROC.
        let cal = t.calibration.unwrap();
        assert!(cal.ece_test.unwrap() < 0.1, "{cal:?}");
        let g = t.metrics.test_by_group.unwrap();
        assert!(g.values().all(|a| a.auroc.is_none()));
    }

    #[test]
    fn subject_split_never_puts_a_subject_on_two_sides() {
        let subjects: Vec<String> = (0..500).map(|i| format!("p{i}")).collect();
        let parts: Vec<usize> = subjects.iter().map(|s| part(s)).collect();
        for (s, p) in subjects.iter().zip(&parts) {
            assert_eq!(part(s), *p);
            assert!(fold(s) < FOLDS);
        }
        let train = parts.iter().filter(|p| **p == 0).count();
        assert!((250..350).contains(&train), "{train}");
    }
}
