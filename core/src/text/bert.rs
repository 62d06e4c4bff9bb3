//! A BERT encoder (Devlin et al., 2019) as used by sentence-transformers' all-MiniLM-L6-v2: word +
//! position + token-type embeddings, post-norm transformer layers with GELU (erf form), and
//! attention-masked mean pooling over the last hidden states.
//!
//! Field names mirror the Hugging Face `BertModel` state dict (`embeddings.word_embeddings`,
//! `encoder.layer.{i}.attention.self.query`, …) so loading is a path walk; see
//! `transformers/models/bert/modeling_bert.py` (v4.8, the version the checkpoint was saved with).

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};
use serde::Deserialize;

use crate::error::ModelError;
use crate::weights::Weights;

/// The subset of a Hugging Face BERT `config.json` the model needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    /// Vocabulary size (30522 for the uncased English vocabulary).
    pub vocab_size: usize,
    /// Model width (384 for MiniLM-L6).
    pub hidden_size: usize,
    /// Transformer layers (6).
    pub num_hidden_layers: usize,
    /// Attention heads (12).
    pub num_attention_heads: usize,
    /// Feed-forward width (1536).
    pub intermediate_size: usize,
    /// Position table length (512).
    pub max_position_embeddings: usize,
    /// Token types (2).
    pub type_vocab_size: usize,
    /// LayerNorm epsilon (1e-12).
    pub layer_norm_eps: f64,
    /// Must be `gelu` (the erf form).
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Parses and checks a `config.json`.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let c: BertConfig =
            serde_json::from_str(text).map_err(|e| ModelError::Config(e.to_string()))?;
        if c.hidden_act != "gelu" {
            return Err(ModelError::Config(format!(
                "activation {:?} is not supported (only gelu)",
                c.hidden_act
            )));
        }
        let sane = |v: usize, max: usize| v >= 1 && v <= max;
        if !(sane(c.vocab_size, 1 << 20)
            && sane(c.hidden_size, 8192)
            && sane(c.num_hidden_layers, 128)
            && sane(c.num_attention_heads, 128)
            && sane(c.intermediate_size, 65536)
            && sane(c.max_position_embeddings, 65536)
            && sane(c.type_vocab_size, 16)
            && c.hidden_size.is_multiple_of(c.num_attention_heads)
            && c.layer_norm_eps > 0.0)
        {
            return Err(ModelError::Config(
                "sizes out of range, or hidden_size not divisible by num_attention_heads".into(),
            ));
        }
        Ok(c)
    }
}

/// Embedding sum and LayerNorm (`embeddings.*`).
#[derive(Module, Debug)]
struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    /// # Shapes
    /// - ids: `[batch, tokens]` → `[batch, tokens, hidden]`
    fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, tokens] = ids.dims();
        let device = ids.device();
        let positions = Tensor::<1, Int>::arange(0..tokens as i64, &device)
            .reshape([1, tokens])
            .expand([batch, tokens]); // [batch, tokens]
        let types = Tensor::<2, Int>::zeros([batch, tokens], &device);
        let x = self.word.forward(ids)
            + self.position.forward(positions)
            + self.token_type.forward(types); // [batch, tokens, hidden]
        self.norm.forward(x)
    }
}

/// One post-norm transformer layer (`encoder.layer.{i}.*`).
#[derive(Module, Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    out: Linear,
    out_norm: LayerNorm,
    heads: usize,
}

impl Layer {
    /// # Shapes
    /// - x: `[batch, tokens, hidden]`
    /// - bias: `[batch, 1, 1, tokens]` (0 for real tokens, a large negative number for padding)
    /// - output: `[batch, tokens, hidden]`
    fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [batch, tokens, hidden] = x.dims();
        let dh = hidden / self.heads;
        let split = |t: Tensor<3>| t.reshape([batch, tokens, self.heads, dh]).swap_dims(1, 2); // [batch, heads, tokens, dh]
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x.clone()));
        let scores = q.matmul(k.transpose()).div_scalar((dh as f32).sqrt()) + bias; // [batch, heads, tokens, tokens]
        let context = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, tokens, hidden]); // [batch, tokens, hidden]
        let x = self.attn_norm.forward(self.attn_out.forward(context) + x);
        let h = crate::kernels::gelu(self.intermediate.forward(x.clone())); // [batch, tokens, intermediate]
        self.out_norm.forward(self.out.forward(h) + x)
    }
}

/// The BERT encoder with mean pooling.
#[derive(Module, Debug)]
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl Bert {
    /// Builds the model from a safetensors file with Hugging Face `BertModel` names (an optional
    /// `bert.` prefix is accepted).
    pub fn load(config: &BertConfig, bytes: &[u8], device: &Device) -> Result<Self, ModelError> {
        let w = Weights::parse(bytes)?;
        let prefix = if w.has("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let h = config.hidden_size;
        let ln = |name: &str| -> Result<LayerNorm, ModelError> {
            w.layer_norm(&format!("{prefix}{name}"), h, config.layer_norm_eps, device)
        };
        let lin = |name: &str, d_in: usize, d_out: usize| -> Result<Linear, ModelError> {
            w.linear(&format!("{prefix}{name}"), d_in, d_out, device)
        };
        let emb = |name: &str, n: usize| -> Result<Embedding, ModelError> {
            let mut e = EmbeddingConfig::new(n, h).init(device);
            e.weight = w.param2(&format!("{prefix}{name}.weight"), [n, h], device)?;
            Ok(e)
        };
        let embeddings = Embeddings {
            word: emb("embeddings.word_embeddings", config.vocab_size)?,
            position: emb(
                "embeddings.position_embeddings",
                config.max_position_embeddings,
            )?,
            token_type: emb("embeddings.token_type_embeddings", config.type_vocab_size)?,
            norm: ln("embeddings.LayerNorm")?,
        };
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    query: lin(&format!("{p}.attention.self.query"), h, h)?,
                    key: lin(&format!("{p}.attention.self.key"), h, h)?,
                    value: lin(&format!("{p}.attention.self.value"), h, h)?,
                    attn_out: lin(&format!("{p}.attention.output.dense"), h, h)?,
                    attn_norm: ln(&format!("{p}.attention.output.LayerNorm"))?,
                    intermediate: lin(
                        &format!("{p}.intermediate.dense"),
                        h,
                        config.intermediate_size,
                    )?,
                    out: lin(&format!("{p}.output.dense"), config.intermediate_size, h)?,
                    out_norm: ln(&format!("{p}.output.LayerNorm"))?,
                    heads: config.num_attention_heads,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self { embeddings, layers })
    }

    /// Mean-pooled last hidden states.
    ///
    /// # Shapes
    /// - ids: `[batch, tokens]` (padding anywhere after the real tokens)
    /// - mask: `[batch, tokens]`, 1.0 for real tokens and 0.0 for padding
    /// - output: `[batch, hidden]`
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let [batch, tokens] = ids.dims();
        // Padding gets a large negative score before the softmax (what HF does with finfo.min).
        let bias = (mask.clone() - 1.0)
            .mul_scalar(1e9)
            .reshape([batch, 1, 1, tokens]); // [batch, 1, 1, tokens]
        let mut x = self.embeddings.forward(ids); // [batch, tokens, hidden]
        for layer in &self.layers {
            x = layer.forward(x, bias.clone());
        }
        let m = mask.reshape([batch, tokens, 1]); // [batch, tokens, 1]
        let summed = (x * m.clone()).sum_dim(1).squeeze_dim::<2>(1); // [batch, hidden]
        let count = m.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1e-9); // [batch, 1]
        summed / count
    }
}
