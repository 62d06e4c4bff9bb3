//! The `acula` command line's library: datasets, reports, teachers, training, evaluation and export.
//! The binary (`src/main.rs`) parses the flags and calls each command's `run`; the library also lets
//! the fuzz targets (`fuzz/`) reach the readers.

pub mod adam;
pub mod backend;
pub mod bench_model;
pub mod bundle_dir;
pub mod cache;
pub mod data;
pub mod decode;
pub mod embed;
pub mod embed_audio;
pub mod eval;
pub mod export;
pub mod features;
pub mod fuzzing;
pub mod metrics;
pub mod npy;
pub mod output;
pub mod predict;
pub mod progress;
pub mod recipe;
pub mod reports;
pub mod rng;
pub mod search;
pub mod synth;
pub mod train;

/// A failure with its exit code and a one-line message.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// The input could not be processed.
    pub fn input(message: String) -> Self {
        Self { code: 1, message }
    }
    /// Bad flags or configuration.
    pub fn usage(message: String) -> Self {
        Self { code: 2, message }
    }
    /// The output could not be written.
    pub fn output(message: String) -> Self {
        Self { code: 3, message }
    }
    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The process exit code: 1 input, 2 usage, 3 output.
    pub fn code(&self) -> u8 {
        self.code
    }
}
