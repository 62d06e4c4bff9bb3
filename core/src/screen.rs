//! The screening pipeline that `acula predict` and the web app both run: mono PCM → quality check →
//! 16 kHz → trimmed, repeat-padded log-mel → 256-frame chunks → encoder (mean of the chunk
//! embeddings) → audio head → L2-normalised 512-d joint embedding → task heads (softmax
//! probabilities) and the nearest clinical reports of the bundle's index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bundle::{Familiarity, HeadInput, TaskSpec};
#[cfg(feature = "model")]
use crate::events::{self, EventConfig};
use crate::quality::Quality;
use crate::recording::RecordingKind;
#[cfg(feature = "model")]
use {
    crate::bundle::{
        Bundle, ChunkConfig, Manifest, ReportEntry, FAMILIARITY_FILE, HEADS_FILE, INDEX_FILE,
        MODEL_FILE,
    },
    crate::encoder::{Encoder, ProjectionHead},
    crate::error::{BundleError, Error, ModelError},
    crate::quality::{self, QualityConfig},
    crate::retrieval::{normalise, EmbeddingIndex},
    crate::weights::Weights,
    crate::{FrontEnd, ProcessOptions},
    burn::tensor::{Device, Tensor, TensorData},
};

/// One task's linear head on the concatenation of its inputs (`spec.inputs`).
#[derive(Debug, Clone)]
pub struct TaskHead {
    /// What the task is.
    pub spec: TaskSpec,
    /// `[labels, dim]` row-major.
    pub weight: Vec<f32>,
    /// `[labels]`.
    pub bias: Vec<f32>,
}

impl TaskHead {
    /// Softmax probabilities of the labels for an input of the head's width.
    /// (The maths, in f64, is [`crate::head::probabilities`].)
    pub fn probabilities(&self, embedding: &[f32]) -> Vec<f32> {
        crate::head::probabilities(&self.weight, &self.bias, embedding)
            .into_iter()
            .map(|p| p as f32)
            .collect()
    }
}

/// Where a chunk the encoder saw lies in the recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChunkSpan {
    /// Start, seconds from the start of the recording.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
}

/// What a segment of the recording is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// A cough the detector found ([`crate::events`]); only the coughs were screened.
    Cough,
    /// A stretch of the recording the encoder analysed (breathing, lung and heart sounds).
    Stretch,
}

/// A part of the recording shown with the result: a detected cough, or an analysed stretch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, seconds from the start of the recording.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// What it is.
    pub kind: SegmentKind,
}

/// A part of a recording, `(start, end)` in seconds.
#[cfg(feature = "model")]
type Span = (f64, f64);

/// The most parts whose contributions are measured (one encoder pass each).
#[cfg(feature = "model")]
const MAX_PARTS: usize = 20;

/// How much one part of the recording moved each score, by occlusion: the score minus the score
/// without that part (a cough left out of the coughs screened, or a second of another sound
/// replaced by silence); positive when the part raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Start of the part, seconds from the start of the recording.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// Task id → the part's contribution to its score.
    pub scores: BTreeMap<String, f32>,
}

/// The audio side of a screening.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The quality verdict; when it is not OK, nothing else is computed.
    pub quality: Quality,
    /// The analysed chunks.
    pub chunks: Vec<ChunkSpan>,
    /// The coughs found, or the analysed stretches.
    pub segments: Vec<Segment>,
    /// The L2-normalised joint-space embedding.
    pub embedding: Option<Vec<f32>>,
    /// The encoder's clip embedding (before the audio head).
    pub encoder: Option<Vec<f32>>,
    /// The log-mel and MFCC statistics ([`crate::statistics`]).
    pub statistics: Option<Vec<f32>>,
}

impl Analysis {
    /// The concatenation of `inputs` (`None` when the quality check failed).
    pub fn input(&self, inputs: &[HeadInput]) -> Option<Vec<f32>> {
        let mut out = Vec::new();
        for i in inputs {
            let part = match i {
                HeadInput::Joint => self.embedding.as_ref(),
                HeadInput::Encoder => self.encoder.as_ref(),
                HeadInput::Statistics => self.statistics.as_ref(),
            }?;
            out.extend_from_slice(part);
        }
        Some(out)
    }
}

