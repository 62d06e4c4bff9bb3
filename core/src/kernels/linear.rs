//! `y = x·W + b` and its backward pass with gemm, the bias written into the output before the product
//! is accumulated onto it: one pass over the output instead of burn-flex's three (zero-fill, product,
//! then a single-threaded broadcast add of the bias). Matrices are strided f32 views; outputs are
//! contiguous.

use gemm::{gemm, Parallelism};

/// A read-only 2-D f32 view by element strides (rows, columns; non-negative).
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub strides: [usize; 2],
}

impl Mat<'_> {
    /// Whether every element lies inside `data`.
    pub(crate) fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || self.offset + (self.rows - 1) * self.strides[0] + (self.cols - 1) * self.strides[1]
                < self.data.len()
    }

    fn ptr(&self) -> *const f32 {
        // In bounds: callers checked `fits` (an empty view is never read).
        self.data[self.offset.min(self.data.len())..].as_ptr()
    }

    /// The transposed view (no copy).
    fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            strides: [self.strides[1], self.strides[0]],
            ..self
        }
    }
}

/// Threads for one product: all of rayon's on native builds (gemm splits only products big enough),
/// one in the browser.
fn parallelism() -> Parallelism {
    #[cfg(not(target_arch = "wasm32"))]
    {
        Parallelism::Rayon(rayon::current_num_threads())
    }
    #[cfg(target_arch = "wasm32")]
    {
        Parallelism::None
    }
}

/// `dst (row-major, lhs.rows × rhs.cols) ← dst·accumulate + lhs·rhs`.
fn product(dst: &mut [f32], accumulate: bool, lhs: Mat, rhs: Mat) {
    assert!(lhs.cols == rhs.rows && dst.len() == lhs.rows * rhs.cols && lhs.fits() && rhs.fits());
    if dst.is_empty() {
        return;
    }
    if lhs.cols == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    // SAFETY: both views fit their buffers (checked above), `dst` holds exactly the output and does
    // not alias them (it is a unique borrow).
    unsafe {
        gemm(
            lhs.rows,
            rhs.cols,
            lhs.cols,
            dst.as_mut_ptr(),
            1,
            rhs.cols as isize,
            accumulate,
            lhs.ptr(),
            lhs.strides[1] as isize,
            lhs.strides[0] as isize,
            rhs.ptr(),
            rhs.strides[1] as isize,
            rhs.strides[0] as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(),
        )
    }
}

/// `x·W + b` for `x` `[m, k]`, `W` `[k, n]`, `b` `[n]`: `[m, n]`, row-major.
pub(crate) fn forward(x: Mat, w: Mat, bias: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.rows * w.cols);
    for _ in 0..x.rows {
        out.extend_from_slice(bias);
    }
    product(&mut out, true, x, w);
    out
}

/// The gradients `(dx, dW, db)` from the output's gradient `dy` `[m, n]`; `dx` and `dW` are computed
/// only when asked for (empty otherwise).
pub(crate) fn backward(
    x: Mat,
    w: Mat,
    dy: Mat,
    want_dx: bool,
    want_dw: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dx = Vec::new();
    if want_dx {
        dx = vec![0.0f32; x.rows * x.cols];
        product(&mut dx, false, dy, w.t());
    }
    let mut dw = Vec::new();
    if want_dw {
        dw = vec![0.0f32; w.rows * w.cols];
        product(&mut dw, false, x.t(), dy);
    }
    let mut db = vec![0.0f32; dy.cols];
    for r in 0..dy.rows {
        let start = dy.offset + r * dy.strides[0];
        if dy.strides[1] == 1 {
            for (g, &v) in db.iter_mut().zip(&dy.data[start..start + dy.cols]) {
                *g += v;
            }
        } else {
            for (c, g) in db.iter_mut().enumerate() {
                *g += dy.data[start + c * dy.strides[1]];
            }
        }
    }
    (dx, dw, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(data: &[f32], rows: usize, cols: usize) -> Mat<'_> {
        Mat {
            data,
            offset: 0,
            rows,
            cols,
            strides: [cols, 1],
        }
    }

    #[test]
    fn forward_and_backward_match_the_definitions() {
        let (m, k, n) = (37, 19, 23);
        let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - 1.0).collect();
        let dy: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.07).sin()).collect();
        let y = forward(mat(&x, m, k), mat(&w, k, n), &b);
        for r in 0..m {
            for c in 0..n {
                let want: f32 = b[c] + (0..k).map(|i| x[r * k + i] * w[i * n + c]).sum::<f32>();
                assert!((y[r * n + c] - want).abs() < 1e-4);
            }
        }
        let (dx, dw, db) = backward(mat(&x, m, k), mat(&w, k, n), mat(&dy, m, n), true, true);
        for r in 0..m {
            for i in 0..k {
                let want: f32 = (0..n).map(|c| dy[r * n + c] * w[i * n + c]).sum();
                assert!((dx[r * k + i] - want).abs() < 1e-4);
            }
        }
        for i in 0..k {
            for c in 0..n {
                let want: f32 = (0..m).map(|r| x[r * k + i] * dy[r * n + c]).sum();
                assert!((dw[i * n + c] - want).abs() < 1e-4);
            }
        }
        for c in 0..n {
            let want: f32 = (0..m).map(|r| dy[r * n + c]).sum();
            assert!((db[c] - want).abs() < 1e-4);
        }
        // A transposed (strided) input gives the same product.
        let xt: Vec<f32> = (0..k * m).map(|j| x[(j % m) * k + j / m]).collect();
        let strided = Mat {
            data: &xt,
            offset: 0,
            rows: m,
            cols: k,
            strides: [1, m],
        };
        let again = forward(strided, mat(&w, k, n), &b);
        assert!(again.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-5));
    }
}
