//! Helpers shared by the model tests: where the fetched models are, and cosine similarity.

use std::io::Write;
use std::path::PathBuf;

/// `$ACULA_CACHE/models/<rel>` (cache default `~/.cache/acula`, as `scripts/fetch-models.sh` uses) if
/// it exists; otherwise what is missing and how to get it.
pub fn model_path(rel: &str, fetch: &str) -> Result<PathBuf, String> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = var("ACULA_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("acula")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/acula")))
        .ok_or_else(|| {
            format!("no model cache (none of $ACULA_CACHE, $XDG_CACHE_HOME, $HOME is set); run scripts/fetch-models.sh {fetch}")
        })?;
    let path = cache.join("models").join(rel);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is absent; run scripts/fetch-models.sh {fetch}",
            path.display()
        ))
    }
}

/// Prints `SKIPPED <test>: <why>` to the process's stderr, past the test harness's capture, so that a
/// plain `cargo test` shows which tests did not run.
pub fn skip(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The value, or `None` after [`skip`] says why not. The test then returns and passes, but says that
/// it did not run (`scripts/test.sh` fetches the models, so there it runs).
pub fn or_skip<T>(test: &str, found: Result<T, String>) -> Option<T> {
    found.map_err(|why| skip(test, &why)).ok()
}

/// Cosine similarity, accumulated in f64.
pub fn cos(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}
