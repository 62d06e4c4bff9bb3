//! Safetensors in and out: reading named tensors into burn parameters with typed errors ([`Weights`]),
//! writing named tensors ([`safetensors_bytes`]), and the two layers every model here shares, burn's
//! `Linear` and `LayerNorm`, both ways under PyTorch's names (`{prefix}.weight`, `{prefix}.bias`;
//! a linear weight stored `[out, in]`).
//!
//! The encoder, the MAE decoder, the projection heads, the bundle and the MiniLM teacher all read and
//! write through here. SmolLM2 does not: its weights come from a GGUF file (`lm::gguf`), its linear
//! layers have no bias and its norms are RMSNorms.

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use crate::error::{BundleError, ModelError};

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

    /// A PyTorch `Linear` (`{prefix}.weight` `[d_out, d_in]`, `{prefix}.bias` `[d_out]`) as burn's
    /// `Linear` (weight `[d_in, d_out]`, the transposed view of the stored matrix).
    pub fn linear(
        &self,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Linear, ModelError> {
        let name = format!("{prefix}.weight");
        let (values, found) = self.values(&name)?;
        if found != [d_out, d_in] {
            return Err(ModelError::ShapeMismatch {
                name,
                expected: vec![d_out, d_in],
                found,
            });
        }
        // Transposed here, into a contiguous `[d_in, d_out]` buffer: a transposed view would be
        // copied again by every forward pass (burn's linear reshapes its weight, 7% of a gt-small
        // pass on the CPU).
        let mut transposed = vec![0.0f32; values.len()];
        for (o, row) in values.chunks_exact(d_in.max(1)).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                transposed[i * d_out + o] = v;
            }
        }
        let weight = Tensor::from_data(TensorData::new(transposed, [d_in, d_out]), device);
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias: Some(self.param1(&format!("{prefix}.bias"), d_out, device)?),
        })
    }

    /// A LayerNorm of width `dim` from `{prefix}.weight` (γ) and `{prefix}.bias` (β).
    pub fn layer_norm(
        &self,
        prefix: &str,
        dim: usize,
        eps: f64,
        device: &Device,
    ) -> Result<LayerNorm, ModelError> {
        let mut n = LayerNormConfig::new(dim).with_epsilon(eps).init(device);
        n.gamma = self.param1(&format!("{prefix}.weight"), dim, device)?;
        n.beta = Some(self.param1(&format!("{prefix}.bias"), dim, device)?);
        Ok(n)
    }
}

/// A named tensor to write: `(name, shape, row-major values)`.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// `t` read back to the host as a [`NamedTensor`] with `shape` (row-major; `shape` may regroup the
/// tensor's own dimensions).
pub fn named<const D: usize>(
    name: String,
    shape: Vec<usize>,
    t: Tensor<D>,
) -> Result<NamedTensor, ModelError> {
    let values = t
        .try_into_data()
        .map_err(|e| ModelError::Backend(format!("{e:?}")))?
        .try_to_vec()
        .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
    Ok((name, shape, values))
}

/// A burn `Linear` as PyTorch's `{prefix}.weight` `[out, in]` and `{prefix}.bias` (the inverse of
/// [`Weights::linear`]).
pub fn export_linear(
    l: &Linear,
    prefix: &str,
    out: &mut Vec<NamedTensor>,
) -> Result<(), ModelError> {
    let [d_in, d_out] = l.weight.val().dims();
    out.push(named(
        format!("{prefix}.weight"),
        vec![d_out, d_in],
        l.weight.val().transpose(),
    )?);
    if let Some(b) = &l.bias {
        out.push(named(format!("{prefix}.bias"), vec![d_out], b.val())?);
    }
    Ok(())
}

/// A LayerNorm as `{prefix}.weight` and `{prefix}.bias` (the inverse of [`Weights::layer_norm`]).
pub fn export_layer_norm(
    n: &LayerNorm,
    prefix: &str,
    out: &mut Vec<NamedTensor>,
) -> Result<(), ModelError> {
    let d = n.gamma.val().dims()[0];
    out.push(named(format!("{prefix}.weight"), vec![d], n.gamma.val())?);
    if let Some(b) = &n.beta {
        out.push(named(format!("{prefix}.bias"), vec![d], b.val())?);
    }
    Ok(())
}

