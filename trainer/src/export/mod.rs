//! `acula export`: an alignment run → a model bundle (see `acula_core::bundle`). It writes the
//! encoder and audio head in half precision ([`model`]), projects every report of the training CSV
//! into the joint space with the text head ([`index`]), fits one linear head per screening task on
//! the joint embeddings of that task's recordings, computed from the half-precision weights exactly
//! as `acula predict` and the browser will ([`heads`], named by [`catalogue`]), adds the example
//! recordings ([`examples`]), and seals the manifest with every file's sha256 ([`manifest`]). The
//! bundle is written to a temporary folder beside `--out` and renamed into place when complete.

pub mod catalogue;
pub mod examples;
pub mod familiarity;
pub mod fit;
pub mod heads;
pub mod index;
pub mod manifest;
pub mod model;
pub mod refit;
pub mod text;
pub mod text_head;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use acula_core::bundle::{self, TrainingInfo};
use acula_core::retrieval::EmbeddingIndex;
use acula_core::screen::Screener;
use clap::Args;

pub use examples::ExampleSpec;
pub(crate) use model::host;

use crate::bundle_dir::BundleDir;
use crate::data::{self, TaskRef, TaskUnit};
use crate::train::run_dir::RunDir;
use crate::{reports, Failure};

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
    pub tasks: Vec<TaskRef>,
    /// Bundle folder to write.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Bundle name.
    #[arg(long, default_value = "acula-custom")]
    pub name: String,
    /// Bundle version (default: today's date).
    #[arg(long)]
    pub version: Option<String>,
    /// Unused since the heads take the evaluation's subject split (kept so that scripts passing it
    /// still run).
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
    /// Folder with all-MiniLM-L6-v2's files (`config.json`, `model.safetensors`, `tokenizer.json`;
    /// default: the model cache): the bundle's text side names them by checksum. Without MiniLM as
    /// the teacher, the bundle gets no text side.
    #[arg(long)]
    pub teacher_dir: Option<PathBuf>,
}

/// An export, in values: what [`ExportArgs`] names in files, or what the recipe hands over directly.
#[derive(Debug)]
pub struct Export {
    /// The alignment run.
    pub run: RunDir,
    /// The reports CSV the run was aligned on.
    pub reports: PathBuf,
    /// Their teacher embeddings (`.npy`, with the teacher's `.json` beside it).
    pub embeddings: PathBuf,
    /// The screening tasks (classification tasks on whole recordings, without filters).
    pub tasks: Vec<TaskRef>,
    /// The bundle folder to write.
    pub out: BundleDir,
    /// Bundle name.
    pub name: String,
    /// Bundle version (default: today's date).
    pub version: Option<String>,
    /// Unused (see [`ExportArgs::seed`]).
    pub seed: u64,
    /// The caller's description of the training (export completes it).
    pub training: TrainingInfo,
    /// Example recordings to ship.
    pub examples: Vec<ExampleSpec>,
    /// Replace `out` if it exists.
    pub force: bool,
    /// MiniLM's folder (default: the model cache).
    pub teacher_dir: Option<PathBuf>,
}

/// Runs `acula export`: reads the JSON files the flags name, then [`export`].
pub fn run(args: &ExportArgs) -> Result<(), Failure> {
    refuse_existing(&args.out, args.force)?;
    let training = match &args.training_json {
        Some(p) => read_training(p)?,
        None => TrainingInfo::default(),
    };
    let examples = match &args.examples {
        Some(p) => examples::read_specs(p)?,
        None => Vec::new(),
    };
    export(&Export {
        run: RunDir::new(&args.run),
        reports: args.reports.clone(),
        embeddings: args.embeddings.clone(),
        tasks: args.tasks.clone(),
        out: BundleDir::new(&args.out),
        name: args.name.clone(),
        version: args.version.clone(),
        seed: args.seed,
        training,
        examples,
        force: args.force,
        teacher_dir: args.teacher_dir.clone(),
    })
}

