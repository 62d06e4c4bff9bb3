//! A Llama decoder (Touvron et al., 2023) as SmolLM2 uses it: pre-norm blocks with RMSNorm,
//! grouped-query causal attention with rotary position embeddings, a SwiGLU feed-forward, no biases,
//! and an LM head tied to the token embedding.
//!
//! Reference: llama.cpp `src/models/llama.cpp` (`llm_build_llama`) and Hugging Face
//! `transformers/models/llama/modeling_llama.py` (v4.46); the numpy reference is
//! `tests/parity/smollm2_reference.py`.
//!
//! Field names mirror the GGUF tensor names (`token_embd`, `blk.{i}.attn_q`, …, `output_norm`), so
//! loading is a path walk. Two layout facts of GGUF weights:
//! - A 2-D tensor listed as `[ne0, ne1] = [in, out]` is stored as `out` rows of `in` values, the memory
//!   layout of a PyTorch `(out, in)` matrix. burn's `Linear` wants `[d_input, d_output]` row-major, so
//!   the loader transposes each matrix once on the host (`[out, in]` → `[in, out]`).
//! - llama.cpp's converter permutes the rows of `attn_q`/`attn_k` per head (row 2i ← HF row i, row
//!   2i + 1 ← HF row i + head_dim/2). With these weights RoPE must rotate ADJACENT pairs
//!   (x[2i], x[2i+1]) — llama.cpp's "normal" RoPE — which is exactly what burn's `RotaryEncoding`
//!   does. So the weights are used as stored and no un-permutation is needed; rotate-half RoPE (pairs
//!   i, i + 32) on these weights would be wrong.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{
    Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig, RotaryEncoding,
    RotaryEncodingConfig,
};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::gguf::Gguf;
use crate::error::ModelError;

/// Model sizes (defaults: SmolLM2-135M).
#[derive(Config, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Vocabulary size. Default: 49152.
    #[config(default = 49152)]
    pub vocab_size: usize,
    /// Model width. Default: 576.
    #[config(default = 576)]
    pub d_model: usize,
    /// Transformer blocks. Default: 30.
    #[config(default = 30)]
    pub n_layers: usize,
    /// Query heads. Default: 9.
    #[config(default = 9)]
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention). Default: 3.
    #[config(default = 3)]
    pub n_kv_heads: usize,
    /// Feed-forward width. Default: 1536.
    #[config(default = 1536)]
    pub d_ff: usize,
    /// RMSNorm epsilon. Default: 1e-5.
    #[config(default = 1e-5)]
    pub rms_eps: f64,
    /// RoPE base frequency. Default: 100000.
    #[config(default = 100000.0)]
    pub rope_theta: f32,
    /// Longest sequence (prompt + generated tokens). Default: 8192.
    #[config(default = 8192)]
    pub context_length: usize,
}

