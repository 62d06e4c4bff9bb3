//! The audio encoder: OPERA-GT, a ViT masked autoencoder over log-mel spectrograms (Zhang et al., 2024,
//! github.com/evelyn0414/OPERA `src/model/models_mae.py`, `MaskedAutoencoderViTMD`, built there by
//! `mae_vit_small`), with a configurable size.
//!
//! The input `(frames, mels)` is a one-channel image whose height is time. It is cut into
//! `patch[0] × patch[1]` patches (token `k = t · (mels / patch[1]) + f`), each projected linearly (the
//! PyTorch model's strided conv), a fixed 2-D sin-cos position table and a CLS token are added, and
//! pre-norm transformer blocks (timm's `Block`: LayerNorm → multi-head attention → residual, LayerNorm
//! → GELU MLP → residual) follow. The clip embedding is OPERA's `forward_feature`: the mean of the
//! patch tokens (CLS excluded), then the final LayerNorm. A chunk shorter than `frames` runs at its own
//! length with the first rows of the position table, as OPERA does.
//!
//! Field names follow the PyTorch state dict (`patch_embed.proj`, `blocks.{i}.attn.qkv`,
//! `blocks.{i}.mlp.fc1`, `norm`…) so that [`Encoder::load_pytorch`] is a path walk and published
//! OPERA-GT weights (converted to safetensors) can be imported.

mod config;
mod mae;

pub use config::{sincos_table, EncoderConfig};
pub use mae::{Mae, MaeConfig, MaeOutput, Masking};

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::ModelError;
use crate::weights::{export_layer_norm, export_linear, named, NamedTensor, Weights};

/// Sequence length from which attention uses burn's fused operation (see [`Attention::forward`]).
const FUSED_ATTENTION_TOKENS: usize = 512;

/// timm's `Attention` (`attn.qkv`, `attn.proj`).
#[derive(Module, Debug)]
struct Attention {
    qkv: Linear,
    proj: Linear,
    heads: usize,
}

impl Attention {
    /// # Shapes
    /// - x: `[batch, tokens, dim]` → `[batch, tokens, dim]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, d] = x.dims();
        let dh = d / self.heads;
        let qkv = crate::kernels::linear(&self.qkv, x); // [b, n, 3·d]
        let heads = self.heads;
        // softmax(q·kᵀ / √dh)·v, heads merged back to [b, n, d]. On the CPU (flex) our kernel
        // (crate::kernels): tiled, vectorised, threaded, reading the heads in place from `qkv`, with
        // a backward pass that does not keep the score matrix. Elsewhere burn's: its fused operation
        // for long sequences (gt-small's 1,025 tokens: it tiles the scores instead of writing
        // [b, heads, n, n] out), two plain matmuls for short ones (gt-tiny's 129).
        let context = crate::kernels::attention(qkv, heads, |qkv| {
            let split = |i: usize| {
                qkv.clone()
                    .narrow(2, i * d, d)
                    .reshape([b, n, heads, dh])
                    .swap_dims(1, 2) // [b, heads, n, dh]
            };
            let (q, k, v) = (split(0), split(1), split(2));
            if n >= FUSED_ATTENTION_TOKENS {
                attention(q, k, v, None, None, AttentionModuleOptions::default())
            } else {
                let scores = q.matmul(k.transpose()).mul_scalar((dh as f32).powf(-0.5));
                softmax(scores, 3).matmul(v)
            }
            .swap_dims(1, 2)
            .reshape([b, n, d])
        });
        crate::kernels::linear(&self.proj, context)
    }
}

/// timm's `Mlp` (`mlp.fc1`, `mlp.fc2`, GELU in erf form).
#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    fc2: Linear,
}

impl Mlp {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = crate::kernels::gelu(crate::kernels::linear(&self.fc1, x));
        crate::kernels::linear(&self.fc2, h)
    }
}

/// timm's pre-norm `Block`.
#[derive(Module, Debug)]
pub(crate) struct Block {
    norm1: LayerNorm,
    attn: Attention,
    norm2: LayerNorm,
    mlp: Mlp,
}

