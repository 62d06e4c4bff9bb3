//! The descriptive parts of the manifest, typed: what each task head measured ([`HeadMetrics`]), what
//! the model was trained on ([`TrainingInfo`]), and what `acula eval` found ([`Evaluation`]).
//!
//! They are written by the trainer and read by the page and `acula predict`; nothing in screening
//! depends on them. Fields are listed in alphabetical order, which is the order every manifest so far
//! holds them in, so a manifest read and written again keeps its key order. A field that older
//! manifests may lack is optional and left out when absent; keys this build does not know are kept
//! in `extra` (written after the known ones), so nothing is lost in a rewrite.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::HeadInput;

/// Keys a newer (or hand-edited) manifest may hold that this build does not name.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// How many recordings a task head saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingCounts {
    /// Recordings with a label for the task.
    pub labelled: usize,
    /// Recordings refused by the quality check, by verdict (`too_short` → 3).
    #[serde(default)]
    pub quality: BTreeMap<String, usize>,
    /// Recordings that could not be decoded.
    #[serde(default)]
    pub unreadable: usize,
    /// Recordings the head was trained or tested on.
    pub used: usize,
}

/// One point of the L2-strength search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaPoint {
    /// L2 strength.
    pub lambda: f64,
    /// Validation AUROC at this strength (`null` when undefined).
    pub val_auroc: Option<f64>,
    /// Validation class-balanced cross-entropy at this strength.
    pub val_log_loss: Option<f64>,
}

/// One input set tried for a task head: chosen by cross-validation on training + validation
/// subjects, and every one of them measured once on the test subjects (reported in full, so the
/// choice can be checked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCandidate {
    /// Whether this is the head the bundle ships.
    pub chosen: bool,
    /// Pooled out-of-fold AUROC on training + validation subjects (the selection criterion).
    pub cv_auroc: Option<f64>,
    /// The inputs the head reads.
    pub inputs: Vec<HeadInput>,
    /// The L2 strength chosen for it by cross-validation.
    pub lambda: f64,
    /// AUROC on the test subjects.
    pub test_auroc: Option<f64>,
    /// The test AUROC within each recording channel or device (see [`HeadMetrics::group_by`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_by_group: Option<BTreeMap<String, GroupAuroc>>,
    /// A bootstrap 95 % interval of the test AUROC (1,000 resamples of the test recordings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_interval: Option<[f64; 2]>,
}

/// The test AUROC within one group of recordings (e.g. one recording channel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAuroc {
    /// AUROC within the group (`null` when a class is missing there).
    pub auroc: Option<f64>,
    /// Its bootstrap 95 % interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// Test recordings of the group per class.
    pub per_class: Vec<usize>,
}

/// What a task head measured (the manifest's `tasks[].metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeadMetrics {
    /// Every input set tried, with its test AUROC (heads fitted before 2026-11-30 have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<HeadCandidate>>,
    /// What the groups of `test_by_group` are, in words (`recording channel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// The L2 strength chosen on validation subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Every L2 strength tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_grid: Option<Vec<LambdaPoint>>,
    /// The training loss, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// How many recordings the head saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recordings: Option<RecordingCounts>,
    /// How subjects were split, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Distinct subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subjects: Option<usize>,
    /// AUROC on the held-out test subjects (`null` when a class is missing there).
    #[serde(default)]
    pub test_auroc: Option<f64>,
    /// The test AUROC within each group of `group_by` (where the label goes with the group, the
    /// overall AUROC can measure the group rather than the condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_by_group: Option<BTreeMap<String, GroupAuroc>>,
    /// A bootstrap 95 % interval of `test_auroc` (1,000 resamples of the test recordings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_interval: Option<[f64; 2]>,
    /// Test recordings per class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_per_class: Option<Vec<usize>>,
    /// Training recordings per class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_per_class: Option<Vec<usize>>,
    /// Validation AUROC at the chosen strength (heads with `candidates`: the pooled out-of-fold AUROC
    /// of the cross-validation on training + validation subjects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_auroc: Option<f64>,
    /// Validation cross-entropy at the chosen strength.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_log_loss: Option<f64>,
    /// Validation recordings per class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_per_class: Option<Vec<usize>>,
    /// Keys this build does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One dataset the model was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Dataset id (`covid19-cough`).
    pub id: String,
    /// Whether its recordings are real (not synthetic).
    pub real: bool,
    /// What it holds, in words.
    pub what: String,
}

