"""Cost of the text side natively (issue 18, part 4): `acula search` as a whole process (one query:
bundle + MiniLM read and checked, one sentence embedded, the index searched), the time per further
query (21 queries in one call minus one, over 20), the process's peak memory, and the same sentences
embedded by the NumPy MiniLM of tests/parity/minilm_reference.py (float64, the reference) in this run.

Usage: python tests/bench/text_bench.py ACULA_BINARY MINILM_DIR [OUT.md]
Writes the markdown table to OUT.md (default docs/bench/text.md) and prints it.
"""
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
import minilm_reference  # noqa: E402

QUERIES = [
    "expiratory wheezes in an asthmatic child",
    "a heart murmur is heard at the mitral valve",
    "a cough from a person with COVID-19",
    "crackles in an elderly patient with pneumonia",
    "normal vesicular breath sounds",
    "a wet productive cough",
    "systolic murmur in an infant",
    "inspiratory stridor",
    "a dry cough with no other symptoms",
    "coarse crackles at the lung bases",
    "heart sounds with a gallop rhythm",
    "a barking cough in a toddler",
    "bronchial breathing over consolidation",
    "pleural friction rub",
    "diastolic murmur at the aortic area",
    "a smoker's cough in the morning",
    "wheezing after exercise",
    "a normal heart with no murmur",
    "fine crackles in pulmonary fibrosis",
    "a cough recorded over the telephone",
    "rhonchi that clear after coughing",
]


def wall(cmd, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd[:3])}…\n{r.stderr}")
    return statistics.median(times)


def main():
    acula, teacher = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "docs", "bench", "text.md")
    bundle = os.path.join(ROOT, "www", "models", "default")
    base = [acula, "search", "--json", "--bundle", bundle, "--teacher-dir", teacher]
    one = wall(base + [QUERIES[0]])
    many = wall(base + QUERIES)
    per_query = (many - one) / (len(QUERIES) - 1)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    ref = minilm_reference.MiniLM(teacher)
    ref.embed(QUERIES[:2])  # warm up
    t0 = time.perf_counter()
    for q in QUERIES[1:]:
        ref.embed([q])
    np_per_query = (time.perf_counter() - t0) / (len(QUERIES) - 1)

    cpu = os.cpu_count()
    lines = [
        "# The text side natively: `acula search` (tests/bench/text_bench.py)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on this machine ({cpu} cores), default bundle, all-MiniLM-L6-v2;"
        " medians of 5 runs; the NumPy reference is float64 on the same sentences, in this run.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| `acula search` with one query, whole process (read and check the bundle and MiniLM's 91 MB, embed, search) | {one * 1000:.0f} ms |",
        f"| each further query in the same call (MiniLM + text head + index of 1,494 reports) | {per_query * 1000:.1f} ms |",
        f"| the same sentence through the NumPy reference (float64) | {np_per_query * 1000:.1f} ms ({np_per_query / per_query:.1f}× acula's time) |",
        f"| peak memory of the `acula search` processes | {peak_mb:.0f} MB |",
        "",
    ]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
