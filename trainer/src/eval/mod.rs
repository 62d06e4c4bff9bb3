//! `acula eval`: the OPERA linear-probe evaluation of frozen representations, every representation on
//! the same recordings and the same splits in one run.
//!
//! For each task (`DATASET_DIR:TASK`, optionally `:FIELD=VALUE` to keep the records whose metadata field
//! has that value, e.g. `Recorded by=messenger bot`), the recordings (or annotated segments, for
//! segment tasks) are decoded once, quality-checked as `acula predict` does, and turned into the
//! reference log-mel features (trimmed, repeat-padded); each representation (`--model NAME=SPEC`) then
//! embeds them: `handcrafted` (log-mel and MFCC statistics), `random:PRESET` (an encoder at random
//! initialisation, seed 0), or a `pretrain`/`align` run folder (its final encoder; OPERA's clip
//! embedding: the mean of 256-frame chunk embeddings). The probe ([`probe`]) is trained with 5 seeds on
//! a split by subject — the official split where the dataset has one, leave-one-subject-out where it has
//! fewer subjects than `--loso-below`, else 60/20/20 by a hash of the subject — and tested; the
//! AUROC's mean ± std over the seeds and a bootstrap 95 % interval (test recordings resampled, the seeds'
//! AUROCs averaged per resample) are reported in `results.json` and `results.md`.

pub mod handcrafted;
pub mod holdout;
pub mod probe;
pub mod retrieval;
pub mod roc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use acula_core::bundle::{ChunkConfig, Evaluation};
use acula_core::encoder::{Encoder, EncoderConfig};
use acula_core::quality::QualityConfig;
use acula_core::screen;
use acula_core::{Features, FrontEnd, FrontEndConfig};
use clap::Args;
use serde::Serialize;

use crate::bundle_dir::BundleDir;
use crate::data::{self, split, Label, TaskRef, TaskUnit};
use crate::rng::Rng;
use crate::train::RunDir;
use crate::{metrics, Failure};
use probe::{mean_std, ProbeConfig};

/// `acula eval` flags.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A task: `DATASET_DIR:TASK[:FIELD=VALUE]` (e.g. `../shared/data/covid19-cough:covid`, or with
    /// `:Recorded by=messenger bot` for one recording source); repeat for several.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<TaskRef>,
    /// A representation: `NAME=handcrafted`, `NAME=random:gt-tiny`, or `NAME=RUN_DIR` (an `acula
    /// pretrain` or `acula align` run folder); repeat for several. Rows appear in this order.
    #[arg(long = "model", required = true)]
    pub models: Vec<String>,
    /// Folder for `results.json` and `results.md` (created).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Probe seeds (0, 1, …).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Bootstrap resamples for the 95 % intervals (0: none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Leave-one-subject-out for tasks with fewer subjects than this (and no official split).
    #[arg(long, default_value_t = 60)]
    pub loso_below: usize,
    /// Probe epochs (OPERA: 64; 50 for KAUH, which `--loso-below` tasks get).
    #[arg(long, default_value_t = 64)]
    pub epochs: usize,
    /// At most this many units per task (the first by id; for quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Retrieval in an alignment run's joint space: `NAME=ALIGN_RUN_DIR`; repeat for several. Needs
    /// `--reports` and `--embeddings` (the reports CSV and teacher embeddings the run was aligned on).
    #[arg(long = "retrieval")]
    pub retrieval: Vec<String>,
    /// The reports CSV the alignment runs were trained on (for `--retrieval`).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// The teacher embeddings of `--reports` (`.npy`).
    #[arg(long)]
    pub embeddings: Option<PathBuf>,
    /// The MiniLM teacher's folder, for the zero-shot prompts of `--retrieval` runs (default: the model
    /// cache that `scripts/fetch-models.sh minilm` fills).
    #[arg(long)]
    pub teacher_dir: Option<PathBuf>,
    /// A model bundle folder whose `manifest.json` gets these results as its `evaluation` (the table,
    /// retrieval and zero-shot rows, the protocol), rewritten atomically; the bundle's files are
    /// untouched (the manifest is not among the checksummed files).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Compute backend for the encoders.
    #[arg(long, value_enum, default_value_t = crate::backend::Backend::Flex)]
    pub backend: crate::backend::Backend,
}

/// One unit of a task: a recording or a segment.
struct Unit {
    dataset: String,
    record_id: String,
    subject: String,
    /// The class (0 for regression tasks).
    label: usize,
    /// The regression target (NaN for classification tasks).
    value: f64,
    split: Option<data::Split>,
    features: Features,
}

/// A representation.
enum Model {
    Handcrafted,
    Encoder(Box<Encoder>),
}

fn parse_model(spec: &str, device: &burn::tensor::Device) -> Result<(String, Model), Failure> {
    let (name, what) = spec.split_once('=').ok_or_else(|| {
        Failure::usage(format!(
            "--model {spec}: write NAME=handcrafted, NAME=random:gt-tiny or NAME=RUN_DIR"
        ))
    })?;
    let model = if what == "handcrafted" {
        Model::Handcrafted
    } else if let Some(preset) = what.strip_prefix("random:") {
        let cfg = EncoderConfig::preset(preset).ok_or_else(|| {
            Failure::usage(format!("--model {spec}: unknown encoder preset {preset}"))
        })?;
        device.seed(0);
        Model::Encoder(Box::new(
            Encoder::new(&cfg, device).map_err(|e| Failure::usage(e.to_string()))?,
        ))
    } else {
        let encoder = RunDir::new(what).encoder(&format!("--model {spec}"), device)?;
        Model::Encoder(Box::new(encoder))
    };
    Ok((name.to_string(), model))
}

