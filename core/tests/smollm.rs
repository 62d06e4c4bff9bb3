//! SmolLM2-135M-Instruct (GGUF Q4_1) in burn against the numpy reference
//! `tests/parity/smollm2_reference.py`. Needs the file that `scripts/fetch-models.sh smollm2` puts in
//! `$ACULA_CACHE/models/smollm2-135m-instruct` (default cache `~/.cache/acula`); without it each test
//! prints `SKIPPED <test>: <what is missing>` and passes (`scripts/test.sh` fetches it, so in CI they
//! run). Timings are printed (run with `--nocapture`, ideally `--release`); nothing asserts
//! on them.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use acula_core::lm::{GenerateOptions, Pooling, SmolLm};
use acula_core::ModelError;
use burn::tensor::Device;

fn gguf_path() -> Result<PathBuf, String> {
    common::model_path(
        "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf",
        "smollm2",
    )
}

/// The GGUF file's bytes, or what is missing.
fn bytes() -> Result<&'static [u8], String> {
    static BYTES: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    BYTES
        .get_or_init(|| gguf_path().map(|p| std::fs::read(p).unwrap()))
        .as_deref()
        .map_err(Clone::clone)
}

/// One model for all tests (loading takes seconds in debug builds).
fn model() -> Result<&'static SmolLm, String> {
    static MODEL: OnceLock<Result<SmolLm, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let bytes = bytes()?;
            let t = Instant::now();
            let m = SmolLm::from_gguf(bytes, &Device::flex()).unwrap();
            eprintln!("load: {:.2} s", t.elapsed().as_secs_f64());
            Ok(m)
        })
        .as_ref()
        .map_err(Clone::clone)
}

use common::cos;

/// Token ids from the Python `tokenizers` package on the vocabulary of the GGUF, produced by
/// `$(bash scripts/pyenv.sh) tests/parity/smollm2_reference.py GGUF tokenize TEXT…` (the chat prompt's
/// ids are the 37 the script's `--check` prints).
#[test]
fn token_ids_match_the_python_reference() {
    let Some(lm) = common::or_skip("token_ids_match_the_python_reference", model()) else {
        return;
    };
    let cases: [(&str, &[u32]); 5] = [
        ("Hello world", &[19556, 905]),
        (
            "The year 2024 has 366 days.",
            &[
                504, 713, 216, 34, 32, 34, 36, 553, 216, 35, 38, 38, 2009, 30,
            ],
        ),
        (
            "café naïve — Zürich\nnew line\n\n  two  spaces",
            &[
                83, 1939, 2756, 15486, 46494, 1841, 1777, 7170, 5130, 198, 2241, 1761, 8866, 827,
                216, 5600,
            ],
        ),
        (
            "x=3.14159; y = -42 // ok?",
            &[
                104, 45, 35, 30, 33, 36, 33, 37, 41, 43, 329, 446, 731, 36, 34, 13241, 10907, 47,
            ],
        ),
        (
            &SmolLm::chat_prompt(None, "What is the capital of France?"),
            &[
                1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018,
                411, 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47,
                2, 198, 1, 520, 9531, 198,
            ],
        ),
    ];
    for (text, expected) in cases {
        let ids = lm.tokenize(text).unwrap();
        assert_eq!(ids, expected, "{text:?}");
        // Byte-level BPE round-trips any text without control tokens.
        if !text.contains("<|") {
            assert_eq!(lm.decode(&ids).unwrap(), text);
        }
    }
}

