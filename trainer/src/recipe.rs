//! `acula train --recipe default`: the whole path from the datasets in a folder to the model bundle,
//! in one reproducible command. Stages, each skipped when its output is complete and resumed when it
//! was interrupted:
//!
//! 1. synthetic lung sounds following the real ICBHI annotations, and synthetic heart sounds;
//! 2. template clinical reports for every recording with audio, merged into one CSV;
//! 3. the reports' MiniLM teacher embeddings;
//! 4. masked-autoencoder pre-training of `gt-tiny` on every recording;
//! 5. AcuLa alignment (symmetric InfoNCE + MAE) from the pre-trained encoder and decoder;
//! 6. the screening heads and the bundle (`acula export`).
//!
//! `stages.jsonl` in the run folder records each stage's wall time.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use acula_core::bundle::{DatasetInfo, StageInfo, TrainingInfo};
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::bundle_dir::BundleDir;
use crate::data::TaskRef;
use crate::train::align::{AlignArgs, AlignConfig};
use crate::train::config::{OptimConfig, PretrainConfig};
use crate::train::pretrain::PretrainArgs;
use crate::train::run::RunArgs;
use crate::train::RunDir;
use crate::{backend, embed, output, reports, synth, Failure};

/// The recipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Recipe {
    /// gt-tiny on the real recordings of the data folder plus synthetic lung and heart sounds, the
    /// MiniLM teacher and template reports; about 45 minutes on a 2-core CPU.
    Default,
}

/// Arguments of `acula train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[arg(long, value_enum)]
    pub recipe: Recipe,
    /// Folder with the real datasets (`covid19-cough/`, `kauh-subset/`, `icbhi-annotations/`).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Run folder: generated data, reports, embeddings, training runs, the bundle. Rerunning the
    /// command with the same folder continues where it stopped.
    #[arg(long, short, default_value = "runs/default")]
    pub out: PathBuf,
    /// Seed of everything (synthesis, phrasing, data order, initialisation, masking).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also copy the finished bundle to this folder (e.g. `www/models/default`).
    #[arg(long)]
    pub publish: Option<PathBuf>,
    /// Stop after this stage (1–6).
    #[arg(long, default_value_t = 6)]
    pub until: u8,
}

/// The real datasets the default recipe reads, as `(folder name, audio wanted)`.
const REAL: [&str; 3] = ["covid19-cough", "kauh-subset", "icbhi-annotations"];

/// The training configurations of the default recipe. The reference's schedule (50 epochs of over
/// 100,000 pairs from a pre-trained OPERA-GT, lr 1e-5) is out of reach on 2 cores; this one trains
/// from scratch for about 15 epochs of each stage, with a 10× larger alignment learning rate because
/// the projection heads start from random weights.
pub fn default_configs(seed: u64) -> (PretrainConfig, AlignConfig) {
    let pretrain = PretrainConfig {
        optim: OptimConfig {
            lr: 1e-4,
            warmup_steps: 150,
            steps: 1500,
            batch: 24,
            accumulate: 1,
            ..OptimConfig::default()
        },
        seed,
        checkpoint_every: 100,
        ..PretrainConfig::default()
    };
    let align = AlignConfig {
        optim: OptimConfig {
            lr: 1e-4,
            warmup_steps: 80,
            steps: 800,
            batch: 24,
            accumulate: 2,
            ..OptimConfig::default()
        },
        // Measured on this recipe: the released "CKA" form is invariant to which recording goes with
        // which report (it compares feature covariances), so its joint space did not pair them: no
        // recording's nearest report came from its own dataset (0 of 100). InfoNCE pairs them.
        loss: crate::train::losses::AlignLoss::InfoNce,
        seed,
        checkpoint_every: 50,
        ..AlignConfig::default()
    };
    (pretrain, align)
}

#[derive(Serialize)]
struct StageLog<'a> {
    stage: u8,
    name: &'a str,
    skipped: bool,
    seconds: f64,
}