/// A task's units to compute: the record, the segment (if any) and the label (a class, or a value for
/// regression tasks).
type Todo<'a> = (&'a data::Record, Option<(f64, f64)>, Label);

/// The folds of a task: regression tasks always leave one subject out (the protocol's
/// leave-one-subject-out MAE, official split or not); classification as [`folds`] decides.
fn task_folds(
    mut keys: Vec<Key>,
    regression: bool,
    loso_below: usize,
) -> (Protocol, Vec<[Vec<usize>; 3]>) {
    if regression {
        for k in &mut keys {
            k.1 = None;
        }
        return folds(&keys, usize::MAX);
    }
    folds(&keys, loso_below)
}

/// A loaded task.
struct Loaded {
    name: String,
    /// The unit of a regression task's values (`None` for classification).
    regression: Option<&'static str>,
    segments: bool,
    classes: Vec<String>,
    synthetic: bool,
    units: Vec<Unit>,
    counts: Counts,
}

/// What happened to a task's units.
#[derive(Debug, Default, Clone, Serialize)]
struct Counts {
    labelled: usize,
    used: usize,
    quality: BTreeMap<String, usize>,
    unreadable: usize,
}

/// A task's dataset and the records its spec selects.
pub(crate) struct Selected {
    ds: data::Dataset,
    task: data::Task,
    spec: TaskRef,
    /// `dataset:task`, with the filter in brackets.
    name: String,
}

/// Loads the dataset of a task spec and finds the task.
pub(crate) fn select(spec: &TaskRef) -> Result<Selected, Failure> {
    let (ds, task) = spec.load()?;
    let name = spec.name(ds.id);
    Ok(Selected {
        ds,
        task,
        spec: spec.clone(),
        name,
    })
}

impl Selected {
    /// Whether this is a regression task.
    pub(crate) fn regression(&self) -> bool {
        self.task.kind == data::TaskKind::Regression
    }

    /// The labelled units (recordings or segments) with audio, ordered by record id.
    fn todo(&self, limit: Option<usize>) -> Vec<Todo<'_>> {
        let keep = |r: &data::Record| self.spec.keeps(r);
        let task = &self.task;
        let mut records: Vec<&data::Record> = self
            .ds
            .records
            .iter()
            .filter(|r| r.has_audio && keep(r))
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let mut todo: Vec<Todo> = Vec::new();
        for r in records {
            match task.unit {
                TaskUnit::Recording => {
                    if let Some(l) = r.labels.get(task.id) {
                        todo.push((r, None, *l));
                    }
                }
                TaskUnit::Segment => {
                    for s in &r.segments {
                        if let Some(l) = s.labels.get(task.id) {
                            todo.push((r, Some((s.start_s, s.end_s)), *l));
                        }
                    }
                }
            }
        }
        if let Some(n) = limit {
            todo.truncate(n);
        }
        todo
    }
}

/// Loads one task's units (features computed once for every representation).
fn units(spec: &TaskRef, limit: Option<usize>) -> Result<Loaded, Failure> {
    let selected = select(spec)?;
    let Selected { ds, task, name, .. } = &selected;
    let todo = selected.todo(limit);
    let mut counts = Counts {
        labelled: todo.len(),
        ..Counts::default()
    };
    let front =
        FrontEnd::new(FrontEndConfig::default()).map_err(|e| Failure::input(e.to_string()))?;
    let (qcfg, chunk) = (QualityConfig::default(), ChunkConfig::default());
    let bar = crate::progress::bar(todo.len() as u64, &format!("features {name}"));
    let mut out = Vec::new();
    for (r, span, label) in todo {
        bar.inc(1);
        // What the screening path does before the encoder: quality check, resampling, trimmed and
        // repeat-padded log-mel features.
        let prepared = data::read_pcm(r, span).ok().and_then(|(samples, rate)| {
            screen::prepare(&front, &qcfg, &chunk, &samples, rate).ok()
        });
        let Some(prepared) = prepared else {
            counts.unreadable += 1;
            continue;
        };
        let Some(features) = prepared.features else {
            let v = serde_json::to_value(prepared.quality.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *counts.quality.entry(v).or_default() += 1;
            continue;
        };
        out.push(Unit {
            dataset: ds.id.to_string(),
            record_id: r.id.clone(),
            subject: r.subject.clone(),
            label: match label {
                Label::Class(c) => c,
                Label::Value(_) => 0,
            },
            value: match label {
                Label::Class(_) => f64::NAN,
                Label::Value(v) => v,
            },
            split: r.split,
            features,
        });
    }
    bar.finish_and_clear();
    counts.used = out.len();
    Ok(Loaded {
        name: name.clone(),
        regression: (task.kind == data::TaskKind::Regression).then_some(task.unit_name),
        segments: task.unit == TaskUnit::Segment,
        classes: task.classes.iter().map(|c| c.to_string()).collect(),
        synthetic: ds.synthetic,
        units: out,
        counts,
    })
}

/// The embeddings of every unit under one representation.
fn embed(model: &Model, units: &[Unit], what: &str) -> Result<Vec<Vec<f32>>, Failure> {
    // The bundle's chunking, so that an evaluation embeds exactly as screening does.
    let chunk = ChunkConfig::default();
    let bar = crate::progress::bar(units.len() as u64, what);
    let mut out = Vec::with_capacity(units.len());
    for u in units {
        bar.inc(1);
        let f = &u.features;
        out.push(match model {
            Model::Handcrafted => handcrafted::statistics(f),
            Model::Encoder(e) => e
                .embed_clip(&f.data, f.frames, f.n_mels, chunk.frames, chunk.min_frames)
                .map_err(|e| Failure::input(e.to_string()))?,
        });
    }
    bar.finish_and_clear();
    Ok(out)
}

/// How a task's units are split.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
enum Protocol {
    /// The dataset's official train/validation/test split.
    Official,
    /// 60/20/20 by a hash of the subject.
    SubjectSplit,
    /// Leave one subject out (validation: 20 % of the other subjects).
    Loso,
}

/// Which part (0 train, 1 validation, 2 test) a subject is in, for 60/20/20 splits.
fn part(subject: &str, salt: &str) -> usize {
    split::part(0, &format!("eval-split-{salt}-{subject}"))
}

/// A unit's subject and official split: all that decides its fold.
type Key<'a> = (&'a str, Option<data::Split>);

