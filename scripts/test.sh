#!/usr/bin/env bash
# Sets up everything and runs every test: format, clippy (warnings are errors), unit and integration
# tests, the wasm build, librosa parity, and the browser tests in headless Chromium.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TRUNK_SKIP_VERSION_CHECK=true
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches only pay off when editing; in a test run they are gigabytes of disk for nothing.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
free_gb() { df -Pk "$root" | awk 'NR==2 {printf "%.1f", $4 / 1048576}'; }
start=$SECONDS
step() {
  local name="$1"; shift
  local t0=$SECONDS
  printf '\n\033[1m== %s\033[0m\n' "$name"
  "$@"
  printf '   (%s: %ds; %s GB free on disk)\n' "$name" $((SECONDS - t0)) "$(free_gb)"
}

step "setup" scripts/setup.sh web browser python models
step "format" cargo fmt --all --check
step "clippy (native)" cargo clippy --locked --all-targets -- -D warnings
step "clippy (app, wasm32)" cargo clippy --locked -p acula-app --target wasm32-unknown-unknown -- -D warnings
step "unit and integration tests" cargo test --locked
step "app unit tests (native)" cargo test --locked -p acula-app
step "GPU backends compile (wgpu, cuda)" env DOCS_RS=1 cargo check --locked -p acula-trainer --features wgpu,cuda
# The debug build is not needed past this point. Where the disk is short (a CI machine), drop it so the
# release and wasm builds have room; a developer's warm checkout with space to spare keeps it.
if awk -v f="$(free_gb)" 'BEGIN { exit !(f < 8) }' && [ -d target/debug ]; then
  echo "   disk: only $(free_gb) GB free; removing target/debug ($(du -sh target/debug | cut -f1)) before the release builds"
  rm -rf target/debug
fi
step "release CLI" cargo build --locked --release -p acula-trainer
step "wasm build (trunk)" trunk build --release
step "librosa parity" "$(scripts/pyenv.sh)" tests/parity/run.py target/release/acula
step "teacher parity (numpy)" "$(scripts/pyenv.sh)" tests/parity/teacher.py target/release/acula \
  "$(scripts/fetch-models.sh minilm | tail -n 1)"
step "text side: search and labels (release CLI, MiniLM)" "$(scripts/pyenv.sh)" tests/release/text.py \
  target/release/acula "$(scripts/fetch-models.sh minilm | tail -n 1)"
step "encoder parity (numpy OPERA-GT)" "$(scripts/pyenv.sh)" tests/parity/encoder.py target/release/acula
step "AUROC parity (scikit-learn)" "$(scripts/pyenv.sh)" tests/parity/auroc.py target/release/acula
step "browser tests (Chromium)" node --test --test-reporter=spec tests/browser/
printf '\nall tests passed in %ds\n' $((SECONDS - start))
