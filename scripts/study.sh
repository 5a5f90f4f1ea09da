#!/usr/bin/env bash
# scripts/study.sh — one study end to end: run its grid at a tier, export CSV, draw its figures,
# report its claims, and compare the runs with the stored (committed) results and the published
# numbers (make study NAME=x TIER=t; make test runs it at tier smoke).
# usage: scripts/study.sh NAME TIER [RESULTS_DIR [PLOTS_DIR]] [-- study options...]
#   RESULTS_DIR defaults to runs/NAME (a rerun beside the committed results/NAME, which it never
#   touches; runs/ is not tracked), PLOTS_DIR to RESULTS_DIR/plots. To renew the committed results
#   themselves: scripts/study.sh NAME cpu results/NAME plots/NAME.
#   Study options: --force (start the runs over), --jobs N, --only PATTERN, ... (bin/NAME --help).
# SIGINT / SIGTERM are passed to the study, which stops its runs after their step (resumable).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
[ $# -ge 2 ] || { echo "usage: $0 NAME TIER [RESULTS_DIR [PLOTS_DIR]] [-- study options]" >&2; exit 2; }
name=$1 tier=$2; shift 2
res=runs/$name figs=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then res=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then figs=$1; shift; fi
[ "${1:-}" = "--" ] && shift
figs=${figs:-$res/plots}
[ -x "bin/$name" ] || { echo "study: no program bin/$name (make bin/$name; studies: $(ls studies | sed -n 's/\.c$//p' | tr '\n' ' '))" >&2; exit 2; }
# the study in the background, so that a signal to this script reaches it
"bin/$name" --tier "$tier" --out "$res" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' TERM
trap 'kill -INT $pid 2>/dev/null' INT
rc=0
wait $pid || rc=$?
while kill -0 $pid 2>/dev/null; do wait $pid || rc=$?; done # wait again after a trapped signal
trap - TERM INT
[ $rc -eq 0 ] || exit $rc
scripts/plots.sh "$name" "$tier" "$res" "$figs"
"bin/$name" --tier "$tier" --out "$res" --check
if [ "$res" != "results/$name" ]; then
    echo
    bin/repro verify "$name" --tier "$tier" --rerun "$res" --stored "results/$name"
fi
