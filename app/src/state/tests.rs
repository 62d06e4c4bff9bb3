use super::*;

use acula_core::bundle::Manifest;
use acula_core::Features;
use serde_json::json;

/// The default bundle's manifest: tasks for cough, lung and heart recordings, six examples.
fn manifest() -> Manifest {
    serde_json::from_str(include_str!("../../../www/models/default/manifest.json")).unwrap()
}

fn ready_with(
    manifest: Manifest,
    backend: &str,
    adapter: Option<&str>,
    downloaded: u64,
) -> ModelState {
    ModelState::Ready(Box::new(Loaded {
        manifest,
        backend: BackendChoice::parse(backend).expect("a backend"),
        adapter: adapter.map(String::from),
        webgpu_available: true,
        note: None,
        downloaded,
        from_cache: 0,
        not_kept: None,
        load_ms: 1234.0,
    }))
}

fn ready(backend: &str) -> ModelState {
    ready_with(manifest(), backend, None, 0)
}

/// A model whose tasks are all for cough recordings.
fn coughs_only() -> ModelState {
    let mut m = manifest();
    m.tasks.retain(|t| t.recording == RecordingKind::Cough);
    assert!(!m.tasks.is_empty());
    ready_with(m, "cpu", None, 0)
}

fn analysis(name: &str) -> Arc<Analysis> {
    Arc::new(Analysis {
        name: name.into(),
        bytes: 3200,
        info: None,
        channels: 1,
        decoded_rate: 16_000,
        duration_s: 0.1,
        features: Some(Features {
            frames: 0,
            n_mels: 64,
            data: Vec::new(),
        }),
        front_end_ms: 1.0,
        mono: vec![0.25; 1600],
    })
}

fn screened(id: u32) -> Outcome {
    let screening: Screening = serde_json::from_value(json!({
        "quality": {"verdict": "ok", "message": "fine", "seconds": 1.0, "peak_dbfs": -6.0,
                    "active_dbfs": -20.0, "clipped_fraction": 0.0},
        "chunks": [{"start_s": 0.0, "end_s": 1.0}],
        "scores": [],
        "reports": []
    }))
    .unwrap();
    Outcome {
        id,
        result: Ok((screening, 42.0)),
    }
}

/// Asks for the due screening and marks it sent with `id`; panics when none is due.
fn send(page: &mut PageState, model: &ModelState, id: u32) -> ScreenRequest {
    let request = page.screen_due(model).expect("a screening is due");
    page.screen_sent(&request, id);
    request
}

#[test]
fn query_parameters_are_read_as_the_page_documents_them() {
    let q = Query::parse(|name| match name {
        "bundle" => Some("models/other/".into()),
        "backend" => Some("gpu".into()),
        "conference" => Some("1".into()),
        "recording" => Some("lung".into()),
        _ => None,
    });
    assert_eq!(q.bundle.as_deref(), Some("models/other/"));
    assert_eq!(q.backend, BackendChoice::Webgpu);
    assert!(q.conference);
    assert_eq!(q.recording, Some(RecordingKind::Lung));

    let q = Query::parse(|name| match name {
        "backend" => Some("quantum".into()),
        "conference" => Some("0".into()),
        "recording" => Some("snore".into()),
        _ => None,
    });
    assert_eq!(q.bundle, None);
    assert_eq!(q.backend, BackendChoice::Auto);
    assert!(!q.conference);
    assert_eq!(q.recording, None);

    let q = Query::parse(|name| (name == "conference").then(String::new));
    assert!(q.conference, "?conference (no value) turns it on");
}

#[test]
fn human_bytes_switches_to_megabytes_at_one_million() {
    assert_eq!(human_bytes_in(Lang::En, 12_345), "12 kB");
    assert_eq!(human_bytes_in(Lang::En, 999_999), "1,000 kB");
    assert_eq!(human_bytes_in(Lang::Ru, 9_216_000), "9,2 МБ");
    assert_eq!(human_bytes_in(Lang::En, 1_000_000), "1.0 MB");
    assert_eq!(human_bytes_in(Lang::En, 9_216_000), "9.2 MB");
}

