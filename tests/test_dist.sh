#!/usr/bin/env bash
# tests/test_dist.sh — training across processes: the communicator (bin/test_comm) as a world of
# one started plainly, and as 2 and 3 ranks under mpirun (--oversubscribe: this machine has 2
# cores); a plain start inside an srun allocation without PMI is refused; data-parallel training
# on 2 ranks (bin/test_dp, then bin/repro train under mpirun: run file, kill and resume, refusals).
# Skips the mpirun cases when the build has no MPI or mpirun is missing.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0
ok()   { echo "ok    $1"; passed=$((passed + 1)); }
fail() { echo "FAIL  $1: $2"; failed=$((failed + 1)); }
# Open MPI refuses root unless told; CI runs as root
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
PYTHON=${PYTHON:-/usr/bin/python3}
out=$(bin/test_comm 2>&1) && ok "world of one, started plainly" || fail "world of one" "$out"
out=$(env SLURM_STEP_NUM_TASKS=4 SLURM_PROCID=1 bin/test_comm 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q 'srun --mpi=pmix' && ok "srun without PMI: refused ($out)" ||
    fail "srun without PMI is refused" "$out"
# a batch script's own step (SLURM_NTASKS of the allocation, no step of several tasks) runs alone
out=$(env SLURM_NTASKS=4 SLURM_PROCID=0 bin/test_comm 2>&1) && ok "a plain start inside a Slurm allocation" ||
    fail "a plain start inside a Slurm allocation" "$out"
# bin/repro train under mpirun: one run file and checkpoint, written by rank 0, that record the
# ranks; killed with SIGKILL mid-epoch and resumed, bitwise the uninterrupted run; resumed on
# another number of ranks, or a batch the ranks cannot split: a clear error
dp_cli() {
    local tmp recipe=recipes/fmnist_resnet20.recipe rc
    tmp=$(mktemp -d)
    local sets=(--set data.dataset=synthetic --set model.in_chans=3 --set model.res=16 --set data.mean=0.5
                --set data.std=0.29 --set data.train_limit=384 --set data.eval_limit=101 --set train.batch=64
                --set train.epochs=3 --set train.ema_decay=0.9 --set data.erase_p=0.5)
    if mpirun -np 2 bin/repro train --recipe $recipe "${sets[@]}" --out "$tmp/full" >"$tmp/full.log" 2>&1 &&
        $PYTHON - "$tmp/full" <<'PY'
import glob, h5py, json, struct, sys
(h5,) = glob.glob(sys.argv[1] + "/*.h5")
f = h5py.File(h5, "r")
assert f.attrs["status"].decode() == "done", f.attrs["status"]
segs = f.attrs["segments"].decode().strip().split("\n")
assert len(segs) == 1 and segs[0].endswith(" ranks=2"), segs
assert len(f["epochs"]["epoch"]) == 3
(st,) = glob.glob(sys.argv[1] + "/*.safetensors")
raw = open(st, "rb").read()
meta = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])["__metadata__"]
assert meta["ranks"] == "2" and meta["global_batch"] == "64", (meta["ranks"], meta["global_batch"])
PY
    then ok "mpirun -np 2 bin/repro train: done; run file segment 'ranks=2', checkpoint ranks 2, global batch 64"
    else fail "mpirun -np 2 bin/repro train" "$(tail -5 "$tmp/full.log")"; fi
    [ "$(grep -o 'epoch [0-9]/3  train loss' "$tmp/full.log" | wc -l)" = 3 ] &&
        ok "rank 0 alone prints (3 epoch lines, not 6)" || fail "rank 0 alone prints" "$(grep -c '^epoch' "$tmp/full.log") epoch lines"
    # killed right after step 8 (epoch 2 of 6-step epochs) on every rank, then resumed
    mpirun -np 2 -x REPRO_KILL_AT_STEP=8 bin/repro train --recipe $recipe "${sets[@]}" --out "$tmp/cut" >"$tmp/cut.log" 2>&1
    rc=$?
    cp -r "$tmp/cut" "$tmp/cut1"
    if [ $rc -ne 0 ] && mpirun -np 2 bin/repro train --recipe $recipe "${sets[@]}" --out "$tmp/cut" --resume \
            >"$tmp/resume.log" 2>&1 && grep -q "resumed from" "$tmp/resume.log" &&
        $PYTHON - "$tmp/full" "$tmp/cut" <<'PY'
import glob, json, struct, sys
def tensors(d):
    (st,) = glob.glob(d + "/*.safetensors")
    raw = open(st, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in head.items()
            if k != "__metadata__" and k != "log.epochs"}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert a.keys() == b.keys() and len(a) > 100, (len(a), len(b))
