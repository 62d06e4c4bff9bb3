//! A small causal language model: SmolLM2-135M-Instruct (a Llama) read from its GGUF file.
//!
//! [`SmolLm`] loads the model from the bytes of a GGUF file (`SmolLM2-135M-Instruct.Q4_1.gguf`: Q4_1
//! weights and a Q8_0 token table, dequantized to f32 at load time), rebuilds its byte-level BPE
//! tokenizer from the file's vocabulary, and offers chat-style generation ([`SmolLm::generate`], greedy
//! or seeded nucleus sampling) and mean-pooled embeddings of the last hidden states
//! ([`SmolLm::embed`], the AcuLa paper's causal-teacher pooling included). It runs on any burn
//! [`Device`]; in the browser read-backs must be async ([`SmolLm::embed_async`],
//! [`SmolLm::generate_async`]).

pub mod gguf;
mod llama;
mod tokenizer;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::Tokenizer;

use crate::error::ModelError;
use gguf::Gguf;
use llama::{KvCache, Llama};

pub use llama::LlamaConfig;

/// The system prompt SmolLM2's chat template inserts when the conversation has none.
pub const DEFAULT_SYSTEM_PROMPT: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// `tokenizer.chat_template` of SmolLM2-135M-Instruct, which [`SmolLm::chat_prompt`] reproduces.
const CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// [`Pooling::Mean`] truncates texts to this many tokens (attention memory grows with its square).
pub const MAX_EMBED_TOKENS: usize = 512;

/// Texts per forward pass in [`SmolLm::embed`].
const EMBED_BATCH: usize = 8;

/// How token states become one embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean over the text's own tokens (at most [`MAX_EMBED_TOKENS`]); what Hugging Face's
    /// `last_hidden_state` mean and llama.cpp's `--pooling mean` give. An empty text is an error.
    Mean,
    /// The AcuLa paper's pooling of its causal teacher: the token sequence is truncated or padded (with
    /// the pad token, id 2 `<|im_end|>`, on the right) to exactly `n` positions and the states of all `n`
    /// positions are averaged, padding included (the paper uses n = 128).
    MeanPadded(usize),
}

/// Settings of [`SmolLm::generate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateOptions {
    /// Most tokens to generate (the end-of-turn token not counted). Default: 128.
    pub max_new_tokens: usize,
    /// Softmax temperature; 0 is greedy decoding. Default: 0.
    pub temperature: f32,
    /// Nucleus sampling: sample among the most likely tokens whose probabilities add up to `top_p`
    /// (1 = all tokens). Ignored when greedy. Default: 1.
    pub top_p: f32,
    /// Seed of the sampler: the same seed, prompt and options give the same text. Default: 0.
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_new_tokens: 128,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

/// SmolLM2 (or another `llama` GGUF with the same tokenizer kind) ready to generate and embed.
pub struct SmolLm {
    model: Llama,
    config: LlamaConfig,
    tokenizer: Tokenizer,
    device: Device,
    /// Generation ends at these ids (`<|im_end|>` = eos and `<|endoftext|>`).
    stop_ids: Vec<u32>,
    pad_id: u32,
}

