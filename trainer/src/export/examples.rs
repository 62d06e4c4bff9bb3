//! The bundle's example recordings (the web page's demo set): `--examples` names them, and each is
//! read, checked to decode, and shipped as `example-N.EXT`.

use std::path::{Path, PathBuf};

use acula_core::audio::DecodeLimits;
use acula_core::bundle;
use acula_core::RecordingKind;

use crate::Failure;

/// One entry of `--examples`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct ExampleSpec {
    /// The recording.
    pub path: PathBuf,
    /// What it is, for people.
    pub title: String,
    /// What kind of recording it is.
    pub recording: RecordingKind,
    /// Dataset and licence.
    pub source: String,
}

/// Reads the `--examples` file: a JSON list of [`ExampleSpec`].
pub fn read_specs(path: &Path) -> Result<Vec<ExampleSpec>, Failure> {
    let text = std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_slice(&text).map_err(|e| {
        Failure::input(format!(
            "{}: {e}; write a JSON list of {{\"path\", \"title\", \"recording\", \"source\"}}",
            path.display()
        ))
    })
}

/// Reads the recordings the specs name, each checked to decode: (bytes, manifest entry).
pub fn recordings(specs: &[ExampleSpec]) -> Result<Vec<(Vec<u8>, bundle::Example)>, Failure> {
    let mut out = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let bytes = std::fs::read(&s.path).map_err(|e| {
            Failure::input(format!("cannot read example {}: {e}", s.path.display()))
        })?;
        acula_core::audio::decode(
            &bytes,
            s.path.extension().and_then(|e| e.to_str()),
            &DecodeLimits::default(),
        )
        .map_err(|e| Failure::input(format!("example {}: {e}", s.path.display())))?;
        let ext = s
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "audio".into());
        out.push((
            bytes,
            bundle::Example {
                file: format!("example-{}.{ext}", i + 1),
                title: s.title.clone(),
                recording: s.recording,
                source: s.source.clone(),
            },
        ));
    }
    Ok(out)
}
