//! The file-level helpers the loaders share: text files, case-insensitive lookups, folder listings,
//! the optional-value spellings of dataset tables, and reading a record's audio.

use std::path::{Path, PathBuf};

use super::{DataError, Record};

/// Reads a whole text file (UTF-8, a BOM removed, invalid bytes replaced).
pub(super) fn read_text(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_string())
}

/// The entry of `dir` whose name equals `name` ignoring ASCII case.
pub(super) fn find_ci(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.exists() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
        .map(|e| e.path())
}

/// Files of `dir` with one of the given extensions (lower-case, no dot), sorted; empty if unreadable.
pub(super) fn files_with_ext(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
        })
        .collect();
    v.sort();
    v
}

/// Sub-folders of `dir`, sorted.
pub(super) fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parses an optional number: empty, `NA`, `nan` and `None` are absent.
pub(super) fn opt_num(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || ["na", "nan", "none", "null"].contains(&t.to_ascii_lowercase().as_str()) {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// An optional text value: empty, `NA`, `nan` are absent.
pub(super) fn opt_text(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() || ["na", "nan", "none", "null"].contains(&t.to_ascii_lowercase().as_str()) {
        None
    } else {
        Some(t.to_string())
    }
}

/// A yes/no flag in the spellings datasets use (`True`, `TRUE`, `y`, `1`…); blank is absent.
pub(super) fn opt_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "y" | "yes" | "1" | "1.0" => Some(true),
        "false" | "n" | "no" | "0" | "0.0" => Some(false),
        _ => None,
    }
}

/// Why a record's audio cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PcmError {
    /// The file cannot be read.
    #[error(transparent)]
    Read(#[from] crate::decode::ReadAudioError),
    /// It does not decode.
    #[error(transparent)]
    Decode(#[from] acula_core::AudioError),
}

/// Decodes a record's audio to mono at its own rate: `span` (seconds) or the record's own segment,
/// else the whole file.
pub fn read_pcm(r: &Record, span: Option<(f64, f64)>) -> Result<(Vec<f32>, u32), PcmError> {
    let bytes = crate::decode::read_audio(&r.audio.path, crate::decode::MAX_AUDIO_MB)?;
    let hint = r.audio.path.extension().and_then(|e| e.to_str());
    let d = acula_core::audio::decode(&bytes, hint, &acula_core::audio::DecodeLimits::default())?;
    let rate = d.sample_rate;
    let span = span.or(match (r.audio.start_s, r.audio.end_s) {
        (None, None) => None,
        (a, b) => Some((a.unwrap_or(0.0), b.unwrap_or(f64::INFINITY))),
    });
    let s = match span {
        Some((a, b)) => {
            let a = ((a * f64::from(rate)) as usize).min(d.samples.len());
            let b = if b.is_finite() {
                ((b * f64::from(rate)) as usize).clamp(a, d.samples.len())
            } else {
                d.samples.len()
            };
            d.samples[a..b].to_vec()
        }
        None => d.samples,
    };
    Ok((s, rate))
}
