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

mod cells;
pub mod events;
pub(crate) mod folds;
pub mod holdout;
mod joint;
pub mod probe;
pub mod retrieval;
pub mod roc;
mod tables;
mod tasks;

use std::path::{Path, PathBuf};

use acula_core::bundle::{ChunkConfig, Evaluation};
use acula_core::encoder::{Encoder, EncoderConfig};
use clap::Args;

use crate::bundle_dir::BundleDir;
use crate::data::TaskRef;
use crate::train::RunDir;
use crate::Failure;
use cells::{cell, mae_cell, probe_all};
use folds::{keys, task_folds, Protocol};
use joint::{prompts, Retrieval};
use probe::ProbeConfig;
use tables::{examples_svg, retrieval_table, slug, table};
use tasks::{units, Loaded, Unit};

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
            Model::Handcrafted => acula_core::statistics::statistics(f),
            Model::Encoder(e) => e
                .embed_clip(&f.data, f.frames, f.n_mels, chunk.frames, chunk.min_frames)
                .map_err(|e| Failure::input(e.to_string()))?,
        });
    }
    bar.finish_and_clear();
    Ok(out)
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
