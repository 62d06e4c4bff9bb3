//! Evaluation metrics: AUROC as the Mann–Whitney U statistic (ties count one half), binary and macro
//! one-vs-rest.

/// Binary AUROC of `scores` (higher = more positive) against `positive` flags: the probability that
/// a random positive scores above a random negative, ties counting ½. `None` when one class is absent
/// or a score is not finite.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Mid-ranks over the sorted scores.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += order[i..=j].iter().filter(|&&k| positive[k]).count() as f64 * mid;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos * n_neg) as f64)
}

/// Macro one-vs-rest AUROC of class probabilities `probs` (`[n][classes]`) against class indices:
/// the mean over classes present with both signs; binary tasks use the positive class alone.
pub fn auroc_macro(probs: &[Vec<f64>], labels: &[usize]) -> Option<f64> {
    let classes = probs.first()?.len();
    if classes == 2 {
        let s: Vec<f64> = probs.iter().map(|p| p[1]).collect();
        let y: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        return auroc(&s, &y);
    }
    let per: Vec<f64> = (0..classes)
        .filter_map(|c| {
            let s: Vec<f64> = probs.iter().map(|p| p[c]).collect();
            let y: Vec<bool> = labels.iter().map(|&l| l == c).collect();
            auroc(&s, &y)
        })
        .collect();
    (!per.is_empty()).then(|| per.iter().sum::<f64>() / per.len() as f64)
}

/// `acula auroc`: reads `[{"probs": [[…], …], "labels": [..]}, …]` on stdin and prints the macro
/// AUROC of each case (`null` where undefined) as a JSON list.
pub fn run_cases() -> Result<(), crate::Failure> {
    #[derive(serde::Deserialize)]
    struct Case {
        probs: Vec<Vec<f64>>,
        labels: Vec<usize>,
    }
    let cases: Vec<Case> = serde_json::from_reader(std::io::stdin().lock())
        .map_err(|e| crate::Failure::input(format!("stdin: {e}")))?;
    let out: Vec<Option<f64>> = cases
        .iter()
        .map(|c| auroc_macro(&c.probs, &c.labels))
        .collect();
    println!(
        "{}",
        serde_json::to_string(&out).map_err(|e| crate::Failure::output(e.to_string()))?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        // Perfect, reversed, and one discordant pair of four.
        assert_eq!(
            auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(
            auroc(&[0.1, 0.8, 0.2, 0.9], &[false, false, true, true]),
            Some(0.75)
        );
        // Ties: pos {0.5, 0.7}, neg {0.5, 0.3}: pairs (0.5,0.5)=½, (0.5,0.3)=1, (0.7,·)=1+1 → 3.5/4.
        assert_eq!(
            auroc(&[0.5, 0.7, 0.5, 0.3], &[true, true, false, false]),
            Some(0.875)
        );
        // All tied → ½.
        assert_eq!(
            auroc(&[1.0; 5], &[true, false, true, false, false]),
            Some(0.5)
        );
        assert_eq!(auroc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auroc(&[f64::NAN, 0.2], &[true, false]), None);
    }

    #[test]
    fn macro_one_vs_rest() {
        let p = vec![
            vec![0.8, 0.1, 0.1],
            vec![0.1, 0.8, 0.1],
            vec![0.1, 0.1, 0.8],
            vec![0.6, 0.3, 0.1],
        ];
        assert_eq!(auroc_macro(&p, &[0, 1, 2, 0]), Some(1.0));
        let b = vec![vec![0.7, 0.3], vec![0.2, 0.8]];
        assert_eq!(auroc_macro(&b, &[0, 1]), Some(1.0));
    }
}
