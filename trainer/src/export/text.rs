//! The bundle's text side (`text.safetensors` and the manifest's `text`): the alignment run's text
//! head in half precision, the example recordings' joint embeddings (computed from the bundle's own
//! half-precision weights, as `acula predict` and the page compute them), the learned temperature,
//! and the checksums of the sentence encoder the head reads. Written only when that encoder is
//! all-MiniLM-L6-v2 and its files are at hand: another teacher (SmolLM2, embeddings computed
//! elsewhere) cannot embed a typed text here, so such a bundle has no text side.

use std::path::Path;

use acula_core::audio::DecodeLimits;
use acula_core::bundle::{Example, HeadShape, TextEncoderSpec, TextSpec};
use acula_core::screen::Screener;
use acula_core::text::DEFAULT_MAX_TOKENS;
use acula_core::weights;

use super::model::as_half;
use crate::embed::MiniLmFiles;
use crate::train::align::AlignModel;
use crate::Failure;

/// The text side of a bundle: the manifest's description and the file.
pub struct TextSide {
    /// The manifest's `text`.
    pub spec: TextSpec,
    /// `text.safetensors`.
    pub file: Vec<u8>,
}

/// Builds the text side, or says on stderr why the bundle gets none.
pub fn build(
    model: &AlignModel,
    teacher_id: &str,
    teacher_dir: Option<&Path>,
    screener: &Screener,
    examples: &[(Vec<u8>, Example)],
) -> Result<Option<TextSide>, Failure> {
    let files = match MiniLmFiles::read(teacher_dir) {
        Ok(f) if f.id() == teacher_id => f,
        Ok(f) => {
            eprintln!(
                "no text side: the reports were embedded by {teacher_id}, the MiniLM at hand is {}",
                f.id()
            );
            return Ok(None);
        }
        Err(e) => {
            if teacher_id.starts_with("all-minilm-l6-v2") {
                return Err(e);
            }
            eprintln!("no text side: the teacher {teacher_id} is not all-MiniLM-L6-v2");
            return Ok(None);
        }
    };
    let mut named = model
        .text_head
        .export_pytorch("text_head")
        .map_err(|e| Failure::input(e.to_string()))?;
    let dim = screener.manifest().audio_head.dim;
    let mut gallery = Vec::with_capacity(examples.len() * dim);
    for (bytes, ex) in examples {
        let hint = Path::new(&ex.file).extension().and_then(|e| e.to_str());
        let d = acula_core::audio::decode(bytes, hint, &DecodeLimits::default())
            .map_err(|e| Failure::input(format!("example {}: {e}", ex.file)))?;
        let a = screener
            .analyse(&d.samples, d.sample_rate)
            .map_err(|e| Failure::input(format!("example {}: {e}", ex.file)))?;
        let z = a.embedding.ok_or_else(|| {
            Failure::input(format!(
                "example {} ({}) fails the quality check ({}); choose another",
                ex.file, ex.title, a.quality.message
            ))
        })?;
        gallery.extend(z);
    }
    if !examples.is_empty() {
        named.push((
            "examples".to_string(),
            vec![examples.len(), dim],
            as_half(&gallery),
        ));
    }
    let scale = super::model::host(model.log_scale.val().exp().reshape([1, 1]))?;
    let spec = TextSpec {
        encoder: TextEncoderSpec {
            id: teacher_id.to_string(),
            files: files.entries(),
            max_tokens: DEFAULT_MAX_TOKENS,
            pooling: "mean".into(),
        },
        head: HeadShape {
            hidden: screener.manifest().audio_head.hidden,
            dim,
        },
        logit_scale: scale[0],
        prompts: TextSpec::default_prompts(),
        examples: examples.len(),
        head_training: Some(
            "trained with the audio tower in the alignment run (the run's own text head)".into(),
        ),
    };
    let file =
        weights::safetensors_bytes(&named, true).map_err(|e| Failure::input(e.to_string()))?;
    Ok(Some(TextSide { spec, file }))
}
