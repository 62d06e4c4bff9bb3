//! The model bundle: the one contract between the trainer (which writes it, `acula export`) and every
//! place that screens a recording (`acula predict`, the web app). A bundle is a flat folder of files:
//!
//! | file | what |
//! |---|---|
//! | `manifest.json` | [`Manifest`]: format version, front end, encoder, tasks, teacher, training data, metrics, and the sha256 and size of every other file |
//! | `model.safetensors` | the encoder (PyTorch OPERA-GT names under `encoder.`) and the audio projection head (`audio_head.fc1`, `audio_head.fc2`); half precision |
//! | `heads.safetensors` | one linear head per screening task on the concatenation of its [`HeadInput`]s (the 512-d joint embedding by default): `<task>.weight` `[labels, width]`, `<task>.bias` `[labels]`; f32 |
//! | `familiarity.safetensors` | optional ([`FamiliaritySpec`]): per recording kind, `<kind>.references` `[n, width]`, `<kind>.mean` and `<kind>.scale` `[width]`, all half precision |
//! | `reports.json` | the report index's texts and where each came from ([`ReportEntry`]) |
//! | `reports.safetensors` | `embeddings` `[reports, 512]`: the reports in the joint space (text head output, L2-normalised); half precision |
//! | `text.safetensors` | optional ([`TextSpec`]), fetched only when a text feature is first used: the text head (`text_head.fc1`, `text_head.fc2`) and `examples` `[examples, 512]`, the example recordings in the joint space; half precision |
//!
//! `core` never reads files: the caller hands over the bytes of each (the browser fetches them), and
//! [`Bundle::new`] refuses a bundle whose format, version, sizes or checksums do not match.

mod info;
mod trust;

use std::collections::BTreeMap;

pub use info::{
    DatasetInfo, EvalTask, Evaluation, Extra, GroupAuroc, HeadCandidate, HeadMetrics, LambdaPoint,
    ProbeCell, RecordingCounts, RetrievalRow, RetrievalScores, StageInfo, TrainingInfo,
    ZeroShotScores,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use trust::{
    Calibration, Familiarity, FamiliaritySpec, HeadInput, KindFamiliarity, ReliabilityBin,
};

use crate::encoder::EncoderConfig;
use crate::error::BundleError;
use crate::quality::QualityConfig;
use crate::recording::RecordingKind;
use crate::FrontEndConfig;

/// The `format` field of every bundle manifest.
pub const FORMAT: &str = "acula-bundle";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// Encoder + audio head.
pub const MODEL_FILE: &str = "model.safetensors";
/// Task heads.
pub const HEADS_FILE: &str = "heads.safetensors";
/// Report texts.
pub const REPORTS_FILE: &str = "reports.json";
/// Report embeddings.
pub const INDEX_FILE: &str = "reports.safetensors";
/// Reference embeddings of the familiarity check (optional; see [`FamiliaritySpec`]).
pub const FAMILIARITY_FILE: &str = "familiarity.safetensors";
/// The text head and the examples' joint embeddings (optional; see [`TextSpec`]).
pub const TEXT_FILE: &str = "text.safetensors";
/// The files every bundle has besides the manifest.
pub const FILES: [&str; 4] = [MODEL_FILE, HEADS_FILE, REPORTS_FILE, INDEX_FILE];

/// Size and checksum of one bundle file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Lower-case hex sha256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The audio projection head's shape (`Linear(encoder.dim, hidden) → ReLU → Linear(hidden, dim)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadShape {
    /// Hidden width (1,024).
    pub hidden: usize,
    /// Joint-space width (512).
    pub dim: usize,
}

/// How a recording is cut for the encoder (OPERA's clip embedding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkConfig {
    /// Frames per chunk (256 ≈ 8.2 s).
    pub frames: usize,
    /// A trailing piece shorter than this is dropped (16).
    pub min_frames: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self {
            frames: 256,
            min_frames: 16,
        }
    }
}

