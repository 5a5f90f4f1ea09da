#!/usr/bin/env bash
# tests/test_recipes.sh — every published recipe (recipes/*.recipe) against the recipe reader, and
# every cpu-tier recipe (recipes/*_cpu.recipe) against the trainer, at the smoke tier:
#   1. each file loads with `repro recipe --check`: exit 0 (trainable here) or 3 (valid, but it
#      names what this machine lacks: the paper tier's ImageNet shards or teachers).
#   2. each "#| section.key=value ..." row of a file (the per-size table a study applies as --set
#      overrides) loads on top of its file, as in 1.
#   3. each *_cpu.recipe is trainable here (check exit 0) and trains one tiny epoch (SMOKE_STEPS
#      steps on SMOKE_STEPS batches of images, eval on 200): it must exit 0, print a finite
#      training loss, leave status "done" in its run file, and the run file's recipe attribute
#      must be the resolved recipe `recipe --check` prints for the same overrides. Recipes that
#      distill get tiny teachers of the same names trained here first (SMOKE_STEPS steps each, the
#      student's recipe without distillation: its data set, channels and classes), and
#      a recipe that starts from model.weights (MEAL V2's pretrained student) gets a checkpoint of
#      its own model from a tiny run of itself without distillation.
#   4. a copy of a cpu recipe with an unknown key, an out-of-range value, an unknown section or a
#      bad enum value fails `recipe --check` with exactly one line naming file, line and key.
# Prints one line per case ("ok"/"FAIL") and a summary; exits non-zero when a case failed.
set -u
cd "$(dirname "$0")/.."
REPRO=${REPRO:-./bin/repro}
SMOKE_STEPS=${SMOKE_STEPS:-2}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0

ok()   { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }

# sets_of ROW: "a=1 b=2" -> --set a=1 --set b=2 (into the array SETS)
sets_of() { SETS=(); local kv; for kv in $1; do SETS+=(--set "$kv"); done; }

# ---- 1, 2: every recipe and every per-size row loads
for f in recipes/*.recipe; do
    name=$(basename "$f")
    "$REPRO" recipe --check "$f" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then fail "$name loads" "exit $rc: $(head -c 400 "$TMP/err")"; continue; fi
    ok "$name loads ($(tail -1 "$TMP/out" | sed 's/^check: [^:]*: //'))"
    rows=0 bad=0
    while IFS= read -r row; do
        rows=$((rows + 1))
        sets_of "$row"
        "$REPRO" recipe --check "$f" "${SETS[@]}" >/dev/null 2>"$TMP/err"
        rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then fail "$name row '$row'" "exit $rc: $(head -c 300 "$TMP/err")"; bad=1; fi
    done < <(sed -n 's/^#| *//p' "$f")
    [ $rows -gt 0 ] && [ $bad -eq 0 ] && ok "$name: its $rows per-size rows load"
done

# ---- 3: every cpu-tier recipe trains a tiny epoch

