//! `acula align`: the AcuLa objective, `L = λ_align · L_align + λ_mae · L_mae`. Each recording of a
//! reports CSV is paired with its report's teacher embedding (`acula embed-reports`, same row order);
//! the encoder's clip embedding goes through the audio projection head, the teacher embedding through
//! the text head (both `Linear → ReLU → Dropout(0.2) → Linear`, 1,024 hidden, 512 out), and the chosen
//! alignment loss compares them; the masked-autoencoder loss keeps the encoder's self-supervised skill.
//! The teacher stays frozen (its embeddings are precomputed). Same run folder, log, checkpoints and
//! resume as `acula pretrain`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use acula_core::encoder::{Encoder, EncoderConfig, Mae, MaeConfig, ProjectionHead};
use burn::module::{Module, Param};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::clips::{self, Clip, Clips, Source};
use super::config::OptimConfig;
use super::log::StepLog;
use super::losses::{align_loss, AlignLoss};
use super::run;
use crate::{reports, Failure};

/// Everything an alignment run depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlignConfig {
    pub encoder: EncoderConfig,
    pub mae: MaeConfig,
    /// The reference's alignment settings: AdamW lr 1e-5, weight decay 0.01, 400 warm-up steps,
    /// batch 24 × 2 accumulation, clipping 1.0.
    pub optim: OptimConfig,
    pub loss: AlignLoss,
    /// Weight of the alignment loss (1.0).
    pub lambda_align: f64,
    /// Weight of the masked-autoencoder loss (1.0; 0 turns it off).
    pub lambda_mae: f64,
    /// Projection heads: hidden width (1,024), output (512), dropout (0.2).
    pub proj_hidden: usize,
    pub proj_dim: usize,
    pub dropout: f64,
    pub crop_frames: usize,
    pub seed: u64,
    pub checkpoint_every: usize,
}

impl Default for AlignConfig {
    fn default() -> Self {
        Self {
            encoder: EncoderConfig::gt_tiny(),
            mae: MaeConfig::tiny(),
            optim: OptimConfig {
                lr: 1e-5,
                ..OptimConfig::default()
            },
            loss: AlignLoss::ReleasedCka,
            lambda_align: 1.0,
            lambda_mae: 1.0,
            proj_hidden: 1024,
            proj_dim: 512,
            dropout: 0.2,
            crop_frames: 256,
            seed: 0,
            checkpoint_every: 100,
        }
    }
}

/// The trained parts: encoder + MAE decoder, the two heads, InfoNCE's log inverse temperature.
#[derive(Module, Debug)]
pub struct AlignModel {
    pub mae: Mae,
    pub audio_head: ProjectionHead,
    pub text_head: ProjectionHead,
    pub log_scale: Param<Tensor<1>>,
}

impl AlignModel {
    /// The model of `cfg` around `encoder`: a fresh decoder, fresh heads (text head from `text_dim`),
    /// CLIP's initial temperature 0.07.
    pub fn new(
        encoder: Encoder,
        cfg: &AlignConfig,
        text_dim: usize,
        device: &burn::tensor::Device,
    ) -> Result<Self, Failure> {
        let mae = Mae::new(encoder, &cfg.encoder, &cfg.mae, device)
            .map_err(|e| Failure::usage(e.to_string()))?;
        Ok(Self {
            mae,
            audio_head: ProjectionHead::new(
                cfg.encoder.dim,
                cfg.proj_hidden,
                cfg.proj_dim,
                cfg.dropout,
                device,
            ),
            text_head: ProjectionHead::new(
                text_dim,
                cfg.proj_hidden,
                cfg.proj_dim,
                cfg.dropout,
                device,
            ),
            log_scale: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![(1.0f32 / 0.07).ln()], [1]),
                device,
            )),
        })
    }
}

/// Arguments of `acula align`.
#[derive(Debug, Args)]
pub struct AlignArgs {
    /// Reports CSV (`acula reports`); rows whose audio is missing are skipped.
    pub reports: PathBuf,
    /// The reports' teacher embeddings (`acula embed-reports … --out X` wrote `X.npy`), same row order.
    #[arg(long)]
    pub embeddings: PathBuf,
    /// Start from a pre-trained encoder: an `acula pretrain` run folder (encoder and MAE decoder from
    /// its newest checkpoint) or an `encoder.bpk` file (encoder only; the decoder starts fresh).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Alignment loss, overriding the config.
    #[arg(long, value_enum)]
    pub loss: Option<AlignLoss>,
    #[command(flatten)]
    pub run: run::RunArgs,
}

