//! What a bundle says about how far its scores can be trusted: which inputs each head reads
//! ([`HeadInput`]), whether its scores are calibrated probabilities ([`Calibration`]), and how a
//! recording unlike anything the heads were trained on is recognised ([`FamiliaritySpec`], with the
//! reference embeddings in [`super::FAMILIARITY_FILE`]).

use serde::{Deserialize, Serialize};

use super::Manifest;
use crate::recording::RecordingKind;
use crate::statistics;

/// One input a task head (or the familiarity check) reads; a head reads the concatenation of its
/// inputs, in the order listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadInput {
    /// The L2-normalised joint-space embedding (`audio_head.dim` values).
    Joint,
    /// The encoder's clip embedding: the mean of its chunk embeddings (`encoder.dim` values).
    Encoder,
    /// Per-band log-mel and MFCC means and standard deviations ([`crate::statistics`], 168 values).
    Statistics,
}

impl HeadInput {
    /// How many values this input gives under `manifest`.
    pub fn width(self, manifest: &Manifest) -> usize {
        match self {
            Self::Joint => manifest.audio_head.dim,
            Self::Encoder => manifest.encoder.dim,
            Self::Statistics => statistics::width(manifest.front_end.n_mels),
        }
    }

    /// The width of a concatenation of `inputs`.
    pub fn total_width(inputs: &[Self], manifest: &Manifest) -> usize {
        inputs.iter().map(|i| i.width(manifest)).sum()
    }

    /// A short name for tables (`joint`, `encoder`, `statistics`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Joint => "joint",
            Self::Encoder => "encoder",
            Self::Statistics => "statistics",
        }
    }
}

/// What heads written before inputs were recorded read: the joint embedding only.
pub(super) fn joint_only() -> Vec<HeadInput> {
    vec![HeadInput::Joint]
}

/// How a head's scores were calibrated, and how well that held on the test subjects. A task with a
/// calibration says "estimated probability"; one without says "score".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Expected calibration error of the shipped (calibrated) scores on the test subjects (10
    /// equal-width bins of the positive label's score, weighted by their share of recordings).
    pub ece_test: Option<f64>,
    /// The same for the head's scores before calibration (class-balanced training shifts them).
    pub ece_test_uncalibrated: Option<f64>,
    /// How, in words.
    pub method: String,
    /// The reliability diagram of the shipped scores on the test subjects.
    pub reliability: Vec<ReliabilityBin>,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Recordings whose score fell in the bin.
    pub count: usize,
    /// Upper edge of the bin's scores.
    pub high: f64,
    /// Lower edge.
    pub low: f64,
    /// Mean score in the bin.
    pub mean_score: f64,
    /// Share of the bin's recordings that have the positive label.
    pub observed: f64,
}

/// How the bundle recognises a recording unlike those its heads were trained on: for each recording
/// kind with a task, reference embeddings of that kind's training recordings, and a distance above
/// which a recording is "unfamiliar" (no score is given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamiliaritySpec {
    /// The inputs compared (concatenated, then standardised by each kind's mean and scale).
    pub inputs: Vec<HeadInput>,
    /// The distance is the mean Euclidean distance to this many nearest references, divided by the
    /// square root of the width.
    pub k: usize,
    /// One entry per recording kind that has references.
    pub kinds: Vec<KindFamiliarity>,
    /// How, in words.
    pub method: String,
}

/// The familiarity check of one recording kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindFamiliarity {
    /// Share of the test subjects' recordings of this kind within the threshold (in-domain: what
    /// stays scored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_kept: Option<f64>,
    /// The kind.
    pub recording: RecordingKind,
    /// Reference recordings (rows of `<kind>.references`).
    pub references: usize,
    /// Distances above this are unfamiliar.
    pub threshold: f32,
    /// Share of validation recordings within the threshold (the threshold's target, 0.95).
    pub val_kept: f64,
}

/// A recording's distance to the training recordings of a kind, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Familiarity {
    /// The kind whose references it was compared with.
    pub recording: RecordingKind,
    /// The distance ([`FamiliaritySpec::k`]).
    pub distance: f32,
    /// The kind's threshold.
    pub threshold: f32,
    /// `distance <= threshold`.
    pub familiar: bool,
    /// Whether every task of the kind was trained on synthetic recordings only (then a real
    /// recording of the kind is likely to be unfamiliar, and the message says why).
    #[serde(default)]
    pub research_only: bool,
}

impl Familiarity {
    /// One sentence for people when the recording is unfamiliar.
    pub fn message(&self) -> String {
        if self.research_only {
            return format!(
                "This recording is unlike the {} recordings the model was trained on, which were all \
                 synthetic (distance {:.2}, limit {:.2}), so no score is given: the task has not seen \
                 real recordings of this kind. If the recording is of another kind, choose that kind.",
                self.recording.id(),
                self.distance,
                self.threshold
            );
        }
        format!(
            "This recording is unlike the {} recordings the model was trained on (distance {:.2}, \
             limit {:.2}), so no score is given: check that the recording kind is right, or record \
             again closer to the source and without other sounds.",
            self.recording.id(),
            self.distance,
            self.threshold
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_kind_and_says_why_when_the_tasks_are_synthetic() {
        let mut f = Familiarity {
            recording: RecordingKind::Heart,
            distance: 3.5,
            threshold: 0.7,
            familiar: false,
            research_only: false,
        };
        let plain = f.message();
        assert!(plain.contains("unlike the heart recordings") && plain.contains("3.50"));
        assert!(!plain.contains("synthetic"));
        f.research_only = true;
        let research = f.message();
        assert!(research.contains("unlike the heart recordings") && research.contains("synthetic"));
        assert!(!research.contains('\n'));
    }
}
