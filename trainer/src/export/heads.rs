//! The screening heads: for each task, the joint embeddings the bundle itself produces (from the
//! half-precision weights, exactly as `acula predict` and the browser will) of the task's labelled,
//! quality-checked recordings, and one class-balanced softmax regression on them. The L2 strength is
//! chosen on validation subjects, the head refitted on training + validation subjects and its AUROC
//! measured on held-out test subjects (60/20/20 by subject, see [`crate::data::split`]).

use std::collections::{BTreeMap, BTreeSet};

use acula_core::bundle::{HeadMetrics, LambdaPoint, RecordingCounts, TaskSpec};
use acula_core::head::{logit, probabilities, softmax};
use acula_core::screen::Screener;
use acula_core::weights::{self, NamedTensor};

use super::catalogue;
use crate::adam::Adam;
use crate::data::{self, split, Label};
use crate::{metrics, Failure};

/// One labelled example of a task.
struct Example {
    subject: String,
    label: usize,
    embedding: Vec<f32>,
}

/// What the heads add to a bundle.
pub struct TaskHeads {
    /// The manifest's tasks, with their metrics.
    pub specs: Vec<TaskSpec>,
    /// `heads.safetensors`: `{id}.weight` `[classes, dim]` and `{id}.bias` `[classes]`, f32.
    pub file: Vec<u8>,
    /// What happened to each task's recordings, by task id.
    pub counts: BTreeMap<String, RecordingCounts>,
}

/// Fits the head of every task on `screener`'s joint embeddings.
pub fn fit_all(
    screener: &Screener,
    tasks: &[(data::Dataset, data::Task)],
    seed: u64,
) -> Result<TaskHeads, Failure> {
    let mut tensors: Vec<NamedTensor> = Vec::new();
    let mut specs = Vec::new();
    let mut counts_by_task = BTreeMap::new();
    for (ds, t) in tasks {
        let names = catalogue::names(ds, t);
        let id = names.id;
        let (examples, counts) = task_examples(screener, ds, t);
        let (head, mut metrics) = train_head(&examples, t.classes.len(), seed)
            .map_err(|e| Failure::input(format!("task {id}: {e}")))?;
        eprintln!(
            "{id}: {} recordings, held-out AUROC {}",
            counts.used,
            metrics
                .test_auroc
                .map_or("n/a".into(), |a| format!("{a:.3}"))
        );
        metrics.recordings = Some(counts.clone());
        counts_by_task.insert(id.clone(), counts);
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
        });
    }
    let file =
        weights::safetensors_bytes(&tensors, false).map_err(|e| Failure::input(e.to_string()))?;
    Ok(TaskHeads {
        specs,
        file,
        counts: counts_by_task,
    })
}

