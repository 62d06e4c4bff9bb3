//! The text side of the joint space: a sentence embedding (from the bundle's teacher, see
//! `crate::text`) → the bundle's text head → the 512-d space the recordings and reports live in. It
//! serves two things a person can ask in words:
//!
//! - **search by description**: the reports of the bundle's index and its example recordings
//!   closest to a typed text ([`Language::recordings`], with [`crate::screen::Screener::similar`]
//!   for the reports);
//! - **their own labels** (zero-shot): a recording against two or more labels, each turned into a
//!   sentence by the bundle's prompt for the recording's kind, scored by
//!   `softmax(logit_scale · cosine)` ([`Language::zero_shot`]). No head was trained for such labels.
//!
//! Nothing here tokenizes: the caller embeds the texts with the teacher the manifest names
//! ([`crate::bundle::TextEncoderSpec`]), natively or in the browser, and hands the vectors over.

use serde::{Deserialize, Serialize};

use crate::error::TextInputError;
use crate::recording::RecordingKind;
#[cfg(feature = "model")]
use {
    crate::bundle::{Bundle, Example, TextSpec, TEXT_FILE},
    crate::encoder::ProjectionHead,
    crate::error::{BundleError, Error, ModelError},
    crate::retrieval::{normalise, EmbeddingIndex},
    crate::weights::Weights,
    burn::tensor::{Device, Tensor, TensorData},
};

/// Most labels one zero-shot question may have.
pub const MAX_LABELS: usize = 50;
/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// One example recording close to a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarRecording {
    /// Cosine similarity in the joint space.
    pub similarity: f32,
    /// The file's name in the bundle (`example-1.mp3`).
    pub file: String,
    /// What it is.
    pub title: String,
    /// Its kind.
    pub recording: RecordingKind,
    /// Where it comes from, with its licence.
    pub source: String,
}

/// One label's zero-shot score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    /// The label as typed (trimmed).
    pub label: String,
    /// The sentence that was embedded.
    pub prompt: String,
    /// Softmax over the labels of `logit_scale · similarity`.
    pub probability: f32,
    /// Cosine similarity of the recording and the prompt.
    pub similarity: f32,
}

/// What a search by description finds (`acula search --json`; the page shows the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The text as given (trimmed).
    pub query: String,
    /// Whether it was longer than the encoder's token limit and cut.
    pub truncated: bool,
    /// The most similar reports, best first.
    pub reports: Vec<crate::screen::SimilarReport>,
    /// The most similar example recordings, best first.
    pub recordings: Vec<SimilarRecording>,
}

/// What is said beside zero-shot scores.
pub const LABELS_NOTE: &str =
    "Your own labels, scored by similarity in the joint space of sounds and \
clinical language: not a trained or validated task.";

/// A recording's answer to a person's own labels (`acula predict --labels`; the page shows the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAnswer {
    /// That these are not the scores of a trained task ([`LABELS_NOTE`]).
    pub note: String,
    /// The sentence each label was put into (`{label}` stands for it).
    pub template: String,
    /// Why the labels were not scored (the recording failed the quality check, or is unlike the
    /// training recordings of its kind, as for the task scores); `scores` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    /// Each label's probability (softmax over the labels) and similarity, in the order given.
    pub scores: Vec<LabelScore>,
}

/// The text head of a bundle, with its example recordings in the joint space.
#[cfg(feature = "model")]
#[derive(Debug)]
pub struct Language {
    spec: TextSpec,
    head: ProjectionHead,
    teacher_dim: usize,
    examples: Vec<Example>,
    gallery: EmbeddingIndex,
    device: Device,
}

/// A typed search text, trimmed; refused when it has nothing in it.
pub fn check_query(text: &str) -> Result<&str, TextInputError> {
    let t = text.trim();
    if t.chars().all(|c| c.is_whitespace() || c.is_control()) {
        return Err(TextInputError::EmptyQuery);
    }
    Ok(t)
}

