//! `acula features`: audio files → the front end's (frames, 64) float32 matrices as `.npy`, one file
//! (`--out`) or a batch (`--out-dir`, files and folders, planned once and run on every core).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use acula_core::audio::DecodeLimits;
use acula_core::{FrontEnd, FrontEndConfig, ProcessOptions};
use anyhow::{Context, Result};
use clap::Args;

use crate::{npy, output, Failure};

/// Arguments of `acula features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Audio files or folders: WAV, FLAC, MP3, Ogg Vorbis or AAC/M4A, any sample rate and channel
    /// count. A folder stands for every audio file under it (by extension, sorted).
    #[arg(required = true)]
    pub audio: Vec<PathBuf>,
    /// Output `.npy` file for one audio file; written only if everything succeeds.
    #[arg(
        long,
        short,
        conflicts_with = "out_dir",
        required_unless_present = "out_dir"
    )]
    pub out: Option<PathBuf>,
    /// Output folder for a batch: `NAME.npy` per audio file (a file found in a folder keeps its path
    /// below that folder). The front end is planned once for all files.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Files processed at once with --out-dir (default: one per core; each file then uses one thread).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Trim leading and trailing silence first (librosa `effects.trim`, top 60 dB).
    #[arg(long)]
    pub trim: bool,
    /// Repeat-pad a clip shorter than one chunk (256 frames) up to one chunk.
    #[arg(long)]
    pub pad: bool,
    /// Write (chunks, 256, 64) encoder chunks instead of (frames, 64); a short last chunk is filled by
    /// repeating its frames, a last piece under 16 frames is dropped.
    #[arg(long)]
    pub chunk: bool,
    /// Front-end configuration (JSON); missing keys take the reference values (`acula config`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Refuse recordings longer than this many seconds.
    #[arg(long, default_value_t = DecodeLimits::default().max_seconds)]
    pub max_seconds: u32,
    /// Refuse files larger than this many megabytes (MiB), before reading them.
    #[arg(long, default_value_t = crate::decode::MAX_AUDIO_MB)]
    pub max_mb: u64,
}

/// File extensions taken from a folder.
const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "wave",
];

/// Reads a front-end configuration file, or the reference configuration when none is given.
pub fn load_config(path: Option<&Path>) -> Result<FrontEndConfig, Failure> {
    let Some(path) = path else {
        return Ok(FrontEndConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the config {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("the config {} is not valid: {e}", path.display())))
}

/// Runs `acula features`.
pub fn run(args: &FeaturesArgs) -> Result<(), Failure> {
    let cfg = load_config(args.config.as_deref())?;
    let front_end = FrontEnd::new(cfg).map_err(|e| Failure::usage(e.to_string()))?;
    let opts = ProcessOptions {
        trim: args.trim,
        pad: args.pad,
    };
    let limits = DecodeLimits {
        max_seconds: args.max_seconds,
    };
    let job = Job {
        front_end,
        opts,
        limits,
        chunk: args.chunk,
        max_mb: args.max_mb,
    };
    match (&args.out, &args.out_dir) {
        (Some(out), None) => {
            let [audio] = args.audio.as_slice() else {
                return Err(Failure::usage(format!(
                    "--out takes one audio file, got {}; for several, use --out-dir DIR",
                    args.audio.len()
                )));
            };
            if audio.is_dir() {
                return Err(Failure::input(format!(
                    "{} is a folder; for a folder, use --out-dir DIR",
                    audio.display()
                )));
            }
            job.one(audio, out)
        }
        (None, Some(dir)) => {
            let pairs = batch_outputs(&args.audio, dir)?;
            let jobs = args
                .jobs
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1);
            let job = Job {
                front_end: job.front_end.with_threads(1),
                ..job
            };
            job.batch(&pairs, dir, jobs)
        }
        // clap requires exactly one of the two.
        _ => Err(Failure::usage("give --out FILE or --out-dir DIR".into())),
    }
}

/// What every file of a run gets done to it.
struct Job {
    front_end: FrontEnd,
    opts: ProcessOptions,
    limits: DecodeLimits,
    chunk: bool,
    max_mb: u64,
}

impl Job {
    /// One file → one `.npy`; the error names the file.
    fn one(&self, audio: &Path, out: &Path) -> Result<(), Failure> {
        let input = |msg: String| Failure::input(format!("{}: {msg}", audio.display()));
        let bytes =
            crate::decode::read_audio(audio, self.max_mb).map_err(|e| input(e.to_string()))?;
        let hint = audio.extension().and_then(|e| e.to_str());
        let (decoded, processed) = acula_core::features_from_bytes(
            &self.front_end,
            &bytes,
            hint,
            &self.limits,
            &self.opts,
        )
        .map_err(|e| input(e.to_string()))?;
        drop(bytes);
        let f = &processed.features;
        let bytes = if self.chunk {
            let cfg = self.front_end.config();
            let (n, block) = f.chunked(cfg.chunk_frames, cfg.min_chunk_frames);
            npy::encode_f32(&[n, cfg.chunk_frames, f.n_mels], &block)
        } else {
            npy::encode_f32(&[f.frames, f.n_mels], &f.data)
        };
        output::write_atomic(out, &bytes)
            .context("writing the features")
            .map_err(|e| Failure::output(format!("{}: {e:#}", out.display())))?;
        tracing::info!(
            codec = %decoded.codec,
            rate = decoded.sample_rate,
            channels = decoded.channels,
            seconds = decoded.duration_s(),
            frames = f.frames,
            "wrote {}",
            out.display()
        );
        Ok(())
    }

