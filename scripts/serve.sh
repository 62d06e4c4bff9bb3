#!/usr/bin/env bash
# Sets up what the page needs, builds it and serves it at http://127.0.0.1:${PORT:-8080}/ (Ctrl-C stops).
# HOST=0.0.0.0 serves it on every network interface too (a demo stand: phones on the same network open it
# by this computer's address; they record from the microphone only over HTTPS, a browser rule).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh web
export TRUNK_SKIP_VERSION_CHECK=true
# Trunk finds wasm-opt (npm's binaryen, Trunk.toml [tools]) on PATH.
export PATH="$root/node_modules/.bin:$PATH"
port="${PORT:-8080}"
host="${HOST:-127.0.0.1}"
trunk build --release
echo
echo "acula is served at http://${host}:${port}/  (Ctrl-C to stop)"
echo
exec trunk serve --release --address "$host" --port "$port" --no-autoreload