fn config(args: &AlignArgs) -> Result<AlignConfig, Failure> {
    let mut c: AlignConfig = args.run.load("alignment", |c: &mut AlignConfig| {
        (&mut c.optim, &mut c.seed)
    })?;
    if let Some(l) = args.loss {
        c.loss = l;
    }
    super::config::PretrainConfig {
        encoder: c.encoder.clone(),
        mae: c.mae.clone(),
        optim: c.optim.clone(),
        crop_frames: c.crop_frames,
        seed: c.seed,
        checkpoint_every: c.checkpoint_every,
    }
    .validate()?;
    if !(c.lambda_align >= 0.0 && c.lambda_mae >= 0.0 && c.lambda_align + c.lambda_mae > 0.0) {
        return Err(Failure::usage(
            "invalid alignment configuration: the λ weights must be ≥ 0 and not both 0".into(),
        ));
    }
    if c.proj_dim == 0 || c.proj_hidden == 0 || !(0.0..1.0).contains(&c.dropout) {
        return Err(Failure::usage(
            "invalid alignment configuration: projection sizes ≥ 1, dropout in [0, 1)".into(),
        ));
    }
    Ok(c)
}

/// The pairs: one clip per distinct audio file, and each pair's clip and embedding row.
struct Pairs {
    clips: Clips,
    /// Teacher embedding per clip (the first report's, when several rows share a recording).
    text: Vec<Vec<f32>>,
    text_dim: usize,
}

fn pairs(args: &AlignArgs) -> Result<Pairs, Failure> {
    let (rows, dim, values) = reports::read_with_embeddings(&args.reports, &args.embeddings)?;
    let front = clips::front_end()?;
    let mut by_path: HashMap<String, usize> = HashMap::new();
    let mut list: Vec<Clip> = Vec::new();
    let mut text = Vec::new();
    let mut skipped = Vec::new();
    let bar = crate::progress::bar(rows.len() as u64, "features");
    for (i, r) in rows.iter().enumerate() {
        bar.inc(1);
        if by_path.contains_key(&r.audio_path) {
            continue;
        }
        let src = Source {
            path: PathBuf::from(&r.audio_path),
            start_s: None,
            end_s: None,
        };
        if !src.path.is_file() {
            skipped.push(format!("{}: no audio file", r.audio_path));
            continue;
        }
        match clips::clip(&front, &src) {
            Ok(c) => {
                by_path.insert(r.audio_path.clone(), list.len());
                list.push(c);
                text.push(values[i * dim..(i + 1) * dim].to_vec());
            }
            Err(e) => skipped.push(e.to_string()),
        }
    }
    bar.finish_and_clear();
    if list.len() < 2 {
        return Err(Failure::input(format!(
            "only {} of the {} reports have usable audio; alignment needs at least 2 (first problem: {})",
            list.len(),
            rows.len(),
            skipped.first().map(String::as_str).unwrap_or("none")
        )));
    }
    if !skipped.is_empty() {
        tracing::warn!("{} reports skipped (first: {})", skipped.len(), skipped[0]);
    }
    Ok(Pairs {
        clips: Clips {
            clips: list,
            mels: front.config().n_mels,
            sources: Vec::new(),
            skipped,
        },
        text,
        text_dim: dim,
    })
}

