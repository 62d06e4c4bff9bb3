//! What a recording is: the one list of recording kinds that tasks, examples, the CLI and the page
//! share. Serialised as its lower-case id (`"cough"`), so manifests and messages read the same as before.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of body sound in a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingKind {
    /// A voluntary or induced cough.
    Cough,
    /// Breathing, recorded with a microphone.
    Breath,
    /// Lung sounds through a stethoscope.
    Lung,
    /// Heart sounds through a stethoscope.
    Heart,
}

impl RecordingKind {
    /// Every kind, in the order the page offers them.
    pub const ALL: [RecordingKind; 4] = [Self::Cough, Self::Breath, Self::Lung, Self::Heart];

    /// The stable lower-case id (`cough`): the value in manifests, messages and `--recording`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Cough => "cough",
            Self::Breath => "breath",
            Self::Lung => "lung",
            Self::Heart => "heart",
        }
    }

    /// The words shown to people (`Lung sounds (stethoscope)`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Cough => "Cough",
            Self::Breath => "Breathing",
            Self::Lung => "Lung sounds (stethoscope)",
            Self::Heart => "Heart sounds (stethoscope)",
        }
    }

    /// The kind with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The ids joined for a message (`cough, breath, lung, heart`).
    pub fn ids() -> String {
        Self::ALL.map(Self::id).join(", ")
    }
}

impl fmt::Display for RecordingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A recording kind that is not one of [`RecordingKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown recording kind {0:?}; use one of {ids}", ids = RecordingKind::ids())]
pub struct UnknownRecordingKind(pub String);

impl FromStr for RecordingKind {
    type Err = UnknownRecordingKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_id(s).ok_or_else(|| UnknownRecordingKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        for k in RecordingKind::ALL {
            assert_eq!(k.id().parse::<RecordingKind>().unwrap(), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.id()));
            assert_eq!(serde_json::from_str::<RecordingKind>(&json).unwrap(), k);
        }
        assert_eq!(RecordingKind::ids(), "cough, breath, lung, heart");
    }

    #[test]
    fn an_unknown_kind_is_named_with_the_choices() {
        let e = "sneeze".parse::<RecordingKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown recording kind \"sneeze\"; use one of cough, breath, lung, heart"
        );
        assert!(serde_json::from_str::<RecordingKind>("\"Cough\"").is_err());
    }
}
