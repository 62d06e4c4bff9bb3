//! The local report writer: SmolLM2-135M-Instruct run in burn on the CPU (`core::lm`).
//!
//! Given the metadata as a `Key: value` list, as the LLM writer is, a 135M-parameter model mixes up
//! sexes, copies facts from its examples and invents others (tried; see the closing note of issue 3).
//! So it is given the template writer's report and asked to reword it, with two worked examples, at a
//! low temperature: the facts arrive as sentences and the model adds the variety of phrasing. It cannot
//! be trusted to answer in JSON, so it answers in plain text; the answer is cut to its first three whole
//! sentences and any sentence that suggests further evaluation (which the paper's instruction forbids)
//! is dropped. An answer with nothing left is retried with the next sampling seed, up to three times.

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
    /// Whether the template it rewords keeps acquisition details.
    acquisition: bool,
}

/// Loads SmolLM2 from `dir` (default: the model cache) on the CPU; also returns the file's bytes
/// (callers hash them to name caches).
pub fn load_model(dir: Option<&Path>) -> Result<(SmolLm, Vec<u8>), Failure> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate::cache::root().join("models/smollm2-135m-instruct"));
    let path = dir.join(GGUF_NAME);
    let bytes = std::fs::read(&path).map_err(|e| {
        Failure::input(format!(
            "cannot read {}: {e}; run scripts/fetch-models.sh smollm2 (or give --model-dir)",
            path.display()
        ))
    })?;
    let model = SmolLm::from_gguf(&bytes, &Device::flex())
        .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    Ok((model, bytes))
}

impl LocalWriter {
    /// Loads the GGUF from `dir` (default: the model cache).
    pub fn load(
        dir: Option<&Path>,
        temperature: f32,
        seed: u64,
        acquisition: bool,
    ) -> Result<Self, Failure> {
        let (model, _) = load_model(dir)?;
        Ok(Self {
            model,
            temperature,
            seed,
            acquisition,
        })
    }

    /// The CSV's `writer` value.
    pub fn id(&self) -> String {
        format!(
            "smollm2-135m-instruct-q4_1:reword-v1:t={}:seed={}",
            self.temperature, self.seed
        )
    }

    /// One report for `record`.
    pub fn write(&self, record: &Record) -> Result<String, LlmError> {
        let prompt = prompt(&super::template::write(record, self.seed, self.acquisition));
        let mut last = String::new();
        for attempt in 0..3u64 {
            let opts = GenerateOptions {
                max_new_tokens: 120,
                temperature: self.temperature,
                top_p: 0.95,
                seed: self
                    .seed
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(crate::rng::hash_name(&record.id))
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

fn ask(facts: &str) -> String {
    format!(
        "Rewrite this clinical note in your own words, in 2 or 3 sentences, keeping every fact \
         exactly and adding nothing:\n{facts}"
    )
}

/// Worked examples (note → rewritten note) shown before the record's note: a small model follows
/// examples far better than an instruction alone. Invented; each keeps every fact and adds nothing.
const EXAMPLES: [(&str, &str); 2] = [
    (
        "Lung sounds were recorded over the posterior left lower chest of a 66-year-old woman with \
         pneumonia. Inspiratory crackles are audible. The stethoscope's diaphragm filter was used.",
        "A 66-year-old woman with pneumonia had her posterior left lower chest auscultated with the \
         diaphragm filter of a stethoscope. The recording contains inspiratory crackles.",
    ),
    (
        "A voluntary cough from a 34-year-old man; the participant reports having COVID-19. An expert \
         annotator described it as dry cough, severity mild.",
        "This cough comes from a 34-year-old man who reports having COVID-19. According to an expert \
         annotator, the cough is dry and mild.",
    ),
];

/// The chat prompt: the instruction, the worked examples, then the record's note. The note is the
/// template writer's report for the record (see [`super::template`]), so every fact reaches the model
/// as a plain sentence and the model's task is rewording, which a 135M model does far more faithfully
/// than turning `Key: value` lists into prose.
pub fn prompt(note: &str) -> String {
    let turn = |role: &str, text: &str| format!("<|im_start|>{role}\n{text}<|im_end|>\n");
    let mut p = turn("system", SYSTEM);
    for (q, a) in EXAMPLES {
        p.push_str(&turn("user", &ask(q)));
        p.push_str(&turn("assistant", a));
    }
    p.push_str(&turn("user", &ask(note)));
    p.push_str("<|im_start|>assistant\n");
    p
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
