//! Retrieval benchmark: top-10 by cosine over a flat index of 100,000 × 512 L2-normalised embeddings
//! (the size issue 3 asks for), one query at a time.

use std::hint::black_box;

use acula_core::retrieval::EmbeddingIndex;
use criterion::{criterion_group, criterion_main, Criterion};

/// Deterministic pseudo-random values in [-0.5, 0.5).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (rows, dim) = (100_000, 512);
    let index =
        EmbeddingIndex::from_rows(dim, values(rows * dim, 1)).expect("random rows are valid");
    let query = values(dim, 2);
    let mut group = c.benchmark_group("retrieval");
    group.sample_size(30);
    group.bench_function("top10_of_100000x512", |b| {
        b.iter(|| index.search(black_box(&query), 10).expect("query is valid"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
