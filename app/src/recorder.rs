//! Recording from the microphone: asked for only after the user presses "Record"; MediaRecorder with
//! the first container the browser supports (WebM/Opus in Chromium and Firefox, MP4/AAC in Safari);
//! a level meter, a timer and a live spectrogram while recording; stops by itself at the maximum.
//! The browser's echo cancellation, noise suppression and automatic gain are turned off: they would
//! reshape a cough or a heartbeat.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AnalyserNode, AudioContext, Blob, BlobEvent, BlobPropertyBag, CanvasRenderingContext2d,
    HtmlCanvasElement, MediaRecorder, MediaRecorderOptions, MediaStream, MediaStreamConstraints,
};

use crate::net::js_message;
use crate::spectrogram::colour;

/// The longest recording, in seconds.
pub const MAX_SECONDS: f64 = 30.0;

/// Stage mode: how often the recording so far is handed over for a live screening, in seconds.
pub const ROLLING_EVERY_S: f64 = 2.0;

/// Stage mode: MediaRecorder's time slice, in milliseconds (the recording so far is at most this old
/// when it is handed over).
const SLICE_MS: i32 = 250;

/// Containers tried in order.
const TYPES: [&str; 4] = [
    "audio/webm;codecs=opus",
    "audio/mp4",
    "audio/ogg;codecs=opus",
    "audio/webm",
];

/// A running recording.
struct Session {
    recorder: MediaRecorder,
    stream: MediaStream,
    context: AudioContext,
    interval: i32,
    _tick: Closure<dyn FnMut()>,
    _data: Closure<dyn FnMut(BlobEvent)>,
    _stop: Closure<dyn FnMut()>,
}

impl Session {
    fn release(&self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.interval);
        }
        for track in self.stream.get_tracks().iter() {
            if let Ok(t) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                t.stop();
            }
        }
        let _ = self.context.close();
    }
}

/// What the recorder shows.
#[derive(Debug, Clone, PartialEq)]
pub enum RecState {
    /// Not recording.
    Idle,
    /// Waiting for the microphone permission.
    Asking,
    /// Recording: seconds so far and the level in dBFS.
    Recording {
        /// Seconds.
        seconds: f64,
        /// Level, dBFS.
        level_db: f64,
    },
}

/// Handle to the recorder.
#[derive(Clone, Copy)]
pub struct Recorder {
    session: StoredValue<Option<Rc<Session>>, LocalStorage>,
    /// The state shown.
    pub state: RwSignal<RecState>,
}

impl Recorder {
    /// A recorder that is not recording.
    pub fn new() -> Self {
        Self {
            session: StoredValue::new_local(None),
            state: RwSignal::new(RecState::Idle),
        }
    }

    /// Starts recording; `done(name, bytes)` gets the recording when it stops, `failed` a one-line
    /// message. `live` is the canvas for the live spectrogram. With `rolling` (stage mode), every
    /// [`ROLLING_EVERY_S`] seconds it gets the recording so far (a complete file of the same container)
    /// and the seconds recorded.
    pub fn start(
        self,
        live: Option<HtmlCanvasElement>,
        done: Callback<(String, js_sys::ArrayBuffer)>,
        failed: Callback<String>,
        rolling: Option<Callback<(js_sys::ArrayBuffer, f64)>>,
    ) {
        self.state.set(RecState::Asking);
        leptos::task::spawn_local(async move {
            if let Err(e) = self.begin(live, done, failed, rolling).await {
                self.state.set(RecState::Idle);
                failed.run(e);
            }
        });
    }

    /// Stops recording (the result arrives through `done`).
    pub fn stop(self) {
        if let Some(s) = self.session.get_value() {
            if s.recorder.state() == web_sys::RecordingState::Recording {
                let _ = s.recorder.stop();
            }
        }
    }

