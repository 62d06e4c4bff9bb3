#!/usr/bin/env bash
# Creates (once) the Python environment for the reference computations and prints its python path.
# The environment lives outside the clone, keyed by the requirements file's hash, so CI reuses it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/tests/python/requirements.txt"
cache="${ACULA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/acula}"
key="$(sha256sum "$req" | cut -c1-12)"
venv="$cache/venv-$key"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "creating the Python reference environment in $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
