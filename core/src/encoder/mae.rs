//! The self-supervised branch: masked-autoencoder pre-training of the encoder (He et al., 2022; OPERA's
//! `MaskedAutoencoderViTMD.forward`). A random `mask_ratio` of the patches is hidden, the encoder sees
//! the rest (with CLS), a light decoder puts learned mask tokens back in place, adds its own fixed
//! position table and predicts every patch's values; the loss is the MSE on the hidden patches only,
//! without per-patch normalisation.
//!
//! The decoder is a plain transformer (timm blocks, CLS kept through the blocks and dropped before the
//! prediction), OPERA's `decoder_mode = 0`. OPERA-GT was trained with a Swin-style local-window
//! decoder (`decoder_mode = 1`), whose window reshapes in the released code do not follow the patch
//! grid (`x.view(B, H, W, L)` where `C` was meant); the reference allows the plain decoder as a
//! documented simplification, and the encoder — the part that is kept — is identical.

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::{patchify, sincos_table, Block, Encoder, EncoderConfig};
use crate::error::ModelError;
use crate::weights::Weights;

/// Decoder size and masking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaeConfig {
    /// Decoder width (256 for gt-small, as `mae_vit_small`).
    pub decoder_dim: usize,
    /// Decoder blocks (6).
    pub decoder_depth: usize,
    /// Decoder heads (8).
    pub decoder_heads: usize,
    /// Share of patches hidden (0.7).
    pub mask_ratio: f64,
}

impl Default for MaeConfig {
    fn default() -> Self {
        Self {
            decoder_dim: 256,
            decoder_depth: 6,
            decoder_heads: 8,
            mask_ratio: 0.7,
        }
    }
}

impl MaeConfig {
    /// The decoder for `gt-tiny`: 96 wide, 2 blocks, 3 heads.
    pub fn tiny() -> Self {
        Self {
            decoder_dim: 96,
            decoder_depth: 2,
            decoder_heads: 3,
            mask_ratio: 0.7,
        }
    }

    fn validate(&self) -> Result<(), ModelError> {
        if self.decoder_dim == 0
            || self.decoder_heads == 0
            || !self.decoder_dim.is_multiple_of(self.decoder_heads)
            || !self.decoder_dim.is_multiple_of(4)
            || self.decoder_depth > 64
            || !(0.0..1.0).contains(&self.mask_ratio)
        {
            return Err(ModelError::Config(
                "decoder sizes out of range or mask_ratio not in [0, 1)".into(),
            ));
        }
        Ok(())
    }
}

/// Which patches the encoder sees: per example, the kept token indices and the inverse permutation.
pub struct Masking {
    ids_keep: Tensor<2, Int>,
    ids_restore: Tensor<2, Int>,
    mask: Tensor<2>,
    kept: usize,
}

impl Masking {
    /// OPERA's `random_masking` from given uniform noise (`batch × tokens` values): the tokens with the
    /// smallest noise are kept (`tokens · (1 − ratio)`, rounded down).
    pub fn from_noise(
        noise: &[f32],
        batch: usize,
        tokens: usize,
        ratio: f64,
        device: &Device,
    ) -> Self {
        assert_eq!(noise.len(), batch * tokens, "noise must be batch × tokens");
        let kept = ((tokens as f64) * (1.0 - ratio)) as usize;
        let mut keep = Vec::with_capacity(batch * kept);
        let mut restore = vec![0i64; batch * tokens];
        let mut mask = vec![1f32; batch * tokens];
        for b in 0..batch {
            let row = &noise[b * tokens..(b + 1) * tokens];
            let mut order: Vec<usize> = (0..tokens).collect();
            order.sort_by(|&i, &j| row[i].total_cmp(&row[j]).then(i.cmp(&j)));
            for (rank, &tok) in order.iter().enumerate() {
                restore[b * tokens + tok] = rank as i64;
                if rank < kept {
                    keep.push(tok as i64);
                    mask[b * tokens + tok] = 0.0;
                }
            }
        }
        Self {
            ids_keep: Tensor::from_data(TensorData::new(keep, [batch, kept]), device),
            ids_restore: Tensor::from_data(TensorData::new(restore, [batch, tokens]), device),
            mask: Tensor::from_data(TensorData::new(mask, [batch, tokens]), device),
            kept,
        }
    }
}

