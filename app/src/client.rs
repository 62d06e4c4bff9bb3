//! The page's side of the analyser worker: starts it, asks it to load the bundle and screen
//! recordings, and turns its replies into signals the page shows.

use js_sys::{Float32Array, Object, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::net::js_message;
use crate::protocol::{BackendChoice, Reply, Request};
use crate::state::{ModelState, Outcome, TextAnswer, TextModel};

/// Handle to the analyser (cheap to copy into closures).
#[derive(Clone, Copy)]
pub struct Client {
    worker: StoredValue<Option<Worker>, LocalStorage>,
    started: RwSignal<bool>,
    pending_load: StoredValue<Option<Request>>,
    next_id: StoredValue<u32>,
    /// Ids of the search and labels requests sent.
    text_requests: StoredValue<Vec<u32>>,
    /// The model's state.
    pub model: RwSignal<ModelState>,
    /// The latest screening answer.
    pub outcome: RwSignal<Option<Outcome>>,
    /// The text tower as the page sees it.
    pub text: RwSignal<TextModel>,
    /// The latest answer to a search or to the person's labels.
    pub text_answer: RwSignal<Option<TextAnswer>>,
}

/// The analyser's worker that `www/boot.js` started while the page's module was still loading,
/// with the events it has received since (taken once; `None` when boot.js did not start one).
fn take_early_worker() -> Option<(Worker, js_sys::Array)> {
    let window = web_sys::window()?;
    let key = JsValue::from_str("aculaEarlyWorker");
    let early = Reflect::get(&window, &key)
        .ok()
        .filter(JsValue::is_object)?;
    let _ = Reflect::delete_property(&window, &key);
    let worker = Reflect::get(&early, &"worker".into())
        .ok()?
        .dyn_into::<Worker>()
        .ok()?;
    let events = Reflect::get(&early, &"events".into())
        .ok()?
        .dyn_into::<js_sys::Array>()
        .ok()?;
    Some((worker, events))
}

impl Client {
    /// Starts the worker (or takes over the one `www/boot.js` started); [`Self::load`] may be called at once (it is sent when the worker is up).
    pub fn start() -> Self {
        let client = Client {
            worker: StoredValue::new_local(None),
            started: RwSignal::new(false),
            pending_load: StoredValue::new(None),
            next_id: StoredValue::new(0),
            text_requests: StoredValue::new(Vec::new()),
            model: RwSignal::new(ModelState::Starting),
            outcome: RwSignal::new(None),
            text: RwSignal::new(TextModel::Idle),
            text_answer: RwSignal::new(None),
        };
        if let Err(e) = client.spawn() {
            client.model.set(ModelState::Failed(format!(
                "the analyser could not start: {e}; this browser may not support module workers"
            )));
        }
        client
    }

    fn spawn(self) -> Result<(), String> {
        let (worker, early_events) = match take_early_worker() {
            Some((worker, events)) => (worker, Some(events)),
            None => {
                let options = WorkerOptions::new();
                options.set_type(WorkerType::Module);
                let worker = Worker::new_with_options("./worker.js", &options)
                    .map_err(|e| js_message(&e))?;
                (worker, None)
            }
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            self.on_message(&ev);
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            ev.prevent_default();
            self.on_worker_error(&ev);
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        self.worker.set_value(Some(worker));
        // What the early worker said before the page was up, in order (nothing new can come in
        // between: this runs in one task).
        for ev in early_events.iter().flat_map(|events| events.iter()) {
            match ev.dyn_into::<MessageEvent>() {
                Ok(m) => self.on_message(&m),
                Err(e) => self.on_worker_error(&e.unchecked_into()),
            }
        }
        Ok(())
    }

    fn on_message(self, ev: &MessageEvent) {
        let reply = ev
            .data()
            .as_string()
            .and_then(|j| serde_json::from_str::<Reply>(&j).ok());
        match reply {
            Some(r) => self.on_reply(r),
            None => leptos::logging::warn!("the analyser sent a message the page cannot read"),
        }
    }

    /// The worker failed (an `ErrorEvent` from its code, or a plain `Event` when its script could
    /// not be loaded).
    fn on_worker_error(self, ev: &web_sys::Event) {
        let message = Reflect::get(ev, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "its script could not be loaded".to_string());
        self.model.set(ModelState::Failed(format!(
            "the analyser stopped ({message}); reload the page"
        )));
    }

    fn on_reply(self, reply: Reply) {
        match reply {
            Reply::Started => {
                self.started.set(true);
                if let Some(load) = self.pending_load.try_update_value(Option::take).flatten() {
                    self.send(&load, None);
                }
            }
            Reply::Progress {
                message,
                loaded,
                total,
            } => self.model.set(ModelState::Loading {
                message,
                loaded,
                total,
            }),
            Reply::Ready(loaded) => self.model.set(ModelState::Ready(loaded)),
            Reply::Screened {
                id,
                screening,
                ms,
                memory_bytes,
            } => {
                crate::browser::publish_json(
                    "aculaWorker",
                    &serde_json::json!({ "ms": ms, "memoryBytes": memory_bytes }),
                );
                self.outcome.set(Some(Outcome {
                    id,
                    result: Ok((*screening, ms)),
                }))
            }
            Reply::TextProgress {
                message,
                loaded,
                total,
            } => self.text.set(TextModel::Loading {
                message,
                loaded,
                total,
            }),
            Reply::TextReady(loaded) => self.text.set(TextModel::Ready(loaded)),
            Reply::Searched { id, result, ms } => {
                self.text_ready_if_loading();
                crate::browser::publish_json("aculaSearch", &result);
                self.text_answer
                    .set(Some(TextAnswer::Search { id, result, ms }));
            }
            Reply::Labelled {
                id,
                screening,
                answer,
                ms,
            } => {
                self.text_ready_if_loading();
                crate::browser::publish_json("aculaLabels", &answer);
                self.text_answer.set(Some(TextAnswer::Labels {
                    id,
                    screening,
                    answer,
                    ms,
                }));
            }
            Reply::Failed {
                id: Some(id),
                message,
            } if self.text_requests.with_value(|r| r.contains(&id)) => {
                if self
                    .text
                    .with_untracked(|t| matches!(t, TextModel::Loading { .. }))
                {
                    self.text.set(TextModel::Failed(message.clone()));
                }
                self.text_answer
                    .set(Some(TextAnswer::Failed { id, message }));
            }
            Reply::Failed {
                id: Some(id),
                message,
            } => self.outcome.set(Some(Outcome {
                id,
                result: Err(message),
            })),
            Reply::Failed { id: None, message } => self.model.set(ModelState::Failed(message)),
        }
    }

    fn send(self, request: &Request, pcm: Option<&[f32]>) {
        let Ok(json) = serde_json::to_string(request) else {
            return;
        };
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"json".into(), &json.into());
        let transfer = js_sys::Array::new();
        if let Some(pcm) = pcm {
            let array = Float32Array::from(pcm);
            transfer.push(&array.buffer());
            let _ = Reflect::set(&msg, &"pcm".into(), &array);
        }
        self.worker.with_value(|w| {
            if let Some(w) = w {
                if let Err(e) = w.post_message_with_transfer(&msg, &transfer) {
                    leptos::logging::warn!("cannot reach the analyser: {}", js_message(&e));
                }
            }
        });
    }

    /// Loads the bundle at `bundle_url` (absolute, ending in `/`) on `backend`.
    pub fn load(self, bundle_url: String, backend: BackendChoice) {
        let request = Request::Load {
            bundle_url,
            backend,
        };
        self.model.set(ModelState::Loading {
            message: "progress.starting".into(),
            loaded: 0,
            total: 0,
        });
        if self.started.get_untracked() {
            self.send(&request, None);
        } else {
            self.pending_load.set_value(Some(request));
        }
    }

    /// Asks for a screening of mono `pcm` at `sample_rate` (and what drove its scores, with
    /// `contributions`); returns the request's id.
    pub fn screen(
        self,
        pcm: &[f32],
        sample_rate: u32,
        recording: Option<acula_core::RecordingKind>,
        contributions: bool,
    ) -> u32 {
        let id = self.next_id();
        self.send(
            &Request::Screen {
                id,
                sample_rate,
                recording,
                top_k: 3,
                contributions,
            },
            Some(pcm),
        );
        id
    }

    fn next_id(self) -> u32 {
        let id = self.next_id.get_value() + 1;
        self.next_id.set_value(id);
        id
    }

    fn text_ready_if_loading(self) {
        // An answer means the tower is up; `TextReady` came first unless it was loaded before.
        if self
            .text
            .with_untracked(|t| !matches!(t, TextModel::Ready(_)))
        {
            self.text.set(TextModel::Used);
        }
    }

    fn send_text(self, request: Request, id: u32) {
        self.text_requests.update_value(|r| r.push(id));
        if self
            .text
            .with_untracked(|t| !matches!(t, TextModel::Ready(_) | TextModel::Used))
        {
            self.text.set(TextModel::Loading {
                message: "progress.text.preparing".into(),
                loaded: 0,
                total: 0,
            });
        }
        self.send(&request, None);
    }

    /// Searches the bundle by a description; returns the request's id.
    pub fn search(self, query: String, text_url: String) -> u32 {
        let id = self.next_id();
        self.send_text(
            Request::Search {
                id,
                query,
                top_k: 5,
                text_url,
            },
            id,
        );
        id
    }

    /// Scores the screening `screening` against `labels`; returns the request's id.
    pub fn labels(self, screening: u32, labels: Vec<String>, text_url: String) -> u32 {
        let id = self.next_id();
        self.send_text(
            Request::Labels {
                id,
                screening,
                labels,
                text_url,
            },
            id,
        );
        id
    }
}
