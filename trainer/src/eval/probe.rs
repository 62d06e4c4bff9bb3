//! The OPERA linear probe (`../shared/REFERENCE.md`, "Evaluation protocol"): frozen embeddings, one
//! `Linear(d, C)` head initialised N(0, 0.01²) with zero bias, softmax cross-entropy plus
//! `1e-5·Σw²`, Adam (lr 1e-4, β 0.9/0.999), the learning rate × 0.97 after every epoch, gradients
//! clipped to global norm 1.0, 64 epochs of mini-batches of 32; the epoch with the best validation
//! AUROC is kept and tested. Plain f64 Rust: a head this small trains in milliseconds.

use acula_core::head::{logit, softmax};

use crate::adam::Adam;
use crate::metrics::auroc_macro;
use crate::rng::Rng;

/// The probe's settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProbeConfig {
    /// Epochs (64; OPERA uses 50 for KAUH).
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Learning-rate factor per epoch.
    pub decay: f64,
    /// Global gradient-norm clip.
    pub clip: f64,
    /// Weight of `Σw²`.
    pub l2: f64,
    /// Standard deviation of the initial weights.
    pub init_std: f64,
}

impl ProbeConfig {
    /// OPERA's settings with `epochs` epochs.
    pub fn opera(epochs: usize) -> Self {
        Self {
            epochs,
            batch: 32,
            lr: 1e-4,
            decay: 0.97,
            clip: 1.0,
            l2: 1e-5,
            init_std: 0.01,
        }
    }
}

/// A trained head.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// `[classes][dim]`.
    pub w: Vec<Vec<f64>>,
    /// `[classes]`.
    pub b: Vec<f64>,
    /// The epoch kept (0-based).
    pub epoch: usize,
    /// Its validation score: AUROC for classes (None when the validation set lacks a class), −MAE for
    /// regression.
    pub val_score: Option<f64>,
}

impl Linear {
    /// Softmax probabilities for one embedding ([`acula_core::head`]).
    pub fn probs(&self, x: &[f32]) -> Vec<f64> {
        softmax(&self.logits(x))
    }

    /// The logits for one embedding.
    fn logits(&self, x: &[f32]) -> Vec<f64> {
        self.w
            .iter()
            .zip(&self.b)
            .map(|(w, b)| logit(w, *b, x))
            .collect()
    }
}

/// Macro AUROC of `head` on the examples `idx`.
pub fn score(head: &Linear, x: &[Vec<f32>], y: &[usize], idx: &[usize]) -> Option<f64> {
    let probs: Vec<Vec<f64>> = idx.iter().map(|&i| head.probs(&x[i])).collect();
    let labels: Vec<usize> = idx.iter().map(|&i| y[i]).collect();
    auroc_macro(&probs, &labels)
}

/// Trains a probe on `train`, keeping the epoch with the best AUROC on `val` (the last epoch when the
/// validation set cannot give an AUROC). `seed` draws the initial weights and the batch order.
pub fn train(
    x: &[Vec<f32>],
    y: &[usize],
    classes: usize,
    train: &[usize],
    val: &[usize],
    seed: u64,
    cfg: &ProbeConfig,
) -> Linear {
    fit(
        x,
        classes,
        train,
        seed,
        cfg,
        |i, logits| {
            let p = softmax(logits);
            (0..classes)
                .map(|c| p[c] - if y[i] == c { 1.0 } else { 0.0 })
                .collect()
        },
        |head| score(head, x, y, val),
    )
}

/// A regression probe (`../shared/REFERENCE.md`: a linear head on standardised targets, MSE): trained
/// on `train` with the classification probe's optimiser and schedule, keeping the epoch with the lowest
/// validation MAE. Returns a function from an embedding to a prediction in the targets' unit.
pub fn train_regression(
    x: &[Vec<f32>],
    y: &[f64],
    train: &[usize],
    val: &[usize],
    seed: u64,
    cfg: &ProbeConfig,
) -> impl Fn(&[f32]) -> f64 {
    let t: Vec<f64> = train.iter().map(|&i| y[i]).collect();
    let (mean, std) = mean_std(&t);
    let std = if std.is_finite() && std > 0.0 {
        std
    } else {
        1.0
    };
    let mean = if mean.is_finite() { mean } else { 0.0 };
    let predict = move |head: &Linear, v: &[f32]| mean + std * head.logits(v)[0];
    let head = fit(
        x,
        1,
        train,
        seed,
        cfg,
        // d/dz of (z − target)², target standardised.
        |i, z| vec![2.0 * (z[0] - (y[i] - mean) / std)],
        |head| {
            (!val.is_empty()).then(|| {
                -val.iter()
                    .map(|&i| (predict(head, &x[i]) - y[i]).abs())
                    .sum::<f64>()
                    / val.len() as f64
            })
        },
    );
    move |v: &[f32]| predict(&head, v)
}

