//! The messages between the page and its analyser worker. Each message is a JS object
//! `{ json: "<one of these, as JSON>", pcm?: Float32Array }`; the PCM of a recording travels beside
//! the JSON as a transferred buffer.

use acula_core::bundle::Manifest;
use acula_core::language::{LabelAnswer, SearchResult};
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
    /// Why the downloaded model could not be kept on this device (e.g. a full storage quota), so the
    /// page works only while online; `None` when it was kept or came from the cache.
    #[serde(default)]
    pub not_kept: Option<String>,
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
        /// Also measure what drove each score (one more encoder pass per cough or second).
        #[serde(default)]
        contributions: bool,
    },
    /// Search the bundle's reports and example recordings by a typed description. The first text
    /// request loads the text tower from `text_url` (the page's `text/` folder, absolute, ending in
    /// `/`) and the bundle's deferred text side.
    Search {
        /// Echoed in the answer.
        id: u32,
        /// What to look for.
        query: String,
        /// How many reports and recordings.
        top_k: usize,
        /// The text tower's folder.
        text_url: String,
    },
    /// Score an earlier screening (by its id) against the person's own labels (zero-shot).
    Labels {
        /// Echoed in the answer.
        id: u32,
        /// The screening's request id.
        screening: u32,
        /// Two or more labels.
        labels: Vec<String>,
        /// The text tower's folder.
        text_url: String,
    },
}

/// The text tower as the worker reports it once it is loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLoaded {
    /// The backend the sentence encoder runs on: `Webgpu` or `Cpu`.
    pub backend: BackendChoice,
    /// Bytes downloaded for it (0 when everything came from the cache).
    pub downloaded: u64,
    /// Bytes taken from the cache.
    pub from_cache: u64,
    /// Milliseconds from the request to ready.
    pub load_ms: f64,
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
        /// The worker's wasm memory after this screening, in bytes: its peak so far, as wasm memory
        /// only grows (what iOS Safari's per-tab limit is measured against).
        #[serde(default)]
        memory_bytes: u64,
    },
    /// The text tower's loading progress (like [`Reply::Progress`]).
    TextProgress {
        /// What happens now, for people.
        message: String,
        /// Bytes so far.
        loaded: u64,
        /// Bytes in all.
        total: u64,
    },
    /// The text tower is loaded (sent before the first text answer).
    TextReady(TextLoaded),
    /// A search's answer.
    Searched {
        /// The request's id.
        id: u32,
        /// What was found.
        result: Box<SearchResult>,
        /// Milliseconds in the worker (sentence encoder, text head, search), without loading.
        ms: f64,
    },
    /// The answer to the person's own labels.
    Labelled {
        /// The request's id.
        id: u32,
        /// The screening it is about.
        screening: u32,
        /// The scores, or why they are withheld.
        answer: Box<LabelAnswer>,
        /// Milliseconds in the worker, without loading.
        ms: f64,
    },
    /// Something failed; `id` is the request's (screening, search or labels), or `None` for loading.
    Failed {
        /// The request that failed, if any.
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
            contributions: false,
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
    fn text_requests_round_trip() {
        let r = Request::Labels {
            id: 4,
            screening: 3,
            labels: vec!["wheezes".into(), "crackles".into()],
            text_url: "http://x/text/".into(),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.starts_with(r#"{"type":"labels","id":4,"screening":3"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r);
        let s: Request = serde_json::from_str(
            r#"{"type":"search","id":1,"query":"wheezes","top_k":5,"text_url":"http://x/text/"}"#,
        )
        .unwrap();
        assert!(matches!(s, Request::Search { top_k: 5, .. }));
    }

    #[test]
    fn backend_choice_parses_the_query_values() {
        assert_eq!(BackendChoice::parse("cpu"), Some(BackendChoice::Cpu));
        assert_eq!(BackendChoice::parse("gpu"), Some(BackendChoice::Webgpu));
        assert_eq!(BackendChoice::parse("fast"), None);
    }
}
