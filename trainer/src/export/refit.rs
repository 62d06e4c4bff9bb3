//! `acula refit`: the task heads and the familiarity check of an existing bundle fitted again on its
//! own encoder, without the alignment run (the encoder, the report index and the examples are kept
//! byte for byte). How the default bundle's heads were refitted when the head fitting changed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use acula_core::bundle::{self, Manifest};
use acula_core::retrieval::EmbeddingIndex;
use acula_core::screen::Screener;
use clap::Args;

use super::{familiarity, heads, load_tasks, manifest, refuse_existing};
use crate::bundle_dir::BundleDir;
use crate::data::TaskRef;
use crate::Failure;

/// Arguments of `acula refit`.
#[derive(Debug, Args)]
pub struct RefitArgs {
    /// The bundle whose encoder the heads are fitted on.
    #[arg(long)]
    pub bundle: PathBuf,
    /// A screening task, `DATASET_DIR:TASK`, as for `acula export`; repeat for several.
    #[arg(long = "task", required = true)]
    pub tasks: Vec<TaskRef>,
    /// Bundle folder to write (may be `--bundle` itself, with `--force`).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Replace `--out` if it exists.
    #[arg(long)]
    pub force: bool,
    /// Screen cough recordings whole, as bundles did before the cough detector (no `events` in the
    /// manifest); by default they are screened on their detected coughs only.
    #[arg(long)]
    pub whole_coughs: bool,
}

/// Runs `acula refit`.
pub fn run(args: &RefitArgs) -> Result<(), Failure> {
    refuse_existing(&args.out, args.force)?;
    let source = BundleDir::new(&args.bundle).read()?;
    let tasks = load_tasks(&args.tasks)?;
    let device = crate::backend::Backend::Flex.device()?;
    let mut m: Manifest = source.manifest.clone();
    m.tasks.clear();
    m.familiarity = None;
    // The heads are fitted on what the bundle's screening will do: cough recordings on their
    // detected coughs (the detector's settings go into the manifest), or whole with --whole-coughs.
    m.events = (!args.whole_coughs).then(acula_core::events::EventConfig::default);
    let model = source
        .file(bundle::MODEL_FILE)
        .map_err(|e| Failure::input(e.to_string()))?;
    let screener = Screener::from_parts(
        m.clone(),
        model,
        None,
        Vec::new(),
        EmbeddingIndex::new(m.reports.dim).map_err(|e| Failure::input(e.to_string()))?,
        &device,
    )
    .map_err(|e| Failure::input(format!("{}: {e}", args.bundle.display())))?;
    let fitted = heads::fit_all(&screener, &tasks, 0)?;
    m.tasks = fitted.specs;
    if let Some(t) = m.training.as_mut() {
        t.task_recordings = Some(fitted.counts);
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for name in source.manifest.files.keys() {
        if name == bundle::HEADS_FILE || name == bundle::FAMILIARITY_FILE {
            continue;
        }
        if !source.has_file(name) {
            // A deferred file that is not at hand (the text side): the refitted bundle goes without it.
            eprintln!(
                "note: {} has no {name}; the refitted bundle has no text side (acula text-head adds one)",
                args.bundle.display()
            );
            m.text = None;
            continue;
        }
        let bytes = source
            .file(name)
            .map_err(|e| Failure::input(e.to_string()))?;
        files.insert(name.clone(), bytes.to_vec());
    }
    files.insert(bundle::HEADS_FILE.to_string(), fitted.file);
    if let Some((spec, file)) = familiarity::fit(&fitted.kinds)? {
        m.familiarity = Some(spec);
        files.insert(bundle::FAMILIARITY_FILE.to_string(), file);
    }
    m.created = manifest::now_utc()?.1;
    let total = manifest::seal_and_write(&mut m, &files, &BundleDir::new(&args.out))?;
    eprintln!(
        "bundle {} ({} tasks refitted, {:.1} MB) → {}",
        m.name,
        m.tasks.len(),
        total as f64 / 1e6,
        args.out.display()
    );
    Ok(())
}
