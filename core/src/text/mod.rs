//! The semantic teacher: a frozen sentence encoder turning clinical reports into vectors.
//!
//! [`TextEncoder`] is all-MiniLM-L6-v2 (a 6-layer BERT, 384-d, mean pooling) read from the files its
//! publishers ship: `config.json`, `model.safetensors` and `tokenizer.json` (read with the
//! `tokenizers` crate). It runs on any burn [`Device`]: natively on the CPU, in the browser on wasm or
//! WebGPU (where reading results back must be async: [`TextEncoder::embed_async`]).

mod bert;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{Tokenizer, TruncationParams};

pub use bert::{Bert, BertConfig};

use crate::error::ModelError;

/// Reports are truncated to this many tokens (the paper's limit for its teacher).
pub const DEFAULT_MAX_TOKENS: usize = 128;

/// A frozen sentence encoder.
pub struct TextEncoder {
    model: Bert,
    tokenizer: Tokenizer,
    device: Device,
    hidden: usize,
    max_tokens: usize,
}

/// A batch ready for the model: ids and mask, padded to the longest text.
struct Batch {
    ids: Tensor<2, Int>,
    mask: Tensor<2>,
}

impl TextEncoder {
    /// Loads the model from its three files' contents.
    pub fn from_bytes(
        config_json: &str,
        weights: &[u8],
        tokenizer_json: &[u8],
        device: &Device,
        max_tokens: usize,
    ) -> Result<Self, ModelError> {
        let config = BertConfig::from_json(config_json)?;
        if max_tokens < 2 || max_tokens > config.max_position_embeddings {
            return Err(ModelError::Config(format!(
                "max_tokens {max_tokens} must be 2–{}",
                config.max_position_embeddings
            )));
        }
        let model = Bert::load(&config, weights, device)?;
        let mut tokenizer = Tokenizer::from_bytes(tokenizer_json)
            .map_err(|e| ModelError::Tokenizer(format!("cannot read tokenizer.json: {e}")))?;
        // tokenizer.json pads every text to a fixed 128 tokens; batches are padded here instead,
        // and only as far as the longest text.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        if tokenizer.get_vocab_size(true) > config.vocab_size {
            return Err(ModelError::Tokenizer(format!(
                "the tokenizer has {} tokens but the model only {}; they do not belong together",
                tokenizer.get_vocab_size(true),
                config.vocab_size
            )));
        }
        Ok(Self {
            model,
            tokenizer,
            device: device.clone(),
            hidden: config.hidden_size,
            max_tokens,
        })
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// Token limit per text.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Token ids of each text (with `[CLS]`/`[SEP]`, truncated).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, ModelError> {
        texts
            .iter()
            .map(|t| {
                self.tokenizer
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| ModelError::Tokenizer(e.to_string()))
            })
            .collect()
    }

    /// Whether `text` is longer than [`Self::max_tokens`] tokens (and so cut before embedding).
    pub fn truncated(&self, text: &str) -> Result<bool, ModelError> {
        self.tokenizer
            .encode(text, true)
            .map(|e| !e.get_overflowing().is_empty())
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    fn batch(&self, texts: &[&str]) -> Result<Batch, ModelError> {
        let ids = self.tokenize(texts)?;
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let n = texts.len();
        let mut flat = vec![0i64; n * longest];
        let mut mask = vec![0f32; n * longest];
        for (row, t) in ids.iter().enumerate() {
            for (j, &id) in t.iter().enumerate() {
                flat[row * longest + j] = i64::from(id);
                mask[row * longest + j] = 1.0;
            }
        }
        Ok(Batch {
            ids: Tensor::from_data(TensorData::new(flat, [n, longest]), &self.device),
            mask: Tensor::from_data(TensorData::new(mask, [n, longest]), &self.device),
        })
    }

    fn rows(&self, data: TensorData, n: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let values: Vec<f32> = data
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        if values.len() != n * self.hidden {
            return Err(ModelError::Backend(format!(
                "expected {} values, got {}",
                n * self.hidden,
                values.len()
            )));
        }
        Ok(values.chunks(self.hidden).map(|c| c.to_vec()).collect())
    }

    /// Mean-pooled embeddings (not normalised), one per text. Native devices only: in the browser
    /// use [`Self::embed_async`].
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let b = self.batch(texts)?;
        let out = self.model.forward(b.ids, b.mask);
        let data = out
            .try_into_data()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        self.rows(data, texts.len())
    }

    /// [`Self::embed`] with an async read-back (required on WebGPU).
    pub async fn embed_async(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let b = self.batch(texts)?;
        let out = self.model.forward(b.ids, b.mask);
        let data = out
            .into_data_async()
            .await
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        self.rows(data, texts.len())
    }
}
