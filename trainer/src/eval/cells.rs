//! The cells of the results table: one (task, representation) pair, its metric per probe seed, the
//! mean ± std over seeds and a bootstrap 95 % interval.

use serde::Serialize;

use super::probe::{self, mean_std, ProbeConfig};
use crate::metrics;
use crate::rng::Rng;

/// One (task, representation) result.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Cell {
    pub(super) task: String,
    pub(super) model: String,
    /// `auroc` (higher is better) or `mae` (regression; lower is better).
    pub(super) metric: &'static str,
    /// The metric of each probe seed.
    pub(super) per_seed: Vec<Option<f64>>,
    pub(super) mean: f64,
    pub(super) std: f64,
    pub(super) ci95: Option<[f64; 2]>,
}

/// Test probabilities of every seed (`[seed][test unit] → class probabilities`), and the test units.
pub(super) fn probe_all(
    x: &[Vec<f32>],
    y: &[usize],
    classes: usize,
    folds: &[[Vec<usize>; 3]],
    seeds: u64,
    cfg: &ProbeConfig,
) -> (Vec<Vec<Vec<f64>>>, Vec<usize>) {
    let test: Vec<usize> = folds.iter().flat_map(|f| f[2].iter().copied()).collect();
    let probs = (0..seeds)
        .map(|seed| {
            folds
                .iter()
                .flat_map(|[tr, va, te]| {
                    let head = probe::train(x, y, classes, tr, va, seed, cfg);
                    te.iter()
                        .map(move |&i| head.probs(&x[i]))
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .collect();
    (probs, test)
}

/// The AUROC cell of classification probes: `probs[seed][test unit]`.
pub(super) fn cell(
    task: &str,
    model: &str,
    probs: &[Vec<Vec<f64>>],
    labels: &[usize],
    bootstrap: usize,
) -> Cell {
    let stat = |pick: &[usize]| {
        let y: Vec<usize> = pick.iter().map(|&i| labels[i]).collect();
        probs
            .iter()
            .map(|p| {
                let ps: Vec<Vec<f64>> = pick.iter().map(|&i| p[i].clone()).collect();
                metrics::auroc_macro(&ps, &y)
            })
            .collect::<Vec<_>>()
    };
    summarise(task, model, "auroc", labels.len(), bootstrap, stat)
}

/// The MAE cell of regression probes: `preds[seed][test unit]` against `truth`.
pub(super) fn mae_cell(
    task: &str,
    model: &str,
    preds: &[Vec<f64>],
    truth: &[f64],
    bootstrap: usize,
) -> Cell {
    let stat = |pick: &[usize]| {
        preds
            .iter()
            .map(|p| {
                (!pick.is_empty()).then(|| {
                    pick.iter().map(|&i| (p[i] - truth[i]).abs()).sum::<f64>() / pick.len() as f64
                })
            })
            .collect::<Vec<_>>()
    };
    summarise(task, model, "mae", truth.len(), bootstrap, stat)
}

/// Mean ± std over seeds of `per_seed(all test units)`, and a bootstrap 95 % interval: the test units
/// resampled with replacement, the seeds' values averaged per resample.
pub(super) fn summarise(
    task: &str,
    model: &str,
    metric: &'static str,
    n: usize,
    bootstrap: usize,
    per_seed: impl Fn(&[usize]) -> Vec<Option<f64>>,
) -> Cell {
    let all: Vec<usize> = (0..n).collect();
    let scores = per_seed(&all);
    let got: Vec<f64> = scores.iter().flatten().copied().collect();
    let (mean, std) = mean_std(&got);
    let ci95 = (bootstrap > 0 && n > 0).then(|| {
        let mut rng = Rng::for_item(0, &format!("bootstrap-{task}"));
        let mut means = Vec::new();
        for _ in 0..bootstrap {
            let pick: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
            let per: Vec<f64> = per_seed(&pick).into_iter().flatten().collect();
            if !per.is_empty() {
                means.push(per.iter().sum::<f64>() / per.len() as f64);
            }
        }
        means.sort_by(f64::total_cmp);
        let at = |q: f64| means[((means.len() - 1) as f64 * q).round() as usize];
        (!means.is_empty()).then(|| [at(0.025), at(0.975)])
    });
    Cell {
        task: task.to_string(),
        model: model.to_string(),
        metric,
        per_seed: scores,
        mean,
        std,
        ci95: ci95.flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_interval_brackets_the_mean() {
        let labels: Vec<usize> = (0..200).map(|i| i % 2).collect();
        let mut r = Rng::new(3);
        let probs: Vec<Vec<Vec<f64>>> = (0..3)
            .map(|_| {
                labels
                    .iter()
                    .map(|&l| {
                        let p = (0.2 + 0.2 * l as f64 + 0.5 * r.uniform()).min(1.0);
                        vec![1.0 - p, p]
                    })
                    .collect()
            })
            .collect();
        let c = cell("t", "m", &probs, &labels, 300);
        let [lo, hi] = c.ci95.unwrap();
        assert!(lo < c.mean && c.mean < hi, "{lo} {} {hi}", c.mean);
        assert!(hi - lo < 0.2);
    }
}