#[test]
fn the_kind_is_needed_unless_every_task_is_for_one_kind() {
    assert!(ready("cpu").needs_kind());
    assert!(!coughs_only().needs_kind());
    assert!(ModelState::Starting.needs_kind());
    assert!(ModelState::Failed("x".into()).needs_kind());
}

#[test]
fn the_model_line_says_name_backend_source_and_time() {
    // The committed bundle's version changes with the bundle; the line quotes it.
    let version = manifest().version;
    assert_eq!(
        ready_with(manifest(), "webgpu", Some("Intel Arc"), 9_216_000).line(Lang::En),
        format!("Model acula-default {version} · runs on WebGPU (Intel Arc) · downloaded 9.2 MB · ready in 1.2 s")
    );
    assert_eq!(
        ready("cpu").line(Lang::En),
        format!("Model acula-default {version} · runs on CPU (WebAssembly) · from this device's cache · ready in 1.2 s")
    );
    assert_eq!(
        ModelState::Starting.line(Lang::En),
        "Starting the analyser…"
    );
    assert_eq!(
        ModelState::Failed("HTTP 404".into()).line(Lang::En),
        "The model could not be loaded: HTTP 404"
    );
    let loading = ModelState::Loading {
        message: "Downloading the model…".into(),
        loaded: 5,
        total: 10,
    };
    assert_eq!(loading.line(Lang::En), "Downloading the model…");
    assert_eq!(loading.progress(), Some((5, 10)));
    let unknown_size = ModelState::Loading {
        message: "Checking".into(),
        loaded: 0,
        total: 0,
    };
    assert_eq!(unknown_size.progress(), None);
    assert_eq!(ready("cpu").examples().len(), 6);
    assert!(ModelState::Starting.examples().is_empty());
}

#[test]
fn a_file_over_200_mb_is_refused_with_its_size() {
    let mut page = PageState::new(None);
    assert!(!page.file_chosen("big.wav", 200_000_001, Lang::En));
    assert_eq!(
        &page.stage,
        &Stage::Failed(
            "big.wav is 200.0 MB; the page takes files up to 200 MB (about 10 minutes of uncompressed audio)"
                .into()
        )
    );
    assert!(page.file_chosen("ok.wav", 200_000_000, Lang::En));
    assert_eq!(&page.stage, &Stage::Decoding("ok.wav".into()));
    assert!(page.busy());
}

#[test]
fn a_recording_is_screened_once_model_and_kind_are_there() {
    let mut page = PageState::new(None);
    page.decoding("a.wav");
    page.decoded(analysis("a.wav"));
    assert_eq!(&page.stage, &Stage::Decoded);
    assert!(!page.busy());

    let loading = ModelState::Loading {
        message: "Downloading".into(),
        loaded: 0,
        total: 0,
    };
    assert!(page.screen_due(&loading).is_none(), "no model yet");
    assert_eq!(
        page.status(&loading, Lang::En).text,
        "The recording is ready; waiting for the model…"
    );

    let model = ready("cpu");
    assert!(page.screen_due(&model).is_none(), "the kind is needed");
    assert_eq!(
        page.status(&model, Lang::En),
        Status {
            text: "Say what the recording is (above) to analyse it.".into(),
            error: false
        }
    );

    page.kind_chosen(RecordingKind::Lung);
    let request = send(&mut page, &model, 1);
    assert_eq!(request.kind, Some(RecordingKind::Lung));
    assert_eq!(request.analysis.name, "a.wav");
    assert_eq!(&page.stage, &Stage::Screening);
    assert_eq!(page.pending, Some(1));
    assert!(page.busy());
    assert_eq!(
        page.status(&model, Lang::En).text,
        "Analysing the recording…"
    );
    assert!(page.screen_due(&model).is_none(), "asked once");

    assert!(
        !page.outcome_received(screened(7)),
        "not the latest request"
    );
    assert_eq!(&page.stage, &Stage::Screening);
    assert!(page.outcome().is_none());

    assert!(page.outcome_received(screened(1)));
    assert_eq!(&page.stage, &Stage::Done);
    assert_eq!(page.outcome().map(|o| o.id), Some(1));
    assert_eq!(
        page.status(&model, Lang::En).text,
        "Analysis finished: results below."
    );
    assert!(page.screen_due(&model).is_none());
}

