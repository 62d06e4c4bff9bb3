//! The bundle's `model.safetensors`: the alignment run's encoder and audio head in half precision,
//! under their PyTorch names.

use acula_core::weights::{self, NamedTensor};
use burn::tensor::Tensor;

use crate::train::align::AlignModel;
use crate::Failure;

/// A 2-D tensor read back to the host.
pub(crate) fn host(t: Tensor<2>) -> Result<Vec<f32>, Failure> {
    t.try_into_data()
        .map_err(|e| Failure::input(format!("{e:?}")))?
        .try_to_vec()
        .map_err(|e| Failure::input(format!("{e:?}")))
}

/// Values rounded to half precision (what the bundle stores).
pub fn as_half(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| half::f16::from_f32(*x).to_f32()).collect()
}

/// The encoder and audio head as half-precision safetensors.
pub fn model_file(model: &AlignModel) -> Result<Vec<u8>, Failure> {
    let mut named: Vec<NamedTensor> = model
        .mae
        .encoder
        .export_pytorch("encoder.")
        .map_err(|e| Failure::input(e.to_string()))?;
    named.extend(
        model
            .audio_head
            .export_pytorch("audio_head")
            .map_err(|e| Failure::input(e.to_string()))?,
    );
    weights::safetensors_bytes(&named, true).map_err(|e| Failure::input(e.to_string()))
}
