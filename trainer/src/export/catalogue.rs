//! The published names of screening tasks: a known `(dataset, task)` pair gets its stable id, a
//! name and a description for people, and its recording kind; any other task gets names derived
//! from the dataset and the task.

use acula_core::RecordingKind;

use crate::data;

/// How a task is published in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskNames {
    /// Stable, lower-case id (`covid19_cough`): the key of its head and its score.
    pub id: String,
    /// Short name.
    pub name: String,
    /// What the score means.
    pub description: String,
    /// The kind of recording the head is for.
    pub recording: RecordingKind,
}

/// The names of task `task` of dataset `ds`.
pub fn names(ds: &data::Dataset, task: &data::Task) -> TaskNames {
    match known(ds.id, task.id) {
        Some((id, name, description, recording)) => TaskNames {
            id: id.to_string(),
            name: name.to_string(),
            description: description.to_string(),
            recording,
        },
        None => TaskNames {
            id: format!("{}_{}", ds.id, task.id)
                .replace('-', "_")
                .to_lowercase(),
            name: task.description.to_string(),
            description: format!("{} ({})", task.description, ds.name),
            recording: recording_kind(ds.id),
        },
    }
}

/// The published names of known `(dataset, task)` pairs: id, name, description, recording kind.
fn known(
    dataset: &str,
    task: &str,
) -> Option<(&'static str, &'static str, &'static str, RecordingKind)> {
    Some(match (dataset, task) {
        ("covid19-cough", "covid") => (
            "covid19_cough",
            "COVID-19 (cough)",
            "How much the cough resembles those of people who tested positive for COVID-19 in the CC0 \
             covid19-cough set. Caution: in that set the label goes with the recording channel (phone \
             line or messenger app), so the score partly reflects the channel.",
            RecordingKind::Cough,
        ),
        ("coughvid", "covid") => (
            "covid19_cough_coughvid",
            "COVID-19 (cough, COUGHVID)",
            "How much the cough resembles self-reported COVID-19 coughs of COUGHVID.",
            RecordingKind::Cough,
        ),
        ("icbhi", "copd") => (
            "copd_lung_sounds",
            "COPD (lung sounds)",
            "How much the lung sounds resemble those of patients with COPD rather than healthy \
             people (ICBHI 2017 layout).",
            RecordingKind::Lung,
        ),
        ("kauh", "obstructive") => (
            "obstructive_lung_sounds",
            "Obstructive disease (lung sounds)",
            "How much the lung sounds resemble those of patients with asthma or COPD (KAUH).",
            RecordingKind::Lung,
        ),
        ("circor", "murmur") => (
            "heart_murmur",
            "Heart murmur",
            "How likely the heart sounds contain a murmur (CirCor DigiScope layout).",
            RecordingKind::Heart,
        ),
        ("circor", "outcome") => (
            "heart_outcome_abnormal",
            "Abnormal heart (clinical outcome)",
            "How much the heart sounds resemble those of children with an abnormal clinical outcome.",
            RecordingKind::Heart,
        ),
        _ => return None,
    })
}

/// The recording kind of a dataset's records.
fn recording_kind(dataset: &str) -> RecordingKind {
    match dataset {
        "icbhi" | "kauh" | "resp-tr" => RecordingKind::Lung,
        "circor" => RecordingKind::Heart,
        "mmlung" | "nosemic" | "ssbpr" => RecordingKind::Breath,
        _ => RecordingKind::Cough,
    }
}