/// The shared training loop: `grad(i, outputs)` is the loss gradient with respect to the head's
/// outputs for example `i`; `val_score` rates an epoch's head (higher is better; `None`: cannot tell).
fn fit(
    x: &[Vec<f32>],
    classes: usize,
    train: &[usize],
    seed: u64,
    cfg: &ProbeConfig,
    grad: impl Fn(usize, &[f64]) -> Vec<f64>,
    val_score: impl Fn(&Linear) -> Option<f64>,
) -> Linear {
    let dim = x.first().map_or(0, Vec::len);
    let cd = classes * dim;
    // One flat vector for Adam: the `[classes, dim]` weights row by row, then the biases.
    let mut rng = Rng::for_item(seed, "probe-init");
    let mut theta: Vec<f64> = (0..cd).map(|_| rng.normal() * cfg.init_std).collect();
    theta.resize(cd + classes, 0.0);
    let mut adam = Adam::new(theta.len());
    let snapshot = |theta: &[f64], epoch: usize| Linear {
        w: (0..classes)
            .map(|c| theta[c * dim..(c + 1) * dim].to_vec())
            .collect(),
        b: theta[cd..].to_vec(),
        epoch,
        val_score: None,
    };
    let mut best: Option<Linear> = None;
    let mut order = train.to_vec();
    for epoch in 0..cfg.epochs {
        let lr = cfg.lr * cfg.decay.powi(epoch as i32);
        Rng::for_item(seed, &format!("probe-epoch-{epoch}")).shuffle(&mut order);
        for batch in order.chunks(cfg.batch.max(1)) {
            let n = batch.len() as f64;
            let mut g = vec![0.0; theta.len()];
            for &i in batch {
                let logits: Vec<f64> = (0..classes)
                    .map(|c| logit(&theta[c * dim..(c + 1) * dim], theta[cd + c], &x[i]))
                    .collect();
                let dl = grad(i, &logits);
                for c in 0..classes {
                    let gc = dl[c] / n;
                    g[cd + c] += gc;
                    for (gw, v) in g[c * dim..(c + 1) * dim].iter_mut().zip(&x[i]) {
                        *gw += gc * f64::from(*v);
                    }
                }
            }
            for (gw, w) in g[..cd].iter_mut().zip(&theta[..cd]) {
                *gw += 2.0 * cfg.l2 * w;
            }
            let norm = (g[..cd].iter().map(|g| g * g).sum::<f64>()
                + g[cd..].iter().map(|g| g * g).sum::<f64>())
            .sqrt();
            let scale = if norm > cfg.clip {
                cfg.clip / norm
            } else {
                1.0
            };
            for gi in &mut g {
                *gi *= scale;
            }
            adam.step(&mut theta, &g, lr);
        }
        let head = snapshot(&theta, epoch);
        let v = val_score(&head);
        let better = match (&best, v) {
            (None, _) => true,
            (Some(bst), Some(v)) => bst.val_score.is_none_or(|bv| v > bv),
            // Without a validation AUROC, the latest epoch is kept.
            (Some(bst), None) => bst.val_score.is_none(),
        };
        if better {
            best = Some(Linear {
                val_score: v,
                ..head
            });
        }
    }
    best.unwrap_or_else(|| snapshot(&theta, 0))
}

/// Mean and sample standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    let s = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (m, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussian blobs in 4-D, separable along the first axis.
    fn blobs(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut r = Rng::new(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 2;
            let centre = if c == 1 { 1.5 } else { -1.5 };
            x.push(
                (0..4)
                    .map(|k| (if k == 0 { centre } else { 0.0 } + r.normal()) as f32)
                    .collect(),
            );
            y.push(c);
        }
        (x, y)
    }

    #[test]
    fn the_probe_learns_a_separable_task_and_is_seeded() {
        let (x, y) = blobs(300, 1);
        let idx: Vec<usize> = (0..300).collect();
        let (tr, rest) = idx.split_at(200);
        let (va, te) = rest.split_at(50);
        let cfg = ProbeConfig::opera(64);
        let h = train(&x, &y, 2, tr, va, 0, &cfg);
        let auc = score(&h, &x, &y, te).unwrap();
        assert!(auc > 0.9, "test AUROC {auc}");
        assert_eq!(h, train(&x, &y, 2, tr, va, 0, &cfg), "same seed, same head");
        assert_ne!(
            h.w,
            train(&x, &y, 2, tr, va, 1, &cfg).w,
            "another seed, another head"
        );
    }

    #[test]
    fn without_signal_the_probe_is_near_chance() {
        let mut r = Rng::new(9);
        let x: Vec<Vec<f32>> = (0..400)
            .map(|_| (0..8).map(|_| r.normal() as f32).collect())
            .collect();
        let y: Vec<usize> = (0..400).map(|i| i % 2).collect();
        let idx: Vec<usize> = (0..400).collect();
        let h = train(
            &x,
            &y,
            2,
            &idx[..200],
            &idx[200..300],
            0,
            &ProbeConfig::opera(20),
        );
        let auc = score(&h, &x, &y, &idx[300..]).unwrap();
        assert!((auc - 0.5).abs() < 0.15, "test AUROC {auc}");
    }

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - 1.290_994_448_735_805_6).abs() < 1e-12);
    }
}
