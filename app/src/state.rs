//! The page's state in plain types, apart from the view (as leptos' `todomvc` keeps its domain apart):
//! the query parameters, the model as the page sees it, and what the page does with the current
//! recording, with one method per transition and the status line they lead to. No browser API and no
//! signal here; `ui.rs` keeps a [`PageState`] in one signal and calls these methods.

use std::sync::Arc;

use acula_core::bundle::Example;
use acula_core::screen::Screening;
use acula_core::RecordingKind;

use crate::analysis::Analysis;
use crate::i18n::{number, tr, Lang};
use crate::protocol::{BackendChoice, Loaded};

/// The largest file the page takes, in bytes (about 10 minutes of uncompressed audio).
pub const MAX_FILE_BYTES: u64 = 200_000_000;

/// Bytes for people in `lang`: `1.5 MB`, `1,5 МБ`.
pub fn human_bytes_in(lang: Lang, b: u64) -> String {
    if b >= 1_000_000 {
        tr(lang, "unit.mb", &[("n", &number(lang, b as f64 / 1e6, 1))])
    } else {
        tr(lang, "unit.kb", &[("n", &number(lang, b as f64 / 1e3, 0))])
    }
}

/// The page's query parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `?bundle=URL`: a bundle folder on the same origin (the default bundle when absent).
    pub bundle: Option<String>,
    /// `?backend=cpu|webgpu|auto` (`auto` when absent or unknown).
    pub backend: BackendChoice,
    /// `?conference=1`: large type (any value but `0`).
    pub conference: bool,
    /// `?recording=cough|breath|lung|heart`: the recording kind chosen at the start.
    pub recording: Option<RecordingKind>,
    /// `?lang=en|ru`: the page's language (else the remembered choice, else the browser's).
    pub lang: Option<String>,
}

impl Query {
    /// Reads the parameters through `get` (a parameter's value by name).
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            bundle: get("bundle"),
            backend: get("backend")
                .and_then(|b| BackendChoice::parse(&b))
                .unwrap_or(BackendChoice::Auto),
            conference: get("conference").is_some_and(|v| v != "0"),
            recording: get("recording").and_then(|r| RecordingKind::from_id(&r)),
            lang: get("lang"),
        }
    }
}

/// The model as the page sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelState {
    /// The worker is starting.
    Starting,
    /// Loading: what happens and the download's bytes (0 of 0 when nothing is being downloaded).
    Loading {
        /// For people.
        message: String,
        /// Bytes so far.
        loaded: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Ready to screen.
    Ready(Box<Loaded>),
    /// Loading failed; the message says what to do.
    Failed(String),
}

impl ModelState {
    /// The loaded model, when ready.
    pub fn ready(&self) -> Option<&Loaded> {
        match self {
            Self::Ready(l) => Some(l),
            _ => None,
        }
    }

    /// Whether the recording's kind must be known to screen: the model has tasks for more than one
    /// kind (or is not loaded yet, so it is not known).
    pub fn needs_kind(&self) -> bool {
        match self {
            Self::Ready(l) => {
                let mut kinds: Vec<RecordingKind> =
                    l.manifest.tasks.iter().map(|t| t.recording).collect();
                kinds.sort_unstable();
                kinds.dedup();
                kinds.len() > 1
            }
            _ => true,
        }
    }

    /// The download's bytes so far and in all, while there is a download.
    pub fn progress(&self) -> Option<(u64, u64)> {
        match self {
            Self::Loading { loaded, total, .. } if *total > 0 => Some((*loaded, *total)),
            _ => None,
        }
    }

    /// The bundle's example recordings (none until the model is ready).
    pub fn examples(&self) -> Vec<Example> {
        self.ready()
            .map(|l| l.manifest.examples.clone())
            .unwrap_or_default()
    }