/// One training stage (pre-training or alignment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageInfo {
    /// The stage's configuration as the trainer saved it (`config.json` of the run; its schema is
    /// the trainer's).
    pub config: serde_json::Value,
    /// The last logged step's losses (`null` when no step was logged).
    pub final_losses: Option<BTreeMap<String, f64>>,
    /// The alignment loss (`InfoNce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// Optimiser steps taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
}

/// What the model was trained on, and how (the manifest's `training`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// The alignment stage (`acula export` fills it from the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<StageInfo>,
    /// The command that trained the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The datasets, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Vec<DatasetInfo>>,
    /// The pre-training stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain: Option<StageInfo>,
    /// The recipe (`default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
    /// Report–recording pairs per dataset in the alignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_pairs_per_dataset: Option<BTreeMap<String, usize>>,
    /// The recipe's seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Datasets whose recordings are synthetic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic_datasets: Option<Vec<String>>,
    /// Recordings behind each task head, by task id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_recordings: Option<BTreeMap<String, RecordingCounts>>,
    /// What was done, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// Keys this build does not name (a `--training-json` file may add any).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One linear-probe result (task × representation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCell {
    /// Bootstrap 95 % interval of the metric.
    pub ci95: Option<[f64; 2]>,
    /// Mean over probe seeds (`null` when undefined).
    pub mean: Option<f64>,
    /// `auroc` or `mae`.
    pub metric: String,
    /// The representation's name.
    pub model: String,
    /// Standard deviation over probe seeds.
    pub std: Option<f64>,
    /// The task (`covid19-cough:covid`, with a filter in brackets).
    pub task: String,
}

/// Recall@k and MRR in one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievalScores {
    /// Recall@1 of a random ranking.
    pub chance_r1: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Number of queries.
    pub queries: usize,
    /// Recall@1.
    pub r1: f64,
    /// Recall@10.
    pub r10: f64,
    /// Recall@5.
    pub r5: f64,
}

/// Zero-shot classification with one prompt per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZeroShotScores {
    /// Share of recordings whose most similar prompt is their class's.
    pub accuracy: f64,
    /// Macro one-vs-rest AUROC of the prompts' softmax scores.
    pub auroc: Option<f64>,
    /// The prompts, one per class.
    pub prompts: Vec<String>,
}

/// Retrieval between recordings and reports on one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievalRow {
    /// Recording → its report.
    pub audio_to_report: RetrievalScores,
    /// The representation's name.
    pub model: String,
    /// Report → its recording.
    pub report_to_audio: RetrievalScores,
    /// The task.
    pub task: String,
    /// Zero-shot classification, where the task has prompts.
    pub zero_shot: Option<ZeroShotScores>,
}

/// One evaluated task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalTask {
    /// Class names (empty for regression).
    pub classes: Vec<String>,
    /// Number of folds.
    pub folds: usize,
    /// `official`, `leave_one_subject_out` or `subject_split`.
    pub protocol: String,
    /// The unit of a regression target, else `null`.
    pub regression_unit: Option<String>,
    /// Whether its recordings are synthetic.
    pub synthetic: bool,
    /// The task.
    pub task: String,
    /// Recordings in training, validation and test (of the first fold).
    pub train_val_test: Vec<usize>,
    /// Recordings used.
    pub units: Option<usize>,
}

