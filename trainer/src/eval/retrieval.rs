//! Retrieval in the joint space of an alignment run: audio → report and report → audio, Recall@1/5/10 and
//! mean reciprocal rank, a report being relevant to a recording when it was written for a recording with
//! the same label (the task's label set). Queries and gallery are the task's test recordings and their
//! reports (every recording for leave-one-subject-out tasks).

use serde::Serialize;

/// Recall@1/5/10 and MRR of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Queries with a relevant item first.
    pub r1: f64,
    /// … within the top 5.
    pub r5: f64,
    /// … within the top 10.
    pub r10: f64,
    /// Mean of 1 / rank of the first relevant item.
    pub mrr: f64,
    /// Number of queries.
    pub queries: usize,
    /// Recall@1 of a random ranking: the mean share of relevant items in the gallery.
    pub chance_r1: f64,
}

/// Ranks `gallery` (L2-normalised rows) for each of `queries` by inner product (ties: lower index
/// first) and scores the first relevant item (`q_labels[i] == g_labels[j]`).
pub fn score(
    queries: &[Vec<f32>],
    q_labels: &[usize],
    gallery: &[Vec<f32>],
    g_labels: &[usize],
) -> Scores {
    let mut hits = [0usize; 3];
    let mut rr = 0.0;
    let mut chance = 0.0;
    for (q, ql) in queries.iter().zip(q_labels) {
        chance += g_labels.iter().filter(|l| *l == ql).count() as f64 / gallery.len().max(1) as f64;
        let mut sims: Vec<(usize, f32)> = gallery
            .iter()
            .enumerate()
            .map(|(j, g)| (j, q.iter().zip(g).map(|(a, b)| a * b).sum::<f32>()))
            .collect();
        sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some(rank) = sims.iter().position(|(j, _)| g_labels[*j] == *ql) {
            rr += 1.0 / (rank + 1) as f64;
            for (h, k) in hits.iter_mut().zip([1, 5, 10]) {
                if rank < k {
                    *h += 1;
                }
            }
        }
    }
    let n = queries.len().max(1) as f64;
    Scores {
        r1: hits[0] as f64 / n,
        r5: hits[1] as f64 / n,
        r10: hits[2] as f64 / n,
        mrr: rr / n,
        queries: queries.len(),
        chance_r1: chance / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_and_mrr_by_hand() {
        // Two queries; gallery of three; query 0 (label 0) ranks g1 (label 1), g0 (label 0), g2.
        let g = vec![vec![0.6, 0.8], vec![1.0, 0.0], vec![0.0, 1.0]];
        let gl = [0, 1, 1];
        let q = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let s = score(&q, &[0, 1], &g, &gl);
        // Query 0: sims g1 1.0, g0 0.6, g2 0.0 → first relevant (g0) at rank 2.
        // Query 1: sims g2 1.0, g0 0.8, g1 0.0 → first relevant (g2) at rank 1.
        assert_eq!((s.r1, s.r5, s.r10), (0.5, 1.0, 1.0));
        assert!((s.mrr - 0.75).abs() < 1e-12);
        assert_eq!(s.queries, 2);
        // Query 0: 1 of 3 gallery items relevant; query 1: 2 of 3.
        assert!((s.chance_r1 - 0.5).abs() < 1e-12);
    }
}