/// The reference's greedy answer (float64 on the same dequantized weights) is
/// "The capital of France is Paris." = ids [504, 3575, 282, 4649, 314, 7042, 30], then <|im_end|>.
#[test]
fn greedy_answer_matches_the_reference() {
    let Some(lm) = common::or_skip("greedy_answer_matches_the_reference", model()) else {
        return;
    };
    let prompt = SmolLm::chat_prompt(None, "What is the capital of France?");
    let opts = GenerateOptions {
        max_new_tokens: 20,
        ..GenerateOptions::default()
    };
    let t = Instant::now();
    let first = lm
        .generate(
            &prompt,
            &GenerateOptions {
                max_new_tokens: 1,
                ..opts
            },
        )
        .unwrap();
    let prefill = t.elapsed().as_secs_f64();
    assert_eq!(first, "The");
    let t = Instant::now();
    let answer = lm.generate(&prompt, &opts).unwrap();
    let s = t.elapsed().as_secs_f64();
    let n = lm.tokenize(&answer).unwrap().len() + 1; // + the end-of-turn token
    eprintln!(
        "greedy: {answer:?}: 37 prompt tokens + {n} steps in {s:.2} s; prefill + first token {prefill:.2} s; \
         decoding {:.1} tokens/s",
        (n - 1) as f64 / (s - prefill)
    );
    assert_eq!(answer, "The capital of France is Paris.");
}

/// Sampling twice with one seed gives one text.
#[test]
fn sampling_is_deterministic_per_seed() {
    let Some(lm) = common::or_skip("sampling_is_deterministic_per_seed", model()) else {
        return;
    };
    let prompt = SmolLm::chat_prompt(None, "Write a haiku about the sea.");
    let opts = |seed| GenerateOptions {
        max_new_tokens: 8,
        temperature: 0.8,
        top_p: 0.9,
        seed,
    };
    let t = Instant::now();
    let a = lm.generate(&prompt, &opts(1)).unwrap();
    let s = t.elapsed().as_secs_f64();
    let n = lm.tokenize(&a).unwrap().len();
    eprintln!("sampled (seed 1): {a:?}: {n} tokens in {s:.2} s (incl. prefill)");
    assert!(!a.trim().is_empty());
    assert_eq!(lm.generate(&prompt, &opts(1)).unwrap(), a);
}

#[derive(serde::Deserialize)]
struct Reference {
    texts: Vec<String>,
    ids: Vec<Vec<u32>>,
    mean: Vec<Vec<f32>>,
    mean_padded_16: Padded,
}

#[derive(serde::Deserialize)]
struct Padded {
    text: String,
    embedding: Vec<f32>,
}

/// Embeddings against `tests/data/smollm2_embeddings.json`, written from
/// `tests/parity/smollm2_reference.py GGUF embed texts.json OUT.npy` (mean over the tokens after the
/// final RMSNorm, float64) and, for `mean_padded_16`, the same script's `SmolLM2.forward` on the ids
/// right-padded with id 2 to 16 positions, averaged over all 16. Tolerance: cosine ≥ 0.9999 and
/// max |Δ| ≤ 2e-3 · max |x| (f32 against float64 through 30 layers).
#[test]
fn embeddings_match_the_python_reference() {
    let Some(lm) = common::or_skip("embeddings_match_the_python_reference", model()) else {
        return;
    };
    let r: Reference = serde_json::from_str(include_str!("data/smollm2_embeddings.json")).unwrap();
    let texts: Vec<&str> = r.texts.iter().map(String::as_str).collect();
    for (t, ids) in texts.iter().zip(&r.ids) {
        assert_eq!(&lm.tokenize(t).unwrap(), ids);
    }
    let t = Instant::now();
    let e = lm.embed(&texts, Pooling::Mean).unwrap();
    let s = t.elapsed().as_secs_f64();
    let tokens: usize = r.ids.iter().map(Vec::len).sum();
    eprintln!(
        "embed: {} texts ({tokens} tokens) in {s:.3} s ({:.1} texts/s, {:.0} tokens/s)",
        texts.len(),
        texts.len() as f64 / s,
        tokens as f64 / s
    );
    let check = |got: &[f32], want: &[f32], what: &str| {
        assert_eq!(got.len(), 576);
        let c = cos(got, want);
        let scale = want.iter().fold(0f32, |m, x| m.max(x.abs()));
        let max = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("{what}: cos {c:.7}, max |Δ| {max:.2e} (max |x| {scale:.1})");
        assert!(c >= 0.9999, "{what}: cosine {c}");
        assert!(max <= 2e-3 * scale, "{what}: max |Δ| {max}");
    };
    for (i, (got, want)) in e.iter().zip(&r.mean).enumerate() {
        check(got, want, &format!("mean {i}"));
    }
    // Batched = one by one (right-padding never reaches earlier tokens through causal attention).
    let one = lm.embed(&texts[1..2], Pooling::Mean).unwrap();
    check(&one[0], &e[1], "one by one vs batched");
    let padded = lm
        .embed(&[r.mean_padded_16.text.as_str()], Pooling::MeanPadded(16))
        .unwrap();
    check(&padded[0], &r.mean_padded_16.embedding, "mean padded 16");
    assert_eq!(lm.dim(), 576);
}

