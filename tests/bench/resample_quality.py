"""Quality of acula's resampler against soxr's HQ (what librosa.load uses) on the same test tones.

For each input rate, two 16-bit-free float WAVs are written: a staircase of passband tones (0.5 s each,
50 Hz up to 94.5 % of the lower Nyquist frequency, acula's passband edge) and, when going down, a staircase of stopband tones
(the new Nyquist frequency up to the old one). Each is resampled to 16 kHz by `acula decode` (the
binary given as the first argument) and by `soxr.resample(..., quality="HQ")`. On the middle 0.3 s of
every step: the passband gain (least-squares fit of the known tone) and, for stopband tones, the level
of whatever comes out (aliases) relative to the tone, in dB.

Prints a Markdown table; `--json` prints the numbers instead.

Usage: python tests/bench/resample_quality.py target/release/acula [--json]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import soxr

OUT = 16_000
RATES = [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000]
STEP_S = 0.5
AMP = 0.5


def staircase(freqs, rate):
    n = int(STEP_S * rate)
    t = np.arange(n) / rate
    return np.concatenate([AMP * np.sin(2 * np.pi * f * t + 0.3) for f in freqs]).astype(np.float32)


def middles(y, count):
    n = int(STEP_S * OUT)
    a, b = int(0.1 * OUT), int(0.4 * OUT)
    return [y[i * n + a : i * n + b].astype(np.float64) for i in range(count)]


def gain_db(seg, f):
    t = (np.arange(len(seg)) + 0.1 * OUT) / OUT
    basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, seg, rcond=None)
    return 20 * np.log10(np.hypot(*coef) / AMP)


def level_db(seg):
    rms = np.sqrt(np.mean(seg**2)) + 1e-30
    return 20 * np.log10(rms / (AMP / np.sqrt(2)))


def acula_resample(binary, x, rate, tmp):
    src, dst = os.path.join(tmp, "in.wav"), os.path.join(tmp, "out.wav")
    sf.write(src, x, rate, subtype="FLOAT")
    subprocess.run([binary, "decode", src, "--out", dst, "--rate", str(OUT)], check=True,
                   stderr=subprocess.DEVNULL)
    y, sr = sf.read(dst, dtype="float32")
    assert sr == OUT
    return y


def measure(resample, rate):
    nyq = min(rate, OUT) / 2
    pass_f = np.linspace(50, 0.945 * nyq, 40)
    y = resample(staircase(pass_f, rate), rate)
    gains = np.array([gain_db(s, f) for s, f in zip(middles(y, len(pass_f)), pass_f)])
    row = {
        "ripple_db_to_91pct": float(np.ptp(gains[pass_f <= 0.913 * nyq])),
        "ripple_db_to_94pct": float(np.ptp(gains)),
        "min_gain_db": float(gains.min()),
    }
    if rate > OUT:
        stop_f = np.linspace(OUT / 2, 0.98 * rate / 2, 40)
        y = resample(staircase(stop_f, rate), rate)
        row["worst_alias_db"] = float(max(level_db(s) for s in middles(y, len(stop_f))))
    return row


def main():
    binary = sys.argv[1]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rate in RATES:
            rows[rate] = {
                "acula": measure(lambda x, r: acula_resample(binary, x, r, tmp), rate),
                "soxr_hq": measure(lambda x, r: soxr.resample(x, r, OUT, quality="HQ"), rate),
            }
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=1))
        return
    print("| from | passband ripple to 91.3 % (acula / soxr HQ) | to 94.5 % (acula / soxr HQ) | worst alias of a stopband tone (acula / soxr HQ) |")
    print("|---|---|---|---|")
    for rate, r in rows.items():
        a, s = r["acula"], r["soxr_hq"]
        alias = (f"{a['worst_alias_db']:.1f} / {s['worst_alias_db']:.1f} dB" if "worst_alias_db" in a
                 else "— (upsampling)")
        print(f"| {rate} Hz | {a['ripple_db_to_91pct']:.2g} / {s['ripple_db_to_91pct']:.2g} dB "
              f"| {a['ripple_db_to_94pct']:.2g} / {s['ripple_db_to_94pct']:.2g} dB | {alias} |")


if __name__ == "__main__":
    main()
