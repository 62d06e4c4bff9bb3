//! The teacher (all-MiniLM-L6-v2 in burn) against published behaviour. Needs the model files that
//! `scripts/fetch-models.sh minilm` puts in `$ACULA_CACHE/models/all-minilm-l6-v2` (default cache
//! `~/.cache/acula`); without them each test prints `SKIPPED <test>: <what is missing>` and passes
//! (`scripts/test.sh` fetches them, so in CI they run). The element-wise parity test against the
//! numpy reference on real reports is `tests/parity/teacher.py` (run by `scripts/test.sh`).

mod common;

use std::path::PathBuf;

use acula_core::text::{TextEncoder, DEFAULT_MAX_TOKENS};
use burn::tensor::Device;

/// The model folder, or what is missing.
fn model_dir() -> Result<PathBuf, String> {
    let weights = common::model_path("all-minilm-l6-v2/model.safetensors", "minilm")?;
    Ok(weights.with_file_name(""))
}

fn load(dir: &std::path::Path) -> TextEncoder {
    TextEncoder::from_bytes(
        &std::fs::read_to_string(dir.join("config.json")).unwrap(),
        &std::fs::read(dir.join("model.safetensors")).unwrap(),
        &std::fs::read(dir.join("tokenizer.json")).unwrap(),
        &Device::flex(),
        DEFAULT_MAX_TOKENS,
    )
    .unwrap()
}

use common::cos;

/// sentence-transformers' documented semantic-search example for all-MiniLM-L6-v2: the query
/// "A man is eating pasta." scores these sentences 0.7035, 0.5272, 0.1889, 0.1047, 0.0980.
#[test]
fn reproduces_the_published_semantic_search_scores() {
    let test = "reproduces_the_published_semantic_search_scores";
    let Some(dir) = common::or_skip(test, model_dir()) else {
        return;
    };
    let enc = load(&dir);
    assert_eq!(enc.dim(), 384);
    let texts = [
        "A man is eating pasta.",
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "A man is riding a horse.",
        "A man is riding a white horse on an enclosed ground.",
        "A cheetah is running behind its prey.",
    ];
    let e = enc.embed(&texts).unwrap();
    let published = [0.7035, 0.5272, 0.1889, 0.1047, 0.0980];
    for (i, p) in published.iter().enumerate() {
        let c = cos(&e[0], &e[i + 1]);
        assert!(
            (c - p).abs() < 6e-5,
            "{}: {c:.5} vs published {p}",
            texts[i + 1]
        );
    }
}

/// Padding a text inside a batch must not change its embedding: batched = one by one.
#[test]
fn batched_equals_one_by_one() {
    let Some(dir) = common::or_skip("batched_equals_one_by_one", model_dir()) else {
        return;
    };
    let enc = load(&dir);
    let texts = [
        "short",
        "The patient, a 64-year-old woman with COPD, has crackles over the left posterior chest.",
    ];
    let batched = enc.embed(&texts).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let one = enc.embed(&[t]).unwrap();
        let max = one[0]
            .iter()
            .zip(&batched[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-5, "text {i}: max |Δ| {max}");
    }
    // "A man is eating food." → [CLS] a man is eating food . [SEP] (tokenizer.json's vocabulary).
    assert_eq!(
        enc.tokenize(&["A man is eating food."]).unwrap()[0],
        [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    );
}
