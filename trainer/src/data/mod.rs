//! Datasets: one interface over the official layouts of the body-sound datasets of the benchmark.
//!
//! A loader reads a dataset's own files (its CSVs, annotation files and audio folders, exactly as the
//! publishers ship them) and yields [`Record`]s: an id, a subject, where the audio is (file, optional
//! segment, optional channel), the dataset's metadata (typed per dataset, see [`Metadata`]) and a label
//! per task. Every row that cannot be used is counted under a [`Problem`], never dropped silently; a
//! loader fails with a clear error when nothing usable is left.
//!
//! Layout facts and label rules follow the publishers' documentation and the OPERA benchmark's
//! processing code (Zhang et al., 2024, `src/benchmark/processing/*.py`); differences are stated on
//! each loader.

mod circor;
mod coswara;
mod coughvid;
mod covid19_cough;
mod icbhi;
mod kauh;
mod mmlung;
mod nosemic;
mod resp_tr;
mod ssbpr;
pub mod table;
mod ukcovid;

pub mod list;
pub mod metadata;
pub mod split;
pub mod synthetic;
pub mod task_ref;

mod files;
#[cfg(test)]
pub mod fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use files::{files_with_ext, find_ci, opt_flag, opt_num, opt_text, read_text, stem, subdirs};
pub use files::{read_pcm, PcmError};
pub use metadata::Metadata;
pub use task_ref::TaskRef;

/// What a task predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Two classes; class 1 is the positive one.
    Binary,
    /// More than two classes.
    MultiClass,
    /// A real number.
    Regression,
}

/// Which records a task is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskUnit {
    /// Whole recordings.
    Recording,
    /// The segments of a recording (ICBHI breathing cycles).
    Segment,
}

/// A task a dataset declares.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// Short id, unique within the dataset (`copd`, `sex`, `fvc`…).
    pub id: &'static str,
    /// One line for people.
    pub description: &'static str,
    pub kind: TaskKind,
    pub unit: TaskUnit,
    /// Class names in index order (empty for regression).
    pub classes: Vec<&'static str>,
    /// Regression unit (`L`, `breaths/min`…), empty otherwise.
    pub unit_name: &'static str,
    /// The recording modality the benchmark uses for this task (`cough-shallow`…), if it picks one.
    pub modality: Option<&'static str>,
}

impl Task {
    fn classes(id: &'static str, description: &'static str, classes: &[&'static str]) -> Self {
        let kind = if classes.len() == 2 {
            TaskKind::Binary
        } else {
            TaskKind::MultiClass
        };
        Self {
            id,
            description,
            kind,
            unit: TaskUnit::Recording,
            classes: classes.to_vec(),
            unit_name: "",
            modality: None,
        }
    }

    fn regression(id: &'static str, description: &'static str, unit_name: &'static str) -> Self {
        Self {
            id,
            description,
            kind: TaskKind::Regression,
            unit: TaskUnit::Recording,
            classes: Vec::new(),
            unit_name,
            modality: None,
        }
    }

    fn on_segments(mut self) -> Self {
        self.unit = TaskUnit::Segment;
        self
    }

    fn with_modality(mut self, modality: &'static str) -> Self {
        self.modality = Some(modality);
        self
    }
}

/// A label for one task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Label {
    /// Index into [`Task::classes`].
    Class(usize),
    /// A regression target.
    Value(f64),
}

/// Official split membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    Train,
    Val,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Where a record's audio is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudioSource {
    pub path: PathBuf,
    /// Segment start in seconds (whole file when absent).
    pub start_s: Option<f64>,
    /// Segment end in seconds.
    pub end_s: Option<f64>,
    /// One channel of a multi-channel file (0-based); all channels mixed when absent.
    pub channel: Option<u16>,
}

impl AudioSource {
    fn file(path: PathBuf) -> Self {
        Self {
            path,
            start_s: None,
            end_s: None,
            channel: None,
        }
    }
}

/// An annotated part of a recording: a breathing cycle (ICBHI) or a heart-sound state (CirCor).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    /// Labels of the segment's tasks (task id → label).
    pub labels: BTreeMap<&'static str, Label>,
}

