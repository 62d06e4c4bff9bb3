"""NumPy reference of the OPERA-GT audio encoder (ViT masked autoencoder), for parity with the Rust side.

What it implements, and where it comes from (all in github.com/evelyn0414/OPERA unless said otherwise):

* Model: `MaskedAutoencoderViTMD` in src/model/models_mae.py, built for OPERA-GT by
  src/benchmark/model_util.py `initialize_pretrained_model("operaGT")` = `mae_vit_small(in_chans=1,
  audio_exp=True, img_size=(256,64), use_custom_patch=False, pos_trainable=False, decoder_mode=1,
  mask_2d=False, no_shift=False, ...)`, and `mae_vit_small` = patch_size=4, embed_dim=384, depth=12,
  num_heads=6, decoder_embed_dim=256, decoder_depth=6, decoder_num_heads=8 (both unused with the Swin
  decoder), mlp_ratio=4, norm_layer=LayerNorm(eps=1e-6). Pre-training (src/pretrain/mae_training.py):
  same sizes, mask_ratio=0.7, norm_pix_loss=False, inputs of 256, 128 or 64 frames depending on dataset.
* Encoder blocks: timm `vision_transformer.Block(dim, heads, mlp_ratio, qkv_bias=True, norm_layer)`:
  pre-norm, x += attn(norm1(x)); x += mlp(norm2(x)); attention with one fused `qkv` Linear(D, 3D)
  split as (3, heads, head_dim), scale head_dim**-0.5, softmax, `proj`; Mlp fc1 (D→4D), exact (erf)
  GELU, fc2. No layer scale, no dropout at inference.
* Patch embedding: `PatchEmbed_org` (src/model/mae_utils/patch_embed.py): the input (B, T, F) is
  unsqueezed to (B, 1, T, F) (height = time, width = mel), Conv2d(1, D, kernel=stride=patch),
  flatten(2).transpose(1,2): token k = t_patch * (F/pw) + f_patch (time-major, mel fastest).
  Here the conv is computed as patchify(x) @ W.reshape(D, ph*pw).T + b, which is the same thing.
* Positional embedding: fixed, `get_2d_sincos_pos_embed_flexible(D, patch_embed.patch_hw,
  cls_token=True)` (src/model/mae_utils/pos_embed.py), stored in the state dict as `pos_embed`
  (1, 1+L, D) and `decoder_pos_embed` (1, 1+L, Dd). CAUTION: `PatchEmbed_org.patch_hw` is
  (F//pw, T//ph) = (16, 64), i.e. height and width SWAPPED relative to the conv output grid (64, 16).
  The table is therefore, for token k (row 1+k; row 0 = zeros for CLS), with G = T//ph (= 64):
      [:D/4]  = sin((k mod G) * omega)   [D/4:D/2]  = cos((k mod G) * omega)
      [D/2:3D/4] = sin((k div G) * omega) [3D/4:]   = cos((k div G) * omega)
      omega_i = 1 / 10000**(i / (D/4)), i = 0..D/4-1, computed in float32 as the original does.
  (k mod 64 = 16*(t mod 4) + f and k div 64 = t div 4: not the real grid position, but that is what the
  published model was trained with.) For a shorter input (L' tokens) the code takes pos_embed[:, 1:L'+1].
* Clip embedding (what the OPERA benchmark uses): `MaskedAutoencoderViTMD.forward_feature`:
      x = patch_embed(x) + pos_embed[:, 1:L+1]; prepend cls_token + pos_embed[:, :1];
      blocks; x = x[:, 1:].mean(1); x = self.norm(x)        (mean over patch tokens, CLS excluded,
                                                                 THEN the final LayerNorm `norm`)
  and src/benchmark/model_util.py `extract_opera_feature` (pretrain="operaGT", from_spec=True):
      chunks = [spec[i:i+256] for i in range(0, len(spec), 256)]; keep chunks with >= 16 frames;
      each chunk run alone (batch 1, at its own length, no padding); clip embedding = mean of the
      chunk embeddings. (Frames beyond a multiple of the patch height are dropped by the strided conv.)
* MAE branch: `forward_encoder` (patch embed + pos, `random_masking`: noise ~ U[0,1) (N, L),
  ids_shuffle = argsort(noise), ids_restore = argsort(ids_shuffle), keep ids_shuffle[:, :int(L*(1-r))],
  mask 1 = removed; prepend CLS; blocks; `norm` on all tokens), `forward_decoder` (decoder_embed;
  mask_token appended and unshuffled with ids_restore; + decoder_pos_embed; decoder_mode=1 drops the
  CLS row BEFORE the decoder blocks; decoder_norm; decoder_pred → ph*pw values per patch), and
  `forward_loss` (target = patchify(imgs) with values ordered (row in patch, col in patch); per-patch
  mean squared error; (loss*mask).sum()/mask.sum() over the whole batch; norm_pix_loss False).
* Swin decoder (decoder_mode=1): 16 `SwinTransformerBlock`s from src/model/mae_utils/swin_transformer.py
  (a copy of timm's swin_transformer_v2_cr): dim 256, num_heads 16, feat_size (32, 8), window (4, 4),
  shift (0,0) on even blocks and (2,0) on odd ones, post-norm (x += norm1(attn(x)); x += norm2(mlp(x))),
  scaled-cosine attention divided by clamp(tau, 0.01), plus a continuous relative position bias from
  `meta_mlp` (Linear(2,384) → ReLU → Linear(384,16)) on sign(d)*log(1+|d|) of window offsets, and the
  shift mask (-100). NOTE: `_shifted_window_attn` does `x.view(B, H, W, L)` (not (B, H, W, C)) on the
  (B, L, C) tokens; with H*W = 32*8 = 256 = C this "works" for any L but does not follow the patch grid
  (for L = 1024 every attention group is 16 consecutive tokens = one time row of patches, and the
  window/shift masks are applied to mixed-up groups). This script reproduces those reshapes literally
  (NumPy reshape on C-contiguous arrays = torch .view), `--decoder plain` gives the timm-Block decoder
  of decoder_mode=0 instead (6 blocks, 8 heads, CLS kept through the blocks then dropped).

State-dict names (Lightning checkpoint `encoder-operaGT.ckpt`, ckpt["state_dict"], loaded with
strict=False): cls_token (1,1,D), pos_embed (1,1+L,D), patch_embed.proj.weight (D,1,ph,pw), .bias (D),
blocks.{i}.norm1.{weight,bias}, blocks.{i}.attn.qkv.{weight (3D,D), bias}, blocks.{i}.attn.proj.*,
blocks.{i}.norm2.*, blocks.{i}.mlp.fc1.{weight (4D,D), bias}, blocks.{i}.mlp.fc2.*, norm.{weight,bias};
decoder: decoder_embed.{weight (Dd,D), bias}, mask_token (1,1,Dd), decoder_pos_embed (1,1+L,Dd),
decoder_blocks.{i}.{attn.qkv, attn.proj, attn.meta_mlp.fc1 (384,2), attn.meta_mlp.fc2 (h,384), attn.tau (h),
norm1, mlp.fc1, mlp.fc2, norm2} (Swin) or the encoder block names (plain), decoder_norm.*,
decoder_pred.{weight (ph*pw, Dd), bias}. No fc_norm, no head.

Usage (PY=$(bash scripts/pyenv.sh)):
    $PY tests/parity/opera_gt_reference.py make-random OUT.safetensors [--config tiny|gt-small|cfg.json]
        [--seed 0] [--decoder swin|plain|none]
    $PY tests/parity/opera_gt_reference.py embed WEIGHTS.safetensors INPUT.npy OUT.npy [--config ...]
        [--tokens TOKENS.npy] [--clip]
    $PY tests/parity/opera_gt_reference.py mae WEIGHTS.safetensors INPUT.npy OUT.json [--noise NOISE.npy]
        [--seed 0] [--mask-ratio 0.7] [--pred PRED.npy] [--decoder swin|plain]
    $PY tests/parity/opera_gt_reference.py pos-embed OUT.npy [--config ...]
    $PY tests/parity/opera_gt_reference.py check [--config ...]     (also: any subcommand with --check)
INPUT.npy is (batch, frames, mels) (or (frames, mels)) of features in [0, 1]. `embed` writes float32
(batch, D) embeddings = forward_feature per row; with --clip, INPUT is ONE clip (frames, mels) of any
length and OUT gets (1, D) = the OPERA chunk average. --tokens writes the final block outputs (batch,
1+L, D), CLS first, BEFORE the final norm. The config is read from the safetensors metadata ("config",
JSON) when --config is not given; make-random writes it there. Everything is computed in float64.
Config keys: embed_dim, depth, num_heads, patch [ph, pw], frames, mels, mlp_ratio, eps,
decoder_embed_dim, decoder_depth, decoder_num_heads, decoder ("swin"|"plain"), swin_num_heads,
swin_feat_size [H, W] (H*W must equal decoder_embed_dim), swin_window [wh, ww], swin_shift [sh, sw],
swin_depth, swin_meta_hidden.
"""
import argparse
import json
import sys

