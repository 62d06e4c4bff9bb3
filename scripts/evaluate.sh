#!/usr/bin/env bash
# Reproduces EVALUATION.md's numbers on this machine: the default recipe's runs (pre-training and
# InfoNCE alignment, skipped when done), the ablation alignments (released CKA, linear CKA, InfoNCE
# without the MAE term; each resumed when interrupted, skipped when done), then `acula eval` of every
# representation on every task in one run (same recordings, same splits).
#
# Usage: scripts/evaluate.sh [DATA=../shared/data] [RUNS=runs/default] [OUT=runs/eval]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
data="${1:-../shared/data}"
runs="${2:-runs/default}"
out="${3:-runs/eval}"
acula=target/release/acula
start=$SECONDS
cargo build --locked --release -p acula-trainer
"$acula" train --recipe default --data "$data" --out "$runs"

# One ablation alignment: same data, teacher, schedule and initialisation as the recipe's.
ablation() {
  local name="$1"; shift
  local dir="$runs/align-$name"
  if [ -f "$dir/encoder.bpk" ]; then
    echo "[eval] $dir: done"
    return
  fi
  local resume=()
  [ -d "$dir/checkpoints" ] && resume=(--resume)
  "$acula" align "$runs/reports/all.csv" --embeddings "$runs/reports/all-minilm.npy" \
    --init "$runs/pretrain" --out "$dir" "$@" "${resume[@]}"
}
ablation released-cka --config "$runs/align.json" --loss released-cka
ablation linear-cka --config "$runs/align.json" --loss linear-cka
sed 's/"lambda_mae": [0-9.]*/"lambda_mae": 0.0/' "$runs/align.json" > "$runs/align-no-mae.json"
ablation no-mae --config "$runs/align-no-mae.json"

"$acula" eval --out "$out" \
  --model "hand-crafted (log-mel + MFCC statistics)=handcrafted" \
  --model "encoder, random initialisation=random:gt-tiny" \
  --model "MAE pre-training only=$runs/pretrain" \
  --model "AcuLa, released CKA=$runs/align-released-cka" \
  --model "AcuLa, linear CKA=$runs/align-linear-cka" \
  --model "AcuLa, InfoNCE (default)=$runs/align" \
  --model "AcuLa, InfoNCE without MAE=$runs/align-no-mae" \
  --retrieval "released CKA=$runs/align-released-cka" \
  --retrieval "linear CKA=$runs/align-linear-cka" \
  --retrieval "InfoNCE=$runs/align" \
  --retrieval "InfoNCE without MAE=$runs/align-no-mae" \
  --reports "$runs/reports/all.csv" --embeddings "$runs/reports/all-minilm.npy" \
  --task "$data/covid19-cough:covid" \
  --task "$data/covid19-cough:covid:Recorded by=telephone call centre" \
  --task "$data/covid19-cough:covid:Recorded by=messenger bot" \
  --task "$data/kauh-subset:obstructive" \
  --task "$runs/data/icbhi-synth:copd" \
  --task "$runs/data/icbhi-synth:cycle" \
  --task "$runs/data/circor-synth:murmur"
echo "[eval] all done in $(( (SECONDS - start) / 60 )) min; results in $out/results.md"
