//! The screening pipeline that `acula predict` and the web app both run: mono PCM → quality check →
//! 16 kHz → trimmed, repeat-padded log-mel → 256-frame chunks → encoder (mean of the chunk
//! embeddings) → audio head → L2-normalised 512-d joint embedding → task heads (softmax
//! probabilities) and the nearest clinical reports of the bundle's index.

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::bundle::{
    Bundle, ChunkConfig, Manifest, ReportEntry, TaskSpec, HEADS_FILE, INDEX_FILE, MODEL_FILE,
};
use crate::encoder::{Encoder, ProjectionHead};
use crate::error::{BundleError, Error, ModelError};
use crate::quality::{self, Quality, QualityConfig};
use crate::recording::RecordingKind;
use crate::retrieval::{normalise, EmbeddingIndex};
use crate::weights::Weights;
use crate::{FrontEnd, ProcessOptions};

/// One task's linear head on the joint embedding.
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
    /// Softmax probabilities of the labels for an embedding of the head's width.
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
#[derive(Debug)]
pub struct Screener {
    manifest: Manifest,
    front_end: FrontEnd,
    encoder: Encoder,
    audio_head: ProjectionHead,
    heads: Vec<TaskHead>,
    reports: Vec<ReportEntry>,
    index: EmbeddingIndex,
    device: Device,
}

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
        Self::from_parts(
            m.clone(),
            bundle.file(MODEL_FILE)?,
            Some(bundle.file(HEADS_FILE)?),
            bundle.reports()?,
            index,
            device,
        )
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
                if c != spec.labels.len() || d != h.dim || bshape != [c] {
                    return Err(BundleError::Inconsistent(format!(
                        "the head of task {} is {c} × {d} with bias {bshape:?}; it needs {} × {}",
                        spec.id,
                        spec.labels.len(),
                        h.dim
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
        let embedding = match &p.features {
            Some(f) => {
                let c = &self.manifest.chunk;
                let emb =
                    self.encoder
                        .embed_clip(&f.data, f.frames, f.n_mels, c.frames, c.min_frames)?;
                Some(self.joint(crate::encoder::values(self.head_input(emb))?)?)
            }
            None => None,
        };
        Ok(p.into_analysis(embedding))
    }

    /// [`Self::analyse`] with asynchronous read-backs (required on WebGPU).
    pub async fn analyse_async(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Analysis, Error> {
        let p = self.prepare(samples, sample_rate)?;
        let embedding = match &p.features {
            Some(f) => {
                let c = &self.manifest.chunk;
                let emb = self
                    .encoder
                    .embed_clip_async(&f.data, f.frames, f.n_mels, c.frames, c.min_frames)
                    .await?;
                let out = crate::encoder::values_async(self.head_input(emb)).await?;
                Some(self.joint(out)?)
            }
            None => None,
        };
        Ok(p.into_analysis(embedding))
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

    /// The scores of the tasks for `recording` (every task when `None`).
    pub fn scores(&self, embedding: &[f32], recording: Option<RecordingKind>) -> Vec<TaskScore> {
        self.heads
            .iter()
            .filter(|h| recording.is_none_or(|r| h.spec.recording == r))
            .map(|h| {
                let p = h.probabilities(embedding);
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
        let a = self.analyse_async(samples, sample_rate).await?;
        self.finish(a, opts)
    }

    /// Scores and similar reports of an analysis.
    fn finish(&self, a: Analysis, opts: &ScreenOptions) -> Result<Screening, Error> {
        let (scores, reports) = match &a.embedding {
            Some(e) => (self.scores(e, opts.recording), self.similar(e, opts.top_k)?),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Screening {
            quality: a.quality,
            chunks: a.chunks,
            scores,
            reports,
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

impl Prepared {
    fn into_analysis(self, embedding: Option<Vec<f32>>) -> Analysis {
        Analysis {
            quality: self.quality,
            chunks: self.chunks,
            embedding,
        }
    }
}
