//! The compute backend, chosen at the edge (a CLI flag), never inside model code.

use acula_core::encoder::EncoderConfig;
use burn::tensor::Device;
use clap::ValueEnum;

use crate::Failure;

/// Sequence length (patch tokens + CLS) from which training on `ndarray` recomputes memory-bound operations
/// (see [`Backend::autodiff`]).
const CHECKPOINT_FROM_TOKENS: usize = 512;

/// burn's backends. The GPU ones exist in builds with the `wgpu` or `cuda` feature
/// (`cargo build --release -p acula-trainer --features wgpu`); elsewhere choosing one is a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// burn's `flex` CPU backend (pure Rust, SIMD + threads).
    Flex,
    /// burn's `ndarray` CPU backend (deprecated upstream in favour of flex; kept for comparison).
    Ndarray,
    /// A GPU through wgpu (Vulkan, Metal, DirectX 12); needs the `wgpu` feature.
    Wgpu,
    /// An NVIDIA GPU through CUDA; needs the `cuda` feature.
    Cuda,
}

impl Backend {
    /// The device for inference.
    pub fn device(self) -> Result<Device, Failure> {
        #[allow(unused_variables)] // every GPU feature enabled
        let missing = |feature: &str| -> Result<Device, Failure> {
            Err(Failure::usage(format!(
                "this acula was built without GPU support for --backend {feature}; rebuild with \
                 `cargo build --release -p acula-trainer --features {feature}`"
            )))
        };
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[allow(deprecated)] // measured against flex on purpose (issue 4)
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            Backend::Wgpu => missing("wgpu"),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[cfg(not(feature = "cuda"))]
            Backend::Cuda => missing("cuda"),
        }
    }

    /// The device for training an encoder of `config` (with autodiff). On `ndarray`, for long token
    /// sequences (gt-small's 1,025), with burn's balanced gradient checkpointing: memory-bound
    /// operations (the attention scores' scaling and softmax, …) are recomputed in the backward pass
    /// instead of kept, because burn's attention under autodiff keeps the `[batch, heads, tokens,
    /// tokens]` scores. `flex` runs our attention kernel (`acula_core::kernels`), which keeps no
    /// scores, so it needs none: a gt-small step at batch 8 on 2 cores took 23.9 s and 3.4 GB without
    /// checkpointing against 24.0 s and 3.8 GB with it (`acula bench-model`, issue 22). GPU backends
    /// keep everything (not measured there).
    pub fn autodiff(self, config: &EncoderConfig) -> Result<Device, Failure> {
        let device = self.device()?.autodiff();
        Ok(
            if self == Backend::Ndarray && config.tokens() + 1 >= CHECKPOINT_FROM_TOKENS {
                device.gradient_checkpointing()
            } else {
                device
            },
        )
    }
}
