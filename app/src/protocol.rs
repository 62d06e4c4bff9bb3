//! The messages between the page and its analyser worker. Each message is a JS object
//! `{ json: "<one of these, as JSON>", pcm?: Float32Array }`; the PCM of a recording travels beside
//! the JSON as a transferred buffer.

use acula_core::bundle::Manifest;
use acula_core::screen::Screening;
use acula_core::RecordingKind;
use serde::{Deserialize, Serialize};

/// Which compute backend the analyser should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// WebGPU when the browser returns an adapter (and a warm-up run succeeds), else the CPU.
    Auto,
    /// WebGPU (falls back to the CPU, with a note, when it cannot run).
    Webgpu,
    /// The wasm CPU backend.
    Cpu,
}

impl BackendChoice {
    /// The value of `?backend=` (`auto`, `webgpu`, `cpu`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "webgpu" | "gpu" => Some(Self::Webgpu),
            "cpu" => Some(Self::Cpu),
            _ => None,
        }
    }
}

/// A loaded model, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// The backend it runs on: `Webgpu` or `Cpu` (never `Auto`).
    pub backend: BackendChoice,
    /// The WebGPU adapter's description, when WebGPU is used.
    pub adapter: Option<String>,
    /// Whether the browser offers a WebGPU adapter at all.
    pub webgpu_available: bool,
    /// Why the backend differs from the one asked for, if it does.
    pub note: Option<String>,
    /// Bytes downloaded for this load (0 when everything came from the cache).
    pub downloaded: u64,
    /// Bytes taken from the cache.
    pub from_cache: u64,
    /// Milliseconds from the request to ready.
    pub load_ms: f64,
}

/// The page asks the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Load (or reuse) the bundle at `bundle_url` (absolute, same origin) on `backend`.
    Load {
        /// Folder URL of the bundle, ending in `/`.
        bundle_url: String,
        /// The backend wanted.
        backend: BackendChoice,
    },
    /// Screen the mono PCM that comes with the message.
    Screen {
        /// Echoed in the answer.
        id: u32,
        /// Rate of the PCM in Hz.
        sample_rate: u32,
        /// What the recording is; `None` scores every task.
        recording: Option<RecordingKind>,
        /// How many similar reports.
        top_k: usize,
    },
}

/// The worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The worker runs and takes requests.
    Started,
    /// Loading progress: `loaded` of `total` bytes downloaded (both 0 while nothing is downloaded).
    Progress {
        /// What happens now, for people.
        message: String,
        /// Bytes so far.
        loaded: u64,
        /// Bytes in all.
        total: u64,
    },
    /// The model is loaded and warmed up.
    Ready(Box<Loaded>),
    /// One screening.
    Screened {
        /// The request's id.
        id: u32,
        /// The result.
        screening: Box<Screening>,
        /// Milliseconds in the worker (front end, encoder, heads, retrieval).
        ms: f64,
    },
    /// Something failed; `id` is the screening's, or `None` for loading.
    Failed {
        /// The screening request that failed, if any.
        id: Option<u32>,
        /// One line for people.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_tagged_json() {
        let r = Request::Screen {
            id: 3,
            sample_rate: 4000,
            recording: Some(RecordingKind::Lung),
            top_k: 3,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with(r#"{"type":"screen","id":3"#), "{json}");
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r);
        let l: Request = serde_json::from_str(
            r#"{"type":"load","bundle_url":"http://x/models/default/","backend":"webgpu"}"#,
        )
        .unwrap();
        assert_eq!(
            l,
            Request::Load {
                bundle_url: "http://x/models/default/".into(),
                backend: BackendChoice::Webgpu
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"type":"load","backend":"tpu"}"#).is_err());
    }

    #[test]
    fn backend_choice_parses_the_query_values() {
        assert_eq!(BackendChoice::parse("cpu"), Some(BackendChoice::Cpu));
        assert_eq!(BackendChoice::parse("gpu"), Some(BackendChoice::Webgpu));
        assert_eq!(BackendChoice::parse("fast"), None);
    }
}