impl LlamaConfig {
    /// Reads the sizes from `llama.*` metadata and checks them.
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, ModelError> {
        let arch = g.get_str("general.architecture")?;
        if arch != "llama" {
            return Err(ModelError::Config(format!(
                "general.architecture is {arch:?}; only \"llama\" models are supported"
            )));
        }
        let tokens = g.get_array("tokenizer.ggml.tokens")?.len();
        let vocab_size = match g.get("llama.vocab_size") {
            Some(v) => v
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| ModelError::Config("llama.vocab_size is not a size".into()))?,
            None => tokens,
        };
        let c = Self {
            vocab_size,
            d_model: g.get_usize("llama.embedding_length")?,
            n_layers: g.get_usize("llama.block_count")?,
            n_heads: g.get_usize("llama.attention.head_count")?,
            n_kv_heads: g.get_usize("llama.attention.head_count_kv")?,
            d_ff: g.get_usize("llama.feed_forward_length")?,
            rms_eps: g.get_f64("llama.attention.layer_norm_rms_epsilon")?,
            rope_theta: g.get_f64("llama.rope.freq_base")? as f32,
            context_length: g.get_usize("llama.context_length")?,
        };
        c.check()?;
        if let Some(dims) = g.get("llama.rope.dimension_count") {
            if dims.as_u64() != Some(c.head_dim() as u64) {
                return Err(ModelError::Config(format!(
                    "llama.rope.dimension_count is {dims:?}; only RoPE over the whole head ({}) is supported",
                    c.head_dim()
                )));
            }
        }
        if tokens != c.vocab_size {
            return Err(ModelError::Config(format!(
                "the tokenizer has {tokens} tokens but the model {}",
                c.vocab_size
            )));
        }
        Ok(c)
    }

    fn check(&self) -> Result<(), ModelError> {
        let sane = |v: usize, max: usize| (1..=max).contains(&v);
        let ok = sane(self.vocab_size, 1 << 20)
            && sane(self.d_model, 16384)
            && sane(self.n_layers, 512)
            && sane(self.n_heads, 512)
            && sane(self.n_kv_heads, self.n_heads)
            && sane(self.d_ff, 1 << 17)
            && sane(self.context_length, 1 << 20)
            && self.d_model.is_multiple_of(self.n_heads)
            && self.n_heads.is_multiple_of(self.n_kv_heads)
            && self.head_dim().is_multiple_of(2)
            && self.rms_eps > 0.0
            && self.rope_theta.is_finite()
            && self.rope_theta > 0.0;
        if ok {
            Ok(())
        } else {
            Err(ModelError::Config(format!(
                "inconsistent or out-of-range sizes: {self:?}"
            )))
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// A model with random weights (for shape tests).
    pub fn init(&self, device: &Device) -> Llama {
        self.build(&Source::Random, device)
            .unwrap_or_else(|e| panic!("random initialisation cannot fail: {e}"))
    }

    /// The model with the weights of a GGUF file (dequantized to f32).
    pub fn load_gguf(&self, g: &Gguf<'_>, device: &Device) -> Result<Llama, ModelError> {
        self.check()?;
        self.build(&Source::Gguf(g), device)
    }

    fn build(&self, src: &Source<'_, '_>, device: &Device) -> Result<Llama, ModelError> {
        let (d, kv) = (self.d_model, self.n_kv_heads * self.head_dim());
        let blk = (0..self.n_layers)
            .map(|i| {
                let p = |n: &str| format!("blk.{i}.{n}.weight");
                Ok(Block {
                    attn_norm: src.norm(&p("attn_norm"), d, self.rms_eps, device)?,
                    attn_q: src.linear(&p("attn_q"), d, d, device)?,
                    attn_k: src.linear(&p("attn_k"), d, kv, device)?,
                    attn_v: src.linear(&p("attn_v"), d, kv, device)?,
                    attn_output: src.linear(&p("attn_output"), d, d, device)?,
                    ffn_norm: src.norm(&p("ffn_norm"), d, self.rms_eps, device)?,
                    ffn_gate: src.linear(&p("ffn_gate"), d, self.d_ff, device)?,
                    ffn_up: src.linear(&p("ffn_up"), d, self.d_ff, device)?,
                    ffn_down: src.linear(&p("ffn_down"), self.d_ff, d, device)?,
                    n_heads: self.n_heads,
                    n_kv_heads: self.n_kv_heads,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Llama {
            token_embd: src.embedding("token_embd.weight", self.vocab_size, d, device)?,
            blk,
            output_norm: src.norm("output_norm.weight", d, self.rms_eps, device)?,
            rope: RotaryEncodingConfig::new(self.context_length, self.head_dim())
                .with_theta(self.rope_theta)
                .init(device),
        })
    }
}

/// Where the weights come from: fresh random values, or a GGUF file.
enum Source<'g, 'a> {
    Random,
    Gguf(&'g Gguf<'a>),
}

impl Source<'_, '_> {
    /// Dequantized values of `name`, which must have the GGUF shape `dims` (innermost first).
    fn values(&self, g: &Gguf<'_>, name: &str, dims: &[usize]) -> Result<Vec<f32>, ModelError> {
        let info = g
            .tensor(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))?;
        if info.dims != dims {
            return Err(ModelError::ShapeMismatch {
                name: name.to_string(),
                expected: dims.to_vec(),
                found: info.dims.clone(),
            });
        }
        Ok(g.dequantize(info)?)
    }

    /// A bias-free linear layer from a GGUF matrix `[d_in, d_out]` (stored as `d_out` rows of `d_in`).
    fn linear(
        &self,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Linear, ModelError> {
        let Source::Gguf(g) = self else {
            return Ok(LinearConfig::new(d_in, d_out).with_bias(false).init(device));
        };
        let rows = self.values(g, name, &[d_in, d_out])?; // (out, in) row-major
        let mut w = vec![0f32; rows.len()];
        for (o, row) in rows.chunks_exact(d_in).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                w[i * d_out + o] = v;
            }
        } // (in, out) row-major
        Ok(Linear {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(w, [d_in, d_out]),
                device,
            )),
            bias: None,
        })
    }

    fn norm(&self, name: &str, d: usize, eps: f64, device: &Device) -> Result<RmsNorm, ModelError> {
        let mut norm = RmsNormConfig::new(d).with_epsilon(eps).init(device);
        if let Source::Gguf(g) = self {
            let w = self.values(g, name, &[d])?;
            norm.gamma = Param::from_tensor(Tensor::from_data(TensorData::new(w, [d]), device));
        }
        Ok(norm)
    }

    /// The token table, GGUF `[d, vocab]`: row t is token t's embedding (and its LM-head row).
    fn embedding(
        &self,
        name: &str,
        vocab: usize,
        d: usize,
        device: &Device,
    ) -> Result<Embedding, ModelError> {
        let Source::Gguf(g) = self else {
            return Ok(EmbeddingConfig::new(vocab, d).init(device));
        };
        let w = self.values(g, name, &[d, vocab])?;
        Ok(Embedding {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [vocab, d]), device)),
        })
    }
}

