//! The alignment losses between projected audio embeddings `A` and text embeddings `T` (both
//! `[batch, 512]`), as the reference describes them (REFERENCE.md, "Teacher and alignment"):
//!
//! - [`AlignLoss::ReleasedCka`], the form in the authors' released code (named "CKA" there): centre
//!   both over the batch, `Ga = AᵀA`, `Gt = TᵀT`, `L = 1 − ⟨Ga, Gt⟩_F / (‖Ga‖_F ‖Gt‖_F)`. It compares
//!   the feature covariances of the two sides, not the pairing of examples.
//! - [`AlignLoss::LinearCka`], textbook linear CKA (Kornblith et al., 2019) on the same centred
//!   matrices: `1 − ‖AᵀT‖²_F / (‖AᵀA‖_F ‖TᵀT‖_F)`, which does depend on which audio goes with which text.
//! - [`AlignLoss::InfoNce`], symmetric InfoNCE (CLIP; Radford et al., 2021): cosine logits scaled by a
//!   learnable temperature, cross-entropy audio → text and text → audio with the matching pair as the
//!   target, averaged.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Tensor, TensorData};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// Which alignment loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AlignLoss {
    /// The released code's "CKA" (feature-covariance similarity).
    ReleasedCka,
    /// Textbook linear CKA.
    LinearCka,
    /// Symmetric InfoNCE with a learnable temperature.
    InfoNce,
}

fn centre(x: Tensor<2>) -> Tensor<2> {
    let mean = x.clone().mean_dim(0); // [1, d]
    x - mean
}

fn frobenius(x: Tensor<2>) -> Tensor<1> {
    x.powi_scalar(2).sum().sqrt()
}

/// The loss value, `[1]`. `log_scale` is InfoNCE's learnable log inverse temperature (ignored by the
/// CKA forms).
///
/// # Shapes
/// - a, t: `[batch, d]`
pub fn align_loss(kind: AlignLoss, a: Tensor<2>, t: Tensor<2>, log_scale: Tensor<1>) -> Tensor<1> {
    match kind {
        AlignLoss::ReleasedCka => {
            let (a, t) = (centre(a), centre(t));
            let ga = a.clone().transpose().matmul(a); // [d, d]
            let gt = t.clone().transpose().matmul(t); // [d, d]
            let inner = (ga.clone() * gt.clone()).sum();
            let denom = frobenius(ga) * frobenius(gt) + 1e-12;
            (inner / denom).neg() + 1.0
        }
        AlignLoss::LinearCka => {
            let (a, t) = (centre(a), centre(t));
            let cross = a.clone().transpose().matmul(t.clone()); // [d, d]
            let num = cross.powi_scalar(2).sum();
            let ga = a.clone().transpose().matmul(a);
            let gt = t.clone().transpose().matmul(t);
            let denom = frobenius(ga) * frobenius(gt) + 1e-12;
            (num / denom).neg() + 1.0
        }
        AlignLoss::InfoNce => {
            let [b, _] = a.dims();
            let device = a.device();
            let unit = |x: Tensor<2>| {
                let n = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-8); // [b, 1]
                x / n
            };
            let logits = unit(a).matmul(unit(t).transpose()) * log_scale.exp().reshape([1, 1]); // [b, b]
            let eye = Tensor::<2>::from_data(
                TensorData::new(
                    (0..b * b)
                        .map(|i| if i / b == i % b { 1f32 } else { 0.0 })
                        .collect::<Vec<_>>(),
                    [b, b],
                ),
                &device,
            );
            let a2t = (log_softmax(logits.clone(), 1) * eye.clone())
                .sum()
                .div_scalar(b as f32);
            let t2a = (log_softmax(logits, 0) * eye).sum().div_scalar(b as f32);
            (a2t + t2a).div_scalar(-2.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn t(v: &[f32], rows: usize) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(v.to_vec(), [rows, v.len() / rows]),
            &Device::flex(),
        )
    }

    fn value(kind: AlignLoss, a: Tensor<2>, b: Tensor<2>, log_scale: f32) -> f32 {
        let s = Tensor::<1>::from_data(TensorData::new(vec![log_scale], [1]), &Device::flex());
        align_loss(kind, a, b, s).into_scalar()
    }

    #[test]
    fn identical_sides_give_zero_for_the_cka_forms() {
        let a = t(&[1., 0., 0., 2., 3., 1., -1., 4.], 4);
        for k in [AlignLoss::ReleasedCka, AlignLoss::LinearCka] {
            assert!(value(k, a.clone(), a.clone(), 0.0).abs() < 1e-5, "{k:?}");
        }
    }

    #[test]
    fn only_the_textbook_forms_care_about_the_pairing() {
        // Swapping which text goes with which audio leaves AᵀA and TᵀT unchanged, so the released
        // form cannot see it; linear CKA and InfoNCE get worse.
        let a = t(&[1., 0., 0., 1., 1., 1., -1., 2.], 4);
        let paired = a.clone();
        let shuffled = t(&[0., 1., 1., 0., -1., 2., 1., 1.], 4); // rows 0↔1, 2↔3
        let r = |b: &Tensor<2>| value(AlignLoss::ReleasedCka, a.clone(), b.clone(), 0.0);
        assert!((r(&paired) - r(&shuffled)).abs() < 1e-5);
        let l = |b: &Tensor<2>| value(AlignLoss::LinearCka, a.clone(), b.clone(), 0.0);
        assert!(l(&shuffled) > l(&paired) + 0.1);
        let n = |b: &Tensor<2>| value(AlignLoss::InfoNce, a.clone(), b.clone(), 2.0);
        assert!(n(&shuffled) > n(&paired));
    }

    #[test]
    fn infonce_of_orthogonal_pairs_matches_the_hand_value() {
        // A = T = I₂, scale e^0 = 1: logits = I; each row's log-softmax at the diagonal is
        // 1 − ln(e + 1) = −0.31326; the loss is 0.31326 in both directions.
        let a = t(&[1., 0., 0., 1.], 2);
        let v = value(AlignLoss::InfoNce, a.clone(), a, 0.0);
        assert!((v - 0.313_261_7).abs() < 1e-5, "{v}");
    }
}
