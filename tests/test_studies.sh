#!/usr/bin/env bash
# tests/test_studies.sh — every study at tier smoke through train -> HDF5 -> CSV -> gnuplot -> check
# (scripts/study.sh, into a temporary folder); a study killed with SIGKILL mid-run and started
# again finishes its grid without redoing done runs and with the interrupted run resumed exactly
# (its epochs equal an uninterrupted run's); --jobs 2 runs two at once; --slurm writes a script bash -n accepts, and one array
# index run locally with SLURM_ARRAY_TASK_ID runs exactly that run; bad arguments fail clearly;
# repro verify --sample trains stored runs again (at another thread count) with the same numbers.
# Prints one line per case ("ok"/"FAIL") and a summary; exits non-zero when a case failed.
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/repro_studies_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok    $1"; pass=$((pass + 1)); }
bad() { echo "FAIL  $1"; [ -n "${2:-}" ] && sed 's/^/      /' "$2" | tail -20; fail=$((fail + 1)); }
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${FMNIST_DIR:-}" ]; then
    echo "skip  studies: dataset-fashion-mnist not installed (make deps)"; exit 0
fi
studies=$(ls studies/*.c | sed 's|studies/||; s|\.c$||') # every file there is a study (studies/lib: the runner)

# ---- every study, smoke tier, end to end
for s in $studies; do
    log=$tmp/$s.log
    if ! scripts/study.sh "$s" smoke "$tmp/results/$s" "$tmp/plots/$s" >"$log" 2>&1; then
        # a study on a photograph set without its files here (no ../shared/data: make data cannot
        # unpack them) says what it needs and starts nothing
        if grep -q "needs what this machine lacks" "$log"; then echo "skip  $s: $(grep -m1 '^needs:' "$log")"; continue; fi
        bad "$s: smoke pipeline" "$log"; continue
    fi
    n=$(bin/"$s" --tier smoke --list | grep -c "^  smoke_")
    done_runs=$(grep -c '"done"' "$tmp/results/$s/summary.csv")
    csvs=$(ls "$tmp/results/$s"/smoke_*.csv 2>/dev/null | wc -l)
    figs=$(ls plots/"$s"/*.gp | wc -l)
    drawn=$(find "$tmp/plots/$s" -name '*.png' -size +1k | wc -l)
    svgs=$(find "$tmp/plots/$s" -name '*.svg' -size +1k | wc -l)
    if [ "$done_runs" -eq "$n" ] && [ "$csvs" -eq "$n" ] && [ "$drawn" -eq "$figs" ] && [ "$svgs" -eq "$figs" ] && [ "$figs" -gt 0 ] &&
       grep -q "^claims of $s" "$log"; then
        ok "$s: $n smoke runs done, $csvs run CSVs + summary, $drawn figures (png + svg), claims reported"
    else bad "$s: runs done $done_runs/$n, CSVs $csvs, figures $drawn png $svgs svg of $figs" "$log"; fi
done
if bin/repro check --results "$tmp/results" >"$tmp/check.log" 2>&1 && grep -q "published numbers" "$tmp/check.log" &&
   [ "$(grep -c '^claims of' "$tmp/check.log")" -ge "$(echo $studies | wc -w)" ]; then
    ok "repro check: the published table and every study's claims on the smoke results"
else bad "repro check on the smoke results" "$tmp/check.log"; fi

# ---- seeds: the points a claim compares run the tier's claim_seeds, the others its seeds; --seeds
# K gives every point K
l=$(bin/rs_weight_decay --list); l2=$(bin/rs_weight_decay --list --seeds 2)
if [ "$(grep -c '^  cpu_' <<<"$l")" -eq 28 ] && [ "$(grep -c '^  cpu_.*_s3 ' <<<"$l")" -eq 8 ] &&
   [ "$(grep -c '^  cpu_r50_none_wd1e4_s' <<<"$l")" -eq 3 ] && [ "$(grep -c '^  cpu_r50_rals_wd1e4_s' <<<"$l")" -eq 1 ] &&
   [ "$(grep -c '^  cpu_' <<<"$l2")" -eq 24 ] && ! grep -q '_s3 ' <<<"$l2"; then
    ok "seeds: rs_weight_decay's 8 claimed cells 3 seeds, the other 4 one (28 runs); --seeds 2: 24"
else bad "seeds per point (rs_weight_decay --list)"; fi

# ---- run references (@LABEL): meal_v2's distilling runs start from the study's own supervised
# run and teachers. With a teacher's and the start's checkpoints gone (a fresh clone keeps run files
# only) and a distilling run to redo, --jobs 2 trains both again first (the same numbers: the
# engine is deterministic), waits for them, then the run that refers to them; verify --sample
# trains a distilling run again in a scratch folder, its references read from the stored one
m=$tmp/results/meal_v2
if [ -e "$m/smoke_meal_s1.h5" ]; then
    losses() { cut -d, -f1-8 "$m/smoke_sup_s1.csv"; } # every epoch's numbers, times and speeds aside
    before=$(losses)
    rm -f "$m/smoke_sup_s1.safetensors" "$m/smoke_teacher_b_s1.safetensors" "$m"/smoke_meal_s1.*
    bin/meal_v2 --tier smoke --out "$m" --jobs 2 >"$tmp/refs.log" 2>&1; rc=$?
    after=$(losses)
    started=$(grep -n "smoke_meal_s1: starting" "$tmp/refs.log" | cut -d: -f1)
    sup_done=$(grep -n "smoke_sup_s1: done in" "$tmp/refs.log" | cut -d: -f1)
    tb_done=$(grep -n "smoke_teacher_b_s1: done in" "$tmp/refs.log" | cut -d: -f1)
    if [ $rc -eq 0 ] && [ "$(grep -c 'training it again' "$tmp/refs.log")" -eq 2 ] && [ -n "$started" ] &&
       [ -n "$sup_done" ] && [ -n "$tb_done" ] && [ "$started" -gt "$sup_done" ] && [ "$started" -gt "$tb_done" ] &&
       grep -q "smoke_meal_s1: done in" "$tmp/refs.log" && [ -e "$m/smoke_sup_s1.safetensors" ] &&
       [ -n "$before" ] && [ "$before" = "$after" ] && ! grep -q "smoke_kd_one_s1: starting" "$tmp/refs.log"; then
        ok "run references: 2 done runs without checkpoints trained again (the same epochs' numbers), the run that refers to them after both"
    else bad "run references (meal_v2 smoke, --jobs 2)" "$tmp/refs.log"; fi
    if bin/repro verify meal_v2 --tier smoke --stored "$m" --sample 1 --scratch "$tmp/vm" >"$tmp/vm.log" 2>&1 &&
       grep -q "^1 rerun, 1 the same" "$tmp/vm.log" && grep -q "smoke_kd_one\|kd_one" "$tmp/vm.log"; then
        ok "verify --sample 1 of meal_v2: a distilling run trained again from the stored folder's references, the same numbers"
    else bad "verify --sample of a distilling run" "$tmp/vm.log"; fi
    if ! bin/repro train --recipe recipes/meal_v2_cpu.recipe --set data.train_limit=64 --out "$tmp/lone" >"$tmp/lone.log" 2>&1 &&
       grep -q "run cpu_sup_s1 in $tmp/lone is not done: no run file" "$tmp/lone.log" && ! ls "$tmp/lone"/*.h5 >/dev/null 2>&1; then
        ok "repro train of a recipe whose references are not there: refused, naming the run and the folder; no run file left"
    else bad "repro train with missing references" "$tmp/lone.log"; fi
fi

# ---- a teacher that is one of our checkpoints is built with its run's knobs (its stored recipe):
# a ResNet-20 x0.5 teacher loads into a x0.5 model; a spec naming another model than its run's is
# refused, naming both
k=$tmp/knobs
q=(--recipe recipes/fmnist_resnet20.recipe --set train.max_steps=2 --set data.train_limit=128 --set data.eval_limit=100 --out "$k")
bin/repro train "${q[@]}" --set model.width=0.5 >"$tmp/kt.log" 2>&1
tid=$(sed -n 's/^run file: .*(run id \([0-9a-f]*\),.*/\1/p' "$tmp/kt.log")
if [ -n "$tid" ] && bin/repro train "${q[@]}" --set "distill.teachers=resnet20:@$tid" >"$tmp/ks.log" 2>&1 &&
   ! bin/repro train "${q[@]}" --set "distill.teachers=resnet32:@$tid" >"$tmp/kb.log" 2>&1 &&
   grep -q "is a checkpoint of resnet20, not of resnet32" "$tmp/kb.log"; then
    ok "teacher knobs: a x0.5 ResNet-20 checkpoint distils as x0.5 (its stored recipe); resnet32:@it refused"
else bad "teacher knobs from a checkpoint's recipe" "$tmp/ks.log"; fi

# ---- repro verify --sample: stored smoke runs (trained at the default threads) trained again at
# 1 thread come out the same; a damaged run file among them fails the command
r=$tmp/results/re_fmnist
if OMP_NUM_THREADS=1 bin/repro verify re_fmnist --tier smoke --stored "$r" --sample 2 --scratch "$tmp/vs" >"$tmp/vs.log" 2>&1 &&
   grep -q "^2 rerun, 2 the same, 0 failed" "$tmp/vs.log" && [ "$(grep -c 'the same numbers' "$tmp/vs.log")" -eq 2 ]; then
    ok "verify --sample 2: both smoke runs trained again at 1 thread, the same numbers"
else bad "verify --sample 2" "$tmp/vs.log"; fi
mkdir -p "$tmp/vsbad" && cp "$r"/smoke_d20_base_s1.h5 "$tmp/vsbad/" && head -c 3000 "$r"/smoke_d20_re_s1.h5 >"$tmp/vsbad/cut.h5"
OMP_NUM_THREADS=1 bin/repro verify re_fmnist --tier smoke --stored "$tmp/vsbad" --sample 1 --scratch "$tmp/vs2" >"$tmp/vs2.log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "cut.h5" "$tmp/vs2.log" && grep -q "cannot be read" "$tmp/vs2.log"; then
    ok "verify --sample with a truncated run file: exit 1, the file named"
else bad "verify --sample with a truncated run file (rc $rc)" "$tmp/vs2.log"; fi

# ---- SIGKILL mid-run, then the same command again
big=(--set train.epochs=3 --set data.train_limit=640)
k=$tmp/killed u=$tmp/whole
setsid bin/re_fmnist --tier smoke --out "$k" "${big[@]}" >"$tmp/kill1.log" 2>&1 &
pid=$!
for _ in $(seq 1 3000); do # until run 2 has its first checkpoint (epoch 1 of 3 done)
    [ -e "$k/smoke_d20_re_s1.safetensors" ] && break
    sleep 0.1
done
kill -9 -- -"$pid" 2>/dev/null; wait "$pid" 2>/dev/null
st=$(h5dump -a /status "$k/smoke_d20_re_s1.h5" 2>/dev/null | grep -o '"[a-z]*"' | tail -1)
bin/re_fmnist --tier smoke --out "$k" "${big[@]}" >"$tmp/kill2.log" 2>&1
bin/re_fmnist --tier smoke --out "$u" "${big[@]}" >"$tmp/whole.log" 2>&1
# epoch, lr, image_size, train_loss, train_top1, eval_loss, eval_top1, eval_top5: equal to the bit
same=$(cut -d, -f1-8 "$k/smoke_d20_re_s1.csv" | cmp -s - <(cut -d, -f1-8 "$u/smoke_d20_re_s1.csv") && echo yes)
if [ "$st" = '"running"' ] && grep -q "run 1/2 smoke_d20_base_s1: done already, skipped" "$tmp/kill2.log" &&
   grep -q "run 2/2 smoke_d20_re_s1: resuming" "$tmp/kill2.log" && grep -q "resumed from" "$tmp/kill2.log" &&
   [ "$same" = yes ] && [ "$(grep -c '"done"' "$k/summary.csv")" -eq 2 ]; then
    ok "killed during run 2 (status $st): run 1 skipped, run 2 resumed from its checkpoint, epochs equal an uninterrupted study's"
else bad "kill and restart (status at the kill: $st, same epochs: ${same:-no})" "$tmp/kill2.log"; fi

# ---- --jobs 2: both runs at once, each logging to its own file
if bin/re_fmnist --tier smoke --out "$tmp/jobs" --jobs 2 >"$tmp/jobs.log" 2>&1 &&
   [ "$(grep -c '"done"' "$tmp/jobs/summary.csv")" -eq 2 ] && grep -q "train: done" "$tmp/jobs/smoke_d20_base_s1.log" &&
   grep -q "train: done" "$tmp/jobs/smoke_d20_re_s1.log"; then
    # (not compared with the one-at-a-time runs: a child of --jobs 2 computes on 1 thread, and the
    # cpu backend's sums are not bitwise the same on 1 and 2 threads)
    ok "--jobs 2: both runs done in parallel processes, each with its log"
else bad "--jobs 2" "$tmp/jobs.log"; fi

# ---- Slurm
if bin/re_fmnist --tier smoke --out "$tmp/slurm" --slurm "$tmp/job.sh" >"$tmp/slurm.log" 2>&1 && bash -n "$tmp/job.sh" &&
   grep -q -- "--array=0-1" "$tmp/job.sh" && SLURM_ARRAY_TASK_ID=1 bash "$tmp/job.sh" >>"$tmp/slurm.log" 2>&1 &&
   [ -e "$tmp/slurm/smoke_d20_re_s1.h5" ] && [ ! -e "$tmp/slurm/smoke_d20_base_s1.h5" ] &&
   [ "$(h5dump -a /status "$tmp/slurm/smoke_d20_re_s1.h5" | grep -o '"done"')" = '"done"' ]; then
    ok "--slurm: bash -n accepts the script; task 1 alone ran run smoke_d20_re_s1 to done"
else bad "--slurm script" "$tmp/slurm.log"; fi

# ---- bad arguments: one line, non-zero exit
expect_error() { # name, expected text, command...
    local name=$1 want=$2; shift 2
    if "$@" >"$tmp/e.out" 2>"$tmp/e.err"; then bad "$name: exit 0"; return; fi
    if grep -q -- "$want" "$tmp/e.err"; then ok "$name ($(grep error "$tmp/e.err" | head -1))"; else bad "$name" "$tmp/e.err"; fi
}
expect_error "unknown tier" "expected smoke, cpu or paper" bin/re_fmnist --tier huge --list
expect_error "--only matches nothing" "no run matches --only" bin/re_fmnist --tier smoke --only 'd999*' --list
expect_error "--index past the end" "has 2 runs" bin/re_fmnist --tier smoke --out "$tmp/x" --index 7
expect_error "--jobs 0" "expected an integer in 1 .. 64" bin/re_fmnist --jobs 0 --list
expect_error "bad --set" "model.nme" bin/re_fmnist --tier smoke --set model.nme=x --list
mkdir -p "$tmp/other" && cp "$tmp/results/re_fmnist/smoke_d20_re_s1.h5" "$tmp/other/smoke_d20_re_s1.h5"
expect_error "a file of another configuration under the run's name" "another configuration" \
    bin/re_fmnist --tier smoke --out "$tmp/other" --only d20_re --set train.epochs=3
bin/re_fmnist --tier smoke --out "$tmp/other" --only d20_re --set train.epochs=3 --list >"$tmp/other.list" 2>&1
if grep -q "smoke_d20_re_s1 .* other config$" "$tmp/other.list"; then ok "--list names that file other config, not done"
else bad "--list on a file of another configuration" "$tmp/other.list"; fi
# a published number at its own tier: within its tolerance, then perturbed in a scratch copy: OUTSIDE,
# exit 1; a row shown beside (tolerance -) is never judged; a row no study reproduces is counted
top1=$(/usr/bin/python3 -c "import h5py,sys; print('%.4f' % h5py.File(sys.argv[1])['final'].attrs['top1'])" \
    "$tmp/results/re_fmnist/smoke_d20_base_s1.h5")
hdr='study,label,tier,metric,published,tolerance,paper,table,note,source'
for shift in 0 5; do
    pub=$(/usr/bin/python3 -c "print('%.4f' % ($top1 + $shift))")
    printf '%s\nre_fmnist,d20_base,smoke,top1,%s,0.5,p,t,n,s\nre_fmnist,d20_base,smoke,top1,%s,-,p,t,another release,s\n,Some-Net,,top1,80.1,-,Other paper,T9,n,s\n' \
        "$hdr" "$pub" "$(/usr/bin/python3 -c "print($top1 + 9)")" >"$tmp/pub$shift.csv"
    bin/repro check --published "$tmp/pub$shift.csv" --results "$tmp/results" >"$tmp/pc$shift.log" 2>&1
    echo "rc=$?" >>"$tmp/pc$shift.log"
done
if grep -q "rc=0" "$tmp/pc0.log" && grep -q " within$" "$tmp/pc0.log" && grep -q "rc=1" "$tmp/pc5.log" &&
   grep -q " OUTSIDE$" "$tmp/pc5.log" && grep -q "shown, not judged (another release)" "$tmp/pc5.log" &&
   grep -q "no study reproduces 1 rows.*Other paper (1)" "$tmp/pc5.log" && grep -q "1 outside tolerance, 1 that no study" "$tmp/pc5.log"; then
    ok "repro check: a published number at its tier within tolerance (exit 0); moved 5 points in a scratch copy: OUTSIDE, exit 1"
else bad "repro check within / OUTSIDE" "$tmp/pc5.log"; cat "$tmp/pc0.log"; fi
printf 'study,label\nre_fmnist,d20\n' >"$tmp/pub.csv"
expect_error "published.csv with the wrong header" "the header must be" bin/repro check --published "$tmp/pub.csv" --results "$tmp/results"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
