//! `acula export`: an alignment run → a model bundle (see `acula_core::bundle`). It writes the
//! encoder and audio head in half precision, projects every report of the training CSV into the
//! joint space with the text head (the report index), fits one linear head per screening task on the
//! joint embeddings of that task's recordings (computed from the half-precision weights, exactly as
//! `acula predict` and the browser will), and seals the manifest with every file's sha256. The
//! bundle is written to a temporary folder beside `--out` and renamed into place when complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use acula_core::audio::DecodeLimits;
use acula_core::bundle::{
    self, ChunkConfig, HeadShape, Manifest, NamedTensor, ReportEntry, ReportsInfo, TaskSpec,
    TeacherInfo,
};
use acula_core::encoder::Encoder;
use acula_core::quality::QualityConfig;
use acula_core::retrieval::{normalise, EmbeddingIndex};
use acula_core::screen::Screener;
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use clap::Args;

use crate::data::{self, Label, TaskUnit};
use crate::rng::Rng;
use crate::train::align::{AlignConfig, AlignModel};
use crate::train::checkpoint;
use crate::{metrics, reports, Failure};

/// What every bundle says about its use.
pub const INTENDED_USE: &str = "Research demonstration, not a diagnostic device. The scores are the \
output of a small model trained on few, partly synthetic recordings; they do not say whether a person \
is ill, must not be used to make or rule out a diagnosis, and do not replace a clinician.";

/// Arguments of `acula export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Alignment run folder (`acula align --out`); its newest intact checkpoint is exported.
    #[arg(long)]
    pub run: PathBuf,
    /// The reports CSV the run was aligned on: its reports form the bundle's report index.
    #[arg(long)]
    pub reports: PathBuf,
    /// The reports' teacher embeddings (`X.npy` of `acula embed-reports --out X`; `X.json` beside it).
    #[arg(long)]
    pub embeddings: PathBuf,
    /// A screening task, `DATASET_DIR:TASK` (a classification task of that dataset's loader, e.g.
    /// `../shared/data/covid19-cough:covid`); repeat for several.
    #[arg(long = "task")]
    pub tasks: Vec<String>,
    /// Bundle folder to write.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Bundle name.
    #[arg(long, default_value = "acula-custom")]
    pub name: String,
    /// Bundle version (default: today's date).
    #[arg(long)]
    pub version: Option<String>,
    /// Seed of the task heads' subject splits.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A JSON file whose content becomes the manifest's `training` description (merged with what
    /// export knows about the run).
    #[arg(long)]
    pub training_json: Option<PathBuf>,
    /// Replace `--out` if it exists.
    #[arg(long)]
    pub force: bool,
    /// Real example recordings to ship with the bundle (the web page's demo set): a JSON list of
    /// `{"path", "title", "recording", "source"}` (recording: cough, breath, lung or heart; source
    /// names the dataset and its licence). Only ship recordings whose licence allows it.
    #[arg(long)]
    pub examples: Option<PathBuf>,
}

/// One entry of `--examples`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ExampleSpec {
    /// The recording.
    pub path: PathBuf,
    /// What it is, for people.
    pub title: String,
    /// `cough`, `breath`, `lung` or `heart`.
    pub recording: String,
    /// Dataset and licence.
    pub source: String,
}

