//! The maths of a screening head, in plain f64: a class-balanced softmax regression with an L2
//! penalty ([`fit`]), cross-fitting over subject folds ([`cross_fit`]), Platt calibration of a
//! binary head's logit difference ([`platt`]), the ensemble of the fold heads as one linear head
//! ([`ensemble`]), and the numbers reported about it: a bootstrap interval of the AUROC
//! ([`auroc_interval`]) and the expected calibration error with its reliability diagram
//! ([`reliability`]).

use acula_core::bundle::ReliabilityBin;
use acula_core::head::{logit, logits, softmax};

use crate::adam::Adam;
use crate::metrics;
use crate::rng::Rng;

/// A linear head on raw inputs: `[classes, dim]` weights (row-major) and `[classes]` biases.
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
    pub classes: usize,
    pub dim: usize,
}

impl Linear {
    /// The logits of `x`.
    pub fn logits(&self, x: &[f32]) -> Vec<f64> {
        logits(&self.weight, &self.bias, x)
    }

    /// Class probabilities of `x`.
    pub fn probs(&self, x: &[f32]) -> Vec<f64> {
        softmax(&self.logits(x))
    }
}

/// Fits a class-balanced softmax regression with L2 penalty `lambda` on standardised inputs (Adam,
/// full batch, 400 steps of 0.05), then folds the standardisation into the weights.
pub fn fit(x: &[&[f32]], y: &[usize], classes: usize, lambda: f64) -> Linear {
    let dim = x.first().map_or(0, |r| r.len());
    let n = x.len().max(1) as f64;
    let mut mean = vec![0f64; dim];
    for r in x {
        for (m, v) in mean.iter_mut().zip(*r) {
            *m += f64::from(*v) / n;
        }
    }
    let mut sd = vec![0f64; dim];
    for r in x {
        for ((s, v), m) in sd.iter_mut().zip(*r).zip(&mean) {
            *s += (f64::from(*v) - m).powi(2) / n;
        }
    }
    let sd: Vec<f64> = sd.iter().map(|s| s.sqrt().max(1e-6)).collect();
    let z: Vec<Vec<f64>> = x
        .iter()
        .map(|r| {
            r.iter()
                .zip(&mean)
                .zip(&sd)
                .map(|((v, m), s)| (f64::from(*v) - m) / s)
                .collect()
        })
        .collect();
    // Balanced class weights: each class weighs as much in the loss.
    let mut per_class = vec![0usize; classes];
    for &l in y {
        per_class[l] += 1;
    }
    let present = per_class.iter().filter(|c| **c > 0).count().max(1) as f64;
    let cw: Vec<f64> = per_class
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n / (present * c as f64)
            }
        })
        .collect();
    // One flat vector: the `[classes, dim]` weights row by row, then the biases.
    let cd = classes * dim;
    let mut theta = vec![0f64; cd + classes];
    let mut adam = Adam::new(theta.len());
    let mut g = vec![0f64; theta.len()];
    for _ in 0..400 {
        g.iter_mut().for_each(|v| *v = 0.0);
        for (zi, &l) in z.iter().zip(y) {
            let lg: Vec<f64> = (0..classes)
                .map(|c| logit(&theta[c * dim..(c + 1) * dim], theta[cd + c], zi))
                .collect();
            let p = softmax(&lg);
            let w = cw[l] / n;
            for c in 0..classes {
                let d = w * (p[c] - if c == l { 1.0 } else { 0.0 });
                for (gi, v) in g[c * dim..(c + 1) * dim].iter_mut().zip(zi) {
                    *gi += d * v;
                }
                g[cd + c] += d;
            }
        }
        for (gi, t) in g[..cd].iter_mut().zip(&theta) {
            *gi += lambda * t;
        }
        adam.step(&mut theta, &g, 0.05);
    }
    // logits = W (x − μ)/σ + b = (W/σ) x + (b − Σ W μ/σ).
    let mut weight = vec![0f64; cd];
    let mut bias = theta[cd..].to_vec();
    for c in 0..classes {
        for j in 0..dim {
            let w = theta[c * dim + j] / sd[j];
            weight[c * dim + j] = w;
            bias[c] -= w * mean[j];
        }
    }
    Linear {
        weight,
        bias,
        classes,
        dim,
    }
}

/// The heads of a cross-fit and their out-of-fold logits.
pub struct CrossFit {
    /// One head per fold, each fitted on the other folds.
    pub heads: Vec<Linear>,
    /// Each example's logits from the head that did not see it.
    pub oof: Vec<Vec<f64>>,
}