/// What `acula eval --bundle` found (the manifest's `evaluation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Bootstrap resamples behind each interval.
    #[serde(default)]
    pub bootstrap: usize,
    /// Every linear-probe result.
    #[serde(default)]
    pub linear_probe: Vec<ProbeCell>,
    /// The protocol, in words.
    #[serde(default)]
    pub method: String,
    /// The representations, as `name=source`.
    #[serde(default)]
    pub models: Vec<String>,
    /// Retrieval and zero-shot rows.
    #[serde(default)]
    pub retrieval: Vec<RetrievalRow>,
    /// Probe seeds.
    #[serde(default)]
    pub seeds: u64,
    /// The tasks.
    #[serde(default)]
    pub tasks: Vec<EvalTask>,
    /// Keys this build does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

    use crate::bundle::Manifest;

    /// JSON as written: objects keep their key order, numbers their exact value (compared by bits).
    #[derive(Debug, PartialEq)]
    enum Ordered {
        Null,
        Bool(bool),
        Int(i128),
        Float(u64),
        Text(String),
        List(Vec<Ordered>),
        Object(Vec<(String, Ordered)>),
    }

    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_unit<E>(self) -> Result<Ordered, E> {
                    Ok(Ordered::Null)
                }
                fn visit_bool<E>(self, b: bool) -> Result<Ordered, E> {
                    Ok(Ordered::Bool(b))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                    Ok(Ordered::Int(v.into()))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                    Ok(Ordered::Int(v.into()))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                    Ok(Ordered::Float(v.to_bits()))
                }
                fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                    Ok(Ordered::Text(v.to_string()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                    let mut v = Vec::new();
                    while let Some(x) = a.next_element()? {
                        v.push(x);
                    }
                    Ok(Ordered::List(v))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
                    let mut v = Vec::new();
                    while let Some(kv) = a.next_entry()? {
                        v.push(kv);
                    }
                    Ok(Ordered::Object(v))
                }
            }
            d.deserialize_any(V)
        }
    }

    fn ordered(bytes: &[u8]) -> Ordered {
        serde_json::from_slice(bytes).unwrap()
    }

    /// The committed default bundle's manifest, read into the typed [`Manifest`] and written again,
    /// holds the same keys in the same order and the same numbers to the bit (what `acula eval
    /// --bundle` relies on when it rewrites a manifest).
    #[test]
    fn the_default_manifest_survives_a_typed_rewrite_key_for_key_and_bit_for_bit() {
        let original = include_bytes!("../../../www/models/default/manifest.json");
        let m = Manifest::parse(original).unwrap();
        let training = m
            .training
            .as_ref()
            .expect("the default bundle says how it was trained");
        assert!(training.extra.is_empty(), "{:?}", training.extra.keys());
        assert_eq!(training.alignment.as_ref().unwrap().steps, Some(800));
        let evaluation = m.evaluation.as_ref().expect("and how it was evaluated");
        assert!(evaluation.extra.is_empty());
        assert!(!evaluation.linear_probe.is_empty());
        for t in &m.tasks {
            let metrics = t.metrics.as_ref().unwrap();
            assert!(
                metrics.extra.is_empty(),
                "{}: {:?}",
                t.id,
                metrics.extra.keys()
            );
            assert!(metrics.val_auroc.is_some() && metrics.test_auroc.is_some());
        }
        let written = m.to_json().unwrap();
        assert_eq!(ordered(&written), ordered(original));
    }

    /// An older manifest with sparse metrics and unknown keys reads, and keeps them when rewritten.
    #[test]
    fn sparse_and_unknown_metrics_are_kept() {
        let json = br#"{"val_auroc": 0.719, "test_auroc": null, "calibration": {"t": 1.5}}"#;
        let m: super::HeadMetrics = serde_json::from_slice(json).unwrap();
        assert_eq!(m.val_auroc, Some(0.719));
        assert_eq!(m.test_auroc, None);
        assert_eq!(m.lambda, None);
        assert!(m.extra.contains_key("calibration"));
        let again = serde_json::to_vec(&m).unwrap();
        assert_eq!(
            ordered(&again),
            ordered(br#"{"test_auroc": null, "val_auroc": 0.719, "calibration": {"t": 1.5}}"#)
        );
    }
}
