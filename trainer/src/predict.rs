//! `acula predict`: screens recordings with a model bundle, running the same `core` pipeline as the
//! browser (quality check, chunking, embedding, task scores, similar reports).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use acula_core::audio::DecodeLimits;
use acula_core::screen::{ScreenOptions, Screener, Screening};
use acula_core::RecordingKind;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use serde::Serialize;

use crate::Failure;

/// `--recording`: one of [`RecordingKind::ALL`] by id, listed in `--help` and in clap's error.
pub fn recording_kind() -> impl TypedValueParser<Value = RecordingKind> {
    PossibleValuesParser::new(RecordingKind::ALL.map(RecordingKind::id))
        .map(|id| RecordingKind::from_id(&id).unwrap_or(RecordingKind::Cough))
}

/// Arguments of `acula predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A).
    #[arg(required = true)]
    pub audio: Vec<PathBuf>,
    /// Model bundle folder (`acula export`).
    #[arg(long, default_value = "www/models/default")]
    pub bundle: PathBuf,
    /// What the recordings are; only the bundle's tasks for that kind are scored (default: all).
    #[arg(long, value_parser = recording_kind())]
    pub recording: Option<RecordingKind>,
    /// How many similar reports per recording.
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    /// Print one JSON array (one object per input file, in input order) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = crate::backend::Backend::Flex)]
    pub backend: crate::backend::Backend,
    /// Refuse audio files larger than this many megabytes (MiB), before reading them.
    #[arg(long, default_value_t = crate::decode::MAX_AUDIO_MB)]
    pub max_mb: u64,
    /// Your own labels, comma-separated ("wheezes, crackles, normal breath sounds"): each recording
    /// is scored against them in the joint space (zero-shot; no head was trained for them).
    #[arg(long)]
    pub labels: Option<String>,
    /// Folder with the bundle's sentence encoder for `--labels` (default: the model cache).
    #[arg(long)]
    pub teacher_dir: Option<PathBuf>,
    /// Also measure what drove each score, by occlusion: per screened cough (or per second of an
    /// analysed stretch) the score minus the score with that part silenced (one more encoder pass
    /// per part). Printed, and `contributions` in the JSON.
    #[arg(long)]
    pub contributions: bool,
}