/// The familiarity references of one recording kind (see [`crate::bundle::FamiliaritySpec`]).
#[cfg(feature = "model")]
#[derive(Debug, Clone)]
struct References {
    kind: RecordingKind,
    /// Per-value mean and scale of the standardisation.
    mean: Vec<f32>,
    scale: Vec<f32>,
    /// `[n, width]` standardised reference rows.
    rows: Vec<f32>,
    width: usize,
    threshold: f32,
}

/// The familiarity distance of standardised `z` to `rows` (`[n, z.len()]`): the mean Euclidean
/// distance to the `k` nearest rows, divided by `√width`. The trainer fits thresholds with it.
pub fn familiarity_distance(z: &[f32], rows: &[f32], k: usize) -> f32 {
    let w = z.len().max(1);
    let mut d: Vec<f64> = rows
        .chunks(w)
        .map(|r| {
            r.iter()
                .zip(z)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    if d.is_empty() {
        return f32::INFINITY;
    }
    d.sort_by(f64::total_cmp);
    let k = k.clamp(1, d.len());
    (d[..k].iter().sum::<f64>() / k as f64 / (w as f64).sqrt()) as f32
}

/// `x` standardised by `mean` and `scale`.
pub fn standardise(x: &[f32], mean: &[f32], scale: &[f32]) -> Vec<f32> {
    x.iter()
        .zip(mean)
        .zip(scale)
        .map(|((v, m), s)| (v - m) / s)
        .collect()
}

/// One task's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    /// The task id (`covid19_cough`).
    pub task: String,
    /// The probability of the task's positive label (or of its most likely label when it has none).
    pub score: f32,
    /// The most likely label.
    pub label: String,
    /// Every label's probability.
    pub probabilities: BTreeMap<String, f32>,
    /// Whether `score` is a calibrated probability (an "estimated probability"), not only a score.
    #[serde(default)]
    pub calibrated: bool,
    /// Whether the task was trained on synthetic recordings only (a research task).
    #[serde(default)]
    pub research: bool,
}

/// One similar report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarReport {
    /// Cosine similarity in the joint space.
    pub similarity: f32,
    /// The report.
    pub text: String,
    /// Dataset and record it was written for.
    pub dataset: String,
    /// Record id.
    pub record_id: String,
    /// Whether that recording is synthetic.
    pub synthetic: bool,
}

/// The whole result for one recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screening {
    /// The quality verdict (first: without an OK, there are no scores).
    pub quality: Quality,
    /// The analysed chunks.
    pub chunks: Vec<ChunkSpan>,
    /// The coughs found (cough recordings) or the analysed stretches, in time order.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// What drove the scores ([`Screener::contributions`]; empty unless asked for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributions: Vec<Contribution>,
    /// Scores of the tasks that apply to the recording.
    pub scores: Vec<TaskScore>,
    /// The most similar reports, best first.
    pub reports: Vec<SimilarReport>,
    /// How familiar the recording is to each recording kind checked; the tasks of an unfamiliar
    /// kind get no score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub familiarity: Vec<Familiarity>,
    /// The recording's L2-normalised joint embedding (`None` when the quality check failed); kept
    /// for questions asked afterwards (zero-shot labels), not serialised.
    #[serde(skip)]
    pub embedding: Option<Vec<f32>>,
}

impl Screening {
    /// The checked kinds the recording is unfamiliar to.
    pub fn unfamiliar(&self) -> impl Iterator<Item = &Familiarity> {
        self.familiarity.iter().filter(|f| !f.familiar)
    }
}

/// What to screen for.
#[derive(Debug, Clone)]
pub struct ScreenOptions {
    /// The kind of recording; only tasks for that kind are scored. `None` scores every task.
    pub recording: Option<RecordingKind>,
    /// How many similar reports.
    pub top_k: usize,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        Self {
            recording: None,
            top_k: 3,
        }
    }
}

/// A loaded bundle, ready to screen recordings.
#[cfg(feature = "model")]
#[derive(Debug)]
pub struct Screener {
    manifest: Manifest,
    front_end: FrontEnd,
    encoder: Encoder,
    audio_head: ProjectionHead,
    heads: Vec<TaskHead>,
    references: Vec<References>,
    reports: Vec<ReportEntry>,
    index: EmbeddingIndex,
    device: Device,
}

#[cfg(feature = "model")]
/// Reads a 2-D tensor of any float type as `(values, [rows, cols])`.
fn matrix(w: &Weights, name: &str) -> Result<(Vec<f32>, [usize; 2]), ModelError> {
    let (v, shape) = w.values(name)?;
    match shape[..] {
        [r, c] => Ok((v, [r, c])),
        _ => Err(ModelError::BadWeights(format!(
            "{name} has shape {shape:?}, not 2-D"
        ))),
    }
}