/// Folds of (train, validation, test) indices of `keys`.
fn folds(keys: &[Key], loso_below: usize) -> (Protocol, Vec<[Vec<usize>; 3]>) {
    let official = !keys.is_empty() && keys.iter().all(|k| k.1.is_some());
    if official {
        let mut f: [Vec<usize>; 3] = Default::default();
        for (i, (_, split)) in keys.iter().enumerate() {
            let k = match split {
                Some(data::Split::Train) => 0,
                Some(data::Split::Val) => 1,
                _ => 2,
            };
            f[k].push(i);
        }
        // An official split without a validation part: take one from training, by subject.
        if f[1].is_empty() {
            let (tr, va): (Vec<usize>, Vec<usize>) =
                f[0].iter().partition(|&&i| part(keys[i].0, "val") != 1);
            f[0] = tr;
            f[1] = va;
        }
        return (Protocol::Official, vec![f]);
    }
    let mut subjects: Vec<&str> = keys.iter().map(|k| k.0).collect();
    subjects.sort_unstable();
    subjects.dedup();
    if subjects.len() < loso_below {
        let folds = subjects
            .iter()
            .map(|&held| {
                let mut f: [Vec<usize>; 3] = Default::default();
                for (i, (subject, _)) in keys.iter().enumerate() {
                    let k = if *subject == held {
                        2
                    } else if part(subject, held) == 2 {
                        1
                    } else {
                        0
                    };
                    f[k].push(i);
                }
                f
            })
            .collect();
        return (Protocol::Loso, folds);
    }
    let mut f: [Vec<usize>; 3] = Default::default();
    for (i, (subject, _)) in keys.iter().enumerate() {
        f[part(subject, "split")].push(i);
    }
    (Protocol::SubjectSplit, vec![f])
}

/// The fold keys of units.
fn keys(units: &[Unit]) -> Vec<Key<'_>> {
    units
        .iter()
        .map(|u| (u.subject.as_str(), u.split))
        .collect()
}

/// One (task, representation) result.
#[derive(Debug, Clone, Serialize)]
struct Cell {
    task: String,
    model: String,
    /// `auroc` (higher is better) or `mae` (regression; lower is better).
    metric: &'static str,
    /// The metric of each probe seed.
    per_seed: Vec<Option<f64>>,
    mean: f64,
    std: f64,
    ci95: Option<[f64; 2]>,
}

