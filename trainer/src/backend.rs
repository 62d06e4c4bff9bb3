//! The compute backend, chosen at the edge (a CLI flag), never inside model code.

use burn::tensor::Device;
use clap::ValueEnum;

/// CPU backends of burn (GPU backends come with the `wgpu`/`cuda` features, see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn's `flex` CPU backend (pure Rust, SIMD + threads).
    Flex,
    /// burn's `ndarray` CPU backend (deprecated upstream in favour of flex; kept for comparison).
    Ndarray,
}

impl Backend {
    /// The device for inference.
    pub fn device(self) -> Device {
        match self {
            Backend::Flex => Device::flex(),
            #[allow(deprecated)] // measured against flex on purpose (issue 4)
            Backend::Ndarray => Device::ndarray(),
        }
    }

    /// The device for training (with autodiff).
    pub fn autodiff(self) -> Device {
        self.device().autodiff()
    }
}