#[cfg(feature = "model")]
impl Screener {
    /// Loads a verified bundle onto `device`.
    pub fn new(bundle: &Bundle, device: &Device) -> Result<Self, Error> {
        let m = &bundle.manifest;
        let iw = Weights::parse(bundle.file(INDEX_FILE)?)?;
        let (emb, [rows, cols]) = matrix(&iw, "embeddings")?;
        if rows != m.reports.count || cols != m.reports.dim {
            return Err(BundleError::Inconsistent(format!(
                "{INDEX_FILE} holds {rows} × {cols} embeddings, the manifest says {} × {}",
                m.reports.count, m.reports.dim
            ))
            .into());
        }
        let index = EmbeddingIndex::from_rows(cols, emb)?;
        let mut s = Self::from_parts(
            m.clone(),
            bundle.file(MODEL_FILE)?,
            Some(bundle.file(HEADS_FILE)?),
            bundle.reports()?,
            index,
            device,
        )?;
        if m.familiarity.is_some() {
            s.references = load_references(m, bundle.file(FAMILIARITY_FILE)?)?;
        }
        Ok(s)
    }

    /// A screener from the bundle's parts (the trainer uses it before the heads and the index exist).
    pub fn from_parts(
        manifest: Manifest,
        model: &[u8],
        heads: Option<&[u8]>,
        reports: Vec<ReportEntry>,
        index: EmbeddingIndex,
        device: &Device,
    ) -> Result<Self, Error> {
        let front_end = FrontEnd::new(manifest.front_end.clone())?;
        let w = Weights::parse(model)?;
        let encoder = Encoder::load_weights(&manifest.encoder, &w, device)?;
        let h = &manifest.audio_head;
        let audio_head = ProjectionHead::load_weights(
            &w,
            "audio_head",
            manifest.encoder.dim,
            h.hidden,
            h.dim,
            device,
        )?;
        let mut task_heads = Vec::new();
        if let Some(bytes) = heads {
            let hw = Weights::parse(bytes)?;
            for spec in &manifest.tasks {
                let (weight, [c, d]) = matrix(&hw, &format!("{}.weight", spec.id))?;
                let (bias, bshape) = hw.values(&format!("{}.bias", spec.id))?;
                let width = HeadInput::total_width(&spec.inputs, &manifest);
                if c != spec.labels.len() || d != width || bshape != [c] || spec.inputs.is_empty() {
                    return Err(BundleError::Inconsistent(format!(
                        "the head of task {} is {c} × {d} with bias {bshape:?}; its inputs {:?} need {} × {width}",
                        spec.id,
                        spec.inputs,
                        spec.labels.len(),
                    ))
                    .into());
                }
                task_heads.push(TaskHead {
                    spec: spec.clone(),
                    weight,
                    bias,
                });
            }
        }
        if reports.len() != index.len() || (!index.is_empty() && index.dim() != h.dim) {
            return Err(BundleError::Inconsistent(format!(
                "{} report texts but {} embeddings of width {}",
                reports.len(),
                index.len(),
                index.dim()
            ))
            .into());
        }
        Ok(Self {
            manifest,
            front_end,
            encoder,
            audio_head,
            heads: task_heads,
            references: Vec::new(),
            reports,
            index,
            device: device.clone(),
        })
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The task heads.
    pub fn heads(&self) -> &[TaskHead] {
        &self.heads
    }

    /// Quality check, then the joint embedding of mono `samples` at `sample_rate` Hz. Native devices
    /// only (synchronous read-backs): in the browser use [`Self::analyse_async`].
    pub fn analyse(&self, samples: &[f32], sample_rate: u32) -> Result<Analysis, Error> {
        self.analyse_as(samples, sample_rate, None)
    }

    /// [`Self::analyse`] of a recording of `kind`: a cough recording is analysed on its detected
    /// coughs only when the bundle has the detector's settings (see [`Self::events_for`]).
    pub fn analyse_as(
        &self,
        samples: &[f32],
        sample_rate: u32,
        kind: Option<RecordingKind>,
    ) -> Result<Analysis, Error> {
        let p = self.prepare(samples, sample_rate, self.events_for(kind))?;
        self.embed(p)
    }

    /// The encoder and audio head on prepared features (native devices).
    fn embed(&self, p: Prepared) -> Result<Analysis, Error> {
        let embeddings = match &p.features {
            Some(f) => {
                let c = &self.manifest.chunk;
                let emb =
                    self.encoder
                        .embed_clip(&f.data, f.frames, f.n_mels, c.frames, c.min_frames)?;
                let joint = self.joint(crate::encoder::values(self.head_input(emb.clone()))?)?;
                Some((joint, emb))
            }
            None => None,
        };
        Ok(p.into_analysis(embeddings))
    }

    /// [`Self::embed`] with asynchronous read-backs.
    async fn embed_async(&self, p: Prepared) -> Result<Analysis, Error> {
        let embeddings = match &p.features {
            Some(f) => {
                let c = &self.manifest.chunk;
                let emb = self
                    .encoder
                    .embed_clip_async(&f.data, f.frames, f.n_mels, c.frames, c.min_frames)
                    .await?;
                let out = crate::encoder::values_async(self.head_input(emb.clone())).await?;
                Some((self.joint(out)?, emb))
            }
            None => None,
        };
        Ok(p.into_analysis(embeddings))
    }

    /// The parts of a screened recording whose contributions are measured, and the features of
    /// the recording without each part (the CPU half of [`Self::contributions`]): of a cough
    /// screening, each cough found cut out of what was screened (nothing when there is only one);
    /// else windows of at least 1 s (at most 20) over the analysed
    /// stretch, each replaced by silence. A part whose removal leaves nothing to analyse is skipped.
    fn occlusions(
        &self,
        samples: &[f32],
        sample_rate: u32,
        sc: &Screening,
        kind: Option<RecordingKind>,
    ) -> Result<Vec<(Span, Prepared)>, Error> {
        if !sc.quality.is_ok() || sc.scores.is_empty() || sc.chunks.is_empty() {
            return Ok(Vec::new());
        }
        let rate = self.front_end.config().sample_rate;
        let pcm = crate::audio::resample(samples, sample_rate, rate)?;
        // Screened on its coughs: the chunks are the padded coughs.
        let coughs = self.events_for(kind).is_some();
        let spans: Vec<(f64, f64)> = sc.chunks.iter().map(|c| (c.start_s, c.end_s)).collect();
        let opts = ProcessOptions {
            trim: true,
            pad: true,
        };
        let to_i = |t: f64| ((t * f64::from(rate)).round() as usize).min(pcm.len());
        let mut audios: Vec<((f64, f64), Vec<f32>)> = Vec::new();
        if coughs {
            let found: Vec<(f64, f64)> = sc
                .segments
                .iter()
                .filter(|s| s.kind == SegmentKind::Cough)
                .map(|s| (s.start, s.end))
                .collect();
            // At most MAX_PARTS parts: neighbouring coughs in groups when there are more.
            let group = found.len().div_ceil(MAX_PARTS).max(1);
            let found: Vec<(f64, f64)> = found
                .chunks(group)
                .map(|g| (g[0].0, g[g.len() - 1].1))
                .collect();
            if found.len() > 1 {
                for part in found {
                    // The screened stretches with this cough cut out.
                    let mut rest = Vec::new();
                    for &(a, b) in &spans {
                        if part.0 > a {
                            rest.push((a, b.min(part.0)));
                        }
                        if part.1 < b {
                            rest.push((a.max(part.1), b));
                        }
                    }
                    rest.retain(|(a, b)| b > a);
                    audios.push((part, events::concatenate(&pcm, rate, &rest)));
                }
            }
        } else {
            let (a, b) = (spans[0].0, spans[spans.len() - 1].1);
            let w = ((b - a) / MAX_PARTS as f64).max(1.0);
            let n = ((b - a) / w).ceil().clamp(1.0, MAX_PARTS as f64) as usize;
            for i in 0..n {
                let part = (a + i as f64 * w, (a + (i + 1) as f64 * w).min(b));
                if part.1 <= part.0 {
                    continue;
                }
                let mut y = pcm.clone();
                y[to_i(part.0)..to_i(part.1).max(to_i(part.0))].fill(0.0);
                audios.push((part, y));
            }
        }
        let mut out = Vec::with_capacity(audios.len());
        for (part, audio) in audios {
            // Silence where the whole recording was: nothing left to analyse, so no contribution.
            let Ok(processed) = self.front_end.process(&audio, &opts) else {
                continue;
            };
            out.push((
                part,
                Prepared {
                    quality: sc.quality.clone(),
                    chunks: Vec::new(),
                    features: Some(processed.features),
                    segments: Vec::new(),
                },
            ));
        }
        Ok(out)
    }

    /// Each part's contribution to every score of `sc`: the score minus the score of the
    /// analysis without that part ([`Self::occlusions`]).
    fn contributions_from(
        &self,
        sc: &Screening,
        kind: Option<RecordingKind>,
        occluded: Vec<(Span, Analysis)>,
    ) -> Vec<Contribution> {
        // Screened for every kind by a bundle that screens coughs on their coughs: the cough tasks
        // came from another analysis than the one occluded here, so they are left out.
        let other_analysis = self.needs_cough_analysis(kind);
        occluded
            .into_iter()
            .map(|((start, end), a)| {
                // The heads' own scores, familiar or not: what moves them is the question here.
                let without = self.head_scores(&a, kind, &[]);
                let scores = sc
                    .scores
                    .iter()
                    .filter(|s| !(other_analysis && self.is_cough_task(&s.task)))
                    .filter_map(|s| {
                        let w = without.iter().find(|w| w.task == s.task)?;
                        Some((s.task.clone(), s.score - w.score))
                    })
                    .collect();
                Contribution { start, end, scores }
            })
            .collect()
    }

    /// What drove each score of `sc` (a screening of `samples` with `opts`), by occlusion: for each
    /// cough found (when there are several), the score minus the score of the other coughs; for
    /// each second (at least; at most 20 windows) of an analysed stretch, the score minus the score
    /// with that second silenced. Costs one encoder pass per part.
    pub fn contributions(
        &self,
        samples: &[f32],
        sample_rate: u32,
        sc: &Screening,
        opts: &ScreenOptions,
    ) -> Result<Vec<Contribution>, Error> {
        let mut occluded = Vec::new();
        for (part, p) in self.occlusions(samples, sample_rate, sc, opts.recording)? {
            occluded.push((part, self.embed(p)?));
        }
        Ok(self.contributions_from(sc, opts.recording, occluded))
    }

    /// [`Self::contributions`] with asynchronous read-backs (required on WebGPU).
    pub async fn contributions_async(
        &self,
        samples: &[f32],
        sample_rate: u32,
        sc: &Screening,
        opts: &ScreenOptions,
    ) -> Result<Vec<Contribution>, Error> {
        let mut occluded = Vec::new();
        for (part, p) in self.occlusions(samples, sample_rate, sc, opts.recording)? {
            occluded.push((part, self.embed_async(p).await?));
        }
        Ok(self.contributions_from(sc, opts.recording, occluded))
    }

    /// [`Self::analyse`] with asynchronous read-backs (required on WebGPU).
    pub async fn analyse_async(
        &self,
        samples: &[f32],
        sample_rate: u32,
        kind: Option<RecordingKind>,
    ) -> Result<Analysis, Error> {
        let p = self.prepare(samples, sample_rate, self.events_for(kind))?;
        self.embed_async(p).await
    }

    /// One forward pass of a silent chunk with an asynchronous read-back: compiles the GPU kernels
    /// while the page is still loading, so the first real recording is not the slow one.
    pub async fn warm_up_async(&self) -> Result<(), Error> {
        let c = &self.manifest.chunk;
        let mels = self.front_end.config().n_mels;
        let zeros = vec![0.0f32; c.frames * mels];
        let emb = self
            .encoder
            .embed_clip_async(&zeros, c.frames, mels, c.frames, c.min_frames)
            .await?;
        crate::encoder::values_async(self.head_input(emb)).await?;
        Ok(())
    }

    /// The audio head applied to a clip embedding (not yet read back).
    fn head_input(&self, emb: Vec<f32>) -> Tensor<2> {
        let x = Tensor::<2>::from_data(TensorData::new(emb, [1, self.encoder.dim()]), &self.device);
        self.audio_head.forward(x)
    }

    /// The L2-normalised joint embedding from the audio head's output.
    fn joint(&self, mut out: Vec<f32>) -> Result<Vec<f32>, Error> {
        normalise(&mut out)?;
        Ok(out)
    }

    /// The CPU part of an analysis under the bundle's settings: see [`prepare`].
    fn prepare(
        &self,
        samples: &[f32],
        sample_rate: u32,
        events: Option<&EventConfig>,
    ) -> Result<Prepared, Error> {
        let m = &self.manifest;
        prepare(
            &self.front_end,
            &m.quality,
            &m.chunk,
            events,
            samples,
            sample_rate,
        )
    }

    /// The cough detector's settings when a recording of `kind` is screened on its coughs only:
    /// cough recordings, with a bundle whose heads were fitted that way (its manifest has them).
    pub fn events_for(&self, kind: Option<RecordingKind>) -> Option<&EventConfig> {
        match kind {
            Some(RecordingKind::Cough) => self.manifest.events.as_ref(),
            _ => None,
        }
    }

    /// Whether `task` is one of the bundle's tasks for cough recordings.
    fn is_cough_task(&self, task: &str) -> bool {
        self.heads
            .iter()
            .any(|h| h.spec.id == task && h.spec.recording == RecordingKind::Cough)
    }

    /// Whether a screening for every kind needs a second, cough-only analysis.
    fn needs_cough_analysis(&self, recording: Option<RecordingKind>) -> bool {
        recording.is_none()
            && self.manifest.events.is_some()
            && self
                .heads
                .iter()
                .any(|h| h.spec.recording == RecordingKind::Cough)
    }

    /// How familiar the analysed recording is to the training recordings of `kind` (`None` when
    /// the bundle has no references for that kind or the quality check failed).
    pub fn familiarity(&self, a: &Analysis, kind: RecordingKind) -> Option<Familiarity> {
        let spec = self.manifest.familiarity.as_ref()?;
        let r = self.references.iter().find(|r| r.kind == kind)?;
        let x = a.input(&spec.inputs)?;
        if x.len() != r.width {
            return None;
        }
        let distance = familiarity_distance(&standardise(&x, &r.mean, &r.scale), &r.rows, spec.k);
        let mut tasks = self
            .heads
            .iter()
            .filter(|h| h.spec.recording == kind)
            .peekable();
        let research_only = tasks.peek().is_some() && tasks.all(|h| h.spec.research());
        Some(Familiarity {
            recording: kind,
            distance,
            threshold: r.threshold,
            familiar: distance <= r.threshold,
            research_only,
        })
    }

    /// The scores of the tasks for `recording` (every task when `None`), and the familiarity of
    /// each kind checked: the tasks of a kind the recording is unfamiliar to are not scored.
    pub fn scores(
        &self,
        a: &Analysis,
        recording: Option<RecordingKind>,
    ) -> (Vec<TaskScore>, Vec<Familiarity>) {
        let mut kinds: Vec<RecordingKind> = self
            .heads
            .iter()
            .map(|h| h.spec.recording)
            .filter(|k| recording.is_none_or(|r| *k == r))
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let familiarity: Vec<Familiarity> = kinds
            .iter()
            .filter_map(|k| self.familiarity(a, *k))
            .collect();
        let scores = self.head_scores(a, recording, &familiarity);
        (scores, familiarity)
    }

    /// The scores of the heads for `recording` (every head when `None`), except those of a kind
    /// `familiarity` says the recording is unfamiliar to.
    fn head_scores(
        &self,
        a: &Analysis,
        recording: Option<RecordingKind>,
        familiarity: &[Familiarity],
    ) -> Vec<TaskScore> {
        self.heads
            .iter()
            .filter(|h| recording.is_none_or(|r| h.spec.recording == r))
            .filter(|h| {
                !familiarity
                    .iter()
                    .any(|f| f.recording == h.spec.recording && !f.familiar)
            })
            .filter_map(|h| Some((h, a.input(&h.spec.inputs)?)))
            .map(|(h, x)| {
                let p = h.probabilities(&x);
                let best = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                let score = match &h.spec.positive {
                    Some(pos) => h
                        .spec
                        .labels
                        .iter()
                        .position(|l| l == pos)
                        .map_or(p[best], |i| p[i]),
                    None => p[best],
                };
                TaskScore {
                    task: h.spec.id.clone(),
                    score,
                    label: h.spec.labels[best].clone(),
                    probabilities: h.spec.labels.iter().cloned().zip(p).collect(),
                    calibrated: h.spec.calibration.is_some(),
                    research: h.spec.research(),
                }
            })
            .collect()
    }

    /// The `k` reports closest to `embedding`.
    pub fn similar(&self, embedding: &[f32], k: usize) -> Result<Vec<SimilarReport>, Error> {
        if self.index.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .index
            .search(embedding, k)?
            .into_iter()
            .map(|hit| {
                let r = &self.reports[hit.index];
                SimilarReport {
                    similarity: hit.score,
                    text: r.text.clone(),
                    dataset: r.dataset.clone(),
                    record_id: r.record_id.clone(),
                    synthetic: r.synthetic,
                }
            })
            .collect())
    }

