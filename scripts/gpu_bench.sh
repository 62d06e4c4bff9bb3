#!/usr/bin/env bash
# The GPU benchmark (issue 8, part 3): the encoder's forward pass (batch 32) and alignment training step
# (batch 24), gt-small and gt-tiny, through acula's GPU backends and through PyTorch on the same GPU, same
# weights and input (tests/bench/torch_bench.py writes them; both sides report checks: embeddings, loss).
# Meant for a lent GPU machine that has PyTorch but no Rust toolchain: build the binary here first,
#   cargo build --release --locked -p acula-trainer --features wgpu --target-dir target/gpu
#   mkdir -p .gpu && cp target/gpu/release/acula .gpu/ && strip .gpu/acula
# then run `scripts/gpu_bench.sh .gpu/acula OUT_DIR` there (Vulkan's loader must be installed for wgpu).
# ACULA_GPU_BACKENDS (default `wgpu`) picks acula's backends: `cuda` needs a binary built with
# `--features cuda`, which needs network access at build time (burn's CUDA backend downloads an LLVM
# bundle), so it is not built here. ACULA_GPU_QUICK=1 runs fewer repetitions. Prints a table; JSON lines go
# to OUT_DIR/gpu.jsonl.
set -uo pipefail
acula="${1:?usage: scripts/gpu_bench.sh ACULA_BINARY OUT_DIR}"
out="${2:?usage: scripts/gpu_bench.sh ACULA_BINARY OUT_DIR}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-python3}"
mkdir -p "$out"
backends="${ACULA_GPU_BACKENDS:-wgpu}"
vk=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$vk" ] && [ -z "${VK_DRIVER_FILES:-}" ] && export VK_DRIVER_FILES="$vk"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
"$py" - <<'PY' | tee -a "$out/gpu.txt"
import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
PY
work="$(mktemp -d)"
w="$work/w"
"$py" "$root/tests/bench/torch_bench.py" make "$w" || exit 1
runs=10; [ "${ACULA_GPU_QUICK:-0}" = 1 ] && runs=3
log="$out/gpu.jsonl"; : > "$log"
bench() { # label, then the command
  local label="$1"; shift
  local line
  if line="$(timeout 240 "$@" 2>"$work/err.txt" | tail -1)" && [ -n "$line" ]; then
    echo "{\"label\":\"$label\",\"result\":$line}" >> "$log"; echo "$label: $line"
  else
    echo "{\"label\":\"$label\",\"error\":$(tail -c 400 "$work/err.txt" | "$py" -c 'import json,sys;print(json.dumps(sys.stdin.read()))')}" >> "$log"
    echo "$label: FAILED: $(tail -c 400 "$work/err.txt")"
  fi
}
for enc in gt-small gt-tiny; do
  wt="$w/weights-$enc.safetensors"
  common=(--encoder "$enc" --weights "$wt" --input "$w/input.npy")
  bench "$enc forward b32 torch" "$py" "$root/tests/bench/torch_bench.py" run "${common[@]}" --mode forward --batch 32 --device cuda --warmup 3 --runs "$runs" --inner 5 --embeddings-out "$work/emb-torch-$enc.npy"
  bench "$enc train b24 torch" "$py" "$root/tests/bench/torch_bench.py" run "${common[@]}" --text "$w/text.npy" --mode train --batch 24 --device cuda --warmup 3 --runs "$runs" --inner 5
  for be in $backends; do
    bench "$enc forward b32 $be" "$acula" bench-model "${common[@]}" --mode forward --batch 32 --backend "$be" --warmup 3 --runs "$runs" --inner 5 --embeddings-out "$work/emb-$be-$enc.npy"
    bench "$enc train b24 $be" "$acula" bench-model "${common[@]}" --text "$w/text.npy" --mode train --batch 24 --backend "$be" --warmup 3 --runs "$runs" --inner 5
  done
done
"$py" - "$out" "$work" <<'PY' | tee "$out/table.md"
import json, os, sys
import numpy as np
out, work = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(os.path.join(out, "gpu.jsonl"))]
res = {r["label"]: r.get("result") for r in rows}
print("\n| encoder | measure | PyTorch (CUDA) | acula cuda | ratio | acula wgpu | ratio |")
print("|---|---|---|---|---|---|---|")
for enc in ("gt-small", "gt-tiny"):
    for what, b in (("forward", 32), ("train", 24)):
        t = res.get(f"{enc} {what} b{b} torch")
        cells = [f"{t['median_ms']:.2f} ms" if t else "failed"]
        for be in ("cuda", "wgpu"):
            r = res.get(f"{enc} {what} b{b} {be}")
            cells.append(f"{r['median_ms']:.2f} ms" if r else "failed")
            cells.append(f"{r['median_ms'] / t['median_ms']:.2f}" if r and t else "–")
        print(f"| {enc} | {what} batch {b} | " + " | ".join(cells) + " |")
for enc in ("gt-small", "gt-tiny"):
    p = os.path.join(work, f"emb-torch-{enc}.npy")
    for be in ("cuda", "wgpu"):
        q = os.path.join(work, f"emb-{be}-{enc}.npy")
        if os.path.exists(p) and os.path.exists(q):
            print(f"{enc} {be}: max |Δ embedding| vs PyTorch {np.abs(np.load(p) - np.load(q)).max():.2e}")
    for be in ("cuda", "wgpu"):
        t, r = res.get(f"{enc} train b24 torch"), res.get(f"{enc} train b24 {be}")
        if t and r and "first_loss" in t and "first_loss" in r:
            print(f"{enc} {be}: first loss {r['first_loss']:.6f} vs PyTorch {t['first_loss']:.6f}")
PY