/// One recording (or one segment of one) with its metadata and labels.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Unique within the dataset.
    pub id: String,
    /// The person recorded; never on both sides of a split made by subject.
    pub subject: String,
    /// What was recorded (`cough`, `breathing-deep`, `lung`, `heart`…).
    pub modality: String,
    pub audio: AudioSource,
    /// Whether the audio file exists.
    pub has_audio: bool,
    pub metadata: Metadata,
    /// Task id → label; a task without a label for this record is absent.
    pub labels: BTreeMap<&'static str, Label>,
    /// The official split, where the dataset has one.
    pub split: Option<Split>,
    /// Annotated segments (breathing cycles, heart states).
    pub segments: Vec<Segment>,
}

/// Why a row or file could not be used as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// The record's audio file is not there (the record is kept; metadata-only uses still work).
    MissingAudio,
    /// A row or file that could not be parsed (dropped).
    UnreadableRow,
    /// A label value the loader does not know (the record is kept without that label).
    UnknownLabel,
    /// A second row with an id already seen (dropped).
    DuplicateId,
    /// A record without its metadata row, or metadata without any record (dropped).
    MissingMetadata,
    /// An audio file the publisher's annotations mark as unusable (dropped).
    UnusableAudio,
}

impl Problem {
    pub fn describe(self) -> &'static str {
        match self {
            Problem::MissingAudio => "audio file missing (record kept)",
            Problem::UnreadableRow => "unreadable row or file (dropped)",
            Problem::UnknownLabel => "unknown label value (record kept without it)",
            Problem::DuplicateId => "duplicated id (later one dropped)",
            Problem::MissingMetadata => "no matching metadata (dropped)",
            Problem::UnusableAudio => "audio marked unusable by the publisher (dropped)",
        }
    }
}

/// Counts per problem, with the first few examples of each.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Problems {
    pub counts: BTreeMap<Problem, usize>,
    pub examples: BTreeMap<Problem, Vec<String>>,
}

impl Problems {
    const EXAMPLES: usize = 3;

    /// Counts one occurrence of `problem`; `what` says where (kept as an example).
    pub fn add(&mut self, problem: Problem, what: impl Into<String>) {
        *self.counts.entry(problem).or_default() += 1;
        let ex = self.examples.entry(problem).or_default();
        if ex.len() < Self::EXAMPLES {
            ex.push(what.into());
        }
    }

    #[cfg(test)]
    pub fn count(&self, problem: Problem) -> usize {
        self.counts.get(&problem).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// A loaded dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// Loader id (`icbhi`, `coswara`…).
    pub id: &'static str,
    /// Full name.
    pub name: &'static str,
    /// Which of the dataset's layouts was read.
    pub layout: &'static str,
    pub root: PathBuf,
    pub tasks: Vec<Task>,
    pub records: Vec<Record>,
    pub problems: Problems,
    /// Whether an official split was read.
    pub official_split: bool,
    /// Written by `acula synth`, not recorded from people.
    pub synthetic: bool,
}

impl Dataset {
    /// Number of distinct subjects.
    pub fn subjects(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.subject.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Records whose audio file exists.
    pub fn with_audio(&self) -> usize {
        self.records.iter().filter(|r| r.has_audio).count()
    }

    /// Total annotated segments.
    pub fn segments(&self) -> usize {
        self.records.iter().map(|r| r.segments.len()).sum()
    }

    /// One record per segment for segment-level tasks (ICBHI breathing cycles): each gets the
    /// segment's time span as its audio source and the segment's labels, ids `<record>#<k>`.
    pub fn segment_records(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.segments());
        for r in &self.records {
            for (k, s) in r.segments.iter().enumerate() {
                let mut rec = r.clone();
                rec.id = format!("{}#{k}", r.id);
                rec.audio.start_s = Some(s.start_s);
                rec.audio.end_s = Some(s.end_s);
                rec.labels = s.labels.clone();
                rec.segments = Vec::new();
                out.push(rec);
            }
        }
        out
    }
}

/// Why a dataset could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    Layout { path: PathBuf, message: String },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} at {root}: no usable record left ({problems}); check that the folder is the dataset's own layout")]
    Empty {
        name: &'static str,
        root: PathBuf,
        problems: String,
    },
}

