#!/usr/bin/env python3
"""Prepares the page's text tower: all-MiniLM-L6-v2 with its weights in f16, served from `www/text/`.

Usage: scripts/text-tower.py MINILM_DIR OUT_DIR

MINILM_DIR holds the published files (`config.json`, `model.safetensors`, `tokenizer.json`; see
scripts/fetch-models.sh). OUT_DIR gets the same three names, the weights narrowed to f16 (half the
bytes; the sentence vectors keep a cosine of 0.999999 with the f32 model's, see docs/bench/text.md),
and `tower.json`: what each file is (size, sha256) and the published files it was made from, so the
page can refuse a tower that does not belong to a bundle's text side (the manifest's
`text.encoder.files`). Standard library only; the output is byte-for-byte the same on every run.
Nothing half-written is left: OUT_DIR is written beside itself and renamed into place.
"""

import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
from array import array

FILES = ("config.json", "model.safetensors", "tokenizer.json")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry(path):
    return {"bytes": os.path.getsize(path), "sha256": sha256(path)}


def to_f16(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out_header, chunks, offset = {}, [], 0
    for name in sorted(k for k in header if k != "__metadata__"):
        t = header[name]
        start, end = t["data_offsets"]
        raw = body[start:end]
        if t["dtype"] == "F32":
            values = array("f")
            values.frombytes(raw)
            if sys.byteorder != "little":
                values.byteswap()
            raw = struct.pack(f"<{len(values)}e", *values)
            dtype = "F16"
        else:
            dtype = t["dtype"]
        out_header[name] = {"dtype": dtype, "shape": t["shape"], "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(out_header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: scripts/text-tower.py MINILM_DIR OUT_DIR")
    src, out = sys.argv[1], os.path.abspath(sys.argv[2])
    for name in FILES:
        if not os.path.isfile(os.path.join(src, name)):
            sys.exit(f"error: {src} has no {name}; run scripts/fetch-models.sh minilm first")
    source = {name: entry(os.path.join(src, name)) for name in FILES}
    old = os.path.join(out, "tower.json")
    if os.path.isfile(old):
        try:
            with open(old) as f:
                tower = json.load(f)
            done = tower.get("source") == source and all(
                os.path.isfile(os.path.join(out, n)) and entry(os.path.join(out, n)) == e
                for n, e in tower.get("files", {}).items()
            )
        except (OSError, ValueError):
            done = False
        if done:
            print(out)
            return
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".text-tower-", dir=parent)
    os.chmod(tmp, 0o755)
    try:
        shutil.copyfile(os.path.join(src, "config.json"), os.path.join(tmp, "config.json"))
        shutil.copyfile(os.path.join(src, "tokenizer.json"), os.path.join(tmp, "tokenizer.json"))
        to_f16(os.path.join(src, "model.safetensors"), os.path.join(tmp, "model.safetensors"))
        tower = {
            "id": "all-MiniLM-L6-v2",
            "weights": "f16",
            "source": source,
            "files": {name: entry(os.path.join(tmp, name)) for name in FILES},
        }
        with open(os.path.join(tmp, "tower.json"), "w") as f:
            json.dump(tower, f, indent=2, sort_keys=True)
            f.write("\n")
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(out)


if __name__ == "__main__":
    main()
