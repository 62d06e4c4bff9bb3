//! The byte-level BPE tokenizer of a GGUF file (`tokenizer.ggml.model = gpt2`), rebuilt with the
//! `tokenizers` crate.
//!
//! What llama.cpp does for `tokenizer.ggml.pre = smollm` (`llama-vocab.cpp`, LLAMA_VOCAB_PRE_TYPE_SMOLLM):
//! split off every digit alone (`\p{N}`), then apply GPT-2's regex; byte-level BPE with the merges in
//! rank order; no normalizer, nothing prepended. In `tokenizers` terms that is
//! `Sequence[Digits(individual_digits), ByteLevel(add_prefix_space = false, use_regex = true)]`, a BPE
//! model from `tokenizer.ggml.tokens` (id = index) and `tokenizer.ggml.merges` (`"a b"`, rank = index),
//! and a ByteLevel decoder. The CONTROL tokens (`token_type` 3: `<|im_start|>`, `<|im_end|>`, …) are
//! special added tokens, so they are matched whole inside a text, as llama.cpp's `parse_special` does.
//! `tests/parity/smollm2_reference.py` (`build_tokenizer`) builds the same tokenizer in Python.

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use super::gguf::{Gguf, Value};
use crate::error::ModelError;

/// `tokenizer.ggml.token_type` of control tokens.
const CONTROL: i64 = 3;

fn tok_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

/// Builds the tokenizer from the GGUF vocabulary. Only `gpt2` models with the `smollm` (or the plain
/// `default`/`gpt2`-like) pre-tokenizer are supported: other pre-tokenizers split text differently.
pub(super) fn from_gguf(g: &Gguf<'_>) -> Result<Tokenizer, ModelError> {
    let model = g.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(tok_err(format!(
            "tokenizer.ggml.model is {model:?}; only byte-level BPE (\"gpt2\") is supported"
        )));
    }
    let pre = g.get("tokenizer.ggml.pre").and_then(Value::as_str);
    if pre != Some("smollm") {
        return Err(tok_err(format!(
            "tokenizer.ggml.pre is {pre:?}; only \"smollm\" (digits alone, then GPT-2's regex) is supported"
        )));
    }
    let tokens = g.get_array("tokenizer.ggml.tokens")?;
    let merges = g.get_array("tokenizer.ggml.merges")?;
    let types = g.get_array("tokenizer.ggml.token_type")?;
    if types.len() != tokens.len() {
        return Err(tok_err(format!(
            "{} token types for {} tokens",
            types.len(),
            tokens.len()
        )));
    }
    let mut vocab = Vocab::default();
    let mut control = Vec::new();
    for (id, (token, ty)) in tokens.iter().zip(types).enumerate() {
        let text = token
            .as_str()
            .ok_or_else(|| tok_err(format!("token {id} is not a string")))?;
        let id = u32::try_from(id).map_err(tok_err)?;
        if vocab.insert(text.to_string(), id).is_some() {
            return Err(tok_err(format!(
                "token {text:?} appears twice in the vocabulary"
            )));
        }
        let ty = match ty {
            Value::I32(t) => i64::from(*t),
            other => other
                .as_u64()
                .and_then(|t| i64::try_from(t).ok())
                .unwrap_or(-1),
        };
        if ty == CONTROL {
            control.push(AddedToken::from(text.to_string(), true));
        }
    }
    let merges = merges
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.as_str()
                .and_then(|s| s.split_once(' '))
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| tok_err(format!("merge {i} is not a string \"a b\"")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| tok_err(format!("the BPE vocabulary is inconsistent: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    tokenizer.add_special_tokens(control).map_err(tok_err)?;
    Ok(tokenizer)
}