impl SmolLm {
    /// Loads the model and its tokenizer from the bytes of a GGUF file.
    pub fn from_gguf(bytes: &[u8], device: &Device) -> Result<Self, ModelError> {
        let g = Gguf::parse(bytes)?;
        let config = LlamaConfig::from_gguf(&g)?;
        let tokenizer = tokenizer::from_gguf(&g)?;
        let id = |key: &str| -> Result<Option<u32>, ModelError> {
            match g.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .filter(|&v| (v as usize) < config.vocab_size)
                    .map(Some)
                    .ok_or_else(|| ModelError::Config(format!("{key} is not a token id"))),
            }
        };
        let eos = id("tokenizer.ggml.eos_token_id")?
            .ok_or_else(|| ModelError::Config("tokenizer.ggml.eos_token_id is missing".into()))?;
        let pad_id = id("tokenizer.ggml.padding_token_id")?.unwrap_or(eos);
        let mut stop_ids = vec![eos];
        stop_ids.extend(tokenizer.token_to_id("<|endoftext|>"));
        if g.get("tokenizer.chat_template").and_then(|v| v.as_str()) != Some(CHAT_TEMPLATE) {
            tracing::warn!("the GGUF's chat template is not SmolLM2's; chat_prompt may not fit it");
        }
        let model = config.load_gguf(&g, device)?;
        Ok(Self {
            model,
            config,
            tokenizer,
            device: device.clone(),
            stop_ids,
            pad_id,
        })
    }

    /// Width of the hidden states and embeddings (576).
    pub fn dim(&self) -> usize {
        self.config.d_model
    }

    /// The model's sizes.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// A one-turn conversation in SmolLM2's chat template (ChatML), ending with the assistant's turn
    /// opened for generation. Without a system prompt the template's default one is used
    /// ([`DEFAULT_SYSTEM_PROMPT`]).
    pub fn chat_prompt(system: Option<&str>, user: &str) -> String {
        let system = system.unwrap_or(DEFAULT_SYSTEM_PROMPT);
        format!(
            "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        )
    }

    /// Token ids of `text` as is: nothing is prepended, and control tokens written in the text
    /// (`<|im_start|>`, …) become their ids.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// The text of token ids, control tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String, ModelError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    /// Continues `prompt` (use [`Self::chat_prompt`] for a chat turn) until an end-of-turn token or
    /// `max_new_tokens`, and returns the new text. Native devices only: in the browser use
    /// [`Self::generate_async`].
    pub fn generate(&self, prompt: &str, opts: &GenerateOptions) -> Result<String, ModelError> {
        let mut run = Decoding::start(self, prompt, opts)?;
        while let Some(logits) = run.pending.take() {
            let values = logits
                .try_into_data()
                .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
            run.accept(self, values)?;
        }
        self.decode(&run.out)
    }

    /// [`Self::generate`] with async read-backs (required on WebGPU).
    pub async fn generate_async(
        &self,
        prompt: &str,
        opts: &GenerateOptions,
    ) -> Result<String, ModelError> {
        let mut run = Decoding::start(self, prompt, opts)?;
        while let Some(logits) = run.pending.take() {
            let values = logits
                .into_data_async()
                .await
                .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
            run.accept(self, values)?;
        }
        self.decode(&run.out)
    }

    /// One embedding per text: the pooled last hidden states (after the final RMSNorm) of the text
    /// tokenized as is (no chat template). Native devices only: in the browser use
    /// [`Self::embed_async`].
    pub fn embed(&self, texts: &[&str], pooling: Pooling) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(EMBED_BATCH) {
            let pooled = self.pooled(chunk, pooling)?;
            let data = pooled
                .try_into_data()
                .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
            out.extend(self.rows(data, chunk.len())?);
        }
        Ok(out)
    }

    /// [`Self::embed`] with async read-backs (required on WebGPU).
    pub async fn embed_async(
        &self,
        texts: &[&str],
        pooling: Pooling,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(EMBED_BATCH) {
            let pooled = self.pooled(chunk, pooling)?;
            let data = pooled
                .into_data_async()
                .await
                .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
            out.extend(self.rows(data, chunk.len())?);
        }
        Ok(out)
    }

    /// The pooled states of a batch of texts, right-padded with the pad token: attention is causal,
    /// so padding never changes the states of the real tokens before it.
    ///
    /// # Shapes
    /// - output: `[texts, d_model]`
    fn pooled(&self, texts: &[&str], pooling: Pooling) -> Result<Tensor<2>, ModelError> {
        let limit = match pooling {
            Pooling::Mean => MAX_EMBED_TOKENS.min(self.config.context_length),
            Pooling::MeanPadded(n) if n == 0 || n > self.config.context_length => {
                return Err(ModelError::Request(format!(
                    "MeanPadded needs 1–{} positions, not {n}",
                    self.config.context_length
                )))
            }
            Pooling::MeanPadded(n) => n,
        };
        let mut ids = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let mut t = self.tokenize(text)?;
            if t.is_empty() && pooling == Pooling::Mean {
                return Err(ModelError::Request(format!(
                    "text {i} is empty, so it has no tokens to average"
                )));
            }
            t.truncate(limit);
            ids.push(t);
        }
        let width = match pooling {
            Pooling::Mean => ids.iter().map(Vec::len).max().unwrap_or(1),
            Pooling::MeanPadded(n) => n,
        };
        let n = texts.len();
        let mut flat = vec![i64::from(self.pad_id); n * width];
        let mut mask = vec![0f32; n * width];
        for (row, t) in ids.iter().enumerate() {
            for (j, &id) in t.iter().enumerate() {
                flat[row * width + j] = i64::from(id);
            }
            let counted = match pooling {
                Pooling::Mean => t.len(),
                Pooling::MeanPadded(_) => width,
            };
            mask[row * width..row * width + counted].fill(1.0);
        }
        let ids = Tensor::<2, Int>::from_data(TensorData::new(flat, [n, width]), &self.device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [n, width]), &self.device)
            .reshape([n, width, 1]); // [texts, width, 1]
        let hidden = self.model.forward(ids, &mut KvCache::default()); // [texts, width, d_model]
        let summed = (hidden * mask.clone()).sum_dim(1).squeeze_dim::<2>(1); // [texts, d_model]
        let count = mask.sum_dim(1).squeeze_dim::<2>(1); // [texts, 1]
        Ok(summed / count)
    }

    fn rows(&self, data: TensorData, n: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let values = data
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        let d = self.dim();
        if values.len() != n * d {
            return Err(ModelError::Backend(format!(
                "expected {} values, got {}",
                n * d,
                values.len()
            )));
        }
        Ok(values.chunks(d).map(<[f32]>::to_vec).collect())
    }
}

