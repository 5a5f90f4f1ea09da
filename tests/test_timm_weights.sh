#!/usr/bin/env bash
# tests/test_timm_weights.sh — `make test`'s entry to tests/timm_weights.py: weights exported here
# load strictly in timm and give its logits, and timm's state dicts load here (see that file).
# Needs Debian's python3-torch and timm (make fixtures installs timm into build/pysite; PYSITE
# points elsewhere). Without them it prints a "skip" line and exits 0; it fails only on a mismatch.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
PYSITE=${PYSITE:-build/pysite}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "skip  timm weights: $PYTHON not found (make deps installs python3-torch)"
    exit 0
fi
PYTHONPATH="$PYSITE${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" tests/timm_weights.py "$@"
