"""The front-end sections of the benchmark report (issue 22): in-process speed against librosa, what a
user pays per file (cold process, batch), and the resampler's quality against soxr's HQ.

As a module, `tests/bench/report.py` prints these sections into BENCHMARKS.md; as a script it writes the
front-end-only report of `scripts/bench.sh frontend` (docs/bench/frontend.md):

Usage: python tests/bench/frontend_report.py LIBROSA_JSON BATCH_JSON QUALITY_MD
"""
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def criterion_ms(name, group="front_end_60s"):
    path = os.path.join(ROOT, "target", "criterion", group, name, "new", "estimates.json")
    with open(path) as fh:
        return json.load(fh)["median"]["point_estimate"] / 1e6


def ms(x):
    return f"{x:.2f} ms" if x < 100 else f"{x:.0f} ms"


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
                return name + (" with AVX-512" if "avx512f" in flags else ", AVX2 (no AVX-512)")
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def targets(librosa, batch):
    """Rows of the targets table: (target, measured, holds)."""
    rows = []
    for rate in (44100, 16000):
        ref = librosa[f"clip_{rate}.wav"]["median_ms"]
        ours = criterion_ms(f"decode_resample_logmel_{rate}Hz")
        rows.append((f"front end ≥ 5× faster than librosa, 60 s @ {rate} Hz, in-process",
                     f"{ref / ours:.2f}×", ref / ours >= 5))
    b = batch["batch"]
    r = b["librosa_per_file_ms"] / b["acula_per_file_ms"]
    rows.append((f"front end ≥ 5× faster than librosa per file in a batch of {b['files']}",
                 f"{r:.2f}×", r >= 5))
    c = batch["cold"]
    rows.append(("cold single-file `acula features` no slower than librosa's warm call (60 s @ 44.1 kHz)",
                 f"{c['acula_process_ms']:.1f} vs {c['librosa_warm_ms']:.1f} ms",
                 c["acula_process_ms"] <= c["librosa_warm_ms"]))
    return rows


def sections(librosa, batch, quality_md):
    out = []
    p = out.append
    p("## Front end: decode + resample to 16 kHz + log-mel (64 × frames, scaled)\n")
    p("| clip | librosa (load + melspectrogram) | acula native, all cores | vs librosa | acula native, 1 thread | vs librosa |")
    p("|---|---|---|---|---|---|")
    for rate in (44100, 16000):
        ref = librosa[f"clip_{rate}.wav"]["median_ms"]
        ours = criterion_ms(f"decode_resample_logmel_{rate}Hz")
        ours1 = criterion_ms(f"decode_resample_logmel_{rate}Hz_1thread")
        p(f"| 60 s @ {rate} Hz | {ms(ref)} | {ms(ours)} | **{ref / ours:.2f}× faster** | {ms(ours1)} | {ref / ours1:.2f}× faster |")
    p("\nlibrosa runs on one thread (numpy's FFT); criterion's median in a warm loop for acula.\n")
    dec44, res44, dec16, mel16 = (criterion_ms(n) for n in (
        "part_decode_44100Hz", "part_resample_44100Hz", "part_decode_16000Hz", "part_logmel_16000Hz"))
    p("Where the time goes (all cores; each part benchmarked alone):\n")
    p("| part | 60 s @ 44100 Hz | 60 s @ 16000 Hz |")
    p("|---|---|---|")
    p(f"| decode WAV → mono f32 | {dec44:.2f} ms | {dec16:.2f} ms |")
    p(f"| resample to 16 kHz (overlap-save FFT, f32) | {res44:.2f} ms | — |")
    p(f"| log-mel of 60 s at 16 kHz (STFT, mel, dB, min–max) | {mel16:.2f} ms | {mel16:.2f} ms |\n")

    c, b = batch["cold"], batch["batch"]
    p("## What a user pays per file (`tests/bench/batch_bench.py`)\n")
    p("| case | acula | librosa (one warm Python process) | librosa / acula |")
    p("|---|---|---|---|")
    p(f"| one 60 s file at 44.1 kHz: `acula features FILE --out F.npy` as a whole process (cold) vs librosa's warm call | "
      f"{c['acula_process_ms']:.1f} ms ({c['acula_cpu_ms']:.0f} ms CPU, {c['acula_minor_faults']:.0f} page faults) | "
      f"{c['librosa_warm_ms']:.1f} ms | {c['librosa_warm_ms'] / c['acula_process_ms']:.2f}× |")
    p(f"| per file in a batch of {b['files']} × {b['seconds_each']:.0f} s at 44.1 kHz, with the .npy written: "
      f"`acula features FOLDER --out-dir DIR` (all cores) | {b['acula_per_file_ms']:.2f} ms | "
      f"{b['librosa_per_file_ms']:.2f} ms | **{b['librosa_per_file_ms'] / b['acula_per_file_ms']:.2f}×** |")
    p(f"| the same batch with `--jobs 1` (one core, like librosa) | {b['acula_one_job_per_file_ms']:.2f} ms | "
      f"{b['librosa_per_file_ms']:.2f} ms | {b['librosa_per_file_ms'] / b['acula_one_job_per_file_ms']:.2f}× |")
    p(f"\nA process that only prints its version takes {c['acula_version_process_ms']:.1f} ms here (loading a "
      "38 MB executable); medians of "
      f"{c['runs']} runs.\n")
    p("## Resampling quality against soxr's HQ (`tests/bench/resample_quality.py`)\n")
    p("Staircases of tones through `acula decode --rate 16000` and `soxr.resample(..., 'HQ')` (what `librosa.load`")
    p("uses): the spread of the passband gain (max − min over 40 tones) and the loudest output of a tone above the")
    p("new Nyquist frequency (what aliases back), relative to the tone.\n")
    p(quality_md.strip() + "\n")
    return "\n".join(out)


def main():
    with open(sys.argv[1]) as fh:
        librosa = json.load(fh)
    with open(sys.argv[2]) as fh:
        batch = json.load(fh)
    with open(sys.argv[3]) as fh:
        quality = fh.read()
    import librosa as lr

    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    print("# Front-end benchmarks\n")
    print("Produced by `scripts/bench.sh frontend` in one run on one machine; every ratio compares numbers")
    print("measured in that run on the same inputs (the full `scripts/bench.sh` writes these sections into")
    print("BENCHMARKS.md with the rest).\n")
    print(f"- Machine: {cpu()}, {os.cpu_count()} logical CPUs; {rustc}; librosa {lr.__version__} (soxr_hq)")
    print("- Input: 60 s of a deterministic test signal (chirp + gated noise), 16-bit mono WAV at 44.1 and 16 kHz\n")
    print("| target | measured | holds |")
    print("|---|---|---|")
    for name, measured, holds in targets(librosa, batch):
        print(f"| {name} | {measured} | {'yes' if holds else 'no'} |")
    print()
    print(sections(librosa, batch, quality))


if __name__ == "__main__":
    main()
