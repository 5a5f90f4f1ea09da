#!/usr/bin/env bash
# scripts/plots.sh — a study's figures from its stored results alone: bin/repro export RESULTS_DIR
# (summary.csv and one CSV per run), then every plots/NAME/*.gp into FIGS_DIR/<figure>.png and .svg.
# usage: scripts/plots.sh NAME TIER [RESULTS_DIR [FIGS_DIR]]   (make plots: every study, tier cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 tier=$2 res=${3:-results/$1} figs=${4:-plots/$1}
if ! ls "$res"/*.h5 >/dev/null 2>&1; then echo "plots $name: no run files in $res; nothing to draw"; exit 0; fi
bin/repro export "$res" >/dev/null
mkdir -p "$figs"
for gp in plots/"$name"/*.gp; do
    [ -e "$gp" ] || continue
    fig=$(basename "$gp" .gp)
    gnuplot -e "dir='$res'; tier='$tier'; out='$figs/$fig'; published='results/published.csv'" "$gp"
    echo "plots $name: $figs/$fig.png, $figs/$fig.svg"
done