/// The labels' joint vectors, computed once for all files.
struct LabelQuestion {
    tower: crate::search::TextTower,
    labels: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

/// A task score as printed.
#[derive(Serialize)]
struct ScoreOut {
    name: String,
    score: f32,
    label: String,
    probabilities: BTreeMap<String, f32>,
    /// Whether `score` is a calibrated probability ("estimated probability") or only a score.
    calibrated: bool,
    /// The bundle's held-out AUROC for the task.
    test_auroc: Option<f64>,
    /// Its bootstrap 95 % interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    test_interval: Option<[f64; 2]>,
    /// The held-out AUROC within each recording channel (where the label goes with the channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    test_auroc_by_group: Option<BTreeMap<String, Option<f64>>>,
    /// What the groups are (`recording channel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    group_by: Option<String>,
    synthetic: bool,
    /// Trained on synthetic recordings only: a research task, not a screening result.
    research: bool,
}

/// One file's result as printed with `--json`.
#[derive(Serialize)]
struct FileOut {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// `ok`, the quality verdict (`too_quiet`, …) or `unfamiliar` (unlike the training recordings
    /// of the kind: no score).
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<String>,
    /// Why there is no score, in words (quality or familiarity).
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<acula_core::quality::Quality>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    familiarity: Vec<acula_core::bundle::Familiarity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunks: Option<Vec<acula_core::screen::ChunkSpan>>,
    /// The coughs found (a cough recording) or the analysed stretches, seconds from the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<acula_core::screen::Segment>>,
    /// `--contributions`: what drove each score, per part of the recording.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contributions: Vec<acula_core::screen::Contribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scores: Option<BTreeMap<String, ScoreOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reports: Option<Vec<acula_core::screen::SimilarReport>>,
    /// `--labels`: the zero-shot scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<acula_core::language::LabelAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
}

/// Why one file has no screening (reported for that file; the others go on).
#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error(transparent)]
    Read(#[from] crate::decode::ReadAudioError),
    #[error(transparent)]
    Decode(#[from] acula_core::AudioError),
    #[error(transparent)]
    Screen(#[from] acula_core::Error),
}

fn screen_file(
    s: &Screener,
    path: &std::path::Path,
    opts: &ScreenOptions,
    max_mb: u64,
    contributions: bool,
) -> Result<Screening, FileError> {
    let bytes = crate::decode::read_audio(path, max_mb)?;
    let hint = path.extension().and_then(|e| e.to_str());
    let decoded = acula_core::audio::decode(&bytes, hint, &DecodeLimits::default())?;
    let mut sc = s.screen(&decoded.samples, decoded.sample_rate, opts)?;
    if contributions {
        sc.contributions = s.contributions(&decoded.samples, decoded.sample_rate, &sc, opts)?;
    }
    Ok(sc)
}

/// Runs `acula predict`.
pub fn run(args: &PredictArgs) -> Result<(), Failure> {
    let labels = match &args.labels {
        Some(text) => Some(
            acula_core::language::parse_labels(text)
                .map_err(|e| Failure::usage(format!("--labels: {e}")))?,
        ),
        None => None,
    };
    let bundle = crate::bundle_dir::BundleDir::new(&args.bundle).read()?;
    let device = args.backend.device()?;
    let screener = Screener::new(&bundle, &device)
        .map_err(|e| Failure::input(format!("{}: {e}", args.bundle.display())))?;
    let question = match labels {
        Some(labels) => {
            let tower = crate::search::TextTower::load(
                &bundle,
                &args.bundle,
                args.teacher_dir.as_deref(),
                &device,
            )?;
            let prompts = tower.language.prompts(args.recording, &labels);
            let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
            let vectors = tower.embed(&refs)?;
            Some(LabelQuestion {
                tower,
                labels,
                vectors,
            })
        }
        None => None,
    };
    let m = screener.manifest();
    if let Some(r) = args.recording {
        if !m.tasks.iter().any(|t| t.recording == r) {
            tracing::warn!(
                "the bundle has no task for {} recordings; only similar reports are shown",
                r.id()
            );
        }
    }
    let opts = ScreenOptions {
        recording: args.recording,
        top_k: args.top_k,
    };
    let mut out = Vec::new();
    let mut failed = 0usize;
    for path in &args.audio {
        let t0 = Instant::now();
        let file = path.display().to_string();
        let result = screen_file(&screener, path, &opts, args.max_mb, args.contributions);
        let seconds = t0.elapsed().as_secs_f64();
        let o = match result {
            Ok(sc) => {
                // With a claimed kind, its own sentence; without one (every kind checked), one line
                // naming the kinds the recording was not scored as.
                let unfamiliar: Vec<String> = match args.recording {
                    Some(_) => sc.unfamiliar().map(|f| f.message()).collect(),
                    None => {
                        let kinds: Vec<&str> = sc.unfamiliar().map(|f| f.recording.id()).collect();
                        if kinds.is_empty() {
                            Vec::new()
                        } else {
                            vec![format!(
                                "Not scored as {} recordings: it is unlike those the model was trained on for those tasks.",
                                kinds.join(" or ")
                            )]
                        }
                    }
                };
                let (verdict, message) = if !sc.quality.is_ok() {
                    let v = serde_json::to_value(sc.quality.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string));
                    (v, Some(sc.quality.message.clone()))
                } else if !unfamiliar.is_empty() && sc.scores.is_empty() {
                    (Some("unfamiliar".to_string()), Some(unfamiliar.join(" ")))
                } else {
                    (
                        Some("ok".to_string()),
                        (!unfamiliar.is_empty()).then(|| unfamiliar.join(" ")),
                    )
                };
                let labels = match &question {
                    Some(q) if sc.quality.is_ok() => Some(
                        q.tower
                            .language
                            .answer(&sc, args.recording, &q.labels, &q.vectors)
                            .map_err(|e| Failure::input(format!("{file}: {e}")))?,
                    ),
                    _ => None,
                };
                let scores = sc
                    .scores
                    .into_iter()
                    .map(|s| {
                        let spec = m.tasks.iter().find(|t| t.id == s.task);
                        (
                            s.task.clone(),
                            ScoreOut {
                                name: spec.map(|t| t.name.clone()).unwrap_or_default(),
                                score: s.score,
                                label: s.label,
                                probabilities: s.probabilities,
                                calibrated: s.calibrated,
                                test_auroc: spec.and_then(|t| t.metrics.as_ref()?.test_auroc),
                                test_interval: spec.and_then(|t| t.metrics.as_ref()?.test_interval),
                                test_auroc_by_group: spec
                                    .and_then(|t| t.metrics.as_ref()?.test_by_group.as_ref())
                                    .map(|g| g.iter().map(|(k, v)| (k.clone(), v.auroc)).collect()),
                                group_by: spec.and_then(|t| t.metrics.as_ref()?.group_by.clone()),
                                synthetic: spec.is_some_and(|t| t.synthetic),
                                research: s.research,
                            },
                        )
                    })
                    .collect();
                FileOut {
                    file,
                    error: None,
                    verdict,
                    message,
                    quality: Some(sc.quality),
                    familiarity: sc.familiarity,
                    chunks: Some(sc.chunks),
                    segments: Some(sc.segments),
                    contributions: sc.contributions,
                    scores: Some(scores),
                    reports: Some(sc.reports),
                    labels,
                    seconds: Some(seconds),
                }
            }
            Err(e) => {
                failed += 1;
                FileOut {
                    file,
                    error: Some(e.to_string()),
                    verdict: None,
                    message: None,
                    quality: None,
                    familiarity: Vec::new(),
                    chunks: None,
                    segments: None,
                    contributions: Vec::new(),
                    scores: None,
                    reports: None,
                    labels: None,
                    seconds: None,
                }
            }
        };
        if !args.json {
            print_text(&o);
        }
        out.push(o);
    }
    if args.json {
        let json =
            serde_json::to_string_pretty(&out).map_err(|e| Failure::output(e.to_string()))?;
        println!("{json}");
    } else {
        println!("{}", m.intended_use);
    }
    if failed > 0 {
        return Err(Failure::input(format!(
            "{failed} of {} files could not be screened (see above)",
            args.audio.len()
        )));
    }
    Ok(())
}

/// The score as people read it: an estimated probability when calibrated, else a bare score.
fn score_words(s: &ScoreOut) -> String {
    if s.calibrated {
        format!("estimated probability {:.0} %", 100.0 * s.score)
    } else {
        format!("score {:.3}", s.score)
    }
}

/// How good the score is, from the manifest: held-out AUROC, its interval, within each channel;
/// and the research-task mark.
fn quality_words(s: &ScoreOut) -> String {
    let mut out = String::new();
    if let Some(a) = s.test_auroc {
        out.push_str(&format!(", held-out AUROC {a:.2}"));
        if let Some([lo, hi]) = s.test_interval {
            out.push_str(&format!(" [{lo:.2}, {hi:.2}]"));
        }
    }
    if let Some(g) = &s.test_auroc_by_group {
        let within: Vec<String> = g
            .iter()
            .map(|(k, v)| format!("{k} {}", v.map_or("n/a".into(), |a| format!("{a:.2}"))))
            .collect();
        let by = s.group_by.as_deref().unwrap_or("group");
        out.push_str(&format!("; within {by}: {}", within.join(", ")));
    }
    if s.research {
        out.push_str("; research task, trained on synthetic sounds only");
    }
    out
}

fn print_text(o: &FileOut) {
    println!("{}", o.file);
    if let Some(e) = &o.error {
        println!("  error: {e}");
        println!();
        return;
    }
    if let Some(q) = &o.quality {
        if !q.is_ok() {
            // The verdict's id, as in the JSON (`too_short`, `no_cough`).
            let id = serde_json::to_value(q.verdict)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            println!("  quality: {id} — {}", q.message);
            println!();
            return;
        }
        println!(
            "  quality: ok ({:.1} s, loud parts at {:.0} dBFS)",
            q.seconds, q.active_dbfs
        );
    }
    let coughs: Vec<String> = o
        .segments
        .iter()
        .flatten()
        .filter(|s| s.kind == acula_core::screen::SegmentKind::Cough)
        .map(|s| format!("{:.2}–{:.2} s", s.start, s.end))
        .collect();
    if !coughs.is_empty() {
        println!("  coughs found ({}): {}", coughs.len(), coughs.join(", "));
    }
    if o.verdict.as_deref() == Some("unfamiliar") {
        println!("  unfamiliar: {}", o.message.as_deref().unwrap_or_default());
    } else if let Some(m) = &o.message {
        println!("  note: {m}");
    }
    if let Some(scores) = &o.scores {
        for (id, s) in scores {
            println!(
                "  {id:<26} {}  ({}{})",
                score_words(s),
                s.name,
                quality_words(s)
            );
        }
    }
    for c in &o.contributions {
        let parts: Vec<String> = c
            .scores
            .iter()
            .map(|(task, d)| format!("{task} {d:+.3}"))
            .collect();
        println!(
            "  contribution of {:.2}–{:.2} s: {}",
            c.start,
            c.end,
            parts.join(", ")
        );
    }
    if let Some(reports) = &o.reports {
        for (i, r) in reports.iter().enumerate() {
            println!("  report {} ({:.3}): {}", i + 1, r.similarity, r.text);
        }
    }
    if let Some(l) = &o.labels {
        println!("  your labels (as \"{}\"): {}", l.template, l.note);
        if let Some(w) = &l.withheld {
            println!("    not scored: {w}");
        }
        for s in &l.scores {
            println!(
                "    {:<30} {:>5.1} %  (similarity {:.3})",
                s.label,
                100.0 * s.probability,
                s.similarity
            );
        }
    }
    println!();
}