struct Stages {
    log: PathBuf,
    until: u8,
}

impl Stages {
    /// Runs stage `n` unless `done`; logs its time. Returns false when the recipe should stop.
    fn run(
        &self,
        n: u8,
        name: &str,
        done: bool,
        f: impl FnOnce() -> Result<(), Failure>,
    ) -> Result<bool, Failure> {
        if n > self.until {
            return Ok(false);
        }
        let t0 = Instant::now();
        if done {
            eprintln!("[{n}/6] {name}: already done");
        } else {
            eprintln!("[{n}/6] {name}");
            f()?;
        }
        let entry = StageLog {
            stage: n,
            name,
            skipped: done,
            seconds: t0.elapsed().as_secs_f64(),
        };
        let line = serde_json::to_string(&entry).map_err(|e| Failure::output(e.to_string()))?;
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|mut f| writeln!(f, "{line}"))
            .map_err(|e| Failure::output(format!("{}: {e}", self.log.display())))?;
        Ok(true)
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Failure> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Failure::output(e.to_string()))?;
    output::write_atomic(path, &bytes)
        .map_err(|e| Failure::output(format!("{}: {e}", path.display())))
}

/// The dataset folders the default recipe trains on (real ones with audio, then the synthetic ones).
pub fn training_sets(args: &TrainArgs) -> Vec<PathBuf> {
    vec![
        args.data.join("covid19-cough"),
        args.data.join("kauh-subset"),
        args.out.join("data/icbhi-synth"),
        args.out.join("data/circor-synth"),
    ]
}