    /// [`Self::screen`] with asynchronous read-backs (required on WebGPU).
    pub async fn screen_async(
        &self,
        samples: &[f32],
        sample_rate: u32,
        opts: &ScreenOptions,
    ) -> Result<Screening, Error> {
        let a = self
            .analyse_async(samples, sample_rate, opts.recording)
            .await?;
        let coughs = if self.needs_cough_analysis(opts.recording) {
            Some(
                self.analyse_async(samples, sample_rate, Some(RecordingKind::Cough))
                    .await?,
            )
        } else {
            None
        };
        self.finish(a, coughs, opts)
    }

    /// Scores and similar reports of an analysis. `coughs`, when given, is the cough-only analysis
    /// of the same recording, which the cough tasks are scored on.
    fn finish(
        &self,
        a: Analysis,
        coughs: Option<Analysis>,
        opts: &ScreenOptions,
    ) -> Result<Screening, Error> {
        let ((mut scores, mut familiarity), reports) = match &a.embedding {
            Some(e) => (
                self.scores(&a, opts.recording),
                self.similar(e, opts.top_k)?,
            ),
            None => (Default::default(), Vec::new()),
        };
        let mut segments = a.segments;
        if let Some(c) = coughs {
            scores.retain(|s| !self.is_cough_task(&s.task));
            familiarity.retain(|f| f.recording != RecordingKind::Cough);
            if c.embedding.is_some() {
                let (s, f) = self.scores(&c, Some(RecordingKind::Cough));
                scores.extend(s);
                familiarity.extend(f);
                // The analysed stretches (every other task's input) and the coughs (the cough tasks').
                segments.extend(c.segments);
                segments.sort_by(|x, y| x.start.total_cmp(&y.start));
            }
            let order = |task: &str| self.heads.iter().position(|h| h.spec.id == task);
            scores.sort_by_key(|s| order(&s.task));
        }
        Ok(Screening {
            quality: a.quality,
            chunks: a.chunks,
            segments,
            contributions: Vec::new(),
            scores,
            reports,
            familiarity,
            embedding: a.embedding,
        })
    }

