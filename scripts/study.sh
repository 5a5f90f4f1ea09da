#!/usr/bin/env bash
# scripts/study.sh — one study end to end: run its grid at a tier, export CSV, draw its figures,
# report its claims (make study NAME=x TIER=t; make test runs it at tier smoke).
# usage: scripts/study.sh NAME TIER [RESULTS_DIR [PLOTS_DIR]] [-- study options...]
#   RESULTS_DIR defaults to results/NAME, PLOTS_DIR to plots/NAME (where the .gp files are).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 NAME TIER [RESULTS_DIR [PLOTS_DIR]] [-- study options]" >&2; exit 2; }
name=$1 tier=$2; shift 2
res=results/$name figs=plots/$name
if [ $# -gt 0 ] && [ "$1" != "--" ]; then res=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then figs=$1; shift; fi
[ "${1:-}" = "--" ] && shift
[ -x "bin/$name" ] || { echo "study: no program bin/$name (make bin/$name; studies: $(ls studies | sed -n 's/\.c$//p' | tr '\n' ' '))" >&2; exit 2; }
"bin/$name" --tier "$tier" --out "$res" "$@"
scripts/plots.sh "$name" "$tier" "$res" "$figs"
"bin/$name" --tier "$tier" --out "$res" --check