/// The labelled, quality-checked joint embeddings of one task.
fn task_examples(
    screener: &Screener,
    ds: &data::Dataset,
    task: &data::Task,
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
            .and_then(|(s, rate)| screener.analyse(&s, rate).ok());
        match analysis {
            Some(a) => match a.embedding {
                Some(e) => out.push(Example {
                    subject: r.subject.clone(),
                    label,
                    embedding: e,
                }),
                None => {
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

/// A softmax-regression head: `[classes, dim]` weights and `[classes]` biases (on raw embeddings).
struct Head {
    weight: Vec<f64>,
    bias: Vec<f64>,
    classes: usize,
    dim: usize,
}

impl Head {
    fn probs(&self, x: &[f32]) -> Vec<f64> {
        probabilities(&self.weight, &self.bias, x)
    }

    /// Class-balanced mean cross-entropy (each class weighs the same), the selection criterion: it
    /// rewards calibrated probabilities, not only a good ranking.
    fn log_loss(&self, set: &[&Example]) -> f64 {
        let classes: BTreeSet<usize> = set.iter().map(|e| e.label).collect();
        let per_class: Vec<f64> = classes
            .iter()
            .map(|&c| {
                let members: Vec<&&Example> = set.iter().filter(|e| e.label == c).collect();
                members
                    .iter()
                    .map(|e| -self.probs(&e.embedding)[c].max(1e-12).ln())
                    .sum::<f64>()
                    / members.len() as f64
            })
            .collect();
        per_class.iter().sum::<f64>() / per_class.len().max(1) as f64
    }

    fn auroc(&self, set: &[&Example]) -> Option<f64> {
        let p: Vec<Vec<f64>> = set.iter().map(|e| self.probs(&e.embedding)).collect();
        let y: Vec<usize> = set.iter().map(|e| e.label).collect();
        metrics::auroc_macro(&p, &y)
    }
}

/// Fits a class-balanced softmax regression with L2 penalty `lambda` on standardised features
/// (Adam, full batch, 400 steps of 0.05), then folds the standardisation into the weights.
fn fit(set: &[&Example], classes: usize, lambda: f64) -> Head {
    let dim = set[0].embedding.len();
    let n = set.len() as f64;
    let mut mean = vec![0f64; dim];
    for e in set {
        for (m, v) in mean.iter_mut().zip(&e.embedding) {
            *m += f64::from(*v) / n;
        }
    }
    let mut sd = vec![0f64; dim];
    for e in set {
        for ((s, v), m) in sd.iter_mut().zip(&e.embedding).zip(&mean) {
            *s += (f64::from(*v) - m).powi(2) / n;
        }
    }
    let sd: Vec<f64> = sd.iter().map(|s| s.sqrt().max(1e-6)).collect();
    let z: Vec<Vec<f64>> = set
        .iter()
        .map(|e| {
            e.embedding
                .iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((v, m), s)| (f64::from(*v) - m) / s)
                .collect()
        })
        .collect();
    // Balanced class weights: each class weighs as much in the loss.
    let mut per_class = vec![0usize; classes];
    for e in set {
        per_class[e.label] += 1;
    }
    let present = per_class.iter().filter(|c| **c > 0).count() as f64;
    let cw: Vec<f64> = per_class
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n / (present * c as f64)
            }
        })
        .collect();
    // One flat vector: the `[classes, dim]` weights row by row, then the biases.
    let cd = classes * dim;
    let mut theta = vec![0f64; cd + classes];
    let mut adam = Adam::new(theta.len());
    for _ in 0..400 {
        let mut g = vec![0f64; theta.len()];
        for (x, e) in z.iter().zip(set) {
            let logits: Vec<f64> = (0..classes)
                .map(|c| logit(&theta[c * dim..(c + 1) * dim], theta[cd + c], x))
                .collect();
            let p = softmax(&logits);
            let w = cw[e.label] / n;
            for c in 0..classes {
                let d = w * (p[c] - if c == e.label { 1.0 } else { 0.0 });
                for (gi, v) in g[c * dim..(c + 1) * dim].iter_mut().zip(x) {
                    *gi += d * v;
                }
                g[cd + c] += d;
            }
        }
        for (gi, t) in g[..cd].iter_mut().zip(&theta) {
            *gi += lambda * t;
        }
        adam.step(&mut theta, &g, 0.05);
    }
    // logits = W (x − μ)/σ + b = (W/σ) x + (b − Σ W μ/σ).
    let mut weight = vec![0f64; cd];
    let mut bias = theta[cd..].to_vec();
    for c in 0..classes {
        for j in 0..dim {
            let w = theta[c * dim + j] / sd[j];
            weight[c * dim + j] = w;
            bias[c] -= w * mean[j];
        }
    }
    Head {
        weight,
        bias,
        classes,
        dim,
    }
}