/// The loss and the prediction of one forward pass.
pub struct MaeOutput {
    /// Mean squared error over the hidden patches, `[1]`.
    pub loss: Tensor<1>,
    /// Predicted patch values, `[batch, tokens, patch values]`.
    pub pred: Tensor<3>,
}

/// Encoder + decoder for masked-autoencoder training (names as OPERA's state dict).
#[derive(Module, Debug)]
pub struct Mae {
    /// The encoder being trained.
    pub encoder: Encoder,
    decoder_embed: Linear,
    mask_token: Param<Tensor<3>>,
    /// Fixed sin-cos table of the decoder, `[1, 1 + tokens, decoder_dim]`.
    decoder_pos_embed: Param<Tensor<3>>,
    decoder_blocks: Vec<Block>,
    decoder_norm: LayerNorm,
    decoder_pred: Linear,
    patch: [usize; 2],
}

impl Mae {
    /// A new model around `encoder`.
    pub fn new(
        encoder: Encoder,
        config: &EncoderConfig,
        mae: &MaeConfig,
        device: &Device,
    ) -> Result<Self, ModelError> {
        mae.validate()?;
        let dd = mae.decoder_dim;
        let table = sincos_table(config, dd);
        Ok(Self {
            decoder_embed: LinearConfig::new(config.dim, dd).init(device),
            mask_token: Param::from_tensor(Tensor::zeros([1, 1, dd], device)),
            decoder_pos_embed: Param::from_tensor(Tensor::from_data(
                TensorData::new(table, [1, config.tokens() + 1, dd]),
                device,
            ))
            .set_require_grad(false),
            decoder_blocks: (0..mae.decoder_depth)
                .map(|_| Block::new(dd, mae.decoder_heads, config.mlp_ratio, config.eps, device))
                .collect(),
            decoder_norm: LayerNormConfig::new(dd)
                .with_epsilon(config.eps)
                .init(device),
            decoder_pred: LinearConfig::new(dd, config.patch_values()).init(device),
            patch: config.patch,
            encoder,
        })
    }

    /// Encoder and decoder from PyTorch-named weights (OPERA's `decoder_embed`, `mask_token`,
    /// `decoder_pos_embed` (computed when absent), `decoder_blocks.{i}.*` in the plain layout,
    /// `decoder_norm`, `decoder_pred`).
    pub fn load_pytorch(
        config: &EncoderConfig,
        mae: &MaeConfig,
        bytes: &[u8],
        device: &Device,
    ) -> Result<Self, ModelError> {
        let w = Weights::parse(bytes)?;
        let encoder = Encoder::load_weights(config, &w, device)?;
        let mut m = Self::new(encoder, config, mae, device)?;
        let dd = mae.decoder_dim;
        m.decoder_embed = w.linear("decoder_embed", config.dim, dd, device)?;
        m.mask_token = Param::from_tensor(w.tensor::<3>("mask_token", [1, 1, dd], device)?);
        if w.has("decoder_pos_embed") {
            let t = w.tensor::<3>("decoder_pos_embed", [1, config.tokens() + 1, dd], device)?;
            m.decoder_pos_embed = Param::from_tensor(t).set_require_grad(false);
        }
        for (i, b) in m.decoder_blocks.iter_mut().enumerate() {
            *b = Block::load(
                &w,
                &format!("decoder_blocks.{i}"),
                dd,
                config,
                mae.decoder_heads,
                device,
            )?;
        }
        m.decoder_norm = w.layer_norm("decoder_norm", dd, config.eps, device)?;
        m.decoder_pred = w.linear("decoder_pred", dd, config.patch_values(), device)?;
        Ok(m)
    }

