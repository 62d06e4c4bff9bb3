"""What a user pays per file: `acula features` as a whole process on one file (cold), and per file in a
batch (`acula features FOLDER --out-dir DIR`), against librosa doing the same work in one warm Python
process (load with soxr_hq resampling to 16 kHz, the reference log-mel, np.save).

Inputs: the 60 s clip (cold single file; librosa's warm call on it is the reference) and a folder of
BATCH_FILES generated 5 s clips at 44.1 kHz (written once under target/bench-clips/batch/).
Prints JSON: {"cold": {...}, "batch": {...}}; per-process CPU time and minor page faults of the cold runs
come from wait4's resource usage.

Usage: python tests/bench/batch_bench.py ACULA CLIP_44100.wav [BATCH_FILES]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import librosa
import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "parity"))
import reference  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLD_RUNS = 20


def run_process(cmd):
    """Wall time (ms), CPU time (ms) and minor page faults of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - t0) * 1e3
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3, usage.ru_minflt


def batch_folder(n):
    folder = os.path.join(ROOT, "target", "bench-clips", f"batch-{n}")
    marker = os.path.join(folder, ".complete")
    if os.path.exists(marker):
        return folder
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(7)
    sr = 44_100
    t = np.arange(5 * sr) / sr
    for i in range(n):
        f0 = 150 + 10 * (i % 40)
        burst = (np.sin(2 * np.pi * 3 * t + i) > 0.6).astype(np.float64)
        y = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.2 * burst * rng.standard_normal(t.size)
        sf.write(os.path.join(folder, f"clip_{i:04d}.wav"), (0.8 * y / np.abs(y).max()).astype(np.float32),
                 sr, subtype="PCM_16")
    open(marker, "w").close()
    return folder


def main():
    acula, clip = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        npy = os.path.join(tmp, "one.npy")
        cmd = [acula, "features", clip, "--out", npy]
        run_process(cmd)  # page cache warm
        runs = [run_process(cmd) for _ in range(COLD_RUNS)]
        help_runs = [run_process([acula, "--version"])[0] for _ in range(COLD_RUNS)]
        y, _ = librosa.load(clip, sr=16000)
        reference.log_mel(y)
        warm = []
        for _ in range(COLD_RUNS):
            t0 = time.perf_counter()
            y, _ = librosa.load(clip, sr=16000)
            reference.log_mel(y)
            warm.append((time.perf_counter() - t0) * 1e3)
        out["cold"] = {
            "clip": os.path.basename(clip),
            "acula_process_ms": statistics.median(r[0] for r in runs),
            "acula_cpu_ms": statistics.median(r[1] for r in runs),
            "acula_minor_faults": statistics.median(r[2] for r in runs),
            "acula_version_process_ms": statistics.median(help_runs),
            "librosa_warm_ms": statistics.median(warm),
            "runs": COLD_RUNS,
        }

        folder = batch_folder(n)
        files = sorted(f for f in os.listdir(folder) if f.endswith(".wav"))
        times = []
        for _ in range(3):
            dst = os.path.join(tmp, "batch")
            t0 = time.perf_counter()
            subprocess.run([acula, "features", folder, "--out-dir", dst], check=True,
                           stderr=subprocess.DEVNULL)
            times.append((time.perf_counter() - t0) * 1e3)
        one = [run_process([acula, "features", folder, "--out-dir", os.path.join(tmp, "b1"),
                            "--jobs", "1"])[0] for _ in range(2)]
        # librosa in one warm process, one file after another (it has no batch form; one core).
        ref_dir = os.path.join(tmp, "ref")
        os.makedirs(ref_dir)
        y, _ = librosa.load(os.path.join(folder, files[0]), sr=16000)
        reference.log_mel(y)
        t0 = time.perf_counter()
        for f in files:
            y, _ = librosa.load(os.path.join(folder, f), sr=16000)
            np.save(os.path.join(ref_dir, f[:-4] + ".npy"), reference.log_mel(y))
        ref_ms = (time.perf_counter() - t0) * 1e3
        out["batch"] = {
            "files": len(files),
            "seconds_each": 5.0,
            "rate": 44_100,
            "acula_per_file_ms": statistics.median(times) / len(files),
            "acula_one_job_per_file_ms": statistics.median(one) / len(files),
            "librosa_per_file_ms": ref_ms / len(files),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