    /// The model line: name and version, backend, where it came from, load time; or what happens.
    pub fn line(&self, lang: Lang) -> String {
        match self {
            Self::Ready(l) => {
                let be = match (l.backend, &l.adapter) {
                    (BackendChoice::Webgpu, Some(a)) => format!("WebGPU ({a})"),
                    (BackendChoice::Webgpu, None) => "WebGPU".to_string(),
                    _ => tr(lang, "backend.cpu", &[]),
                };
                let src = if l.downloaded > 0 {
                    tr(
                        lang,
                        "model.downloaded",
                        &[("size", &human_bytes_in(lang, l.downloaded))],
                    )
                } else {
                    tr(lang, "model.cached", &[])
                };
                tr(
                    lang,
                    "model.line",
                    &[
                        ("name", &l.manifest.name),
                        ("version", &l.manifest.version),
                        ("backend", &be),
                        ("source", &src),
                        ("seconds", &number(lang, l.load_ms / 1000.0, 1)),
                    ],
                )
            }
            // The analyser's progress lines are catalogue keys (anything else is shown as it is).
            Self::Loading { message, .. } => tr(lang, message, &[]),
            Self::Starting => tr(lang, "progress.starting", &[]),
            Self::Failed(m) => tr(lang, "model.failed", &[("why", m)]),
        }
    }
}

/// The text tower as the page sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum TextModel {
    /// Not asked for yet (nothing downloaded).
    Idle,
    /// Loading: what happens and the download's bytes (0 of 0 when nothing is being downloaded).
    Loading {
        /// For people.
        message: String,
        /// Bytes so far.
        loaded: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Loaded.
    Ready(crate::protocol::TextLoaded),
    /// Answering, loaded earlier (the page missed how).
    Used,
    /// Loading failed; the message says why.
    Failed(String),
}

impl TextModel {
    /// The download's bytes so far and in all, while there is a download.
    pub fn progress(&self) -> Option<(u64, u64)> {
        match self {
            Self::Loading { loaded, total, .. } if *total > 0 => Some((*loaded, *total)),
            _ => None,
        }
    }

    /// The line about the text model, when there is something to say.
    pub fn line(&self, lang: Lang) -> Option<String> {
        match self {
            Self::Idle | Self::Used => None,
            Self::Loading { message, .. } => Some(tr(lang, message, &[])),
            Self::Ready(l) => {
                let be = match l.backend {
                    BackendChoice::Webgpu => "WebGPU".to_string(),
                    _ => tr(lang, "backend.cpu.text", &[]),
                };
                let src = if l.downloaded > 0 {
                    tr(
                        lang,
                        "model.downloaded",
                        &[("size", &human_bytes_in(lang, l.downloaded))],
                    )
                } else {
                    tr(lang, "model.cached", &[])
                };
                Some(tr(
                    lang,
                    "text.line",
                    &[
                        ("backend", &be),
                        ("source", &src),
                        ("seconds", &number(lang, l.load_ms / 1000.0, 1)),
                    ],
                ))
            }
            Self::Failed(m) => Some(tr(lang, "text.failed", &[("why", m)])),
        }
    }

    /// Whether it is loading.
    pub fn loading(&self) -> bool {
        matches!(self, Self::Loading { .. })
    }
}

/// The answer to a search or to the person's labels.
#[derive(Debug, Clone, PartialEq)]
pub enum TextAnswer {
    /// A search's result.
    Search {
        /// The request's id.
        id: u32,
        /// What was found.
        result: Box<acula_core::language::SearchResult>,
        /// The worker's milliseconds.
        ms: f64,
    },
    /// The labels' scores (or why they are withheld).
    Labels {
        /// The request's id.
        id: u32,
        /// The screening's id.
        screening: u32,
        /// The answer.
        answer: Box<acula_core::language::LabelAnswer>,
        /// The worker's milliseconds.
        ms: f64,
    },
    /// The request failed; the message says why.
    Failed {
        /// The request's id.
        id: u32,
        /// One line.
        message: String,
    },
}

impl TextAnswer {
    /// The request's id.
    pub fn id(&self) -> u32 {
        match self {
            Self::Search { id, .. } | Self::Labels { id, .. } | Self::Failed { id, .. } => *id,
        }
    }
}

/// The answer to one screening request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The request's id.
    pub id: u32,
    /// The screening and the worker's milliseconds, or a one-line error.
    pub result: Result<(Screening, f64), String>,
}

