//! Multi-head attention, softmax(q·kᵀ·s)·v, computed a tile of query rows at a time so that the
//! `[tokens, tokens]` score matrix never exists whole, with its backward pass recomputing the scores
//! from the saved row log-sum-exps (the memory-efficient scheme of Rabe & Staats, 2021, and
//! FlashAttention, Dao et al., 2022). The products are gemm's (the same vectorised kernels as burn's
//! matmul); the softmax uses the vectorised `exp` of [`super::math`]. One unit of work is one
//! (batch, head) pair; units run in parallel on native builds.
//!
//! Inputs are strided f32 views (the heads are slices of the `qkv` projection, not copies); outputs
//! are contiguous.

use gemm::{gemm, Parallelism};

use super::math::{exp_in_place, exp_shifted_sum};

/// Query rows per tile: a 64 × 1,025 score tile is 263 kB (fits in L2 with its gradient twin).
const TILE: usize = 64;

/// A read-only f32 view of a `[batch, heads, tokens, width]` tensor by element strides.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    /// Strides of batch, head, token, width (in elements, non-negative).
    pub strides: [usize; 4],
}

impl View<'_> {
    /// Pointer to (batch b, head h, token 0, width 0) of unit `u = b·heads + h`.
    fn unit_ptr(&self, u: usize, heads: usize) -> *const f32 {
        let (b, h) = (u / heads, u % heads);
        let at = self.offset + b * self.strides[0] + h * self.strides[1];
        // In bounds: the caller checked that the view's last element is inside `data`.
        self.data[at..].as_ptr()
    }

    /// Whether every element of a `dims`-shaped view lies inside `data`.
    pub(crate) fn fits(&self, dims: [usize; 4]) -> bool {
        if dims.contains(&0) {
            return true;
        }
        let last: usize = self.offset
            + (0..4)
                .map(|i| (dims[i] - 1) * self.strides[i])
                .sum::<usize>();
        last < self.data.len()
    }
}

/// Shapes of one call: `units` = batch · heads, `n` tokens, `w` width per head.
#[derive(Clone, Copy)]
pub(crate) struct Dims {
    pub heads: usize,
    pub units: usize,
    pub n: usize,
    pub w: usize,
    pub scale: f32,
}

/// `dst (m×n, row stride dst_rs) = beta · lhs·rhs (+ dst if accumulate)`, single-threaded.
///
/// # Safety
/// Every pointer with its strides must address valid memory for the shapes given, and `dst` must not
/// overlap the inputs.
#[allow(clippy::too_many_arguments)]
unsafe fn mm(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: usize,
    accumulate: bool,
    lhs: (*const f32, usize, usize),
    rhs: (*const f32, usize, usize),
    beta: f32,
) {
    // gemm's convention: dst = alpha·dst + beta·lhs·rhs, strides as (column, row).
    gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs as isize,
        accumulate,
        lhs.0,
        lhs.2 as isize,
        lhs.1 as isize,
        rhs.0,
        rhs.2 as isize,
        rhs.1 as isize,
        1.0,
        beta,
        false,
        false,
        false,
        Parallelism::None,
    )
}

/// Runs `f(unit)` for every unit, in parallel where threads exist.
fn for_units(units: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..units).into_par_iter().for_each(f);
    }
    #[cfg(target_arch = "wasm32")]
    (0..units).for_each(f);
}

/// An output buffer that the units write in disjoint, interleaved places.
#[derive(Clone, Copy)]
struct Shared(*mut f32);

// SAFETY: each unit writes only its own elements (its rows in the token-major layout, its own
// `lse` entries), so concurrent writers never touch the same memory.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer `at` elements in. A method (not the field) so that closures capture the whole
    /// `Send + Sync` wrapper.
    fn at(self, at: usize) -> *mut f32 {
        self.0.wrapping_add(at)
    }
}