/// Runs `acula align`.
pub fn run(args: &AlignArgs) -> Result<(), Failure> {
    let out = &super::RunDir::new(&args.run.out);
    let overrides = args.run.overrides() || args.loss.is_some();
    let cfg: AlignConfig = run::prepare(out, args.run.resume, overrides, || config(args))?;
    let data = pairs(args)?;

    let device = args.run.backend.autodiff(&cfg.encoder)?;
    device.seed(cfg.seed);
    let mut encoder =
        Encoder::new(&cfg.encoder, &device).map_err(|e| Failure::usage(e.to_string()))?;
    // `--init FILE`: an encoder (`encoder.bpk`); `--init DIR`: a pre-training run, whose newest
    // checkpoint gives the encoder and the MAE decoder both (so the MAE term does not restart from a
    // random decoder).
    let run_init = args.init.as_ref().filter(|p| p.is_dir());
    if let Some(init) = args.init.as_ref().filter(|p| !p.is_dir()) {
        encoder = encoder.try_load_file(init).map_err(|e| {
            Failure::input(format!(
                "{}: not an encoder of this size ({e:?})",
                init.display()
            ))
        })?;
    }
    let mut model = AlignModel::new(encoder, &cfg, data.text_dim, &device)?;
    if let Some(dir) = run_init {
        let (state, ck) = super::RunDir::new(dir).latest_checkpoint().ok_or_else(|| {
            Failure::input(format!(
                "{}: no intact checkpoint; --init takes an encoder.bpk or an `acula pretrain` run folder",
                dir.display()
            ))
        })?;
        model.mae = model.mae.try_load_file(ck.join("model.bpk")).map_err(|e| {
            Failure::input(format!(
                "{}: not a pre-training run of this encoder and decoder size ({e:?})",
                ck.display()
            ))
        })?;
        eprintln!(
            "encoder and decoder from {} (step {})",
            ck.display(),
            state.step
        );
    }
    let (mut model, mut optim, start, mut log) =
        run::begin(out, args.run.resume, model, run::optimizer(&cfg.optim))?;

    let o = &cfg.optim;
    let crop = cfg.crop_frames;
    let tokens = cfg.encoder.tokens();
    let bar = crate::progress::bar(o.steps as u64, "align");
    bar.set_position(start as u64);
    for s in start..o.steps {
        let t0 = Instant::now();
        let lr = o.lr_at(s);
        let mut acc = GradientsAccumulator::new();
        let (mut sum_align, mut sum_mae) = (0.0, 0.0);
        for micro in 0..o.accumulate {
            let first = (s * o.accumulate + micro) * o.batch;
            let (x, ids) = data.clips.batch_with_ids(cfg.seed, first, o.batch, crop);
            let x = Tensor::<3>::from_data(
                TensorData::new(x, [o.batch, crop, data.clips.mels]),
                &device,
            );
            let t: Vec<f32> = ids
                .iter()
                .flat_map(|&i| data.text[i].iter().copied())
                .collect();
            let t = Tensor::<2>::from_data(TensorData::new(t, [o.batch, data.text_dim]), &device);
            let a = model
                .audio_head
                .forward(model.mae.encoder.forward(x.clone()));
            let tp = model.text_head.forward(t);
            let l_align = align_loss(cfg.loss, a, tp, model.log_scale.val());
            let mut total = l_align.clone().mul_scalar(cfg.lambda_align as f32);
            let mut l_mae_v = 0.0;
            if cfg.lambda_mae > 0.0 {
                let masking = run::masking(
                    cfg.seed,
                    s,
                    micro,
                    o.batch,
                    tokens,
                    cfg.mae.mask_ratio,
                    &device,
                );
                let l_mae = model.mae.forward(x, &masking).loss;
                l_mae_v = f64::from(l_mae.clone().into_scalar::<f32>());
                total = total + l_mae.mul_scalar(cfg.lambda_mae as f32);
            }
            let l_align_v = f64::from(l_align.into_scalar::<f32>());
            if !l_align_v.is_finite() || !l_mae_v.is_finite() {
                bar.finish_and_clear();
                return Err(Failure::input(format!(
                    "the loss became non-finite at step {s}; lower the learning rate (the last checkpoint is kept)"
                )));
            }
            sum_align += l_align_v;
            sum_mae += l_mae_v;
            let grads = total.div_scalar(o.accumulate as f32).backward();
            acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
        }
        let mut grads = acc.grads();
        let grad_norm = super::clip::clip_global_norm(&model, &mut grads, o.clip_norm);
        model = optim.step(lr, model, grads);
        let k = o.accumulate as f64;
        let (la, lm) = (sum_align / k, sum_mae / k);
        let speed = (o.batch * o.accumulate) as f64 / t0.elapsed().as_secs_f64();
        let mut losses = std::collections::BTreeMap::new();
        losses.insert("align".to_string(), la);
        if cfg.lambda_mae > 0.0 {
            losses.insert("mae".to_string(), lm);
        }
        losses.insert(
            "total".to_string(),
            cfg.lambda_align * la + cfg.lambda_mae * lm,
        );
        log.write(&StepLog {
            step: s,
            losses,
            lr,
            grad_norm,
            examples_per_s: speed,
        })
        .map_err(|e| Failure::output(format!("cannot write the log: {e}")))?;
        bar.set_message(format!("align {la:.4} · mae {lm:.4} · {speed:.1} ex/s"));
        bar.inc(1);
        if (s + 1) % cfg.checkpoint_every == 0 || s + 1 == o.steps {
            run::save(out, s + 1, &model, &optim)?;
        }
    }
    bar.finish_and_clear();
    run::finish(
        out,
        &format!("acula align ({:?})", cfg.loss),
        &model.mae.encoder,
    )?;
    eprintln!(
        "{} steps on {} recording–report pairs → {}",
        o.steps,
        data.clips.clips.len(),
        out.path().display()
    );
    Ok(())
}
