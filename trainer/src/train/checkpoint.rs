//! Checkpoints: `<run>/checkpoints/step-NNNNNNN/` with `model.bpk` (burnpack), `optim.bpk` (the
//! optimiser state) and `state.json` (the step and the sha256 of both files). A checkpoint is written
//! into a hidden temporary folder and renamed into place, so a kill leaves either the whole checkpoint
//! or none; on resume a checkpoint whose files do not match their checksums is reported and skipped.
//! The two newest checkpoints are kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Optimiser steps completed.
    pub step: usize,
    pub model_sha256: String,
    pub optim_sha256: String,
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The folder of checkpoints of a run.
pub fn dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

/// Writes a checkpoint for `step`; `write` fills the temporary folder with `model.bpk` and
/// `optim.bpk`.
pub fn save(
    run: &Path,
    step: usize,
    write: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    let root = dir(run);
    std::fs::create_dir_all(&root)?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-checkpoint-")
        .tempdir_in(&root)?;
    write(tmp.path())?;
    let state = State {
        step,
        model_sha256: sha256_file(&tmp.path().join("model.bpk"))?,
        optim_sha256: sha256_file(&tmp.path().join("optim.bpk"))?,
    };
    std::fs::write(
        tmp.path().join("state.json"),
        serde_json::to_vec_pretty(&state)?,
    )?;
    for f in ["model.bpk", "optim.bpk", "state.json"] {
        std::fs::File::open(tmp.path().join(f))?.sync_all()?;
    }
    let dest = root.join(format!("step-{step:07}"));
    if dest.exists() {
        std::fs::remove_dir_all(&dest)?;
    }
    std::fs::rename(tmp.keep(), &dest)?;
    // Keep the two newest.
    let mut all = list(run);
    all.sort();
    while all.len() > 2 {
        let (_, old) = all.remove(0);
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(dest)
}

fn list(run: &Path) -> Vec<(usize, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir(run)) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, e.path()))
        })
        .collect()
}

/// The newest checkpoint whose files match their checksums; damaged ones are reported (as
/// warnings) and skipped.
pub fn latest(run: &Path) -> Option<(State, PathBuf)> {
    let mut all = list(run);
    all.sort();
    while let Some((_, path)) = all.pop() {
        let state: Option<State> = std::fs::read(path.join("state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let ok = state.as_ref().is_some_and(|s| {
            sha256_file(&path.join("model.bpk")).is_ok_and(|h| h == s.model_sha256)
                && sha256_file(&path.join("optim.bpk")).is_ok_and(|h| h == s.optim_sha256)
        });
        match (ok, state) {
            (true, Some(s)) => return Some((s, path)),
            _ => tracing::warn!(
                "checkpoint {} is damaged (checksum mismatch or missing file); trying an older one",
                path.display()
            ),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(dir: &Path, tag: &str) -> anyhow::Result<()> {
        std::fs::write(dir.join("model.bpk"), format!("model {tag}"))?;
        std::fs::write(dir.join("optim.bpk"), format!("optim {tag}"))?;
        Ok(())
    }

    #[test]
    fn newest_valid_checkpoint_wins_and_damage_is_detected() {
        let run = tempfile::tempdir().unwrap();
        for s in [10, 20, 30] {
            save(run.path(), s, |d| fake(d, &s.to_string())).unwrap();
        }
        assert_eq!(list(run.path()).len(), 2, "only the two newest are kept");
        assert_eq!(latest(run.path()).unwrap().0.step, 30);
        // A flipped byte in the newest model: it is skipped for the one before.
        std::fs::write(dir(run.path()).join("step-0000030/model.bpk"), "model 3X").unwrap();
        assert_eq!(latest(run.path()).unwrap().0.step, 20);
        // A failed write leaves no checkpoint folder behind.
        assert!(save(run.path(), 40, |_| anyhow::bail!("disk full")).is_err());
        assert!(!dir(run.path()).join("step-0000040").exists());
    }
}
