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
mod linear;
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
use linear::Mat;

/// Elements per parallel piece of the GELU (large enough that a thread's start-up is negligible).
#[cfg(not(target_arch = "wasm32"))]
const GELU_PIECE: usize = 1 << 15;

/// The extension: implemented for `flex` and for autodiff over `flex`. Crate-private: the wrappers
/// [`gelu`], [`attention`] and [`linear`] check what the kernels assume (f32 on flex, shapes that fit).
#[backend_extension(Flex, Autodiff)]
pub(crate) trait Kernels: Backend {
    /// Exact GELU, element-wise.
    fn acula_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Multi-head attention from the `[batch, tokens, 3 · heads · w]` projection (q, k, v side by side,
    /// heads side by side in each): softmax(q·kᵀ/√w)·v with the heads merged, `[batch, tokens,
    /// heads · w]`.
    fn acula_attention(qkv: FloatTensor<Self>, heads: usize) -> FloatTensor<Self>;
    /// `x·W + b` for `x` `[m, k]`, `W` `[k, n]`, `b` `[n]`.
    fn acula_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
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

/// Multi-head attention from the `[batch, tokens, 3 · heads · w]` qkv projection (timm's layout), with
/// the heads merged back: `[batch, tokens, heads · w]`. Our kernel on `flex`, otherwise `fallback`
/// (the caller's choice of burn's operations, given the same projection).
pub fn attention(
    qkv: Tensor<3>,
    heads: usize,
    fallback: impl FnOnce(Tensor<3>) -> Tensor<3>,
) -> Tensor<3> {
    let width = qkv.dims()[2];
    if ours(&qkv) && heads > 0 && width.is_multiple_of(3 * heads) {
        Tensor::from_dispatch(<Dispatch as Kernels>::acula_attention(
            qkv.into_dispatch(),
            heads,
        ))
    } else {
        fallback(qkv)
    }
}

/// A linear layer, `x·W + b` over the last dimension: our kernel on `flex` (f32, with a bias),
/// burn's `Linear::forward` otherwise.
pub fn linear<const D: usize>(layer: &burn::nn::Linear, x: Tensor<D>) -> Tensor<D> {
    let Some(bias) = &layer.bias else {
        return layer.forward(x);
    };
    let (weight, bias) = (layer.weight.val(), bias.val());
    if !(ours(&x) && ours(&weight) && ours(&bias)) || D == 0 {
        return layer.forward(x);
    }
    let mut dims = x.dims();
    let k = dims[D - 1];
    let [wk, n] = weight.dims();
    if wk != k || bias.dims() != [n] {
        // Mismatched shapes: burn's operation says so.
        return layer.forward(x);
    }
    let m = dims[..D - 1].iter().product();
    let y = <Dispatch as Kernels>::acula_linear(
        x.reshape([m, k]).into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    );
    dims[D - 1] = n;
    Tensor::<2>::from_dispatch(y).reshape(dims)
}

/// A 2-D f32 view of a flex tensor (a copy first if it has negative strides).
fn positive2(t: &FlexTensor) -> FlexTensor {
    if t.layout().strides().iter().all(|&s| s >= 0) {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

fn mat_of(t: &FlexTensor) -> Mat<'_> {
    let shape = t.layout().shape();
    let s = t.layout().strides();
    let m = Mat {
        data: t.storage::<f32>(),
        offset: t.layout().start_offset(),
        rows: shape[0],
        cols: shape[1],
        strides: [s[0] as usize, s[1] as usize],
    };
    // Cannot fail for a tensor whose layout burn made; checked rather than trusted.
    assert!(m.fits(), "linear input outside its buffer");
    m
}

fn linear_forward(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let (x, w, b) = (positive2(x), positive2(w), contiguous(b));
    let (mx, mw) = (mat_of(&x), mat_of(&w));
    let y = linear::forward(mx, mw, &b.storage::<f32>()[..mw.cols]);
    f32_tensor(y, Shape::new([mx.rows, mw.cols]))
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

/// `t` with non-negative strides (a copy if it had negative ones) and its 3-D strides.
fn positive(t: &FlexTensor) -> (FlexTensor, [usize; 3]) {
    let positive = t.layout().strides().iter().all(|&s| s >= 0);
    let t = if positive {
        t.clone()
    } else {
        t.to_contiguous()
    };
    let s = t.layout().strides();
    let strides = [s[0] as usize, s[1] as usize, s[2] as usize];
    (t, strides)
}

fn dims3(t: &FlexTensor) -> [usize; 3] {
    let s = t.layout().shape();
    [s[0], s[1], s[2]]
}

/// Part `part` (0 for q, 1 for k, 2 for v; 0 for a merged-heads tensor) of a `[batch, tokens, …]`
/// tensor as a `[batch, heads, tokens, w]` view.
fn heads_of<'a>(t: &'a FlexTensor, strides: [usize; 3], d: &Dims, part: usize) -> View<'a> {
    let [sb, sn, sc] = strides;
    let v = View {
        data: t.storage::<f32>(),
        offset: t.layout().start_offset() + part * d.heads * d.w * sc,
        strides: [sb, d.w * sc, sn, sc],
    };
    // Cannot fail for a tensor whose layout burn made; checked rather than trusted.
    assert!(
        v.fits([d.units / d.heads.max(1), d.heads, d.n, d.w]),
        "attention input outside its buffer"
    );
    v
}

fn dims_of(qkv: &FlexTensor, heads: usize) -> Dims {
    let [b, n, c] = dims3(qkv);
    let w = c / (3 * heads);
    Dims {
        heads,
        units: b * heads,
        n,
        w,
        scale: (w.max(1) as f32).powf(-0.5),
    }
}

/// Forward on flex tensors: (output `[batch, tokens, heads · w]`, row log-sum-exps).
fn attention_forward(qkv: &FlexTensor, heads: usize) -> (FlexTensor, FlexTensor) {
    let d = dims_of(qkv, heads);
    let [b, n, _] = dims3(qkv);
    let (t, s) = positive(qkv);
    let (out, lse) = attention::forward(
        heads_of(&t, s, &d, 0),
        heads_of(&t, s, &d, 1),
        heads_of(&t, s, &d, 2),
        d,
    );
    (
        f32_tensor(out, Shape::new([b, n, heads * d.w])),
        f32_tensor(lse, Shape::new([b, heads, n])),
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

    fn acula_attention(qkv: FloatTensor<Self>, heads: usize) -> FloatTensor<Self> {
        attention_forward(&qkv, heads).0
    }

    fn acula_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        linear_forward(&x, &weight, &bias)
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

    fn acula_attention(qkv: FloatTensor<Self>, heads: usize) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionBackward;

        /// The projection, the head count, the output and the row log-sum-exps.
        type Saved = (FlexTensor, usize, FlexTensor, FlexTensor);

        impl Backward<Flex, 1> for AttentionBackward {
            type State = Saved;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [parent] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let Some(parent) = parent else { return };
                let (qkv, heads, o, lse) = ops.state;
                let d = dims_of(&qkv, heads);
                let (t, s) = positive(&qkv);
                let (g, gs) = positive(&grad);
                // `o` and `lse` are the contiguous tensors the forward made.
                let dqkv = attention::backward(
                    heads_of(&t, s, &d, 0),
                    heads_of(&t, s, &d, 1),
                    heads_of(&t, s, &d, 2),
                    o.storage::<f32>(),
                    lse.storage::<f32>(),
                    heads_of(&g, gs, &d, 0),
                    d,
                );
                grads.register::<Flex>(parent.id, f32_tensor(dqkv, Shape::new(dims3(&qkv))));
            }
        }

        match AttentionBackward
            .prepare::<C>([qkv.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = qkv.primitive().clone();
                let (out, lse) = attention_forward(&input, heads);
                prep.finish((input, heads, out.clone(), lse), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(attention_forward(qkv.primitive(), heads).0),
        }
    }

    fn acula_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearBackward;

        impl Backward<Flex, 3> for LinearBackward {
            /// The input and the weight.
            type State = (FlexTensor, FlexTensor);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [nx, nw, nb] = ops.parents;
                let grad = positive2(&grads.consume::<Flex>(&ops.node));
                let (x, w) = (positive2(&ops.state.0), positive2(&ops.state.1));
                let (mx, mw) = (mat_of(&x), mat_of(&w));
                // Only the gradients some parent needs (a patch embedding's input needs none).
                let (dx, dw, db) =
                    linear::backward(mx, mw, mat_of(&grad), nx.is_some(), nw.is_some());
                let parts = [
                    (nx, dx, Shape::new([mx.rows, mx.cols])),
                    (nw, dw, Shape::new([mw.rows, mw.cols])),
                    (nb, db, Shape::new([mw.cols])),
                ];
                for (node, values, shape) in parts {
                    if let Some(node) = node {
                        grads.register::<Flex>(node.id, f32_tensor(values, shape));
                    }
                }
            }
        }

        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let y = linear_forward(&xp, &wp, bias.primitive());
                prep.finish((xp, wp), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(linear_forward(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
            )),
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

    /// burn's own operations, as the encoder's fallback does it.
    fn reference(qkv: Tensor<3>, heads: usize) -> Tensor<3> {
        let [b, n, c] = qkv.dims();
        let w = c / (3 * heads);
        let split = |i: usize| {
            qkv.clone()
                .narrow(2, i * heads * w, heads * w)
                .reshape([b, n, heads, w])
                .swap_dims(1, 2)
        };
        let scores = split(0)
            .matmul(split(1).transpose())
            .mul_scalar((w as f32).powf(-0.5));
        softmax(scores, 3)
            .matmul(split(2))
            .swap_dims(1, 2)
            .reshape([b, n, heads * w])
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
    fn attention_matches_burns_forward_and_backward() {
        let device = Device::flex().autodiff();
        // 97 tokens: a full tile and a partial one.
        let (b, n, h, w) = (2, 97, 3, 16);
        let x = Tensor::<3>::random([b, n, 3 * h * w], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        // A strided projection, as a slice of a wider one would be; one graph per side (burn's
        // backward consumes the tape).
        let qkv =
            || Tensor::cat(vec![x.clone(), x.clone().mul_scalar(0.5)], 2).narrow(2, 0, 3 * h * w);
        let ours = attention(qkv(), h, |t| reference(t, h));
        let theirs = reference(qkv(), h);
        assert!(max_diff(ours.clone(), theirs.clone()) < 2e-6);
        let weights = Tensor::<3>::random([b, n, h * w], Distribution::Default, &device);
        let g1 = (ours * weights.clone()).sum().backward();
        let a = x.grad(&g1).expect("gradient through our attention");
        let g2 = (theirs * weights).sum().backward();
        let c = x.grad(&g2).expect("gradient through burn's attention");
        assert!(max_diff(a, c) < 1e-5);
    }

    #[test]
    fn linear_matches_burns_forward_and_backward() {
        let device = Device::flex().autodiff();
        let layer = burn::nn::LinearConfig::new(24, 40).init(&device);
        let x = Tensor::<3>::random([3, 17, 24], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let weights = Tensor::<3>::random([3, 17, 40], Distribution::Default, &device);
        let ours = linear(&layer, x.clone());
        let theirs = layer.forward(x.clone());
        assert!(max_diff(ours.clone(), theirs.clone()) < 1e-5);
        let g1 = (ours * weights.clone()).sum().backward();
        let g2 = (theirs * weights).sum().backward();
        let w = layer.weight.val();
        let b = layer.bias.as_ref().expect("a bias").val();
        for (a, c) in [
            (x.grad(&g1).unwrap(), x.grad(&g2).unwrap()),
            (
                w.grad(&g1).unwrap().unsqueeze::<3>(),
                w.grad(&g2).unwrap().unsqueeze(),
            ),
            (
                b.grad(&g1).unwrap().unsqueeze::<3>(),
                b.grad(&g2).unwrap().unsqueeze(),
            ),
        ] {
            assert!(max_diff(a, c) < 1e-4);
        }
    }
}