/// Where unit `u`'s (token 0, width 0) is in a token-major buffer whose rows (tokens) are `row`
/// elements apart, with the heads side by side in each row: `[batch, tokens, …, heads, w, …]`. The
/// outputs use such layouts so that merging the heads (`[batch, tokens, heads · w]`) or the q, k, v
/// gradients (`[batch, tokens, 3 · heads · w]`, the projection's layout) needs no copy.
fn token_major(u: usize, d: &Dims, row: usize) -> usize {
    let (b, h) = (u / d.heads, u % d.heads);
    b * d.n * row + h * d.w
}

/// The forward pass: `out` in the token-major layout `[batch, n, heads, w]` and the row log-sum-exps
/// `lse` `[units, n]`.
pub(crate) fn forward(q: View, k: View, v: View, d: Dims) -> (Vec<f32>, Vec<f32>) {
    let Dims {
        heads,
        units,
        n,
        w,
        scale,
    } = d;
    let mut out = vec![0.0f32; units * n * w];
    let mut lse = vec![0.0f32; units * n];
    if units == 0 || n == 0 || w == 0 {
        return (out, lse);
    }
    let (out_buf, lse_buf) = (Shared(out.as_mut_ptr()), Shared(lse.as_mut_ptr()));
    let hw = heads * w;
    for_units(units, |u| {
        let out_u = out_buf.at(token_major(u, &d, hw));
        let (qp, kp, vp) = (
            q.unit_ptr(u, heads),
            k.unit_ptr(u, heads),
            v.unit_ptr(u, heads),
        );
        let mut s = vec![0.0f32; TILE.min(n) * n];
        for i0 in (0..n).step_by(TILE) {
            let rows = TILE.min(n - i0);
            let s = &mut s[..rows * n];
            // SAFETY: the views were checked to fit their buffers (see `View::fits`), the tile rows
            // are inside the unit, and `s`/`out` are this unit's own buffers.
            unsafe {
                // S = scale · Q_tile · Kᵀ
                mm(
                    rows,
                    n,
                    w,
                    s.as_mut_ptr(),
                    n,
                    false,
                    (qp.add(i0 * q.strides[2]), q.strides[2], q.strides[3]),
                    (kp, k.strides[3], k.strides[2]),
                    scale,
                );
            }
            for (r, row) in s.chunks_exact_mut(n).enumerate() {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum = exp_shifted_sum(row, max);
                let inv = 1.0 / sum;
                row.iter_mut().for_each(|p| *p *= inv);
                // SAFETY: u·n + i0 + r < units·n, and only this unit writes its entries.
                unsafe { *lse_buf.at(u * n + i0 + r) = max + sum.ln() };
            }
            // SAFETY: as above.
            unsafe {
                // O_tile = P · V
                mm(
                    rows,
                    w,
                    n,
                    out_u.add(i0 * hw),
                    hw,
                    false,
                    (s.as_ptr(), n, 1),
                    (vp, v.strides[2], v.strides[3]),
                    1.0,
                );
            }
        }
    });
    (out, lse)
}

