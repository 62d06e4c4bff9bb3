//! `acula bench-model` (hidden): times the encoder's forward pass and one alignment training step on
//! a backend, with given weights and input, for `scripts/bench.sh` and `scripts/gpu_bench.sh`. The
//! PyTorch side of the same measurement is `tests/bench/torch_bench.py`; both read the same
//! safetensors weights (PyTorch names) and the same input, and both report the same checks (the clip
//! embeddings, the first step's loss) so that a ratio compares the same computation.
//!
//! The training step is the alignment objective without the masked-autoencoder term: the encoder on
//! `[batch, 256, 64]` chunks, mean-pooled and normed, the audio head, the text head on fixed teacher
//! embeddings, InfoNCE with a learned temperature, backward, global-norm clipping and AdamW
//! (weight decay 0.01). Dropout is 0 on both sides so that the losses can be compared.
//!
//! Timing: `warmup` untimed repetitions, then `runs` timed ones; each timed repetition runs `inner`
//! forward passes or steps and ends by reading a value back (which waits for a GPU), and counts as
//! its total over `inner`. The median and the minimum are printed as JSON on stdout.

use std::path::PathBuf;
use std::time::Instant;

use acula_core::encoder::{Encoder, EncoderConfig, ProjectionHead};
use acula_core::text::weights::Weights;
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::backend::Backend;
use crate::train::losses::{align_loss, AlignLoss};
use crate::{npy, output, Failure};

/// What to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The encoder's clip embedding of `batch` full chunks (inference, no autodiff).
    Forward,
    /// One alignment training step at `batch`.
    Train,
}

/// Arguments of `acula bench-model`.
#[derive(Debug, Args)]
pub struct BenchModelArgs {
    /// Encoder size: `gt-tiny`, `gt-small` or a JSON file.
    #[arg(long, default_value = "gt-tiny")]
    pub encoder: String,
    /// Weights in the PyTorch layout (safetensors): the encoder, and for training also
    /// `audio_head.fc{1,2}.*`, `text_head.fc{1,2}.*` and `log_scale`.
    #[arg(long)]
    pub weights: PathBuf,
    /// Input chunks, `.npy` float32 `[n, 256, 64]`; the first `batch` are used.
    #[arg(long)]
    pub input: PathBuf,
    /// Teacher embeddings for training, `.npy` float32 `[n, text_dim]`; the first `batch` are used.
    #[arg(long)]
    pub text: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "forward")]
    pub mode: Mode,
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    #[arg(long, value_enum, default_value = "flex")]
    pub backend: Backend,
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Forward passes or steps per timed repetition.
    #[arg(long, default_value_t = 1)]
    pub inner: usize,
    /// Learning rate of the training step (AdamW).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Write the clip embeddings of the batch (forward) to this `.npy`.
    #[arg(long)]
    pub embeddings_out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    mode: Mode,
    encoder: String,
    batch: usize,
    backend: String,
    threads: usize,
    runs: usize,
    inner: usize,
    median_ms: f64,
    min_ms: f64,
    /// The loss of the first step (training) before any update, read in the first repetition
    /// (untimed when `warmup` ≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    first_loss: Option<f64>,
    /// The loss after all steps (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_loss: Option<f64>,
}

/// The trained parts of the benchmark's training step.
#[derive(Module, Debug)]
struct StepModel {
    encoder: Encoder,
    audio_head: ProjectionHead,
    text_head: ProjectionHead,
    log_scale: Param<Tensor<1>>,
}

fn read_npy(path: &PathBuf) -> Result<(Vec<usize>, Vec<f32>), Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
    npy::decode_f32(&bytes).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