    /// The whole screening of mono `samples` at `sample_rate` Hz (native devices; see
    /// [`Self::screen_async`]). A cough recording is screened on its detected coughs (when the
    /// bundle says so); screened for every kind, the cough tasks are.
    pub fn screen(
        &self,
        samples: &[f32],
        sample_rate: u32,
        opts: &ScreenOptions,
    ) -> Result<Screening, Error> {
        let a = self.analyse_as(samples, sample_rate, opts.recording)?;
        let coughs = if self.needs_cough_analysis(opts.recording) {
            Some(self.analyse_as(samples, sample_rate, Some(RecordingKind::Cough))?)
        } else {
            None
        };
        self.finish(a, coughs, opts)
    }
}

/// The CPU half of an analysis ([`prepare`]).
#[cfg(feature = "model")]
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The quality verdict.
    pub quality: Quality,
    /// Where the chunks lie (empty when the quality check fails).
    pub chunks: Vec<ChunkSpan>,
    /// The trimmed, repeat-padded log-mel features (`None` when the quality check fails).
    pub features: Option<crate::Features>,
    /// The coughs found (when `events` was given) or the analysed stretches.
    pub segments: Vec<Segment>,
}

/// The CPU part of an analysis: quality check, resampling, trimmed and padded log-mel features
/// (`None` when the quality check fails) and where the chunks of `chunk` lie. With `events`, only
/// the coughs the detector finds are analysed (each padded as the settings say, one after the
/// other), and a recording without any gets the `no_cough` verdict. [`Screener`] runs it under its
/// bundle's settings; `acula eval` runs it to give every representation the same features.
#[cfg(feature = "model")]
pub fn prepare(
    front_end: &FrontEnd,
    quality_config: &QualityConfig,
    chunk: &ChunkConfig,
    events: Option<&EventConfig>,
    samples: &[f32],
    sample_rate: u32,
) -> Result<Prepared, Error> {
    crate::audio::check_samples(samples)?;
    let verdict = quality::check(samples, sample_rate, quality_config);
    if !verdict.is_ok() {
        return Ok(Prepared {
            quality: verdict,
            chunks: Vec::new(),
            features: None,
            segments: Vec::new(),
        });
    }
    let cfg = front_end.config();
    let rate = cfg.sample_rate;
    let pcm = crate::audio::resample(samples, sample_rate, rate)?;
    if let Some(ev_cfg) = events {
        let found = events::detect(&pcm, rate, ev_cfg);
        if found.is_empty() {
            return Ok(Prepared {
                quality: verdict.no_cough(),
                chunks: Vec::new(),
                features: None,
                segments: Vec::new(),
            });
        }
        let seconds = pcm.len() as f64 / f64::from(rate);
        let spans = events::padded_spans(&found, seconds, ev_cfg);
        let audio = events::concatenate(&pcm, rate, &spans);
        let processed = front_end.process(
            &audio,
            &ProcessOptions {
                trim: true,
                pad: true,
            },
        )?;
        return Ok(Prepared {
            quality: verdict,
            chunks: spans
                .iter()
                .map(|&(start_s, end_s)| ChunkSpan { start_s, end_s })
                .collect(),
            features: Some(processed.features),
            segments: found
                .iter()
                .map(|e| Segment {
                    start: e.start,
                    end: e.end,
                    kind: SegmentKind::Cough,
                })
                .collect(),
        });
    }
    let processed = front_end.process(
        &pcm,
        &ProcessOptions {
            trim: true,
            pad: true,
        },
    )?;
    let f = &processed.features;
    let c = chunk;
    // Chunk spans in the original recording: the kept (trimmed) range, cut every `c.frames`.
    let (k0, k1) = processed.kept;
    let to_s = |sample: f64| sample / f64::from(rate);
    let hop = cfg.hop_length as f64;
    let kept_frames = ((k1 - k0) as f64 / hop).floor() as usize + 1;
    let mut chunks = Vec::new();
    let mut start = 0usize;
    while start < kept_frames.min(f.frames) {
        let end = (start + c.frames).min(kept_frames);
        if end - start >= c.min_frames || chunks.is_empty() {
            chunks.push(ChunkSpan {
                start_s: to_s(k0 as f64 + start as f64 * hop),
                end_s: to_s((k0 as f64 + end as f64 * hop).min(k1 as f64)),
            });
        }
        start += c.frames;
    }
    let segments = chunks
        .iter()
        .map(|c| Segment {
            start: c.start_s,
            end: c.end_s,
            kind: SegmentKind::Stretch,
        })
        .collect();
    Ok(Prepared {
        quality: verdict,
        chunks,
        features: Some(processed.features),
        segments,
    })
}

