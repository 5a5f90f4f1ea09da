#!/usr/bin/env bash
# scripts/plots.sh — a study's figures from its stored results alone: bin/repro export RESULTS_DIR
# (summary.csv and one CSV per run), then every plots/NAME/*.gp into FIGS_DIR/<figure>.png and .svg.
# usage: scripts/plots.sh NAME TIER [RESULTS_DIR [FIGS_DIR]]   (make plots: every study, tier cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: $0 NAME TIER [RESULTS_DIR [FIGS_DIR]]   (studies: $(ls studies | sed -n 's/\.c$//p' | tr '\n' ' '))"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
    echo "$usage"
    exit 0
fi
[ $# -ge 2 ] && [ $# -le 4 ] || { echo "$usage" >&2; exit 2; }
[ -f "studies/$1.c" ] || { echo "plots: unknown study '$1'; $usage" >&2; exit 2; }
case $2 in smoke|cpu|paper) ;; *) echo "plots: tier '$2': expected smoke, cpu or paper" >&2; exit 2;; esac
name=$1 tier=$2 res=${3:-results/$1} figs=${4:-plots/$1}
if ! ls "$res"/*.h5 >/dev/null 2>&1; then echo "plots $name: no run files in $res; nothing to draw"; exit 0; fi
bin/repro export "$res" >/dev/null
# the data set the tier's runs trained on (points.csv's dataset column), by its usual name
ds=$(awk -F, -v t="\"$tier\"" '$1 == t { gsub(/"/, "", $NF); print $NF; exit }' "$res/points.csv")
case $ds in fmnist) data=Fashion-MNIST;; cifar10) data=CIFAR-10;; cifar100) data=CIFAR-100;;
    imagenette) data=Imagenette;; imagenet) data=ImageNet;; *) data=${ds:-"no data"};; esac
mkdir -p "$figs"
for gp in plots/"$name"/*.gp; do
    [ -e "$gp" ] || continue
    fig=$(basename "$gp" .gp)
    # a grid point not (yet) run is a gap in the figure, not a problem: gnuplot says so per lookup
    gnuplot -e "dir='$res'; tier='$tier'; out='$figs/$fig'; published='results/published.csv'; data='$data'" "$gp" \
        2> >(grep -v "No valid data points found" >&2)
    echo "plots $name: $figs/$fig.png, $figs/$fig.svg"
done