/// Where the page is with the current recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Nothing chosen yet.
    Idle,
    /// Reading or decoding the named file.
    Decoding(String),
    /// Decoded; screening waits for the model or the recording's kind.
    Decoded,
    /// The analyser is screening it.
    Screening,
    /// Screened: the results are shown.
    Done,
    /// Reading, decoding or screening failed; the message says why.
    Failed(String),
}

/// A decoded recording with its serial number (each decode gets a new one, so a recording decoded
/// twice is screened twice); two are equal when their serial numbers are.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Counts the decodes since the page opened, from 1.
    pub serial: usize,
    /// The recording.
    pub analysis: Arc<Analysis>,
}

impl PartialEq for Decoded {
    fn eq(&self, other: &Self) -> bool {
        self.serial == other.serial
    }
}

/// What a screening was asked for: the recording, its kind and the backend. The same again is not
/// screened again; a new kind or backend screens the recording again.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenKey {
    recording: usize,
    kind: Option<RecordingKind>,
    backend: BackendChoice,
    explain: bool,
}

/// A screening to ask the analyser for.
#[derive(Debug, Clone)]
pub struct ScreenRequest {
    /// The recording.
    pub analysis: Arc<Analysis>,
    /// The kind to screen for (`None` when the model's tasks are all for one kind).
    pub kind: Option<RecordingKind>,
    /// Whether to measure what drove each score.
    pub contributions: bool,
    key: ScreenKey,
}

/// The status line: its text and whether it reports a failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// One line for people.
    pub text: String,
    /// Whether it reports a failure (shown as an error).
    pub error: bool,
}

impl Status {
    fn info(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            error: false,
        }
    }

    fn error(text: String) -> Self {
        Self { text, error: true }
    }
}

/// What the page does with the current recording.
#[derive(Debug, Clone, PartialEq)]
pub struct PageState {
    stage: Stage,
    kind: Option<RecordingKind>,
    recording: Option<Decoded>,
    decodes: usize,
    screened: Option<ScreenKey>,
    pending: Option<u32>,
    outcome: Option<Outcome>,
    explain: bool,
}

impl PageState {
    /// Nothing chosen yet; `kind` is the recording kind chosen at the start (`?recording=`).
    pub fn new(kind: Option<RecordingKind>) -> Self {
        Self {
            stage: Stage::Idle,
            kind,
            recording: None,
            decodes: 0,
            screened: None,
            pending: None,
            outcome: None,
            explain: false,
        }
    }

    /// Whether each screening also measures what drove its scores.
    pub fn explain(&self) -> bool {
        self.explain
    }

    /// Turns the measurement of what drove the scores on or off (the recording is screened again
    /// when it changes).
    pub fn set_explain(&mut self, on: bool) {
        self.explain = on;
    }

    /// The chosen recording kind.
    pub fn kind(&self) -> Option<RecordingKind> {
        self.kind
    }

    /// The decoded recording (none while a new one is decoded).
    pub fn recording(&self) -> Option<&Decoded> {
        self.recording.as_ref()
    }

    /// The answer to the latest screening request, once it came.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Whether a file is being read or decoded or a recording screened (inputs are disabled).
    pub fn busy(&self) -> bool {
        matches!(self.stage, Stage::Decoding(_) | Stage::Screening)
    }

    /// The user chose a file of `bytes` bytes: it is read, or refused (`false`, the reason in
    /// `lang`) when over [`MAX_FILE_BYTES`].
    pub fn file_chosen(&mut self, name: &str, bytes: u64, lang: Lang) -> bool {
        if bytes > MAX_FILE_BYTES {
            self.stage = Stage::Failed(tr(
                lang,
                "file.too_big",
                &[("name", name), ("size", &human_bytes_in(lang, bytes))],
            ));
            return false;
        }
        self.stage = Stage::Decoding(name.to_string());
        true
    }

    /// The user chose one of the bundle's examples: its kind becomes the chosen kind.
    pub fn example_chosen(&mut self, example: &Example) {
        self.kind = Some(example.recording);
        self.stage = Stage::Decoding(example.title.clone());
    }