#[cfg(feature = "model")]
impl Prepared {
    /// The analysis, given the joint and encoder embeddings of the features.
    fn into_analysis(self, embeddings: Option<(Vec<f32>, Vec<f32>)>) -> Analysis {
        let statistics = self.features.as_ref().map(crate::statistics::statistics);
        let (embedding, encoder) = embeddings.unzip();
        Analysis {
            quality: self.quality,
            chunks: self.chunks,
            segments: self.segments,
            embedding,
            encoder,
            statistics,
        }
    }
}

/// Reads the familiarity references of every kind the manifest describes.
#[cfg(feature = "model")]
fn load_references(m: &Manifest, bytes: &[u8]) -> Result<Vec<References>, Error> {
    let Some(spec) = &m.familiarity else {
        return Ok(Vec::new());
    };
    let w = Weights::parse(bytes)?;
    let width = HeadInput::total_width(&spec.inputs, m);
    let mut out = Vec::new();
    for k in &spec.kinds {
        let id = k.recording.id();
        let (rows, [n, d]) = matrix(&w, &format!("{id}.references"))?;
        let (mean, ms) = w.values(&format!("{id}.mean"))?;
        let (scale, ss) = w.values(&format!("{id}.scale"))?;
        if d != width || n != k.references || ms != [d] || ss != [d] || n == 0 {
            return Err(BundleError::Inconsistent(format!(
                "{FAMILIARITY_FILE}: {id} holds {n} × {d} references with mean {ms:?} and scale {ss:?}; the manifest says {} × {width}",
                k.references
            ))
            .into());
        }
        if scale.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(BundleError::Inconsistent(format!(
                "{FAMILIARITY_FILE}: {id}.scale has a value that is not a positive number"
            ))
            .into());
        }
        out.push(References {
            kind: k.recording,
            mean,
            scale,
            rows,
            width: d,
            threshold: k.threshold,
        });
    }
    Ok(out)
}
