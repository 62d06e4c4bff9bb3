//! Training: `acula pretrain` (masked-autoencoder pre-training of the encoder). Alignment (`acula
//! align`) builds on the same pieces: the config, the data, the schedule, checkpoints and the log.
//!
//! Runs are deterministic and resumable: which clips form step `s`'s batch, where each is cropped and
//! which patches are hidden all derive from `(seed, s)` alone, and a checkpoint holds the model, the
//! optimiser state and the step, so `--resume` continues exactly where an uninterrupted run would be.

pub mod align;
pub mod checkpoint;
pub mod clip;
pub mod clips;
pub mod config;
pub mod log;
pub mod losses;
pub mod mae_loss;
pub mod pretrain;
pub mod run;
pub mod run_dir;

pub use run_dir::RunDir;