impl Block {
    pub(crate) fn new(
        dim: usize,
        heads: usize,
        mlp_ratio: usize,
        eps: f64,
        device: &Device,
    ) -> Self {
        let ln = || LayerNormConfig::new(dim).with_epsilon(eps).init(device);
        Self {
            norm1: ln(),
            attn: Attention {
                qkv: LinearConfig::new(dim, 3 * dim).init(device),
                proj: LinearConfig::new(dim, dim).init(device),
                heads,
            },
            norm2: ln(),
            mlp: Mlp {
                fc1: LinearConfig::new(dim, mlp_ratio * dim).init(device),
                fc2: LinearConfig::new(mlp_ratio * dim, dim).init(device),
            },
        }
    }

    /// A block of width `dim` from PyTorch-named weights under `prefix` (`blocks.3`, `decoder_blocks.0`).
    pub(crate) fn load(
        w: &Weights,
        prefix: &str,
        dim: usize,
        config: &EncoderConfig,
        heads: usize,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let hidden = config.mlp_ratio * dim;
        let lin = |s: &str, d_in: usize, d_out: usize| {
            w.linear(&format!("{prefix}.{s}"), d_in, d_out, device)
        };
        let ln = |s: &str| w.layer_norm(&format!("{prefix}.{s}"), dim, config.eps, device);
        Ok(Self {
            norm1: ln("norm1")?,
            attn: Attention {
                qkv: lin("attn.qkv", dim, 3 * dim)?,
                proj: lin("attn.proj", dim, dim)?,
                heads,
            },
            norm2: ln("norm2")?,
            mlp: Mlp {
                fc1: lin("mlp.fc1", dim, hidden)?,
                fc2: lin("mlp.fc2", hidden, dim)?,
            },
        })
    }

    /// # Shapes
    /// - x: `[batch, tokens, dim]` → `[batch, tokens, dim]`
    pub(crate) fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.norm1.forward(x));
        x.clone() + self.mlp.forward(self.norm2.forward(x))
    }
}

/// The patch projection (`patch_embed.proj`: PyTorch's strided `Conv2d`, here a linear map of each
/// flattened patch, which is the same computation).
#[derive(Module, Debug)]
struct PatchEmbed {
    proj: Linear,
    patch: [usize; 2],
}

impl PatchEmbed {
    /// # Shapes
    /// - x: `[batch, frames, mels]` (frames beyond a multiple of the patch height are dropped, as
    ///   the strided conv does) → `[batch, tokens, dim]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        crate::kernels::linear(&self.proj, patchify(x, self.patch))
    }
}

/// Cuts `[batch, frames, mels]` into patches, row-major over the (time, mel) grid, each patch's
/// values row-major (OPERA's `patchify`; frames beyond a multiple of the patch height are dropped).
///
/// # Shapes
/// - x: `[batch, frames, mels]` → `[batch, tokens, patch[0]·patch[1]]`
pub fn patchify(x: Tensor<3>, patch: [usize; 2]) -> Tensor<3> {
    let [b, t, f] = x.dims();
    let [ph, pw] = patch;
    let (gt, gf) = (t / ph, f / pw);
    x.narrow(1, 0, gt * ph)
        .narrow(2, 0, gf * pw)
        .reshape([b, gt, ph, gf, pw])
        .swap_dims(2, 3) // [b, gt, gf, ph, pw]
        .reshape([b, gt * gf, ph * pw])
}

/// The OPERA-GT encoder.
#[derive(Module, Debug)]
pub struct Encoder {
    patch_embed: PatchEmbed,
    cls_token: Param<Tensor<3>>,
    /// Fixed (not trained): the sin-cos table, `[1, 1 + tokens, dim]`.
    pos_embed: Param<Tensor<3>>,
    blocks: Vec<Block>,
    norm: LayerNorm,
    dim: usize,
}