import numpy as np
from scipy.special import erf
from safetensors import safe_open
from safetensors.numpy import save_file

PRESETS = {
    # The published OPERA-GT (mae_vit_small + MaskedAutoencoderViTMD, see the docstring).
    "gt-small": dict(embed_dim=384, depth=12, num_heads=6, patch=[4, 4], frames=256, mels=64,
                     mlp_ratio=4.0, eps=1e-6, decoder_embed_dim=256, decoder_depth=6,
                     decoder_num_heads=8, decoder="swin", swin_num_heads=16, swin_feat_size=[32, 8],
                     swin_window=[4, 4], swin_shift=[2, 0], swin_depth=16, swin_meta_hidden=384),
    # Fast test size: 16x8 patches -> 16x8 = 128 tokens.
    "tiny": dict(embed_dim=64, depth=2, num_heads=2, patch=[16, 8], frames=256, mels=64,
                 mlp_ratio=4.0, eps=1e-6, decoder_embed_dim=32, decoder_depth=2,
                 decoder_num_heads=2, decoder="swin", swin_num_heads=4, swin_feat_size=[8, 4],
                 swin_window=[4, 4], swin_shift=[2, 0], swin_depth=2, swin_meta_hidden=32),
}


def load_config(spec):
    if spec in PRESETS:
        return dict(PRESETS[spec])
    with open(spec) as f:
        cfg = dict(PRESETS["gt-small"])
        cfg.update(json.load(f))
        return cfg