/// Which part of the head's subject split a subject is in (see [`split::part`]).
fn part(seed: u64, subject: &str) -> usize {
    split::part(seed, &format!("head-split-{subject}"))
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

/// Trains one task's head: L2 strength chosen on the validation subjects (lowest class-balanced
/// cross-entropy), refitted on training + validation, AUROC measured on the held-out test subjects
/// (no subject on two sides).
fn train_head(
    examples: &[Example],
    classes: usize,
    seed: u64,
) -> Result<(Head, HeadMetrics), TooFew> {
    let by = |k: usize| -> Vec<&Example> {
        examples
            .iter()
            .filter(|e| part(seed, &e.subject) == k)
            .collect()
    };
    let (train, val, test) = (by(split::TRAIN), by(split::VALIDATION), by(split::TEST));
    let has_all = |s: &[&Example]| {
        let set: BTreeSet<usize> = s.iter().map(|e| e.label).collect();
        set.len() >= 2
    };
    if !has_all(&train) || !has_all(&val) || !has_all(&test) {
        return Err(TooFew {
            recordings: examples.len(),
            train: train.len(),
            validation: val.len(),
            test: test.len(),
        });
    }
    let mut best = (f64::INFINITY, 1.0, 0.5);
    let mut grid = Vec::new();
    for lambda in [1e-3, 1e-2, 1e-1, 1.0, 10.0] {
        let h = fit(&train, classes, lambda);
        let (loss, a) = (h.log_loss(&val), h.auroc(&val).unwrap_or(0.5));
        grid.push(LambdaPoint {
            lambda,
            val_auroc: Some(a),
            val_log_loss: Some(loss),
        });
        if loss < best.0 {
            best = (loss, lambda, a);
        }
    }
    let trval: Vec<&Example> = train.iter().chain(&val).copied().collect();
    let head = fit(&trval, classes, best.1);
    let test_auroc = head.auroc(&test);
    let count = |s: &[&Example]| -> Vec<usize> {
        (0..classes)
            .map(|c| s.iter().filter(|e| e.label == c).count())
            .collect()
    };
    let metrics = HeadMetrics {
        test_auroc,
        val_auroc: Some(best.2),
        val_log_loss: Some(best.0),
        lambda: Some(best.1),
        lambda_grid: Some(grid),
        split: Some("by subject: 60 % train, 20 % validation (chooses the L2 strength by class-balanced cross-entropy), 20 % test; refitted on train + validation".into()),
        train_per_class: Some(count(&train)),
        val_per_class: Some(count(&val)),
        test_per_class: Some(count(&test)),
        subjects: Some(examples.iter().map(|e| e.subject.as_str()).collect::<BTreeSet<_>>().len()),
        loss: Some("class-balanced softmax cross-entropy + L2".into()),
        recordings: None,
        extra: Default::default(),
    };
    Ok((head, metrics))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(subject: &str, label: usize, x: [f32; 2]) -> Example {
        Example {
            subject: subject.into(),
            label,
            embedding: x.to_vec(),
        }
    }

    #[test]
    fn the_head_separates_separable_classes_and_folds_the_standardisation() {
        let set: Vec<Example> = (0..40)
            .map(|i| {
                let l = i % 2;
                let v = if l == 1 { 3.0 } else { 1.0 } + (i as f32 * 0.01);
                ex(&format!("s{i}"), l, [v, 100.0 - i as f32])
            })
            .collect();
        let refs: Vec<&Example> = set.iter().collect();
        let head = fit(&refs, 2, 1e-3);
        assert_eq!(head.auroc(&refs), Some(1.0));
        let p = head.probs(&[3.0, 50.0]);
        assert!(p[1] > 0.9, "{p:?}");
    }

    #[test]
    fn subject_split_never_puts_a_subject_on_two_sides() {
        let subjects: Vec<String> = (0..500).map(|i| format!("p{i}")).collect();
        let parts: Vec<usize> = subjects.iter().map(|s| part(7, s)).collect();
        for (s, p) in subjects.iter().zip(&parts) {
            assert_eq!(part(7, s), *p);
        }
        let train = parts.iter().filter(|p| **p == 0).count();
        assert!((250..350).contains(&train), "{train}");
    }
}
