"""The PyTorch side of the encoder benchmarks (scripts/bench.sh, scripts/gpu_bench.sh).

The model is OPERA-GT's encoder as timm builds it (pre-norm ViT blocks, fused scaled-dot-product
attention, exact GELU, LayerNorm eps 1e-6, strided-conv patch embedding, fixed sin-cos positions, mean of
the patch tokens then `norm`), with the two projection heads and InfoNCE of `acula align`, so that it
computes what `acula bench-model` computes on the same weights.

  torch_bench.py make OUT_DIR            weights for gt-tiny and gt-small (safetensors, PyTorch names),
                                         input chunks [32, 256, 64] and teacher embeddings [32, 384]
  torch_bench.py run --encoder gt-tiny --weights W --input X [--text T] --mode forward|train
                     --batch B [--threads N] [--device cpu|cuda] [--warmup 1 --runs 5 --inner 1]
                     [--embeddings-out E.npy]

`run` prints one JSON line in the format of `acula bench-model`. Timing: `warmup` untimed repetitions, then
`runs` timed ones of `inner` passes or steps each, ending with a read-back (and a CUDA synchronize).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "parity"))

CONFIGS = {
    "gt-small": dict(dim=384, depth=12, heads=6, patch=(4, 4)),
    "gt-tiny": dict(dim=192, depth=6, heads=3, patch=(16, 8)),
}
FRAMES, MELS, TEXT_DIM, HIDDEN, PROJ = 256, 64, 384, 1024, 512


def pos_table(dim, patch):
    """The fixed 2-D sin-cos table with a zero CLS row, as OPERA-GT builds it (see
    tests/parity/opera_gt_reference.py, which this reuses)."""
    from opera_gt_reference import pos_embed_table

    return pos_embed_table(dim, dict(patch=list(patch), frames=FRAMES, mels=MELS))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(y.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)


class Encoder(nn.Module):
    def __init__(self, dim, depth, heads, patch):
        super().__init__()
        self.patch_embed = PatchEmbed(dim, patch)
        tokens = (FRAMES // patch[0]) * (MELS // patch[1])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, dim), requires_grad=False)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):  # [b, frames, mels] -> [b, dim]
        x = self.patch_embed.proj(x[:, None]).flatten(2).transpose(1, 2)
        x = x + self.pos_embed[:, 1 : x.shape[1] + 1]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x[:, 1:].mean(dim=1))


class Head(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        self.fc1 = nn.Linear(d_in, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, PROJ)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class StepModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = Encoder(**cfg)
        self.audio_head = Head(cfg["dim"])
        self.text_head = Head(TEXT_DIM)
        self.log_scale = nn.Parameter(torch.tensor([math.log(1 / 0.07)]))


def info_nce(a, t, log_scale):
    logits = F.normalize(a, dim=1, eps=1e-8) @ F.normalize(t, dim=1, eps=1e-8).T * log_scale.exp()
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def make(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, cfg in CONFIGS.items():
        torch.manual_seed(0)
        m = StepModel(cfg)
        with torch.no_grad():
            # timm's init for the CLS token and LayerNorms left at PyTorch's defaults; small noise
            # on the norms so that a wrong norm cannot pass unnoticed.
            m.encoder.cls_token.normal_(0, 0.02)
            m.encoder.pos_embed.copy_(torch.from_numpy(pos_table(cfg["dim"], cfg["patch"]))[None])
            for mod in m.modules():
                if isinstance(mod, nn.LayerNorm):
                    mod.weight.add_(0.1 * torch.randn_like(mod.weight))
                    mod.bias.normal_(0, 0.02)
        state = {k: v.detach().contiguous() for k, v in m.state_dict().items()}
        save_file(state, os.path.join(out_dir, f"weights-{name}.safetensors"))
    rng = np.random.default_rng(0)
    np.save(os.path.join(out_dir, "input.npy"), rng.random((32, FRAMES, MELS), dtype=np.float32))
    np.save(os.path.join(out_dir, "text.npy"), rng.standard_normal((32, TEXT_DIM)).astype(np.float32))


def run(a):
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cfg = CONFIGS[a.encoder]
    model = StepModel(cfg)
    model.load_state_dict(load_file(a.weights))
    model.to(dev)
    x = torch.from_numpy(np.load(a.input)[: a.batch]).to(dev)
    if x.shape[0] != a.batch:
        sys.exit(f"{a.input}: fewer than {a.batch} rows")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times, first_loss, last_loss = [], None, None
    if a.mode == "forward":
        model.eval()
        with torch.inference_mode():
            for rep in range(a.warmup + a.runs):
                t0 = time.perf_counter()
                for _ in range(a.inner):
                    out = model.encoder(x).cpu().numpy()
                sync()
                ms = (time.perf_counter() - t0) * 1e3 / a.inner
                if rep >= a.warmup:
                    times.append(ms)
                if rep == 0 and a.embeddings_out:
                    np.save(a.embeddings_out, out)
    else:
        model.train()
        t = torch.from_numpy(np.load(a.text)[: a.batch]).to(dev)
        params = [p for p in model.parameters() if p.requires_grad]
        # burn's AdamW defaults (betas 0.9/0.999, eps 1e-5) with weight decay 0.01, as the Rust side.
        opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-5, weight_decay=0.01)
        for rep in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            for i in range(a.inner):
                loss = info_nce(model.audio_head(model.encoder(x)), model.text_head(t), model.log_scale)
                if rep == 0 and i == 0:
                    first_loss = float(loss.item())  # before any update; untimed when warmup >= 1
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
            value = float(loss.item())
            sync()
            ms = (time.perf_counter() - t0) * 1e3 / a.inner
            last_loss = value
            if rep >= a.warmup:
                times.append(ms)
    out = dict(mode=a.mode, encoder=a.encoder, batch=a.batch, backend=f"torch-{dev.type}",
               threads=torch.get_num_threads(), runs=a.runs, inner=a.inner,
               median_ms=float(np.median(times)), min_ms=float(min(times)),
               torch=torch.__version__)
    if dev.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    if first_loss is not None:
        out["first_loss"] = first_loss
    if last_loss is not None:
        out["last_loss"] = last_loss
    print(json.dumps(out))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
        return
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["run"])
    p.add_argument("--encoder", choices=sorted(CONFIGS), default="gt-tiny")
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--text")
    p.add_argument("--mode", choices=["forward", "train"], default="forward")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cpu")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--inner", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--embeddings-out")
    run(p.parse_args())


if __name__ == "__main__":
    main()