#[test]
fn a_new_kind_or_backend_screens_the_recording_again() {
    let mut page = PageState::new(Some(RecordingKind::Cough));
    page.decoded(analysis("a.wav"));
    send(&mut page, &ready("cpu"), 1);
    assert!(page.outcome_received(screened(1)));

    page.kind_chosen(RecordingKind::Heart);
    let again = send(&mut page, &ready("cpu"), 2);
    assert_eq!(again.kind, Some(RecordingKind::Heart));
    assert!(
        page.outcome().is_none(),
        "the older answer is no longer shown"
    );

    let gpu = ready("webgpu");
    let again = send(&mut page, &gpu, 3);
    assert_eq!(again.kind, Some(RecordingKind::Heart));
    assert_eq!(page.pending, Some(3));
    assert!(page.screen_due(&gpu).is_none());
}

#[test]
fn asking_what_drove_the_scores_screens_again_with_contributions() {
    let mut page = PageState::new(Some(RecordingKind::Cough));
    page.decoded(analysis("a.wav"));
    let model = ready("cpu");
    let first = send(&mut page, &model, 1);
    assert!(!first.contributions && !page.explain());
    assert!(page.outcome_received(screened(1)));
    page.set_explain(true);
    let again = send(&mut page, &model, 2);
    assert!(again.contributions);
    assert!(page.screen_due(&model).is_none(), "asked once");
    // It holds for the next recording; switching it off screens again without.
    page.decoded(analysis("b.wav"));
    assert!(send(&mut page, &model, 3).contributions);
    page.set_explain(false);
    assert!(!send(&mut page, &model, 4).contributions);
}

#[test]
fn a_single_kind_model_screens_without_a_kind_but_a_new_kind_still_screens_again() {
    let model = coughs_only();
    let mut page = PageState::new(None);
    page.decoded(analysis("a.wav"));
    assert_eq!(send(&mut page, &model, 1).kind, None);
    page.kind_chosen(RecordingKind::Cough);
    assert_eq!(send(&mut page, &model, 2).kind, None);
    assert!(page.screen_due(&model).is_none());
}

#[test]
fn each_decode_is_a_new_recording_and_the_old_results_stay_until_it_is_screened() {
    let model = ready("cpu");
    let mut page = PageState::new(Some(RecordingKind::Lung));
    page.decoded(analysis("a.wav"));
    send(&mut page, &model, 1);
    assert!(page.outcome_received(screened(1)));

    page.decoding("a.wav");
    assert!(page.recording().is_none());
    assert!(
        page.screen_due(&model).is_none(),
        "nothing to screen while decoding"
    );
    assert_eq!(page.outcome().map(|o| o.id), Some(1));
    assert_eq!(page.status(&model, Lang::En).text, "Reading a.wav…");

    page.decoded(analysis("a.wav"));
    assert_eq!(page.recording().map(|d| d.serial), Some(2));
    send(&mut page, &model, 2);
    assert!(page.outcome().is_none());
}

#[test]
fn decoded_recordings_are_equal_only_by_serial_number() {
    let a = analysis("a.wav");
    let one = Decoded {
        serial: 1,
        analysis: a.clone(),
    };
    let two = Decoded {
        serial: 2,
        analysis: a,
    };
    let other = Decoded {
        serial: 1,
        analysis: analysis("b.wav"),
    };
    assert_ne!(one, two);
    assert_eq!(one, other);
}

#[test]
fn a_failed_screening_is_an_error_line() {
    let model = ready("cpu");
    let mut page = PageState::new(Some(RecordingKind::Cough));
    page.decoded(analysis("a.wav"));
    send(&mut page, &model, 5);
    assert!(page.outcome_received(Outcome {
        id: 5,
        result: Err("the analyser ran out of memory".into()),
    }));
    assert_eq!(
        &page.stage,
        &Stage::Failed("the analyser ran out of memory".into())
    );
    assert_eq!(
        page.status(&model, Lang::En),
        Status {
            text: "Could not analyse the recording: the analyser ran out of memory".into(),
            error: true
        }
    );
}