/// The keys and values of every layer for the positions processed so far.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    /// Per layer: keys and values, each `[batch, kv_heads, positions, head_dim]`.
    layers: Vec<(Tensor<4>, Tensor<4>)>,
    /// Positions cached.
    len: usize,
}

impl KvCache {
    /// Positions already processed (the position of the next token).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been processed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One pre-norm decoder block (`blk.{i}.*`).
#[derive(Module, Debug)]
struct Block {
    attn_norm: RmsNorm,
    attn_q: Linear,
    attn_k: Linear,
    attn_v: Linear,
    attn_output: Linear,
    ffn_norm: RmsNorm,
    ffn_gate: Linear,
    ffn_up: Linear,
    ffn_down: Linear,
    n_heads: usize,
    n_kv_heads: usize,
}

impl Block {
    /// Grouped-query causal self-attention over the cached and the new positions. Query head `h` reads
    /// key/value head `h / group`; the `group` query heads of one kv head are stacked along the token
    /// axis so that one matmul serves them without copying the keys and values.
    ///
    /// # Shapes
    /// - x: `[batch, tokens, d_model]` (already normalised)
    /// - past: keys and values `[batch, kv_heads, past, head_dim]`, or none
    /// - bias: `[group * tokens, past + tokens]` (0 or −∞: the causal mask), or none for one token
    /// - output: `[batch, tokens, d_model]` and the keys and values `[batch, kv_heads, past + tokens, head_dim]`
    fn attention(
        &self,
        x: Tensor<3>,
        past: Option<(Tensor<4>, Tensor<4>)>,
        bias: Option<Tensor<2>>,
        rope: &RotaryEncoding,
        start: usize,
    ) -> (Tensor<3>, (Tensor<4>, Tensor<4>)) {
        let [batch, tokens, d_model] = x.dims();
        let (heads, kv_heads) = (self.n_heads, self.n_kv_heads);
        let (dh, group) = (d_model / heads, heads / kv_heads);
        let q = self
            .attn_q
            .forward(x.clone())
            .reshape([batch, tokens, heads, dh])
            .swap_dims(1, 2); // [batch, heads, tokens, dh]
        let k = self
            .attn_k
            .forward(x.clone())
            .reshape([batch, tokens, kv_heads, dh])
            .swap_dims(1, 2); // [batch, kv_heads, tokens, dh]
        let v = self
            .attn_v
            .forward(x)
            .reshape([batch, tokens, kv_heads, dh])
            .swap_dims(1, 2); // [batch, kv_heads, tokens, dh]
        let q = rope
            .apply(q, start)
            .reshape([batch, kv_heads, group * tokens, dh]); // [batch, kv_heads, group·tokens, dh]
        let k = rope.apply(k, start);
        let (k, v) = match past {
            Some((pk, pv)) => (Tensor::cat(vec![pk, k], 2), Tensor::cat(vec![pv, v], 2)), // [batch, kv_heads, past+tokens, dh]
            None => (k, v),
        };
        let mut scores = q
            .matmul(k.clone().swap_dims(2, 3))
            .div_scalar((dh as f32).sqrt()); // [batch, kv_heads, group·tokens, past+tokens]
        if let Some(bias) = bias {
            scores = scores + bias.unsqueeze::<4>();
        }
        let context = softmax(scores, 3)
            .matmul(v.clone()) // [batch, kv_heads, group·tokens, dh]
            .reshape([batch, heads, tokens, dh])
            .swap_dims(1, 2)
            .reshape([batch, tokens, d_model]); // [batch, tokens, d_model]
        (self.attn_output.forward(context), (k, v))
    }