/// Fits one head per fold (`fold[i]` in `0..folds`) on the other folds' examples.
pub fn cross_fit(
    x: &[&[f32]],
    y: &[usize],
    fold: &[usize],
    folds: usize,
    classes: usize,
    lambda: f64,
) -> CrossFit {
    let mut oof = vec![Vec::new(); x.len()];
    let mut heads = Vec::new();
    for k in 0..folds {
        let (tx, ty): (Vec<&[f32]>, Vec<usize>) = x
            .iter()
            .zip(y)
            .zip(fold)
            .filter(|(_, f)| **f != k)
            .map(|((r, l), _)| (*r, *l))
            .unzip();
        if tx.is_empty() {
            continue;
        }
        let h = fit(&tx, &ty, classes, lambda);
        for (i, f) in fold.iter().enumerate() {
            if *f == k {
                oof[i] = h.logits(x[i]);
            }
        }
        heads.push(h);
    }
    CrossFit { heads, oof }
}

/// The AUROC of logits (positive class for binary tasks, macro one-vs-rest otherwise).
pub fn auroc_of_logits(logits: &[Vec<f64>], y: &[usize]) -> Option<f64> {
    let p: Vec<Vec<f64>> = logits.iter().map(|l| softmax(l)).collect();
    metrics::auroc_macro(&p, y)
}

/// Platt scaling: `a` and `c` of `P(positive) = σ(a·d + c)` fitted to logit differences `d` by
/// maximum likelihood (Newton's method with a tiny ridge, so separable data stays finite).
pub fn platt(d: &[f64], positive: &[bool]) -> (f64, f64) {
    let (mut a, mut c) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gc, mut haa, mut hac, mut hcc) =
            (1e-4 * (a - 1.0), 1e-4 * c, 1e-4, 0.0, 1e-4);
        for (x, &y) in d.iter().zip(positive) {
            let p = 1.0 / (1.0 + (-(a * x + c)).exp());
            let r = p - if y { 1.0 } else { 0.0 };
            let w = p * (1.0 - p);
            ga += r * x;
            gc += r;
            haa += w * x * x;
            hac += w * x;
            hcc += w;
        }
        let det = haa * hcc - hac * hac;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hcc * ga - hac * gc) / det;
        let dc = (haa * gc - hac * ga) / det;
        a -= da;
        c -= dc;
        if da.abs() + dc.abs() < 1e-10 {
            break;
        }
    }
    (a, c)
}

/// The mean of `heads` as one linear head (the mean of their logits), each binary head's logit
/// difference first mapped by Platt's `(a, c)` when given: class 0 gets zero weights, class 1 the
/// calibrated difference.
pub fn ensemble(heads: &[Linear], platt: Option<(f64, f64)>) -> Linear {
    let first = &heads[0];
    let (classes, dim) = (first.classes, first.dim);
    let k = heads.len() as f64;
    let mut weight = vec![0f64; classes * dim];
    let mut bias = vec![0f64; classes];
    for h in heads {
        match platt {
            Some((a, c)) if classes == 2 => {
                for j in 0..dim {
                    weight[dim + j] += a * (h.weight[dim + j] - h.weight[j]) / k;
                }
                bias[1] += (a * (h.bias[1] - h.bias[0]) + c) / k;
            }
            _ => {
                for (w, v) in weight.iter_mut().zip(&h.weight) {
                    *w += v / k;
                }
                for (b, v) in bias.iter_mut().zip(&h.bias) {
                    *b += v / k;
                }
            }
        }
    }
    Linear {
        weight,
        bias,
        classes,
        dim,
    }
}

/// A bootstrap 95 % interval of the AUROC of `scores` (1,000 resamples with replacement, seeded by
/// `name`; resamples missing a class are skipped).
pub fn auroc_interval(scores: &[f64], positive: &[bool], name: &str) -> Option<[f64; 2]> {
    let n = scores.len();
    if n == 0 {
        return None;
    }
    let mut rng = Rng::for_item(0, &format!("head-bootstrap-{name}"));
    let mut got = Vec::new();
    for _ in 0..1000 {
        let pick: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let s: Vec<f64> = pick.iter().map(|&i| scores[i]).collect();
        let y: Vec<bool> = pick.iter().map(|&i| positive[i]).collect();
        if let Some(a) = metrics::auroc(&s, &y) {
            got.push(a);
        }
    }
    if got.is_empty() {
        return None;
    }
    got.sort_by(f64::total_cmp);
    let at = |q: f64| got[((got.len() - 1) as f64 * q).round() as usize];
    Some([at(0.025), at(0.975)])
}

