//! `--retrieval`: an alignment run's joint space on a task's test recordings — recording ↔ report
//! retrieval (Recall@k, MRR), zero-shot classification with one prompt per class, and the most
//! similar reports of the first test recording of each class (the paper's Figure 4).

use std::collections::BTreeMap;

use acula_core::bundle::ChunkConfig;
use serde::Serialize;

use super::tasks::Unit;
use super::{retrieval, EvalArgs};
use crate::train::RunDir;
use crate::{metrics, Failure};

/// The alignment runs and report texts of `--retrieval`.
pub(super) struct Retrieval {
    pub(super) models: Vec<(String, crate::train::align::AlignModel)>,
    /// (dataset, record id) → row of the reports CSV.
    pub(super) rows: BTreeMap<(String, String), usize>,
    /// The report texts, by row.
    pub(super) texts: Vec<String>,
    pub(super) emb: Vec<f32>,
    pub(super) text_dim: usize,
    /// The teacher that embeds zero-shot prompts (when it is the one the runs were aligned with).
    pub(super) teacher: Option<acula_core::text::TextEncoder>,
}

/// Zero-shot classification: each test recording against one prompt per class.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ZeroShot {
    pub(super) prompts: Vec<String>,
    /// Macro one-vs-rest AUROC of the prompts' softmax scores (temperature 0.07).
    pub(super) auroc: Option<f64>,
    /// Share of recordings whose most similar prompt is their class's.
    pub(super) accuracy: f64,
}

/// A test recording's most similar reports (the paper's Figure 4).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Example {
    pub(super) record_id: String,
    pub(super) class: String,
    /// (report, similarity, whether written for the same class)
    pub(super) top: Vec<(String, f32, bool)>,
}

/// What `Retrieval::measure` found on one task.
pub(super) struct Measured {
    pub(super) audio_to_report: retrieval::Scores,
    pub(super) report_to_audio: retrieval::Scores,
    pub(super) zero_shot: Option<ZeroShot>,
    pub(super) examples: Vec<Example>,
}

/// One prompt per class for zero-shot classification, in the style of the template reports; `None`
/// for tasks without prompts.
pub(super) fn prompts(dataset: &str, task: &str, classes: &[String]) -> Option<Vec<String>> {
    let p: &[&str] = match (dataset, task) {
        ("covid19-cough", "covid") => &[
            "A cough from a person who tested negative for COVID-19.",
            "A cough from a person who has COVID-19.",
        ],
        ("kauh", "obstructive") => &[
            "Lung sounds recorded with a stethoscope from a healthy person.",
            "Lung sounds from a patient with an obstructive airway disease such as asthma or COPD.",
        ],
        ("icbhi", "copd") => &[
            "Lung sounds recorded with a stethoscope from a healthy person.",
            "Lung sounds from a patient with chronic obstructive pulmonary disease (COPD).",
        ],
        ("circor", "murmur") => &[
            "Heart sounds recorded with a stethoscope. No murmur is heard.",
            "Heart sounds recorded with a stethoscope. A heart murmur is heard.",
        ],
        _ => return None,
    };
    (p.len() == classes.len()).then(|| p.iter().map(|s| s.to_string()).collect())
}

impl Retrieval {
    pub(super) fn load(
        args: &EvalArgs,
        device: &burn::tensor::Device,
    ) -> Result<Option<Self>, Failure> {
        if args.retrieval.is_empty() {
            return Ok(None);
        }
        let (Some(csv), Some(npy)) = (&args.reports, &args.embeddings) else {
            return Err(Failure::usage(
                "--retrieval needs --reports CSV and --embeddings NPY (what the runs were aligned on)".into(),
            ));
        };
        let (rows, text_dim, emb) = crate::reports::read_with_embeddings(csv, npy)?;
        let teacher = match crate::embed::load_minilm(args.teacher_dir.as_deref()) {
            Ok((t, _)) if t.dim() == text_dim => Some(t),
            Ok((t, _)) => {
                eprintln!(
                    "zero-shot skipped: the runs' teacher embeddings have {} dimensions, MiniLM {}",
                    text_dim,
                    t.dim()
                );
                None
            }
            Err(e) => {
                eprintln!("zero-shot skipped: {}", e.message());
                None
            }
        };
        let mut index = BTreeMap::new();
        for (i, r) in rows.iter().enumerate() {
            index
                .entry((r.dataset.clone(), r.record_id.clone()))
                .or_insert(i);
        }
        let models = args
            .retrieval
            .iter()
            .map(|spec| {
                let (name, dir) = spec.split_once('=').ok_or_else(|| {
                    Failure::usage(format!("--retrieval {spec}: write NAME=ALIGN_RUN_DIR"))
                })?;
                let aligned = RunDir::new(dir).aligned(text_dim, device)?;
                Ok((name.to_string(), aligned.model))
            })
            .collect::<Result<_, Failure>>()?;
        Ok(Some(Self {
            models,
            rows: index,
            texts: rows.into_iter().map(|r| r.report).collect(),
            emb,
            text_dim,
            teacher,
        }))
    }