/// Test probabilities of every seed (`[seed][test unit] → class probabilities`), and the test units.
fn probe_all(
    x: &[Vec<f32>],
    y: &[usize],
    classes: usize,
    folds: &[[Vec<usize>; 3]],
    seeds: u64,
    cfg: &ProbeConfig,
) -> (Vec<Vec<Vec<f64>>>, Vec<usize>) {
    let test: Vec<usize> = folds.iter().flat_map(|f| f[2].iter().copied()).collect();
    let probs = (0..seeds)
        .map(|seed| {
            folds
                .iter()
                .flat_map(|[tr, va, te]| {
                    let head = probe::train(x, y, classes, tr, va, seed, cfg);
                    te.iter()
                        .map(move |&i| head.probs(&x[i]))
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .collect();
    (probs, test)
}

/// The AUROC cell of classification probes: `probs[seed][test unit]`.
fn cell(
    task: &str,
    model: &str,
    probs: &[Vec<Vec<f64>>],
    labels: &[usize],
    bootstrap: usize,
) -> Cell {
    let stat = |pick: &[usize]| {
        let y: Vec<usize> = pick.iter().map(|&i| labels[i]).collect();
        probs
            .iter()
            .map(|p| {
                let ps: Vec<Vec<f64>> = pick.iter().map(|&i| p[i].clone()).collect();
                metrics::auroc_macro(&ps, &y)
            })
            .collect::<Vec<_>>()
    };
    summarise(task, model, "auroc", labels.len(), bootstrap, stat)
}

/// The MAE cell of regression probes: `preds[seed][test unit]` against `truth`.
fn mae_cell(task: &str, model: &str, preds: &[Vec<f64>], truth: &[f64], bootstrap: usize) -> Cell {
    let stat = |pick: &[usize]| {
        preds
            .iter()
            .map(|p| {
                (!pick.is_empty()).then(|| {
                    pick.iter().map(|&i| (p[i] - truth[i]).abs()).sum::<f64>() / pick.len() as f64
                })
            })
            .collect::<Vec<_>>()
    };
    summarise(task, model, "mae", truth.len(), bootstrap, stat)
}

/// Mean ± std over seeds of `per_seed(all test units)`, and a bootstrap 95 % interval: the test units
/// resampled with replacement, the seeds' values averaged per resample.
fn summarise(
    task: &str,
    model: &str,
    metric: &'static str,
    n: usize,
    bootstrap: usize,
    per_seed: impl Fn(&[usize]) -> Vec<Option<f64>>,
) -> Cell {
    let all: Vec<usize> = (0..n).collect();
    let scores = per_seed(&all);
    let got: Vec<f64> = scores.iter().flatten().copied().collect();
    let (mean, std) = mean_std(&got);
    let ci95 = (bootstrap > 0 && n > 0).then(|| {
        let mut rng = Rng::for_item(0, &format!("bootstrap-{task}"));
        let mut means = Vec::new();
        for _ in 0..bootstrap {
            let pick: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
            let per: Vec<f64> = per_seed(&pick).into_iter().flatten().collect();
            if !per.is_empty() {
                means.push(per.iter().sum::<f64>() / per.len() as f64);
            }
        }
        means.sort_by(f64::total_cmp);
        let at = |q: f64| means[((means.len() - 1) as f64 * q).round() as usize];
        (!means.is_empty()).then(|| [at(0.025), at(0.975)])
    });
    Cell {
        task: task.to_string(),
        model: model.to_string(),
        metric,
        per_seed: scores,
        mean,
        std,
        ci95: ci95.flatten(),
    }
}

/// A file-name form of a task name: lower-case letters and digits, dashes between.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
}

/// Runs `acula eval`.
pub fn run(args: &EvalArgs) -> Result<(), Failure> {
    if let Some(dir) = &args.bundle {
        BundleDir::new(dir).manifest()?;
    }
    let device = args.backend.device()?;
    let models: Vec<(String, Model)> = args
        .models
        .iter()
        .map(|m| parse_model(m, &device))
        .collect::<Result<_, _>>()?;
    let retrieval = Retrieval::load(args, &device)?;
    let mut retrieval_rows = Vec::new();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", args.out.display())))?;
    let mut tasks = Vec::new();
    let mut cells = Vec::new();
    for spec in &args.tasks {
        let Loaded {
            name,
            regression,
            segments,
            classes,
            synthetic,
            units,
            counts,
        } = units(spec, args.limit)?;
        let y: Vec<usize> = units.iter().map(|u| u.label).collect();
        let (protocol, folds) = task_folds(keys(&units), regression.is_some(), args.loso_below);
        let epochs = if matches!(protocol, Protocol::Loso) {
            args.epochs.min(50)
        } else {
            args.epochs
        };
        let cfg = ProbeConfig::opera(epochs);
        let sizes: Vec<usize> = (0..3)
            .map(|k| folds.iter().map(|f| f[k].len()).sum::<usize>() / folds.len().max(1))
            .collect();
        eprintln!(
            "{name}: {} units, {:?} ({} folds; train/val/test {}/{}/{}){}",
            units.len(),
            protocol,
            folds.len(),
            sizes[0],
            sizes[1],
            sizes[2],
            if synthetic { " [SYNTHETIC]" } else { "" }
        );
        if let Some(unit) = regression {
            let values: Vec<f64> = units.iter().map(|u| u.value).collect();
            let test: Vec<usize> = folds.iter().flat_map(|f| f[2].iter().copied()).collect();
            let truth: Vec<f64> = test.iter().map(|&i| values[i]).collect();
            for (model_name, model) in &models {
                let x = embed(model, &units, &format!("{model_name} on {name}"))?;
                let preds: Vec<Vec<f64>> = (0..args.seeds)
                    .map(|seed| {
                        folds
                            .iter()
                            .flat_map(|[tr, va, te]| {
                                let f = probe::train_regression(&x, &values, tr, va, seed, &cfg);
                                te.iter().map(|&i| f(&x[i])).collect::<Vec<_>>()
                            })
                            .collect()
                    })
                    .collect();
                let c = mae_cell(&name, model_name, &preds, &truth, args.bootstrap);
                eprintln!(
                    "  {model_name:<24} MAE {:.3} ± {:.3} {unit}{}",
                    c.mean,
                    c.std,
                    c.ci95
                        .map_or(String::new(), |[a, b]| format!("  [{a:.3}, {b:.3}]"))
                );
                cells.push(c);
            }
            tasks.push(serde_json::json!({
                "task": name,
                "spec": spec,
                "regression_unit": unit,
                "synthetic": synthetic,
                "protocol": protocol,
                "folds": folds.len(),
                "train_val_test": sizes,
                "counts": counts,
                "probe": cfg,
            }));
            continue;
        }
        let mut curves = Vec::new();
        for (model_name, model) in &models {
            let x = embed(model, &units, &format!("{model_name} on {name}"))?;
            let (probs, test) = probe_all(&x, &y, classes.len(), &folds, args.seeds, &cfg);
            let labels: Vec<usize> = test.iter().map(|&i| y[i]).collect();
            if classes.len() == 2 && !probs.is_empty() {
                // The seeds' mean probability of the positive class per test unit.
                let mean: Vec<f64> = (0..labels.len())
                    .map(|i| probs.iter().map(|p| p[i][1]).sum::<f64>() / probs.len() as f64)
                    .collect();
                let pos: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                curves.push((model_name.clone(), roc::curve(&mean, &pos)));
            }
            let c = cell(&name, model_name, &probs, &labels, args.bootstrap);
            eprintln!(
                "  {model_name:<24} AUROC {:.3} ± {:.3}{}",
                c.mean,
                c.std,
                c.ci95
                    .map_or(String::new(), |[a, b]| format!("  [{a:.3}, {b:.3}]"))
            );
            cells.push(c);
        }
        if !segments {
            if let Some(r) = &retrieval {
                let test: Vec<usize> = if matches!(protocol, Protocol::Loso) {
                    (0..units.len()).collect()
                } else {
                    folds.iter().flat_map(|f| f[2].iter().copied()).collect()
                };
                let dataset = units.first().map_or("", |u| u.dataset.as_str());
                let p = prompts(dataset, &spec.task, &classes);
                let mut figure = Vec::new();
                for (model_name, model) in &r.models {
                    let m = r.measure(model, &units, &test, (p.as_deref(), &classes), &device)?;
                    let (a, b) = (&m.audio_to_report, &m.report_to_audio);
                    eprintln!(
                        "  retrieval {model_name:<14} audio→report R@1 {:.3} R@5 {:.3} MRR {:.3}; report→audio R@1 {:.3} MRR {:.3} ({} queries){}",
                        a.r1, a.r5, a.mrr, b.r1, b.mrr, a.queries,
                        m.zero_shot.as_ref().map_or(String::new(), |z| format!(
                            "; zero-shot AUROC {:.3} accuracy {:.3}",
                            z.auroc.unwrap_or(f64::NAN),
                            z.accuracy
                        ))
                    );
                    retrieval_rows.push(serde_json::json!({
                        "task": name, "model": model_name, "audio_to_report": a, "report_to_audio": b,
                        "zero_shot": m.zero_shot, "examples": m.examples,
                    }));
                    figure.push((model_name.clone(), m.examples));
                }
                let title = format!("{name}: most similar reports of test recordings");
                crate::output::write_atomic(
                    &args.out.join(format!("examples-{}.svg", slug(&name))),
                    examples_svg(&title, &figure).as_bytes(),
                )
                .map_err(|e| Failure::output(e.to_string()))?;
            }
        }
        let roc_file = (!curves.is_empty()).then(|| format!("roc-{}.svg", slug(&name)));
        if let Some(f) = &roc_file {
            let title = format!("{name}: ROC of the probes (mean over seeds; AUROC in brackets)");
            crate::output::write_atomic(&args.out.join(f), roc::svg(&title, &curves).as_bytes())
                .map_err(|e| Failure::output(e.to_string()))?;
        }
        tasks.push(serde_json::json!({
            "roc": roc_file,
            "task": name,
            "spec": spec,
            "classes": classes,
            "synthetic": synthetic,
            "protocol": protocol,
            "folds": folds.len(),
            "train_val_test": sizes,
            "counts": counts,
            "probe": cfg,
        }));
    }
    let json = serde_json::json!({
        "models": args.models,
        "seeds": args.seeds,
        "bootstrap": args.bootstrap,
        "tasks": tasks,
        "cells": cells,
        "retrieval": retrieval_rows,
    });
    let text = serde_json::to_vec_pretty(&json).map_err(|e| Failure::output(e.to_string()))?;
    crate::output::write_atomic(&args.out.join("results.json"), &text)
        .map_err(|e| Failure::output(e.to_string()))?;
    let mut md = table(&args.models, &tasks, &cells);
    if !retrieval_rows.is_empty() {
        md.push_str(&retrieval_table(&retrieval_rows));
    }
    crate::output::write_atomic(&args.out.join("results.md"), md.as_bytes())
        .map_err(|e| Failure::output(e.to_string()))?;
    println!("{md}");
    if let Some(dir) = &args.bundle {
        attach(dir, &json)?;
    }
    Ok(())
}

/// Writes the evaluation summary into a bundle's manifest (its `evaluation` field); every other
/// field keeps its keys, their order and its numbers.
fn attach(dir: &Path, results: &serde_json::Value) -> Result<(), Failure> {
    fn typed<T: serde::de::DeserializeOwned>(
        v: serde_json::Value,
        what: &str,
    ) -> Result<T, Failure> {
        serde_json::from_value(v).map_err(|e| Failure::output(format!("internal: {what}: {e}")))
    }
    let dir = BundleDir::new(dir);
    let mut manifest = dir.manifest()?;
    let tasks: Vec<serde_json::Value> = results["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            serde_json::json!({
                "task": t["task"], "classes": t["classes"], "synthetic": t["synthetic"],
                "regression_unit": t["regression_unit"], "protocol": t["protocol"], "folds": t["folds"],
                "train_val_test": t["train_val_test"],
                "units": t["counts"]["used"],
            })
        })
        .collect();
    manifest.evaluation = Some(Evaluation {
        method: "acula eval: OPERA linear probe on frozen clip embeddings (one linear layer, Adam, \
            best validation AUROC, seeds as listed; regression: standardised targets, MSE, best validation MAE, leave \
            one subject out), split by subject (official split, leave one subject out \
            below the subject threshold, else 60/20/20); macro one-vs-rest AUROC or MAE, mean ± std over seeds, \
            bootstrap 95 % interval. See EVALUATION.md."
            .into(),
        seeds: typed(results["seeds"].clone(), "seeds")?,
        bootstrap: typed(results["bootstrap"].clone(), "bootstrap")?,
        models: typed(results["models"].clone(), "models")?,
        tasks: typed(serde_json::Value::Array(tasks), "tasks")?,
        // The per-seed values and the retrieval examples stay in results.json.
        linear_probe: typed(results["cells"].clone(), "cells")?,
        retrieval: typed(results["retrieval"].clone(), "retrieval")?,
        extra: Default::default(),
    });
    dir.rewrite_manifest(&manifest)?;
    eprintln!("evaluation written into {}", dir.manifest_path().display());
    Ok(())
}