impl Encoder {
    /// A randomly initialised encoder (burn's default initialisers; the CLS token starts at zero as
    /// in OPERA).
    pub fn new(config: &EncoderConfig, device: &Device) -> Result<Self, ModelError> {
        config.validate()?;
        let d = config.dim;
        let table = sincos_table(config, d);
        Ok(Self {
            patch_embed: PatchEmbed {
                proj: LinearConfig::new(config.patch_values(), d).init(device),
                patch: config.patch,
            },
            cls_token: Param::from_tensor(Tensor::zeros([1, 1, d], device)),
            pos_embed: Param::from_tensor(Tensor::from_data(
                TensorData::new(table, [1, config.tokens() + 1, d]),
                device,
            ))
            .set_require_grad(false),
            blocks: (0..config.depth)
                .map(|_| Block::new(d, config.heads, config.mlp_ratio, config.eps, device))
                .collect(),
            norm: LayerNormConfig::new(d)
                .with_epsilon(config.eps)
                .init(device),
            dim: d,
        })
    }

    /// Loads weights with the PyTorch state-dict names (a safetensors file; an optional `encoder.`
    /// prefix is accepted). `pos_embed` is taken from the file when present, else computed.
    pub fn load_pytorch(
        config: &EncoderConfig,
        bytes: &[u8],
        device: &Device,
    ) -> Result<Self, ModelError> {
        Self::load_weights(config, &Weights::parse(bytes)?, device)
    }

    /// [`Self::load_pytorch`] from parsed weights.
    pub(crate) fn load_weights(
        config: &EncoderConfig,
        w: &Weights,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let mut enc = Self::new(config, device)?;
        let p = if w.has("encoder.cls_token") {
            "encoder."
        } else {
            ""
        };
        let d = config.dim;
        let name = |s: &str| format!("{p}{s}");
        let ln = |s: &str| w.layer_norm(&name(s), d, config.eps, device);
        // Conv2d weight [dim, 1, ph, pw] → one row of ph·pw values per output channel.
        let [ph, pw] = config.patch;
        let conv = w.tensor::<4>(&name("patch_embed.proj.weight"), [d, 1, ph, pw], device)?;
        enc.patch_embed.proj.weight = Param::from_tensor(conv.reshape([d, ph * pw]).transpose());
        enc.patch_embed.proj.bias = Some(w.param1(&name("patch_embed.proj.bias"), d, device)?);
        enc.cls_token = Param::from_tensor(w.tensor::<3>(&name("cls_token"), [1, 1, d], device)?);
        if w.has(&name("pos_embed")) {
            let t = w.tensor::<3>(&name("pos_embed"), [1, config.tokens() + 1, d], device)?;
            enc.pos_embed = Param::from_tensor(t).set_require_grad(false);
        }
        for (i, b) in enc.blocks.iter_mut().enumerate() {
            *b = Block::load(
                w,
                &name(&format!("blocks.{i}")),
                d,
                config,
                config.heads,
                device,
            )?;
        }
        enc.norm = ln("norm")?;
        Ok(enc)
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Patch tokens with position added (no CLS), before the blocks.
    ///
    /// # Shapes
    /// - x: `[batch, frames, mels]` → `[batch, tokens, dim]`
    pub fn embed_patches(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.patch_embed.forward(x); // [b, l, d]
        let l = x.dims()[1];
        x + self.pos_embed.val().narrow(1, 1, l)
    }

    /// Prepends the CLS token (with its position) and runs the blocks.
    ///
    /// # Shapes
    /// - tokens: `[batch, n, dim]` → `[batch, 1 + n, dim]` (CLS first, before the final norm)
    pub fn run_blocks(&self, tokens: Tensor<3>) -> Tensor<3> {
        let [b, _, d] = tokens.dims();
        let cls = (self.cls_token.val() + self.pos_embed.val().narrow(1, 0, 1)).expand([b, 1, d]);
        let mut x = Tensor::cat(vec![cls, tokens], 1);
        for blk in &self.blocks {
            x = blk.forward(x);
        }
        x
    }

    /// The final LayerNorm (`norm`).
    pub fn final_norm<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.norm.forward(x)
    }

