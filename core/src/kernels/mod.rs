//! Our own CPU kernels for the two operations where burn's `flex` backend is slowest for the encoder,
//! registered as a burn backend extension so that they run inside a model like any other operation,
//! with their own backward passes under autodiff:
//!
//! - [`gelu`]: the exact (erf) GELU, vectorised and split across threads (flex runs libm's scalar
//!   `erff` on one core, forward and backward);
//! - [`attention`]: softmax(q·kᵀ/√w)·v a tile of query rows at a time, with a backward pass that
//!   recomputes the scores instead of keeping the `[batch, heads, tokens, tokens]` matrix (burn
//!   decomposes attention under autodiff and keeps it: 600 MB per block for gt-small at batch 24).
//!
//! Both are used on the `flex` device with f32 tensors, with or without autodiff; on other devices
//! (wgpu, CUDA, ndarray) and other float types the callers get burn's own operations, unchanged.

mod attention;
mod math;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, DType, Dispatch, Flex};
use burn::tensor::{Device, Shape, Tensor, TensorData};

use attention::{Dims, View};

/// Elements per parallel piece of the GELU (large enough that a thread's start-up is negligible).
#[cfg(not(target_arch = "wasm32"))]
const GELU_PIECE: usize = 1 << 15;

/// The extension: implemented for `flex` and for autodiff over `flex`.
#[backend_extension(Flex, Autodiff)]
pub trait Kernels: Backend {
    /// Exact GELU, element-wise.
    fn acula_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// softmax(q·kᵀ/√w)·v for `[batch, heads, tokens, w]` inputs; the output is contiguous.
    fn acula_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// Whether our kernels take this tensor: f32 on the `flex` device (with or without autodiff).
fn ours<const D: usize>(x: &Tensor<D>) -> bool {
    x.dtype() == DType::F32 && x.device() == Device::flex()
}

/// Exact GELU: our kernel on `flex`, burn's elsewhere.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if ours(&x) {
        Tensor::from_dispatch(<Dispatch as Kernels>::acula_gelu(x.into_dispatch()))
    } else {
        burn::tensor::activation::gelu(x)
    }
}

/// softmax(q·kᵀ/√w)·v over `[batch, heads, tokens, w]`: our kernel on `flex`, otherwise `fallback`
/// (the caller's choice of burn's operations).
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    fallback: impl FnOnce(Tensor<4>, Tensor<4>, Tensor<4>) -> Tensor<4>,
) -> Tensor<4> {
    if ours(&q) && ours(&k) && ours(&v) && q.dims() == k.dims() && q.dims() == v.dims() {
        Tensor::from_dispatch(<Dispatch as Kernels>::acula_attention(
            q.into_dispatch(),
            k.into_dispatch(),
            v.into_dispatch(),
        ))
    } else {
        fallback(q, k, v)
    }
}

/// A contiguous f32 copy of `t`'s values unless it already is one (then a cheap clone).
fn contiguous(t: &FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

/// `t` itself when contiguous from offset 0 (keeping it the only owner of its buffer), else a copy.
fn into_contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

fn f32_tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// A strided view of a 4-D f32 tensor; a copy is made first if it has negative strides or does not fit.
fn view_of(t: &FlexTensor) -> (FlexTensor, [usize; 4]) {
    let positive = t.layout().strides().iter().all(|&s| s >= 0);
    let t = if positive {
        t.clone()
    } else {
        t.to_contiguous()
    };
    let s = t.layout().strides();
    let strides = [s[0] as usize, s[1] as usize, s[2] as usize, s[3] as usize];
    (t, strides)
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

fn make_view<'a>(t: &'a FlexTensor, strides: [usize; 4]) -> View<'a> {
    let v = View {
        data: t.storage::<f32>(),
        offset: t.layout().start_offset(),
        strides,
    };
    assert!(v.fits(dims4(t)), "attention input outside its buffer");
    v
}

fn dims_of(q: &FlexTensor) -> Dims {
    let [b, h, n, w] = dims4(q);
    Dims {
        heads: h,
        units: b * h,
        n,
        w,
        scale: (w.max(1) as f32).powf(-0.5),
    }
}

/// Forward on flex tensors: (output, row log-sum-exps).
fn attention_forward(q: &FlexTensor, k: &FlexTensor, v: &FlexTensor) -> (FlexTensor, FlexTensor) {
    let [b, h, n, w] = dims4(q);
    let ((qt, qs), (kt, ks), (vt, vs)) = (view_of(q), view_of(k), view_of(v));
    let (out, lse) = attention::forward(
        make_view(&qt, qs),
        make_view(&kt, ks),
        make_view(&vt, vs),
        dims_of(q),
    );
    (
        f32_tensor(out, Shape::new([b, h, n, w])),
        f32_tensor(lse, Shape::new([b, h, n])),
    )
}

fn gelu_flex(x: FlexTensor) -> FlexTensor {
    let shape = x.layout().shape().clone();
    let mut x = into_contiguous(x);
    let n = shape.num_elements();
    // In place when this is the only reference to a contiguous buffer; a copy otherwise.
    let values: &mut [f32] = match x.try_storage_mut::<f32>() {
        Some(v) => v,
        None => {
            x = FlexTensor::from_data(x.into_data());
            x.storage_mut::<f32>()
        }
    };
    let values = &mut values[..n];
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        values
            .par_chunks_mut(GELU_PIECE)
            .for_each(math::gelu_in_place);
    }
    #[cfg(target_arch = "wasm32")]
    math::gelu_in_place(values);
    x.with_layout(Layout::contiguous(shape))
}

