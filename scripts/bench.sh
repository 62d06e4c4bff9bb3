#!/usr/bin/env bash
# Front-end and retrieval benchmarks, all in one run on this machine: criterion (native), librosa (Python reference,
# in its own environment) and the wasm build in headless Chromium, on the same 60 s clips.
# Writes BENCHMARKS.md. Takes ~3 minutes after the builds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TRUNK_SKIP_VERSION_CHECK=true
scripts/setup.sh web browser python
py="$(scripts/pyenv.sh)"
cargo bench --locked -p acula-core --bench frontend --bench retrieval -- --noplot
trunk build --release >/dev/null
clips=(target/bench-clips/clip_44100.wav target/bench-clips/clip_16000.wav)
librosa_json="$("$py" tests/bench/librosa_bench.py "${clips[@]}")"
wasm_json="$(node tests/bench/wasm_bench.mjs "${clips[@]}")"
"$py" tests/bench/report.py "$librosa_json" "$wasm_json" > BENCHMARKS.md
cat BENCHMARKS.md