    /// Both directions on the `test` units that have a report, zero-shot classification with `prompts`,
    /// and the top 3 reports of the first test recording of each class.
    pub(super) fn measure(
        &self,
        model: &crate::train::align::AlignModel,
        units: &[Unit],
        test: &[usize],
        (prompts, classes): (Option<&[String]>, &[String]),
        device: &burn::tensor::Device,
    ) -> Result<Measured, Failure> {
        use burn::tensor::{Tensor, TensorData};
        let joint = |t: Tensor<2>| -> Result<Vec<Vec<f32>>, Failure> {
            let width = t.dims()[1];
            let v = crate::export::host(t)?;
            v.chunks(width)
                .map(|row| {
                    let mut row = row.to_vec();
                    acula_core::retrieval::normalise(&mut row)
                        .map_err(|e| Failure::input(e.to_string()))?;
                    Ok(row)
                })
                .collect()
        };
        let text_joint = |flat: Vec<f32>, n: usize| {
            let x = Tensor::<2>::from_data(TensorData::new(flat, [n, self.text_dim]), device);
            joint(model.text_head.forward(x))
        };
        let chunk = ChunkConfig::default();
        let mut audio = Vec::new();
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        let mut used = Vec::new();
        for &i in test {
            let u = &units[i];
            let Some(&row) = self.rows.get(&(u.dataset.clone(), u.record_id.clone())) else {
                continue;
            };
            let f = &u.features;
            let e = model
                .mae
                .encoder
                .embed_clip(&f.data, f.frames, f.n_mels, chunk.frames, chunk.min_frames)
                .map_err(|e| Failure::input(e.to_string()))?;
            let d = e.len();
            let x = Tensor::<2>::from_data(TensorData::new(e, [1, d]), device);
            audio.extend(joint(model.audio_head.forward(x))?);
            let t = self.emb[row * self.text_dim..(row + 1) * self.text_dim].to_vec();
            texts.extend(text_joint(t, 1)?);
            labels.push(u.label);
            used.push((i, row));
        }
        let zero_shot = match (&self.teacher, prompts) {
            (Some(teacher), Some(p)) if !audio.is_empty() => {
                let refs: Vec<&str> = p.iter().map(String::as_str).collect();
                let e = teacher
                    .embed(&refs)
                    .map_err(|e| Failure::input(format!("zero-shot prompts: {e}")))?;
                let pj = text_joint(e.concat(), p.len())?;
                let probs: Vec<Vec<f64>> = audio
                    .iter()
                    .map(|a| {
                        let sims: Vec<f64> = pj
                            .iter()
                            .map(|t| f64::from(a.iter().zip(t).map(|(x, y)| x * y).sum::<f32>()))
                            .collect();
                        let m = sims.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let ex: Vec<f64> = sims.iter().map(|s| ((s - m) / 0.07).exp()).collect();
                        let z: f64 = ex.iter().sum();
                        ex.iter().map(|e| e / z).collect()
                    })
                    .collect();
                let correct = probs
                    .iter()
                    .zip(&labels)
                    .filter(|(p, &l)| {
                        p.iter()
                            .enumerate()
                            .max_by(|a, b| a.1.total_cmp(b.1))
                            .map(|(k, _)| k)
                            == Some(l)
                    })
                    .count();
                Some(ZeroShot {
                    prompts: p.to_vec(),
                    auroc: metrics::auroc_macro(&probs, &labels),
                    accuracy: correct as f64 / labels.len() as f64,
                })
            }
            _ => None,
        };
        let mut examples = Vec::new();
        for (class, class_name) in classes.iter().enumerate() {
            let Some(q) = labels.iter().position(|&l| l == class) else {
                continue;
            };
            let mut sims: Vec<(usize, f32)> = texts
                .iter()
                .enumerate()
                .map(|(j, t)| (j, audio[q].iter().zip(t).map(|(x, y)| x * y).sum()))
                .collect();
            sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            examples.push(Example {
                record_id: units[used[q].0].record_id.clone(),
                class: class_name.clone(),
                top: sims
                    .iter()
                    .take(3)
                    .map(|&(j, sim)| (self.texts[used[j].1].clone(), sim, labels[j] == class))
                    .collect(),
            });
        }
        Ok(Measured {
            audio_to_report: retrieval::score(&audio, &labels, &texts, &labels),
            report_to_audio: retrieval::score(&texts, &labels, &audio, &labels),
            zero_shot,
            examples,
        })
    }
}