/// Reads `--examples` and the recordings it names: (file name in the bundle, bytes, entry).
fn read_examples(path: &Path) -> Result<Vec<(Vec<u8>, bundle::Example)>, Failure> {
    let text = std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
    let specs: Vec<ExampleSpec> = serde_json::from_slice(&text).map_err(|e| {
        Failure::input(format!(
            "{}: {e}; write a JSON list of {{\"path\", \"title\", \"recording\", \"source\"}}",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        if !bundle::RECORDING_KINDS.contains(&s.recording.as_str()) {
            return Err(Failure::input(format!(
                "{}: example {} has recording {:?}; use one of {}",
                path.display(),
                s.path.display(),
                s.recording,
                bundle::RECORDING_KINDS.join(", ")
            )));
        }
        let bytes = std::fs::read(&s.path).map_err(|e| {
            Failure::input(format!("cannot read example {}: {e}", s.path.display()))
        })?;
        acula_core::audio::decode(
            &bytes,
            s.path.extension().and_then(|e| e.to_str()),
            &DecodeLimits::default(),
        )
        .map_err(|e| Failure::input(format!("example {}: {e}", s.path.display())))?;
        let ext = s
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "audio".into());
        out.push((
            bytes,
            bundle::Example {
                file: format!("example-{}.{ext}", i + 1),
                title: s.title.clone(),
                recording: s.recording.clone(),
                source: s.source.clone(),
            },
        ));
    }
    Ok(out)
}

/// The published names of known `(dataset, task)` pairs: id, name, description, recording kind,
/// positive label.
fn catalogue(
    dataset: &str,
    task: &str,
) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    Some(match (dataset, task) {
        ("covid19-cough", "covid") => (
            "covid19_cough",
            "COVID-19 (cough)",
            "How much the cough resembles those of people who tested positive for COVID-19 in the CC0 \
             covid19-cough set. Caution: in that set the label goes with the recording channel (phone \
             line or messenger app), so the score partly reflects the channel.",
            "cough",
        ),
        ("coughvid", "covid") => (
            "covid19_cough_coughvid",
            "COVID-19 (cough, COUGHVID)",
            "How much the cough resembles self-reported COVID-19 coughs of COUGHVID.",
            "cough",
        ),
        ("icbhi", "copd") => (
            "copd_lung_sounds",
            "COPD (lung sounds)",
            "How much the lung sounds resemble those of patients with COPD rather than healthy \
             people (ICBHI 2017 layout).",
            "lung",
        ),
        ("kauh", "obstructive") => (
            "obstructive_lung_sounds",
            "Obstructive disease (lung sounds)",
            "How much the lung sounds resemble those of patients with asthma or COPD (KAUH).",
            "lung",
        ),
        ("circor", "murmur") => (
            "heart_murmur",
            "Heart murmur",
            "How likely the heart sounds contain a murmur (CirCor DigiScope layout).",
            "heart",
        ),
        ("circor", "outcome") => (
            "heart_outcome_abnormal",
            "Abnormal heart (clinical outcome)",
            "How much the heart sounds resemble those of children with an abnormal clinical outcome.",
            "heart",
        ),
        _ => return None,
    })
}

/// The recording kind of a dataset's records.
fn recording_kind(dataset: &str) -> &'static str {
    match dataset {
        "icbhi" | "kauh" | "resp-tr" => "lung",
        "circor" => "heart",
        "mmlung" | "nosemic" | "ssbpr" => "breath",
        _ => "cough",
    }
}

/// Loads the alignment model of `run` from its newest intact checkpoint (inference device).
pub(crate) fn load_model(
    run: &Path,
    text_dim: usize,
    device: &burn::tensor::Device,
) -> Result<(AlignConfig, AlignModel, usize), Failure> {
    let cfg_path = run.join("config.json");
    let cfg: AlignConfig = std::fs::read(&cfg_path)
        .map_err(|e| format!("{e}"))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("{e}")))
        .map_err(|e| {
            Failure::input(format!(
                "{}: {e}; --run must be an `acula align` run folder",
                cfg_path.display()
            ))
        })?;
    let (state, dir) = checkpoint::latest(run).ok_or_else(|| {
        Failure::input(format!(
            "{} has no intact checkpoint; train it first (acula align --out {})",
            run.display(),
            run.display()
        ))
    })?;
    let encoder = Encoder::new(&cfg.encoder, device).map_err(|e| Failure::usage(e.to_string()))?;
    let model = AlignModel::new(encoder, &cfg, text_dim, device)?
        .try_load_file(dir.join("model.bpk"))
        .map_err(|e| {
            Failure::input(format!(
                "{}: cannot load the checkpoint ({e:?}); were the embeddings of another teacher?",
                dir.display()
            ))
        })?;
    Ok((cfg, model, state.step))
}

