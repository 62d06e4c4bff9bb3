#!/usr/bin/env bash
# Reproduces EVALUATION.md's numbers on this machine:
#  1. the default recipe (pre-training, InfoNCE alignment on every recording, the bundle; skipped when
#     done, resumed when interrupted);
#  2. `acula holdout`: the reports without the recordings the evaluation validates or tests on;
#  3. six alignments on those held-out pairs only — InfoNCE, released CKA, linear CKA, InfoNCE without
#     the MAE term, InfoNCE with the SmolLM2-135M teacher instead of MiniLM, and InfoNCE on reports that
#     do not say how the recording was made (`acula reports --no-acquisition`: no cough channel, no
#     stethoscope model or filter) — from the same pre-trained encoder with the recipe's configuration,
#     for 480 steps (the recipe's ~15 passes over the data; each run resumed when interrupted, skipped
#     when done; the last two are left out with EXTRA=0);
#  4. `acula eval` of every representation on every task in one run (same recordings, same splits),
#     with retrieval and zero-shot classification in each alignment's joint space; the results are also
#     written into the default bundle's manifest (its `evaluation`; the bundle's files are untouched).
#
# Usage: [EXTRA=0] scripts/evaluate.sh [DATA=../shared/data] [RUNS=runs/default] [OUT=runs/eval] [BUNDLE=www/models/default]
# EXTRA=0 leaves out the SmolLM2-teacher and no-acquisition ablations (their two rows): from scratch the
# run then takes about 1 h 55 min on this 2-core machine instead of about 2 h 30 min; the other rows are
# the same numbers either way (every representation is evaluated on the same fixed splits and seeds).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
data="${1:-../shared/data}"
runs="${2:-runs/default}"
out="${3:-runs/eval}"
bundle="${4:-www/models/default}"
extra="${EXTRA:-1}"
acula=target/release/acula
start=$SECONDS
cargo build --locked --release -p acula-trainer
"$acula" train --recipe default --data "$data" --out "$runs"
scripts/fetch-models.sh minilm smollm2 >/dev/null

tasks=(
  --task "$data/covid19-cough:covid"
  --task "$data/covid19-cough:covid:Recorded by=telephone call centre"
  --task "$data/covid19-cough:covid:Recorded by=messenger bot"
  --task "$data/kauh-subset:obstructive"
  --task "$runs/data/icbhi-synth:copd"
  --task "$runs/data/icbhi-synth:cycle"
  --task "$runs/data/circor-synth:murmur"
)
"$acula" holdout "${tasks[@]}" --reports "$runs/reports/all.csv" \
  --embeddings "$runs/reports/all-minilm.npy" --out "$runs/holdout"
if [ "$extra" = 1 ]; then
  # The same held-out reports embedded by the causal teacher (cached per text: quick on a rerun).
  "$acula" embed-reports "$runs/holdout/reports.csv" --teacher smollm2 --out "$runs/holdout/smollm2"
  # The recipe's reports again, without acquisition details, and their held-out part (same recordings).
  noacq="$runs/reports-noacq"
  mkdir -p "$noacq"
  csvs=()
  for set in "$data/covid19-cough" "$data/kauh-subset" "$runs/data/icbhi-synth" "$runs/data/circor-synth"; do
    csvs+=("$noacq/${set##*/}.csv")
    "$acula" reports "$set" --with-audio --no-acquisition --out "${csvs[-1]}"
  done
  awk 'FNR > 1 || NR == 1' "${csvs[@]}" > "$noacq/all.csv.tmp" && mv "$noacq/all.csv.tmp" "$noacq/all.csv"
  "$acula" embed-reports "$noacq/all.csv" --out "$noacq/all-minilm"
  "$acula" holdout "${tasks[@]}" --reports "$noacq/all.csv" --embeddings "$noacq/all-minilm.npy" \
    --out "$runs/holdout-noacq"
fi

# One alignment on the held-out pairs: same teacher, initialisation and configuration as the recipe's.
align() {
  local dir="$runs/$1"; shift
  if [ -f "$dir/encoder.bpk" ]; then
    echo "[eval] $dir: done"
    return
  fi
  local resume=()
  [ -d "$dir/checkpoints" ] && resume=(--resume)
  local pairs="$runs/holdout/reports.csv" emb="$runs/holdout/embeddings.npy"
  case "$1" in
    --pairs) pairs="$2"; emb="$3"; shift 3 ;;
  esac
  "$acula" align "$pairs" --embeddings "$emb" \
    --init "$runs/pretrain" --steps 480 --out "$dir" "$@" "${resume[@]}"
}
align align-holdout --config "$runs/align.json"
align align-holdout-released-cka --config "$runs/align.json" --loss released-cka
align align-holdout-linear-cka --config "$runs/align.json" --loss linear-cka
sed 's/"lambda_mae": [0-9.]*/"lambda_mae": 0.0/' "$runs/align.json" > "$runs/align-no-mae.json"
align align-holdout-no-mae --config "$runs/align-no-mae.json"
extra_models=()
extra_retrieval=()
if [ "$extra" = 1 ]; then
  align align-holdout-smollm2 --pairs "$runs/holdout/reports.csv" "$runs/holdout/smollm2.npy" \
    --config "$runs/align.json"
  align align-holdout-noacq --pairs "$runs/holdout-noacq/reports.csv" "$runs/holdout-noacq/embeddings.npy" \
    --config "$runs/align.json"
  extra_models=(
    --model "AcuLa, InfoNCE, SmolLM2 teacher=$runs/align-holdout-smollm2"
    --model "AcuLa, InfoNCE, reports without acquisition=$runs/align-holdout-noacq"
  )
  extra_retrieval=(--retrieval "InfoNCE, reports without acquisition=$runs/align-holdout-noacq")
fi

"$acula" eval --out "$out" "${tasks[@]}" \
  --model "hand-crafted (log-mel + MFCC statistics)=handcrafted" \
  --model "encoder, random initialisation=random:gt-tiny" \
  --model "MAE pre-training only=$runs/pretrain" \
  --model "AcuLa, released CKA=$runs/align-holdout-released-cka" \
  --model "AcuLa, linear CKA=$runs/align-holdout-linear-cka" \
  --model "AcuLa, InfoNCE=$runs/align-holdout" \
  --model "AcuLa, InfoNCE without MAE=$runs/align-holdout-no-mae" \
  "${extra_models[@]}" \
  --model "bundle: InfoNCE on all recordings (saw the test reports)=$runs/align" \
  --retrieval "released CKA=$runs/align-holdout-released-cka" \
  --retrieval "linear CKA=$runs/align-holdout-linear-cka" \
  --retrieval "InfoNCE=$runs/align-holdout" \
  --retrieval "InfoNCE without MAE=$runs/align-holdout-no-mae" \
  "${extra_retrieval[@]}" \
  --retrieval "bundle (saw the test reports)=$runs/align" \
  --reports "$runs/reports/all.csv" --embeddings "$runs/reports/all-minilm.npy" \
  --bundle "$bundle"
echo "[eval] all done in $(( (SECONDS - start) / 60 )) min; results in $out/results.md"