    /// Clip embeddings of equal-length chunks: mean of the patch tokens, then `norm` (OPERA's
    /// `forward_feature`).
    ///
    /// # Shapes
    /// - x: `[batch, frames, mels]` → `[batch, dim]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let h = self.run_blocks(self.embed_patches(x)); // [b, 1 + l, d]
        let l = h.dims()[1] - 1;
        let pooled = h.narrow(1, 1, l).mean_dim(1).squeeze_dim::<2>(1); // [b, d]
        self.norm.forward(pooled)
    }
}

impl Encoder {
    /// The embedding of a whole clip as OPERA extracts it: non-overlapping chunks of `chunk` frames
    /// (a last piece under `min_frames` is dropped), each run alone at its own length, then the
    /// mean of the chunk embeddings. `data` is `(frames, mels)` row-major. Native devices only (a
    /// synchronous read-back): in the browser use [`Self::embed_clip_async`].
    pub fn embed_clip(
        &self,
        data: &[f32],
        frames: usize,
        mels: usize,
        chunk: usize,
        min_frames: usize,
    ) -> Result<Vec<f32>, ModelError> {
        let mut mean = ChunkMean::new(self.dim);
        for t in self.clip_batches(data, frames, mels, chunk, min_frames)? {
            mean.add(values(t)?);
        }
        Ok(mean.finish())
    }

    /// [`Self::embed_clip`] with asynchronous read-backs (required on WebGPU).
    pub async fn embed_clip_async(
        &self,
        data: &[f32],
        frames: usize,
        mels: usize,
        chunk: usize,
        min_frames: usize,
    ) -> Result<Vec<f32>, ModelError> {
        let mut mean = ChunkMean::new(self.dim);
        for t in self.clip_batches(data, frames, mels, chunk, min_frames)? {
            mean.add(values_async(t).await?);
        }
        Ok(mean.finish())
    }

    /// The encoder outputs `[n, dim]` of a clip's chunks, in batches (full chunks 16 at a time, then
    /// the shorter last piece); not yet read back.
    fn clip_batches(
        &self,
        data: &[f32],
        frames: usize,
        mels: usize,
        chunk: usize,
        min_frames: usize,
    ) -> Result<Vec<Tensor<2>>, ModelError> {
        if data.len() != frames * mels || chunk == 0 {
            return Err(ModelError::Request(format!(
                "{} values are not {frames} frames × {mels} mels",
                data.len()
            )));
        }
        let device = self.norm.gamma.val().device();
        let full = frames / chunk;
        let rest = frames % chunk;
        let mut out = Vec::new();
        for start in (0..full).step_by(16) {
            let n = (full - start).min(16);
            let slice = &data[start * chunk * mels..(start + n) * chunk * mels];
            let x =
                Tensor::<3>::from_data(TensorData::new(slice.to_vec(), [n, chunk, mels]), &device);
            out.push(self.forward(x));
        }
        if rest >= min_frames.max(1) && rest >= self.patch_embed.patch[0] {
            let slice = &data[full * chunk * mels..];
            let x =
                Tensor::<3>::from_data(TensorData::new(slice.to_vec(), [1, rest, mels]), &device);
            out.push(self.forward(x));
        }
        if out.is_empty() {
            return Err(ModelError::Request(format!(
                "the clip has {frames} frames, fewer than the {} an embedding needs",
                min_frames.max(self.patch_embed.patch[0])
            )));
        }
        Ok(out)
    }
}

/// The running mean of chunk embeddings (accumulated in f64).
struct ChunkMean {
    dim: usize,
    sums: Vec<f64>,
    count: usize,
}

impl ChunkMean {
    fn new(dim: usize) -> Self {
        Self {
            dim,
            sums: vec![0.0; dim],
            count: 0,
        }
    }

    fn add(&mut self, rows: Vec<f32>) {
        for row in rows.chunks(self.dim) {
            for (s, x) in self.sums.iter_mut().zip(row) {
                *s += f64::from(*x);
            }
            self.count += 1;
        }
    }

    fn finish(self) -> Vec<f32> {
        let n = self.count.max(1) as f64;
        self.sums.iter().map(|s| (s / n) as f32).collect()
    }
}