    /// # Shapes
    /// - x: `[batch, frames, mels]` (frames a multiple of the patch height, the masking made for
    ///   `frames / patch[0] · mels / patch[1]` tokens)
    pub fn forward(&self, x: Tensor<3>, masking: &Masking) -> MaeOutput {
        let target = patchify(x.clone(), self.patch); // [b, l, pp]
        let tokens = self.encoder.embed_patches(x); // [b, l, d]
        let [b, l, d] = tokens.dims();
        let k = masking.kept;
        let keep = masking
            .ids_keep
            .clone()
            .reshape([b, k, 1])
            .expand([b, k, d]);
        let visible = tokens.gather(1, keep); // [b, k, d]
        let h = self.encoder.final_norm(self.encoder.run_blocks(visible)); // [b, 1 + k, d]
        let y = self.decoder_embed.forward(h); // [b, 1 + k, dd]
        let dd = y.dims()[2];
        let cls = y.clone().narrow(1, 0, 1);
        let shown = y.narrow(1, 1, k);
        let hidden = self.mask_token.val().expand([b, l - k, dd]);
        let shuffled = Tensor::cat(vec![shown, hidden], 1); // [b, l, dd] in keep-first order
        let restore = masking
            .ids_restore
            .clone()
            .reshape([b, l, 1])
            .expand([b, l, dd]);
        let unshuffled = shuffled.gather(1, restore); // [b, l, dd] in token order
        let mut z = Tensor::cat(vec![cls, unshuffled], 1)
            + self.decoder_pos_embed.val().narrow(1, 0, l + 1); // [b, 1 + l, dd]
        for blk in &self.decoder_blocks {
            z = blk.forward(z);
        }
        let pred = self
            .decoder_pred
            .forward(self.decoder_norm.forward(z))
            .narrow(1, 1, l); // [b, l, pp]
        let per_patch = (pred.clone() - target)
            .powi_scalar(2)
            .mean_dim(2)
            .reshape([b, l]); // [b, l]
        let loss = (per_patch * masking.mask.clone()).sum() / masking.mask.clone().sum();
        MaeOutput { loss, pred }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_lowest_noise_and_inverts() {
        let device = Device::flex();
        // noise [0.9, 0.1, 0.5, 0.3] with ratio 0.5 keeps tokens 1 and 3 (the two smallest);
        // ranks: token0 → 3, token1 → 0, token2 → 2, token3 → 1.
        let m = Masking::from_noise(&[0.9, 0.1, 0.5, 0.3], 1, 4, 0.5, &device);
        let keep: Vec<i64> = m
            .ids_keep
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        let restore: Vec<i64> = m
            .ids_restore
            .into_data()
            .convert::<i64>()
            .try_to_vec()
            .unwrap();
        let mask: Vec<f32> = m.mask.into_data().try_to_vec().unwrap();
        assert_eq!(keep, [1, 3]);
        assert_eq!(restore, [3, 0, 2, 1]);
        assert_eq!(mask, [1.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn a_training_step_lowers_the_loss() {
        use burn::optim::{AdamWConfig, GradientsParams};
        let device = Device::flex().autodiff();
        let mut c = EncoderConfig::gt_tiny();
        c.dim = 32;
        c.heads = 2;
        c.depth = 1;
        let enc = Encoder::new(&c, &device).unwrap();
        let mut mae = Mae::new(
            enc,
            &c,
            &MaeConfig {
                decoder_dim: 16,
                decoder_depth: 1,
                decoder_heads: 2,
                mask_ratio: 0.7,
            },
            &device,
        )
        .unwrap();
        let vals: Vec<f32> = (0..2 * 256 * 64).map(|i| (i % 64) as f32 / 64.0).collect();
        let x = Tensor::<3>::from_data(TensorData::new(vals, [2, 256, 64]), &device);
        let noise: Vec<f32> = (0..2 * 128)
            .map(|i| ((i * 37) % 101) as f32 / 101.0)
            .collect();
        let masking = Masking::from_noise(&noise, 2, 128, 0.7, &device);
        let mut opt = AdamWConfig::new().init();
        let mut losses: Vec<f32> = Vec::new();
        for _ in 0..5 {
            let out = mae.forward(x.clone(), &masking);
            losses.push(out.loss.clone().into_scalar());
            let grads = GradientsParams::from_grads(out.loss.backward(), &mae);
            mae = opt.step(1e-2, mae, grads);
        }
        assert!(losses[4] < losses[0], "{losses:?}");
    }
}