    async fn begin(
        self,
        live: Option<HtmlCanvasElement>,
        done: Callback<(String, js_sys::ArrayBuffer)>,
        failed: Callback<String>,
        rolling: Option<Callback<(js_sys::ArrayBuffer, f64)>>,
    ) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let devices = window.navigator().media_devices().map_err(|_| {
            "this browser cannot record here (a secure context is needed)".to_string()
        })?;
        let audio = Object::new();
        for key in ["echoCancellation", "noiseSuppression", "autoGainControl"] {
            let _ = Reflect::set(&audio, &key.into(), &false.into());
        }
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&audio);
        let stream: MediaStream = JsFuture::from(
            devices
                .get_user_media_with_constraints(&constraints)
                .map_err(|e| js_message(&e))?,
        )
        .await
        .map_err(|e| {
            format!(
                "the microphone is not available ({}); allow it in the browser, or upload a file",
                js_message(&e)
            )
        })?
        .unchecked_into();
        let mime = TYPES
            .iter()
            .find(|t| MediaRecorder::is_type_supported(t))
            .copied()
            .unwrap_or("");
        let options = MediaRecorderOptions::new();
        if !mime.is_empty() {
            options.set_mime_type(mime);
        }
        let recorder =
            MediaRecorder::new_with_media_stream_and_media_recorder_options(&stream, &options)
                .map_err(|e| format!("recording is not possible here ({})", js_message(&e)))?;
        let context = AudioContext::new().map_err(|e| js_message(&e))?;
        let source = context
            .create_media_stream_source(&stream)
            .map_err(|e| js_message(&e))?;
        let analyser = context.create_analyser().map_err(|e| js_message(&e))?;
        analyser.set_fft_size(1024);
        source
            .connect_with_audio_node(&analyser)
            .map_err(|e| js_message(&e))?;

        let chunks: Rc<RefCell<Vec<Blob>>> = Rc::default();
        let on_data = {
            let chunks = chunks.clone();
            Closure::<dyn FnMut(BlobEvent)>::new(move |ev: BlobEvent| {
                if let Some(b) = ev.data() {
                    if b.size() > 0.0 {
                        chunks.borrow_mut().push(b);
                    }
                }
            })
        };
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        let actual_type = recorder.mime_type();
        let kept = chunks.clone();
        let on_stop = Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = self.session.try_update_value(Option::take).flatten() {
                s.release();
            }
            self.state.set(RecState::Idle);
            let parts = Array::new();
            for b in kept.borrow().iter() {
                parts.push(b);
            }
            let bag = BlobPropertyBag::new();
            bag.set_type(&actual_type);
            let ext = if actual_type.contains("mp4") {
                "m4a"
            } else if actual_type.contains("ogg") {
                "ogg"
            } else {
                "webm"
            };
            match Blob::new_with_blob_sequence_and_options(&parts, &bag) {
                Ok(blob) if blob.size() > 0.0 => {
                    leptos::task::spawn_local(async move {
                        match JsFuture::from(blob.array_buffer()).await {
                            Ok(buf) => done.run((format!("recording.{ext}"), buf.unchecked_into())),
                            Err(e) => failed.run(js_message(&e)),
                        }
                    });
                }
                _ => failed.run("the recording is empty; try again".into()),
            }
        });
        recorder.set_onstop(Some(on_stop.as_ref().unchecked_ref()));

        let perf = window.performance().ok_or("no performance clock")?;
        let t0 = perf.now();
        let live_ctx: Option<CanvasRenderingContext2d> = live.as_ref().and_then(|c| {
            c.set_width(300);
            c.set_height(64);
            c.get_context("2d").ok().flatten()?.dyn_into().ok()
        });
        let tick = {
            let analyser = analyser.clone();
            let chunks = chunks.clone();
            let mime = recorder.mime_type();
            let mut handed = 0.0;
            Closure::<dyn FnMut()>::new(move || {
                let seconds = (perf.now() - t0) / 1000.0;
                if let Some(cb) = rolling {
                    if seconds - handed >= ROLLING_EVERY_S && !chunks.borrow().is_empty() {
                        handed = seconds;
                        hand_over(&chunks.borrow(), &mime, seconds, cb);
                    }
                }
                let level_db = level(&analyser);
                self.state.set(RecState::Recording { seconds, level_db });
                if let (Some(ctx), Some(c)) = (&live_ctx, &live) {
                    draw_column(ctx, c, &analyser);
                }
                if seconds >= MAX_SECONDS {
                    self.stop();
                }
            })
        };
        let interval = window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                50,
            )
            .map_err(|e| js_message(&e))?;
        match rolling {
            Some(_) => recorder.start_with_time_slice(SLICE_MS),
            None => recorder.start(),
        }
        .map_err(|e| js_message(&e))?;
        self.state.set(RecState::Recording {
            seconds: 0.0,
            level_db: -100.0,
        });
        self.session.set_value(Some(Rc::new(Session {
            recorder,
            stream,
            context,
            interval,
            _tick: tick,
            _data: on_data,
            _stop: on_stop,
        })));
        Ok(())
    }
}

/// Hands the recording so far (`chunks` joined into one file of type `mime`) to `cb` with the
/// seconds recorded.
fn hand_over(chunks: &[Blob], mime: &str, seconds: f64, cb: Callback<(js_sys::ArrayBuffer, f64)>) {
    let parts = Array::new();
    for b in chunks {
        parts.push(b);
    }
    let bag = BlobPropertyBag::new();
    bag.set_type(mime);
    let Ok(blob) = Blob::new_with_blob_sequence_and_options(&parts, &bag) else {
        return;
    };
    leptos::task::spawn_local(async move {
        if let Ok(buf) = JsFuture::from(blob.array_buffer()).await {
            cb.run((buf.unchecked_into(), seconds));
        }
    });
}

/// The RMS level of the analyser's current window in dBFS.
fn level(analyser: &AnalyserNode) -> f64 {
    let mut buf = vec![0f32; analyser.fft_size() as usize];
    analyser.get_float_time_domain_data(&mut buf);
    let ms = buf.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / buf.len().max(1) as f64;
    if ms > 0.0 {
        (10.0 * ms.log10()).max(-100.0)
    } else {
        -100.0
    }
}

/// Scrolls the live spectrogram one pixel left and draws the newest spectrum on the right.
fn draw_column(
    ctx: &CanvasRenderingContext2d,
    canvas: &HtmlCanvasElement,
    analyser: &AnalyserNode,
) {
    let (w, h) = (canvas.width() as f64, canvas.height() as usize);
    let _ = ctx.draw_image_with_html_canvas_element(canvas, -2.0, 0.0);
    let mut bins = vec![0u8; analyser.frequency_bin_count() as usize];
    analyser.get_byte_frequency_data(&mut bins);
    // The lower half of the bins (up to a quarter of the context's rate, ~12 kHz) in `h` rows.
    let used = (bins.len() / 2).max(h);
    for row in 0..h {
        let a = row * used / h;
        let b = ((row + 1) * used / h).max(a + 1).min(bins.len());
        let v = bins[a..b].iter().map(|x| f32::from(*x)).sum::<f32>() / (b - a) as f32 / 255.0;
        let [r, g, bl] = colour(v);
        ctx.set_fill_style_str(&format!("rgb({r},{g},{bl})"));
        ctx.fill_rect(w - 2.0, (h - 1 - row) as f64, 2.0, 1.0);
    }
}