/// The values of a tensor (asynchronous host read-back, for WebGPU).
pub(crate) async fn values_async<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    t.into_data_async()
        .await
        .map_err(|e| ModelError::Backend(format!("{e:?}")))?
        .try_to_vec()
        .map_err(|e| ModelError::Backend(format!("{e:?}")))
}

/// The values of a tensor (host read-back).
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    t.try_into_data()
        .map_err(|e| ModelError::Backend(format!("{e:?}")))?
        .try_to_vec()
        .map_err(|e| ModelError::Backend(format!("{e:?}")))
}

impl Block {
    /// This block's weights with PyTorch names under `prefix`.
    pub(crate) fn export(
        &self,
        prefix: &str,
        out: &mut Vec<NamedTensor>,
    ) -> Result<(), ModelError> {
        export_layer_norm(&self.norm1, &format!("{prefix}.norm1"), out)?;
        export_linear(&self.attn.qkv, &format!("{prefix}.attn.qkv"), out)?;
        export_linear(&self.attn.proj, &format!("{prefix}.attn.proj"), out)?;
        export_layer_norm(&self.norm2, &format!("{prefix}.norm2"), out)?;
        export_linear(&self.mlp.fc1, &format!("{prefix}.mlp.fc1"), out)?;
        export_linear(&self.mlp.fc2, &format!("{prefix}.mlp.fc2"), out)
    }
}

impl Encoder {
    /// The weights with the PyTorch state-dict names that [`Self::load_pytorch`] reads, each under
    /// `prefix` (`""` or `"encoder."`); the inverse of the importer.
    pub fn export_pytorch(&self, prefix: &str) -> Result<Vec<NamedTensor>, ModelError> {
        let mut out = Vec::new();
        let d = self.dim;
        let [ph, pw] = self.patch_embed.patch;
        out.push(named(
            format!("{prefix}patch_embed.proj.weight"),
            vec![d, 1, ph, pw],
            self.patch_embed.proj.weight.val().transpose(),
        )?);
        if let Some(b) = &self.patch_embed.proj.bias {
            out.push(named(
                format!("{prefix}patch_embed.proj.bias"),
                vec![d],
                b.val(),
            )?);
        }
        out.push(named(
            format!("{prefix}cls_token"),
            vec![1, 1, d],
            self.cls_token.val(),
        )?);
        let pos = self.pos_embed.val();
        let dims = pos.dims().to_vec();
        out.push(named(format!("{prefix}pos_embed"), dims, pos)?);
        for (i, b) in self.blocks.iter().enumerate() {
            b.export(&format!("{prefix}blocks.{i}"), &mut out)?;
        }
        export_layer_norm(&self.norm, &format!("{prefix}norm"), &mut out)?;
        Ok(out)
    }
}

/// The projection head of the reference: `Linear → ReLU → Dropout(0.2) → Linear` (hidden 1,024,
/// output 512), one for audio and one for text.
#[derive(Module, Debug)]
pub struct ProjectionHead {
    fc1: Linear,
    dropout: burn::nn::Dropout,
    fc2: Linear,
}

