"""Times librosa's front end on the benchmark clips: load at 16 kHz (soundfile + soxr_hq resampling),
then the reference log-mel (tests/parity/reference.py). Prints JSON {clip: {median_ms, runs}}.

Usage: python tests/bench/librosa_bench.py CLIP.wav [CLIP.wav ...]
"""
import json
import os
import statistics
import sys
import time

import librosa

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "parity"))
import reference  # noqa: E402

RUNS = 30
out = {}
for path in sys.argv[1:]:
    y, _ = librosa.load(path, sr=16000)  # warm-up: imports, caches, soxr plans
    reference.log_mel(y)
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        y, _ = librosa.load(path, sr=16000)
        reference.log_mel(y)
        times.append((time.perf_counter() - t0) * 1e3)
    out[os.path.basename(path)] = {"median_ms": statistics.median(times), "runs": RUNS}
print(json.dumps(out))
