#!/usr/bin/env bash
# Measures what `acula features` (the CLI's decode → resample → log-mel path, shared with `predict`) does
# with oversized and lying inputs, and its peak memory (max RSS, /usr/bin/time) for each. Writes the
# files into a temporary folder (sparse where they are mostly empty), prints a Markdown table.
# Usage: scripts/limits.sh   (after `cargo build --release -p acula-trainer`)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
acula="$root/target/release/acula"
[ -x "$acula" ] || { echo "error: build the CLI first: cargo build --release -p acula-trainer" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is needed (Debian package: time)" >&2; exit 2; }
py="$("$root/scripts/pyenv.sh")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$py" - "$tmp" <<'PY'
import struct, sys, pathlib
import numpy as np
import soundfile as sf
d = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(0)
def sig(n, rate, ch=1):
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)
    return np.repeat(x[:, None], ch, axis=1).astype(np.float32) if ch > 1 else x.astype(np.float32)
def header(channels, rate, bits, data_len, tag=1):
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", min(36 + data_len, 0xFFFFFFFF)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, tag, channels, rate, rate * block, block, bits)
            + b"data" + struct.pack("<I", min(data_len, 0xFFFFFFFF)))
# 2 hours, 8 kHz mono 16-bit WAV (115 MB, sparse zeros after a real start)
n = 2 * 3600 * 8000
p = d / "two-hours-8k.wav"
p.write_bytes(header(1, 8000, 16, n * 2) + (sig(8000, 8000) * 32767).astype("<i2").tobytes())
with open(p, "r+b") as f: f.truncate(44 + n * 2)
# 2 hours as FLAC (a real compressed stream: decoding must stop at the limit)
sf.write(d / "two-hours-8k.flac", sig(n, 8000), 8000, subtype="PCM_16")
# 1 GiB file of zeros after a WAV header claiming all of it (sparse)
p = d / "one-gib.wav"
p.write_bytes(header(1, 48000, 16, (1 << 30) - 44))
with open(p, "r+b") as f: f.truncate(1 << 30)
# a header claiming 4 GB over 1 s of samples
(d / "claims-4gb.wav").write_bytes(header(1, 16000, 16, 0xFFFFFFF0) + (sig(16000, 16000) * 32767).astype("<i2").tobytes())
# 6 channels at 192 kHz, 60 s (138 MB)
sf.write(d / "six-ch-192k-60s.wav", sig(192000 * 60, 192000, 6), 192000, subtype="PCM_16")
# 10 minutes, 48 kHz stereo 16-bit (115 MB): the longest accepted at a common rate
sf.write(d / "ten-min-48k-stereo.wav", sig(48000 * 600, 48000, 2), 48000, subtype="PCM_16")
PY

echo "| input | size on disk (apparent) | exit | outcome | peak memory (max RSS) |"
echo "|---|---|---|---|---|"
for f in two-hours-8k.wav two-hours-8k.flac one-gib.wav claims-4gb.wav six-ch-192k-60s.wav ten-min-48k-stereo.wav; do
  size=$(du -h --apparent-size "$tmp/$f" | cut -f1)
  rc=0
  /usr/bin/time -f '%M' -o "$tmp/rss" "$acula" features "$tmp/$f" --out "$tmp/out.npy" 2> "$tmp/err" || rc=$?
  rss_kb=$(tail -1 "$tmp/rss" | grep -o '^[0-9]*$' || echo 0)
  if [ "$rc" -eq 0 ]; then
    outcome="features written: $("$py" -c "import numpy, sys; print('x'.join(map(str, numpy.load(sys.argv[1]).shape)))" "$tmp/out.npy")"
  else
    outcome="$(grep -v '^Command exited' "$tmp/err" | head -1 | sed "s|$tmp/||g")"
  fi
  rm -f "$tmp/out.npy"
  echo "| $f | $size | $rc | $outcome | $((rss_kb / 1024)) MB |"
done