impl ProjectionHead {
    /// A randomly initialised head.
    pub fn new(d_in: usize, hidden: usize, d_out: usize, dropout: f64, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(d_in, hidden).init(device),
            dropout: burn::nn::DropoutConfig::new(dropout).init(),
            fc2: LinearConfig::new(hidden, d_out).init(device),
        }
    }

    /// # Shapes
    /// - x: `[batch, d_in]` → `[batch, d_out]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = burn::tensor::activation::relu(crate::kernels::linear(&self.fc1, x));
        crate::kernels::linear(&self.fc2, self.dropout.forward(h))
    }

    /// A head from PyTorch-named weights `{prefix}.fc1.*`, `{prefix}.fc2.*` (no dropout: inference).
    pub fn load_weights(
        w: &Weights,
        prefix: &str,
        d_in: usize,
        hidden: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let mut h = Self::new(d_in, hidden, d_out, 0.0, device);
        h.fc1 = w.linear(&format!("{prefix}.fc1"), d_in, hidden, device)?;
        h.fc2 = w.linear(&format!("{prefix}.fc2"), hidden, d_out, device)?;
        Ok(h)
    }

    /// The weights as PyTorch names under `prefix` (the inverse of [`Self::load_weights`]).
    pub fn export_pytorch(&self, prefix: &str) -> Result<Vec<NamedTensor>, ModelError> {
        let mut out = Vec::new();
        export_linear(&self.fc1, &format!("{prefix}.fc1"), &mut out)?;
        export_linear(&self.fc2, &format!("{prefix}.fc2"), &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_sized_as_documented() {
        let s = EncoderConfig::gt_small();
        s.validate().unwrap();
        assert_eq!((s.grid(), s.tokens()), ([64, 16], 1024));
        let t = EncoderConfig::gt_tiny();
        t.validate().unwrap();
        assert_eq!((t.grid(), t.tokens()), ([16, 8], 128));
        let mut bad = EncoderConfig::gt_tiny();
        bad.patch = [5, 8];
        assert!(bad.validate().is_err());
    }

    #[test]
    fn export_then_import_gives_the_same_encoder_and_head() {
        let device = Device::flex();
        let mut c = EncoderConfig::gt_tiny();
        c.dim = 32;
        c.heads = 2;
        c.depth = 2;
        let enc = Encoder::new(&c, &device).unwrap();
        let head = ProjectionHead::new(32, 16, 8, 0.2, &device);
        let mut named = enc.export_pytorch("encoder.").unwrap();
        named.extend(head.export_pytorch("audio_head").unwrap());
        let bytes = crate::weights::safetensors_bytes(&named, false).unwrap();
        let w = Weights::parse(&bytes).unwrap();
        let enc2 = Encoder::load_weights(&c, &w, &device).unwrap();
        let head2 = ProjectionHead::load_weights(&w, "audio_head", 32, 16, 8, &device).unwrap();
        let vals: Vec<f32> = (0..256 * 64)
            .map(|i| ((i * 31) % 97) as f32 / 97.0)
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(vals, [1, 256, 64]), &device);
        let a: Vec<f32> = values(head.forward(enc.forward(x.clone()))).unwrap();
        let b: Vec<f32> = values(head2.forward(enc2.forward(x))).unwrap();
        // Equal up to rounding (the transposed weights change the matmul's summation order).
        let max = a
            .iter()
            .zip(&b)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-5, "{max}");
    }

    #[test]
    fn sincos_table_follows_operas_swapped_grid() {
        let c = EncoderConfig::gt_small();
        let d = 384;
        let t = sincos_table(&c, d);
        assert!(t[..d].iter().all(|v| *v == 0.0), "CLS row is zeros");
        // Token k = 70: k mod 64 = 6, k div 64 = 1; ω_0 = 1 → sin(6), cos(6), sin(1), cos(1).
        let row = &t[71 * d..72 * d];
        assert!((row[0] - 6f32.sin()).abs() < 1e-6);
        assert!((row[96] - 6f32.cos()).abs() < 1e-6);
        assert!((row[192] - 1f32.sin()).abs() < 1e-6);
        assert!((row[288] - 1f32.cos()).abs() < 1e-6);
    }

    #[test]
    fn shapes_and_batch_equals_one_by_one() {
        let device = Device::flex();
        let mut c = EncoderConfig::gt_tiny();
        c.dim = 32;
        c.heads = 2;
        c.depth = 2;
        let enc = Encoder::new(&c, &device).unwrap();
        let vals: Vec<f32> = (0..2 * 256 * 64)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(vals, [2, 256, 64]), &device);
        let both: Vec<f32> = enc.forward(x.clone()).into_data().try_to_vec().unwrap();
        assert_eq!(both.len(), 2 * 32);
        let second: Vec<f32> = enc
            .forward(x.narrow(0, 1, 1))
            .into_data()
            .try_to_vec()
            .unwrap();
        let max = second
            .iter()
            .zip(&both[32..])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-5, "{max}");
    }
}