    /// SwiGLU: `down(silu(gate(x)) · up(x))`.
    ///
    /// # Shapes
    /// - x: `[batch, tokens, d_model]` → `[batch, tokens, d_model]`
    fn mlp(&self, x: Tensor<3>) -> Tensor<3> {
        let h = silu(self.ffn_gate.forward(x.clone())) * self.ffn_up.forward(x); // [batch, tokens, d_ff]
        self.ffn_down.forward(h)
    }

    /// # Shapes
    /// - x: `[batch, tokens, d_model]` → `[batch, tokens, d_model]` (see [`Self::attention`] for the rest)
    fn forward(
        &self,
        x: Tensor<3>,
        past: Option<(Tensor<4>, Tensor<4>)>,
        bias: Option<Tensor<2>>,
        rope: &RotaryEncoding,
        start: usize,
    ) -> (Tensor<3>, (Tensor<4>, Tensor<4>)) {
        let (a, kv) = self.attention(self.attn_norm.forward(x.clone()), past, bias, rope, start);
        let x = x + a;
        let x = x.clone() + self.mlp(self.ffn_norm.forward(x));
        (x, kv)
    }
}

/// The Llama decoder with its tied LM head.
#[derive(Module, Debug)]
pub struct Llama {
    token_embd: Embedding,
    blk: Vec<Block>,
    output_norm: RmsNorm,
    rope: RotaryEncoding,
}

impl Llama {
    /// The last hidden states (after the final RMSNorm) of `ids`, which continue the sequence in
    /// `cache` (empty for a fresh sequence); the cache is extended with the new positions. Attention is
    /// causal, so right-padding never changes the states of the tokens before it.
    ///
    /// # Shapes
    /// - ids: `[batch, tokens]`
    /// - output: `[batch, tokens, d_model]`
    ///
    /// # Panics
    /// If the cached and new positions together exceed the context length (callers check this).
    pub fn forward(&self, ids: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        let [_, tokens] = ids.dims();
        let start = cache.len;
        let total = start + tokens;
        let [context, _, _] = self.rope.freq_complex.dims();
        assert!(
            total <= context,
            "{total} positions exceed the context length {context}"
        );
        let device = ids.device();
        let bias = (tokens > 1).then(|| {
            let group = self.blk.first().map_or(1, |b| b.n_heads / b.n_kv_heads);
            causal_bias(group, tokens, start, &device)
        });
        let mut x = self.token_embd.forward(ids); // [batch, tokens, d_model]
        let mut past = std::mem::take(&mut cache.layers).into_iter();
        for block in &self.blk {
            let (y, kv) = block.forward(x, past.next(), bias.clone(), &self.rope, start);
            x = y;
            cache.layers.push(kv);
        }
        cache.len = total;
        self.output_norm.forward(x)
    }

