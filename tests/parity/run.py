"""Parity of `acula features` with librosa on real and generated audio.

For every input the same 16 kHz float32 WAV is read by both sides: librosa (tests/parity/reference.py)
and the `acula` binary given as the first argument. Inputs: real recordings from ../shared/data
(covid19-cough MP3s from both sources, KAUH stethoscope WAVs), resampled to 16 kHz once by librosa
(soxr_hq) and written as float WAV; and generated signals (a chirp, white noise, a clip shorter than
one FFT frame, a tone burst in silence for trimming).

Tolerances (issue 2): max |Δ| ≤ 2e-3 and mean |Δ| ≤ 1e-4 on the [0, 1]-scaled features, identical shapes.
Exit status 1 if any case fails. A table of the numbers is printed and written to tests/artifacts/parity.txt.
"""
import json
import os
import subprocess
import sys
import tempfile

import librosa
import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(__file__))
import reference  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
MAX_ABS = 2e-3
MEAN_ABS = 1e-4


def generated(tmp):
    rng = np.random.default_rng(0)
    sr = reference.SR
    t = np.arange(5 * sr) / sr
    cases = {
        "chirp_50_7900Hz": 0.5 * librosa.chirp(fmin=50, fmax=7900, sr=sr, duration=5.0),
        "white_noise": 0.1 * rng.standard_normal(3 * sr),
        "short_300_samples": 0.3 * np.sin(2 * np.pi * 440 * t[:300]),
        "burst_in_silence": np.concatenate(
            [np.zeros(sr), 0.4 * np.sin(2 * np.pi * 700 * t[: sr // 2]) * np.hanning(sr // 2), np.zeros(sr)]
        ),
    }
    out = []
    for name, y in cases.items():
        path = os.path.join(tmp, name + ".wav")
        sf.write(path, y.astype(np.float32), sr, subtype="FLOAT")
        out.append((name, path))
    return out


def real(tmp, n_cough=12, n_kauh=8):
    out = []
    cough_dir = os.path.join(DATA, "covid19-cough")
    meta_path = os.path.join(cough_dir, "metadata.json")
    if os.path.exists(meta_path):
        meta = json.load(open(meta_path))
        by_source = {}
        for m in sorted(meta, key=lambda m: m["filename"]):
            by_source.setdefault(m.get("source"), []).append(m)
        picks = []
        for src in sorted(by_source, key=str):
            picks += by_source[src][: n_cough // max(1, len(by_source))]
        for m in picks:
            p = os.path.join(cough_dir, "raw", m["filename"])
            if os.path.exists(p):
                out.append((f"cough_{m.get('source')}_{m['filename'][:8]}", p))
    else:
        print(f"note: {meta_path} not found; skipping real coughs")
    kauh_dir = os.path.join(DATA, "kauh-subset", "Audio Files")
    if os.path.isdir(kauh_dir):
        for f in sorted(os.listdir(kauh_dir))[:n_kauh]:
            out.append(("kauh_" + f.split(",")[0], os.path.join(kauh_dir, f)))
    else:
        print(f"note: {kauh_dir} not found; skipping KAUH")
    converted = []
    for name, p in out:
        y, _ = librosa.load(p, sr=reference.SR, mono=True)
        dst = os.path.join(tmp, name + ".wav")
        sf.write(dst, y.astype(np.float32), reference.SR, subtype="FLOAT")
        converted.append((name, dst))
    return converted


def run_acula(binary, wav, out, trim):
    cmd = [binary, "features", wav, "--out", out] + (["--trim"] if trim else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return np.load(out)


def main():
    binary = os.path.abspath(sys.argv[1])
    rows, failures = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        cases = generated(tmp) + real(tmp)
        if not any(name.startswith(("cough", "kauh")) for name, _ in cases):
            print("FAIL: no real recordings found under", DATA)
            failures += 1
        for name, wav in cases:
            y = reference.load(wav)
            for trim in (False, True):
                ref = reference.log_mel(reference.trim(y) if trim else y)
                ours = run_acula(binary, wav, os.path.join(tmp, "out.npy"), trim)
                label = name + (" +trim" if trim else "")
                if ours.shape != ref.shape:
                    rows.append((label, str(ref.shape), str(ours.shape), float("nan"), float("nan"), "FAIL"))
                    failures += 1
                    continue
                d = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
                ok = d.max() <= MAX_ABS and d.mean() <= MEAN_ABS
                failures += 0 if ok else 1
                rows.append((label, str(ref.shape), str(ours.shape), d.max(), d.mean(), "ok" if ok else "FAIL"))
    lines = [f"{'case':42s} {'librosa':>10s} {'acula':>10s} {'max|d|':>10s} {'mean|d|':>10s}"]
    for label, a, b, mx, mn, st in rows:
        lines.append(f"{label:42s} {a:>10s} {b:>10s} {mx:10.2e} {mn:10.2e} {st}")
    worst = max((r[3] for r in rows if r[3] == r[3]), default=float("nan"))
    lines.append(f"{len(rows)} cases, {failures} failed; worst max|d| {worst:.2e} (limits {MAX_ABS}, mean {MEAN_ABS})")
    report = "\n".join(lines)
    print(report)
    os.makedirs(os.path.join(ROOT, "tests", "artifacts"), exist_ok=True)
    with open(os.path.join(ROOT, "tests", "artifacts", "parity.txt"), "w") as fh:
        fh.write(report + "\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
