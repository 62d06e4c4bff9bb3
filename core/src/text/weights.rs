//! Reading named tensors from a safetensors file into burn tensors, with typed errors.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use crate::error::ModelError;

/// A parsed safetensors file (borrowing its bytes).
pub struct Weights<'a> {
    st: SafeTensors<'a>,
}

impl<'a> Weights<'a> {
    /// Parses the header of a safetensors file.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| ModelError::BadWeights(format!("not a safetensors file: {e}")))?;
        Ok(Self { st })
    }

    /// Whether the file has a tensor with this name.
    pub fn has(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok()
    }

    /// The tensor `name` as f32 values with its shape; f16/bf16 are widened.
    pub fn values(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), ModelError> {
        let view = self
            .st
            .tensor(name)
            .map_err(|_| ModelError::MissingTensor(name.to_string()))?;
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::BadWeights(format!(
                    "tensor {name} has type {other:?}; only F32, F16 and BF16 are supported"
                )))
            }
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::BadWeights(format!(
                "tensor {name} has a NaN or infinite value at {i}"
            )));
        }
        Ok((values, view.shape().to_vec()))
    }

    /// The tensor `name`, which must have exactly `shape`.
    pub fn tensor<const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>, ModelError> {
        let (values, found) = self.values(name)?;
        if found != shape {
            return Err(ModelError::ShapeMismatch {
                name: name.to_string(),
                expected: shape.to_vec(),
                found,
            });
        }
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// A PyTorch `Linear` weight (`[out, in]`) as burn's `[in, out]` parameter.
    pub fn linear_weight(
        &self,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Param<Tensor<2>>, ModelError> {
        Ok(Param::from_tensor(
            self.tensor(name, [d_out, d_in], device)?.transpose(),
        ))
    }

    /// A 1-D parameter.
    pub fn param1(
        &self,
        name: &str,
        len: usize,
        device: &Device,
    ) -> Result<Param<Tensor<1>>, ModelError> {
        Ok(Param::from_tensor(self.tensor(name, [len], device)?))
    }

    /// A 2-D parameter stored as is (embedding tables).
    pub fn param2(
        &self,
        name: &str,
        shape: [usize; 2],
        device: &Device,
    ) -> Result<Param<Tensor<2>>, ModelError> {
        Ok(Param::from_tensor(self.tensor(name, shape, device)?))
    }
}
