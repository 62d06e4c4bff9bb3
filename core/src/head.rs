//! The linear-softmax head, written once: `[classes, dim]` weights (row-major) and `[classes]`
//! biases turn an embedding into class probabilities. Screening ([`crate::screen::TaskHead`]), the
//! trainer's task-head fit and its linear probe all call it. The maths is f64 whatever the stored
//! type (`f32` in a bundle, `f64` while fitting), so every caller gets the same numbers.

/// The logit of one class: `bias + Σ row[k]·x[k]`, summed in f64 from the first element.
pub fn logit<W, X>(row: &[W], bias: W, x: &[X]) -> f64
where
    W: Copy + Into<f64>,
    X: Copy + Into<f64>,
{
    bias.into()
        + row
            .iter()
            .zip(x)
            .map(|(w, v)| (*w).into() * (*v).into())
            .sum::<f64>()
}

/// The logits of every class; `weight` is `[bias.len(), x.len()]` row-major.
pub fn logits<W, X>(weight: &[W], bias: &[W], x: &[X]) -> Vec<f64>
where
    W: Copy + Into<f64>,
    X: Copy + Into<f64>,
{
    weight
        .chunks(x.len().max(1))
        .zip(bias)
        .map(|(row, b)| logit(row, *b, x))
        .collect()
}

/// The softmax of `logits` (the largest one subtracted first, so no exponent overflows).
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// Class probabilities of `x`: [`softmax`] of [`logits`].
pub fn probabilities<W, X>(weight: &[W], bias: &[W], x: &[X]) -> Vec<f64>
where
    W: Copy + Into<f64>,
    X: Copy + Into<f64>,
{
    softmax(&logits(weight, bias, x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_and_probabilities_by_hand() {
        // Rows [1, 2] and [0, -1], biases 0.5 and 0: at x = [1, 1], logits 3.5 and -1.
        let w = [1.0f32, 2.0, 0.0, -1.0];
        let b = [0.5f32, 0.0];
        assert_eq!(logits(&w, &b, &[1.0f32, 1.0]), vec![3.5, -1.0]);
        let p = probabilities(&w, &b, &[1.0f32, 1.0]);
        // softmax: 1 / (1 + e^-4.5) = 0.98901...
        assert!((p[0] - 1.0 / (1.0 + (-4.5f64).exp())).abs() < 1e-15);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-15);
        // f64 weights give the same numbers as f32 ones that hold the same values.
        let w64: Vec<f64> = w.iter().map(|v| f64::from(*v)).collect();
        let b64: Vec<f64> = b.iter().map(|v| f64::from(*v)).collect();
        assert_eq!(probabilities(&w64, &b64, &[1.0f32, 1.0]), p);
    }

    #[test]
    fn large_logits_do_not_overflow() {
        let p = softmax(&[1000.0, 0.0]);
        assert_eq!(p, vec![1.0, (-1000.0f64).exp()]);
    }
}
