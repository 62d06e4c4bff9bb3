#!/usr/bin/env bash
# Creates (once) a Python environment and prints its python path: the reference computations' (no
# argument: tests/python/requirements.txt) or the benchmarks' (`bench`: requirements-bench.txt, which
# adds PyTorch). Environments live outside the clone, keyed by the requirements files' hash, so CI reuses them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
  "") req="$root/tests/python/requirements.txt"; name=venv ;;
  bench) req="$root/tests/python/requirements-bench.txt"; name=venv-bench ;;
  *) echo "usage: scripts/pyenv.sh [bench]" >&2; exit 2 ;;
esac
cache="${ACULA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/acula}"
key="$(cat "$req" "$root/tests/python/requirements.txt" | sha256sum | cut -c1-12)"
[ "$name" = venv ] && key="$(sha256sum "$req" | cut -c1-12)"
venv="$cache/$name-$key"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "creating the Python environment in $venv (once)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