/// The alignment runs and report texts of `--retrieval`.
struct Retrieval {
    models: Vec<(String, crate::train::align::AlignModel)>,
    /// (dataset, record id) → row of the reports CSV.
    rows: BTreeMap<(String, String), usize>,
    /// The report texts, by row.
    texts: Vec<String>,
    emb: Vec<f32>,
    text_dim: usize,
    /// The teacher that embeds zero-shot prompts (when it is the one the runs were aligned with).
    teacher: Option<acula_core::text::TextEncoder>,
}

/// Zero-shot classification: each test recording against one prompt per class.
#[derive(Debug, Clone, Serialize)]
struct ZeroShot {
    prompts: Vec<String>,
    /// Macro one-vs-rest AUROC of the prompts' softmax scores (temperature 0.07).
    auroc: Option<f64>,
    /// Share of recordings whose most similar prompt is their class's.
    accuracy: f64,
}

/// A test recording's most similar reports (the paper's Figure 4).
#[derive(Debug, Clone, Serialize)]
struct Example {
    record_id: String,
    class: String,
    /// (report, similarity, whether written for the same class)
    top: Vec<(String, f32, bool)>,
}

/// What `Retrieval::measure` found on one task.
struct Measured {
    audio_to_report: retrieval::Scores,
    report_to_audio: retrieval::Scores,
    zero_shot: Option<ZeroShot>,
    examples: Vec<Example>,
}