#[test]
fn the_status_line_puts_the_recording_first_then_the_model() {
    let failed_model = ModelState::Failed("HTTP 404".into());
    let mut page = PageState::new(None);
    assert_eq!(
        page.status(&failed_model, Lang::En),
        Status {
            text: "The model could not be loaded: HTTP 404".into(),
            error: true
        }
    );
    assert_eq!(
        page.status(&ModelState::Starting, Lang::En).text,
        "Starting the analyser…"
    );
    assert_eq!(
        page.status(&ready("cpu"), Lang::En).text,
        "Ready. Record or choose a recording."
    );
    let downloading = ModelState::Loading {
        message: "Downloading the model…".into(),
        loaded: 1_500_000,
        total: 3_000_000,
    };
    assert_eq!(
        page.status(&downloading, Lang::En).text,
        "Downloading the model… 1.5 MB of 3.0 MB (50 %)"
    );
    let checking = ModelState::Loading {
        message: "Checking the model…".into(),
        loaded: 0,
        total: 0,
    };
    assert_eq!(page.status(&checking, Lang::En).text, "Checking the model…");

    page.failed("the microphone is blocked".into());
    assert_eq!(
        page.status(&failed_model, Lang::En),
        Status {
            text: "Could not analyse the recording: the microphone is blocked".into(),
            error: true
        }
    );
    page.decoding("a.wav");
    assert_eq!(page.status(&failed_model, Lang::En).text, "Reading a.wav…");
    assert!(!page.status(&failed_model, Lang::En).error);
}

#[test]
fn an_example_sets_its_kind_and_shows_its_title() {
    let example = manifest().examples[0].clone();
    let mut page = PageState::new(Some(RecordingKind::Heart));
    page.example_chosen(&example);
    assert_eq!(page.kind(), Some(example.recording));
    assert_eq!(&page.stage, &Stage::Decoding(example.title.clone()));
    assert!(page.busy());
}

#[test]
fn the_text_model_line_says_what_happens_and_where_it_runs() {
    assert_eq!(TextModel::Idle.line(Lang::En), None);
    assert_eq!(TextModel::Idle.progress(), None);
    let loading = TextModel::Loading {
        message: "Downloading the text model…".into(),
        loaded: 5,
        total: 10,
    };
    assert!(loading.loading());
    assert_eq!(loading.progress(), Some((5, 10)));
    assert_eq!(
        loading.line(Lang::En).as_deref(),
        Some("Downloading the text model…")
    );
    let ready = |backend, downloaded| {
        TextModel::Ready(crate::protocol::TextLoaded {
            backend,
            downloaded,
            from_cache: 0,
            load_ms: 2500.0,
        })
        .line(Lang::En)
        .unwrap()
    };
    assert_eq!(
        ready(BackendChoice::Cpu, 47_000_000),
        "Text model all-MiniLM-L6-v2 · runs on the CPU (WebAssembly) · downloaded 47.0 MB · ready in 2.5 s"
    );
    assert!(ready(BackendChoice::Webgpu, 0).contains("runs on WebGPU · from this device's cache"));
    let failed = TextModel::Failed("model.safetensors is damaged".into());
    assert!(!failed.loading());
    assert_eq!(
        failed.line(Lang::En).as_deref(),
        Some("The text model could not be loaded: model.safetensors is damaged")
    );
}

#[test]
fn a_text_answer_knows_its_request() {
    let a = TextAnswer::Failed {
        id: 7,
        message: "x".into(),
    };
    assert_eq!(a.id(), 7);
}

#[test]
fn the_status_line_speaks_the_page_language() {
    let page = PageState::new(None);
    assert_eq!(
        page.status(&ready("cpu"), Lang::Ru).text,
        "Готово. Запишите звук или выберите запись."
    );
    // The analyser's progress lines are catalogue keys; anything else is shown as it is.
    let checking = ModelState::Loading {
        message: "progress.verifying".into(),
        loaded: 0,
        total: 0,
    };
    assert_eq!(page.status(&checking, Lang::Ru).text, "Проверка модели…");
    assert_eq!(
        page.status(&checking, Lang::En).text,
        "Verifying the model…"
    );
    let mut big = PageState::new(None);
    assert!(!big.file_chosen("big.wav", 300_000_000, Lang::Ru));
    assert_eq!(
        big.status(&ready("cpu"), Lang::Ru).text,
        "Не удалось проанализировать запись: big.wav: 300,0 МБ; страница принимает файлы до 200 МБ (около 10 минут несжатого звука)"
    );
}
