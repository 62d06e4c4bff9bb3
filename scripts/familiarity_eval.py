#!/usr/bin/env python3
"""How often a bundle's familiarity check refuses recordings that are not what a task was trained on.

Runs `acula predict --json --recording KIND` on sets of real and generated recordings and counts the
"unfamiliar" verdicts per (set, claimed kind):

- real coughs (covid19-cough), real KAUH lung sounds, synthetic lung and heart sounds (`acula synth`
  output, as the recipe writes it), each claimed as every kind that has a task;
- generated non-body sounds (numpy, seeded): a music-like chord, white and pink noise, a door slam,
  hand claps, a frequency sweep and a vowel-like buzz ("speech").

In-domain false alarms are the manifest's `test_kept` (the test subjects' recordings of the kind).

    python3 scripts/familiarity_eval.py --acula target/release/acula --bundle www/models/default \\
        --data ../shared/data --synth runs/default/data --out docs/eval/familiarity.md

Only the standard library and numpy are needed.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 16000


def write_wav(path, x, rate=RATE):
    x = np.clip(x, -1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())


def generated(folder, seed=0):
    """Non-body sounds, 4 s each, three variants of each (different seeds)."""
    rng = np.random.default_rng(seed)
    t = np.arange(4 * RATE) / RATE
    out = {}
    for v in range(3):
        f0 = 196.0 * (1.5 ** v)
        chord = sum(np.sin(2 * np.pi * f0 * r * t) for r in (1, 1.26, 1.5, 2.0))
        chord *= 0.15 * (1 + 0.3 * np.sin(2 * np.pi * 2 * t))
        white = 0.3 * rng.standard_normal(t.size)
        pink = np.cumsum(rng.standard_normal(t.size))
        pink = pink - np.convolve(pink, np.ones(400) / 400, mode="same")
        pink = 0.3 * pink / (np.abs(pink).max() + 1e-9)
        slam = np.zeros(t.size)
        for at in (0.5 + v * 0.3, 2.5):
            i = int(at * RATE)
            n = int(0.4 * RATE)
            burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.05 * RATE))
            thud = np.sin(2 * np.pi * 60 * np.arange(n) / RATE) * np.exp(-np.arange(n) / (0.1 * RATE))
            slam[i:i + n] += 0.6 * burst + 0.8 * thud
        claps = np.zeros(t.size)
        for k in range(6 + v):
            i = int((0.3 + 0.45 * k) * RATE)
            n = int(0.03 * RATE)
            claps[i:i + n] += 0.8 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.006 * RATE))
        sweep = 0.4 * np.sin(2 * np.pi * (100 + (3000 + 1000 * v) * t / 8) * t)
        # A glottal pulse train through three vowel-like formant resonators, syllable-modulated.
        f = 110 + 30 * v + 15 * np.sin(2 * np.pi * 0.5 * t)
        phase = np.cumsum(f / RATE)
        pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
        buzz = pulses
        for fc, bw in ((700, 110), (1220, 120), (2600, 160)):
            r = np.exp(-np.pi * bw / RATE)
            a1, a2 = -2 * r * np.cos(2 * np.pi * fc / RATE), r * r
            y = np.zeros_like(buzz)
            for n in range(2, buzz.size):
                y[n] = buzz[n] - a1 * y[n - 1] - a2 * y[n - 2]
            buzz = y / (np.abs(y).max() + 1e-9)
        speech = 0.5 * buzz * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)
        for name, x in (("chord", chord), ("white noise", white), ("pink noise", pink),
                        ("door slam", slam), ("claps", claps), ("sweep", sweep),
                        ("vowel buzz (speech-like)", speech)):
            p = folder / f"{name.split()[0]}-{v}.wav"
            write_wav(p, x)
            out.setdefault(name, []).append(p)
    return out


def predict(acula, bundle, files, kind):
    """The verdict of every file (ok / unfamiliar / a quality verdict / error)."""
    verdicts = []
    for i in range(0, len(files), 40):
        chunk = files[i:i + 40]
        o = subprocess.run([acula, "predict", "--bundle", bundle, "--json", "--recording", kind,
                            *map(str, chunk)], capture_output=True, text=True)
        try:
            got = json.loads(o.stdout)
        except json.JSONDecodeError:
            sys.exit(f"acula predict failed: {o.stderr.strip()}")
        verdicts += [g.get("verdict") or ("error" if g.get("error") else "?") for g in got]
    return verdicts


def sample(paths, n, seed):
    paths = sorted(paths)
    random.Random(seed).shuffle(paths)
    return paths[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--acula", default="target/release/acula")
    ap.add_argument("--bundle", default="www/models/default")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--synth", default="runs/default/data", help="folder with icbhi-synth/ and circor-synth/")
    ap.add_argument("--per-set", type=int, default=60, help="recordings per real set")
    ap.add_argument("--out", default="docs/eval/familiarity.md")
    a = ap.parse_args()
    manifest = json.loads(Path(a.bundle, "manifest.json").read_text())
    fam = manifest.get("familiarity")
    if not fam:
        sys.exit(f"{a.bundle} has no familiarity check; refit it with `acula refit` first")
    kinds = [k["recording"] for k in fam["kinds"]]
    data, synth = Path(a.data), Path(a.synth)
    sets = {
        "real coughs (covid19-cough)": ("cough", sample((data / "covid19-cough/raw").glob("*.mp3"), a.per_set, 1)),
        "real lung sounds (KAUH)": ("lung", sample((data / "kauh-subset/Audio Files").glob("*.wav"), a.per_set, 2)),
        "synthetic lung sounds (ICBHI layout)": ("lung", sample(synth.glob("icbhi-synth/**/*.wav"), a.per_set, 3)),
        "synthetic heart sounds (CirCor layout)": ("heart", sample(synth.glob("circor-synth/**/*.wav"), a.per_set, 4)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in generated(Path(tmp)).items():
            sets[f"generated: {name}"] = (None, files)
        rows = []
        for name, (truth, files) in sets.items():
            if not files:
                print(f"skipped {name}: no files", file=sys.stderr)
                continue
            cells = []
            for k in kinds:
                v = predict(a.acula, a.bundle, files, k)
                scored = [x for x in v if x in ("ok", "unfamiliar")]
                share = sum(x == "unfamiliar" for x in scored) / max(len(scored), 1)
                mark = " (own kind)" if k == truth else ""
                cells.append(f"{100 * share:.0f} % of {len(scored)}{mark}")
            rows.append((name, cells))
            print(name, cells, file=sys.stderr)
    lines = [
        "# Familiarity check: share of recordings refused as unfamiliar",
        "",
        f"Bundle `{manifest['name']}` {manifest['version']} ({manifest['created']}); written by "
        "`scripts/familiarity_eval.py`. Each cell: the share of the set's recordings that passed the "
        "quality check and were called unfamiliar when claimed as that kind. \"(own kind)\" marks the "
        "kind the recordings really are: there a refusal is a false alarm (or, for real lung sounds "
        "and the synthetic-only lung task, the check saying that the task never saw real recordings).",
        "",
        "| recordings | " + " | ".join(f"claimed {k}" for k in kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    lines += [f"| {n} | " + " | ".join(c) + " |" for n, c in rows]
    lines += ["", "In-domain (test subjects of each kind, from the manifest): " + "; ".join(
        f"{k['recording']} {100 * (1 - k['test_kept']):.1f} % refused" for k in fam["kinds"]
        if k.get("test_kept") is not None) + "."]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