    /// Next-token logits from final hidden states, with the LM head tied to the token embedding.
    ///
    /// # Shapes
    /// - hidden: `[rows, d_model]` → `[rows, vocab]`
    pub fn logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        hidden.matmul(self.token_embd.weight.val().transpose())
    }
}

/// The causal mask as an additive bias for `group` query heads stacked along the token axis: row
/// `g·tokens + i` (token i at position start + i) sees keys 0 ..= start + i.
///
/// # Shapes
/// - output: `[group * tokens, start + tokens]`
fn causal_bias(group: usize, tokens: usize, start: usize, device: &Device) -> Tensor<2> {
    let total = start + tokens;
    let mut bias = vec![0f32; group * tokens * total];
    for (row, r) in bias.chunks_exact_mut(total).enumerate() {
        let visible = start + row % tokens + 1;
        r[visible..].fill(f32::NEG_INFINITY);
    }
    Tensor::from_data(TensorData::new(bias, [group * tokens, total]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> LlamaConfig {
        LlamaConfig::new()
            .with_vocab_size(50)
            .with_d_model(32)
            .with_n_layers(2)
            .with_n_heads(4)
            .with_n_kv_heads(2)
            .with_d_ff(48)
            .with_context_length(16)
    }

    fn ids(v: &[i64], device: &Device) -> Tensor<2, Int> {
        Tensor::from_data(TensorData::new(v.to_vec(), [1, v.len()]), device)
    }

    #[test]
    fn causal_bias_by_hand() {
        // 2 new tokens after 1 cached, 2 heads per group: rows see keys 0..=1 and 0..=2, twice.
        let b = causal_bias(2, 2, 1, &Device::flex())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let inf = f32::NEG_INFINITY;
        assert_eq!(b, [0., 0., inf, 0., 0., 0., 0., 0., inf, 0., 0., 0.]);
    }

    #[test]
    fn shapes_and_cache() {
        let device = Device::flex();
        let model = tiny().init(&device);
        let mut cache = KvCache::default();
        let h = model.forward(ids(&[1, 2, 3], &device), &mut cache);
        assert_eq!(h.dims(), [1, 3, 32]);
        assert_eq!(cache.len(), 3);
        assert_eq!(model.logits(h.reshape([3, 32])).dims(), [3, 50]);
    }

    /// Token by token with the cache = the whole sequence at once (equivalence of the two paths).
    #[test]
    fn cached_steps_equal_one_pass() {
        let device = Device::flex();
        let model = tiny().init(&device);
        let seq = [5i64, 9, 2, 7];
        let whole = model
            .forward(ids(&seq, &device), &mut KvCache::default())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut cache = KvCache::default();
        let mut stepped = model
            .forward(ids(&seq[..2], &device), &mut cache)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for &t in &seq[2..] {
            let h = model.forward(ids(&[t], &device), &mut cache);
            stepped.extend(h.into_data().try_to_vec::<f32>().unwrap());
        }
        let max = whole
            .iter()
            .zip(&stepped)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-4, "max |Δ| = {max}");
    }
}