/// Embedding throughput at the paper's setting (128 positions per text). Release builds only: an
/// unoptimised build needs minutes for it.
#[test]
fn padded_embedding_throughput() {
    if cfg!(debug_assertions) {
        common::skip(
            "padded_embedding_throughput",
            "a debug build; run with --release to see the throughput",
        );
        return;
    }
    let Some(lm) = common::or_skip("padded_embedding_throughput", model()) else {
        return;
    };
    let texts = ["Crackles over the left lung base."; 8];
    let t = Instant::now();
    let e = lm.embed(&texts, Pooling::MeanPadded(128)).unwrap();
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "embed MeanPadded(128): 8 texts in {s:.2} s ({:.2} texts/s, {:.0} tokens/s)",
        8.0 / s,
        8.0 * 128.0 / s
    );
    assert_eq!(e.len(), 8);
    assert!(e.iter().all(|v| v == &e[0]));
}

#[test]
fn bad_requests_are_errors() {
    let Some(lm) = common::or_skip("bad_requests_are_errors", model()) else {
        return;
    };
    assert!(matches!(
        lm.embed(&[""], Pooling::Mean),
        Err(ModelError::Request(_))
    ));
    assert!(lm.embed(&["x"], Pooling::MeanPadded(0)).is_err());
    let hot = GenerateOptions {
        temperature: f32::NAN,
        ..GenerateOptions::default()
    };
    assert!(lm.generate("hi", &hot).is_err());
    let long = GenerateOptions {
        max_new_tokens: 1 << 20,
        ..GenerateOptions::default()
    };
    assert!(lm.generate("hi", &long).is_err());
    assert_eq!(
        lm.embed(&[], Pooling::Mean).unwrap(),
        Vec::<Vec<f32>>::new()
    );
}

/// Truncated and corrupted files give errors, never panics.
#[test]
fn damaged_files_are_errors() {
    let Some(bytes) = common::or_skip("damaged_files_are_errors", bytes()) else {
        return;
    };
    let device = Device::flex();
    for n in [
        0,
        3,
        4,
        8,
        23,
        24,
        1000,
        1_785_000,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        assert!(
            SmolLm::from_gguf(&bytes[..n], &device).is_err(),
            "a prefix of {n} bytes loaded"
        );
    }
    // A tensor count of u64::MAX and a metadata count of 2^40.
    let mut huge = bytes[..4096].to_vec();
    huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(SmolLm::from_gguf(&huge, &device).is_err());
    let mut huge = bytes[..4096].to_vec();
    huge[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(SmolLm::from_gguf(&huge, &device).is_err());
    // Bytes flipped all over the header and the tensor table (each copy damaged at one place).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..50 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let at = (state % 1_785_664) as usize;
        let mut damaged = bytes[..1_785_664].to_vec();
        damaged[at] ^= 0xff;
        // Only the header is kept, so every damaged copy must fail somewhere (never panic).
        assert!(SmolLm::from_gguf(&damaged, &device).is_err());
    }
}