def grid_of(cfg, frames=None):
    ph, pw = cfg["patch"]
    frames = cfg["frames"] if frames is None else frames
    return frames // ph, cfg["mels"] // pw


# ----------------------------------------------------------------------------- positional embedding
def sincos_1d(dim, pos):
    """get_1d_sincos_pos_embed_from_grid, float32 like the original."""
    omega = np.arange(dim // 2, dtype=np.float32)
    omega /= dim / 2.0
    omega = (1.0 / np.float32(10000) ** omega).astype(np.float32)
    pos = pos.reshape(-1).astype(np.float32)
    out = np.einsum("m,d->md", pos, omega).astype(np.float32)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def pos_embed_table(dim, cfg):
    """get_2d_sincos_pos_embed_flexible(dim, PatchEmbed_org.patch_hw, cls_token=True) -> (1+L, dim) f32.

    patch_hw = (img_size[1]//patch[1], img_size[0]//patch[0]) = (mels//pw, frames//ph) (swapped!)."""
    ph, pw = cfg["patch"]
    patch_hw = (cfg["mels"] // pw, cfg["frames"] // ph)
    grid_h = np.arange(patch_hw[0], dtype=np.float32)
    grid_w = np.arange(patch_hw[1], dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0)  # w goes first
    grid = grid.reshape([2, 1, patch_hw[0], patch_hw[1]])
    assert dim % 4 == 0
    emb_h = sincos_1d(dim // 2, grid[0])
    emb_w = sincos_1d(dim // 2, grid[1])
    emb = np.concatenate([emb_h, emb_w], axis=1)
    return np.concatenate([np.zeros([1, dim], np.float32), emb], axis=0).astype(np.float32)


# ----------------------------------------------------------------------------- patches
def patchify(imgs, ph, pw):
    """(N, T, F) -> (N, (T/ph)*(F/pw), ph*pw); as MaskedAutoencoderViTMD.patchify (frames beyond a
    multiple of the patch are dropped, like the strided conv)."""
    n, t, f = imgs.shape
    h, w = t // ph, f // pw
    x = imgs[:, : h * ph, : w * pw].reshape(n, h, ph, w, pw)
    return x.transpose(0, 1, 3, 2, 4).reshape(n, h * w, ph * pw)


def unpatchify(x, ph, pw, h, w):
    n = x.shape[0]
    x = x.reshape(n, h, w, ph, pw).transpose(0, 1, 3, 2, 4)
    return x.reshape(n, h * ph, w * pw)


# ----------------------------------------------------------------------------- layers
def linear(x, wts, name):
    y = x @ wts[name + ".weight"].T
    b = wts.get(name + ".bias")
    return y if b is None else y + b


def layer_norm(x, wts, name, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * wts[name + ".weight"] + wts[name + ".bias"]


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def vit_block(x, wts, p, heads, eps):
    """timm vision_transformer.Block (pre-norm)."""
    b, n, c = x.shape
    hd = c // heads
    y = layer_norm(x, wts, p + "norm1", eps)
    qkv = linear(y, wts, p + "attn.qkv").reshape(b, n, 3, heads, hd).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = softmax((q * hd ** -0.5) @ k.transpose(0, 1, 3, 2))
    y = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, c)
    x = x + linear(y, wts, p + "attn.proj")
    y = layer_norm(x, wts, p + "norm2", eps)
    return x + linear(gelu(linear(y, wts, p + "mlp.fc1")), wts, p + "mlp.fc2")


# ----------------------------------------------------------------------------- encoder
def embed_tokens(wts, cfg, x):
    """patch_embed + pos_embed[:, 1:L+1], then prepend cls_token + pos_embed[:, :1]."""
    ph, pw = cfg["patch"]
    d = cfg["embed_dim"]
    assert x.shape[2] == cfg["mels"], f"expected {cfg['mels']} mel bands, got {x.shape[2]}"
    patches = patchify(x, ph, pw)
    w = wts["patch_embed.proj.weight"].reshape(d, ph * pw)
    tok = patches @ w.T + wts["patch_embed.proj.bias"]
    pos = wts["pos_embed"][0]
    tok = tok + pos[1 : tok.shape[1] + 1]
    cls = (wts["cls_token"][0, 0] + pos[0])[None, None, :].repeat(x.shape[0], 0)
    return tok, cls


def encoder_blocks(wts, cfg, x):
    for i in range(cfg["depth"]):
        x = vit_block(x, wts, f"blocks.{i}.", cfg["num_heads"], cfg["eps"])
    return x


def forward_feature(wts, cfg, x):
    """MaskedAutoencoderViTMD.forward_feature: returns (embedding (B, D), tokens before norm)."""
    tok, cls = embed_tokens(wts, cfg, x)
    h = encoder_blocks(wts, cfg, np.concatenate([cls, tok], axis=1))
    emb = layer_norm(h[:, 1:].mean(axis=1), wts, "norm", cfg["eps"])
    return emb, h


def clip_embedding(wts, cfg, spec):
    """extract_opera_feature (from_spec=True): 256-frame chunks, drop < 16 frames, mean over chunks."""
    chunk = cfg["frames"]
    feats = []
    for i in range(0, spec.shape[0], chunk):
        part = spec[i : i + chunk]
        if part.shape[0] >= 16:
            feats.append(forward_feature(wts, cfg, part[None])[0])
    return np.mean(feats, axis=0)


# ----------------------------------------------------------------------------- MAE
def random_masking(x, mask_ratio, noise):
    n, l, d = x.shape
    len_keep = int(l * (1 - mask_ratio))
    ids_shuffle = np.argsort(noise, axis=1, kind="stable")
    ids_restore = np.argsort(ids_shuffle, axis=1, kind="stable")
    ids_keep = ids_shuffle[:, :len_keep]
    x_masked = np.take_along_axis(x, ids_keep[:, :, None], axis=1)
    mask = np.ones((n, l))
    mask[:, :len_keep] = 0
    mask = np.take_along_axis(mask, ids_restore, axis=1)
    return x_masked, mask, ids_restore, ids_keep


def forward_encoder_masked(wts, cfg, x, mask_ratio, noise):
    tok, cls = embed_tokens(wts, cfg, x)
    tok, mask, ids_restore, ids_keep = random_masking(tok, mask_ratio, noise)
    h = encoder_blocks(wts, cfg, np.concatenate([cls, tok], axis=1))
    return layer_norm(h, wts, "norm", cfg["eps"]), mask, ids_restore, ids_keep


def swin_calc_window_shift(cfg):
    feat, win, shift = cfg["swin_feat_size"], cfg["swin_window"], cfg["swin_shift"]
    ws = [f if f <= w else w for f, w in zip(feat, win)]
    sh = [0 if f <= w else s for f, w, s in zip(feat, ws, shift)]
    return tuple(ws), tuple(sh)


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.reshape(b, h // ws[0], ws[0], w // ws[1], ws[1], c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, ws[0], ws[1], c)


def window_reverse(windows, ws, feat):
    h, w = feat
    b = int(windows.shape[0] / (h * w / ws[0] / ws[1]))
    x = windows.reshape(b, h // ws[0], w // ws[1], ws[0], ws[1], -1)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h, w, -1)


def swin_attn_mask(cfg, ws, shift):
    if not any(shift):
        return None
    h, w = cfg["swin_feat_size"]
    img = np.zeros((1, h, w, 1))
    cnt = 0
    for hs in (slice(0, -ws[0]), slice(-ws[0], -shift[0]), slice(-shift[0], None)):
        for wsl in (slice(0, -ws[1]), slice(-ws[1], -shift[1]), slice(-shift[1], None)):
            img[:, hs, wsl, :] = cnt
            cnt += 1
    mw = window_partition(img, ws).reshape(-1, ws[0] * ws[1])
    am = mw[:, None, :] - mw[:, :, None]
    return np.where(am != 0, -100.0, 0.0)


def swin_rel_bias(wts, p, ws, heads):
    coords = np.stack(np.meshgrid(np.arange(ws[0]), np.arange(ws[1]), indexing="ij"), 0).reshape(2, -1)
    rel = coords[:, :, None] - coords[:, None, :]
    rel = rel.transpose(1, 2, 0).reshape(-1, 2).astype(np.float64)
    rel = np.sign(rel) * np.log(1.0 + np.abs(rel))
    y = np.maximum(linear(rel, wts, p + "meta_mlp.fc1"), 0.0)
    y = linear(y, wts, p + "meta_mlp.fc2")  # (N*N, heads)
    area = ws[0] * ws[1]
    return y.T.reshape(heads, area, area)[None]


def swin_window_attention(x, wts, p, heads, ws, mask):
    bw, n, c = x.shape
    qkv = linear(x, wts, p + "qkv").reshape(bw, n, 3, heads, c // heads).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    denom = np.linalg.norm(q, axis=-1, keepdims=True) @ np.linalg.norm(k, axis=-1, keepdims=True).transpose(0, 1, 3, 2)
    attn = q @ k.transpose(0, 1, 3, 2) / np.maximum(denom, 1e-6)
    attn = attn / np.maximum(wts[p + "tau"], 0.01).reshape(1, heads, 1, 1)
    attn = attn + swin_rel_bias(wts, p, ws, heads)
    if mask is not None:
        nw = mask.shape[0]
        attn = attn.reshape(bw // nw, nw, heads, n, n) + mask[None, :, None]
        attn = attn.reshape(-1, heads, n, n)
    y = (softmax(attn) @ v).transpose(0, 2, 1, 3).reshape(bw, n, -1)
    return linear(y, wts, p + "proj")


def swin_block(x, wts, p, cfg, shift_target, eps):
    """SwinTransformerBlock (swin v2 cr copy) as used in OPERA, with its literal reshapes."""
    feat = tuple(cfg["swin_feat_size"])
    c2 = dict(cfg, swin_shift=list(shift_target))
    ws, shift = swin_calc_window_shift(c2)
    heads = cfg["swin_num_heads"]
    b, l, c = x.shape
    y = x.reshape(b, feat[0], feat[1], l)  # x.view(B, H, W, L) -- sic
    if any(shift):
        y = np.roll(y, (-shift[0], -shift[1]), axis=(1, 2))
    win = window_partition(y, ws).reshape(-1, ws[0] * ws[1], c)
    att = swin_window_attention(win, wts, p + "attn.", heads, ws, swin_attn_mask(cfg, ws, shift))
    att = att.reshape(-1, ws[0], ws[1], c)
    y = window_reverse(att, ws, feat)
    if any(shift):
        y = np.roll(y, (shift[0], shift[1]), axis=(1, 2))
    y = y.reshape(b, l, c)
    x = x + layer_norm(y, wts, p + "norm1", eps)
    m = linear(gelu(linear(x, wts, p + "mlp.fc1")), wts, p + "mlp.fc2")
    return x + layer_norm(m, wts, p + "norm2", eps)


def forward_decoder(wts, cfg, enc, ids_restore, decoder):
    x = linear(enc, wts, "decoder_embed")
    n, l = ids_restore.shape
    dd = x.shape[2]
    mask_tokens = np.broadcast_to(wts["mask_token"][0], (n, l + 1 - x.shape[1], dd))
    x_ = np.concatenate([x[:, 1:], mask_tokens], axis=1)
    x_ = np.take_along_axis(x_, ids_restore[:, :, None], axis=1)
    x = np.concatenate([x[:, :1], x_], axis=1)
    x = x + wts["decoder_pos_embed"][:, : x.shape[1]]
    if decoder == "swin":
        x = x[:, 1:]
        for i in range(cfg["swin_depth"]):
            shift = (0, 0) if i % 2 == 0 else tuple(cfg["swin_shift"])
            x = swin_block(x, wts, f"decoder_blocks.{i}.", cfg, shift, cfg["eps"])
    else:
        for i in range(cfg["decoder_depth"]):
            x = vit_block(x, wts, f"decoder_blocks.{i}.", cfg["decoder_num_heads"], cfg["eps"])
    x = layer_norm(x, wts, "decoder_norm", cfg["eps"])
    pred = linear(x, wts, "decoder_pred")
    return pred if decoder == "swin" else pred[:, 1:]


def mae_forward(wts, cfg, imgs, mask_ratio, noise, decoder):
    enc, mask, ids_restore, ids_keep = forward_encoder_masked(wts, cfg, imgs, mask_ratio, noise)
    pred = forward_decoder(wts, cfg, enc, ids_restore, decoder)
    target = patchify(imgs, *cfg["patch"])
    loss = ((pred - target) ** 2).mean(-1)
    loss = (loss * mask).sum() / mask.sum()
    return loss, pred, mask, ids_keep


# ----------------------------------------------------------------------------- weights
def param_shapes(cfg, decoder):
    d, ph, pw = cfg["embed_dim"], cfg["patch"][0], cfg["patch"][1]
    gh, gw = grid_of(cfg)
    L = gh * gw
    hid = int(d * cfg["mlp_ratio"])
    s = {"cls_token": (1, 1, d), "pos_embed": (1, L + 1, d),
         "patch_embed.proj.weight": (d, 1, ph, pw), "patch_embed.proj.bias": (d,)}

    def block(p, dim, hidden):
        for ln in ("norm1", "norm2"):
            s[p + ln + ".weight"] = (dim,)
            s[p + ln + ".bias"] = (dim,)
        s[p + "attn.qkv.weight"] = (3 * dim, dim)
        s[p + "attn.qkv.bias"] = (3 * dim,)
        s[p + "attn.proj.weight"] = (dim, dim)
        s[p + "attn.proj.bias"] = (dim,)
        s[p + "mlp.fc1.weight"] = (hidden, dim)
        s[p + "mlp.fc1.bias"] = (hidden,)
        s[p + "mlp.fc2.weight"] = (dim, hidden)
        s[p + "mlp.fc2.bias"] = (dim,)

    for i in range(cfg["depth"]):
        block(f"blocks.{i}.", d, hid)
    s["norm.weight"] = (d,)
    s["norm.bias"] = (d,)
    if decoder in ("swin", "plain"):
        dd = cfg["decoder_embed_dim"]
        s["decoder_embed.weight"] = (dd, d)
        s["decoder_embed.bias"] = (dd,)
        s["mask_token"] = (1, 1, dd)
        s["decoder_pos_embed"] = (1, L + 1, dd)
        if decoder == "swin":
            mh, hs = cfg["swin_meta_hidden"], cfg["swin_num_heads"]
            for i in range(cfg["swin_depth"]):
                p = f"decoder_blocks.{i}."
                block(p, dd, int(dd * cfg["mlp_ratio"]))
                s[p + "attn.meta_mlp.fc1.weight"] = (mh, 2)
                s[p + "attn.meta_mlp.fc1.bias"] = (mh,)
                s[p + "attn.meta_mlp.fc2.weight"] = (hs, mh)
                s[p + "attn.meta_mlp.fc2.bias"] = (hs,)
                s[p + "attn.tau"] = (hs,)
        else:
            for i in range(cfg["decoder_depth"]):
                block(f"decoder_blocks.{i}.", dd, int(dd * cfg["mlp_ratio"]))
        s["decoder_norm.weight"] = (dd,)
        s["decoder_norm.bias"] = (dd,)
        s["decoder_pred.weight"] = (ph * pw, dd)
        s["decoder_pred.bias"] = (ph * pw,)
    return s


def make_random(cfg, seed, decoder):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in param_shapes(cfg, decoder).items():
        if name == "pos_embed":
            v = pos_embed_table(cfg["embed_dim"], cfg)[None]
        elif name == "decoder_pos_embed":
            v = pos_embed_table(cfg["decoder_embed_dim"], cfg)[None]
        elif name.endswith("tau"):
            v = 1.0 + 0.2 * np.abs(rng.standard_normal(shape))
        elif name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm.weight"):
            v = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            v = 0.02 * rng.standard_normal(shape)
        elif "meta_mlp" in name:
            v = 0.2 * rng.standard_normal(shape)
        else:  # linear / conv weights, cls_token, mask_token
            v = 0.02 * rng.standard_normal(shape)
        out[name] = np.ascontiguousarray(v, dtype=np.float32)
    return out


def load_weights(path):
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
        wts = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}
    cfg = json.loads(meta["config"]) if "config" in meta else None
    return wts, cfg


def resolve(args, file_cfg):
    if args.config:
        return load_config(args.config)
    if file_cfg is not None:
        return file_cfg
    return load_config("gt-small")


def read_input(path):
    x = np.load(path).astype(np.float64)
    return x[None] if x.ndim == 2 else x


# ----------------------------------------------------------------------------- self-checks
def self_check(cfg):
    ok = True

    def report(name, good, detail=""):
        nonlocal ok
        ok &= bool(good)
        print(f"{'ok  ' if good else 'FAIL'} {name} {detail}")

    for dim in (cfg["embed_dim"], cfg["decoder_embed_dim"]):
        pe = pos_embed_table(dim, cfg).astype(np.float64)
        gh, gw = grid_of(cfg)
        k = np.arange(gh * gw)
        q = dim // 4
        om = 1.0 / 10000.0 ** (np.arange(q) / q)
        a, b = (k % gh)[:, None] * om, (k // gh)[:, None] * om  # G = frames // ph = gh
        ref = np.concatenate([np.sin(a), np.cos(a), np.sin(b), np.cos(b)], axis=1)
        err = np.abs(pe[1:] - ref).max()
        report(f"sin-cos table d={dim}", pe.shape == (1 + gh * gw, dim) and not pe[0].any() and err < 1e-4,
               f"max err vs f64 formula {err:.2e}")
    ph, pw = cfg["patch"]
    gh, gw = grid_of(cfg)
    rng = np.random.default_rng(1)
    x = rng.random((2, cfg["frames"], cfg["mels"]))
    p = patchify(x, ph, pw)
    report("patchify/unpatchify round trip", np.array_equal(unpatchify(p, ph, pw, gh, gw), x))
    t, f = 3 * ph + 1, 2 * pw + 3
    report("patch order: token t*(F/pw)+f, value i*pw+j",
           p[1, t // ph * gw + f // pw, (t % ph) * pw + f % pw] == x[1, t, f])
    wts = {k: v.astype(np.float64) for k, v in make_random(cfg, 3, cfg["decoder"]).items()}
    # the patch-embed-as-matmul equals a strided convolution
    w = wts["patch_embed.proj.weight"]
    conv = np.einsum("nhpwq,dpq->nhwd", x.reshape(2, gh, ph, gw, pw), w[:, 0]).reshape(2, gh * gw, -1)
    tok, _ = embed_tokens(wts, cfg, x)
    direct = conv + wts["patch_embed.proj.bias"] + wts["pos_embed"][0, 1:]
    report("patch embedding = strided conv", np.allclose(tok, direct))
    both, _ = forward_feature(wts, cfg, x)
    one = np.concatenate([forward_feature(wts, cfg, x[i : i + 1])[0] for i in range(2)])
    report("batch of 2 == each alone", np.allclose(both, one, atol=1e-12), f"max diff {np.abs(both - one).max():.1e}")
    short = x[:1, : cfg["frames"] // 2]
    e_short = forward_feature(wts, cfg, short)[0]
    report("shorter input runs with truncated pos_embed", e_short.shape == (1, cfg["embed_dim"]))
    clip = rng.random((cfg["frames"] * 2 + 20, cfg["mels"]))
    c = clip_embedding(wts, cfg, clip)
    man = (forward_feature(wts, cfg, clip[None, : cfg["frames"]])[0]
           + forward_feature(wts, cfg, clip[None, cfg["frames"] : 2 * cfg["frames"]])[0]
           + forward_feature(wts, cfg, clip[None, 2 * cfg["frames"] :])[0]) / 3
    report("clip = mean of chunk embeddings (last chunk 20 frames kept)", np.allclose(c, man))
    noise = rng.random((2, gh * gw))
    for dec in ("swin", "plain"):
        w2 = {k: v.astype(np.float64) for k, v in make_random(cfg, 4, dec).items()}
        loss, pred, mask, _ = mae_forward(w2, cfg, x, 0.7, noise, dec)
        lk = int(gh * gw * (1 - 0.7))
        good = pred.shape == (2, gh * gw, ph * pw) and mask.sum() == 2 * (gh * gw - lk) and np.isfinite(loss)
        report(f"MAE forward ({dec} decoder)", good, f"loss {loss:.6f}")
    return ok


# ----------------------------------------------------------------------------- CLI
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["make-random", "embed", "mae", "pos-embed", "check"])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--config", help="preset (gt-small, tiny) or JSON file; default: from the weights file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--decoder", choices=["swin", "plain", "none"])
    ap.add_argument("--tokens", help="embed: also write the final block outputs (B, 1+L, D), pre-norm")
    ap.add_argument("--clip", action="store_true", help="embed: INPUT is one clip; OPERA chunk average")
    ap.add_argument("--noise", help="mae: (B, L) uniform noise for random_masking; else seeded")
    ap.add_argument("--mask-ratio", type=float, default=0.7)
    ap.add_argument("--pred", help="mae: write the decoder predictions (B, L, ph*pw)")
    ap.add_argument("--check", action="store_true", help="run the self-checks first")
    args = ap.parse_args()

    if args.cmd == "check" or args.check:
        cfg = load_config(args.config or "tiny")
        good = self_check(cfg)
        if args.cmd == "check" or not good:
            sys.exit(0 if good else 1)

    if args.cmd == "make-random":
        (out,) = args.paths
        cfg = load_config(args.config or "tiny")
        dec = args.decoder or cfg["decoder"]
        cfg["decoder"] = dec if dec != "none" else cfg["decoder"]
        tensors = make_random(cfg, args.seed, dec)
        save_file(tensors, out, metadata={"config": json.dumps(cfg), "seed": str(args.seed), "decoder": dec})
        print(f"wrote {len(tensors)} tensors ({sum(v.size for v in tensors.values()):,} parameters) to {out}")
    elif args.cmd == "pos-embed":
        (out,) = args.paths
        cfg = load_config(args.config or "gt-small")
        np.save(out, pos_embed_table(cfg["embed_dim"], cfg))
    elif args.cmd == "embed":
        wpath, inp, out = args.paths
        wts, fcfg = load_weights(wpath)
        cfg = resolve(args, fcfg)
        x = read_input(inp)
        if args.clip:
            assert x.shape[0] == 1, "--clip takes one clip (frames, mels)"
            emb = clip_embedding(wts, cfg, x[0])
        else:
            emb, toks = forward_feature(wts, cfg, x)
            if args.tokens:
                np.save(args.tokens, toks.astype(np.float32))
        np.save(out, emb.astype(np.float32))
        print(f"wrote {emb.shape} to {out}")
    elif args.cmd == "mae":
        wpath, inp, out = args.paths
        wts, fcfg = load_weights(wpath)
        cfg = resolve(args, fcfg)
        dec = args.decoder or cfg["decoder"]
        x = read_input(inp)
        gh, gw = grid_of(cfg, x.shape[1])
        noise = np.load(args.noise) if args.noise else np.random.default_rng(args.seed).random((x.shape[0], gh * gw))
        loss, pred, mask, ids_keep = mae_forward(wts, cfg, x, args.mask_ratio, noise.astype(np.float64), dec)
        if args.pred:
            np.save(args.pred, pred.astype(np.float32))
        with open(out, "w") as f:
            json.dump({"loss": float(loss), "mask": mask.astype(int).tolist(), "ids_keep": ids_keep.tolist(),
                       "decoder": dec, "mask_ratio": args.mask_ratio}, f)
        print(f"loss {loss:.8f} ({dec} decoder)")


if __name__ == "__main__":
    main()
