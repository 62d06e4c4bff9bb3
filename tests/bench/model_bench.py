"""Encoder forward and training step on the CPU: acula (`acula bench-model`, burn's flex backend) against
PyTorch (tests/bench/torch_bench.py), same weights, same input, same protocol, in one run. Each case runs
in its own process, alternating the two sides; threads are set with RAYON_NUM_THREADS (acula) and
torch.set_num_threads (PyTorch). Checks that both computed the same thing: max |Δ| of the clip
embeddings (forward) and the loss of the first step (training).

Usage: python tests/bench/model_bench.py ACULA_BINARY WORK_DIR > model.json
ACULA_BENCH_QUICK=1 runs one repetition of the heavy cases (a smoke test of the script).
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ALL = os.cpu_count() or 1
QUICK = os.environ.get("ACULA_BENCH_QUICK") == "1"

# (mode, encoder, batch, threads, warm-up, timed runs). gt-small at batch 32 is ~2 TFLOP a pass, so
# its heavy cases get fewer repetitions.
CASES = []
for enc in ("gt-tiny", "gt-small"):
    for batch in (1, 32):
        for threads in (1, ALL):
            heavy = enc == "gt-small" and batch == 32
            CASES.append(("forward", enc, batch, threads, 1, 2 if heavy else (3 if enc == "gt-small" else 10)))
    CASES.append(("train", enc, 24, ALL, 1, 2 if enc == "gt-small" else 5))


def side(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    acula, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    py = sys.executable
    if not os.path.exists(os.path.join(work, "weights-gt-small.safetensors")):
        subprocess.run([py, os.path.join(HERE, "torch_bench.py"), "make", work], check=True)
    rows = []
    for mode, enc, batch, threads, warmup, runs in CASES:
        if QUICK:
            runs = 1 if enc == "gt-small" else 2
        common = ["--encoder", enc, "--weights", os.path.join(work, f"weights-{enc}.safetensors"),
                  "--input", os.path.join(work, "input.npy"), "--mode", mode, "--batch", str(batch),
                  "--warmup", str(warmup), "--runs", str(runs)]
        if mode == "train":
            common += ["--text", os.path.join(work, "text.npy")]
        e_torch = os.path.join(work, "emb-torch.npy")
        e_ours = os.path.join(work, "emb-acula.npy")
        extra_t = ["--embeddings-out", e_torch] if mode == "forward" else []
        extra_o = ["--embeddings-out", e_ours] if mode == "forward" else []
        print(f"{mode} {enc} batch {batch}, {threads} thread(s) …", file=sys.stderr, flush=True)
        t = side([py, os.path.join(HERE, "torch_bench.py"), "run", *common, "--threads", str(threads), *extra_t])
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
        o = side([acula, "bench-model", *common, "--backend", "flex", *extra_o], env=env)
        row = dict(mode=mode, encoder=enc, batch=batch, threads=threads, torch=t, acula=o,
                   ratio=o["median_ms"] / t["median_ms"])
        if mode == "forward":
            row["max_abs_diff"] = float(np.abs(np.load(e_torch) - np.load(e_ours)).max())
        else:
            row["first_loss_diff"] = abs(o["first_loss"] - t["first_loss"])
        print(f"  torch {t['median_ms']:.1f} ms, acula {o['median_ms']:.1f} ms, ratio {row['ratio']:.2f}",
              file=sys.stderr, flush=True)
        rows.append(row)
    import torch

    print(json.dumps(dict(torch=torch.__version__, threads_all=ALL, rows=rows)))


if __name__ == "__main__":
    main()