    /// The bytes of `name` (a file, a recording or an example) are being decoded; the previous
    /// recording is dropped.
    pub fn decoding(&mut self, name: &str) {
        self.stage = Stage::Decoding(name.to_string());
        self.recording = None;
    }

    /// The recording is decoded; it is screened once the model (and its kind, when needed) is there.
    pub fn decoded(&mut self, analysis: Arc<Analysis>) {
        self.decodes += 1;
        self.recording = Some(Decoded {
            serial: self.decodes,
            analysis,
        });
        self.stage = Stage::Decoded;
    }

    /// Reading, decoding or recording failed.
    pub fn failed(&mut self, message: String) {
        self.stage = Stage::Failed(message);
    }

    /// The user said what the recording is.
    pub fn kind_chosen(&mut self, kind: RecordingKind) {
        self.kind = Some(kind);
    }

    /// The screening to ask for now, if any: there is a recording, its kind when `model` needs it, a
    /// ready model, and this recording, kind and backend were not screened yet.
    pub fn screen_due(&self, model: &ModelState) -> Option<ScreenRequest> {
        let decoded = self.recording.as_ref()?;
        let need = model.needs_kind();
        if need && self.kind.is_none() {
            return None;
        }
        let backend = model.ready()?.backend;
        let key = ScreenKey {
            recording: decoded.serial,
            kind: self.kind,
            backend,
            explain: self.explain,
        };
        if self.screened.as_ref() == Some(&key) {
            return None;
        }
        Some(ScreenRequest {
            analysis: decoded.analysis.clone(),
            kind: if need { self.kind } else { None },
            contributions: self.explain,
            key,
        })
    }

    /// `request` was sent with `id`: the page waits for that answer and shows no older one.
    pub fn screen_sent(&mut self, request: &ScreenRequest, id: u32) {
        self.screened = Some(request.key.clone());
        self.stage = Stage::Screening;
        self.pending = Some(id);
        self.outcome = None;
    }

    /// An answer came; it is taken (`true`) only when it answers the latest request.
    pub fn outcome_received(&mut self, outcome: Outcome) -> bool {
        if self.pending != Some(outcome.id) {
            return false;
        }
        self.stage = match &outcome.result {
            Ok(_) => Stage::Done,
            Err(e) => Stage::Failed(e.clone()),
        };
        self.outcome = Some(outcome);
        true
    }

    /// The status line for this state and `model`, in `lang`.
    pub fn status(&self, model: &ModelState, lang: Lang) -> Status {
        let t = |key: &str| tr(lang, key, &[]);
        match (&self.stage, model) {
            (Stage::Failed(m), _) => Status::error(tr(lang, "status.failed", &[("why", m)])),
            (Stage::Decoding(n), _) => Status::info(tr(lang, "status.reading", &[("name", n)])),
            (_, ModelState::Failed(m)) => Status::error(tr(lang, "model.failed", &[("why", m)])),
            (Stage::Screening, _) => Status::info(t("status.analysing")),
            (Stage::Done, _) => Status::info(t("status.done")),
            (Stage::Decoded, ModelState::Ready(_)) if model.needs_kind() && self.kind.is_none() => {
                Status::info(t("status.need_kind"))
            }
            (Stage::Decoded, _) => Status::info(t("status.waiting_model")),
            (Stage::Idle, ModelState::Ready(_)) => Status::info(t("status.ready")),
            (
                Stage::Idle,
                ModelState::Loading {
                    message,
                    loaded,
                    total,
                },
            ) if *total > 0 => Status::info(tr(
                lang,
                "status.progress",
                &[
                    ("what", &t(message)),
                    ("done", &human_bytes_in(lang, *loaded)),
                    ("total", &human_bytes_in(lang, *total)),
                    (
                        "percent",
                        &number(lang, *loaded as f64 * 100.0 / *total as f64, 0),
                    ),
                ],
            )),
            (Stage::Idle, ModelState::Loading { message, .. }) => Status::info(t(message)),
            (Stage::Idle, ModelState::Starting) => Status::info(t("progress.starting")),
        }
    }
}

#[cfg(test)]
mod tests;
