//! A training run folder (`acula pretrain --out`, `acula align --out`) as a type: where its files
//! are, and the readers that every later step uses (`acula export`, `acula eval`, `acula align
//! --init`, the recipe).
//!
//! ```text
//! RUN/config.json       the run's configuration (serde; read back on --resume)
//! RUN/log.jsonl         one line per optimiser step
//! RUN/checkpoints/      step-NNNNNNN/{model,optim}.bpk + state.json (see checkpoint.rs)
//! RUN/loss.svg          the loss curves, written at the end
//! RUN/encoder.bpk       the final encoder alone, written at the end
//! ```

use std::path::{Path, PathBuf};

use acula_core::encoder::{Encoder, EncoderConfig};
use burn::module::Module;
use serde::de::DeserializeOwned;

use super::align::{AlignConfig, AlignModel};
use super::checkpoint;
use super::log::StepLog;
use crate::Failure;

/// A run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

/// Why a run folder's configuration cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `config.json` is missing or unreadable.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `config.json` is not this kind of configuration.
    #[error("{}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// An alignment run loaded from its newest intact checkpoint.
pub struct AlignedRun {
    /// The run's configuration.
    pub config: AlignConfig,
    /// Encoder, MAE decoder and both projection heads.
    pub model: AlignModel,
    /// Optimiser steps of the checkpoint.
    pub step: usize,
}

impl RunDir {
    /// The run folder at `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.path.join("config.json")
    }

    /// `log.jsonl`.
    pub fn log_path(&self) -> PathBuf {
        self.path.join("log.jsonl")
    }

    /// `loss.svg`.
    pub fn loss_svg_path(&self) -> PathBuf {
        self.path.join("loss.svg")
    }

    /// `encoder.bpk`: written when the run finishes.
    pub fn encoder_path(&self) -> PathBuf {
        self.path.join("encoder.bpk")
    }

    /// Whether the run has finished (its `encoder.bpk` exists).
    pub fn is_finished(&self) -> bool {
        self.encoder_path().is_file()
    }

    /// Whether the folder holds a run (its `config.json` exists).
    pub fn has_config(&self) -> bool {
        self.config_path().is_file()
    }

    /// The saved configuration.
    pub fn config<C: DeserializeOwned>(&self) -> Result<C, ConfigError> {
        let path = self.config_path();
        let bytes = std::fs::read(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ConfigError::Parse { path, source })
    }

    /// Every step logged so far (an unreadable log gives none).
    pub fn log(&self) -> Vec<StepLog> {
        super::log::read(&self.log_path())
    }

    /// The newest checkpoint whose files match their checksums: its state and folder.
    pub fn latest_checkpoint(&self) -> Option<(checkpoint::State, PathBuf)> {
        checkpoint::latest(&self.path)
    }

    /// The finished run's encoder (`config.json`'s `encoder` and `encoder.bpk`), for a pre-training
    /// or an alignment run alike; `what` names the flag in messages.
    pub fn encoder(&self, what: &str, device: &burn::tensor::Device) -> Result<Encoder, Failure> {
        let cfg_path = self.config_path();
        let cfg: serde_json::Value = self.config().map_err(|_| {
            Failure::input(format!(
                "{what}: cannot read {}; give an `acula pretrain` or `acula align` run folder",
                cfg_path.display()
            ))
        })?;
        let enc: EncoderConfig = serde_json::from_value(cfg["encoder"].clone())
            .map_err(|e| Failure::input(format!("{}: encoder: {e}", cfg_path.display())))?;
        let weights = self.encoder_path();
        Encoder::new(&enc, device)
            .map_err(|e| Failure::usage(e.to_string()))?
            .try_load_file(&weights)
            .map_err(|e| {
                Failure::input(format!(
                    "{}: cannot load ({e:?}); is the run finished (it writes encoder.bpk at the end)?",
                    weights.display()
                ))
            })
    }

    /// The alignment model from the newest intact checkpoint of an `acula align` run (inference
    /// device); `text_dim` is the teacher's width.
    pub fn aligned(
        &self,
        text_dim: usize,
        device: &burn::tensor::Device,
    ) -> Result<AlignedRun, Failure> {
        let config: AlignConfig = self.config().map_err(|e| {
            Failure::input(format!("{e}; --run must be an `acula align` run folder"))
        })?;
        let (state, dir) = self.latest_checkpoint().ok_or_else(|| {
            Failure::input(format!(
                "{} has no intact checkpoint; train it first (acula align --out {})",
                self.path.display(),
                self.path.display()
            ))
        })?;
        let encoder =
            Encoder::new(&config.encoder, device).map_err(|e| Failure::usage(e.to_string()))?;
        let model = AlignModel::new(encoder, &config, text_dim, device)?
            .try_load_file(dir.join("model.bpk"))
            .map_err(|e| {
                Failure::input(format!(
                    "{}: cannot load the checkpoint ({e:?}); were the embeddings of another teacher?",
                    dir.display()
                ))
            })?;
        Ok(AlignedRun {
            config,
            model,
            step: state.step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_config_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        assert!(!run.has_config() && !run.is_finished());
        let e = run.config::<serde_json::Value>().unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
        assert!(e
            .to_string()
            .starts_with(&run.config_path().display().to_string()));
        std::fs::write(run.config_path(), "{").unwrap();
        assert!(matches!(
            run.config::<serde_json::Value>(),
            Err(ConfigError::Parse { .. })
        ));
    }
}
