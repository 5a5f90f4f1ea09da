#!/usr/bin/env bash
# tests/test_cli.sh — bin/repro on bad input: train with a missing or truncated IDX file, a bad
# recipe key or value, an unwritable results folder, weights that do not fit, distillation's
# teachers and soft labels that do not fit, progressive stages that contradict; export and logits
# with files that do not fit the model; eval with a missing file, another model's weights, an
# unknown model, too small an input; eval --reparam and logits --reparam on a trained GhostNetV3
# checkpoint give what the branches give, and are no-ops on a ResNet; the model options go through
# the recipe key table; recipe --keys lists the key table. Each must print
# one line naming the cause, exit non-zero, and leave no run file that looks valid (and no
# half-written output); a finished run's file is never damaged. (tests/timm_weights.py checks
# what export and logits compute, against timm.)
# Prints one line per case ("ok"/"FAIL") and a summary; exits non-zero when a case failed.
set -u
cd "$(dirname "$0")/.."
REPRO=${REPRO:-./bin/repro}
RECIPE=recipes/fmnist_resnet20.recipe
FMNIST=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

ok()   { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }

# expect_error NAME PATTERN OUTDIR ARGS...: non-zero exit, exactly one stderr line matching
# PATTERN, and no run file (*.h5) in OUTDIR unless its status is failed
expect_error() {
    local name=$1 pattern=$2 out=$3
    shift 3
    "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    local rc=$? lines f
    lines=$(grep -c . "$TMP/stderr")
    if [ $rc -eq 0 ]; then fail "$name" "exit status 0"; return; fi
    if [ "$lines" -ne 1 ]; then fail "$name" "$lines lines on stderr: $(head -c 400 "$TMP/stderr")"; return; fi
    if ! grep -q -- "$pattern" "$TMP/stderr"; then fail "$name" "message lacks '$pattern': $(cat "$TMP/stderr")"; return; fi
    for f in "$out"/*.h5; do
        [ -e "$f" ] || continue
        if ! h5dump -a status "$f" 2>/dev/null | grep -q '"failed"'; then
            fail "$name" "left $f that does not say failed"
            return
        fi
    done
    ok "$name ($(cat "$TMP/stderr"))"
}

tiny=(--set data.train_limit=256 --set data.eval_limit=100 --set train.eval_batch=100
      --set train.batch=64 --set train.epochs=1)

# ---- data files
mkdir -p "$TMP/missing" "$TMP/trunc"
expect_error "missing IDX file" "$TMP/missing/train-images-idx3-ubyte.gz" "$TMP/out1" \
    env FMNIST_DIR="$TMP/missing" "$REPRO" train --recipe $RECIPE --out "$TMP/out1" "${tiny[@]}"
if [ -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    cp "$FMNIST"/*.gz "$TMP/trunc/"
    # a truncated image file: its gzip stream cut in the middle of the pixels
    gzip -dc "$FMNIST/train-images-idx3-ubyte.gz" | head -c 1000000 | gzip -c >"$TMP/trunc/train-images-idx3-ubyte.gz"
    expect_error "truncated IDX file" "train-images-idx3-ubyte.gz: truncated" "$TMP/out2" \
        env FMNIST_DIR="$TMP/trunc" "$REPRO" train --recipe $RECIPE --out "$TMP/out2" "${tiny[@]}"
    # a label file cut short
    cp "$FMNIST"/train-images-idx3-ubyte.gz "$TMP/trunc/"
    gzip -dc "$FMNIST/train-labels-idx1-ubyte.gz" | head -c 5000 | gzip -c >"$TMP/trunc/train-labels-idx1-ubyte.gz"
    expect_error "truncated label file" "train-labels-idx1-ubyte.gz" "$TMP/out3" \
        env FMNIST_DIR="$TMP/trunc" "$REPRO" train --recipe $RECIPE --out "$TMP/out3" "${tiny[@]}"
else
    echo "skip  truncated IDX files: dataset-fashion-mnist not installed"
fi

# ---- recipes
printf '[train]\nepochs = 2\nepochz = 3\n' >"$TMP/bad_key.recipe"
expect_error "unknown recipe key" "bad_key.recipe:3: unknown key 'train.epochz'" "$TMP/out4" \
    "$REPRO" train --recipe "$TMP/bad_key.recipe" --out "$TMP/out4"
printf '[trian]\nepochs = 2\n' >"$TMP/bad_section.recipe"
expect_error "unknown recipe section" "bad_section.recipe:2: unknown section 'trian'" "$TMP/out5" \
    "$REPRO" train --recipe "$TMP/bad_section.recipe" --out "$TMP/out5"
printf '[optim]\nmomentum = fast\n' >"$TMP/bad_value.recipe"
expect_error "recipe value that does not parse" "bad_value.recipe:2: optim.momentum = 'fast'" "$TMP/out6" \
    "$REPRO" train --recipe "$TMP/bad_value.recipe" --out "$TMP/out6"
expect_error "recipe value out of range" "data.erase_p = '1.5': out of range" "$TMP/out7" \
    "$REPRO" train --recipe $RECIPE --set data.erase_p=1.5 --out "$TMP/out7"
expect_error "unknown model" "model.name = 'resnet21': unknown model" "$TMP/out8" \
    "$REPRO" train --recipe $RECIPE --set model.name=resnet21 --out "$TMP/out8"
expect_error "missing recipe file" "$TMP/none.recipe: cannot open" "$TMP/out9" \
    "$REPRO" train --recipe "$TMP/none.recipe" --out "$TMP/out9"
expect_error "unknown optimizer" "optim.kind = 'adam': expected one of sgd | adamw | rmsprop_tf | lamb" \
    "$TMP/out10" "$REPRO" train --recipe $RECIPE --set optim.kind=adam --out "$TMP/out10"
expect_error "staircase without its period" "exp_staircase needs schedule.decay_epochs" "$TMP/out11" \
    "$REPRO" train --recipe $RECIPE --set schedule.kind=exp_staircase --out "$TMP/out11"
expect_error "warm-up and cool-down longer than the run" "cooldown_epochs 10 exceed train.epochs 10" \
    "$TMP/out12" "$REPRO" train --recipe $RECIPE --set schedule.cooldown_epochs=10 --out "$TMP/out12"
expect_error "BN momentum out of range" "model.bn_momentum = '1.5': out of range" "$TMP/out13" \
    "$REPRO" train --recipe $RECIPE --set model.bn_momentum=1.5 --out "$TMP/out13"
# repro recipe --keys: every key of the table, with default and range
if "$REPRO" recipe --keys >"$TMP/keys" 2>&1 && grep -q '^optim.kind  *sgd  *sgd | adamw | rmsprop_tf | lamb' "$TMP/keys" &&
   grep -q '^schedule.lr_batch  *0  *0 .. 1048576' "$TMP/keys" && [ "$(grep -c '^[a-z]*\.' "$TMP/keys")" -ge 60 ]; then
    ok "recipe --keys ($(grep -c '^[a-z]*\.' "$TMP/keys") keys)"
else
    fail "recipe --keys" "$(head -c 400 "$TMP/keys")"
fi

# ---- results folder
touch "$TMP/a_file"
expect_error "unwritable results folder" "results folder $TMP/a_file/sub" "$TMP/a_file" \
    "$REPRO" train --recipe $RECIPE --out "$TMP/a_file/sub" "${tiny[@]}"

# ---- a finished run is never overwritten unasked, nor damaged by a failing rerun
if [ -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    if "$REPRO" train --recipe $RECIPE --out "$TMP/done" "${tiny[@]}" >"$TMP/stdout" 2>&1; then
        f=$(ls "$TMP"/done/*.h5)
        sum=$(md5sum <"$f")
        expect_error "rerun of a done run" "exists (status done)" "$TMP/none" \
            "$REPRO" train --recipe $RECIPE --out "$TMP/done" "${tiny[@]}"
        [ "$(md5sum <"$f")" = "$sum" ] && ok "done run file untouched" || fail "done run file untouched" "it changed"
        # the revision it records is the one the program was built from (build/revision.h)
        want=$(sed -n 's/^#define REPRO_REVISION "\(.*\)"$/\1/p' build/revision.h 2>/dev/null)
        got=$(h5dump -a git_revision "$f" 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p')
        [ -n "$want" ] && [ "$got" = "$want" ] && ok "run file records the build's revision ($got)" ||
            fail "run file records the build's revision" "run file '$got', build/revision.h '$want'"
        # and what computed it: the CPU's model name and the OpenMP threads, into summary.csv too
        if OMP_NUM_THREADS=1 "$REPRO" train --recipe $RECIPE --out "$TMP/one" "${tiny[@]}" >"$TMP/stdout1" 2>&1; then
            dev=$(h5dump -a device "$TMP"/one/*.h5 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p')
            cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
            [ "$dev" = "${cpu:-an unnamed CPU} (1 OpenMP thread)" ] && ok "run file records the device ($dev)" ||
                fail "run file records the device" "device '$dev', expected '$cpu (1 OpenMP thread)'"
            "$REPRO" export "$TMP/one" >/dev/null 2>&1
            /usr/bin/python3 - "$TMP/one/summary.csv" <<'PY' &&
import csv, re, sys
row = list(csv.DictReader(open(sys.argv[1])))[-1]
assert row["device"].endswith("(1 OpenMP thread)"), row
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["started"]) and row["updated"] >= row["started"], row
assert row["host"] and row["threads"] == "1", row
PY
                ok "summary.csv names the device, start, host and threads" || fail "summary.csv names the device" "$(cat "$TMP/one/summary.csv")"
        else
            fail "tiny run on 1 thread" "$(tail -3 "$TMP/stdout1")"
        fi
    else
        fail "tiny run" "$(tail -3 "$TMP/stdout")"
    fi
fi

# ---- weights in and out: export, logits, train --weights
# make_npy FILE DESCR SHAPE NBYTES: a .npy file (version 1.0) with that header and NBYTES zero bytes
make_npy() {
    local h="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    while [ $(( (10 + ${#h} + 1) % 64 )) -ne 0 ]; do h="$h "; done
    h="$h"$'\n'
    { printf '\x93NUMPY\x01\x00'; printf "$(printf '\\x%02x\\x%02x' $(( ${#h} % 256 )) $(( ${#h} / 256 )))"
      printf '%s' "$h"; head -c "$4" /dev/zero; } >"$1"
}
W=$TMP/weights
mkdir -p "$W"
for c in export logits eval; do
    if "$REPRO" $c --help | grep -q "usage: .* $c"; then ok "$c --help"; else fail "$c --help" "no usage line"; fi
done
if "$REPRO" export resnet20 --classes 5 --seed 3 --out "$W/c5.safetensors" >"$TMP/stdout" 2>&1 &&
   "$REPRO" export resnet20 --seed 3 --out "$W/c10.safetensors" >"$TMP/stdout" 2>&1; then
    ok "export resnet20"
else
    fail "export resnet20" "$(cat "$TMP/stdout")"
fi
make_npy "$W/x.npy" '<f4' '(2, 32, 32, 3)' 24576
if "$REPRO" logits --model resnet20 --weights "$W/c10.safetensors" --input "$W/x.npy" --out "$W/y.npy" \
       --batch 3 >"$TMP/stdout" 2>&1 && [ "$(stat -c %s "$W/y.npy")" = 208 ]; then
    ok "logits resnet20: (2, 10) float32 .npy"
else
    fail "logits resnet20" "$(cat "$TMP/stdout")"
fi
expect_error "export: unknown model" "unknown model 'resnet21'" "$W" \
    "$REPRO" export resnet21 --out "$W/a.safetensors"
expect_error "export: missing weights file" "$W/none.safetensors: cannot open" "$W" \
    "$REPRO" export resnet20 --weights "$W/none.safetensors" --out "$W/a.safetensors"
expect_error "export: unwritable output" "cannot create $TMP/a_file/x.safetensors.tmp" "$W" \
    "$REPRO" export resnet20 --out "$TMP/a_file/x.safetensors"
expect_error "export: weights of another head" \
    "tensor fc.weight is F32 (5, 64); resnet20 expects F32 (10, 64)" "$W" \
    "$REPRO" export resnet20 --classes 10 --weights "$W/c5.safetensors" --out "$W/a.safetensors"
expect_error "logits: weights of another head" "(and 1 more problem)" "$W" \
    "$REPRO" logits --model resnet20 --classes 10 --weights "$W/c5.safetensors" --input "$W/x.npy" --out "$W/bad.npy"
# without --classes / --in-chans, export and logits build the model their weights were trained as
if "$REPRO" export resnet20 --weights "$W/c5.safetensors" --out "$W/c5_again.safetensors" >"$TMP/stdout" 2>&1 &&
    "$REPRO" logits --model resnet20 --weights "$W/c5.safetensors" --input "$W/x.npy" --out "$W/c5.npy" \
        >>"$TMP/stdout" 2>&1 && grep -q '(2, 5)' "$TMP/stdout"; then
    ok "export, logits: classes from the weights (5, not the model's own 10)"
    rm -f "$W/c5.npy" "$W/c5.txt"
else
    fail "export, logits: classes from the weights" "$(tail -3 "$TMP/stdout")"
fi
# bad_input NAME PATTERN DESCR SHAPE NBYTES: logits of such an input fails naming the problem
bad_input() {
    make_npy "$W/in.npy" "$3" "$4" "$5"
    expect_error "logits: $1" "$2" "$W" "$REPRO" logits --model resnet20 --weights "$W/c10.safetensors" \
        --input "$W/in.npy" --out "$W/bad.npy"
}
bad_input "float64 input" "npy file $W/in.npy: dtype '<f8'" '<f8' '(2, 32, 32, 3)' 49152
bad_input "truncated input" "needs 24576 data bytes, the file has 24000 (truncated)" '<f4' '(2, 32, 32, 3)' 24000
bad_input "NCHW input" "has shape (2, 3, 32, 32); expected (N, H, W, C)" '<f4' '(2, 3, 32, 32)' 24576
bad_input "channels" "has 1 channels; resnet20 takes 3 (--in-chans)" '<f4' '(2, 32, 32, 1)' 8192
[ -e "$W/bad.npy" ] && fail "failed logits leave no output" "$W/bad.npy exists" || ok "failed logits leave no output"
if [ -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    expect_error "train: weights for another model" \
        "tensor conv1.weight is F32 (16, 3, 3, 3); resnet20 expects F32 (16, 1, 3, 3)" "$TMP/out10" \
        "$REPRO" train --recipe $RECIPE --weights "$W/c10.safetensors" --out "$TMP/out10" "${tiny[@]}"
fi

# ---- the model options of model, export, logits: the recipe's [model] keys, checked as a recipe's
p1=$("$REPRO" model resnet20 --set model.width=0.5 --set bn_momentum=0.01 2>&1 | grep '^params:')
p2=$("$REPRO" model resnet20 --set width=0.5 2>&1 | grep '^params:')
p0=$("$REPRO" model resnet20 2>&1 | grep '^params:')
if [ -n "$p1" ] && [ "$p1" = "$p2" ] && [ "$p1" != "$p0" ]; then ok "model --set model.width / width ($p1 against $p0)"
else fail "model --set" "'$p1' '$p2' '$p0'"; fi
expect_error "model --set of another section" "this command takes the \[model\] keys only" "$TMP" \
    "$REPRO" model resnet20 --set data.flip=true
expect_error "model --set out of range" "model.width = '100': out of range: valid 0.001 .. 64" "$TMP" \
    "$REPRO" model resnet20 --set width=100

# ---- eval: weights on the recipe's test split, and re-parameterized (GhostNetV3)
expect_error "eval: unknown model" "eval: unknown model 'ghostnetv3_1'" "$W" \
    "$REPRO" eval --model ghostnetv3_1 --weights "$W/c10.safetensors"
expect_error "eval: GhostNet below 33 px" "res 28 is too small" "$W" \
    "$REPRO" eval --model ghostnetv3_100 --weights "$W/c10.safetensors"
expect_error "model: GhostNet below 33 px" "res 32 is too small: its last stage would be 1x1" "$W" \
    "$REPRO" model ghostnetv3_100 --res 32
if [ -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    few=(--set data.eval_limit=100 --set train.eval_batch=64)
    expect_error "eval: missing weights file" "$W/none.safetensors: cannot open" "$W" \
        "$REPRO" eval --model resnet20 --weights "$W/none.safetensors" "${few[@]}"
    expect_error "eval: weights of another model" "resnet20 expects F32 (16, 1, 3, 3)" "$W" \
        "$REPRO" eval --model resnet20 --weights "$W/c10.safetensors" "${few[@]}"
    "$REPRO" export resnet20 --in-chans 1 --seed 3 --out "$W/gray.safetensors" >/dev/null 2>&1
    if "$REPRO" eval --model resnet20 --weights "$W/gray.safetensors" --reparam "${few[@]}" >"$TMP/stdout" 2>&1 &&
       grep -q "has no re-parameterizable branches: --reparam changes nothing" "$TMP/stdout" &&
       grep -q "^eval: top-1 .* top-5 .* loss .* images/s" "$TMP/stdout"; then
        ok "eval --reparam on a ResNet: a no-op, said so"
    else
        fail "eval --reparam on a ResNet" "$(cat "$TMP/stdout")"
    fi
    # a GhostNetV3 trained a few steps in its branches' form: the run file has both forms' top-1,
    # and the checkpoint evaluates folded as it does with its branches
    ghost=(--set model.name=ghostnetv3_100 --set model.width=0.5 --set model.res=36 --set train.batch=32
           --set data.train_limit=64 --set data.eval_limit=100 --set train.eval_batch=64 --set train.epochs=1)
    if "$REPRO" train --recipe $RECIPE --out "$TMP/ghost" "${ghost[@]}" >"$TMP/stdout" 2>&1; then
        run=$(ls "$TMP"/ghost/*.h5)
        ck=${run%.h5}.safetensors
        if h5dump -a /final/top1_reparam "$run" >/dev/null 2>&1 && grep -q "(folded [0-9.]*%)" "$TMP/stdout"; then
            ok "train GhostNetV3: the epoch line and the run file have the folded top-1"
        else
            fail "train GhostNetV3: folded top-1" "$(grep '^epoch 1/1 ' "$TMP/stdout")"
        fi
        knobs=(--set model.width=0.5 --set model.res=36 "${few[@]}")
        "$REPRO" eval --model ghostnetv3_100 --weights "$ck" "${knobs[@]}" >"$TMP/plain" 2>&1
        "$REPRO" eval --model ghostnetv3_100 --weights "$ck" --reparam "${knobs[@]}" >"$TMP/folded" 2>&1
        a=$(grep '^eval: top-1' "$TMP/plain"); b=$(grep '^eval: top-1' "$TMP/folded")
        # the same top-1 and top-5, the mean loss within 1e-4 (float rounding of the fold)
        if [ -n "$a" ] && [ -n "$b" ] && grep -q "ghostnetv3_100 folded" "$TMP/folded" &&
           [ "$(echo "$a" | awk '{print $3, $5}')" = "$(echo "$b" | awk '{print $3, $5}')" ] &&
           awk -v x="$(echo "$a" | awk '{print $7}')" -v y="$(echo "$b" | awk '{print $7}')" \
               'BEGIN { d = x - y; exit !(d < 1e-4 * x && -d < 1e-4 * x) }'; then
            ok "eval --reparam = eval on a GhostNetV3 checkpoint ($a; folded: $b)"
        else
            fail "eval --reparam = eval" "plain: $(cat "$TMP/plain"); folded: $(cat "$TMP/folded")"
        fi
        if "$REPRO" export ghostnetv3_100 --set width=0.5 --in-chans 1 --classes 10 --weights "$ck" --reparam \
               --out "$W/folded.safetensors" >"$TMP/stdout" 2>&1 && grep -q "ghostnetv3_100 folded" "$TMP/stdout"; then
            ok "export --reparam of a checkpoint"
        else
            fail "export --reparam of a checkpoint" "$(cat "$TMP/stdout")"
        fi
        # logits in both forms on 5 random images, 2 at a time (a model for the last, partial batch)
        PY=${PYTHON:-/usr/bin/python3}
        "$PY" -c "import numpy as np; np.save('$W/gx.npy', np.random.default_rng(1).standard_normal((5, 36, 36, 1)).astype(np.float32))"
        gl=(--model ghostnetv3_100 --set width=0.5 --in-chans 1 --classes 10 --weights "$ck" --input "$W/gx.npy" --batch 2)
        if "$REPRO" logits "${gl[@]}" --out "$W/gy.npy" >"$TMP/plain" 2>&1 &&
           "$REPRO" logits "${gl[@]}" --reparam --out "$W/gyf.npy" >"$TMP/folded" 2>&1 &&
           grep -q "ghostnetv3_100 folded" "$TMP/folded" &&
           d=$("$PY" -c "import numpy as np; a, b = np.load('$W/gy.npy'), np.load('$W/gyf.npy'); assert a.shape == b.shape == (5, 10) and np.isfinite(a).all(); print('%.1e' % (abs(a - b).max() / abs(a).max()))") &&
           awk -v d="$d" 'BEGIN { exit !(d < 1e-4) }'; then
            ok "logits --reparam = logits on a GhostNetV3 checkpoint (max difference $d of the largest logit)"
        else
            fail "logits --reparam = logits" "plain: $(cat "$TMP/plain"); folded: $(cat "$TMP/folded") ${d:-}"
        fi
    else
        fail "train GhostNetV3" "$(tail -3 "$TMP/stdout")"
    fi
fi

# ---- distillation: teachers and stored soft labels that do not fit
expect_error "distill: unknown teacher" "distill.teachers: teacher 'resnet21' is not a registered model" \
    "$TMP/out11" "$REPRO" train --recipe $RECIPE --set distill.teachers=resnet21:t.safetensors --out "$TMP/out11"
expect_error "distill: discriminator too narrow" "distill.disc_reduction = 8: with model.classes = 10" \
    "$TMP/out12" "$REPRO" train --recipe $RECIPE --set distill.teachers=resnet20:t.safetensors \
    --set distill.discriminator=true --out "$TMP/out12"
if [ -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    expect_error "distill: missing teacher file" "distill.teachers: teacher resnet20: $W/none.safetensors: cannot" "$TMP/out13" \
        "$REPRO" train --recipe $RECIPE --set distill.teachers=resnet20:$W/none.safetensors --out "$TMP/out13" \
        "${tiny[@]}"
    expect_error "distill: teacher of another input" "resnet20 expects F32 (16, 1, 3, 3)" "$TMP/out14" \
        "$REPRO" train --recipe $RECIPE --set distill.teachers=resnet20:$W/c10.safetensors --out "$TMP/out14" \
        "${tiny[@]}"
    expect_error "distill: no soft labels, no teachers" "distill.soft_labels = $W/none.npy: no such file" \
        "$TMP/out15" "$REPRO" train --recipe $RECIPE --set distill.soft_labels=$W/none.npy --out "$TMP/out15" \
        "${tiny[@]}"
    make_npy "$W/soft.npy" '<f4' '(256, 7)' 7168
    expect_error "distill: soft labels of 7 classes" "shape (256, 7); expected the teachers' logits" \
        "$TMP/out16" "$REPRO" train --recipe $RECIPE --set distill.soft_labels=$W/soft.npy --out "$TMP/out16" \
        "${tiny[@]}"
fi

# progressive learning's contradictions (every one: tests/test_progressive.c)
expect_error "progressive: sizes that shrink" "progressive.res_min = 32 is above progressive.res_max = 16" \
    "$TMP/out17" "$REPRO" train --recipe $RECIPE --set progressive.stages=4 --set progressive.res_min=32 \
    --set progressive.res_max=16 --out "$TMP/out17"
expect_error "progressive: mixing with a partial batch" "progressive.mixup_min / mixup_max mix pairs" \
    "$TMP/out18" "$REPRO" train --recipe $RECIPE --set progressive.stages=4 --set progressive.mixup_max=0.2 \
    --out "$TMP/out18"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