/// One prompt per class for zero-shot classification, in the style of the template reports; `None`
/// for tasks without prompts.
fn prompts(dataset: &str, task: &str, classes: &[String]) -> Option<Vec<String>> {
    let p: &[&str] = match (dataset, task) {
        ("covid19-cough", "covid") => &[
            "A cough from a person who tested negative for COVID-19.",
            "A cough from a person who has COVID-19.",
        ],
        ("kauh", "obstructive") => &[
            "Lung sounds recorded with a stethoscope from a healthy person.",
            "Lung sounds from a patient with an obstructive airway disease such as asthma or COPD.",
        ],
        ("icbhi", "copd") => &[
            "Lung sounds recorded with a stethoscope from a healthy person.",
            "Lung sounds from a patient with chronic obstructive pulmonary disease (COPD).",
        ],
        ("circor", "murmur") => &[
            "Heart sounds recorded with a stethoscope. No murmur is heard.",
            "Heart sounds recorded with a stethoscope. A heart murmur is heard.",
        ],
        _ => return None,
    };
    (p.len() == classes.len()).then(|| p.iter().map(|s| s.to_string()).collect())
}

impl Retrieval {
    fn load(args: &EvalArgs, device: &burn::tensor::Device) -> Result<Option<Self>, Failure> {
        if args.retrieval.is_empty() {
            return Ok(None);
        }
        let (Some(csv), Some(npy)) = (&args.reports, &args.embeddings) else {
            return Err(Failure::usage(
                "--retrieval needs --reports CSV and --embeddings NPY (what the runs were aligned on)".into(),
            ));
        };
        let (rows, text_dim, emb) = crate::reports::read_with_embeddings(csv, npy)?;
        let teacher = match crate::embed::load_minilm(args.teacher_dir.as_deref()) {
            Ok((t, _)) if t.dim() == text_dim => Some(t),
            Ok((t, _)) => {
                eprintln!(
                    "zero-shot skipped: the runs' teacher embeddings have {} dimensions, MiniLM {}",
                    text_dim,
                    t.dim()
                );
                None
            }
            Err(e) => {
                eprintln!("zero-shot skipped: {}", e.message());
                None
            }
        };
        let mut index = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            index
                .entry((r.dataset.clone(), r.record_id.clone()))
                .or_insert(i);
        }
        let models = args
            .retrieval
            .iter()
            .map(|spec| {
                let (name, dir) = spec.split_once('=').ok_or_else(|| {
                    Failure::usage(format!("--retrieval {spec}: write NAME=ALIGN_RUN_DIR"))
                })?;
                let aligned = RunDir::new(dir).aligned(text_dim, device)?;
                Ok((name.to_string(), aligned.model))
            })
            .collect::<Result<_, Failure>>()?;
        Ok(Some(Self {
            models,
            rows: index,
            texts: rows.into_iter().map(|r| r.report).collect(),
            emb,
            text_dim,
            teacher,
        }))
    }

    /// Both directions on the `test` units that have a report, zero-shot classification with `prompts`,
    /// and the top 3 reports of the first test recording of each class.
    fn measure(
        &self,
        model: &crate::train::align::AlignModel,
        units: &[Unit],
        test: &[usize],
        (prompts, classes): (Option<&[String]>, &[String]),
        device: &burn::tensor::Device,
    ) -> Result<Measured, Failure> {
        use burn::tensor::{Tensor, TensorData};
        let joint = |t: Tensor<2>| -> Result<Vec<Vec<f32>>, Failure> {
            let width = t.dims()[1];
            let v = crate::export::host(t)?;
            v.chunks(width)
                .map(|row| {
                    let mut row = row.to_vec();
                    acula_core::retrieval::normalise(&mut row)
                        .map_err(|e| Failure::input(e.to_string()))?;
                    Ok(row)
                })
                .collect()
        };
        let text_joint = |flat: Vec<f32>, n: usize| {
            let x = Tensor::<2>::from_data(TensorData::new(flat, [n, self.text_dim]), device);
            joint(model.text_head.forward(x))
        };
        let chunk = ChunkConfig::default();
        let mut audio = Vec::new();
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        let mut used = Vec::new();
        for &i in test {
            let u = &units[i];
            let Some(&row) = self.rows.get(&(u.dataset.clone(), u.record_id.clone())) else {
                continue;
            };
            let f = &u.features;
            let e = model
                .mae
                .encoder
                .embed_clip(&f.data, f.frames, f.n_mels, chunk.frames, chunk.min_frames)
                .map_err(|e| Failure::input(e.to_string()))?;
            let d = e.len();
            let x = Tensor::<2>::from_data(TensorData::new(e, [1, d]), device);
            audio.extend(joint(model.audio_head.forward(x))?);
            let t = self.emb[row * self.text_dim..(row + 1) * self.text_dim].to_vec();
            texts.extend(text_joint(t, 1)?);
            labels.push(u.label);
            used.push((i, row));
        }
        let zero_shot = match (&self.teacher, prompts) {
            (Some(teacher), Some(p)) if !audio.is_empty() => {
                let refs: Vec<&str> = p.iter().map(String::as_str).collect();
                let e = teacher
                    .embed(&refs)
                    .map_err(|e| Failure::input(format!("zero-shot prompts: {e}")))?;
                let pj = text_joint(e.concat(), p.len())?;
                let probs: Vec<Vec<f64>> = audio
                    .iter()
                    .map(|a| {
                        let sims: Vec<f64> = pj
                            .iter()
                            .map(|t| f64::from(a.iter().zip(t).map(|(x, y)| x * y).sum::<f32>()))
                            .collect();
                        let m = sims.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let ex: Vec<f64> = sims.iter().map(|s| ((s - m) / 0.07).exp()).collect();
                        let z: f64 = ex.iter().sum();
                        ex.iter().map(|e| e / z).collect()
                    })
                    .collect();
                let correct = probs
                    .iter()
                    .zip(&labels)
                    .filter(|(p, &l)| {
                        p.iter()
                            .enumerate()
                            .max_by(|a, b| a.1.total_cmp(b.1))
                            .map(|(k, _)| k)
                            == Some(l)
                    })
                    .count();
                Some(ZeroShot {
                    prompts: p.to_vec(),
                    auroc: metrics::auroc_macro(&probs, &labels),
                    accuracy: correct as f64 / labels.len() as f64,
                })
            }
            _ => None,
        };
        let mut examples = Vec::new();
        for (class, class_name) in classes.iter().enumerate() {
            let Some(q) = labels.iter().position(|&l| l == class) else {
                continue;
            };
            let mut sims: Vec<(usize, f32)> = texts
                .iter()
                .enumerate()
                .map(|(j, t)| (j, audio[q].iter().zip(t).map(|(x, y)| x * y).sum()))
                .collect();
            sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            examples.push(Example {
                record_id: units[used[q].0].record_id.clone(),
                class: class_name.clone(),
                top: sims
                    .iter()
                    .take(3)
                    .map(|&(j, sim)| (self.texts[used[j].1].clone(), sim, labels[j] == class))
                    .collect(),
            });
        }
        Ok(Measured {
            audio_to_report: retrieval::score(&audio, &labels, &texts, &labels),
            report_to_audio: retrieval::score(&texts, &labels, &audio, &labels),
            zero_shot,
            examples,
        })
    }
}