/// Runs `acula train`.
pub fn run(args: &TrainArgs) -> Result<(), Failure> {
    for d in REAL {
        let p = args.data.join(d);
        if !p.is_dir() {
            return Err(Failure::input(format!(
                "{} is missing; the default recipe needs {} under --data",
                p.display(),
                REAL.join(", ")
            )));
        }
    }
    let out = &args.out;
    std::fs::create_dir_all(out.join("data"))
        .and_then(|_| std::fs::create_dir_all(out.join("reports")))
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", out.display())))?;
    let stages = Stages {
        log: out.join("stages.jsonl"),
        until: args.until,
    };
    let (pre_cfg, align_cfg) = default_configs(args.seed);

    // 1. Synthetic recordings (each written to a temporary folder and renamed when complete).
    let lung = out.join("data/icbhi-synth");
    let heart = out.join("data/circor-synth");
    if !stages.run(
        1,
        "synthetic lung and heart sounds",
        lung.is_dir() && heart.is_dir(),
        || {
            if !lung.is_dir() {
                synth::run(&synth::SynthArgs {
                    command: synth::SynthCommand::Lung(synth::LungArgs {
                        out: lung.clone(),
                        follow: Some(args.data.join("icbhi-annotations")),
                        limit: None,
                        patients: None,
                        recordings_per_patient: 3,
                        seed: args.seed,
                        rate: 4000,
                        force: true,
                    }),
                })?;
            }
            if !heart.is_dir() {
                synth::run(&synth::SynthArgs {
                    command: synth::SynthCommand::Heart(synth::HeartArgs {
                        out: heart.clone(),
                        patients: 200,
                        seconds: 15.0,
                        seed: args.seed,
                        force: true,
                    }),
                })?;
            }
            Ok(())
        },
    )? {
        return Ok(());
    }

    // 2. Reports: one CSV per dataset (resumable), then all of them in one.
    let sets = training_sets(args);
    let all_csv = out.join("reports/all.csv");
    if !stages.run(2, "template clinical reports", all_csv.is_file(), || {
        let mut all = Vec::new();
        for set in &sets {
            let name = set.file_name().map(|n| n.to_string_lossy().to_string());
            let csv = out.join(format!("reports/{}.csv", name.unwrap_or_default()));
            if !csv.is_file() {
                reports::run(&reports::ReportsArgs {
                    dataset: set.clone(),
                    out: csv.clone(),
                    writer: reports::WriterKind::Template,
                    seed: args.seed,
                    limit: None,
                    modality: None,
                    with_audio: true,
                    llm_url: None,
                    llm_model: String::new(),
                    llm_key_env: String::new(),
                    llm_timeout: 60,
                    llm_retries: 0,
                    temperature: None,
                    model_dir: None,
                    no_acquisition: false,
                })?;
            }
            all.extend(reports::read_csv(&csv).map_err(|e| Failure::input(e.to_string()))?);
        }
        reports::write_csv(&all_csv, &all)
            .map_err(|e| Failure::output(format!("{}: {e}", all_csv.display())))
    })? {
        return Ok(());
    }

    // 3. Teacher embeddings (cached per text, so a rerun is quick).
    let emb = out.join("reports/all-minilm");
    let emb_npy = out.join("reports/all-minilm.npy");
    if !stages.run(3, "MiniLM teacher embeddings", emb_npy.is_file(), || {
        embed::run(&embed::EmbedArgs {
            reports: all_csv.clone(),
            out: emb.clone(),
            teacher: "minilm".into(),
            model_dir: None,
            batch: 32,
            pooling: embed::PoolingArg::Mean,
        })
    })? {
        return Ok(());
    }

    // 4. Masked-autoencoder pre-training.
    let pre = RunDir::new(out.join("pretrain"));
    let pre_json = out.join("pretrain.json");
    write_json(&pre_json, &pre_cfg)?;
    if !stages.run(
        4,
        "masked-autoencoder pre-training",
        pre.is_finished(),
        || {
            crate::train::pretrain::run(&PretrainArgs {
                datasets: sets.clone(),
                run: run_args(&pre, &pre_json),
                encoder: None,
                limit: None,
            })
        },
    )? {
        return Ok(());
    }

    // 5. Alignment.
    let al = RunDir::new(out.join("align"));
    let al_json = out.join("align.json");
    write_json(&al_json, &align_cfg)?;
    if !stages.run(5, "AcuLa alignment", al.is_finished(), || {
        crate::train::align::run(&AlignArgs {
            reports: all_csv.clone(),
            embeddings: emb_npy.clone(),
            init: Some(pre.path().to_path_buf()),
            loss: None,
            run: run_args(&al, &al_json),
        })
    })? {
        return Ok(());
    }

    // 6. Heads and bundle.
    let bundle_dir = BundleDir::new(out.join("bundle"));
    let training = TrainingInfo {
        recipe: Some("default".into()),
        command: Some(format!("acula train --recipe default --seed {}", args.seed)),
        seed: Some(args.seed),
        what: Some("gt-tiny pre-trained from scratch as a masked autoencoder, then aligned (symmetric InfoNCE + MAE) with all-MiniLM-L6-v2 embeddings of template clinical reports".into()),
        datasets: Some(vec![
            dataset("covid19-cough", true, "927 induced coughs (CC0), phone and messenger recordings, COVID-19 status"),
            dataset("kauh", true, "30 stethoscope lung recordings (KAUH subset, CC BY 4.0)"),
            dataset("icbhi-synth", false, "synthetic lung sounds following the real ICBHI 2017 annotations, diagnoses and demographics (no real ICBHI audio)"),
            dataset("circor-synth", false, "synthetic heart sounds with murmurs in the CirCor layout (200 patients)"),
        ]),
        pretrain: Some(StageInfo {
            config: serde_json::to_value(&pre_cfg).map_err(|e| Failure::output(e.to_string()))?,
            final_losses: pre.log().last().map(|l| l.losses.clone()),
            loss: None,
            steps: None,
        }),
        ..TrainingInfo::default()
    };
    let examples = demo_examples(&args.data)?;
    let task = |dir: &Path, task: &str| {
        let spec = format!("{}:{task}", dir.display());
        TaskRef::from_str(&spec).map_err(|e| Failure::usage(format!("--task {spec}: {e}")))
    };
    let tasks = vec![
        task(&args.data.join("covid19-cough"), "covid")?,
        task(&lung, "copd")?,
        task(&heart, "murmur")?,
    ];
    if !stages.run(6, "task heads and the bundle", false, || {
        crate::export::export(&crate::export::Export {
            run: al.clone(),
            reports: all_csv.clone(),
            embeddings: emb_npy.clone(),
            tasks: tasks.clone(),
            out: bundle_dir.clone(),
            name: "acula-default".into(),
            version: None,
            seed: args.seed,
            training: training.clone(),
            force: true,
            examples: examples.clone(),
            teacher_dir: None,
        })
    })? {
        return Ok(());
    }
    if let Some(dest) = &args.publish {
        bundle_dir.copy_to(&BundleDir::new(dest))?;
        eprintln!("published → {}", dest.display());
    }
    Ok(())
}