    /// Every (input, output) pair on `jobs` threads, each file on one thread; a file that fails is
    /// reported and the others still written.
    fn batch(&self, pairs: &[(PathBuf, PathBuf)], dir: &Path, jobs: usize) -> Result<(), Failure> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::output(format!("cannot create the folder {}: {e}", dir.display()))
        })?;
        let bar = crate::progress::bar(pairs.len() as u64, "features");
        let next = AtomicUsize::new(0);
        let failures: Mutex<Vec<(usize, Failure)>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..jobs.min(pairs.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((audio, out)) = pairs.get(i) else {
                        break;
                    };
                    // A file's output folder is made when the file is processed (none left empty
                    // behind a failed file); a panic (a bug) fails that file, not the batch.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        if let Some(parent) = out.parent() {
                            std::fs::create_dir_all(parent).map_err(|e| {
                                Failure::output(format!(
                                    "cannot create the folder {}: {e}",
                                    parent.display()
                                ))
                            })?;
                        }
                        self.one(audio, out)
                    }))
                    .unwrap_or_else(|_| {
                        Err(Failure::input(format!(
                            "{}: internal error (a bug: please report it)",
                            audio.display()
                        )))
                    });
                    if let Err(e) = result {
                        let line = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
                        bar.suspend(|| eprintln!("error: {line}"));
                        failures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((i, e));
                    }
                    bar.inc(1);
                });
            }
        });
        bar.finish_and_clear();
        let failures = failures
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = pairs.len() - failures.len();
        tracing::info!("wrote {written} feature files to {}", dir.display());
        match failures.iter().map(|(_, f)| f.code()).max() {
            None => Ok(()),
            Some(code) => {
                let message = format!(
                    "{} of {} files failed (listed above); the other {written} were written to {}",
                    failures.len(),
                    pairs.len(),
                    dir.display()
                );
                // Exit 3 when some output could not be written, else 1 (some input was bad).
                Err(if code == 3 {
                    Failure::output(message)
                } else {
                    Failure::input(message)
                })
            }
        }
    }
}

/// The audio files named by `inputs` (files as given, folders searched) and the `.npy` each is
/// written to under `dir`; two inputs that would write the same file are a usage error.
fn batch_outputs(inputs: &[PathBuf], dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, Failure> {
    let mut pairs = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            find_audio(input, &mut found)?;
            if found.is_empty() {
                return Err(Failure::usage(format!(
                    "no audio files ({}) in the folder {}",
                    AUDIO_EXTENSIONS.join(", "),
                    input.display()
                )));
            }
            for file in found {
                let rel = file
                    .strip_prefix(input)
                    .unwrap_or(&file)
                    .with_extension("npy");
                pairs.push((file, dir.join(rel)));
            }
        } else {
            let stem = input.file_stem().ok_or_else(|| {
                Failure::usage(format!("{} does not name a file", input.display()))
            })?;
            let mut name = stem.to_os_string();
            name.push(".npy");
            pairs.push((input.clone(), dir.join(name)));
        }
    }
    // Compared without case too: on macOS and Windows `A.npy` and `a.npy` are one file.
    let mut seen: HashMap<String, &Path> = HashMap::new();
    for (audio, out) in &pairs {
        let key = out.to_string_lossy().to_lowercase();
        if let Some(other) = seen.insert(key, audio) {
            return Err(Failure::usage(format!(
                "{} and {} would both be written to {}; rename one or run them separately",
                other.display(),
                audio.display(),
                out.display()
            )));
        }
    }
    Ok(pairs)
}

/// Audio files under `folder`, recursively, sorted by path. Symbolic links inside are not followed
/// (a link to a parent folder would otherwise be searched without end).
fn find_audio(folder: &Path, found: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let unreadable = |e: std::io::Error| {
        Failure::input(format!("cannot read the folder {}: {e}", folder.display()))
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let kind = entry.file_type().map_err(unreadable)?;
        entries.push((entry.path(), kind));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in entries {
        if kind.is_symlink() {
            tracing::warn!("skipping the symbolic link {}", path.display());
        } else if kind.is_dir() {
            find_audio(&path, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
    Ok(())
}
