#!/usr/bin/env bash
# Sets up everything and runs every test: format, clippy (warnings are errors), unit and integration
# tests, the wasm build, librosa parity, and the browser tests in headless Chromium and Firefox.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export TRUNK_SKIP_VERSION_CHECK=true
# Trunk finds wasm-opt (npm's binaryen, Trunk.toml [tools]) on PATH.
export PATH="$root/node_modules/.bin:$PATH"
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
# The page's own module is built without the model (www/index.html): check that build as well.
step "clippy (page module without the model, wasm32)" cargo clippy --locked -p acula-app --no-default-features --target wasm32-unknown-unknown -- -D warnings
# Tests and the CLI they drive are built once, in the `ci` profile (Cargo.toml): release code generation
# with debug assertions and overflow checks on in our own crates. A debug build of every dependency and a
# second, release one are not both compiled, and the end-to-end tests run at release speed. The CLI the
# later steps use is the one these tests built and ran (target/ci/acula; a separate `cargo build -p
# acula-trainer` would unify features without the dev-dependencies and compile everything again).
step "unit and integration tests (ci profile)" cargo test --locked --profile ci
acula=target/ci/acula
[ -x "$acula" ] || { echo "error: $acula was not built by the tests" >&2; exit 1; }
step "app unit tests (native)" cargo test --locked -p acula-app
step "GPU backends compile (wgpu, cuda)" env DOCS_RS=1 cargo check --locked -p acula-trainer --features wgpu,cuda
# The debug build is not needed past this point. Where the disk is short (a CI machine), drop it so the
# wasm build has room; a developer's warm checkout with space to spare keeps it.
if awk -v f="$(free_gb)" 'BEGIN { exit !(f < 8) }' && [ -d target/debug ]; then
  echo "   disk: only $(free_gb) GB free; removing target/debug ($(du -sh target/debug | cut -f1)) before the wasm build"
  rm -rf target/debug
fi
step "wasm build (trunk)" trunk build --release
step "librosa parity" "$(scripts/pyenv.sh)" tests/parity/run.py "$acula"
step "teacher parity (numpy)" "$(scripts/pyenv.sh)" tests/parity/teacher.py "$acula" \
  "$(scripts/fetch-models.sh minilm | tail -n 1)"
step "text side: search and labels (CLI, MiniLM)" "$(scripts/pyenv.sh)" tests/release/text.py \
  "$acula" "$(scripts/fetch-models.sh minilm | tail -n 1)"
step "encoder parity (numpy OPERA-GT)" "$(scripts/pyenv.sh)" tests/parity/encoder.py "$acula"
step "AUROC parity (scikit-learn)" "$(scripts/pyenv.sh)" tests/parity/auroc.py "$acula"
step "browser tests (Chromium, Firefox)" env ACULA_BIN="$root/$acula" node --test --test-reporter=spec tests/browser/
printf '\nall tests passed in %ds\n' $((SECONDS - start))
