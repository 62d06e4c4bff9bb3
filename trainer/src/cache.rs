//! Where downloaded models and computed embeddings live: `$ACULA_CACHE`, else
//! `$XDG_CACHE_HOME/acula`, else `~/.cache/acula` (the same rule as `scripts/fetch-models.sh` and
//! `scripts/pyenv.sh`). Nothing here is ever inside the repository.

use std::path::PathBuf;

/// The cache folder (it may not exist yet).
pub fn root() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("ACULA_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("acula")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/acula")))
        .unwrap_or_else(|| PathBuf::from(".acula-cache"))
}
