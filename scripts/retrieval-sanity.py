#!/usr/bin/env python3
"""Quick sanity check of a bundle's joint space: screens 25 recordings of each training dataset with
`acula predict --json` and counts how often the nearest reports come from the recording's own dataset
(a cough should retrieve cough reports, a heart recording heart reports). Not the evaluation protocol
(that is `acula eval`); a smoke test of the alignment. Needs a release build and a recipe run folder.

Usage: scripts/retrieval-sanity.py [BUNDLE_DIR] [RUN_DIR]
       (defaults: www/models/default, runs/default)
"""
import glob
import json
import random
import subprocess
import sys

bundle = sys.argv[1] if len(sys.argv) > 1 else "www/models/default"
run = sys.argv[2] if len(sys.argv) > 2 else "runs/default"
sets = {
    "covid19-cough": sorted(glob.glob("../shared/data/covid19-cough/raw/*.mp3")),
    "kauh": sorted(glob.glob("../shared/data/kauh-subset/Audio Files/*.wav")),
    "icbhi": sorted(glob.glob(f"{run}/data/icbhi-synth/ICBHI_final_database/*.wav")),
    "circor": sorted(glob.glob(f"{run}/data/circor-synth/training_data/*.wav")),
}
rng = random.Random(0)
for name, files in sets.items():
    if not files:
        sys.exit(f"no recordings for {name}; run `acula train --recipe default` first")
    pick = rng.sample(files, min(25, len(files)))
    res = subprocess.run(
        ["target/release/acula", "predict", *pick, "--bundle", bundle, "--json", "--top-k", "5"],
        capture_output=True, text=True)
    if not res.stdout:
        sys.exit(f"acula predict failed: {res.stderr.strip()}")
    hit1 = hit5 = n = 0
    sims = []
    for o in json.loads(res.stdout):
        if not o.get("reports"):
            continue
        n += 1
        ds = [r["dataset"] for r in o["reports"]]
        sims.append(o["reports"][0]["similarity"])
        hit1 += ds[0].startswith(name[:4])
        hit5 += any(d.startswith(name[:4]) for d in ds)
    print(f"{name:14s} n={n:3d}  top-1 from the same dataset {hit1 / n:.2f}  top-5 {hit5 / n:.2f}  "
          f"mean top-1 similarity {sum(sims) / len(sims):.3f}")