/// Serialises tensors as a safetensors file, in half precision when `half` (else f32). Its errors are
/// the bundle's (a tensor whose shape does not hold its values): every file it writes is a bundle file.
pub fn safetensors_bytes(tensors: &[NamedTensor], half: bool) -> Result<Vec<u8>, BundleError> {
    use safetensors::tensor::TensorView;
    let raw: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| {
            if half {
                v.iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect()
            } else {
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
        })
        .collect();
    let dtype = if half { Dtype::F16 } else { Dtype::F32 };
    let mut views = Vec::with_capacity(tensors.len());
    for ((name, shape, values), bytes) in tensors.iter().zip(&raw) {
        if shape.iter().product::<usize>() != values.len() {
            return Err(BundleError::Inconsistent(format!(
                "tensor {name}: shape {shape:?} does not hold {} values",
                values.len()
            )));
        }
        let view = TensorView::new(dtype, shape.clone(), bytes)
            .map_err(|e| BundleError::Inconsistent(format!("tensor {name}: {e}")))?;
        views.push((name.clone(), view));
    }
    safetensors::serialize(views, None)
        .map_err(|e| BundleError::Inconsistent(format!("safetensors: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear layer and a LayerNorm written and read back are the same layers, in f32 exactly and
    /// in f16 to half precision; the PyTorch layout is `[out, in]`.
    #[test]
    fn linear_and_layer_norm_round_trip() {
        let device = Device::flex();
        let lin = burn::nn::LinearConfig::new(3, 2).init(&device);
        let norm = LayerNormConfig::new(3).init(&device);
        let mut named = Vec::new();
        export_linear(&lin, "fc", &mut named).unwrap();
        export_layer_norm(&norm, "ln", &mut named).unwrap();
        let shapes: Vec<(&str, &[usize])> = named
            .iter()
            .map(|(n, s, _)| (n.as_str(), s.as_slice()))
            .collect();
        assert_eq!(
            shapes,
            [
                ("fc.weight", &[2, 3][..]),
                ("fc.bias", &[2]),
                ("ln.weight", &[3]),
                ("ln.bias", &[3]),
            ]
        );
        let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        // Row o of the PyTorch weight is column o of burn's.
        let burn_w = read(lin.weight.val());
        assert_eq!(named[0].2[1], burn_w[2]); // PyTorch [0][1] = burn [1][0]

        for half in [false, true] {
            let bytes = safetensors_bytes(&named, half).unwrap();
            let w = Weights::parse(&bytes).unwrap();
            let lin2 = w.linear("fc", 3, 2, &device).unwrap();
            let norm2 = w.layer_norm("ln", 3, 1e-5, &device).unwrap();
            let tol = if half { 1e-3 } else { 0.0 };
            for (a, b) in burn_w.iter().zip(read(lin2.weight.val())) {
                assert!((a - b).abs() <= tol, "{a} vs {b}");
            }
            let mut again = Vec::new();
            export_linear(&lin2, "fc", &mut again).unwrap();
            export_layer_norm(&norm2, "ln", &mut again).unwrap();
            for ((n1, s1, v1), (n2, s2, v2)) in named.iter().zip(&again) {
                assert_eq!((n1, s1), (n2, s2));
                for (a, b) in v1.iter().zip(v2) {
                    assert!((a - b).abs() <= tol, "{n1}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn missing_wrong_shaped_and_bad_tensors_are_named() {
        let device = Device::flex();
        let bytes =
            safetensors_bytes(&[("a.weight".into(), vec![2, 2], vec![0.0; 4])], false).unwrap();
        let w = Weights::parse(&bytes).unwrap();
        assert!(w.has("a.weight") && !w.has("a.bias"));
        assert_eq!(
            w.linear("a", 2, 2, &device).unwrap_err(),
            ModelError::MissingTensor("a.bias".into())
        );
        assert!(matches!(
            w.linear("a", 4, 1, &device),
            Err(ModelError::ShapeMismatch { name, expected, found })
                if name == "a.weight" && expected == [1, 4] && found == [2, 2]
        ));
        assert!(matches!(
            Weights::parse(b"not safetensors"),
            Err(ModelError::BadWeights(_))
        ));
        let nan = safetensors_bytes(&[("x".into(), vec![2], vec![1.0, f32::NAN])], false).unwrap();
        assert!(matches!(
            Weights::parse(&nan).unwrap().values("x"),
            Err(ModelError::BadWeights(m)) if m.contains("at 1")
        ));
        assert!(matches!(
            safetensors_bytes(&[("y".into(), vec![3], vec![0.0; 2])], false),
            Err(BundleError::Inconsistent(m)) if m.contains("tensor y")
        ));
    }
}