impl DataError {
    fn layout(path: &Path, message: impl Into<String>) -> Self {
        Self::Layout {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A dataset reader for one official layout.
pub trait Loader: Sync {
    /// Loader id.
    fn id(&self) -> &'static str;
    /// Full dataset name.
    fn name(&self) -> &'static str;
    /// Whether `dir` is the root of this dataset's layout (cheap: looks at file names only).
    fn detect(&self, dir: &Path) -> bool;
    /// Reads the dataset rooted at `dir`.
    fn load(&self, dir: &Path) -> Result<Dataset, DataError>;
}

/// Every loader, in the order `detect` is tried.
pub fn loaders() -> &'static [&'static dyn Loader] {
    &[
        &icbhi::Icbhi,
        &kauh::Kauh,
        &coughvid::CoughVid,
        &coswara::Coswara,
        &ukcovid::UkCovid,
        &resp_tr::RespTr,
        &ssbpr::Ssbpr,
        &mmlung::MmLung,
        &nosemic::NoseMic,
        &circor::CirCor,
        &covid19_cough::Covid19Cough,
    ]
}

/// The loader with this id.
pub fn loader(id: &str) -> Option<&'static dyn Loader> {
    loaders().iter().copied().find(|l| l.id() == id)
}

/// A dataset folder found under a root.
#[derive(Debug, Clone)]
pub struct Found {
    pub loader: &'static dyn Loader,
    pub dir: PathBuf,
}

impl std::fmt::Debug for dyn Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// Finds every dataset at or under `root` (depth ≤ 4; a dataset's own folder is not searched further).
pub fn discover(root: &Path) -> Vec<Found> {
    let mut found = Vec::new();
    walk(root, 0, &mut found);
    found
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<Found>) {
    if let Some(l) = loaders().iter().find(|l| l.detect(dir)) {
        found.push(Found {
            loader: *l,
            dir: dir.to_path_buf(),
        });
        return;
    }
    if depth >= 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    dirs.sort();
    for d in dirs {
        walk(&d, depth + 1, found);
    }
}

/// Loads the dataset at `dir` with whichever loader recognises it.
pub fn load(dir: &Path) -> Result<Dataset, DataError> {
    let loader = loaders().iter().find(|l| l.detect(dir)).ok_or_else(|| {
        DataError::layout(
            dir,
            "no dataset layout recognised here; `acula data list <ROOT>` shows what is found under a folder",
        )
    })?;
    loader.load(dir)
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the loaders.

/// Builds a dataset, enforcing unique ids (later duplicates counted and dropped) and failing when no
/// record is left.
#[allow(clippy::too_many_arguments)]
fn finish(
    loader: &dyn Loader,
    layout: &'static str,
    root: &Path,
    tasks: Vec<Task>,
    records: Vec<Record>,
    mut problems: Problems,
    official_split: bool,
) -> Result<Dataset, DataError> {
    let mut seen = BTreeSet::new();
    let mut kept = Vec::with_capacity(records.len());
    for r in records {
        if seen.insert(r.id.clone()) {
            kept.push(r);
        } else {
            problems.add(Problem::DuplicateId, r.id);
        }
    }
    if kept.is_empty() {
        let summary = if problems.is_empty() {
            "the folder has no records".to_string()
        } else {
            problems
                .counts
                .iter()
                .map(|(p, n)| format!("{n} × {}", p.describe()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(DataError::Empty {
            name: loader.name(),
            root: root.to_path_buf(),
            problems: summary,
        });
    }
    let synthetic = synthetic::is_root(root);
    Ok(Dataset {
        id: loader.id(),
        name: loader.name(),
        layout,
        root: root.to_path_buf(),
        tasks,
        records: kept,
        problems,
        official_split,
        synthetic,
    })
}
