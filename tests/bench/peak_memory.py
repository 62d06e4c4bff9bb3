"""Peak memory (resident set) of what users run (issue 22): `acula predict` on an 8 s clip with the
default bundle, and one gt-small alignment training step at batch 24 (`acula bench-model`, the weights
and inputs of tests/bench/model_bench.py). Measured with GNU time's maximum resident set size.

Usage: python tests/bench/peak_memory.py ACULA_BINARY WORK_DIR > peak_memory.json
ACULA_BENCH_QUICK=1 takes the training step at batch 4 (a smoke test of the script).
"""
import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

QUICK = os.environ.get("ACULA_BENCH_QUICK") == "1"


def peak_kb(cmd):
    """Runs `cmd` under /usr/bin/time and returns its peak resident set in kB."""
    r = subprocess.run(["/usr/bin/time", "-f", "peak-kb %M", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    line = [l for l in r.stderr.splitlines() if l.startswith("peak-kb ")][-1]
    return int(line.split()[1])


def main():
    acula, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    # 8 s at 44.1 kHz: a chirp under gated noise, deterministic.
    rate = 44100
    t = np.arange(8 * rate) / rate
    rng = np.random.default_rng(8)
    x = 0.3 * np.sin(2 * np.pi * (100 + 400 * t) * t) + 0.1 * rng.standard_normal(t.size) * (np.sin(3 * t) > 0)
    clip = os.path.join(work, "clip-8s.wav")
    sf.write(clip, x.astype(np.float32), rate, subtype="PCM_16")
    out = {"acula predict, one 8 s clip (default bundle)": peak_kb([acula, "predict", clip, "--json"])}
    batch = 4 if QUICK else 24
    out[f"gt-small training step, batch {batch}, 2 threads"] = peak_kb([
        acula, "bench-model", "--encoder", "gt-small", "--weights", os.path.join(work, "weights-gt-small.safetensors"),
        "--input", os.path.join(work, "input.npy"), "--text", os.path.join(work, "text.npy"), "--mode", "train",
        "--batch", str(batch), "--warmup", "0", "--runs", "1"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
