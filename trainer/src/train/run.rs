//! The run folder shared by `pretrain` and `align`: its saved configuration, checkpoints of model and
//! optimiser, and the files written at the end.

use std::path::PathBuf;

use acula_core::encoder::{Encoder, Masking};
use burn::module::Module;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::tensor::Device;
use clap::Args;
use serde::{de::DeserializeOwned, Serialize};

use super::checkpoint;
use super::config::OptimConfig;
use super::log::Log;
use super::run_dir::RunDir;
use crate::rng::Rng;
use crate::{output, Failure};

/// The flags `pretrain` and `align` share: the run folder, the config file and its common overrides.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run folder (created; must be empty or absent unless --resume).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Training configuration (JSON; missing keys take the defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Optimiser steps, overriding the config.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Micro-batch size, overriding the config.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Seed, overriding the config.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Continue the run in `--out` from its newest intact checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// CPU backend (results agree to rounding; speed differs, see README).
    #[arg(long, value_enum, default_value_t = crate::backend::Backend::Flex)]
    pub backend: crate::backend::Backend,
}

impl RunArgs {
    /// Whether any of these flags changes the configuration.
    pub fn overrides(&self) -> bool {
        self.config.is_some() || self.steps.is_some() || self.batch.is_some() || self.seed.is_some()
    }

    /// The configuration file (or the defaults), with `--steps`, `--batch` and `--seed` applied
    /// through `apply(optim, seed)`.
    pub fn load<C: DeserializeOwned + Default>(
        &self,
        what: &str,
        apply: impl FnOnce(&mut C) -> (&mut OptimConfig, &mut u64),
    ) -> Result<C, Failure> {
        let mut c: C = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", p.display())))?;
                serde_json::from_str(&text).map_err(|e| {
                    Failure::usage(format!(
                        "{}: not a valid {what} configuration: {e}",
                        p.display()
                    ))
                })?
            }
            None => C::default(),
        };
        let (optim, seed) = apply(&mut c);
        if let Some(s) = self.steps {
            optim.steps = s;
        }
        if let Some(b) = self.batch {
            optim.batch = b;
        }
        if let Some(v) = self.seed {
            *seed = v;
        }
        Ok(c)
    }
}

/// AdamW with the run's weight decay (gradients are clipped by global norm before each step, see
/// [`super::clip`]).
pub fn optimizer(o: &OptimConfig) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_weight_decay(o.weight_decay as f32)
        .init()
}

/// Where a run starts: restored from the newest intact checkpoint on `resume`, and the log opened
/// (steps to be redone removed from it).
pub fn begin<M: Module>(
    out: &RunDir,
    resume: bool,
    model: M,
    optim: ModuleOptimizer,
) -> Result<(M, ModuleOptimizer, usize, Log), Failure> {
    let (model, optim, start) = if resume {
        restore(out, model, optim)?
    } else {
        (model, optim, 0)
    };
    let log = Log::open(&out.log_path(), start)
        .map_err(|e| Failure::output(format!("cannot write the log: {e}")))?;
    Ok((model, optim, start, log))
}

/// The hidden patches of micro-batch `micro` of step `step`: drawn from `(seed, step, micro)` alone.
pub fn masking(
    seed: u64,
    step: usize,
    micro: usize,
    batch: usize,
    tokens: usize,
    ratio: f64,
    device: &Device,
) -> Masking {
    let mut rng = Rng::for_item(seed, &format!("mask-{step}-{micro}"));
    let noise: Vec<f32> = (0..batch * tokens).map(|_| rng.uniform() as f32).collect();
    Masking::from_noise(&noise, batch, tokens, ratio, device)
}

/// The configuration of a run: on `resume`, the one saved in `out/config.json` (refusing other
/// settings when `overrides` were given and differ); otherwise `fresh`, saved there, with `out` new or
/// empty.
pub fn prepare<C: Serialize + DeserializeOwned + PartialEq>(
    run: &RunDir,
    resume: bool,
    overrides: bool,
    fresh: impl FnOnce() -> Result<C, Failure>,
) -> Result<C, Failure> {
    let (out, path) = (run.path(), run.config_path());
    if resume {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Failure::input(format!(
                "cannot resume: {} ({e}); is --out a run folder?",
                path.display()
            ))
        })?;
        let saved: C = serde_json::from_str(&text)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        if overrides && fresh()? != saved {
            return Err(Failure::usage(
                "--resume continues the saved configuration; drop the other training flags or start a new run".into(),
            ));
        }
        return Ok(saved);
    }
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::usage(format!(
            "{} is not empty; give a new --out, or --resume to continue the run there",
            out.display()
        )));
    }
    let c = fresh()?;
    std::fs::create_dir_all(out)
        .map_err(|e| Failure::output(format!("cannot create {}: {e}", out.display())))?;
    let json = serde_json::to_vec_pretty(&c).map_err(|e| Failure::output(e.to_string()))?;
    output::write_atomic(&path, &json).map_err(|e| Failure::output(e.to_string()))?;
    Ok(c)
}

/// Loads the newest intact checkpoint into `model` and `optim`; returns the step to continue from.
pub fn restore<M: Module>(
    out: &RunDir,
    model: M,
    optim: ModuleOptimizer,
) -> Result<(M, ModuleOptimizer, usize), Failure> {
    match out.latest_checkpoint() {
        Some((state, path)) => {
            let model = model
                .try_load_file(path.join("model.bpk"))
                .map_err(|e| Failure::input(format!("{}: {e:?}", path.display())))?;
            let optim = optim
                .load(path.join("optim.bpk"))
                .map_err(|e| Failure::input(format!("{}: {e:?}", path.display())))?;
            eprintln!("resuming at step {} from {}", state.step, path.display());
            Ok((model, optim, state.step))
        }
        None => {
            eprintln!(
                "no intact checkpoint in {}; starting from step 0",
                out.path().display()
            );
            Ok((model, optim, 0))
        }
    }
}

/// Writes a checkpoint of `model` and `optim` after `step` optimiser steps.
pub fn save<M: Module>(
    out: &RunDir,
    step: usize,
    model: &M,
    optim: &ModuleOptimizer,
) -> Result<(), Failure> {
    let m = model.clone();
    checkpoint::save(out.path(), step, |dir| {
        m.save_file(dir.join("model.bpk"))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        optim
            .save(dir.join("optim.bpk"))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(())
    })
    .map(|_| ())
    .map_err(|e| Failure::output(format!("cannot write a checkpoint: {e}")))
}

/// The end of a run: `loss.svg` from the log, and `encoder.bpk` (written atomically).
pub fn finish(out: &RunDir, title: &str, encoder: &Encoder) -> Result<(), Failure> {
    let svg = super::log::plot_svg(&out.log(), title);
    output::write_atomic(&out.loss_svg_path(), svg.as_bytes())
        .map_err(|e| Failure::output(e.to_string()))?;
    let tmp = out.path().join(".encoder.bpk.tmp");
    encoder
        .clone()
        .save_file(&tmp)
        .map_err(|e| Failure::output(format!("cannot write the encoder: {e:?}")))?;
    std::fs::rename(&tmp, out.encoder_path()).map_err(|e| Failure::output(e.to_string()))
}
