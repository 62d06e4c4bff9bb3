//! The screening pipeline that `acula predict` and the web app both run: mono PCM → quality check →
//! 16 kHz → trimmed, repeat-padded log-mel → 256-frame chunks → encoder (mean of the chunk
//! embeddings) → audio head → L2-normalised 512-d joint embedding → task heads (softmax
//! probabilities) and the nearest clinical reports of the bundle's index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bundle::{Familiarity, HeadInput, TaskSpec};
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

/// The audio side of a screening.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The quality verdict; when it is not OK, nothing else is computed.
    pub quality: Quality,
    /// The analysed chunks.
    pub chunks: Vec<ChunkSpan>,
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
        let p = self.prepare(samples, sample_rate)?;
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

    /// [`Self::analyse`] with asynchronous read-backs (required on WebGPU).
    pub async fn analyse_async(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Analysis, Error> {
        let p = self.prepare(samples, sample_rate)?;
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
    fn prepare(&self, samples: &[f32], sample_rate: u32) -> Result<Prepared, Error> {
        let m = &self.manifest;
        prepare(&self.front_end, &m.quality, &m.chunk, samples, sample_rate)
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
        let scores = self
            .heads
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
            .collect();
        (scores, familiarity)
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
        let a = self.analyse_async(samples, sample_rate).await?;
        self.finish(a, opts)
    }

    /// Scores and similar reports of an analysis.
    fn finish(&self, a: Analysis, opts: &ScreenOptions) -> Result<Screening, Error> {
        let ((scores, familiarity), reports) = match &a.embedding {
            Some(e) => (
                self.scores(&a, opts.recording),
                self.similar(e, opts.top_k)?,
            ),
            None => (Default::default(), Vec::new()),
        };
        Ok(Screening {
            quality: a.quality,
            chunks: a.chunks,
            scores,
            reports,
            familiarity,
            embedding: a.embedding,
        })
    }

    /// The whole screening of mono `samples` at `sample_rate` Hz (native devices; see
    /// [`Self::screen_async`]).
    pub fn screen(
        &self,
        samples: &[f32],
        sample_rate: u32,
        opts: &ScreenOptions,
    ) -> Result<Screening, Error> {
        let a = self.analyse(samples, sample_rate)?;
        self.finish(a, opts)
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
}

/// The CPU part of an analysis: quality check, resampling, trimmed and padded log-mel features
/// (`None` when the quality check fails) and where the chunks of `chunk` lie. [`Screener`] runs it
/// under its bundle's settings; `acula eval` runs it to give every representation the same features.
#[cfg(feature = "model")]
pub fn prepare(
    front_end: &FrontEnd,
    quality_config: &QualityConfig,
    chunk: &ChunkConfig,
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
        });
    }
    let cfg = front_end.config();
    let rate = cfg.sample_rate;
    let pcm = crate::audio::resample(samples, sample_rate, rate)?;
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
    Ok(Prepared {
        quality: verdict,
        chunks,
        features: Some(processed.features),
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
