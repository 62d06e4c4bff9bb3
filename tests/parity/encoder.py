"""Parity of the Rust OPERA-GT encoder (`acula embed-audio`) with the NumPy reference
(tests/parity/opera_gt_reference.py) on the same random weights and real recordings.

Weights: random, seeded, written by the reference's `make-random` with the exact PyTorch state-dict
names and shapes (what a converted OPERA-GT checkpoint holds). Inputs: real recordings from
../shared/data — a 48 kHz messenger-bot cough, an 8 kHz call-centre cough and a KAUH lung sound (20 s:
two full 256-frame chunks and a shorter last one). Both sides start from the same features (`acula
features` writes them for the reference) and compute OPERA's clip embedding (chunks run alone at their
own length, then averaged).

The masked-autoencoder loss is compared too: gt-tiny encoder + plain decoder, random weights, 2 real
crops, the same masking noise on both sides (`acula mae-loss`, a hidden development command, against the
reference's `mae --decoder plain`); pass: relative difference ≤ 1e-5.

Configurations: gt-small (the published size) on the longest recording (two full chunks of 1,024
tokens and a shorter last one), and gt-tiny (the browser
default) on all three. Pass: max |Δ| ≤ 1e-4 on every clip embedding (issue 4). Exit status 1 on failure.
Usage: python tests/parity/encoder.py ACULA_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
REF = os.path.join(os.path.dirname(__file__), "opera_gt_reference.py")
LIMIT = 1e-4

# gt-tiny in the reference's key names (core/src/encoder.rs, EncoderConfig::gt_tiny).
GT_TINY_REF = dict(embed_dim=192, depth=6, num_heads=3, patch=[16, 8], frames=256, mels=64, mlp_ratio=4.0,
                   eps=1e-6, decoder_embed_dim=96, decoder_depth=2, decoder_num_heads=3, decoder="plain")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r


def main():
    acula = sys.argv[1]
    if not os.path.isdir(DATA):
        print(f"skipped: {DATA} is absent")
        return 0
    files = [
        os.path.join(DATA, "covid19-cough", "raw", "0e05534b-a78b-48c4-8010-90889d3d4a57.mp3"),
        os.path.join(DATA, "covid19-cough", "raw", sorted(os.listdir(os.path.join(DATA, "covid19-cough", "raw")))[1]),
        os.path.join(DATA, "kauh-subset", "Audio Files", "BP10_Asthma,E W,P R U,59,M.wav"),
    ]
    rows = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        feats = []
        for i, f in enumerate(files):
            out = os.path.join(tmp, f"f{i}.npy")
            run([acula, "features", f, "--out", out])
            feats.append(out)
        frames = [np.load(p).shape[0] for p in feats]
        longest = int(np.argmax(frames))
        tiny_cfg = os.path.join(tmp, "tiny.json")
        with open(tiny_cfg, "w") as fh:
            json.dump(GT_TINY_REF, fh)
        for name, ref_cfg, ours_cfg, which in [
            ("gt-small", "gt-small", "gt-small", [longest]),
            ("gt-tiny", tiny_cfg, "gt-tiny", [0, 1, 2]),
        ]:
            w = os.path.join(tmp, f"{name}.safetensors")
            run([sys.executable, REF, "make-random", w, "--config", ref_cfg, "--seed", "7", "--decoder", "none"])
            ours_out = os.path.join(tmp, f"{name}-ours.npy")
            run([acula, "embed-audio", *[files[i] for i in which], "--weights", w, "--encoder", ours_cfg,
                 "--out", ours_out])
            ours = np.load(ours_out)
            for row, i in enumerate(which):
                clip = np.load(feats[i])[None]
                inp = os.path.join(tmp, "clip.npy")
                np.save(inp, clip.astype(np.float32))
                ref_out = os.path.join(tmp, "ref.npy")
                run([sys.executable, REF, "embed", w, inp, ref_out, "--clip", "--config", ref_cfg])
                ref = np.load(ref_out).reshape(-1)
                d = float(np.abs(ours[row] - ref).max())
                worst = max(worst, d)
                rows.append(f"{name:9s} {os.path.basename(files[i])[:40]:40s} frames {frames[i]:4d}  max |Δ| {d:.2e}")
        # The MAE loss on two 256-frame crops of the long recording.
        w = os.path.join(tmp, "mae.safetensors")
        run([sys.executable, REF, "make-random", w, "--config", tiny_cfg, "--seed", "3", "--decoder", "plain"])
        feat = np.load(feats[longest]).astype(np.float32)
        x = np.stack([feat[:256], feat[256:512]])
        xin, noise_path, mae_json = (os.path.join(tmp, n) for n in ("x.npy", "noise.npy", "mae.json"))
        np.save(xin, x)
        np.save(noise_path, np.random.default_rng(5).random((2, 128)).astype(np.float32))
        dec = os.path.join(tmp, "dec.json")
        with open(dec, "w") as fh:
            json.dump({"decoder_dim": 96, "decoder_depth": 2, "decoder_heads": 3, "mask_ratio": 0.7}, fh)
        ours_loss = json.loads(run([acula, "mae-loss", "--weights", w, "--encoder", "gt-tiny", "--decoder", dec,
                                    "--input", xin, "--noise", noise_path]).stdout)["loss"]
        run([sys.executable, REF, "mae", w, xin, mae_json, "--noise", noise_path, "--decoder", "plain",
             "--config", tiny_cfg])
        with open(mae_json) as fh:
            ref_loss = json.load(fh)["loss"]
        rel = abs(ours_loss - ref_loss) / abs(ref_loss)
        rows.append(f"mae loss  gt-tiny + plain decoder: ours {ours_loss:.7f} reference {ref_loss:.7f} rel |Δ| {rel:.1e}")
    report = "\n".join(rows + [f"worst max |Δ| {worst:.2e} (limit {LIMIT}); MAE loss rel |Δ| {rel:.1e} (limit 1e-5)"])
    print(report)
    os.makedirs(os.path.join(ROOT, "tests", "artifacts"), exist_ok=True)
    with open(os.path.join(ROOT, "tests", "artifacts", "encoder-parity.txt"), "w") as fh:
        fh.write(report + "\n")
    return 0 if worst <= LIMIT and rel <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