/// The state of one generation between read-backs: the logits of the next token wait in `pending`
/// until the caller has read them (synchronously or not) and handed them to [`Decoding::accept`].
struct Decoding {
    cache: KvCache,
    out: Vec<u32>,
    pending: Option<Tensor<2>>,
    opts: GenerateOptions,
    rng: SplitMix64,
}

impl Decoding {
    /// Checks the request and runs the prompt through the model.
    fn start(lm: &SmolLm, prompt: &str, opts: &GenerateOptions) -> Result<Self, ModelError> {
        if !(opts.temperature.is_finite() && opts.temperature >= 0.0) {
            return Err(ModelError::Request(format!(
                "temperature must be 0 (greedy) or positive, not {}",
                opts.temperature
            )));
        }
        if !(opts.top_p > 0.0 && opts.top_p <= 1.0) {
            return Err(ModelError::Request(format!(
                "top_p must be in (0, 1], not {}",
                opts.top_p
            )));
        }
        let ids = lm.tokenize(prompt)?;
        if ids.is_empty() {
            return Err(ModelError::Request("the prompt is empty".into()));
        }
        let context = lm.config.context_length;
        if ids.len().saturating_add(opts.max_new_tokens) > context {
            return Err(ModelError::Request(format!(
                "the prompt ({} tokens) and max_new_tokens ({}) exceed the context of {context} tokens",
                ids.len(),
                opts.max_new_tokens
            )));
        }
        let mut run = Self {
            cache: KvCache::default(),
            out: Vec::new(),
            pending: None,
            opts: *opts,
            rng: SplitMix64(opts.seed),
        };
        if opts.max_new_tokens > 0 {
            run.feed(lm, &ids);
        }
        Ok(run)
    }

