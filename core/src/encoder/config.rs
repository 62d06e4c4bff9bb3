//! The encoder's size and shape, and OPERA's position table: plain values, with no tensors, so that
//! a bundle's manifest can name them where the model itself is not built (the web page's module).

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Size and shape of an encoder. Defaults are OPERA-GT's published size (`gt-small`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncoderConfig {
    /// Frames per chunk (256: 8.18 s at 16 kHz with hop 512).
    pub frames: usize,
    /// Mel bands (64).
    pub mels: usize,
    /// Patch size (time frames, mel bands): 4 × 4.
    pub patch: [usize; 2],
    /// Token width: 384.
    pub dim: usize,
    /// Transformer blocks: 12.
    pub depth: usize,
    /// Attention heads: 6.
    pub heads: usize,
    /// MLP hidden width as a multiple of `dim`: 4.
    pub mlp_ratio: usize,
    /// LayerNorm epsilon: 1e-6.
    pub eps: f64,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self::gt_small()
    }
}

impl EncoderConfig {
    /// OPERA-GT as published (`mae_vit_small`): 4 × 4 patches (1,024 tokens), 384 wide, 12 blocks,
    /// 6 heads; ~21 M parameters and ~60 GFLOPs per 8 s chunk.
    pub fn gt_small() -> Self {
        Self {
            frames: 256,
            mels: 64,
            patch: [4, 4],
            dim: 384,
            depth: 12,
            heads: 6,
            mlp_ratio: 4,
            eps: 1e-6,
        }
    }

    /// The browser default: 16 × 8 patches (16 time × 8 mel = 128 tokens, 8× fewer than `gt-small`,
    /// so attention costs 64× less), 192 wide, 6 blocks, 3 heads: ~2.7 M parameters and ~0.8 GFLOPs
    /// per chunk, which one CPU core in wasm runs in a fraction of a second. A 16-frame patch spans
    /// 0.5 s, about one breath phase or one cough; 8 mel bands keep the coarse spectral shape.
    pub fn gt_tiny() -> Self {
        Self {
            frames: 256,
            mels: 64,
            patch: [16, 8],
            dim: 192,
            depth: 6,
            heads: 3,
            mlp_ratio: 4,
            eps: 1e-6,
        }
    }

    /// A preset by name (`gt-small`, `gt-tiny`).
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "gt-small" => Some(Self::gt_small()),
            "gt-tiny" => Some(Self::gt_tiny()),
            _ => None,
        }
    }

    /// Patch grid (time, mel).
    pub fn grid(&self) -> [usize; 2] {
        [self.frames / self.patch[0], self.mels / self.patch[1]]
    }

    /// Patch tokens of a full chunk.
    pub fn tokens(&self) -> usize {
        let [gt, gf] = self.grid();
        gt * gf
    }

    /// Values per patch.
    pub fn patch_values(&self) -> usize {
        self.patch[0] * self.patch[1]
    }

    /// Checks that the sizes fit together and are within sane bounds.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: &str| Err(ModelError::Config(m.to_string()));
        if self.patch.contains(&0) || self.heads == 0 || self.depth == 0 || self.dim == 0 {
            return bad("patch, heads, depth and dim must be at least 1");
        }
        if !self.frames.is_multiple_of(self.patch[0]) || !self.mels.is_multiple_of(self.patch[1]) {
            return bad("frames and mels must be multiples of the patch size");
        }
        if !self.dim.is_multiple_of(self.heads) || !self.dim.is_multiple_of(4) {
            return bad("dim must be a multiple of heads and of 4 (for the 2-D sin-cos table)");
        }
        if self.frames > 4096
            || self.mels > 512
            || self.dim > 4096
            || self.depth > 64
            || self.mlp_ratio > 16
        {
            return bad("sizes out of range");
        }
        if self.eps <= 0.0 || !self.eps.is_finite() {
            return bad("eps must be positive");
        }
        Ok(())
    }
}

/// OPERA's 2-D sin-cos table (`get_2d_sincos_pos_embed_flexible` with `PatchEmbed_org.patch_hw`),
/// row 0 for CLS (zeros). `patch_hw` there is (mel patches, time patches), the conv grid swapped, so
/// for token `k` the first half encodes `k mod G` and the second `k div G`, `G` the number of time
/// patches — not the token's grid position, but what OPERA-GT was trained with. Computed in f32 like
/// NumPy's `float32` arange.
///
/// # Shapes
/// - output: `[1 + tokens, dim]` (row-major values)
pub fn sincos_table(config: &EncoderConfig, dim: usize) -> Vec<f32> {
    let [g_time, _] = config.grid();
    let tokens = config.tokens();
    let quarter = dim / 4;
    let omega: Vec<f32> = (0..quarter)
        .map(|i| 1.0 / 10000f32.powf(i as f32 / quarter as f32))
        .collect();
    let mut out = vec![0f32; (tokens + 1) * dim];
    for k in 0..tokens {
        let row = &mut out[(k + 1) * dim..(k + 2) * dim];
        for (half, pos) in [(0, k % g_time), (1, k / g_time)] {
            for (i, w) in omega.iter().enumerate() {
                let a = pos as f32 * w;
                row[half * 2 * quarter + i] = a.sin();
                row[half * 2 * quarter + quarter + i] = a.cos();
            }
        }
    }
    out
}