/// The expected calibration error of probabilities `p` of the positive label (10 equal-width bins,
/// each weighted by its share of examples) and the reliability diagram (empty bins left out).
pub fn reliability(p: &[f64], positive: &[bool]) -> (Option<f64>, Vec<ReliabilityBin>) {
    let n = p.len();
    if n == 0 {
        return (None, Vec::new());
    }
    let mut bins = Vec::new();
    let mut ece = 0.0;
    for b in 0..10 {
        let (low, high) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
        let members: Vec<usize> = (0..n)
            .filter(|&i| p[i] >= low && (p[i] < high || (b == 9 && p[i] <= high)))
            .collect();
        if members.is_empty() {
            continue;
        }
        let m = members.len() as f64;
        let mean_score = members.iter().map(|&i| p[i]).sum::<f64>() / m;
        let observed = members.iter().filter(|&&i| positive[i]).count() as f64 / m;
        ece += m / n as f64 * (mean_score - observed).abs();
        bins.push(ReliabilityBin {
            count: members.len(),
            high,
            low,
            mean_score,
            observed,
        });
    }
    (Some(ece), bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_separates_separable_classes_and_folds_the_standardisation() {
        let rows: Vec<[f32; 2]> = (0..40)
            .map(|i| {
                let v = if i % 2 == 1 { 3.0 } else { 1.0 } + (i as f32 * 0.01);
                [v, 100.0 - i as f32]
            })
            .collect();
        let x: Vec<&[f32]> = rows.iter().map(|r| r.as_slice()).collect();
        let y: Vec<usize> = (0..40).map(|i| i % 2).collect();
        let head = fit(&x, &y, 2, 1e-3);
        let l: Vec<Vec<f64>> = x.iter().map(|r| head.logits(r)).collect();
        assert_eq!(auroc_of_logits(&l, &y), Some(1.0));
        assert!(head.probs(&[3.0, 50.0])[1] > 0.9);
    }

    #[test]
    fn platt_recovers_a_known_scale_and_shift() {
        // Labels drawn from σ(2·d − 1): the fit should land near (2, −1).
        let mut rng = Rng::new(5);
        let d: Vec<f64> = (0..4000).map(|_| rng.range(-3.0, 3.0)).collect();
        let y: Vec<bool> = d
            .iter()
            .map(|x| rng.uniform() < 1.0 / (1.0 + (-(2.0 * x - 1.0)).exp()))
            .collect();
        let (a, c) = platt(&d, &y);
        assert!((a - 2.0).abs() < 0.25 && (c + 1.0).abs() < 0.2, "{a} {c}");
    }

    #[test]
    fn the_ensemble_is_the_mean_of_calibrated_logit_differences() {
        let h = |w: [f64; 4], b: [f64; 2]| Linear {
            weight: w.to_vec(),
            bias: b.to_vec(),
            classes: 2,
            dim: 2,
        };
        let heads = [
            h([0.0, 1.0, 2.0, 3.0], [0.5, 1.0]),
            h([1.0, 0.0, 1.0, 2.0], [0.0, 0.0]),
        ];
        let e = ensemble(&heads, Some((2.0, -1.0)));
        let x = [0.5f32, -1.0];
        let diff = |h: &Linear| {
            let l = h.logits(&x);
            l[1] - l[0]
        };
        let want = (2.0 * diff(&heads[0]) - 1.0 + 2.0 * diff(&heads[1]) - 1.0) / 2.0;
        assert!((diff(&e) - want).abs() < 1e-12);
    }

    #[test]
    fn reliability_of_perfectly_calibrated_and_of_overconfident_scores() {
        // Score 0.25 for 4 recordings of which 1 is positive: calibrated, ECE 0.
        let (e, bins) = reliability(&[0.25; 4], &[true, false, false, false]);
        assert_eq!(e, Some(0.0));
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].count, 4);
        // Score 0.95 for 2 recordings, one positive: ECE 0.45.
        let (e, _) = reliability(&[0.95, 0.95], &[true, false]);
        assert!((e.unwrap() - 0.45).abs() < 1e-12);
    }

    #[test]
    fn the_interval_contains_the_auroc_of_a_clear_ranking() {
        let s: Vec<f64> = (0..60).map(f64::from).collect();
        let y: Vec<bool> = (0..60).map(|i| i >= 20 || i % 7 == 0).collect();
        let a = metrics::auroc(&s, &y).unwrap();
        let [lo, hi] = auroc_interval(&s, &y, "t").unwrap();
        assert!(lo <= a && a <= hi && lo < hi, "{lo} {a} {hi}");
    }
}
