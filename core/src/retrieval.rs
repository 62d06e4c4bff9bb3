//! Exact nearest-neighbour retrieval by inner product over L2-normalised embeddings (a flat index, as
//! the paper's report retrieval uses): cosine similarity, top-k, ties broken by the lower row index.

use std::cmp::Ordering;

use crate::error::RetrievalError;

/// One search result: the row of the index and its cosine similarity with the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Row index in the order the embeddings were added.
    pub index: usize,
    /// Cosine similarity in [-1, 1].
    pub score: f32,
}

/// A flat index of L2-normalised `dim`-dimensional embeddings, stored row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingIndex {
    dim: usize,
    data: Vec<f32>,
}

/// Rows per thread below which one thread scores everything.
const ROWS_PER_THREAD: usize = 8_192;

/// Divides `v` by its L2 norm in place; fails on a zero or non-finite vector.
pub fn normalise(v: &mut [f32]) -> Result<(), RetrievalError> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(RetrievalError::NonFinite { component: i });
    }
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 {
        return Err(RetrievalError::ZeroVector);
    }
    let inv = (1.0 / norm) as f32;
    v.iter_mut().for_each(|x| *x *= inv);
    Ok(())
}

/// Inner product with eight independent accumulators, so the compiler can vectorise it.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Orders hits best first: higher score, then lower index.
fn better(a: &Hit, b: &Hit) -> Ordering {
    b.score
        .partial_cmp(&a.score)
        .unwrap_or(Ordering::Equal)
        .then(a.index.cmp(&b.index))
}

impl EmbeddingIndex {
    /// An empty index of `dim`-dimensional embeddings.
    pub fn new(dim: usize) -> Result<Self, RetrievalError> {
        if dim == 0 {
            return Err(RetrievalError::ZeroDimension);
        }
        Ok(Self {
            dim,
            data: Vec::new(),
        })
    }

    /// Builds an index from row-major embeddings (`data.len()` a multiple of `dim`), normalising each row.
    pub fn from_rows(dim: usize, mut data: Vec<f32>) -> Result<Self, RetrievalError> {
        if dim == 0 {
            return Err(RetrievalError::ZeroDimension);
        }
        if !data.len().is_multiple_of(dim) {
            return Err(RetrievalError::Shape {
                len: data.len(),
                dim,
            });
        }
        for (row, v) in data.chunks_exact_mut(dim).enumerate() {
            normalise(v).map_err(|e| RetrievalError::Row {
                row,
                reason: Box::new(e),
            })?;
        }
        Ok(Self { dim, data })
    }

    /// Adds one embedding (normalised on the way in); returns its row index.
    pub fn push(&mut self, embedding: &[f32]) -> Result<usize, RetrievalError> {
        if embedding.len() != self.dim {
            return Err(RetrievalError::Dimension {
                expected: self.dim,
                got: embedding.len(),
            });
        }
        let mut v = embedding.to_vec();
        normalise(&mut v)?;
        self.data.extend_from_slice(&v);
        Ok(self.len() - 1)
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of embeddings.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Whether the index holds no embedding.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The normalised embedding of row `i`, if it exists.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }

