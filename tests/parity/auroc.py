#!/usr/bin/env python3
"""AUROC parity: `acula auroc` (Mann–Whitney with mid-ranks; macro one-vs-rest) against scikit-learn's
roc_auc_score on 300 random cases: binary and 3–5 classes, 5–400 items, scores rounded so that many tie.

Usage: auroc.py ACULA_BIN
"""
import json
import subprocess
import sys

import numpy as np
from sklearn.metrics import roc_auc_score


def main() -> int:
    acula = sys.argv[1]
    rng = np.random.default_rng(0)
    cases, want = [], []
    while len(cases) < 300:
        classes = int(rng.choice([2, 2, 3, 4, 5]))
        n = int(rng.integers(5, 400))
        labels = rng.integers(0, classes, n)
        if len(set(labels.tolist())) < classes:
            continue
        logits = rng.normal(size=(n, classes)) + rng.uniform(0, 2) * np.eye(classes)[labels]
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        probs = np.round(probs, int(rng.integers(1, 4)))  # coarse rounding: many ties
        if classes == 2:
            w = roc_auc_score(labels, probs[:, 1])
        else:
            # scikit-learn's macro one-vs-rest is the mean of its binary AUROCs per class (called per
            # class here because the rounded scores no longer sum to 1, which its multiclass path requires).
            w = float(np.mean([roc_auc_score(labels == c, probs[:, c]) for c in range(classes)]))
        cases.append({"probs": probs.tolist(), "labels": labels.tolist()})
        want.append(w)
    out = subprocess.run([acula, "auroc"], input=json.dumps(cases), capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    worst = max(abs(g - w) for g, w in zip(got, want))
    print(f"AUROC vs scikit-learn on {len(cases)} random cases with ties: max |Δ| {worst:.2e}")
    if worst > 1e-9:
        print("FAIL: AUROC differs from scikit-learn", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
