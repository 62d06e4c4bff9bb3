#!/usr/bin/env bash
# Fuzzes the readers of untrusted bytes with cargo-fuzz (libFuzzer) on the nightly toolchain:
#   audio     decoding + resampling + log-mel from any bytes (every extension hint)
#   bundle    a model bundle whose manifest or one model file is replaced (checksum fixed up)
#   tables    .npy, CSV/TSV/whitespace tables, reports CSV + embeddings, JSON configuration
#   datasets  the dataset loaders on any metadata in each official layout
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=300] [TARGET...]   (no target = all four)
# Installs the nightly toolchain and cargo-fuzz 0.13.2 when missing. Seeds: fuzz/seeds/<target>/
# (committed); the corpus a run grows: $ACULA_CACHE/fuzz/corpus/<target>/ (outside the clone). A crash,
# a timeout (> 10 s for one input) or an allocation over 2 GB stops that target, is saved under
# fuzz/artifacts/<target>/ and makes the script exit 1; once fixed, copy the input into
# tests/fixtures/fuzz/<target>/ so that `cargo test` replays it for ever (fuzzing::tests).
# Prints one line per target: executions, executions per second, corpus entries, outcome.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(audio bundle tables datasets)
cache="${ACULA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/acula}"
say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*" >&2; }

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if ! cargo fuzz --version 2>/dev/null | grep -q '0.13.2'; then
  say "installing cargo-fuzz 0.13.2"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

declare -A max_len=([audio]=16384 [bundle]=131072 [tables]=8192 [datasets]=8192)
status=0
summary=()
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "error: unknown target $t (audio, bundle, tables, datasets)" >&2; exit 2; }
  corpus="$cache/fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  log="$cache/fuzz/$t.log"
  say "$t: ${seconds} s"
  rc=0
  t0=$SECONDS
  (cd fuzz && cargo +nightly fuzz run --sanitizer none -O "$t" "$corpus" "seeds/$t" -- \
    -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1) > "$log" 2>&1 || rc=$?
  # libFuzzer's own count of seconds spent fuzzing (without the build); the wall time when it stopped early.
  took=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -oE '[0-9]+ second' | grep -oE '[0-9]+' | tail -1)
  took=${took:-$((SECONDS - t0))}
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  entries=$(find "$corpus" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    outcome="no crash"
  else
    status=1
    outcome="FAILED (exit $rc): $(grep -m1 -E 'ERROR: libFuzzer|panicked at|==ERROR' "$log" || echo 'see the log') — input in fuzz/artifacts/$t/, log $log"
  fi
  summary+=("$t: ${runs:-0} inputs in ${took} s (${rate:-0}/s), corpus ${entries} files: ${outcome}")
done
printf '%s\n' "${summary[@]}"
exit "$status"
