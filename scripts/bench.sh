#!/usr/bin/env bash
# Every benchmark in one run on this machine, with the references measured side by side, and
# BENCHMARKS.md written from the results:
#   - front end (criterion) vs librosa and torchaudio on the same 60 s clips;
#   - encoder forward (gt-tiny, gt-small; batch 1 and 32; one thread and all) and one alignment training
#     step (batch 24) vs PyTorch with the same weights (tests/bench/model_bench.py);
#   - the wasm build in headless Chromium: front end, encoder, retrieval vs native;
#   - the page: first-visit bytes, time to interactive, file → results (tests/bench/page_bench.mjs);
#   - retrieval top-10 over 100,000 reports (criterion).
# The Python references run in their own environment (scripts/pyenv.sh bench: PyTorch, ~5 GB, created once).
#   - what a user pays per file: a cold `acula features` process and a batch of 1,000 files vs librosa
#     (tests/bench/batch_bench.py), and the resampler's quality against soxr's HQ (resample_quality.py).
# Takes ≈ 40 minutes on 2 cores after the builds. ACULA_BENCH_QUICK=1 runs the model cases once (smoke test).
# `scripts/bench.sh frontend` runs only the front-end parts (≈ 5 minutes after the build) and writes
# docs/bench/frontend.md instead of BENCHMARKS.md; `scripts/bench.sh encoder` only the encoder against
# PyTorch and the peak memory (≈ 25 minutes on 2 cores) into docs/bench/encoder.md.
# The GPU numbers come from scripts/gpu_bench.sh on a lent GPU machine (docs/bench/gpu.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TRUNK_SKIP_VERSION_CHECK=true
clips=(target/bench-clips/clip_44100.wav target/bench-clips/clip_16000.wav)
out=target/bench-model
mkdir -p "$out"
front_end() {
  cargo build --release --locked -p acula-trainer
  cargo bench --locked -p acula-core --bench frontend -- --noplot
  echo "front end: librosa (and torchaudio when installed)" >&2
  "$py" tests/bench/librosa_bench.py "${clips[@]}" > "$out/librosa.json"
  echo "front end: cold process and batch vs librosa" >&2
  "$py" tests/bench/batch_bench.py target/release/acula "${clips[0]}" 1000 > "$out/batch.json"
  echo "resampler quality vs soxr HQ" >&2
  "$py" tests/bench/resample_quality.py target/release/acula > "$out/resample_quality.md"
}
if [ "${1:-}" = frontend ]; then
  scripts/setup.sh python
  py="$(scripts/pyenv.sh)"
  front_end
  "$py" tests/bench/frontend_report.py "$out/librosa.json" "$out/batch.json" "$out/resample_quality.md" \
    > docs/bench/frontend.md
  cat docs/bench/frontend.md
  exit 0
fi
if [ "${1:-}" = encoder ]; then
  scripts/setup.sh python
  py="$(scripts/pyenv.sh bench)"
  cargo build --release --locked -p acula-trainer
  echo "encoder: acula vs PyTorch" >&2
  "$py" tests/bench/model_bench.py target/release/acula "$out" > "$out/model.json"
  echo "peak memory" >&2
  "$py" tests/bench/peak_memory.py target/release/acula "$out" > "$out/peak_memory.json"
  "$py" tests/bench/encoder_report.py "$out/model.json" "$out/peak_memory.json" > docs/bench/encoder.md
  cat docs/bench/encoder.md
  exit 0
fi
scripts/setup.sh web browser python
py="$(scripts/pyenv.sh bench)"
front_end
cargo bench --locked -p acula-core --bench retrieval -- --noplot
PATH="$PWD/node_modules/.bin:$PATH" trunk build --release >/dev/null
echo "wasm in Chromium" >&2
node tests/bench/wasm_bench.mjs "${clips[@]}" > "$out/wasm.json"
echo "encoder: acula vs PyTorch" >&2
"$py" tests/bench/model_bench.py target/release/acula "$out" > "$out/model.json"
echo "peak memory" >&2
"$py" tests/bench/peak_memory.py target/release/acula "$out" > "$out/peak_memory.json"
echo "the page" >&2
node tests/bench/page_bench.mjs 5 >/dev/null
"$py" tests/bench/report.py "$(cat "$out/librosa.json")" "$(cat "$out/wasm.json")" "$out/model.json" \
  tests/artifacts/page-bench.md "$out/batch.json" "$out/resample_quality.md" "$out/peak_memory.json" > BENCHMARKS.md
cat BENCHMARKS.md