/// Writes the bundle of `e`.
pub fn export(e: &Export) -> Result<(), Failure> {
    refuse_existing(e.out.path(), e.force)?;
    let device = crate::backend::Backend::Flex.device()?;
    let (rows, text_dim, emb) = reports::read_with_embeddings(&e.reports, &e.embeddings)?;
    let teacher_id = teacher_id(&e.embeddings);
    let examples = examples::recordings(&e.examples)?;
    let aligned = e.run.aligned(text_dim, &device)?;
    // The tasks' datasets first, so a typo fails before any work.
    let tasks = load_tasks(&e.tasks)?;

    // 1. Encoder + audio head, in half precision.
    let model_file = model::model_file(&aligned.model)?;
    // 2. The report index.
    let proj = aligned.config.proj_dim;
    let index = index::build(&aligned.model, &rows, &emb, text_dim, proj, &device)?;
    let mut manifest = manifest::skeleton(
        manifest::Identity {
            name: &e.name,
            version: e.version.as_deref(),
            teacher_id,
            teacher_dim: text_dim,
        },
        &aligned.config,
        &rows,
        index.entries.len(),
    )?;
    // 3. Task heads on the joint embeddings the bundle itself produces.
    let screener = Screener::from_parts(
        manifest.clone(),
        &model_file,
        None,
        Vec::new(),
        EmbeddingIndex::new(proj).map_err(|e| Failure::input(e.to_string()))?,
        &device,
    )
    .map_err(|e| Failure::input(e.to_string()))?;
    let heads = heads::fit_all(&screener, &tasks, e.seed)?;
    let text_side = text::build(
        &aligned.model,
        &manifest.teacher.id,
        e.teacher_dir.as_deref(),
        &screener,
        &examples,
    )?;
    manifest.tasks = heads.specs;
    let familiarity = familiarity::fit(&heads.kinds)?;
    // 4. The training description.
    manifest.training = Some(manifest::training(
        e.training.clone(),
        &e.run,
        &aligned,
        &rows,
        index.synthetic_datasets,
        heads.counts,
    )?);
    // 5. Seal and write.
    let mut files = BTreeMap::new();
    files.insert(bundle::MODEL_FILE.to_string(), model_file);
    files.insert(bundle::HEADS_FILE.to_string(), heads.file);
    files.insert(
        bundle::REPORTS_FILE.to_string(),
        serde_json::to_vec(&index.entries).map_err(|e| Failure::input(e.to_string()))?,
    );
    files.insert(bundle::INDEX_FILE.to_string(), index.embeddings_file);
    if let Some((spec, file)) = familiarity {
        manifest.familiarity = Some(spec);
        files.insert(bundle::FAMILIARITY_FILE.to_string(), file);
    }
    for (bytes, example) in examples {
        files.insert(example.file.clone(), bytes);
        manifest.examples.push(example);
    }
    if let Some(t) = text_side {
        manifest.text = Some(t.spec);
        files.insert(bundle::TEXT_FILE.to_string(), t.file);
    }
    let total = manifest::seal_and_write(&mut manifest, &files, &e.out)?;
    eprintln!(
        "bundle {} ({} tasks, {} reports, {:.1} MB) → {}",
        manifest.name,
        manifest.tasks.len(),
        manifest.reports.count,
        total as f64 / 1e6,
        e.out.path().display()
    );
    Ok(())
}

/// A usage error when `out` exists and may not be replaced.
fn refuse_existing(out: &Path, force: bool) -> Result<(), Failure> {
    if out.exists() && !force {
        return Err(Failure::usage(format!(
            "{} exists; give another --out or --force to replace it",
            out.display()
        )));
    }
    Ok(())
}

/// `--training-json`.
fn read_training(path: &Path) -> Result<TrainingInfo, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// The teacher's id from the embeddings' description (`X.json` beside `X.npy`), or `unknown`.
fn teacher_id(embeddings: &Path) -> String {
    let meta: serde_json::Value = std::fs::read(embeddings.with_extension("json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    meta.get("teacher")
        .and_then(|t| t.as_str())
        .unwrap_or("unknown")
        .to_string()
}

/// Loads the tasks' datasets and checks that each task can be a head.
fn load_tasks(tasks: &[TaskRef]) -> Result<Vec<(data::Dataset, data::Task)>, Failure> {
    let mut out = Vec::new();
    for spec in tasks {
        if spec.filter.is_some() {
            return Err(Failure::usage(format!(
                "--task {spec}: a head takes a whole task; write it as DATASET_DIR:TASK"
            )));
        }
        let (ds, t) = spec.load()?;
        if t.kind == data::TaskKind::Regression || t.unit != TaskUnit::Recording {
            return Err(Failure::usage(format!(
                "--task {spec}: only classification tasks on whole recordings can be heads"
            )));
        }
        out.push((ds, t));
    }
    Ok(out)
}