/// One entry of the training description's dataset list.
fn dataset(id: &str, real: bool, what: &str) -> DatasetInfo {
    DatasetInfo {
        id: id.into(),
        real,
        what: what.into(),
    }
}

/// The run flags of a stage: its config file, resuming when the folder already holds a run.
fn run_args(out: &RunDir, config: &Path) -> RunArgs {
    RunArgs {
        out: out.path().to_path_buf(),
        config: Some(config.to_path_buf()),
        steps: None,
        batch: None,
        seed: None,
        resume: out.has_config(),
        backend: backend::Backend::Flex,
    }
}

/// The default bundle's demo set: real recordings whose licences allow shipping them — two coughs
/// from each source of covid19-cough (CC0; one positive, one negative) and two KAUH lung sounds
/// (CC BY 4.0; a healthy chest and an asthmatic one). Chosen by sorted file name, so the set is
/// the same on every machine.
fn demo_examples(data: &Path) -> Result<Vec<crate::export::ExampleSpec>, Failure> {
    let mut out = Vec::new();
    let coughs = data.join("covid19-cough");
    let meta: Vec<serde_json::Value> = std::fs::read(coughs.join("metadata.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Failure::input(format!("cannot read {}/metadata.json", coughs.display())))?;
    let mut meta: Vec<&serde_json::Value> = meta.iter().collect();
    meta.sort_by_key(|m| m["filename"].as_str().unwrap_or("").to_string());
    for (source, words) in [
        ("call-center", "phone line, 8 kHz"),
        ("telegram", "messenger app, 48 kHz"),
    ] {
        for positive in [true, false] {
            let hit = meta.iter().find(|m| {
                m["source"].as_str() == Some(source)
                    && m["covid19"].as_bool() == Some(positive)
                    && coughs
                        .join("raw")
                        .join(m["filename"].as_str().unwrap_or(""))
                        .is_file()
            });
            if let Some(m) = hit {
                out.push(crate::export::ExampleSpec {
                    path: coughs
                        .join("raw")
                        .join(m["filename"].as_str().unwrap_or("")),
                    title: format!(
                        "Cough, COVID-19 {} ({words})",
                        if positive { "positive" } else { "negative" }
                    ),
                    recording: acula_core::RecordingKind::Cough,
                    source: "covid19-cough (CC0 1.0)".into(),
                });
            }
        }
    }
    let kauh = data.join("kauh-subset").join("Audio Files");
    let mut wavs: Vec<String> = std::fs::read_dir(&kauh)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".wav"))
                .collect()
        })
        .unwrap_or_default();
    wavs.sort();
    for (tag, title) in [
        ("_N,", "Lung sounds, healthy chest"),
        ("_Asthma,", "Lung sounds, asthma"),
    ] {
        if let Some(n) = wavs.iter().find(|n| n.contains(tag)) {
            out.push(crate::export::ExampleSpec {
                path: kauh.join(n),
                title: format!("{title} (stethoscope)"),
                recording: acula_core::RecordingKind::Lung,
                source: "KAUH lung sounds, Fraiwan et al., Mendeley Data jwyy9np4gv (CC BY 4.0)"
                    .into(),
            });
        }
    }
    Ok(out)
}
