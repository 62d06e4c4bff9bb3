//! The training configuration: one serde struct, written as `config.json` beside the checkpoints,
//! with the reference's values as defaults and any of them overridable from a JSON file.

use acula_core::encoder::{EncoderConfig, MaeConfig};
use serde::{Deserialize, Serialize};

use crate::Failure;

/// Optimiser and schedule (REFERENCE.md: AdamW, 400 warm-up steps then linear decay, batch 24 with 2
/// accumulation steps, gradient clipping 1.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    /// Peak learning rate (1e-4 for MAE pre-training, as OPERA; the alignment uses 1e-5).
    pub lr: f64,
    /// AdamW weight decay (0.01).
    pub weight_decay: f64,
    /// Linear warm-up steps (400).
    pub warmup_steps: usize,
    /// Optimiser steps in all; the learning rate decays linearly to 0 at the last one.
    pub steps: usize,
    /// Examples per micro-batch (24).
    pub batch: usize,
    /// Micro-batches per optimiser step (2).
    pub accumulate: usize,
    /// Gradient clipping: the global gradient norm is capped at this value (1.0), as PyTorch's
    /// `clip_grad_norm_`.
    pub clip_norm: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            lr: 1e-4,
            weight_decay: 0.01,
            warmup_steps: 400,
            steps: 2000,
            batch: 24,
            accumulate: 2,
            clip_norm: 1.0,
        }
    }
}

impl OptimConfig {
    /// The learning rate at optimiser step `s` (0-based): linear warm-up to `lr` over `warmup_steps`,
    /// then linear decay to 0 at `steps`.
    pub fn lr_at(&self, s: usize) -> f64 {
        if s < self.warmup_steps {
            self.lr * (s + 1) as f64 / self.warmup_steps as f64
        } else {
            let left = self.steps.saturating_sub(s) as f64;
            let span = self.steps.saturating_sub(self.warmup_steps).max(1) as f64;
            self.lr * (left / span).clamp(0.0, 1.0)
        }
    }
}

/// Everything a pre-training run depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainConfig {
    /// Encoder size (default gt-tiny).
    pub encoder: EncoderConfig,
    /// Decoder and masking.
    pub mae: MaeConfig,
    pub optim: OptimConfig,
    /// Frames per training crop (256 = one chunk); shorter clips are repeat-padded.
    pub crop_frames: usize,
    /// Seed of data order, crops, masking and initialisation.
    pub seed: u64,
    /// Write a checkpoint every this many optimiser steps (and at the end).
    pub checkpoint_every: usize,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        Self {
            encoder: EncoderConfig::gt_tiny(),
            mae: MaeConfig::tiny(),
            optim: OptimConfig::default(),
            crop_frames: 256,
            seed: 0,
            checkpoint_every: 100,
        }
    }
}

impl PretrainConfig {
    /// Checks the numbers before anything is allocated.
    pub fn validate(&self) -> Result<(), Failure> {
        let bad = |m: &str| {
            Err(Failure::usage(format!(
                "invalid training configuration: {m}"
            )))
        };
        self.encoder
            .validate()
            .map_err(|e| Failure::usage(format!("invalid training configuration: {e}")))?;
        let o = &self.optim;
        let lr_ok = o.lr > 0.0 && o.lr < 1.0;
        if !lr_ok || !(0.0..1.0).contains(&o.weight_decay) {
            return bad("lr must be in (0, 1) and weight_decay in [0, 1)");
        }
        if o.steps == 0
            || o.batch == 0
            || o.accumulate == 0
            || o.batch > 4096
            || o.accumulate > 1024
        {
            return bad("steps, batch and accumulate must be at least 1 (batch ≤ 4096)");
        }
        if o.clip_norm.is_nan() || o.clip_norm <= 0.0 {
            return bad("clip_norm must be positive");
        }
        if self.crop_frames != self.encoder.frames {
            return bad("crop_frames must equal the encoder's frames");
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        let o = OptimConfig {
            lr: 1.0,
            warmup_steps: 4,
            steps: 12,
            ..OptimConfig::default()
        };
        // warm-up: 1/4, 2/4, 3/4, 4/4; then (12 − s)/8: s = 4 → 1, s = 8 → 0.5, s = 11 → 0.125.
        let v: Vec<f64> = [0, 1, 3, 4, 8, 11, 12]
            .iter()
            .map(|&s| o.lr_at(s))
            .collect();
        assert_eq!(v, [0.25, 0.5, 1.0, 1.0, 0.5, 0.125, 0.0]);
    }

    #[test]
    fn partial_files_take_defaults_and_unknown_keys_are_refused() {
        let c: PretrainConfig =
            serde_json::from_str(r#"{"optim": {"steps": 7}, "seed": 3}"#).unwrap();
        assert_eq!((c.optim.steps, c.optim.batch, c.seed), (7, 24, 3));
        assert!(serde_json::from_str::<PretrainConfig>(r#"{"optim": {"stepz": 7}}"#).is_err());
    }
}
