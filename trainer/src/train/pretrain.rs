//! `acula pretrain`: masked-autoencoder pre-training of the encoder on the recordings of one or more
//! datasets. Writes into the run folder: `config.json`, `log.jsonl` (every step's losses, learning
//! rate and speed), `checkpoints/`, `loss.svg` and, at the end, `encoder.bpk` (the encoder alone).

use std::path::PathBuf;
use std::time::Instant;

use acula_core::encoder::{Encoder, Mae};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use clap::Args;

use super::config::PretrainConfig;
use super::log::StepLog;
use super::{clips, run};
use crate::Failure;

/// Arguments of `acula pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// Dataset folders whose recordings (those with audio) are the training data.
    #[arg(required = true)]
    pub datasets: Vec<PathBuf>,
    #[command(flatten)]
    pub run: run::RunArgs,
    /// Encoder size, overriding the config: `gt-tiny`, `gt-small` or a JSON file.
    #[arg(long)]
    pub encoder: Option<String>,
    /// Use at most this many recordings per dataset (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
}

fn config(args: &PretrainArgs) -> Result<PretrainConfig, Failure> {
    let mut c: PretrainConfig = args.run.load("training", |c: &mut PretrainConfig| {
        (&mut c.optim, &mut c.seed)
    })?;
    if let Some(e) = &args.encoder {
        c.encoder = crate::embed_audio::encoder_config(e)?;
        if e == "gt-small" {
            c.mae = acula_core::encoder::MaeConfig::default();
        }
    }
    c.validate()?;
    Ok(c)
}

/// Runs `acula pretrain`.
pub fn run(args: &PretrainArgs) -> Result<(), Failure> {
    let out = &super::RunDir::new(&args.run.out);
    let overrides = args.run.overrides() || args.encoder.is_some();
    let cfg: PretrainConfig = run::prepare(out, args.run.resume, overrides, || config(args))?;

    let data = clips::load(&args.datasets, args.limit)?;
    for (id, n, synthetic) in &data.sources {
        tracing::info!(
            "{id}: {n} clips{}",
            if *synthetic { " (synthetic)" } else { "" }
        );
    }
    if !data.skipped.is_empty() {
        tracing::warn!(
            "{} recordings skipped (first: {})",
            data.skipped.len(),
            data.skipped[0]
        );
    }

    let device = args.run.backend.autodiff(&cfg.encoder)?;
    device.seed(cfg.seed);
    let encoder = Encoder::new(&cfg.encoder, &device).map_err(|e| Failure::usage(e.to_string()))?;
    let model = Mae::new(encoder, &cfg.encoder, &cfg.mae, &device)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let (mut model, mut optim, start, mut log) =
        run::begin(out, args.run.resume, model, run::optimizer(&cfg.optim))?;

    let o = &cfg.optim;
    let crop = cfg.crop_frames;
    let tokens = cfg.encoder.tokens();
    let bar = crate::progress::bar(o.steps as u64, "pretrain");
    bar.set_position(start as u64);
    for s in start..o.steps {
        let t0 = Instant::now();
        let lr = o.lr_at(s);
        let mut acc = GradientsAccumulator::new();
        let mut loss_sum = 0.0;
        for micro in 0..o.accumulate {
            let first = (s * o.accumulate + micro) * o.batch;
            let x = data.batch(cfg.seed, first, o.batch, crop);
            let x = Tensor::<3>::from_data(TensorData::new(x, [o.batch, crop, data.mels]), &device);
            let masking = run::masking(
                cfg.seed,
                s,
                micro,
                o.batch,
                tokens,
                cfg.mae.mask_ratio,
                &device,
            );
            let out = model.forward(x, &masking);
            let loss: f32 = out.loss.clone().into_scalar();
            if !loss.is_finite() {
                bar.finish_and_clear();
                return Err(Failure::input(format!(
                    "the loss became {loss} at step {s}; lower the learning rate (the last checkpoint is kept)"
                )));
            }
            loss_sum += f64::from(loss);
            let grads = out.loss.div_scalar(o.accumulate as f32).backward();
            acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
        }
        let mut grads = acc.grads();
        let grad_norm = super::clip::clip_global_norm(&model, &mut grads, o.clip_norm);
        model = optim.step(lr, model, grads);
        let mean = loss_sum / o.accumulate as f64;
        let speed = (o.batch * o.accumulate) as f64 / t0.elapsed().as_secs_f64();
        log.write(&StepLog {
            step: s,
            losses: [("mae".to_string(), mean)].into_iter().collect(),
            lr,
            grad_norm,
            examples_per_s: speed,
        })
        .map_err(|e| Failure::output(format!("cannot write the log: {e}")))?;
        bar.set_message(format!("pretrain loss {mean:.4} · {speed:.1} ex/s"));
        bar.inc(1);
        if (s + 1) % cfg.checkpoint_every == 0 || s + 1 == o.steps {
            run::save(out, s + 1, &model, &optim)?;
        }
    }
    bar.finish_and_clear();

    run::finish(
        out,
        "acula pretrain: masked-autoencoder loss",
        &model.encoder,
    )?;
    let entries = out.log();
    let last = entries
        .last()
        .and_then(|e| e.losses.get("mae").copied())
        .unwrap_or(f64::NAN);
    eprintln!(
        "{} steps on {} clips; final loss {last:.4} → {}",
        o.steps,
        data.clips.len(),
        out.path().display()
    );
    Ok(())
}