    /// The `k` rows most similar to `query` (cosine), best first; fewer when the index is smaller.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>, RetrievalError> {
        if query.len() != self.dim {
            return Err(RetrievalError::Dimension {
                expected: self.dim,
                got: query.len(),
            });
        }
        let mut q = query.to_vec();
        normalise(&mut q)?;
        let k = k.min(self.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        let threads = crate::available_threads()
            .min(self.len() / ROWS_PER_THREAD)
            .max(1);
        let rows_per = self.len().div_ceil(threads);
        let top_of = |first: usize, block: &[f32]| -> Vec<Hit> {
            let mut hits: Vec<Hit> = block
                .chunks_exact(self.dim)
                .enumerate()
                .map(|(i, row)| Hit {
                    index: first + i,
                    score: dot(&q, row),
                })
                .collect();
            let kk = k.min(hits.len());
            if kk < hits.len() {
                hits.select_nth_unstable_by(kk - 1, better);
                hits.truncate(kk);
            }
            hits
        };
        let mut hits: Vec<Hit> = if threads == 1 {
            top_of(0, &self.data)
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .data
                    .chunks(rows_per * self.dim)
                    .enumerate()
                    .map(|(t, block)| {
                        let top_of = &top_of;
                        scope.spawn(move || top_of(t * rows_per, block))
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        hits.sort_by(better);
        hits.truncate(k);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_rows_and_queries() {
        let idx = EmbeddingIndex::from_rows(2, vec![3.0, 4.0, 0.0, 2.0]).unwrap();
        // (3, 4) / 5 = (0.6, 0.8)
        assert_eq!(idx.row(0).unwrap(), &[0.6, 0.8]);
        assert_eq!(idx.row(1).unwrap(), &[0.0, 1.0]);
        assert_eq!(idx.len(), 2);
    }

    #[test]
    fn search_ranks_by_cosine_with_ties_by_index() {
        // rows: x, y, x again, −x, (1,1)
        let mut idx = EmbeddingIndex::new(2).unwrap();
        for v in [[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [-1.0, 0.0], [1.0, 1.0]] {
            idx.push(&v).unwrap();
        }
        let hits = idx.search(&[5.0, 0.0], 3).unwrap();
        let order: Vec<usize> = hits.iter().map(|h| h.index).collect();
        // cos = 1, 1 (tie: index 0 before 2), then (1,1) at 1/√2
        assert_eq!(order, vec![0, 2, 4]);
        assert!((hits[2].score - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        // k larger than the index gives everything, the opposite vector last
        let all = idx.search(&[1.0, 0.0], 10).unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[4].index, 3);
        assert!((all[4].score + 1.0).abs() < 1e-6);
    }

    #[test]
    fn threaded_search_equals_brute_force() {
        // 40,000 pseudo-random rows of 37 dims (odd, to use the dot product's tail)
        let dim = 37;
        let mut state = 7u64;
        let mut rnd = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let data: Vec<f32> = (0..40_000 * dim).map(|_| rnd()).collect();
        let idx = EmbeddingIndex::from_rows(dim, data).unwrap();
        let q: Vec<f32> = (0..dim).map(|_| rnd()).collect();
        let hits = idx.search(&q, 10).unwrap();
        let mut qn = q.clone();
        normalise(&mut qn).unwrap();
        let mut brute: Vec<Hit> = (0..idx.len())
            .map(|i| Hit {
                index: i,
                score: idx
                    .row(i)
                    .unwrap()
                    .iter()
                    .zip(&qn)
                    .map(|(a, b)| a * b)
                    .sum(),
            })
            .collect();
        brute.sort_by(better);
        let a: Vec<usize> = hits.iter().map(|h| h.index).collect();
        let b: Vec<usize> = brute[..10].iter().map(|h| h.index).collect();
        assert_eq!(a, b);
        for (h, g) in hits.iter().zip(&brute) {
            assert!((h.score - g.score).abs() < 1e-5);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(EmbeddingIndex::new(0), Err(RetrievalError::ZeroDimension));
        assert!(matches!(
            EmbeddingIndex::from_rows(3, vec![1.0; 7]),
            Err(RetrievalError::Shape { .. })
        ));
        assert!(matches!(
            EmbeddingIndex::from_rows(2, vec![1.0, 0.0, 0.0, 0.0]),
            Err(RetrievalError::Row { row: 1, .. })
        ));
        let mut idx = EmbeddingIndex::new(2).unwrap();
        assert!(matches!(
            idx.push(&[1.0]),
            Err(RetrievalError::Dimension {
                expected: 2,
                got: 1
            })
        ));
        assert_eq!(
            idx.push(&[f32::NAN, 1.0]),
            Err(RetrievalError::NonFinite { component: 0 })
        );
        assert_eq!(idx.search(&[1.0, 0.0], 5).unwrap(), vec![]);
        idx.push(&[1.0, 0.0]).unwrap();
        assert_eq!(idx.search(&[0.0, 0.0], 1), Err(RetrievalError::ZeroVector));
    }
}