/// One screening task of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Stable, descriptive, lower-case id (`covid19_cough`): the key of its score everywhere.
    pub id: String,
    /// Short name for people ("COVID-19 from a cough").
    pub name: String,
    /// What a high score means, in plain words, and what the task was trained on.
    pub description: String,
    /// The kind of recording the task applies to.
    pub recording: RecordingKind,
    /// Class labels, in the order of the head's outputs.
    pub labels: Vec<String>,
    /// The label whose probability is the task's score (binary tasks).
    pub positive: Option<String>,
    /// Whether the head was trained on synthetic recordings only.
    pub synthetic: bool,
    /// What the head measured on validation and held-out subjects (`null` when not recorded).
    #[serde(default)]
    pub metrics: Option<HeadMetrics>,
    /// What the head reads, concatenated in this order (older bundles: the joint embedding).
    #[serde(default = "trust::joint_only")]
    pub inputs: Vec<HeadInput>,
    /// How the scores were calibrated (`null`: they are scores, not estimated probabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl TaskSpec {
    /// Whether the task was trained on synthetic recordings only: a research task, not shown to
    /// patients by default.
    pub fn research(&self) -> bool {
        self.synthetic
    }
}

/// The teacher the encoder was aligned with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherInfo {
    /// Teacher id (`all-minilm-l6-v2`).
    pub id: String,
    /// Its embedding width.
    pub dim: usize,
    /// Who wrote the reports (`template-v1:seed=0`, `llm:gpt-4o`).
    pub reports_writer: String,
}

/// The text side of the joint space (search by description, zero-shot labels): the sentence encoder
/// the model was aligned with, the text head on top of it, and how labels become prompts. The head
/// lives in [`TEXT_FILE`], which is listed in `files` but *deferred*: [`Bundle::new`] does not need
/// it, so a page that never uses text never downloads it ([`Bundle::add_file`] adds it later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextSpec {
    /// The sentence encoder (the teacher), named by its files' checksums so that a bundle and a
    /// text encoder that do not belong together are refused.
    pub encoder: TextEncoderSpec,
    /// The text head's shape (`Linear(teacher.dim, hidden) → ReLU → Linear(hidden, dim)`).
    pub head: HeadShape,
    /// The alignment's learned inverse temperature (`exp(log_scale)`): zero-shot label scores are
    /// `softmax(logit_scale · cosine)`.
    pub logit_scale: f32,
    /// How a label the user types becomes a sentence, per recording kind (`{label}` is replaced);
    /// `any` for a recording of no stated kind.
    pub prompts: BTreeMap<String, String>,
    /// Rows of `examples` in [`TEXT_FILE`]: the bundle's example recordings, in `examples` order.
    pub examples: usize,
    /// How the text head was trained (with the audio tower in the alignment run, or afterwards
    /// against the frozen audio tower), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_training: Option<String>,
}

/// The sentence encoder a bundle's text head reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextEncoderSpec {
    /// The teacher id (the manifest's `teacher.id`).
    pub id: String,
    /// Its published files (`config.json`, `model.safetensors`, `tokenizer.json`) with their sizes
    /// and sha256.
    pub files: BTreeMap<String, FileEntry>,
    /// Texts are cut to this many tokens.
    pub max_tokens: usize,
    /// How token states become one vector (`mean`).
    pub pooling: String,
}

impl TextSpec {
    /// The prompt for `label` on a recording of `kind` (`None`: no stated kind).
    pub fn prompt(&self, kind: Option<RecordingKind>, label: &str) -> String {
        let key = kind.map_or("any", RecordingKind::id);
        let template = self
            .prompts
            .get(key)
            .or_else(|| self.prompts.get("any"))
            .map_or("{label}", String::as_str);
        template.replace("{label}", label)
    }