fn first_rows(
    path: &PathBuf,
    rows: usize,
    row_shape: &[usize],
) -> Result<(Vec<usize>, Vec<f32>), Failure> {
    let (shape, data) = read_npy(path)?;
    let ok = shape.len() == 1 + row_shape.len()
        && shape[0] >= rows
        && (row_shape.is_empty() || shape[1..] == *row_shape || row_shape.contains(&0));
    if !ok {
        return Err(Failure::input(format!(
            "{}: shape {shape:?}, expected at least {rows} rows of {row_shape:?}",
            path.display()
        )));
    }
    let per: usize = shape[1..].iter().product();
    Ok((shape, data[..rows * per].to_vec()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs `acula bench-model`.
pub fn run(args: &BenchModelArgs) -> Result<(), Failure> {
    if args.batch == 0 || args.runs == 0 || args.inner == 0 {
        return Err(Failure::usage(
            "--batch, --runs and --inner must be at least 1".to_string(),
        ));
    }
    let config: EncoderConfig = crate::embed_audio::encoder_config(&args.encoder)?;
    let bytes = std::fs::read(&args.weights)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", args.weights.display())))?;
    let weights = Weights::parse(&bytes)
        .map_err(|e| Failure::input(format!("{}: {e}", args.weights.display())))?;
    let bad_weights =
        |e: acula_core::ModelError| Failure::input(format!("{}: {e}", args.weights.display()));
    let b = args.batch;
    let (_, x) = first_rows(&args.input, b, &[config.frames, config.mels])?;
    let x_data = TensorData::new(x, [b, config.frames, config.mels]);
    let mut times = Vec::with_capacity(args.runs);
    let (mut first_loss, mut last_loss) = (None, None);
    match args.mode {
        Mode::Forward => {
            let device = args.backend.device()?;
            let encoder = Encoder::load_pytorch(&config, &bytes, &device).map_err(bad_weights)?;
            let x = Tensor::<3>::from_data(x_data, &device);
            for rep in 0..args.warmup + args.runs {
                let t0 = Instant::now();
                let mut out = None;
                for _ in 0..args.inner {
                    out = Some(encoder.forward(x.clone()).into_data());
                }
                let elapsed = t0.elapsed().as_secs_f64() * 1e3 / args.inner as f64;
                if rep >= args.warmup {
                    times.push(elapsed);
                }
                if rep == 0 {
                    if let (Some(path), Some(data)) = (&args.embeddings_out, out) {
                        let v: Vec<f32> = data
                            .try_into_vec::<f32>()
                            .map_err(|e| Failure::input(format!("{e:?}")))?;
                        output::write_atomic(path, &npy::encode_f32(&[b, config.dim], &v))
                            .map_err(|e| Failure::output(e.to_string()))?;
                    }
                }
            }
        }
        Mode::Train => {
            let text_path = args
                .text
                .as_ref()
                .ok_or_else(|| Failure::usage("--mode train needs --text".to_string()))?;
            let (tshape, t) = first_rows(text_path, b, &[0])?;
            let text_dim = tshape[1];
            let device = args.backend.autodiff()?;
            // The heads of `acula align` (1,024 hidden, 512 out).
            let head = |prefix: &str, d_in: usize| -> Result<ProjectionHead, Failure> {
                ProjectionHead::load_weights(&weights, prefix, d_in, 1024, 512, &device)
                    .map_err(bad_weights)
            };
            let log_scale = weights
                .tensor::<1>("log_scale", [1], &device)
                .map_err(bad_weights)?;
            let mut model = StepModel {
                encoder: Encoder::load_pytorch(&config, &bytes, &device).map_err(bad_weights)?,
                audio_head: head("audio_head", config.dim)?,
                text_head: head("text_head", text_dim)?,
                log_scale: Param::from_tensor(log_scale),
            };
            let mut optim = crate::train::run::optimizer(&crate::train::config::OptimConfig {
                weight_decay: 0.01,
                ..Default::default()
            });
            let x = Tensor::<3>::from_data(x_data, &device);
            let t = Tensor::<2>::from_data(TensorData::new(t, [b, text_dim]), &device);
            for rep in 0..args.warmup + args.runs {
                let t0 = Instant::now();
                let mut loss = None;
                for i in 0..args.inner {
                    let a = model.audio_head.forward(model.encoder.forward(x.clone()));
                    let tp = model.text_head.forward(t.clone());
                    let l = align_loss(AlignLoss::InfoNce, a, tp, model.log_scale.val());
                    if rep == 0 && i == 0 {
                        // The loss before any update (read in the first, untimed repetition).
                        first_loss = Some(f64::from(l.clone().into_scalar::<f32>()));
                    }
                    let mut grads = GradientsParams::from_grads(l.backward(), &model);
                    crate::train::clip::clip_global_norm(&model, &mut grads, 1.0);
                    model = optim.step(args.lr, model, grads);
                    loss = Some(l);
                }
                // Reading the loss and a parameter waits for the device to finish the step.
                let l = loss.map(|l| f64::from(l.into_scalar::<f32>()));
                let _ = model.log_scale.val().into_scalar::<f32>();
                let elapsed = t0.elapsed().as_secs_f64() * 1e3 / args.inner as f64;
                last_loss = l;
                if rep >= args.warmup {
                    times.push(elapsed);
                }
            }
        }
    }
    let report = Report {
        mode: args.mode,
        encoder: args.encoder.clone(),
        batch: b,
        backend: format!("{:?}", args.backend).to_lowercase(),
        threads: rayon_threads(),
        runs: args.runs,
        inner: args.inner,
        median_ms: median(times.clone()),
        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
        first_loss,
        last_loss,
    };
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| Failure::output(e.to_string()))?
    );
    Ok(())
}

/// The CPU threads the flex backend may use (`RAYON_NUM_THREADS`, else the logical CPUs).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