    /// Runs `ids` through the model and leaves the logits of the token after them in `pending`.
    fn feed(&mut self, lm: &SmolLm, ids: &[u32]) {
        let n = ids.len();
        let ids: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, n]), &lm.device);
        let hidden = lm.model.forward(ids, &mut self.cache); // [1, n, d_model]
        let [_, _, d] = hidden.dims();
        let last = hidden.slice([0..1, n - 1..n]).reshape([1, d]); // [1, d_model]
        self.pending = Some(lm.model.logits(last)); // [1, vocab]
    }

    /// Picks the next token from the read-back logits and, unless generation is over, runs it.
    fn accept(&mut self, lm: &SmolLm, logits: TensorData) -> Result<(), ModelError> {
        let logits = logits
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Backend(format!("{e:?}")))?;
        let next = if self.opts.temperature == 0.0 {
            argmax(&logits)
        } else {
            sample(
                &logits,
                self.opts.temperature,
                self.opts.top_p,
                &mut self.rng,
            )
        }
        .ok_or_else(|| ModelError::Backend("the model produced no usable logits".into()))?;
        if lm.stop_ids.contains(&next) {
            return Ok(());
        }
        self.out.push(next);
        if self.out.len() < self.opts.max_new_tokens {
            self.feed(lm, &[next]);
        }
        Ok(())
    }
}

/// The index of the largest finite logit (the first one on ties, like numpy's argmax).
fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in logits.iter().enumerate() {
        if v.is_finite() && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.and_then(|(i, _)| u32::try_from(i).ok())
}

/// Nucleus sampling: softmax of `logits / temperature`, the smallest set of most likely tokens whose
/// probabilities reach `top_p`, renormalised, then one draw.
fn sample(logits: &[f32], temperature: f32, top_p: f32, rng: &mut SplitMix64) -> Option<u32> {
    let max = logits
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return None;
    }
    let t = f64::from(temperature);
    let mut probs: Vec<(usize, f64)> = logits
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i, (f64::from(v - max) / t).exp()))
        .collect();
    let total: f64 = probs.iter().map(|p| p.1).sum();
    // Most likely first; ties by id so that the order never depends on the sort's stability.
    probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut kept = 0;
    let mut mass = 0.0;
    for p in &probs {
        kept += 1;
        mass += p.1 / total;
        if mass >= f64::from(top_p) {
            break;
        }
    }
    let probs = &probs[..kept];
    let norm: f64 = probs.iter().map(|p| p.1).sum();
    let mut u = rng.next_f64() * norm;
    for &(i, p) in probs {
        if u < p {
            return u32::try_from(i).ok();
        }
        u -= p;
    }
    probs.last().and_then(|&(i, _)| u32::try_from(i).ok())
}

/// SplitMix64 (Steele et al., 2014): a tiny seeded generator, the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, f32::NAN]), Some(1));
        assert_eq!(argmax(&[f32::NAN]), None);
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Probabilities ∝ e^2, e^1, e^0 ≈ 0.665, 0.245, 0.090: top_p 0.6 keeps only token 0.
        let mut rng = SplitMix64(7);
        for _ in 0..50 {
            assert_eq!(sample(&[2.0, 1.0, 0.0], 1.0, 0.6, &mut rng), Some(0));
        }
        // With every token allowed, all three turn up.
        let mut seen = [false; 3];
        for _ in 0..200 {
            seen[sample(&[2.0, 1.0, 0.0], 1.0, 1.0, &mut rng).unwrap() as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn splitmix_first_value() {
        // SplitMix64 seeded with 0 starts 0xe220a8397b1dcdaf (the reference implementation's output).
        assert_eq!(SplitMix64(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn chat_prompt_follows_the_template() {
        assert_eq!(
            SmolLm::chat_prompt(None, "Hi"),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert!(SmolLm::chat_prompt(Some("Be brief."), "Hi")
            .starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"));
    }
}