/// An SVG figure of retrieval examples (the paper's Figure 4): per alignment run, the first test
/// recording of each class and its three most similar reports, marked ✓ when written for its class.
fn examples_svg(title: &str, rows: &[(String, Vec<Example>)]) -> String {
    let wrap = |text: &str, width: usize| -> Vec<String> {
        let mut lines = vec![String::new()];
        for word in text.split_whitespace() {
            let last = lines.last_mut().expect("one line at least");
            if !last.is_empty() && last.chars().count() + word.chars().count() >= width {
                lines.push(word.to_string());
            } else {
                if !last.is_empty() {
                    last.push(' ');
                }
                last.push_str(word);
            }
        }
        lines
    };
    let mut body = String::new();
    let mut y = 48.0;
    for (model, examples) in rows {
        for e in examples {
            body.push_str(&format!(
                "<text x=\"16\" y=\"{y}\" font-weight=\"bold\">{} · recording {} ({})</text>\n",
                roc::escape(model),
                roc::escape(&e.record_id),
                roc::escape(&e.class)
            ));
            y += 18.0;
            for (k, (report, sim, same)) in e.top.iter().enumerate() {
                let (mark, colour) = if *same {
                    ("✓", "#2ca02c")
                } else {
                    ("✗", "#d62728")
                };
                for (j, line) in wrap(report, 120).iter().enumerate() {
                    let head = if j == 0 {
                        format!(
                            "<tspan fill=\"{colour}\">{mark}</tspan> {}. ({sim:.3}) ",
                            k + 1
                        )
                    } else {
                        String::new()
                    };
                    body.push_str(&format!(
                        "<text x=\"{}\" y=\"{y}\">{head}{}</text>\n",
                        if j == 0 { 28 } else { 92 },
                        roc::escape(line)
                    ));
                    y += 16.0;
                }
            }
            y += 10.0;
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"16\" y=\"24\" font-size=\"15\">{}</text>\n{body}</svg>\n",
        y + 10.0,
        roc::escape(title)
    )
}

/// The Markdown tables of retrieval, zero-shot classification and retrieval examples.
fn retrieval_table(rows: &[serde_json::Value]) -> String {
    let num = |v: &serde_json::Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.3}"));
    let f = |d: &serde_json::Value| {
        format!(
            "{} / {} / {} / {}",
            num(&d["r1"]),
            num(&d["r5"]),
            num(&d["r10"]),
            num(&d["mrr"])
        )
    };
    let mut md = String::from("\n| task | alignment run | audio→report R@1 / R@5 / R@10 / MRR | report→audio R@1 / R@5 / R@10 / MRR | R@1 by chance | queries | zero-shot AUROC | zero-shot accuracy |\n|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r["task"].as_str().unwrap_or(""),
            r["model"].as_str().unwrap_or(""),
            f(&r["audio_to_report"]),
            f(&r["report_to_audio"]),
            num(&r["audio_to_report"]["chance_r1"]),
            r["audio_to_report"]["queries"],
            num(&r["zero_shot"]["auroc"]),
            num(&r["zero_shot"]["accuracy"]),
        ));
    }
    md.push_str("\nMost similar reports of the first test recording of each class (✓: written for a recording of the same class):\n");
    for r in rows {
        for e in r["examples"].as_array().into_iter().flatten() {
            md.push_str(&format!(
                "\n- **{}**, {}, recording `{}` ({}):\n",
                r["task"].as_str().unwrap_or(""),
                r["model"].as_str().unwrap_or(""),
                e["record_id"].as_str().unwrap_or(""),
                e["class"].as_str().unwrap_or("")
            ));
            for (k, t) in e["top"].as_array().into_iter().flatten().enumerate() {
                md.push_str(&format!(
                    "  {}. {} ({}) “{}”\n",
                    k + 1,
                    if t[2].as_bool() == Some(true) {
                        "✓"
                    } else {
                        "✗"
                    },
                    num(&t[1]),
                    t[0].as_str().unwrap_or("")
                ));
            }
        }
    }
    md
}