bad = [k for k in a if a[k] != b[k]]
assert not bad, bad[:5]
PY
    then ok "2 ranks killed with SIGKILL after step 8 and resumed: every tensor bitwise the uninterrupted run's"
    else fail "2 ranks killed and resumed" "kill rc $rc; $(tail -3 "$tmp/resume.log")"; fi
    out=$(bin/repro train --recipe $recipe "${sets[@]}" --out "$tmp/cut1" --resume 2>&1)
    [ $? -ne 0 ] && echo "$out" | grep -q "written by a run of 2 rank(s), resumed on 1" &&
        ok "resumed by one process: refused ($(echo "$out" | grep -o 'written by a run.*' | cut -c1-80))" ||
        fail "resumed by one process: refused" "$(echo "$out" | tail -2)"
    out=$(mpirun -np 2 bin/repro train --recipe $recipe "${sets[@]}" --set train.batch=63 --out "$tmp/odd" 2>&1)
    [ $? -ne 0 ] && echo "$out" | grep -q "must be a multiple of 2" && [ ! -e "$tmp/odd"/*.h5 ] &&
        ok "batch 63 on 2 ranks: refused, no run file ($(echo "$out" | grep -o 'train.batch = 63.*' | head -1 | cut -c1-70))" ||
        fail "batch 63 on 2 ranks: refused" "$(echo "$out" | tail -3)"
    # starting from weights (rank 0 reads them, the ranks get them by broadcast): the full run's checkpoint
    local ck
    ck=$(ls "$tmp"/full/*.safetensors)
    mpirun -np 2 bin/repro train --recipe $recipe "${sets[@]}" --set train.epochs=1 --weights "$ck" --out "$tmp/ft" \
        >"$tmp/ft.log" 2>&1 && grep -q "train: done" "$tmp/ft.log" &&
        ok "2 ranks fine-tuning from a checkpoint (read by rank 0, broadcast): done" ||
        fail "2 ranks fine-tuning from a checkpoint" "$(tail -3 "$tmp/ft.log")"
    # a failure on one rank alone (rank 1 cannot read Fashion-MNIST) ends every rank, no hang
    out=$(timeout 120 mpirun -np 2 bash -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && export FMNIST_DIR=/nonexistent; exec "$@"' \
        _ bin/repro train --recipe $recipe --set data.train_limit=256 --set data.eval_limit=100 --set train.epochs=1 \
        --out "$tmp/one" 2>&1)
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "$out" | grep -q "rank 1 of 2 failed (above): ending every rank" &&
        ok "rank 1 alone fails (no data): every rank ends, exit $rc, no hang" ||
        fail "rank 1 alone fails: every rank ends" "rc $rc: $(echo "$out" | grep -v '^ ' | tail -4)"
    # GPU ranks: 2 on one GPU sum through host copies over MPI; on 2 GPUs through NCCL
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
        local gpus
        gpus=$(nvidia-smi -L | grep -c '^GPU')
        if mpirun -np 2 bin/repro train --recipe $recipe "${sets[@]}" --set train.backend=cuda --out "$tmp/cuda" \
                >"$tmp/cuda.log" 2>&1 && grep -q "train: done" "$tmp/cuda.log"; then
            ok "2 ranks on cuda ($gpus GPU(s): $( [ "$gpus" -ge 2 ] && echo NCCL || echo 'host copies over MPI')): done"
        else fail "2 ranks on cuda" "$(tail -5 "$tmp/cuda.log")"; fi
    else
        echo "skip  2 ranks on cuda (NCCL or host copies): no CUDA device"
    fi
    # a study's runs on 2 ranks each (bin/re_fmnist --ranks 2: mpirun per run), and its Slurm script
    if bin/re_fmnist --tier smoke --ranks 2 --out "$tmp/study" >"$tmp/study.log" 2>&1 &&
        [ "$(cat "$tmp"/study/*.h5 >/dev/null && $PYTHON -c "
import glob, h5py, sys
fs = sorted(glob.glob(sys.argv[1] + '/*.h5'))
print(sum(h5py.File(f)['/'].attrs['status'].decode() == 'done' and
          h5py.File(f)['/'].attrs['segments'].decode().strip().endswith('ranks=2') for f in fs), len(fs))" "$tmp/study")" = "2 2" ]
    then ok "re_fmnist --tier smoke --ranks 2: both runs done, each on 2 ranks"
    else fail "re_fmnist --tier smoke --ranks 2" "$(tail -5 "$tmp/study.log")"; fi
    bin/re_fmnist --tier smoke --ranks 2 --out "$tmp/study" --slurm "$tmp/s.sh" >/dev/null 2>&1
    grep -q '^#SBATCH --ntasks=2$' "$tmp/s.sh" && grep -q '^exec srun --mpi=pmix .* --index "$SLURM_ARRAY_TASK_ID"$' "$tmp/s.sh" &&
        ok "--slurm with --ranks 2: --ntasks=2 and srun --mpi=pmix per array task" ||
        fail "--slurm with --ranks 2" "$(cat "$tmp/s.sh" 2>&1 | tail -5)"
    out=$(mpirun -np 2 bin/re_fmnist --tier smoke --out "$tmp/study2" 2>&1)
    [ $? -ne 0 ] && echo "$out" | grep -q "give --index I" && ok "a study under mpirun without --index: refused" ||
        fail "a study under mpirun without --index: refused" "$(echo "$out" | tail -3)"
    rm -rf "$tmp"
}

if command -v mpirun >/dev/null && grep -q -- '-DHAVE_MPI' build/.flags 2>/dev/null; then
    for n in 2 3; do
        out=$(TEST_COMM_WORLD=$n timeout 120 mpirun -np $n -x TEST_COMM_WORLD bin/test_comm 2>&1)
        rc=$?
        [ $rc -eq 0 ] && ok "$n ranks under mpirun: $(echo "$out" | grep -c '^ok') checks" ||
            fail "$n ranks under mpirun" "rc $rc: $(echo "$out" | tail -5)"
    done
    # data-parallel training (tests/test_dp.c: 2 ranks against one process, SyncBN, per-rank BN,
    # no BN, SGD and AdamW, identical ranks, split evaluation)
    out=$(TEST_COMM_WORLD=2 timeout 600 mpirun -np 2 -x TEST_COMM_WORLD bin/test_dp 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "data-parallel training, 2 ranks: $(echo "$out" | grep -c '^ok') checks" ||
        fail "data-parallel training, 2 ranks" "rc $rc: $(echo "$out" | grep -v '^ok' | head -20)"
    echo "$out" | grep '^ok' | sed 's/^ok   /      /'
    dp_cli
else
    echo "skip  mpirun cases (no MPI in this build, or no mpirun)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
