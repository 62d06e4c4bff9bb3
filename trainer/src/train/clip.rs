//! Gradient clipping by the global norm over all parameters, as PyTorch's `clip_grad_norm_` (which
//! the reference uses): when `‖g‖₂` over every gradient together exceeds `max_norm`, every gradient
//! is scaled by `max_norm / (‖g‖₂ + 1e-6)`. (burn's built-in clipping caps each parameter's gradient
//! separately, which is a different rule.)

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s: f32 = g.powi_scalar(2).sum().into_scalar();
            self.total += f64::from(s);
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Clips `grads` (of `module`'s parameters) to a global norm of `max_norm`; returns the norm before
/// clipping.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut n = SquaredNorm { grads, total: 0.0 };
    module.visit(&mut n);
    let norm = n.total.sqrt();
    if norm > max_norm {
        let factor = (max_norm / (norm + 1e-6)) as f32;
        module.visit(&mut Scale { grads, factor });
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn scales_all_gradients_together() {
        let device = Device::flex().autodiff();
        let lin = LinearConfig::new(2, 1).init(&device);
        // y = w·x + b with x = (3, 4): dy/dw = (3, 4), dy/db = 1 → global norm √(9 + 16 + 1) = √26.
        let x = Tensor::<2>::from_data(TensorData::new(vec![3f32, 4.0], [1, 2]), &device);
        let mut grads = GradientsParams::from_grads(lin.forward(x).sum().backward(), &lin);
        let norm = clip_global_norm(&lin, &mut grads, 1.0);
        assert!((norm - 26f64.sqrt()).abs() < 1e-5, "{norm}");
        let after = clip_global_norm(&lin, &mut grads, 1.0);
        assert!((after - 1.0).abs() < 1e-4, "{after}");
    }
}