    /// The prompts an export writes: sentences in the style of the template reports.
    pub fn default_prompts() -> BTreeMap<String, String> {
        [
            ("any", "A body sound recording with {label}."),
            ("cough", "A cough recording from a person with {label}."),
            (
                "breath",
                "Breathing sounds recorded with a microphone, with {label}.",
            ),
            (
                "lung",
                "Lung sounds recorded with a stethoscope, with {label}.",
            ),
            (
                "heart",
                "Heart sounds recorded with a stethoscope, with {label}.",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// The report index's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportsInfo {
    /// Number of reports.
    pub count: usize,
    /// Embedding width (the joint space, 512).
    pub dim: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Bundle name (`acula-default`).
    pub name: String,
    /// Bundle version (free text, e.g. a date).
    pub version: String,
    /// When it was exported (RFC 3339, UTC).
    pub created: String,
    /// Intended use, shown to every user.
    pub intended_use: String,
    /// The front end the encoder was trained with.
    pub front_end: FrontEndConfig,
    /// The encoder's size.
    pub encoder: EncoderConfig,
    /// The audio projection head.
    pub audio_head: HeadShape,
    /// How recordings are chunked.
    pub chunk: ChunkConfig,
    /// The recording-quality thresholds.
    pub quality: QualityConfig,
    /// Screening tasks.
    pub tasks: Vec<TaskSpec>,
    /// The teacher.
    pub teacher: TeacherInfo,
    /// What the model was trained on, and how (written by `acula export`; `null` when unknown).
    pub training: Option<TrainingInfo>,
    /// Evaluation numbers (written by `acula eval --bundle`; `null` until then).
    #[serde(default)]
    pub evaluation: Option<Evaluation>,
    /// The report index.
    pub reports: ReportsInfo,
    /// The familiarity check (`null` in older bundles: every recording is scored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub familiarity: Option<FamiliaritySpec>,
    /// The cough detector's settings ([`crate::events`]): when present, cough recordings are
    /// screened on their detected coughs only (each padded a little) and a recording with none gets
    /// the `no_cough` verdict. Absent in bundles whose heads were fitted on whole recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<crate::events::EventConfig>,
    /// The text side (`null` in older bundles: no search by description, no zero-shot labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextSpec>,
    /// Every other file of the bundle with its size and sha256.
    pub files: BTreeMap<String, FileEntry>,
    /// Real example recordings shipped with the bundle (the page's demo set); each file is also in
    /// `files`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
}

/// One example recording of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The file's name in the bundle (`example-1.mp3`).
    pub file: String,
    /// What it is, for people (`Cough, COVID-19 positive (phone line)`).
    pub title: String,
    /// What kind of recording it is.
    pub recording: RecordingKind,
    /// Where it comes from, with its licence.
    pub source: String,
}

/// One report of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportEntry {
    /// The report.
    pub text: String,
    /// Dataset it was written for.
    pub dataset: String,
    /// Record it was written for.
    pub record_id: String,
    /// Whether the recording behind it is synthetic.
    #[serde(default)]
    pub synthetic: bool,
}

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// Parses `manifest.json`, checking the format and its version before anything else (so an
    /// older or newer bundle gets a version message, not a missing-field one).
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| BundleError::Manifest(format!("not JSON ({e})")))?;
        let format = v.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if format != FORMAT {
            return Err(BundleError::NotABundle(format.to_string()));
        }
        let version = v
            .get("format_version")
            .and_then(|f| f.as_u64())
            .ok_or_else(|| BundleError::Manifest("no format_version".into()))?;
        if version != u64::from(FORMAT_VERSION) {
            return Err(BundleError::Version {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let m: Manifest =
            serde_json::from_value(v).map_err(|e| BundleError::Manifest(e.to_string()))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks what the fields say about each other.
    fn validate(&self) -> Result<(), BundleError> {
        let bad = |m: String| Err(BundleError::Manifest(m));
        self.encoder
            .validate()
            .map_err(|e| BundleError::Manifest(e.to_string()))?;
        if self.audio_head.dim == 0 || self.audio_head.hidden == 0 {
            return bad("audio_head sizes must be ≥ 1".into());
        }
        if self.chunk.frames < self.encoder.patch[0] || self.chunk.min_frames == 0 {
            return bad("chunk.frames must hold one patch and min_frames be ≥ 1".into());
        }
        if self.reports.dim != self.audio_head.dim {
            return bad(format!(
                "reports.dim {} differs from audio_head.dim {}",
                self.reports.dim, self.audio_head.dim
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for t in &self.tasks {
            let ok_id = !t.id.is_empty()
                && t.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok_id {
                return bad(format!(
                    "task id {:?} must be lower-case letters, digits and _",
                    t.id
                ));
            }
            if !ids.insert(&t.id) {
                return bad(format!("task id {} appears twice", t.id));
            }
            if t.labels.len() < 2 {
                return bad(format!("task {} needs at least 2 labels", t.id));
            }
            if let Some(p) = &t.positive {
                if !t.labels.contains(p) {
                    return bad(format!(
                        "task {}: positive label {p:?} is not one of its labels",
                        t.id
                    ));
                }
            }
        }
        for f in FILES {
            if !self.files.contains_key(f) {
                return bad(format!("files has no entry for {f}"));
            }
        }
        if let Some(t) = &self.text {
            if !self.files.contains_key(TEXT_FILE) {
                return bad(format!(
                    "text is described but files has no entry for {TEXT_FILE}"
                ));
            }
            if t.head.hidden == 0 {
                return bad("text.head sizes must be ≥ 1".into());
            }
            if t.head.dim != self.audio_head.dim {
                return bad(format!(
                    "text.head.dim {} differs from audio_head.dim {}",
                    t.head.dim, self.audio_head.dim
                ));
            }
            if t.encoder.id != self.teacher.id {
                return bad(format!(
                    "text.encoder.id {:?} differs from teacher.id {:?}",
                    t.encoder.id, self.teacher.id
                ));
            }
            if !(t.logit_scale.is_finite() && t.logit_scale > 0.0) {
                return bad(format!("text.logit_scale {} must be > 0", t.logit_scale));
            }
            if t.examples != 0 && t.examples != self.examples.len() {
                return bad(format!(
                    "text.examples is {} but the bundle has {} examples",
                    t.examples,
                    self.examples.len()
                ));
            }
            if t.encoder.max_tokens < 2 {
                return bad("text.encoder.max_tokens must be ≥ 2".into());
            }
            if t.encoder.pooling != "mean" {
                return bad(format!(
                    "text.encoder.pooling {:?} is not supported (only \"mean\")",
                    t.encoder.pooling
                ));
            }
            for name in ["config.json", "model.safetensors", "tokenizer.json"] {
                if !t.encoder.files.contains_key(name) {
                    return bad(format!("text.encoder.files has no entry for {name}"));
                }
            }
            for (kind, prompt) in &t.prompts {
                if kind != "any" && RecordingKind::from_id(kind).is_none() {
                    return bad(format!(
                        "text.prompts has an unknown recording kind {kind:?}"
                    ));
                }
                if !prompt.contains("{label}") {
                    return bad(format!(
                        "text.prompts.{kind} {prompt:?} has no {{label}} for the label to go in"
                    ));
                }
            }
        }
        if self.familiarity.is_some() && !self.files.contains_key(FAMILIARITY_FILE) {
            return bad(format!(
                "familiarity is described but files has no entry for {FAMILIARITY_FILE}"
            ));
        }
        for name in self.files.keys() {
            let plain = !name.is_empty()
                && !name.starts_with('.')
                && !name.contains(['/', '\\', ':'])
                && name != MANIFEST;
            if !plain {
                return bad(format!(
                    "file name {name:?} must be a plain name inside the bundle folder"
                ));
            }
        }
        for e in &self.examples {
            if !self.files.contains_key(&e.file) {
                return bad(format!("example {} is not listed in files", e.file));
            }
        }
        Ok(())
    }

    /// The manifest as pretty-printed JSON, after checking it: what `seal` writes, and what a rewrite
    /// of an existing bundle's manifest (`acula eval --bundle`) writes back.
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        self.validate()?;
        serde_json::to_vec_pretty(self).map_err(|e| BundleError::Manifest(e.to_string()))
    }

    /// Whether `name` is fetched only when needed (the text side), not with the bundle.
    pub fn deferred(&self, name: &str) -> bool {
        self.text.is_some() && name == TEXT_FILE
    }

    /// The files a screening needs (every listed file but the deferred ones), with their entries.
    pub fn eager_files(&self) -> impl Iterator<Item = (&String, &FileEntry)> {
        self.files.iter().filter(|(n, _)| !self.deferred(n))
    }

    /// Checks one file's bytes against the manifest (the browser calls this as each download ends).
    pub fn verify_file(&self, name: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let entry = self
            .files
            .get(name)
            .ok_or_else(|| BundleError::Inconsistent(format!("{name} is not in the manifest")))?;
        let got = sha256_hex(bytes);
        if got != entry.sha256 || bytes.len() as u64 != entry.bytes {
            return Err(BundleError::Checksum {
                file: name.to_string(),
                expected: entry.sha256.clone(),
                got,
                expected_bytes: entry.bytes,
                got_bytes: bytes.len() as u64,
            });
        }
        Ok(())
    }
}

/// A bundle whose manifest was read and whose every file matched its checksum.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The manifest.
    pub manifest: Manifest,
    files: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// Verifies `files` (name → bytes; extra names are ignored) against the manifest `manifest_bytes`.
    /// Deferred files ([`Manifest::deferred`]) may be missing; when given, they are verified too.
    pub fn new(
        manifest_bytes: &[u8],
        mut files: BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, BundleError> {
        let manifest = Manifest::parse(manifest_bytes)?;
        let mut kept = BTreeMap::new();
        for name in manifest.files.keys() {
            let Some(bytes) = files.remove(name) else {
                if manifest.deferred(name) {
                    continue;
                }
                return Err(BundleError::MissingFile(name.clone()));
            };
            manifest.verify_file(name, &bytes)?;
            kept.insert(name.clone(), bytes);
        }
        Ok(Self {
            manifest,
            files: kept,
        })
    }

    /// Adds a file fetched later (a deferred one), after checking it against the manifest.
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), BundleError> {
        self.manifest.verify_file(name, &bytes)?;
        self.files.insert(name.to_string(), bytes);
        Ok(())
    }

    /// Whether the bytes of `name` are at hand.
    pub fn has_file(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The verified bytes of a file.
    pub fn file(&self, name: &str) -> Result<&[u8], BundleError> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| BundleError::MissingFile(name.to_string()))
    }

    /// The report texts.
    pub fn reports(&self) -> Result<Vec<ReportEntry>, BundleError> {
        let r: Vec<ReportEntry> = serde_json::from_slice(self.file(REPORTS_FILE)?)
            .map_err(|e| BundleError::Inconsistent(format!("{REPORTS_FILE}: {e}")))?;
        if r.len() != self.manifest.reports.count {
            return Err(BundleError::Inconsistent(format!(
                "{REPORTS_FILE} has {} reports, the manifest says {}",
                r.len(),
                self.manifest.reports.count
            )));
        }
        Ok(r)
    }
}

/// Fills `manifest.files` from `files` (name → bytes) and returns the manifest's JSON: the last step
/// of writing a bundle.
pub fn seal(
    manifest: &mut Manifest,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<u8>, BundleError> {
    manifest.format = FORMAT.to_string();
    manifest.format_version = FORMAT_VERSION;
    manifest.files = files
        .iter()
        .map(|(name, bytes)| {
            (
                name.clone(),
                FileEntry {
                    sha256: sha256_hex(bytes),
                    bytes: bytes.len() as u64,
                },
            )
        })
        .collect();
    manifest.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> (Vec<u8>, BTreeMap<String, Vec<u8>>) {
        let mut m = Manifest {
            format: String::new(),
            format_version: 0,
            name: "t".into(),
            version: "1".into(),
            created: "2026-01-01T00:00:00Z".into(),
            intended_use: "test".into(),
            front_end: FrontEndConfig::default(),
            encoder: EncoderConfig::gt_tiny(),
            audio_head: HeadShape { hidden: 4, dim: 2 },
            chunk: ChunkConfig::default(),
            quality: QualityConfig::default(),
            tasks: vec![TaskSpec {
                id: "heart_murmur".into(),
                name: "Murmur".into(),
                description: "d".into(),
                recording: RecordingKind::Heart,
                labels: vec!["absent".into(), "present".into()],
                positive: Some("present".into()),
                synthetic: true,
                metrics: None,
                inputs: vec![HeadInput::Joint],
                calibration: None,
            }],
            teacher: TeacherInfo {
                id: "x".into(),
                dim: 3,
                reports_writer: "w".into(),
            },
            training: None,
            evaluation: None,
            reports: ReportsInfo { count: 0, dim: 2 },
            familiarity: None,
            events: None,
            text: None,
            files: BTreeMap::new(),
            examples: Vec::new(),
        };
        let files: BTreeMap<String, Vec<u8>> = FILES
            .iter()
            .map(|f| (f.to_string(), f.as_bytes().to_vec()))
            .collect();
        (seal(&mut m, &files).unwrap(), files)
    }

    #[test]
    fn a_sealed_bundle_verifies_and_every_fault_is_named() {
        let (manifest, files) = sealed();
        let b = Bundle::new(&manifest, files.clone()).unwrap();
        assert_eq!(b.file(MODEL_FILE).unwrap(), MODEL_FILE.as_bytes());
        assert_eq!(b.manifest.format_version, FORMAT_VERSION);

        let mut damaged = files.clone();
        damaged.get_mut(HEADS_FILE).unwrap()[0] ^= 1;
        assert!(matches!(
            Bundle::new(&manifest, damaged),
            Err(BundleError::Checksum { file, .. }) if file == HEADS_FILE
        ));
        let mut missing = files.clone();
        missing.remove(INDEX_FILE);
        assert_eq!(
            Bundle::new(&manifest, missing).unwrap_err(),
            BundleError::MissingFile(INDEX_FILE.into())
        );
        let text = String::from_utf8(manifest.clone()).unwrap();
        let newer = text.replace("\"format_version\": 1", "\"format_version\": 2");
        assert_eq!(
            Bundle::new(newer.as_bytes(), files.clone()).unwrap_err(),
            BundleError::Version {
                found: 2,
                supported: 1
            }
        );
        let other = text.replace("\"acula-bundle\"", "\"something-else\"");
        assert!(matches!(
            Bundle::new(other.as_bytes(), files.clone()),
            Err(BundleError::NotABundle(_))
        ));
        assert!(matches!(
            Bundle::new(b"not json", files.clone()),
            Err(BundleError::Manifest(_))
        ));
        let bad_id = text.replace("heart_murmur", "Heart Murmur");
        assert!(matches!(
            Bundle::new(bad_id.as_bytes(), files),
            Err(BundleError::Manifest(m)) if m.contains("lower-case")
        ));
    }

    #[test]
    fn examples_must_be_listed_files_with_plain_names_and_known_kinds() {
        let (manifest, mut files) = sealed();
        let mut m = Manifest::parse(&manifest).unwrap();
        files.insert("example-1.wav".into(), b"RIFF".to_vec());
        m.examples.push(Example {
            file: "example-1.wav".into(),
            title: "A cough".into(),
            recording: RecordingKind::Cough,
            source: "test".into(),
        });
        let json = seal(&mut m, &files).unwrap();
        let b = Bundle::new(&json, files.clone()).unwrap();
        assert_eq!(b.manifest.examples.len(), 1);
        assert_eq!(b.file("example-1.wav").unwrap(), b"RIFF");

        let wrong_kind = String::from_utf8(json.clone())
            .unwrap()
            .replace("\"recording\": \"cough\"", "\"recording\": \"sneeze\"");
        assert!(
            matches!(Manifest::parse(wrong_kind.as_bytes()), Err(BundleError::Manifest(e)) if e.contains("sneeze"))
        );
        let mut unlisted = m.clone();
        unlisted.examples[0].file = "example-2.wav".into();
        assert!(
            matches!(seal(&mut unlisted, &files), Err(BundleError::Manifest(e)) if e.contains("not listed"))
        );
        let mut escaping = files.clone();
        escaping.insert("../evil.wav".into(), Vec::new());
        assert!(
            matches!(seal(&mut m.clone(), &escaping), Err(BundleError::Manifest(e)) if e.contains("plain name"))
        );
    }

    fn with_text(m: &mut Manifest) {
        m.text = Some(TextSpec {
            encoder: TextEncoderSpec {
                id: m.teacher.id.clone(),
                files: ["config.json", "model.safetensors", "tokenizer.json"]
                    .into_iter()
                    .map(|n| {
                        (
                            n.to_string(),
                            FileEntry {
                                sha256: "0".repeat(64),
                                bytes: 1,
                            },
                        )
                    })
                    .collect(),
                max_tokens: 128,
                pooling: "mean".into(),
            },
            head: HeadShape { hidden: 4, dim: 2 },
            logit_scale: 14.0,
            prompts: TextSpec::default_prompts(),
            examples: 0,
            head_training: None,
        });
    }

    #[test]
    fn the_text_file_is_deferred_verified_when_added_and_described_consistently() {
        let (manifest, mut files) = sealed();
        let mut m = Manifest::parse(&manifest).unwrap();
        with_text(&mut m);
        files.insert(TEXT_FILE.into(), b"text head".to_vec());
        let json = seal(&mut m, &files).unwrap();
        let m = Manifest::parse(&json).unwrap();
        assert!(m.deferred(TEXT_FILE) && !m.deferred(MODEL_FILE));
        assert!(m.eager_files().all(|(n, _)| n != TEXT_FILE));
        assert_eq!(m.eager_files().count(), m.files.len() - 1);

        // A screening needs no text file; it is checked when it arrives.
        let mut eager = files.clone();
        eager.remove(TEXT_FILE);
        let mut b = Bundle::new(&json, eager).unwrap();
        assert!(!b.has_file(TEXT_FILE));
        assert_eq!(
            b.file(TEXT_FILE).unwrap_err(),
            BundleError::MissingFile(TEXT_FILE.into())
        );
        assert!(matches!(
            b.add_file(TEXT_FILE, b"text heaD".to_vec()),
            Err(BundleError::Checksum { file, .. }) if file == TEXT_FILE
        ));
        b.add_file(TEXT_FILE, b"text head".to_vec()).unwrap();
        assert_eq!(b.file(TEXT_FILE).unwrap(), b"text head");
        // Given with the rest, it is verified like the rest.
        let mut damaged = files.clone();
        damaged.get_mut(TEXT_FILE).unwrap()[0] ^= 1;
        assert!(Bundle::new(&json, damaged).is_err());

        // Prompts: the kind's, else `any`.
        let t = m.text.as_ref().unwrap();
        assert_eq!(
            t.prompt(Some(RecordingKind::Lung), "wheezes"),
            "Lung sounds recorded with a stethoscope, with wheezes."
        );
        assert_eq!(t.prompt(None, "x"), "A body sound recording with x.");

        // What the manifest says about the text side must agree with the rest.
        let text = String::from_utf8(json).unwrap();
        let mut bad = Manifest::parse(text.as_bytes()).unwrap();
        bad.text.as_mut().unwrap().head.dim = 3;
        assert!(
            matches!(seal(&mut bad, &files), Err(BundleError::Manifest(e)) if e.contains("text.head.dim"))
        );
        let mut bad = Manifest::parse(text.as_bytes()).unwrap();
        bad.text.as_mut().unwrap().encoder.id = "another".into();
        assert!(
            matches!(seal(&mut bad, &files), Err(BundleError::Manifest(e)) if e.contains("teacher.id"))
        );
        let mut bad = Manifest::parse(text.as_bytes()).unwrap();
        bad.text
            .as_mut()
            .unwrap()
            .prompts
            .insert("lung".into(), "Lung sounds.".into());
        assert!(
            matches!(seal(&mut bad, &files), Err(BundleError::Manifest(e)) if e.contains("{label}"))
        );
        let mut bad = Manifest::parse(text.as_bytes()).unwrap();
        bad.text
            .as_mut()
            .unwrap()
            .encoder
            .files
            .remove("tokenizer.json");
        assert!(
            matches!(seal(&mut bad, &files), Err(BundleError::Manifest(e)) if e.contains("tokenizer.json"))
        );
        let mut bad = Manifest::parse(text.as_bytes()).unwrap();
        bad.text.as_mut().unwrap().logit_scale = f32::NAN;
        assert!(
            matches!(seal(&mut bad, &files), Err(BundleError::Manifest(e)) if e.contains("logit_scale"))
        );
        let mut no_file = files.clone();
        no_file.remove(TEXT_FILE);
        let mut m2 = Manifest::parse(text.as_bytes()).unwrap();
        assert!(
            matches!(seal(&mut m2, &no_file), Err(BundleError::Manifest(e)) if e.contains(TEXT_FILE))
        );
        // Older bundles (no `text`) still load, and have no deferred file.
        let (old, old_files) = sealed();
        let b = Bundle::new(&old, old_files).unwrap();
        assert!(b.manifest.text.is_none() && !b.manifest.deferred(TEXT_FILE));
    }
}
