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
use acula_core::weights::Weights;
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

/// What `acula bench-model` prints (one JSON line).
#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub encoder: String,
    pub batch: usize,
    pub backend: String,
    pub threads: usize,
    pub runs: usize,
    pub inner: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    /// The loss of the first step (training) before any update, read in the first repetition
    /// (untimed when `warmup` ≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_loss: Option<f64>,
    /// The loss after all steps (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_loss: Option<f64>,
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

/// Runs `acula bench-model`: measures and prints the report as one JSON line.
pub fn run(args: &BenchModelArgs) -> Result<(), Failure> {
    let report = measure(args)?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| Failure::output(e.to_string()))?
    );
    Ok(())
}

/// Loads the weights and input, then times the forward pass or the training step.
pub fn measure(args: &BenchModelArgs) -> Result<Report, Failure> {
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
            let device = args.backend.autodiff(&config)?;
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
    Ok(Report {
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
    })
}

/// The CPU threads the flex backend may use (`RAYON_NUM_THREADS`, else the logical CPUs).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use acula_core::weights::safetensors_bytes;
    use burn::tensor::Device;

    /// A small encoder (2 blocks, 32 wide) with heads, exported in the PyTorch layout, plus input
    /// chunks and teacher embeddings, written to `dir`. Returns the encoder spec file and the encoder.
    fn fixture(dir: &std::path::Path) -> (String, Encoder) {
        let device = Device::flex();
        device.seed(0);
        let mut c = EncoderConfig::gt_tiny();
        (c.dim, c.heads, c.depth) = (32, 2, 2);
        let spec = dir.join("enc.json");
        std::fs::write(&spec, serde_json::to_string(&c).unwrap()).unwrap();
        let enc = Encoder::new(&c, &device).unwrap();
        let mut tensors = enc.export_pytorch("encoder.").unwrap();
        let head = |d_in| ProjectionHead::new(d_in, 1024, 512, 0.0, &device);
        tensors.extend(head(32).export_pytorch("audio_head").unwrap());
        tensors.extend(head(8).export_pytorch("text_head").unwrap());
        tensors.push(("log_scale".into(), vec![1], vec![(1.0f32 / 0.07).ln()]));
        std::fs::write(
            dir.join("w.safetensors"),
            safetensors_bytes(&tensors, false).unwrap(),
        )
        .unwrap();
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let x: Vec<f32> = (0..4 * 256 * 64).map(|_| next()).collect();
        std::fs::write(dir.join("x.npy"), npy::encode_f32(&[4, 256, 64], &x)).unwrap();
        let t: Vec<f32> = (0..4 * 8).map(|_| 2.0 * next() - 1.0).collect();
        std::fs::write(dir.join("t.npy"), npy::encode_f32(&[4, 8], &t)).unwrap();
        (spec.to_string_lossy().into_owned(), enc)
    }

    fn args(dir: &std::path::Path, spec: &str, mode: Mode, batch: usize) -> BenchModelArgs {
        BenchModelArgs {
            encoder: spec.to_string(),
            weights: dir.join("w.safetensors"),
            input: dir.join("x.npy"),
            text: Some(dir.join("t.npy")),
            mode,
            batch,
            backend: Backend::Flex,
            warmup: 1,
            runs: 3,
            inner: 1,
            lr: 1e-4,
            embeddings_out: Some(dir.join("e.npy")),
        }
    }

    #[test]
    fn forward_computes_the_exported_encoders_embeddings() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, enc) = fixture(dir.path());
        let r = measure(&args(dir.path(), &spec, Mode::Forward, 3)).unwrap();
        assert_eq!((r.runs, r.batch, r.first_loss), (3, 3, None));
        assert!(r.median_ms > 0.0 && r.min_ms <= r.median_ms);
        let (shape, got) =
            npy::decode_f32(&std::fs::read(dir.path().join("e.npy")).unwrap()).unwrap();
        assert_eq!(shape, vec![3, 32]);
        let (_, x) = npy::decode_f32(&std::fs::read(dir.path().join("x.npy")).unwrap()).unwrap();
        let x = Tensor::<3>::from_data(
            TensorData::new(x[..3 * 256 * 64].to_vec(), [3, 256, 64]),
            &Device::flex(),
        );
        let want: Vec<f32> = enc.forward(x).into_data().try_into_vec::<f32>().unwrap();
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "max |Δ| {worst}");
    }

    #[test]
    fn training_starts_from_the_files_loss_and_lowers_it() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, _) = fixture(dir.path());
        let a = args(dir.path(), &spec, Mode::Train, 4);
        let r = measure(&a).unwrap();
        // The same loss from the same files, computed outside the benchmark.
        let device = Device::flex();
        let bytes = std::fs::read(&a.weights).unwrap();
        let w = Weights::parse(&bytes).unwrap();
        let cfg = crate::embed_audio::encoder_config(&spec).unwrap();
        let enc = Encoder::load_pytorch(&cfg, &bytes, &device).unwrap();
        let ah = ProjectionHead::load_weights(&w, "audio_head", 32, 1024, 512, &device).unwrap();
        let th = ProjectionHead::load_weights(&w, "text_head", 8, 1024, 512, &device).unwrap();
        let (_, x) = npy::decode_f32(&std::fs::read(&a.input).unwrap()).unwrap();
        let (_, t) = npy::decode_f32(&std::fs::read(a.text.as_ref().unwrap()).unwrap()).unwrap();
        let x = Tensor::<3>::from_data(TensorData::new(x, [4, 256, 64]), &device);
        let t = Tensor::<2>::from_data(TensorData::new(t, [4, 8]), &device);
        let scale =
            Tensor::<1>::from_data(TensorData::new(vec![(1.0f32 / 0.07).ln()], [1]), &device);
        let want = align_loss(
            AlignLoss::InfoNce,
            ah.forward(enc.forward(x)),
            th.forward(t),
            scale,
        );
        let want = f64::from(want.into_scalar::<f32>());
        let (first, last) = (r.first_loss.unwrap(), r.last_loss.unwrap());
        assert!((first - want).abs() < 1e-5, "first loss {first} vs {want}");
        assert!(
            last < first,
            "4 AdamW steps on one batch should lower the loss: {first} → {last}"
        );
    }

    #[test]
    fn bad_requests_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, _) = fixture(dir.path());
        let e = measure(&args(dir.path(), &spec, Mode::Forward, 5)).unwrap_err();
        assert!(
            e.message().contains("expected at least 5 rows"),
            "{}",
            e.message()
        );
        let mut a = args(dir.path(), &spec, Mode::Train, 2);
        a.text = None;
        assert_eq!(measure(&a).unwrap_err().code(), 2);
        let mut a = args(dir.path(), &spec, Mode::Forward, 2);
        a.weights = dir.path().join("x.npy");
        assert_eq!(measure(&a).unwrap_err().code(), 1);
        a.runs = 0;
        assert!(measure(&a).unwrap_err().message().contains("at least 1"));
    }
}