/// Labels typed as one comma-separated text (`"wheezes, crackles, normal breath sounds"`), trimmed.
/// Refused: fewer than two, more than [`MAX_LABELS`], an empty one, a very long one, the same label
/// twice (ignoring case).
pub fn parse_labels(text: &str) -> Result<Vec<String>, TextInputError> {
    if text.trim().is_empty() {
        return Err(TextInputError::TooFewLabels { got: 0 });
    }
    let labels: Vec<String> = text.split(',').map(|l| l.trim().to_string()).collect();
    check_labels(&labels)?;
    Ok(labels)
}

/// The checks of [`parse_labels`] on labels already split.
pub fn check_labels(labels: &[String]) -> Result<(), TextInputError> {
    if labels.len() > MAX_LABELS {
        return Err(TextInputError::TooManyLabels {
            got: labels.len(),
            max: MAX_LABELS,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, l) in labels.iter().enumerate() {
        if l.chars().all(|c| c.is_whitespace() || c.is_control()) {
            return Err(TextInputError::EmptyLabel { position: i + 1 });
        }
        if l.chars().count() > MAX_LABEL_CHARS {
            return Err(TextInputError::LongLabel {
                position: i + 1,
                max: MAX_LABEL_CHARS,
            });
        }
        if !seen.insert(l.to_lowercase()) {
            return Err(TextInputError::DuplicateLabel(l.clone()));
        }
    }
    if labels.len() < 2 {
        return Err(TextInputError::TooFewLabels { got: labels.len() });
    }
    Ok(())
}

/// `softmax(scale · similarity)` over `similarities`, in f64.
pub fn label_probabilities(similarities: &[f32], scale: f32) -> Vec<f32> {
    let logits: Vec<f64> = similarities
        .iter()
        .map(|s| f64::from(scale) * f64::from(*s))
        .collect();
    crate::head::softmax(&logits)
        .into_iter()
        .map(|p| p as f32)
        .collect()
}

#[cfg(feature = "model")]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(feature = "model")]
impl Language {
    /// The text side of a verified bundle whose [`TEXT_FILE`] is at hand.
    pub fn new(bundle: &Bundle, device: &Device) -> Result<Self, Error> {
        let m = &bundle.manifest;
        let spec = m.text.clone().ok_or(BundleError::NoText)?;
        let w = Weights::parse(bundle.file(TEXT_FILE)?)?;
        let head = ProjectionHead::load_weights(
            &w,
            "text_head",
            m.teacher.dim,
            spec.head.hidden,
            spec.head.dim,
            device,
        )?;
        let mut gallery = EmbeddingIndex::new(spec.head.dim)?;
        if spec.examples > 0 {
            let (rows, shape) = w.values("examples")?;
            if shape != [m.examples.len(), spec.head.dim] {
                return Err(BundleError::Inconsistent(format!(
                    "{TEXT_FILE} holds examples of shape {shape:?}, the manifest has {} examples of width {}",
                    m.examples.len(),
                    spec.head.dim
                ))
                .into());
            }
            gallery = EmbeddingIndex::from_rows(spec.head.dim, rows)?;
        }
        Ok(Self {
            spec,
            head,
            teacher_dim: m.teacher.dim,
            examples: if gallery.is_empty() {
                Vec::new()
            } else {
                m.examples.clone()
            },
            gallery,
            device: device.clone(),
        })
    }

    /// The manifest's description of the text side.
    pub fn spec(&self) -> &TextSpec {
        &self.spec
    }

    /// The prompt for `label` on a recording of `kind`.
    pub fn prompt(&self, kind: Option<RecordingKind>, label: &str) -> String {
        self.spec.prompt(kind, label)
    }

    fn input(&self, teacher: &[Vec<f32>]) -> Result<Tensor<2>, Error> {
        let mut flat = Vec::with_capacity(teacher.len() * self.teacher_dim);
        for (i, row) in teacher.iter().enumerate() {
            if row.len() != self.teacher_dim {
                return Err(ModelError::Request(format!(
                    "text embedding {i} has {} values; the bundle's teacher gives {}",
                    row.len(),
                    self.teacher_dim
                ))
                .into());
            }
            flat.extend_from_slice(row);
        }
        Ok(Tensor::from_data(
            TensorData::new(flat, [teacher.len(), self.teacher_dim]),
            &self.device,
        ))
    }

    fn rows(&self, data: TensorData, n: usize) -> Result<Vec<Vec<f32>>, Error> {
        let values: Vec<f32> = data
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        let dim = self.spec.head.dim;
        if values.len() != n * dim {
            return Err(ModelError::Backend(format!(
                "the text head gave {} values for {n} texts",
                values.len()
            ))
            .into());
        }
        let mut out: Vec<Vec<f32>> = values.chunks(dim).map(<[f32]>::to_vec).collect();
        for row in &mut out {
            normalise(row)?;
        }
        Ok(out)
    }

    /// The joint-space vectors (L2-normalised) of teacher embeddings. Native devices only: in the
    /// browser use [`Self::project_async`].
    pub fn project(&self, teacher: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, Error> {
        if teacher.is_empty() {
            return Ok(Vec::new());
        }
        let out = self.head.forward(self.input(teacher)?);
        let data = out
            .try_into_data()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        self.rows(data, teacher.len())
    }

    /// [`Self::project`] with an asynchronous read-back (required on WebGPU).
    pub async fn project_async(&self, teacher: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, Error> {
        if teacher.is_empty() {
            return Ok(Vec::new());
        }
        let out = self.head.forward(self.input(teacher)?);
        let data = out
            .into_data_async()
            .await
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        self.rows(data, teacher.len())
    }

    /// The `k` example recordings closest to a joint-space `query`.
    pub fn recordings(&self, query: &[f32], k: usize) -> Result<Vec<SimilarRecording>, Error> {
        if self.gallery.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .gallery
            .search(query, k)?
            .into_iter()
            .map(|hit| {
                let e = &self.examples[hit.index];
                SimilarRecording {
                    similarity: hit.score,
                    file: e.file.clone(),
                    title: e.title.clone(),
                    recording: e.recording,
                    source: e.source.clone(),
                }
            })
            .collect())
    }

    /// The prompts of `labels` for a recording of `kind` (embed these, then [`Self::answer`]).
    pub fn prompts(&self, kind: Option<RecordingKind>, labels: &[String]) -> Vec<String> {
        labels.iter().map(|l| self.prompt(kind, l)).collect()
    }

    /// A screened recording's answer to `labels` (whose prompts, from [`Self::prompts`] with the same
    /// `kind`, have the joint vectors `label_vectors`), or why it is withheld: the recording failed
    /// the quality check, the claimed kind is unfamiliar, or (no kind claimed) every kind checked is.
    pub fn answer(
        &self,
        screening: &crate::screen::Screening,
        kind: Option<RecordingKind>,
        labels: &[String],
        label_vectors: &[Vec<f32>],
    ) -> Result<LabelAnswer, Error> {
        let unfamiliar: Vec<&crate::bundle::Familiarity> = screening.unfamiliar().collect();
        let withheld = match kind {
            Some(k) => unfamiliar
                .iter()
                .find(|f| f.recording == k)
                .map(|f| f.message()),
            None if !screening.familiarity.is_empty()
                && unfamiliar.len() == screening.familiarity.len() =>
            {
                Some(
                    "The recording is unlike every kind of recording the model was trained on, so your labels are not scored."
                        .to_string(),
                )
            }
            None => None,
        };
        let template = self.prompt(kind, "{label}");
        let embedding = screening
            .embedding
            .as_deref()
            .filter(|_| screening.quality.is_ok() && withheld.is_none());
        let Some(embedding) = embedding else {
            return Ok(LabelAnswer {
                note: LABELS_NOTE.to_string(),
                template,
                withheld: Some(
                    withheld.unwrap_or_else(|| "The recording failed the quality check.".into()),
                ),
                scores: Vec::new(),
            });
        };
        let prompts = self.prompts(kind, labels);
        Ok(LabelAnswer {
            note: LABELS_NOTE.to_string(),
            template,
            withheld: None,
            scores: self.zero_shot(embedding, labels, &prompts, label_vectors)?,
        })
    }

    /// Zero-shot scores of a recording's joint embedding `audio` against `labels`, whose prompts
    /// (`prompts[i]`, see [`Self::prompt`]) have the joint vectors `label_vectors[i]`.
    pub fn zero_shot(
        &self,
        audio: &[f32],
        labels: &[String],
        prompts: &[String],
        label_vectors: &[Vec<f32>],
    ) -> Result<Vec<LabelScore>, Error> {
        if labels.len() != label_vectors.len() || labels.len() != prompts.len() {
            return Err(ModelError::Request(format!(
                "{} labels, {} prompts and {} label vectors",
                labels.len(),
                prompts.len(),
                label_vectors.len()
            ))
            .into());
        }
        let dim = self.spec.head.dim;
        if audio.len() != dim || label_vectors.iter().any(|v| v.len() != dim) {
            return Err(ModelError::Request(format!(
                "zero-shot needs {dim}-dimensional joint vectors"
            ))
            .into());
        }
        let sims: Vec<f32> = label_vectors.iter().map(|v| dot(audio, v)).collect();
        let probs = label_probabilities(&sims, self.spec.logit_scale);
        Ok(labels
            .iter()
            .zip(prompts)
            .zip(sims.iter().zip(probs))
            .map(|((l, p), (s, pr))| LabelScore {
                label: l.clone(),
                prompt: p.clone(),
                probability: pr,
                similarity: *s,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_labels_are_checked_with_a_reason() {
        assert_eq!(check_query("  wheezes \n").unwrap(), "wheezes");
        assert_eq!(check_query(" \t\u{7}\n"), Err(TextInputError::EmptyQuery));
        assert_eq!(check_query(""), Err(TextInputError::EmptyQuery));
        assert!(check_query("хрипы 🫁").is_ok());

        assert_eq!(
            parse_labels(" wheezes ,crackles, normal breath sounds").unwrap(),
            ["wheezes", "crackles", "normal breath sounds"]
        );
        assert_eq!(
            parse_labels("wheezes"),
            Err(TextInputError::TooFewLabels { got: 1 })
        );
        assert_eq!(
            parse_labels("  "),
            Err(TextInputError::TooFewLabels { got: 0 })
        );
        assert_eq!(
            parse_labels("wheezes,,crackles"),
            Err(TextInputError::EmptyLabel { position: 2 })
        );
        assert_eq!(
            parse_labels("Wheezes, crackles, wheezes"),
            Err(TextInputError::DuplicateLabel("wheezes".into()))
        );
        let fifty: Vec<String> = (0..50).map(|i| format!("label {i}")).collect();
        assert!(check_labels(&fifty).is_ok());
        let many = (0..51)
            .map(|i| format!("l{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse_labels(&many),
            Err(TextInputError::TooManyLabels { got: 51, max: 50 })
        );
        let long = format!("a,{}", "x".repeat(201));
        assert_eq!(
            parse_labels(&long),
            Err(TextInputError::LongLabel {
                position: 2,
                max: 200
            })
        );
        // Every message is one line.
        for e in [
            TextInputError::EmptyQuery,
            TextInputError::TooFewLabels { got: 1 },
            TextInputError::DuplicateLabel("x".into()),
        ] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn label_probabilities_are_a_tempered_softmax() {
        let p = label_probabilities(&[0.5, 0.5], 10.0);
        assert_eq!(p, [0.5, 0.5]);
        let p = label_probabilities(&[0.3, 0.1], 10.0);
        let want = 1.0 / (1.0 + (-2.0f64).exp());
        assert!((f64::from(p[0]) - want).abs() < 1e-6, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // A hotter temperature sharpens the same similarities.
        assert!(label_probabilities(&[0.3, 0.1], 50.0)[0] > p[0]);
    }
}