pub(crate) fn host(t: Tensor<2>) -> Result<Vec<f32>, Failure> {
    t.try_into_data()
        .map_err(|e| Failure::input(format!("{e:?}")))?
        .try_to_vec()
        .map_err(|e| Failure::input(format!("{e:?}")))
}

/// Values rounded to half precision (what the bundle stores).
fn as_half(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| half::f16::from_f32(*x).to_f32()).collect()
}

/// The report index: unique report texts and their L2-normalised text-head projections.
fn report_index(
    model: &AlignModel,
    rows: &[reports::ReportRow],
    emb: &[f32],
    dim: usize,
    synthetic: &[bool],
    device: &burn::tensor::Device,
) -> Result<(Vec<ReportEntry>, Vec<f32>), Failure> {
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    let mut picked = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if seen.insert(r.report.clone()) {
            entries.push(ReportEntry {
                text: r.report.clone(),
                dataset: r.dataset.clone(),
                record_id: r.record_id.clone(),
                synthetic: synthetic[i],
            });
            picked.push(i);
        }
    }
    let mut out = Vec::with_capacity(picked.len() * 512);
    for batch in picked.chunks(256) {
        let x: Vec<f32> = batch
            .iter()
            .flat_map(|&i| emb[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let t = Tensor::<2>::from_data(TensorData::new(x, [batch.len(), dim]), device);
        out.extend(host(model.text_head.forward(t))?);
    }
    let width = out.len() / picked.len().max(1);
    for row in out.chunks_mut(width) {
        normalise(row).map_err(|e| Failure::input(format!("a report embedding: {e}")))?;
    }
    Ok((entries, as_half(&out)))
}

/// One labelled example of a task.
struct Example {
    subject: String,
    label: usize,
    embedding: Vec<f32>,
}

/// Counts of what happened to a task's recordings.
#[derive(Default, serde::Serialize)]
struct Counts {
    labelled: usize,
    used: usize,
    quality: BTreeMap<String, usize>,
    unreadable: usize,
}

/// The labelled, quality-checked joint embeddings of one task.
fn task_examples(
    screener: &Screener,
    ds: &data::Dataset,
    task: &data::Task,
) -> (Vec<Example>, Counts) {
    let mut counts = Counts::default();
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
            .map_err(|e| e.to_string())
            .and_then(|(s, rate)| screener.analyse(&s, rate).map_err(|e| e.to_string()));
        match analysis {
            Ok(a) => match a.embedding {
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
            Err(_) => counts.unreadable += 1,
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
        let logits: Vec<f64> = (0..self.classes)
            .map(|c| {
                self.bias[c]
                    + self.weight[c * self.dim..(c + 1) * self.dim]
                        .iter()
                        .zip(x)
                        .map(|(w, v)| w * f64::from(*v))
                        .sum::<f64>()
            })
            .collect();
        let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
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
/// (Adam, full batch), then folds the standardisation into the weights.
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
    let p = classes * dim + classes;
    let mut theta = vec![0f64; p];
    let (mut m1, mut m2) = (vec![0f64; p], vec![0f64; p]);
    let (lr, b1, b2) = (0.05, 0.9, 0.999);
    for step in 1..=400 {
        let mut g = vec![0f64; p];
        for (x, e) in z.iter().zip(set) {
            let logits: Vec<f64> = (0..classes)
                .map(|c| {
                    theta[classes * dim + c]
                        + theta[c * dim..(c + 1) * dim]
                            .iter()
                            .zip(x)
                            .map(|(w, v)| w * v)
                            .sum::<f64>()
                })
                .collect();
            let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let ex: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
            let s: f64 = ex.iter().sum();
            let w = cw[e.label] / n;
            for c in 0..classes {
                let d = w * (ex[c] / s - if c == e.label { 1.0 } else { 0.0 });
                for (gi, v) in g[c * dim..(c + 1) * dim].iter_mut().zip(x) {
                    *gi += d * v;
                }
                g[classes * dim + c] += d;
            }
        }
        for (gi, t) in g[..classes * dim].iter_mut().zip(&theta) {
            *gi += lambda * t;
        }
        for i in 0..p {
            m1[i] = b1 * m1[i] + (1.0 - b1) * g[i];
            m2[i] = b2 * m2[i] + (1.0 - b2) * g[i] * g[i];
            let mh = m1[i] / (1.0 - b1.powi(step));
            let vh = m2[i] / (1.0 - b2.powi(step));
            theta[i] -= lr * mh / (vh.sqrt() + 1e-8);
        }
    }
    // logits = W (x − μ)/σ + b = (W/σ) x + (b − Σ W μ/σ).
    let mut weight = vec![0f64; classes * dim];
    let mut bias = theta[classes * dim..].to_vec();
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

/// Which third of the subject split a subject is in: 0 train (60 %), 1 validation (20 %), 2 test.
fn part(seed: u64, subject: &str) -> usize {
    let u = Rng::for_item(seed, &format!("head-split-{subject}")).uniform();
    if u < 0.6 {
        0
    } else if u < 0.8 {
        1
    } else {
        2
    }
}

/// Trains one task's head: L2 strength chosen on the validation subjects (lowest class-balanced
/// cross-entropy), refitted on training +
/// validation, AUROC measured on the held-out test subjects (no subject on two sides).
fn train_head(
    examples: &[Example],
    classes: usize,
    seed: u64,
) -> Result<(Head, serde_json::Value), String> {
    let by = |k: usize| -> Vec<&Example> {
        examples
            .iter()
            .filter(|e| part(seed, &e.subject) == k)
            .collect()
    };
    let (train, val, test) = (by(0), by(1), by(2));
    let has_all = |s: &[&Example]| {
        let set: BTreeSet<usize> = s.iter().map(|e| e.label).collect();
        set.len() >= 2
    };
    if !has_all(&train) || !has_all(&val) || !has_all(&test) {
        return Err(format!(
            "{} recordings are too few to give every split both classes (train {}, validation {}, test {})",
            examples.len(),
            train.len(),
            val.len(),
            test.len()
        ));
    }
    let mut best = (f64::INFINITY, 1.0, 0.5);
    let mut grid = Vec::new();
    for lambda in [1e-3, 1e-2, 1e-1, 1.0, 10.0] {
        let h = fit(&train, classes, lambda);
        let (loss, a) = (h.log_loss(&val), h.auroc(&val).unwrap_or(0.5));
        grid.push(serde_json::json!({"lambda": lambda, "val_log_loss": loss, "val_auroc": a}));
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
    let metrics = serde_json::json!({
        "test_auroc": test_auroc,
        "val_auroc": best.2,
        "val_log_loss": best.0,
        "lambda": best.1,
        "lambda_grid": grid,
        "split": "by subject: 60 % train, 20 % validation (chooses the L2 strength by class-balanced cross-entropy), 20 % test; refitted on train + validation",
        "train_per_class": count(&train),
        "val_per_class": count(&val),
        "test_per_class": count(&test),
        "subjects": examples.iter().map(|e| e.subject.as_str()).collect::<BTreeSet<_>>().len(),
        "loss": "class-balanced softmax cross-entropy + L2",
    });
    Ok((head, metrics))
}

/// Today's date and time (UTC, RFC 3339) from the system clock.
fn now_utc() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let t = secs % 86_400;
    let date = format!("{y:04}-{m:02}-{d:02}");
    let time = format!("{date}T{:02}:{:02}:{:02}Z", t / 3600, t % 3600 / 60, t % 60);
    (date, time)
}

/// Runs `acula export`.
pub fn run(args: &ExportArgs) -> Result<(), Failure> {
    if args.out.exists() && !args.force {
        return Err(Failure::usage(format!(
            "{} exists; give another --out or --force to replace it",
            args.out.display()
        )));
    }
    let device = crate::backend::Backend::Flex.device()?;
    let (rows, text_dim, emb) = reports::read_with_embeddings(&args.reports, &args.embeddings)?;
    let teacher_meta: serde_json::Value = std::fs::read(args.embeddings.with_extension("json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let teacher_id = teacher_meta
        .get("teacher")
        .and_then(|t| t.as_str())
        .unwrap_or("unknown")
        .to_string();
    let examples = match &args.examples {
        Some(p) => read_examples(p)?,
        None => Vec::new(),
    };
    let (cfg, model, step) = load_model(&args.run, text_dim, &device)?;

    // Tasks: parse the specs and load their datasets first, so a typo fails before any work.
    let mut task_sets = Vec::new();
    for spec in &args.tasks {
        let (dir, task) = spec.rsplit_once(':').ok_or_else(|| {
            Failure::usage(format!("--task {spec}: write it as DATASET_DIR:TASK"))
        })?;
        let ds = data::load(Path::new(dir)).map_err(|e| Failure::input(e.to_string()))?;
        let t = ds
            .tasks
            .iter()
            .find(|t| t.id == task)
            .cloned()
            .ok_or_else(|| {
                Failure::usage(format!(
                    "--task {spec}: {} has no task {task} (it has {})",
                    ds.id,
                    ds.tasks.iter().map(|t| t.id).collect::<Vec<_>>().join(", ")
                ))
            })?;
        if t.kind == data::TaskKind::Regression || t.unit != TaskUnit::Recording {
            return Err(Failure::usage(format!(
                "--task {spec}: only classification tasks on whole recordings can be heads"
            )));
        }
        task_sets.push((ds, t));
    }

    // 1. Encoder + audio head, in half precision.
    let mut named: Vec<NamedTensor> = model
        .mae
        .encoder
        .export_pytorch("encoder.")
        .map_err(|e| Failure::input(e.to_string()))?;
    named.extend(
        model
            .audio_head
            .export_pytorch("audio_head")
            .map_err(|e| Failure::input(e.to_string()))?,
    );
    let model_bytes =
        bundle::safetensors_bytes(&named, true).map_err(|e| Failure::input(e.to_string()))?;

    // 2. The report index.
    // A row is synthetic when its recording lies under a folder marked by `acula synth`.
    let mut marked: BTreeMap<PathBuf, bool> = BTreeMap::new();
    let row_synthetic: Vec<bool> = rows
        .iter()
        .map(|r| {
            let path = Path::new(&r.audio_path);
            let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
            *marked.entry(dir.clone()).or_insert_with(|| {
                dir.ancestors()
                    .any(|a| a.join(crate::synth::MARKER).is_file())
            })
        })
        .collect();
    let synthetic: BTreeSet<String> = rows
        .iter()
        .zip(&row_synthetic)
        .filter(|(_, s)| **s)
        .map(|(r, _)| r.dataset.clone())
        .collect();
    let (entries, index_rows) =
        report_index(&model, &rows, &emb, text_dim, &row_synthetic, &device)?;
    let proj = cfg.proj_dim;
    let index_bytes = bundle::safetensors_bytes(
        &[(
            "embeddings".to_string(),
            vec![entries.len(), proj],
            index_rows,
        )],
        true,
    )
    .map_err(|e| Failure::input(e.to_string()))?;

    let (date, created) = now_utc();
    let mut manifest = Manifest {
        format: bundle::FORMAT.into(),
        format_version: bundle::FORMAT_VERSION,
        name: args.name.clone(),
        version: args.version.clone().unwrap_or_else(|| date.clone()),
        created,
        intended_use: INTENDED_USE.into(),
        front_end: acula_core::FrontEndConfig::default(),
        encoder: cfg.encoder.clone(),
        audio_head: HeadShape {
            hidden: cfg.proj_hidden,
            dim: proj,
        },
        chunk: ChunkConfig::default(),
        quality: QualityConfig::default(),
        tasks: Vec::new(),
        teacher: TeacherInfo {
            id: teacher_id,
            dim: text_dim,
            reports_writer: rows
                .iter()
                .map(|r| r.writer.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", "),
        },
        training: serde_json::Value::Null,
        evaluation: serde_json::Value::Null,
        reports: ReportsInfo {
            count: entries.len(),
            dim: proj,
        },
        files: BTreeMap::new(),
        examples: Vec::new(),
    };

    // 3. Task heads on the joint embeddings the bundle itself produces.
    let screener = Screener::from_parts(
        manifest.clone(),
        &model_bytes,
        None,
        Vec::new(),
        EmbeddingIndex::new(proj).map_err(|e| Failure::input(e.to_string()))?,
        &device,
    )
    .map_err(|e| Failure::input(e.to_string()))?;
    let mut heads: Vec<NamedTensor> = Vec::new();
    let mut task_counts = serde_json::Map::new();
    for (ds, t) in &task_sets {
        let (id, name, description, recording) =
            catalogue(ds.id, t.id).unwrap_or(("", "", "", recording_kind(ds.id)));
        let id = if id.is_empty() {
            format!("{}_{}", ds.id, t.id)
                .replace('-', "_")
                .to_lowercase()
        } else {
            id.to_string()
        };
        let (examples, counts) = task_examples(&screener, ds, t);
        let (head, mut metrics) = train_head(&examples, t.classes.len(), args.seed)
            .map_err(|e| Failure::input(format!("task {id}: {e}")))?;
        eprintln!(
            "{id}: {} recordings, held-out AUROC {}",
            counts.used,
            metrics["test_auroc"]
                .as_f64()
                .map_or("n/a".into(), |a| format!("{a:.3}"))
        );
        metrics["recordings"] = serde_json::to_value(&counts).unwrap_or_default();
        task_counts.insert(
            id.clone(),
            serde_json::to_value(&counts).unwrap_or_default(),
        );
        let f32s = |v: &[f64]| v.iter().map(|x| *x as f32).collect::<Vec<_>>();
        heads.push((
            format!("{id}.weight"),
            vec![head.classes, head.dim],
            f32s(&head.weight),
        ));
        heads.push((format!("{id}.bias"), vec![head.classes], f32s(&head.bias)));
        let classes: Vec<String> = t.classes.iter().map(|c| c.to_string()).collect();
        manifest.tasks.push(TaskSpec {
            id: id.clone(),
            name: if name.is_empty() {
                t.description.to_string()
            } else {
                name.to_string()
            },
            description: if description.is_empty() {
                format!("{} ({})", t.description, ds.name)
            } else {
                description.to_string()
            },
            recording: recording.to_string(),
            positive: (classes.len() == 2).then(|| classes[1].clone()),
            labels: classes,
            synthetic: ds.synthetic,
            metrics,
        });
    }
    let heads_bytes =
        bundle::safetensors_bytes(&heads, false).map_err(|e| Failure::input(e.to_string()))?;

    // 4. The training description.
    let mut training = match &args.training_json {
        Some(p) => std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| Failure::input(format!("{}: {e}", p.display())))?,
        None => serde_json::json!({}),
    };
    let last = crate::train::log::read(&args.run.join("log.jsonl"));
    let mut per_dataset: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *per_dataset.entry(r.dataset.clone()).or_default() += 1;
    }
    if let serde_json::Value::Object(o) = &mut training {
        o.insert(
            "alignment".into(),
            serde_json::json!({
                "steps": step,
                "loss": format!("{:?}", cfg.loss),
                "config": cfg,
                "final_losses": last.last().map(|l| &l.losses),
            }),
        );
        o.insert(
            "report_pairs_per_dataset".into(),
            serde_json::to_value(&per_dataset).unwrap_or_default(),
        );
        o.insert(
            "synthetic_datasets".into(),
            serde_json::to_value(&synthetic).unwrap_or_default(),
        );
        o.insert(
            "task_recordings".into(),
            serde_json::Value::Object(task_counts),
        );
    }
    manifest.training = training;

    // 5. Seal and write.
    let reports_bytes = serde_json::to_vec(&entries).map_err(|e| Failure::input(e.to_string()))?;
    let mut files = BTreeMap::new();
    files.insert(bundle::MODEL_FILE.to_string(), model_bytes);
    files.insert(bundle::HEADS_FILE.to_string(), heads_bytes);
    files.insert(bundle::REPORTS_FILE.to_string(), reports_bytes);
    files.insert(bundle::INDEX_FILE.to_string(), index_bytes);
    for (bytes, example) in examples {
        files.insert(example.file.clone(), bytes);
        manifest.examples.push(example);
    }
    let manifest_bytes =
        bundle::seal(&mut manifest, &files).map_err(|e| Failure::input(e.to_string()))?;
    // The bundle must load as written.
    bundle::Bundle::new(&manifest_bytes, files.clone())
        .map_err(|e| Failure::input(format!("internal: the bundle does not verify: {e}")))?;
    write_bundle(&args.out, &manifest_bytes, &files)?;
    let total: usize = files.values().map(Vec::len).sum::<usize>() + manifest_bytes.len();
    eprintln!(
        "bundle {} ({} tasks, {} reports, {:.1} MB) → {}",
        manifest.name,
        manifest.tasks.len(),
        manifest.reports.count,
        total as f64 / 1e6,
        args.out.display()
    );
    Ok(())
}

/// Writes the files into a temporary folder beside `out`, then swaps it into place.
pub fn write_bundle(
    out: &Path,
    manifest: &[u8],
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(), Failure> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", parent.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix(".acula-bundle-")
        .tempdir_in(&parent)
        .map_err(|e| Failure::output(format!("cannot write in {}: {e}", parent.display())))?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(tmp.path().join(name), bytes)
            .map_err(|e| Failure::output(format!("cannot write {name}: {e}")))
    };
    for (name, bytes) in files {
        write(name, bytes)?;
    }
    write(bundle::MANIFEST, manifest)?;
    let tmp = tmp.keep();
    if out.exists() {
        let old = parent.join(format!(
            ".acula-old-{}",
            out.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(out, &old)
            .map_err(|e| Failure::output(format!("cannot replace {}: {e}", out.display())))?;
        let _ = std::fs::remove_dir_all(&old);
    }
    std::fs::rename(&tmp, out)
        .map_err(|e| Failure::output(format!("cannot write {}: {e}", out.display())))
}

/// Reads a bundle folder and verifies it.
pub fn read_bundle(dir: &Path) -> Result<bundle::Bundle, Failure> {
    let mpath = dir.join(bundle::MANIFEST);
    let manifest = std::fs::read(&mpath).map_err(|e| {
        Failure::input(format!(
            "cannot read {} ({e}); --bundle must be a folder written by acula export",
            mpath.display()
        ))
    })?;
    let parsed = Manifest::parse(&manifest)
        .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?;
    let mut files = BTreeMap::new();
    for name in parsed.files.keys() {
        // Names come from the manifest: refuse anything that is not a plain file name.
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(Failure::input(format!(
                "{}: the manifest names a file outside the bundle ({name})",
                dir.display()
            )));
        }
        if let Ok(b) = std::fs::read(dir.join(name)) {
            files.insert(name.clone(), b);
        }
    }
    bundle::Bundle::new(&manifest, files)
        .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))
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

    #[test]
    fn civil_date_is_plausible() {
        let (d, t) = now_utc();
        assert_eq!(d.len(), 10);
        assert!(t.starts_with(&d) && t.ends_with('Z'));
        assert!(d.as_str() >= "2025-01-01");
    }
}