/// The backward pass: given the forward's inputs, its output `o` and `lse` (as [`forward`] returned
/// them) and the output's gradient `dout`, returns the gradients of q, k and v side by side in one
/// `[batch, n, 3 · heads · w]` buffer (the layout of the projection they were cut from).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    q: View,
    k: View,
    v: View,
    o: &[f32],
    lse: &[f32],
    dout: View,
    d: Dims,
) -> Vec<f32> {
    let Dims {
        heads,
        units,
        n,
        w,
        scale,
    } = d;
    let hw = heads * w;
    let mut grads = vec![0.0f32; units * n * w * 3];
    if units == 0 || n == 0 || w == 0 {
        return grads;
    }
    let buf = Shared(grads.as_mut_ptr());
    for_units(units, |u| {
        let g = token_major(u, &d, 3 * hw);
        let (dq_u, dk_u, dv_u) = (buf.at(g), buf.at(g + hw), buf.at(g + 2 * hw));
        let base = token_major(u, &d, hw);
        let (qp, kp, vp) = (
            q.unit_ptr(u, heads),
            k.unit_ptr(u, heads),
            v.unit_ptr(u, heads),
        );
        let dop = dout.unit_ptr(u, heads);
        let o = &o[base..];
        let lse = &lse[u * n..(u + 1) * n];
        // D_i = Σ_c dO[i,c]·O[i,c] (the softmax backward's row term).
        let delta: Vec<f32> = (0..n)
            .map(|i| {
                (0..w)
                    .map(|c| {
                        // SAFETY: i < n and c < w are inside the unit of a view that fits.
                        let g = unsafe { *dop.add(i * dout.strides[2] + c * dout.strides[3]) };
                        g * o[i * hw + c]
                    })
                    .sum()
            })
            .collect();
        let rows_max = TILE.min(n);
        let (mut p, mut ds) = (vec![0.0f32; rows_max * n], vec![0.0f32; rows_max * n]);
        for i0 in (0..n).step_by(TILE) {
            let rows = TILE.min(n - i0);
            let (p, ds) = (&mut p[..rows * n], &mut ds[..rows * n]);
            let q_tile = (
                unsafe { qp.add(i0 * q.strides[2]) },
                q.strides[2],
                q.strides[3],
            );
            let do_tile = (
                unsafe { dop.add(i0 * dout.strides[2]) },
                dout.strides[2],
                dout.strides[3],
            );
            // SAFETY: the views fit their buffers, the tile is inside the unit, and the
            // destinations are this unit's own buffers.
            unsafe {
                // P = exp(scale · Q_tile·Kᵀ − lse)
                mm(
                    rows,
                    n,
                    w,
                    p.as_mut_ptr(),
                    n,
                    false,
                    q_tile,
                    (kp, k.strides[3], k.strides[2]),
                    scale,
                );
            }
            for (r, row) in p.chunks_exact_mut(n).enumerate() {
                let l = lse[i0 + r];
                row.iter_mut().for_each(|x| *x -= l);
                exp_in_place(row);
            }
            // SAFETY: as above.
            unsafe {
                // dV += Pᵀ · dO_tile
                mm(
                    n,
                    w,
                    rows,
                    dv_u,
                    3 * hw,
                    true,
                    (p.as_ptr(), 1, n),
                    do_tile,
                    1.0,
                );
                // dP = dO_tile · Vᵀ
                mm(
                    rows,
                    n,
                    w,
                    ds.as_mut_ptr(),
                    n,
                    false,
                    do_tile,
                    (vp, v.strides[3], v.strides[2]),
                    1.0,
                );
            }
            // dS = P ∘ (dP − D)
            for (r, (ds_row, p_row)) in ds.chunks_exact_mut(n).zip(p.chunks_exact(n)).enumerate() {
                let dl = delta[i0 + r];
                for (g, &pv) in ds_row.iter_mut().zip(p_row) {
                    *g = pv * (*g - dl);
                }
            }
            // SAFETY: as above.
            unsafe {
                // dQ_tile = scale · dS · K
                mm(
                    rows,
                    w,
                    n,
                    dq_u.add(i0 * 3 * hw),
                    3 * hw,
                    false,
                    (ds.as_ptr(), n, 1),
                    (kp, k.strides[2], k.strides[3]),
                    scale,
                );
                // dK += scale · dSᵀ · Q_tile
                mm(
                    n,
                    w,
                    rows,
                    dk_u,
                    3 * hw,
                    true,
                    (ds.as_ptr(), 1, n),
                    q_tile,
                    scale,
                );
            }
        }
    });
    grads
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    /// The textbook computation in f64: S = scale·Q·Kᵀ, P = softmax rows, O = P·V.
    fn reference(q: &[f32], k: &[f32], v: &[f32], n: usize, w: usize, scale: f64) -> Vec<Vec<f64>> {
        let mut p = vec![vec![0.0f64; n]; n];
        for i in 0..n {
            for j in 0..n {
                p[i][j] = (0..w)
                    .map(|c| q[i * w + c] as f64 * k[j * w + c] as f64)
                    .sum::<f64>()
                    * scale;
            }
            let m = p[i].iter().cloned().fold(f64::MIN, f64::max);
            let s: f64 = p[i].iter().map(|x| (x - m).exp()).sum();
            for j in 0..n {
                p[i][j] = (p[i][j] - m).exp() / s;
            }
        }
        (0..n)
            .map(|i| {
                (0..w)
                    .map(|c| (0..n).map(|j| p[i][j] * v[j * w + c] as f64).sum())
                    .collect()
            })
            .collect()
    }

    fn data(len: usize, seed: f32) -> Vec<f32> {
        (0..len)
            .map(|i| (i as f32 * 0.731 + seed).sin() * 1.7)
            .collect()
    }

    fn contiguous(d: &[f32], n: usize, w: usize, heads: usize) -> View<'_> {
        View {
            data: d,
            offset: 0,
            strides: [heads * n * w, n * w, w, 1],
        }
    }

    #[test]
    fn forward_matches_the_textbook_softmax_across_tiles() {
        // 1 batch, 2 heads, 150 tokens (three tiles, the last partial), width 8.
        let (heads, n, w) = (2, 150, 8);
        let (q, k, v) = (
            data(heads * n * w, 0.1),
            data(heads * n * w, 1.3),
            data(heads * n * w, 2.9),
        );
        let scale = (w as f32).powf(-0.5);
        let d = Dims {
            heads,
            units: heads,
            n,
            w,
            scale,
        };
        let (out, lse) = forward(
            contiguous(&q, n, w, heads),
            contiguous(&k, n, w, heads),
            contiguous(&v, n, w, heads),
            d,
        );
        assert_eq!(lse.len(), heads * n);
        let mut worst = 0.0f64;
        for h in 0..heads {
            let r = h * n * w..(h + 1) * n * w;
            let want = reference(
                &q[r.clone()],
                &k[r.clone()],
                &v[r.clone()],
                n,
                w,
                scale as f64,
            );
            for i in 0..n {
                for c in 0..w {
                    // Token-major: [token, head, width].
                    worst = worst.max((out[i * heads * w + h * w + c] as f64 - want[i][c]).abs());
                }
            }
        }
        assert!(worst < 2e-6, "max |Δ| {worst}");
    }

    #[test]
    fn backward_matches_finite_differences() {
        // One unit, 70 tokens (two tiles), width 4; loss = Σ O ∘ G for a fixed G.
        let (n, w) = (70, 4);
        let (q, k, v) = (data(n * w, 0.4), data(n * w, 2.2), data(n * w, 3.1));
        let g = data(n * w, 5.5);
        let scale = 0.5f32;
        let d = Dims {
            heads: 1,
            units: 1,
            n,
            w,
            scale,
        };
        let loss = |q: &[f32], k: &[f32], v: &[f32]| -> f64 {
            let o = reference(q, k, v, n, w, scale as f64);
            (0..n)
                .map(|i| (0..w).map(|c| o[i][c] * g[i * w + c] as f64).sum::<f64>())
                .sum()
        };
        let (out, lse) = forward(
            contiguous(&q, n, w, 1),
            contiguous(&k, n, w, 1),
            contiguous(&v, n, w, 1),
            d,
        );
        let grads = backward(
            contiguous(&q, n, w, 1),
            contiguous(&k, n, w, 1),
            contiguous(&v, n, w, 1),
            &out,
            &lse,
            contiguous(&g, n, w, 1),
            d,
        );
        let eps = 1e-3f32;
        for which in 0..3 {
            for idx in [0usize, 37, 133, n * w - 1] {
                let mut plus = [q.clone(), k.clone(), v.clone()];
                let mut minus = [q.clone(), k.clone(), v.clone()];
                plus[which][idx] += eps;
                minus[which][idx] -= eps;
                let fd = (loss(&plus[0], &plus[1], &plus[2])
                    - loss(&minus[0], &minus[1], &minus[2]))
                    / (2.0 * eps as f64);
                // q, k, v side by side in each token's row of 3·w.
                let got = grads[(idx / w) * 3 * w + which * w + idx % w] as f64;
                assert!(
                    (got - fd).abs() < 2e-3 * (1.0 + fd.abs()),
                    "input {which}[{idx}]: {got} vs {fd}"
                );
            }
        }
    }
}
