//! The local report writer: SmolLM2-135M-Instruct run in burn on the CPU (`core::lm`), prompted like
//! the LLM writer. A 135M-parameter model cannot be trusted to answer in JSON, so it is asked for plain
//! text; the answer is cut to its first three sentences and a sentence that suggests further evaluation
//! (which the paper's instruction forbids) is dropped. An answer with nothing left is retried with the
//! next sampling seed, up to three times.

use std::path::Path;

use acula_core::lm::{GenerateOptions, SmolLm};
use burn::tensor::Device;

use super::llm::LlmError;
use crate::data::Record;
use crate::Failure;

/// The GGUF file `scripts/fetch-models.sh smollm2` installs.
pub const GGUF_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

const SYSTEM: &str = "You write short clinical reports about recordings of body sounds. You only \
restate the facts you are given. You never recommend tests, treatment or follow-up.";

/// Words that mark a sentence suggesting further evaluation.
const FORBIDDEN: [&str; 8] = [
    "recommend",
    "further",
    "follow-up",
    "follow up",
    "should",
    "suggest",
    "consult",
    "evaluation",
];

/// SmolLM2 behind the report-writer interface.
pub struct LocalWriter {
    model: SmolLm,
    temperature: f32,
    seed: u64,
}

impl LocalWriter {
    /// Loads the GGUF from `dir`.
    pub fn load(dir: &Path, temperature: f32, seed: u64) -> Result<Self, Failure> {
        let path = dir.join(GGUF_NAME);
        let bytes = std::fs::read(&path).map_err(|e| {
            Failure::input(format!(
                "cannot read {}: {e}; run scripts/fetch-models.sh smollm2 (or give --model-dir)",
                path.display()
            ))
        })?;
        let model = SmolLm::from_gguf(&bytes, &Device::flex())
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        Ok(Self {
            model,
            temperature,
            seed,
        })
    }

    /// The CSV's `writer` value.
    pub fn id(&self) -> String {
        format!(
            "smollm2-135m-instruct-q4_1:t={}:seed={}",
            self.temperature, self.seed
        )
    }

    /// One report for `record`.
    pub fn write(&self, dataset: &str, record: &Record, meta: &str) -> Result<String, LlmError> {
        let user = format!(
            "Facts about a {} recording from the {dataset} dataset: {meta}.\n\
             Write 2 or 3 sentences of a clinical report that state these facts.",
            record.modality.replace(['-', '_'], " ")
        );
        let prompt = SmolLm::chat_prompt(Some(SYSTEM), &user);
        let mut last = String::new();
        for attempt in 0..3u64 {
            let opts = GenerateOptions {
                max_new_tokens: 120,
                temperature: self.temperature,
                top_p: 0.95,
                seed: self
                    .seed
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(fnv(&record.id))
                    .wrapping_add(attempt),
            };
            let text = self
                .model
                .generate(&prompt, &opts)
                .map_err(|e| LlmError::Fatal(e.to_string()))?;
            let cleaned = clean(&text);
            if !cleaned.is_empty() {
                return Ok(cleaned);
            }
            last = text;
        }
        Err(LlmError::GaveUp {
            attempts: 3,
            last: format!("no usable sentence in {last:.80}"),
        })
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The first three sentences of `text` that do not suggest further evaluation, whitespace tidied.
pub fn clean(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in flat.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let next = flat[i + c.len_utf8()..].chars().next();
            if next.is_none_or(|n| n == ' ') {
                out.push(flat[start..=i].trim().to_string());
                start = i + c.len_utf8();
            }
        }
    }
    out.retain(|s| {
        let l = s.to_lowercase();
        s.len() > 3 && !FORBIDDEN.iter().any(|w| l.contains(w))
    });
    out.truncate(3);
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn keeps_whole_sentences_and_drops_advice() {
        // An unfinished last sentence is dropped; advice is dropped; at most three are kept.
        assert_eq!(
            clean("The patient is 70.5 years old.  Crackles are heard! Further tests are recommended. It is COPD. Extra one. And"),
            "The patient is 70.5 years old. Crackles are heard! It is COPD."
        );
        assert_eq!(clean("You should see a doctor."), "");
    }
}