# the value of section.key in a resolved recipe printed by `recipe --check`
value_of() { awk -v s="[$2]" -v k="$3" '$0 == s {in_s = 1; next} /^\[/ {in_s = 0}
                                          in_s && $1 == k {sub(/^[^=]*= ?/, ""); print; exit}' "$1"; }

# tiny_checkpoint OUT ARGS...: trains `repro train ARGS` into OUT, prints the checkpoint's path
tiny_checkpoint() {
    local out=$1
    shift
    "$REPRO" train "$@" --out "$out" >"$out.log" 2>&1 || { echo "FAIL: $(tail -c 300 "$out.log")"; return 1; }
    ls "$out"/*.safetensors
}

for f in recipes/*_cpu.recipe; do
    name=$(basename "$f" .recipe)
    "$REPRO" recipe --check "$f" >"$TMP/resolved" 2>"$TMP/err"
    rc=$?
    # a cpu recipe on a photo set whose shards this checkout lacks (make data unpacks ../shared/data)
    if [ $rc -eq 3 ] && grep -q '^needs: data.dataset = .*shards are not here' "$TMP/resolved"; then
        echo "skip  $name: $(grep -m1 '^needs: data.dataset' "$TMP/resolved" | sed 's/^needs: //; s/:.*//') not unpacked here (make data)"
        continue
    fi
    if [ $rc -ne 0 ]; then fail "$name is trainable here" "recipe --check exit $rc: $(cat "$TMP/err") $(grep '^needs' "$TMP/resolved")"; continue; fi
    batch=$(value_of "$TMP/resolved" train batch)
    # one tiny epoch: SMOKE_STEPS whole batches, eval on 200 test images
    smoke=(--set "train.max_steps=$SMOKE_STEPS" --set "data.train_limit=$((SMOKE_STEPS * batch))"
           --set data.eval_limit=200 --set train.eval_batch=100)
    extra=()
    teachers=$(value_of "$TMP/resolved" distill teachers)
    if [ -n "$teachers" ]; then
        spec="" t_ok=true
        for t in ${teachers//,/ }; do
            tname=${t%%:*}
            # the student's own recipe without distillation, the teacher's model: its data and sizes
            ck=$(tiny_checkpoint "$TMP/$name.teacher_$tname" --recipe "$f" "${smoke[@]}" --set "model.name=$tname" \
                 --set distill.teachers= --set distill.discriminator=false --set model.weights= \
                 --set model.branches=0) || { t_ok=false; break; }
            spec="$spec${spec:+,}$tname:$ck"
        done
        if ! $t_ok; then fail "$name: a tiny teacher trains" "$ck"; continue; fi
        extra+=(--set "distill.teachers=$spec")
    fi
    if [ -n "$(value_of "$TMP/resolved" model weights)" ]; then
        ck=$(tiny_checkpoint "$TMP/$name.student" --recipe "$f" "${smoke[@]}" --set distill.teachers= \
             --set distill.discriminator=false --set model.weights=) || { fail "$name: its start weights train" "$ck"; continue; }
        extra+=(--set "model.weights=$ck")
    fi
    "$REPRO" train --recipe "$f" "${smoke[@]}" "${extra[@]}" --out "$TMP/$name" >"$TMP/$name.log" 2>&1
    rc=$?
    line=$(grep '^epoch 1/' "$TMP/$name.log" | tail -1)
    loss=$(echo "$line" | sed -n 's/.*train loss \([^ ]*\) .*/\1/p')
    h5=$(ls "$TMP/$name"/*.h5 2>/dev/null | head -1)
    if [ $rc -ne 0 ]; then fail "$name trains" "exit $rc: $(tail -c 400 "$TMP/$name.log")"; continue; fi
    if ! [[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then fail "$name trains" "training loss '$loss' is not finite: $line"; continue; fi
    if [ -z "$h5" ] || ! h5dump -a status "$h5" 2>/dev/null | grep -q '"done"'; then
        fail "$name trains" "run file ${h5:-missing} does not say done"; continue
    fi
    # the run file holds the resolved recipe: what --check prints for the same overrides
    # (its output: a title line, the text, a blank line, the last line "check: ...")
    "$REPRO" recipe --check "$f" "${smoke[@]}" "${extra[@]}" >"$TMP/checked"
    sed '1d' "$TMP/checked" | head -n -2 >"$TMP/want"
    h5dump -a recipe -b -o "$TMP/got" "$h5" >/dev/null 2>&1
    if ! cmp -s "$TMP/want" "$TMP/got"; then
        fail "$name trains" "the run file's recipe differs from the resolved one: $(diff "$TMP/want" "$TMP/got" | head -5)"
        continue
    fi
    id=$(sed -n '1s/.*, run id //p' "$TMP/checked")
    if [ -z "$id" ] || ! h5dump -a run_id "$h5" 2>/dev/null | grep -q "\"$id\""; then
        fail "$name trains" "the run file's run id is not the one recipe --check prints ($id)"; continue
    fi
    ok "$name trains $SMOKE_STEPS steps: done, loss $loss, run file holds its resolved recipe and run id"
done

# ---- 4: bad values in a copy of a recipe: one line naming file, line and key, non-zero exit
base=recipes/resnet_rs_cpu.recipe
[ -r "$base" ] || base=$(ls recipes/*_cpu.recipe | head -1)
# expect_bad NAME PATTERN SED-SCRIPT: the copy edited by SED-SCRIPT must fail with one line matching PATTERN
expect_bad() {
    local copy="$TMP/bad_$1.recipe"
    sed "$3" "$base" >"$copy"
    "$REPRO" recipe --check "$copy" >"$TMP/out" 2>"$TMP/err"
    local rc=$? lines
    lines=$(grep -c . "$TMP/err")
    if [ $rc -eq 0 ] || [ $rc -eq 3 ]; then fail "bad recipe: $1" "exit $rc"; return; fi
    if [ "$lines" -ne 1 ]; then fail "bad recipe: $1" "$lines lines on stderr: $(head -c 300 "$TMP/err")"; return; fi
    if ! grep -q -- "$2" "$TMP/err"; then fail "bad recipe: $1" "message lacks '$2': $(cat "$TMP/err")"; return; fi
    ok "bad recipe: $1 ($(cat "$TMP/err"))"
}
if [ -n "$base" ]; then
    expect_bad unknown_key "bad_unknown_key.recipe:[0-9]*: unknown key 'train.epochz'" 's/^epochs *=/epochz =/'
    expect_bad out_of_range "bad_out_of_range.recipe:[0-9]*: train.label_smoothing = '1.5': out of range" \
        's/^label_smoothing *=.*/label_smoothing = 1.5/'
    expect_bad unknown_section "bad_unknown_section.recipe:[0-9]*: unknown section 'trian'" 's/^\[train\]/[trian]/'
    expect_bad bad_enum "bad_bad_enum.recipe:[0-9]*: optim.kind = 'adam': expected one of sgd | adamw" \
        's/^kind *= *\(sgd\|adamw\|rmsprop_tf\|lamb\)\b.*/kind = adam/'
else
    fail "bad recipes" "no recipes/*_cpu.recipe to copy"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
