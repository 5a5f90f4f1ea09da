#!/usr/bin/env bash
# scripts/train_teachers.sh — the Fashion-MNIST networks a distilling recipe loads from a file:
#   results/teachers/fmnist_resnet56_r48.safetensors  GhostNetV3's teacher at its student's 48 px (ghostnetv3_cpu)
#   results/teachers/fmnist_resnet20.safetensors      ResNet-20, -56, -110 (10 epochs): teachers or start
#   results/teachers/fmnist_resnet56.safetensors      weights for ad-hoc distillation runs on Fashion-MNIST
#   results/teachers/fmnist_resnet110.safetensors     (meal_v2_cpu reads its study's runs instead: @NAME)
# Each is recipes/fmnist_resnet20.recipe (10 epochs, SGD, cosine; ~93% for ResNet-20) with the model
# and resolution changed, trained by `repro train` into results/teachers/ and its checkpoint copied
# to the name above (weights, EMA and optimizer state: distill.teachers and model.weights read the
# weights). A teacher whose file exists is kept. About 10 + 30 + 60 + 90 minutes on 2 cores.
# Usage: scripts/train_teachers.sh [NAME ...]   (default: all four; NAME as in the list, no suffix)
# Environment: OUT (default results/teachers), EXTRA ("section.key=value ..." added to every run:
# a smoke check, e.g. EXTRA="train.max_steps=2 data.train_limit=256 data.eval_limit=100").
set -eu
cd "$(dirname "$0")/.."
REPRO=${REPRO:-./bin/repro}
OUT=${OUT:-results/teachers}
mkdir -p "$OUT"

# teacher NAME SET...: trains fmnist_resnet20.recipe with the overrides, copies its checkpoint
teacher() {
    local name=$1
    shift
    local dest="$OUT/$name.safetensors"
    if [ -e "$dest" ]; then echo "$dest: present, kept"; return; fi
    local sets=() kv
    for kv in "$@" ${EXTRA:-}; do sets+=(--set "$kv"); done
    "$REPRO" train --recipe recipes/fmnist_resnet20.recipe "${sets[@]}" --out "$OUT/runs" --resume | tee "$OUT/$name.log"
    local id
    id=$(sed -n 's/^run file: .*(run id \([0-9a-f]*\),.*/\1/p; s/^train: .*\/\([0-9a-f]*\)\.h5 is done already.*/\1/p' \
         "$OUT/$name.log" | head -1)
    [ -n "$id" ] && [ -e "$OUT/runs/$id.safetensors" ] || { echo "$name: no checkpoint (see $OUT/$name.log)" >&2; exit 1; }
    cp "$OUT/runs/$id.safetensors" "$dest.tmp" && mv "$dest.tmp" "$dest"
    echo "$dest: from run $id"
}

want=${*:-fmnist_resnet20 fmnist_resnet56 fmnist_resnet110 fmnist_resnet56_r48}
for name in $want; do
    case $name in
    fmnist_resnet20) teacher "$name" model.name=resnet20 ;;
    fmnist_resnet56) teacher "$name" model.name=resnet56 ;;
    fmnist_resnet110) teacher "$name" model.name=resnet110 ;;
    fmnist_resnet56_r48) teacher "$name" model.name=resnet56 model.res=48 ;;
    *) echo "unknown teacher '$name' (valid: fmnist_resnet20 fmnist_resnet56 fmnist_resnet110 fmnist_resnet56_r48)" >&2; exit 2 ;;
    esac
done