fn gelu_backward_flex(x: &FlexTensor, grad: FlexTensor) -> FlexTensor {
    let shape = x.layout().shape().clone();
    let x = contiguous(x);
    let mut g = into_contiguous(grad);
    let n = shape.num_elements();
    let xs = &x.storage::<f32>()[..n];
    let gs = &mut g.storage_mut::<f32>()[..n];
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        gs.par_chunks_mut(GELU_PIECE)
            .zip(xs.par_chunks(GELU_PIECE))
            .for_each(|(g, x)| math::gelu_grad_in_place(x, g));
    }
    #[cfg(target_arch = "wasm32")]
    math::gelu_grad_in_place(xs, gs);
    g.with_layout(Layout::contiguous(shape))
}

impl Kernels for Flex {
    fn acula_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        gelu_flex(x)
    }

    fn acula_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        attention_forward(&q, &k, &v).0
    }
}

impl<C: CheckpointStrategy> Kernels for Autodiff<Flex, C> {
    fn acula_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GeluBackward;

        impl Backward<Flex, 1> for GeluBackward {
            type State = FlexTensor;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [parent] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                if let Some(parent) = parent {
                    grads.register::<Flex>(parent.id, gelu_backward_flex(&ops.state, grad));
                }
            }
        }

        match GeluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                prep.finish(input.clone(), gelu_flex(input))
            }
            OpsKind::UnTracked(prep) => prep.finish(gelu_flex(x.into_primitive())),
        }
    }

    fn acula_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionBackward;

        /// q, k, v, the output and the row log-sum-exps.
        type Saved = (FlexTensor, FlexTensor, FlexTensor, FlexTensor, FlexTensor);

        impl Backward<Flex, 3> for AttentionBackward {
            type State = Saved;

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [nq, nk, nv] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (q, k, v, o, lse) = ops.state;
                let shape = Shape::new(dims4(&q));
                let ((qt, qs), (kt, ks), (vt, vs)) = (view_of(&q), view_of(&k), view_of(&v));
                let (gt, gs) = view_of(&grad);
                let (o, lse) = (contiguous(&o), contiguous(&lse));
                let (dq, dk, dv) = attention::backward(
                    make_view(&qt, qs),
                    make_view(&kt, ks),
                    make_view(&vt, vs),
                    o.storage::<f32>(),
                    lse.storage::<f32>(),
                    make_view(&gt, gs),
                    dims_of(&q),
                );
                for (node, values) in [(nq, dq), (nk, dk), (nv, dv)] {
                    if let Some(node) = node {
                        grads.register::<Flex>(node.id, f32_tensor(values, shape.clone()));
                    }
                }
            }
        }

        match AttentionBackward
            .prepare::<C>([q.node(), k.node(), v.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (qp, kp, vp) = (
                    q.primitive().clone(),
                    k.primitive().clone(),
                    v.primitive().clone(),
                );
                let (out, lse) = attention_forward(&qp, &kp, &vp);
                prep.finish((qp, kp, vp, out.clone(), lse), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(attention_forward(q.primitive(), k.primitive(), v.primitive()).0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::softmax;
    use burn::tensor::Distribution;

    fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    fn reference(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
        let w = q.dims()[3] as f32;
        softmax(q.matmul(k.transpose()).mul_scalar(w.powf(-0.5)), 3).matmul(v)
    }

    #[test]
    fn gelu_matches_burns_forward_and_backward() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            let mut x = Tensor::<3>::random([3, 17, 40], Distribution::Normal(0.0, 3.0), &device);
            if device.is_autodiff() {
                x = x.require_grad();
            }
            let ours = gelu(x.clone());
            let theirs = burn::tensor::activation::gelu(x.clone());
            assert!(max_diff(ours.clone(), theirs.clone()) < 1e-6);
            if device.is_autodiff() {
                let weights = Tensor::<3>::random([3, 17, 40], Distribution::Default, &device);
                let g1 = (ours * weights.clone()).sum().backward();
                let a = x.grad(&g1).expect("gradient of our GELU");
                let g2 = (theirs * weights).sum().backward();
                let b = x.grad(&g2).expect("gradient of burn's GELU");
                assert!(max_diff(a, b) < 1e-6);
            }
        }
    }

    #[test]
    fn attention_matches_burns_on_strided_heads_forward_and_backward() {
        let device = Device::flex().autodiff();
        // Heads as views of one projection, as the encoder makes them: [b, n, 3·h·w] → 3 × [b, h, n, w].
        let (b, n, h, w) = (2, 97, 3, 16);
        let qkv = Tensor::<3>::random([b, n, 3 * h * w], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let split = |i: usize| {
            qkv.clone()
                .narrow(2, i * h * w, h * w)
                .reshape([b, n, h, w])
                .swap_dims(1, 2)
        };
        let ours = attention(split(0), split(1), split(2), reference);
        let theirs = reference(split(0), split(1), split(2));
        assert!(max_diff(ours.clone(), theirs.clone()) < 2e-6);
        let weights = Tensor::<4>::random([b, h, n, w], Distribution::Default, &device);
        let g1 = (ours * weights.clone()).sum().backward();
        let a = qkv.grad(&g1).expect("gradient through our attention");
        let g2 = (theirs * weights).sum().backward();
        let c = qkv.grad(&g2).expect("gradient through burn's attention");
        assert!(max_diff(a, c) < 1e-5);
    }
}