/// The Markdown table: one row per representation, one column per task.
fn table(models: &[String], tasks: &[serde_json::Value], cells: &[Cell]) -> String {
    let names: Vec<String> = models
        .iter()
        .map(|m| m.split_once('=').map_or(m.clone(), |(n, _)| n.to_string()))
        .collect();
    let task_names: Vec<String> = tasks
        .iter()
        .map(|t| {
            let mut n = t["task"].as_str().unwrap_or("").to_string();
            if t["synthetic"].as_bool() == Some(true) {
                n.push_str(" (synthetic)");
            }
            n
        })
        .collect();
    let mut s = format!("| representation | {} |\n", task_names.join(" | "));
    s.push_str(&format!("|---|{}\n", "---|".repeat(task_names.len())));
    for m in &names {
        let row: Vec<String> = tasks
            .iter()
            .map(|t| {
                cells
                    .iter()
                    .find(|c| &c.model == m && Some(c.task.as_str()) == t["task"].as_str())
                    .map_or("–".into(), |c| {
                        let prefix = if c.metric == "mae" { "MAE " } else { "" };
                        match c.ci95 {
                            Some([a, b]) => {
                                format!("{prefix}{:.3} ± {:.3} [{a:.2}, {b:.2}]", c.mean, c.std)
                            }
                            None => format!("{prefix}{:.3} ± {:.3}", c.mean, c.std),
                        }
                    })
            })
            .collect();
        s.push_str(&format!("| {m} | {} |\n", row.join(" | ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(subject: &str, split: Option<data::Split>) -> Unit {
        Unit {
            dataset: "d".into(),
            record_id: subject.into(),
            subject: subject.into(),
            label: 0,
            value: f64::NAN,
            split,
            features: Features {
                frames: 0,
                n_mels: 64,
                data: Vec::new(),
            },
        }
    }

    #[test]
    fn no_subject_sits_on_two_sides_of_any_fold() {
        let many: Vec<Unit> = (0..300)
            .map(|i| unit(&format!("s{}", i % 120), None))
            .collect();
        let few: Vec<Unit> = (0..40)
            .map(|i| unit(&format!("p{}", i % 20), None))
            .collect();
        for (units, want) in [(&many, 1usize), (&few, 20)] {
            let (_, folds) = folds(&keys(units), 60);
            assert_eq!(folds.len(), want);
            for f in &folds {
                let side = |k: usize| -> std::collections::BTreeSet<&str> {
                    f[k].iter().map(|&i| units[i].subject.as_str()).collect()
                };
                let (a, b, c) = (side(0), side(1), side(2));
                assert!(a.is_disjoint(&b) && a.is_disjoint(&c) && b.is_disjoint(&c));
                assert_eq!(f[0].len() + f[1].len() + f[2].len(), units.len());
            }
        }
        let official: Vec<Unit> = (0..10)
            .map(|i| {
                unit(
                    &format!("o{i}"),
                    Some(if i < 7 {
                        data::Split::Train
                    } else {
                        data::Split::Test
                    }),
                )
            })
            .collect();
        let (p, f) = folds(&keys(&official), 60);
        assert!(matches!(p, Protocol::Official));
        assert_eq!(f[0][2], vec![7, 8, 9]);
        assert!(!f[0][1].is_empty() || f[0][0].len() == 7);
    }

    #[test]
    fn the_bootstrap_interval_brackets_the_mean() {
        let labels: Vec<usize> = (0..200).map(|i| i % 2).collect();
        let mut r = Rng::new(3);
        let probs: Vec<Vec<Vec<f64>>> = (0..3)
            .map(|_| {
                labels
                    .iter()
                    .map(|&l| {
                        let p = (0.2 + 0.2 * l as f64 + 0.5 * r.uniform()).min(1.0);
                        vec![1.0 - p, p]
                    })
                    .collect()
            })
            .collect();
        let c = cell("t", "m", &probs, &labels, 300);
        let [lo, hi] = c.ci95.unwrap();
        assert!(lo < c.mean && c.mean < hi, "{lo} {} {hi}", c.mean);
        assert!(hi - lo < 0.2);
    }
}
