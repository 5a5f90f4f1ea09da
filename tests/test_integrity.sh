#!/usr/bin/env bash
# tests/test_integrity.sh — nothing silently wrong: damaged files, stray signals, interrupted and
# resumed runs, and commands that agree on what a checkpoint is.
#   checkpoints: one flipped bit in a tensor's bytes, and a NaN batch-norm variance written with a
#     valid checksum, each refused by --resume (the run is not finished on them) and by eval,
#     naming the tensor;
#   run files: a truncated one and one with a changed byte make export, check, a study's run and
#     its claims exit non-zero naming the file, and summary.csv is left as it was;
#   signals: SIGTERM to a study stops its training child (no orphan), marks the run interrupted,
#     exits 143, and the same command then finishes the study; SIGTERM to repro train likewise;
#   resume: after a kill, /final wall_s sums both segments (and the run file lists them);
#   eval without --recipe on a checkpoint of a non-default recipe scores as its run did;
#   input: an empty recipe, per-channel values that do not fit the channels, numbers out of a
#     float's range, a negative seed, scripts/plots.sh --help;
#   figures: redrawing the committed figures from the committed results changes no byte.
# Prints one line per case ("ok"/"FAIL") and a summary; exits non-zero when a case failed.
set -u
cd "$(dirname "$0")/.."
REPRO=${REPRO:-./bin/repro}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
ok()   { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }
status_of() { h5dump -a status "$1" 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p'; }
export OMP_NUM_THREADS=1

RECIPE=recipes/fmnist_resnet20.recipe
# a small run of a recipe that is not the defaults: half width, other normalization
tiny=(--set data.train_limit=512 --set data.eval_limit=200 --set train.eval_batch=200 --set train.batch=64
      --set train.epochs=3 --set model.width=0.5 --set data.mean=0.5 --set data.std=0.25)

# ---- a run killed in its third epoch (after the second epoch's checkpoint), then resumed
(REPRO_KILL_AT_STEP=18 "$REPRO" train --recipe $RECIPE --out "$TMP/k" "${tiny[@]}" >"$TMP/k.log" 2>&1; true) 2>/dev/null
h5=$(ls "$TMP"/k/*.h5 2>/dev/null | head -1)
ckpt=${h5%.h5}.safetensors
if [ -z "$h5" ] || [ ! -f "$ckpt" ]; then
    fail "killed run leaves a run file and a checkpoint" "$(tail -3 "$TMP/k.log")"
else
    cp "$ckpt" "$TMP/good.safetensors"
    # one flipped bit in the data of a tensor: the first weight's 100th byte
    cp "$ckpt" "$TMP/flipped.safetensors"
    $PY - "$TMP/flipped.safetensors" >/dev/null <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
name = next(k for k in h if k != "__metadata__" and not k.startswith(("optimizer.", "ema.", "log.")))
b[8 + n + h[name]["data_offsets"][0] + 100] ^= 0x10
open(sys.argv[1], "wb").write(b)
print(name)
PY
    # a NaN in a batch-norm running variance, the file's checksums recomputed (a file that is
    # intact as bytes, but holds a number no run can go on from)
    $PY - "$TMP/good.safetensors" "$TMP/nan.safetensors" <<'PY'
import json, struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
name = next(k for k in h if k.endswith("running_var") and not k.startswith(("optimizer.", "ema.")))
o = 8 + n + h[name]["data_offsets"][0]
b[o + 4:o + 8] = struct.pack("<f", float("nan"))
lo, hi = h[name]["data_offsets"]
h["__metadata__"]["crc32." + name] = "%08x" % zlib.crc32(bytes(b[8 + n + lo:8 + n + hi]))
hdr = json.dumps(h, separators=(",", ":")).encode()
hdr += b" " * (-len(hdr) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(hdr)) + hdr + b[8 + n:])
PY
    # a run file altered by hand, then a failed resume: its status is not set by signing the file anew
    cp "$h5" "$TMP/k_good.h5"
    $PY - "$h5" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"eval_batch = ")
b[i + 13] = ord("7") if b[i + 13] != ord("7") else ord("8")
open(sys.argv[1], "wb").write(b)
PY
    cp "$TMP/flipped.safetensors" "$ckpt"
    "$REPRO" train --recipe $RECIPE --out "$TMP/k" "${tiny[@]}" --resume >/dev/null 2>&1
    if "$REPRO" export "$TMP/k" >/dev/null 2>"$TMP/e"; then
        fail "a damaged run file is never signed anew" "export accepts it after a failed resume set its status"
    else
        ok "a damaged run file is never signed anew (a failed resume leaves it failing its checksum)"
    fi
    cp "$TMP/k_good.h5" "$h5"
    for bad in flipped nan; do
        want=$([ $bad = flipped ] && echo "is damaged: its bytes have CRC-32" || echo "running_var holds nan")
        cp "$TMP/$bad.safetensors" "$ckpt"
        "$REPRO" train --recipe $RECIPE --out "$TMP/k" "${tiny[@]}" --resume >"$TMP/r.log" 2>&1
        rc=$?
        st=$(status_of "$h5")
        if [ $rc -ne 0 ] && [ "$st" != done ] && grep -q "$want" "$TMP/r.log"; then
            ok "resume refuses a checkpoint with a $bad tensor ($(grep -m1 error "$TMP/r.log" | cut -c1-150))"
        else
            fail "resume refuses a checkpoint with a $bad tensor" "rc $rc, status $st: $(tail -2 "$TMP/r.log")"
        fi
        "$REPRO" eval --weights "$TMP/$bad.safetensors" >"$TMP/e.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ] && grep -q "$want" "$TMP/e.log" && ! grep -q 'top-1' "$TMP/e.log"; then
            ok "eval refuses a checkpoint with a $bad tensor"
        else
            fail "eval refuses a checkpoint with a $bad tensor" "rc $rc: $(tail -2 "$TMP/e.log")"
        fi
    done
    # the intact checkpoint resumes, and the run's wall time sums both segments
    cp "$TMP/good.safetensors" "$ckpt"
    if "$REPRO" train --recipe $RECIPE --out "$TMP/k" "${tiny[@]}" --resume >"$TMP/r.log" 2>&1 &&
        $PY - "$h5" <<'PY'
import h5py, sys
f = h5py.File(sys.argv[1], "r")
segs = f.attrs["segments"].decode().strip().split("\n")
assert len(segs) == 2, segs
secs = [float(s.split("seconds=")[1]) for s in segs]
wall = f["final"].attrs["wall_s"]
assert abs(wall - sum(secs)) < 0.01 and wall > secs[1] + 0.2 * secs[0], (wall, secs)
# each epoch's seconds is within the segments' time
assert sum(f["epochs"]["seconds"]) <= wall + 0.01, (wall, list(f["epochs"]["seconds"]))
assert [s.split()[4] for s in segs] == ["epochs=1-2", "epochs=3-3"], segs
PY
    then
        ok "wall_s after a resume sums both segments ($($PY -c "import h5py,sys; f=h5py.File(sys.argv[1]); print('%.2f s' % f['final'].attrs['wall_s'])" "$h5"))"
    else
        fail "wall_s after a resume sums both segments" "$(tail -3 "$TMP/r.log")"
    fi
    # eval without --recipe scores the checkpoint as its run did (its stored recipe)
    run_top1=$($PY -c "import h5py,sys; f=h5py.File(sys.argv[1]); print('%.2f' % f['final'].attrs['top1'])" "$h5")
    ev=$("$REPRO" eval --weights "$ckpt" 2>&1)
    ev_top1=$(echo "$ev" | sed -n 's/^eval: top-1 \([0-9.]*\)%.*/\1/p')
    if [ -n "$ev_top1" ] && [ "$ev_top1" = "$run_top1" ] && echo "$ev" | grep -q "recipe stored in"; then
        ok "eval without --recipe scores as the run did (top-1 $ev_top1% = the run's $run_top1%)"
    else
        fail "eval without --recipe scores as the run did" "eval '$ev_top1', run '$run_top1': $(echo "$ev" | tail -2)"
    fi
fi

# ---- SIGTERM to repro train: interrupted, resumable
"$REPRO" train --recipe $RECIPE --out "$TMP/t" "${tiny[@]}" --set train.epochs=40 >"$TMP/t.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q '^epoch 1/40 ' "$TMP/t.log" && break; sleep 0.1; done
kill -TERM $pid
wait $pid
rc=$?
h5=$(ls "$TMP"/t/*.h5 2>/dev/null | head -1)
if [ $rc -ne 0 ] && [ -n "$h5" ] && [ "$(status_of "$h5")" = interrupted ]; then
    ok "SIGTERM to train: status interrupted ($(grep -m1 'interrupted at' "$TMP/t.log" | cut -c1-100))"
else
    fail "SIGTERM to train" "rc $rc, status '$(status_of "${h5:-none}")': $(tail -2 "$TMP/t.log")"
fi

# ---- SIGTERM to a study: forwarded, no orphan, interrupted, resumable
study_args=(--tier smoke --out "$TMP/st" --set train.epochs=6 --set data.train_limit=512)
./bin/re_fmnist "${study_args[@]}" >"$TMP/st.log" 2>&1 &
pid=$!
for _ in $(seq 200); do ls "$TMP"/st/*.h5 >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
kill -TERM $pid
wait $pid
rc=$?
sleep 0.5
left=$(pgrep -f "re_fmnist --tier smoke --out $TMP/st" | wc -l)
st=$(status_of "$(ls "$TMP"/st/*.h5 | head -1)")
if [ $rc -eq 143 ] && [ "$left" -eq 0 ] && [ "$st" = interrupted ]; then
    ok "SIGTERM to a study: exit 143, no orphan, run interrupted"
else
    fail "SIGTERM to a study" "rc $rc, $left processes left, status '$st': $(tail -3 "$TMP/st.log")"
fi
pkill -f "re_fmnist --tier smoke --out $TMP/st" 2>/dev/null
# Ctrl-C at a terminal signals the runner's whole process group: each run still stops once, after
# its step (its own line), not killed in the middle by the runner's forwarded copy
setsid ./bin/re_fmnist --tier smoke --out "$TMP/cc" --set train.epochs=6 --set data.train_limit=512 >"$TMP/cc.log" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q '^epoch 1/6 step' "$TMP"/cc/*.log "$TMP/cc.log" 2>/dev/null && break; ls "$TMP"/cc/*.h5 >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1.5
kill -INT -- -$pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && grep -q 'train: interrupted at epoch' "$TMP/cc.log" &&
    [ "$(status_of "$(ls "$TMP"/cc/*.h5 | head -1)")" = interrupted ]; then
    ok "Ctrl-C to the study's process group: exit 130, the run stopped after its step"
else
    fail "Ctrl-C to the study's process group" "rc $rc: $(tail -4 "$TMP/cc.log")"
fi
if ./bin/re_fmnist "${study_args[@]}" >"$TMP/st2.log" 2>&1 && grep -q 'resuming' "$TMP/st2.log" &&
    [ "$(grep -c ': done in' "$TMP/st2.log")" -eq 2 ]; then
    ok "the same command resumes the interrupted study"
else
    fail "the same command resumes the interrupted study" "$(tail -3 "$TMP/st2.log")"
fi

# ---- damaged run files: export, check, the study and its claims say so and exit non-zero
./bin/re_fmnist --tier smoke --out "$TMP/ok" >/dev/null 2>&1
for damage in truncated altered; do
    d=$TMP/$damage/re_fmnist
    mkdir -p "$d"
    cp "$TMP"/ok/*.h5 "$d/"
    "$REPRO" export "$d" >/dev/null 2>&1
    cp "$d/summary.csv" "$TMP/summary.before"
    f=$(ls "$d"/*.h5 | head -1)
    if [ $damage = truncated ]; then
        truncate -s 2000 "$f"
    else # one character of the stored recipe text changed: HDF5 reads it, the checksum does not match
        $PY - "$f" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"eval_batch = ")
b[i + 13] = ord("7") if b[i + 13] != ord("7") else ord("8")
open(sys.argv[1], "wb").write(b)
PY
    fi
    name=$(basename "$f")
    for cmd in export check study claims; do
        case $cmd in
            export) "$REPRO" export "$d" ;;
            check) "$REPRO" check --results "$TMP/$damage" ;;
            study) ./bin/re_fmnist --tier smoke --out "$d" ;;
            claims) ./bin/re_fmnist --tier smoke --out "$d" --check ;;
        esac >"$TMP/o" 2>"$TMP/e"
        rc=$?
        if [ $rc -ne 0 ] && grep -q "$name" "$TMP/e" && cmp -s "$d/summary.csv" "$TMP/summary.before"; then
            ok "$damage run file: $cmd exits $rc naming it ($(grep -m1 "$name" "$TMP/e" | cut -c1-110))"
        else
            fail "$damage run file: $cmd" "rc $rc: $(head -c 300 "$TMP/e")"
        fi
    done
done

# ---- repro verify without a rerun: an error, not "0 points compared"
"$REPRO" verify re_fmnist --rerun "$TMP/nothing" >/dev/null 2>"$TMP/e"
rc=$?
[ $rc -eq 1 ] && grep -q 'holds no done run' "$TMP/e" && ok "verify without a rerun: exit 1 ($(cut -c1-90 "$TMP/e"))" ||
    fail "verify without a rerun" "rc $rc: $(cat "$TMP/e")"

# ---- input
printf '# a recipe with comments only\n\n[model]\n' >"$TMP/empty.recipe"
for c in "empty recipe|holds no key = value line|$TMP/empty.recipe|" \
         "mean of 2 values on 1 channel|data.mean has 2 values, but model.in_chans = 1|$RECIPE|data.mean=0.1,0.2" \
         "width 1e-300|out of range (too large or too small for a float)|$RECIPE|model.width=1e-300" \
         "label smoothing 1e400|out of range (too large or too small for a float)|$RECIPE|train.label_smoothing=1e400" \
         "seed -1|expected a non-negative integer (0 .. 18446744073709551615)|$RECIPE|train.seed=-1"; do
    IFS='|' read -r what want file set <<<"$c"
    args=(recipe --check "$file")
    [ -n "$set" ] && args+=(--set "$set")
    "$REPRO" "${args[@]}" >/dev/null 2>"$TMP/e"
    rc=$?
    if [ $rc -ne 0 ] && grep -qF "$want" "$TMP/e" && [ "$(grep -c . "$TMP/e")" -eq 1 ]; then
        ok "$what: $(cut -c1-120 "$TMP/e")"
    else
        fail "$what" "rc $rc: $(cat "$TMP/e")"
    fi
done
"$REPRO" train --recipe $RECIPE --set train.bf16=true --set train.backend=cpu --out "$TMP/bf16" >/dev/null 2>"$TMP/e"
rc=$?
[ $rc -ne 0 ] && grep -q "train.bf16 computes convolutions in bfloat16 on the cuda backend" "$TMP/e" &&
    [ -z "$(ls "$TMP/bf16" 2>/dev/null)" ] && ok "train.bf16 on the cpu backend: refused, no run file" ||
    fail "train.bf16 on the cpu backend: refused" "rc $rc: $(cat "$TMP/e")"
"$REPRO" recipe --keys | grep -q '^train.seed .*0 \.\. 18446744073709551615' && ok "recipe --keys: train.seed's range" ||
    fail "recipe --keys: train.seed's range" "$("$REPRO" recipe --keys | grep '^train.seed')"
scripts/plots.sh --help >"$TMP/o" 2>&1 && grep -q usage "$TMP/o" && ok "scripts/plots.sh --help" ||
    fail "scripts/plots.sh --help" "$(cat "$TMP/o")"
scripts/plots.sh >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "scripts/plots.sh without arguments: usage, exit 2" || fail "scripts/plots.sh without arguments" "exit $rc"

# ---- the same bits at any thread count: a run at 1 and at 2 OpenMP threads, and a run killed at
# 1 thread then resumed at 2, end with the same tensors (weights, optimizer state, BN statistics)
# and the same per-epoch numbers; ResNet-20 (own Winograd, oneDNN's strided convolutions) and
# MobileNetV3 (GEMM 1x1s, depthwise, squeeze-excitation, hard-swish)
same_run() { # run file A, run file B: prints what differs (nothing when the same)
    $PY - "$1" "$2" <<'PYEOF'
import h5py, json, struct, sys
import numpy as np
def tensors(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]] for k, v in h.items()
            if k != '__metadata__' and not k.startswith('log.')}  # log.*: times; /epochs below
a, b = (tensors(p[:-3] + '.safetensors') for p in sys.argv[1:3])
bad = sorted(set(a) ^ set(b)) + [k for k in a if k in b and a[k] != b[k]]
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as g:
    e, h = f['epochs'][()], g['epochs'][()]
    bad += ['epochs/' + k for k in ('train_loss', 'train_top1', 'eval_loss', 'eval_top1') if not np.array_equal(e[k], h[k])]
print(' '.join(bad[:5]) + (' (+%d more)' % (len(bad) - 5) if len(bad) > 5 else ''))
PYEOF
}
for m in resnet20 mobilenetv3_large_100; do
    th=(--set model.name=$m --set data.train_limit=384 --set data.eval_limit=100 --set train.eval_batch=100
        --set train.batch=32 --set train.epochs=2 --set model.res=32)
    OMP_NUM_THREADS=1 "$REPRO" train --recipe $RECIPE --out "$TMP/th1_$m" "${th[@]}" >"$TMP/o" 2>&1 &&
    OMP_NUM_THREADS=2 "$REPRO" train --recipe $RECIPE --out "$TMP/th2_$m" "${th[@]}" >>"$TMP/o" 2>&1 ||
        { fail "$m at 1 and 2 threads" "$(tail -3 "$TMP/o")"; continue; }
    (OMP_NUM_THREADS=1 REPRO_KILL_AT_STEP=17 "$REPRO" train --recipe $RECIPE --out "$TMP/thk_$m" "${th[@]}" >"$TMP/o" 2>&1; true) 2>/dev/null
    OMP_NUM_THREADS=2 "$REPRO" train --recipe $RECIPE --out "$TMP/thk_$m" "${th[@]}" --resume >>"$TMP/o" 2>&1 ||
        { fail "$m killed at 1 thread, resumed at 2" "$(tail -3 "$TMP/o")"; continue; }
    r1=$(ls "$TMP/th1_$m"/*.h5) r2=$(ls "$TMP/th2_$m"/*.h5) rk=$(ls "$TMP/thk_$m"/*.h5)
    d=$(same_run "$r1" "$r2")
    [ -z "$d" ] && ok "$m: the same tensors and epochs at 1 and at 2 threads" || fail "$m at 1 and 2 threads" "differ: $d"
    d=$(same_run "$r1" "$rk")
    [ -z "$d" ] && ok "$m: killed at 1 thread and resumed at 2, the same as unbroken" ||
        fail "$m killed at 1 thread, resumed at 2" "differ: $d"
done

# ---- the committed figures, redrawn from the committed results, are the same bytes
if command -v gnuplot >/dev/null; then
    for s in $(ls studies | sed -n 's/\.c$//p'); do
        ls results/"$s"/*.h5 >/dev/null 2>&1 || continue
        mkdir -p "$TMP/res_$s"
        cp results/"$s"/*.h5 "$TMP/res_$s/"
        scripts/plots.sh "$s" cpu "$TMP/res_$s" "$TMP/figs_$s" >/dev/null 2>"$TMP/e" || { fail "redraw $s" "$(cat "$TMP/e")"; continue; }
        diffs=""
        for f in "$TMP/figs_$s"/*; do cmp -s "$f" "plots/$s/$(basename "$f")" || diffs="$diffs $(basename "$f")"; done
        cmp -s "$TMP/res_$s/summary.csv" "results/$s/summary.csv" || diffs="$diffs summary.csv"
        [ -z "$diffs" ] && ok "$s: figures and summary.csv redrawn from its results are the committed bytes" ||
            fail "$s: redrawn files differ from the committed ones" "$diffs"
    done
else
    echo "skip  redrawn figures (no gnuplot)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
